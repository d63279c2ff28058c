/*
 * kafka_conf.c - librdkafka configuration passthrough (-X, -F), the
 * options fs-consume and fs-produce share (OPT_GROUP_KAFKA), handle
 * creation, and librdkafka's logs and errors routed to diag.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "etime.h"
#include "kafka.h"
#include "schema/schema.h"
#include "xalloc.h"

#include "banned.h"

/* What librdkafka's error callback saw: written by librdkafka's thread,
 * read by the tool's thread through kafka_fatal_error(); the flags are
 * only ever set, so a late read costs one poll round at most. */
static struct {
	volatile int fatal;
	volatile int all_down;
	char why[256];
	char last[256];
	char brokers[256];
	/* librdkafka's last connection failure, from its log callback (its
	 * broker threads), for kafka_await_reachable()'s message. */
	pthread_mutex_t mu;
	char fail[256];
} kstate = { .mu = PTHREAD_MUTEX_INITIALIZER };

/*
 * Keeps the reason of a broker's connection failure ("FAIL" log line):
 * "[thrd:...]: 127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection
 * refused (after 0ms in state CONNECT)" is kept as "Connect to
 * ipv4#127.0.0.1:1 failed: Connection refused".
 */
static void keep_failure(const char *msg)
{
	const char *p = msg, *c, *e;
	size_t n;

	/* "[thrd:NAME]: " and "NAME: " before the reason */
	if (*p == '[' && (c = strstr(p, "]: ")) != NULL)
		p = c + 3;
	c = strstr(p, ": ");
	if (c != NULL && memchr(p, ' ', (size_t)(c - p)) == NULL)
		p = c + 2;
	e = strstr(p, " (after ");
	n = e != NULL ? (size_t)(e - p) : strlen(p);
	pthread_mutex_lock(&kstate.mu);
	snprintf(kstate.fail, sizeof(kstate.fail), "%.*s", (int)n, p);
	pthread_mutex_unlock(&kstate.mu);
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *msg)
{
	(void)rk;
	if (strcmp(fac, "FAIL") == 0)
		keep_failure(msg);
	/* Connection churn is reported once by the error callback; the log
	 * lines are for -v. */
	if (diag_verbosity() >= DIAG_VERBOSE || level <= 2)
		diag_info("librdkafka: %s: %s", fac, msg);
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
    void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char fwhy[200];

		rd_kafka_fatal_error(rk, fwhy, sizeof(fwhy));
		snprintf(kstate.why, sizeof(kstate.why), "%s", fwhy);
		kstate.fatal = 1;
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
		snprintf(kstate.why, sizeof(kstate.why), "all brokers are down: %s",
		    reason);
		kstate.all_down = 1;
	}
	kafka_warn(reason);
}

void kafka_warn(const char *reason)
{
	char buf[256];

	/* The same failure repeats at every reconnect or retry: say it
	 * once until something else happens. */
	snprintf(buf, sizeof(buf), "%s", reason);
	if (strcmp(buf, kstate.last) == 0)
		return;
	memcpy(kstate.last, buf, sizeof(buf));
	diag_warn("kafka: %s", reason);
}

rd_kafka_conf_t *kafka_conf_new(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];

	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	/* Loopback-friendly start-up: find a restarted broker quickly. */
	if (kafka_conf_set2(conf, "reconnect.backoff.max.ms", "1000", errstr,
	    sizeof(errstr)) < 0)
		diag_fatal("librdkafka: %s", errstr);
	return conf;
}

/* NULL when e[0..n) is one broker, [PROTO://]HOST[:PORT]; else what
 * is wrong with it. */
static const char *broker_fault(const char *e, size_t n)
{
	const char *end = e + n, *p = e, *h;
	long port = 0;

	for (h = p; p < end && (isalpha((unsigned char)*p) || *p == '_'); p++)
		;
	if (p > h && end - p >= 3 && memcmp(p, "://", 3) == 0)
		e = p += 3;     /* a security protocol */
	else
		p = e;
	if (p < end && *p == '[') {
		while (++p < end && (isxdigit((unsigned char)*p) || *p == ':' ||
		    *p == '.'))
			;
		if (p == end || *p != ']' || p == e + 1)
			return "an IPv6 address not in [brackets]";
		p++;
	} else {
		for (h = p; p < end && (isalnum((unsigned char)*p) ||
		    *p == '-' || *p == '.' || *p == '_'); p++)
			;
		if (p == h) {
			const char *c = memchr(p, ':', (size_t)(end - p));

			return c != NULL && memchr(c + 1, ':',
			    (size_t)(end - c - 1)) != NULL ?
			    "an IPv6 address not in [brackets]" :
			    "an empty host name";
		}
		if (p < end && *p == '=')
			return "'=' in a host name";
		if (p < end && *p != ':')
			return "a host name with other than letters, digits, "
			    "'-', '.', '_'";
	}
	if (p == end)
		return NULL;    /* librdkafka's default port */
	if (*p != ':' || ++p == end)
		return "no port after ':'";
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return *p == ':' ? "an IPv6 address not in [brackets]" :
			    "a port that is not a number";
		port = port * 10 + (*p - '0');
		if (port > 65535)
			break;
	}
	return port < 1 || port > 65535 ? "a port not in 1-65535" : NULL;
}

int kafka_brokers_check(const char *list, char *errstr, size_t errlen)
{
	const char *p = list, *why = NULL;
	size_t nbrokers = 0;

	/* librdkafka separates brokers by commas or spaces */
	while (why == NULL && *(p += strspn(p, ", \t")) != '\0') {
		size_t n = strcspn(p, ", \t");

		why = broker_fault(p, n);
		nbrokers++;
		p += n;
	}
	if (why == NULL && nbrokers > 0)
		return 0;
	snprintf(errstr, errlen, "not a host:port list (%s): '%s'",
	    why ? why : "no broker", list);
	return -1;
}

int kafka_conf_set2(rd_kafka_conf_t *conf, const char *key, const char *val,
    char *errstr, size_t errlen)
{
	if ((strcmp(key, "bootstrap.servers") == 0 ||
	    strcmp(key, "metadata.broker.list") == 0) &&
	    kafka_brokers_check(val, errstr, errlen) < 0)
		return -1;
	if (rd_kafka_conf_set(conf, key, val, errstr, errlen) != RD_KAFKA_CONF_OK)
		return -1;
	return 0;
}

/*
 * kafka_conf_set() with the schema registry's properties
 * (REGISTRY_CONF_PREFIX) diverted to reg; without reg (a tool or a
 * connection that has no registry), a file's are passed over, since one
 * file serves every tool, and -X's are a usage error.  A registry
 * property's value is not repeated in a message: it may be a secret.
 */
static void conf_set(rd_kafka_conf_t *conf, struct registry_conf *reg,
    const char *kv, const char *where, bool in_file)
{
	const char *eq = strchr(kv, '=');
	char errstr[512];
	char *key;
	int rc;

	if (eq == NULL || eq == kv)
		diag_usage("%s: expected key=value: '%s'", where, kv);
	key = xstrndup(kv, (size_t)(eq - kv));
	if (strncmp(key, REGISTRY_CONF_PREFIX,
	    strlen(REGISTRY_CONF_PREFIX)) == 0) {
		if (reg == NULL && in_file) {
			free(key);
			return;
		}
		if (reg == NULL)
			snprintf(errstr, sizeof(errstr), "%s: this tool "
			    "has no schema registry", key);
		rc = reg != NULL ? registry_conf_set(reg, key, eq + 1, errstr,
		    sizeof(errstr)) : -1;
		free(key);
		if (rc < 0)
			diag_usage("%s: %s", where, errstr);
		return;
	}
	rc = kafka_conf_set2(conf, key, eq + 1, errstr, sizeof(errstr));
	free(key);
	if (rc < 0)
		diag_usage("%s: %s: '%s'", where, errstr, kv);
}

void kafka_conf_set(rd_kafka_conf_t *conf, const char *kv, const char *where)
{
	conf_set(conf, NULL, kv, where, false);
}

/* kafka_conf_file(), with what named the file for messages: "-F", an
 * environment variable, or "default configuration". */
static void conf_file(rd_kafka_conf_t *conf, struct registry_conf *reg,
    const char *path, const char *what)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	char where[512];

	if (fp == NULL)
		diag_fatal("%s: cannot open: '%s': %s", what, path,
		    strerror(errno));
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *s = line, *e;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
		    line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		/* "key = value" is accepted too, as in Java .properties. */
		e = strchr(s, '=');
		if (e != NULL) {
			char *k = e, *v = e + 1;

			while (k > s && (k[-1] == ' ' || k[-1] == '\t'))
				k--;
			while (*v == ' ' || *v == '\t')
				v++;
			memmove(k + 1, v, strlen(v) + 1);
			*k = '=';
		}
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		conf_set(conf, reg, s, where, true);
	}
	if (ferror(fp))
		diag_fatal("%s: read error: '%s': %s", what, path,
		    strerror(errno));
	free(line);
	fclose(fp);
}

void kafka_conf_file(rd_kafka_conf_t *conf, const char *path)
{
	conf_file(conf, NULL, path, "-F");
}

/* The value of environment variable name, or NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *kafka_conf_default_path(char *buf, size_t len, const char **var)
{
	static const char *const vars[] = { "FS_KAFKA_CONFIG", "KCAT_CONFIG" };
	const char *home = env("HOME"), *xdg = env("XDG_CONFIG_HOME");

	for (int i = 0; i < 2; i++) {
		const char *v = env(vars[i]);

		*var = v != NULL ? vars[i] : NULL;
		if (v != NULL) {
			snprintf(buf, len, "%s", v);
			return buf;
		}
		/* the default path of the same program */
		if (i == 0 && xdg != NULL)
			snprintf(buf, len, "%s/fs/kafka.conf", xdg);
		else if (home != NULL)
			snprintf(buf, len, "%s/.config/%s", home,
			    i == 0 ? "fs/kafka.conf" : "kcat.conf");
		else
			continue;
		if (access(buf, F_OK) == 0)
			return buf;
	}
	*var = NULL;
	return NULL;
}

/* True for a property whose value is a secret. */
static bool secret(const char *key)
{
	return strstr(key, "password") != NULL || strstr(key, "secret") != NULL ||
	    strcmp(key, "ssl.key.pem") == 0 ||
	    strcmp(key, "sasl.oauthbearer.config") == 0;
}

static void dump_pairs(FILE *fp, const char **kv, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		fprintf(fp, "%s = %s\n", kv[i],
		    secret(kv[i]) && kv[i + 1][0] != '\0' ? "[redacted]" :
		    kv[i + 1]);
	fputc('\n', fp);
}

void kafka_conf_dump(rd_kafka_conf_t *conf, FILE *fp)
{
	rd_kafka_topic_conf_t *tc = rd_kafka_conf_get_default_topic_conf(conf);
	rd_kafka_topic_conf_t *fresh = NULL;
	const char **kv;
	size_t n;

	kv = rd_kafka_conf_dump(conf, &n);
	fputs("# Global config\n", fp);
	dump_pairs(fp, kv, n);
	rd_kafka_conf_dump_free(kv, n);
	if (tc == NULL)
		tc = fresh = rd_kafka_topic_conf_new();
	kv = rd_kafka_topic_conf_dump(tc, &n);
	fputs("# Topic config\n", fp);
	dump_pairs(fp, kv, n);
	rd_kafka_conf_dump_free(kv, n);
	if (fresh != NULL)
		rd_kafka_topic_conf_destroy(fresh);
}

const char *kafka_conf_get(rd_kafka_conf_t *conf, const char *key,
    char *buf, size_t len)
{
	size_t n = len;

	if (rd_kafka_conf_get(conf, key, buf, &n) != RD_KAFKA_CONF_OK)
		return NULL;
	return buf;
}

/* The properties of a connection to the brokers, as opposed to those
 * of a producer, a consumer or a topic: how to reach and authenticate
 * to the cluster, and how the client names and logs itself. */
static bool connection_property(const char *key)
{
	static const char *const prefix[] = {
		"security.protocol", "sasl.", "ssl.", "ssl_", "enable.ssl.",
		"enable.sasl.", "https.", "client.", "socket.",
		"broker.address.", "connections.max.idle.ms", "reconnect.",
		"api.version.", "broker.version.fallback",
		"resolve.canonical.bootstrap.servers.only", "debug",
	};
	size_t n = strlen(key);

	if (n > 3 && strcmp(key + n - 3, "_cb") == 0)
		return false;   /* set by code, not by -X */
	for (size_t i = 0; i < sizeof(prefix) / sizeof(*prefix); i++)
		if (strncmp(key, prefix[i], strlen(prefix[i])) == 0)
			return true;
	return false;
}

char **kafka_conf_connection(const rd_kafka_conf_t *conf)
{
	rd_kafka_conf_t *dflt = kafka_conf_new();
	size_t cnt, dcnt, n = 0;
	const char **set = rd_kafka_conf_dump((rd_kafka_conf_t *)conf, &cnt);
	const char **base = rd_kafka_conf_dump(dflt, &dcnt);
	char **v = xcalloc(cnt / 2 + 1, sizeof(*v));

	for (size_t i = 0; i + 1 < cnt; i += 2) {
		const char *was = NULL;
		struct buf kv = BUF_INIT;

		if (!connection_property(set[i]))
			continue;
		for (size_t j = 0; j + 1 < dcnt && was == NULL; j += 2)
			if (strcmp(base[j], set[i]) == 0)
				was = base[j + 1];
		if (was != NULL && strcmp(was, set[i + 1]) == 0)
			continue;       /* librdkafka's or fs's default */
		buf_appends(&kv, set[i]);
		buf_appendc(&kv, '=');
		buf_appends(&kv, set[i + 1]);
		v[n++] = kv.data;
	}
	rd_kafka_conf_dump_free(set, cnt);
	rd_kafka_conf_dump_free(base, dcnt);
	rd_kafka_conf_destroy(dflt);
	return v;
}

void kafka_props_free(char **props)
{
	for (size_t i = 0; props != NULL && props[i] != NULL; i++)
		free(props[i]);
	free(props);
}

rd_kafka_t *kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
	char errstr[512];
	rd_kafka_t *rk;

	if (kafka_conf_get(conf, "bootstrap.servers", kstate.brokers,
	    sizeof(kstate.brokers)) == NULL || kstate.brokers[0] == '\0')
		diag_usage("no brokers: give -b HOST:PORT (or -X bootstrap.servers=...)");
	rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		diag_fatal("librdkafka: %s", errstr);
	return rk;
}

bool kafka_fatal_error(rd_kafka_t *rk, char *why, size_t len)
{
	(void)rk;
	if (!kstate.fatal)
		return false;
	snprintf(why, len, "%s", kstate.why);
	return true;
}

const rd_kafka_metadata_t *kafka_metadata(rd_kafka_t *rk, const char *topic,
    int timeout_ms)
{
	const rd_kafka_metadata_t *md = NULL;
	rd_kafka_topic_t *rkt = NULL;
	rd_kafka_resp_err_t err;

	if (topic != NULL)
		rkt = rd_kafka_topic_new(rk, topic, NULL);
	err = rd_kafka_metadata(rk, rkt == NULL, rkt, &md, timeout_ms);
	if (rkt != NULL)
		rd_kafka_topic_destroy(rkt);
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
	    err == RD_KAFKA_RESP_ERR__TRANSPORT ||
	    err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		diag_fatal("no broker answered in %ds: '%s'%s%s",
		    timeout_ms / 1000, kstate.brokers,
		    kstate.last[0] ? ": " : "", kstate.last);
	if (err)
		diag_fatal("metadata: %s", rd_kafka_err2str(err));
	return md;
}

int kafka_opt_metadata_timeout(const char *opt, const char *arg)
{
	int64_t ms = opt_duration(opt, arg);

	if (ms < 1000 || ms > INT_MAX)
		diag_usage("%s: from 1s to 24d: '%s'", opt, arg);
	return (int)ms;
}

void kafka_await_broker(rd_kafka_t *rk, int timeout_ms)
{
	rd_kafka_metadata_destroy(kafka_metadata(rk, NULL, timeout_ms));
}

void kafka_await_reachable(rd_kafka_t *rk, int reach_ms)
{
	const rd_kafka_metadata_t *md = NULL;
	rd_kafka_resp_err_t err;
	char fail[256];

	/* Brokers only (no topic): librdkafka answers _TRANSPORT when no
	 * broker became usable in the time, _TIMED_OUT when one did but
	 * has not answered yet, which the queries after this wait for. */
	err = rd_kafka_metadata(rk, 0, NULL, &md, reach_ms);
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	if (err != RD_KAFKA_RESP_ERR__TRANSPORT)
		return;
	pthread_mutex_lock(&kstate.mu);
	memcpy(fail, kstate.fail, sizeof(fail));
	pthread_mutex_unlock(&kstate.mu);
	if (reach_ms % 1000 == 0)
		diag_fatal("no broker reachable in %ds: '%s'%s%s",
		    reach_ms / 1000, kstate.brokers, fail[0] ? ": " : "", fail);
	diag_fatal("no broker reachable in %dms: '%s'%s%s", reach_ms,
	    kstate.brokers, fail[0] ? ": " : "", fail);
}

void kafka_opts_init(struct kafka_opts *k)
{
	memset(k, 0, sizeof(*k));
	k->conf = kafka_conf_new();
	k->md_timeout_ms = KAFKA_METADATA_TIMEOUT_MS;
	/* Under fs-run a broker that is down may be restarting: a stage
	 * waits the longer time before it fails and uses up a restart. */
	k->reach_ms = getenv(KAFKA_SUPERVISED_ENV) != NULL ?
	    KAFKA_METADATA_TIMEOUT_MS : KAFKA_REACH_TIMEOUT_MS;
}

/* -b, -F and -X wait for kafka_opts_finish(), which applies them after
 * the default file, which only a -F anywhere on the line leaves out. */
static void defer(struct kafka_opts *k, opt_fn *fn, const char *name,
    const char *arg)
{
	k->args = xgrow(k->args, &k->cap, k->nargs + 1, sizeof(*k->args));
	k->args[k->nargs].fn = fn;
	snprintf(k->args[k->nargs].name, sizeof(k->args[k->nargs].name), "%s",
	    name);
	k->args[k->nargs].arg = arg;
	k->nargs++;
}

static void apply_brokers(struct kafka_opts *k, const char *name,
    const char *arg)
{
	char errstr[512];

	if (kafka_conf_set2(k->conf, "bootstrap.servers", arg, errstr,
	    sizeof(errstr)) < 0)
		diag_usage("%s: %s", name, errstr);
}

void kafka_opts_finish(struct kafka_opts *k)
{
	char path[PATH_MAX];
	const char *var;

	if (!k->file_given &&
	    kafka_conf_default_path(path, sizeof(path), &var) != NULL) {
		/* -v (not --stats) says so when no variable named it */
		if (var == NULL && diag_verbosity() >= DIAG_PROGRESS)
			diag_info("kafka: configuration from '%s'", path);
		conf_file(k->conf, k->registry, path, var != NULL ? var :
		    "default configuration");
	}
	for (size_t i = 0; i < k->nargs; i++) {
		const struct kafka_opt_arg *a = &k->args[i];

		if (a->fn == kafka_opt_brokers)
			apply_brokers(k, a->name, a->arg);
		else if (a->fn == kafka_opt_file)
			conf_file(k->conf, k->registry, a->arg, "-F");
		else
			conf_set(k->conf, k->registry, a->arg, a->name, false);
	}
	free(k->args);
	k->args = NULL;
	k->nargs = k->cap = 0;
	if (k->dump) {
		kafka_conf_dump(k->conf, stdout);
		if (k->registry != NULL)
			registry_conf_dump(k->registry, stdout);
		if (fflush(stdout) != 0 || ferror(stdout))
			diag_fatal("write error: stdout: %s", strerror(errno));
		exit(0);
	}
}

void kafka_opt_brokers(void *data, const char *name, const char *arg)
{
	defer(data, kafka_opt_brokers, name, arg);
}

void kafka_opt_file(void *data, const char *name, const char *arg)
{
	struct kafka_opts *k = data;

	k->file_given = true;
	defer(k, kafka_opt_file, name, arg);
}

void kafka_opt_property(void *data, const char *name, const char *arg)
{
	struct kafka_opts *k = data;

	if (strcmp(arg, "list") == 0 || strcmp(arg, "help") == 0) {
		rd_kafka_conf_properties_show(stdout);
		if (k->registry != NULL)
			registry_conf_list(stdout);
		if (fflush(stdout) != 0 || ferror(stdout))
			diag_fatal("write error: stdout: %s", strerror(errno));
		exit(0);
	}
	if (strcmp(arg, "dump") == 0) {
		k->dump = true;
		return;
	}
	defer(k, kafka_opt_property, name, arg);
}

void kafka_opt_md_timeout(void *data, const char *name, const char *arg)
{
	struct kafka_opts *k = data;

	k->md_timeout_ms = kafka_opt_metadata_timeout(name, arg);
	k->reach_ms = k->md_timeout_ms;
}
