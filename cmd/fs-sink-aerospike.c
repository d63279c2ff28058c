/*
 * fs-sink-aerospike - write NDJSON feature records into Aerospike, one
 * record per key, over Aerospike's own wire protocol (common/as_*.h).
 * See fs-sink-aerospike(1).
 *
 * Each data line becomes one write command: the key from --key, the
 * bins from the record's members (or --bins), and, with --monotonic, a
 * filter expression that lets the server skip the write when the stored
 * record is newer.  Commands are pipelined (--in-flight) or batched
 * (--batch, a batch filling for up to --linger); the executor keeps
 * writes of one key in input order and retries what is worth retrying.  A write that fails for good is
 * rejected like a bad input line, with its source position.  On a
 * checkpoint barrier every write in flight is waited for before the
 * checkpoint file is written.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "aerospike/aerospike.h"
#include "def.h"
#include "fieldseen.h"
#include "kafka/kafka.h"
#include "opt.h"
#include "reject.h"
#include "sink.h"
#include "stage.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-sink-aerospike -n NAMESPACE --key FIELDS [--hosts HOSTS] [-s SET]\n"
"                         [options] [FILE]\n"
"Writes NDJSON records into Aerospike, one record per key.\n";

/* One bin of --bins: where its value comes from, what it is called. */
struct binspec {
	struct path path;
	char *name;
	size_t nlen;
};

/* --exists: what a write may find (the words in this order). */
enum exists { EXISTS_UPDATE, EXISTS_UPDATE_ONLY, EXISTS_REPLACE,
	EXISTS_REPLACE_ONLY, EXISTS_CREATE_ONLY };
static const char *const exists_words[] = { "update", "update-only",
	"replace", "replace-only", "create-only", NULL };

struct opts {
	struct fs_common c;
	struct as_opts as;
	const char *bins, *time_bin;
	enum exists exists;
	uint8_t info2, info3;   /* --exists as the header's bits */
	uint32_t ttl;
	bool send_key, monotonic, strict, version_bins;
	const char *view;       /* --view: the registry's name of it */
	int64_t in_flight, batch, pipeline, retries;
	int64_t total_timeout_ms, backoff_ms, linger_ms;
	const char *input;
};

/* What a write needs to be reported if it fails: where it came from. */
struct origin {
	uint64_t lineno;
	bool only_deletes;      /* every bin null: "not found" is done */
	size_t len;
	char raw[];
};

struct sink {
	struct opts *o;
	struct lineio lr;
	struct rejects rj;
	struct stage st;
	struct sink_step step;  /* lines and control records counted there */
	struct fieldseen seen;  /* the fields --key and --bins name */
	struct keyspec ks;
	struct binspec *bins;
	size_t n_bins;
	size_t time_bin_len;
	bool quick;             /* rows may take the quick path (on_quick) */
	struct as_cluster cl;
	struct as_exec *ex;
	struct as_key key;
	struct buf val, exp;
	size_t values;          /* non-null bins of the record being built */
	struct as_registry reg; /* the view's entry (fs-registry(5)) */
	bool defined;           /* its version is registered */
	int64_t reg_ms;         /* when it was last updated */
	struct buf bin;         /* a bin name with the version's suffix */
	char *password;
	/* --stats */
	uint64_t written, stale, failed;
	/* --metrics-*: NULL without */
	struct metric *m_written, *m_stale, *m_failed, *m_requests,
	    *m_retries, *m_timeouts, *m_lat[4], *m_lat_sum, *m_lat_count;
};

static const double lat_q[4] = { 0.5, 0.9, 0.99, 0.999 };

/* --ttl: a duration, never, keep or default. */
static void set_ttl(void *data, const char *name, const char *arg)
{
	uint32_t *ttl = data;
	int64_t ms;

	(void)name;
	if (strcmp(arg, "never") == 0)
		*ttl = AS_TTL_NEVER;
	else if (strcmp(arg, "default") == 0)
		*ttl = AS_TTL_DEFAULT;
	else if (strcmp(arg, "keep") == 0)
		*ttl = AS_TTL_DONT_UPDATE;
	else if (dur_parse(arg, &ms) < 0 || ms < 1000 ||
	    ms > (int64_t)315360000 * 1000)
		diag_usage("--ttl: expected a duration from 1s to 3650d, "
		    "never, keep or default: '%s'", arg);
	else
		*ttl = (uint32_t)((ms + 999) / 1000);
}

/* --exists as the write header's bits. */
static void set_exists_bits(struct opts *o)
{
	static const uint8_t info2[] = { 0, 0, 0, 0, AS_INFO2_CREATE_ONLY };
	static const uint8_t info3[] = { 0, AS_INFO3_UPDATE_ONLY,
		AS_INFO3_CREATE_OR_REPLACE, AS_INFO3_REPLACE_ONLY, 0 };

	o->info2 = info2[o->exists];
	o->info3 = info3[o->exists];
}

static void set_defaults(struct opts *o)
{
	as_opts_init(&o->as);
	o->ttl = AS_TTL_DEFAULT;
	o->in_flight = 16;
	o->batch = 100;
	o->pipeline = 1;
	/* A node restart takes seconds: a write rides it out by default.
	 * The official clients' policies bound a command the same way, by
	 * totalTimeout and maxRetries (their write defaults, 1s and no
	 * retry, are for a caller that handles failures itself; a
	 * pipeline cannot). */
	o->retries = AS_EXEC_RETRIES_ANY;
	o->total_timeout_ms = 30000;
	o->backoff_ms = 5;
	/* Kafka's producer default (linger.ms, 5 since Kafka 4.0): long
	 * enough for a fast input to fill a batch, short beside a write's
	 * round trip under load. */
	o->linger_ms = 5;
}

/* The operand, and what the options cannot mean together. */
static void check_options(struct opts *o, int argc, char **argv, int first)
{
	struct as_opts *a = &o->as;

	if (first < argc)
		o->input = argv[first++];
	if (first < argc)
		diag_usage("one input file at most: '%s'", argv[first]);
	fs_common_finish(&o->c);
	if (a->ns == NULL)
		diag_usage("-n NAMESPACE is required");
	if (a->key == NULL)
		diag_usage("--key FIELDS is required");
	if (strlen(a->ns) > AS_NAMESPACE_MAX)
		diag_usage("-n: a namespace name is at most %d bytes: '%s'",
		    AS_NAMESPACE_MAX, a->ns);
	if (strlen(a->set) > AS_SET_MAX)
		diag_usage("-s: a set name is at most %d bytes: '%s'",
		    AS_SET_MAX, a->set);
	if (strcmp(a->set, AS_REGISTRY_SET) == 0)
		diag_usage("-s: set '%s' is the feature registry's "
		    "(fs-registry(5))", a->set);
	if (o->view != NULL && (o->view[0] == '\0' || o->view[0] == '@'))
		diag_usage("--view: a name, not starting with '@' (reserved): "
		    "'%s'", o->view);
	if (o->time_bin != NULL && !o->monotonic)
		diag_usage("--time-bin needs --monotonic");
	as_opts_check(a);
	/* no attempt outlives the write (the clients' setTimeouts rule) */
	if (o->total_timeout_ms > 0 && a->timeout_ms > o->total_timeout_ms)
		a->timeout_ms = o->total_timeout_ms;
	set_exists_bits(o);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	struct as_opts *a = &o->as;
	const struct opt opts[] = {
		OPT_GROUP_AEROSPIKE(a,
		    "key field(s); several are joined into a string key"),
		OPT_STRING('B', "bins", &o->bins, "LIST",
		    "bins to write: FIELD or FIELD=BIN,... (default: all\n"
		    "members but the key fields)"),
		/* -b: the old spelling of -B, now the Kafka tools' brokers */
		OPT_STRING('b', NULL, &o->bins, "LIST", NULL),
		OPT_CALLBACK(0, "ttl", set_ttl, &o->ttl, "TTL",
		    "DURATION, never, keep, or default (the namespace's)"),
		OPT_FLAG(0, "send-key", &o->send_key,
		    "store the key itself with the record"),
		OPT_FLAG(0, "version-bins", &o->version_bins,
		    "a definition the view does not hold in its plain\n"
		    "bins goes to bins suffixed _vN (fs-registry(5))"),
		OPT_STRING(0, "view", &o->view, "NAME",
		    "the feature view's name in the registry (default:\n"
		    "NAMESPACE.SET)"),
		OPT_POLICY(0, "exists", &o->exists, exists_words, "POLICY",
		    "update (default), update-only, replace,\n"
		    "replace-only, or create-only"),
		OPT_FLAG(0, "monotonic", &o->monotonic,
		    "never replace a newer record: skip writes whose\n"
		    "event time is older than the stored one"),
		OPT_STRING(0, "time-bin", &o->time_bin, "BIN",
		    "where --monotonic keeps the event time (default:\n"
		    "the time field's name)"),
		OPT_INT(0, "in-flight", &o->in_flight, 1, 4096, "N",
		    "requests on the wire at once (default 16)"),
		OPT_INT(0, "batch", &o->batch, 1, 5000, "N",
		    "rows per batch request; 1: single writes\n"
		    "(default 100)"),
		OPT_AEROSPIKE_MS("linger", &o->linger_ms, 0, 60000,
		    "how long a batch may wait to fill (default 5ms)"),
		OPT_INT(0, "pipeline", &o->pipeline, 1, 64, "N",
		    "single writes queued on each connection (default 1)"),
		OPT_AEROSPIKE_TIMEOUT(a),
		OPT_AEROSPIKE_MS("total-timeout", &o->total_timeout_ms, 0,
		    86400000, "per write, retries included; 0: none (default "
		    "30s)"),
		OPT_INT(0, "retries", &o->retries, 0, 100, "N",
		    "at most N retries of a write (default: as many as\n"
		    "--total-timeout allows)"),
		OPT_AEROSPIKE_MS("backoff", &o->backoff_ms, 1, 10000,
		    "first pause before a retry, doubling up to 1s\n"
		    "(default 5ms)"),
		OPT_GROUP_AEROSPIKE_LOGIN(a),
		OPT_GROUP_FIELDSEEN(&o->strict),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};

	fs_common_init(&o->c, argc, argv);
	set_defaults(o);
	check_options(o, argc, argv, opt_parse(usage_text, opts, 0, argc,
	    argv));
}

/* --- bins ------------------------------------------------------------- */

static void compile_bins(struct sink *s)
{
	struct opts *o = s->o;
	if (o->monotonic) {
		o->time_bin = as_time_bin(o->time_bin, &o->c.time_path);
		s->time_bin_len = strlen(o->time_bin);
	}
	if (o->bins == NULL)
		return;
	char *copy = xstrdup(o->bins), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t;
	    t = strtok_r(NULL, ",", &save)) {
		s->bins = xrealloc(s->bins, (s->n_bins + 1) * sizeof *s->bins);
		struct binspec *b = &s->bins[s->n_bins++];
		char *eq = strchr(t, '=');
		if (eq)
			*eq = '\0';
		if (path_compile(&b->path, t) < 0)
			diag_usage("--bins: not a field path: '%s'", t);
		b->name = xstrdup(eq ? eq + 1 : b->path.parts[b->path.n - 1]);
		b->nlen = strlen(b->name);
		as_check_bin_name("--bins", b->name, b->nlen);
	}
	free(copy);
	if (s->n_bins == 0)
		diag_usage("--bins: no bins in '%s'", o->bins);
}

/* Is member name (top level) one of the key fields? */
static bool is_key_member(const struct sink *s, const char *name, size_t n)
{
	for (size_t i = 0; i < s->ks.n; i++) {
		const struct path *p = &s->ks.paths[i];
		if (p->n == 1 && strlen(p->parts[0]) == n &&
		    memcmp(p->parts[0], name, n) == 0)
			return true;
	}
	return false;
}

/* A bin name's checks: -1 with why when it cannot be a bin, 0 when it is
 * the event time build() writes itself, 1 when it is a bin. */
static int bin_check(const struct sink *s, const char *name, size_t nlen,
    char *why, size_t whylen)
{
	/* the server's rule (as_bin_name_check): under 16 bytes, no NUL */
	if (nlen > AS_BIN_NAME_MAX) {
		snprintf(why, whylen, "bin name '%.*s' is too long (at most %d "
		    "bytes)", (int)(nlen > 64 ? 64 : nlen), name, AS_BIN_NAME_MAX);
		return -1;
	}
	if (memchr(name, '\0', nlen) != NULL) {
		snprintf(why, whylen, "a bin name holds a NUL byte");
		return -1;
	}
	if (s->o->monotonic && nlen == s->time_bin_len &&
	    memcmp(name, s->o->time_bin, nlen) == 0)
		return 0;
	return 1;
}

/* Appends the write of bin name (noted already), its value of type pt
 * in s->val; -1 with why when the name is too long with the suffix. */
static int bin_put(struct sink *s, struct as_cmd *c, const char *name,
    size_t nlen, uint8_t pt, char *why, size_t whylen)
{
	if (s->reg.suffix[0] != '\0') {
		buf_reset(&s->bin);
		buf_append(&s->bin, name, nlen);
		buf_appends(&s->bin, s->reg.suffix);
		if (s->bin.len > AS_BIN_NAME_MAX) {
			snprintf(why, whylen, "bin name '%.*s' is too long with "
			    "the version's suffix (at most %d bytes)",
			    (int)s->bin.len, s->bin.data, AS_BIN_NAME_MAX);
			return -1;
		}
		name = s->bin.data;
		nlen = s->bin.len;
	}
	as_cmd_op(c, AS_OP_WRITE, pt, name, nlen, s->val.data, s->val.len);
	if (pt != AS_PT_NULL)
		s->values++;
	return 0;
}

/* Appends one bin write; -1 with why when the bin cannot be written. */
static int add_bin(struct sink *s, struct as_cmd *c, const char *name,
    size_t nlen, const json_t *v, char *why, size_t whylen)
{
	int r = bin_check(s, name, nlen, why, whylen);

	if (r <= 0)
		return r;
	as_registry_note(&s->reg, name, nlen, v);
	buf_reset(&s->val);
	return bin_put(s, c, name, nlen, as_value_encode(v, &s->val), why,
	    whylen);
}

/* The header, the key field and the filter of a write of the record
 * whose key is s->key and event time ts. */
static void build_head(struct sink *s, struct as_cmd *c, int64_t ts)
{
	struct opts *o = s->o;

	memcpy(c->digest, s->key.digest, AS_DIGEST_SIZE);
	s->values = 0;
	c->hdr.info2 = AS_INFO2_WRITE | o->info2;
	c->hdr.info3 = o->info3;
	c->hdr.record_ttl = o->ttl;
	if (o->send_key) {
		size_t kn;
		const void *kp = as_key_bytes(&s->key, &kn);
		as_cmd_field_key(c, s->key.type, kp, kn);
	}
	if (o->monotonic) {
		buf_reset(&s->exp);
		as_exp_monotonic(&s->exp, o->time_bin, s->time_bin_len, ts);
		as_cmd_field(c, AS_FIELD_FILTER_EXP, s->exp.data, s->exp.len);
	}
}

/* The event time's bin and the checks of a write built: -1 with why. */
static int build_tail(struct sink *s, struct as_cmd *c, int64_t ts,
    char *why, size_t whylen)
{
	struct opts *o = s->o;

	if (o->monotonic) {
		uint8_t be[8];
		as_put_u64(be, (uint64_t)ts);
		as_cmd_op(c, AS_OP_WRITE, AS_PT_INTEGER, o->time_bin,
		    s->time_bin_len, be, 8);
	}
	if (c->n_ops == 0) {
		snprintf(why, whylen, "no bins to write");
		return -1;
	}
	if (c->parts.len > AS_PROTO_SIZE_MAX / 2) {
		snprintf(why, whylen, "record too big: %zu bytes, more than "
		    "any server takes", c->parts.len);
		return -1;
	}
	return 0;
}

/* Encodes obj as a write into c.  -1 with why when it cannot be. */
static int build(struct sink *s, const json_t *obj, struct as_cmd *c, char *why,
    size_t whylen)
{
	struct opts *o = s->o;
	if (as_key_from_record(&s->key, &s->ks, o->as.key_sep, obj, o->as.set,
	    why, whylen) < 0)
		return -1;
	int64_t ts = 0;
	if (o->monotonic) {
		const char *e;
		if (etime_get(&o->c.time_path, obj, &ts, &e) < 0) {
			snprintf(why, whylen, "%s", e);
			return -1;
		}
	}
	build_head(s, c, ts);
	if (s->n_bins > 0) {
		for (size_t i = 0; i < s->n_bins; i++) {
			const json_t *v = path_get(&s->bins[i].path, obj);
			if (v != NULL && add_bin(s, c, s->bins[i].name,
			    s->bins[i].nlen, v, why, whylen) < 0)
				return -1;
		}
	} else {
		const char *k;
		size_t klen;
		json_t *v;
		json_object_keylen_foreach((json_t *)obj, k, klen, v) {
			if (is_key_member(s, k, klen))
				continue;
			if (add_bin(s, c, k, klen, v, why, whylen) < 0)
				return -1;
		}
	}
	return build_tail(s, c, ts, why, whylen);
}

/* --- results ---------------------------------------------------------- */

static void explain(const struct sink *s, const struct as_cmd *c, int rc,
    const char *last, char *why, size_t whylen)
{
	const struct opts *o = s->o;
	unsigned retries = c->attempts > 0 ? c->attempts - 1 : 0;
	switch (rc) {
	case AS_EXEC_ETIMEOUT:
	case AS_EXEC_ECONN:
	case AS_EXEC_EPROTO:
	case AS_EXEC_ENOROUTE:
		if (c->expired)
			snprintf(why, whylen, "not written within the total "
			    "time-out (%" PRId64 " ms); last attempt: %s",
			    o->total_timeout_ms, last ? last : "");
		else
			snprintf(why, whylen, "not written after %u retries: %s",
			    retries, last ? last : "");
		return;
	case AS_ERR_FORBIDDEN:
		if (o->ttl != AS_TTL_NEVER) {
			snprintf(why, whylen, "aerospike: %s (22): the namespace "
			    "refuses records that expire; it runs without "
			    "nsup-period (set nsup-period, or write with "
			    "--ttl never)", as_result_str(rc));
			return;
		}
		break;
	case AS_ERR_RECORD_TOO_BIG:
		snprintf(why, whylen, "aerospike: %s (13): larger than the "
		    "namespace's max-record-size", as_result_str(rc));
		return;
	default:
		break;
	}
	if (as_result_retryable(rc)) {
		if (c->expired)
			snprintf(why, whylen, "aerospike: %s (%d), still at the "
			    "total time-out (%" PRId64 " ms)", as_result_str(rc),
			    rc, o->total_timeout_ms);
		else
			snprintf(why, whylen, "aerospike: %s (%d), still after "
			    "%u retries", as_result_str(rc), rc, retries);
		return;
	}
	snprintf(why, whylen, "aerospike: %s (%d)", as_result_str(rc), rc);
}

static void done(void *ctx, struct as_cmd *c, int rc, const struct as_msg *m,
    const char *last)
{
	struct sink *s = ctx;
	struct origin *org = c->udata;
	(void)m;
	if (rc == AS_OK) {
		s->written++;
		as_registry_wrote(&s->reg);
	} else if (rc == AS_ERR_NOT_FOUND && org->only_deletes) {
		s->written++;   /* nothing to remove from a missing record */
	} else if (rc == AS_ERR_FILTERED_OUT && s->o->monotonic) {
		s->stale++;     /* the stored record is newer: by design */
	} else {
		char why[512], where[64];
		explain(s, c, rc, last, why, sizeof why);
		snprintf(where, sizeof where, "%s:%llu", s->lr.name,
		    (unsigned long long)org->lineno);
		s->failed++;
		reject(&s->rj, where, why, org->raw, org->len);
	}
	free(org);
	c->udata = NULL;
}

/* --- the registry (fs-registry(5)) ------------------------------------ */

/* The sink's part of the definition: the entity key and the bins. */
static json_t *sink_def_part(const struct opts *o)
{
	json_t *p = def_part_new("sink");

	json_object_set_new(p, "namespace", json_string(o->as.ns));
	json_object_set_new(p, "set", json_string(o->as.set));
	def_part_key(p, o->as.key);
	json_object_set_new(p, "key_sep", json_string(o->as.key_sep));
	if (o->bins != NULL)
		json_object_set_new(p, "bins", json_string(o->bins));
	return p;
}

/* Registers this pipeline's version from lineage (stolen, NULL: no
 * definition came) plus the sink's part.  A definition that changes
 * mid-stream, or one the view refuses, ends the sink (exit 1). */
static void registry_define(struct sink *s, json_t *lineage)
{
	char why[AS_REGISTRY_WHY_MAX], version[DEF_VERSION_LEN + 1];

	if (lineage == NULL)
		lineage = json_array();
	json_array_append_new(lineage, sink_def_part(s->o));
	if (s->defined) {
		def_version(lineage, version);
		if (strcmp(version, s->reg.version) != 0)
			diag_fatal("view '%s': the definition changed from "
			    "version %s to %s mid-stream", s->reg.view,
			    s->reg.version, version);
		json_decref(lineage);
		return;
	}
	as_exec_drain(s->ex);
	if (as_registry_define(&s->reg, lineage, s->o->version_bins, why) < 0)
		diag_fatal("%s", why);
	s->defined = true;
	s->reg_ms = etime_now_ms();
}

/* Updates the view's entry once every write so far is acknowledged. */
static void registry_update(struct sink *s)
{
	char why[AS_REGISTRY_WHY_MAX];

	if (!s->defined)
		return;
	as_exec_drain(s->ex);
	if (as_registry_update(&s->reg, why) < 0)
		diag_error("%s", why);
	s->reg_ms = etime_now_ms();
}

/* Every few seconds while records flow. */
#define REGISTRY_EVERY_MS 5000

static void registry_tick(struct sink *s)
{
	if (s->defined && s->reg.dirty &&
	    etime_now_ms() - s->reg_ms >= REGISTRY_EVERY_MS)
		registry_update(s);
}

/* --- checkpoints ------------------------------------------------------ */

static json_t *snapshot(void *ctx, uint64_t id)
{
	struct sink *s = ctx;
	(void)id;
	as_exec_drain(s->ex);   /* the checkpoint covers every write so far */
	registry_update(s);
	return json_pack("{s:I,s:I}", "written", (json_int_t)s->written,
	    "stale", (json_int_t)s->stale);
}

static int restore(void *ctx, const json_t *state, uint64_t id)
{
	/* The sink's state is the database: nothing to load. */
	(void)ctx;
	(void)state;
	(void)id;
	return 0;
}

/* --- the loop --------------------------------------------------------- */

/* The read step's hooks (sink.h).  Strings go to Aerospike by their
 * length: a \u0000 is stored whole. */
static json_t *read_line(void *ctx, const char *line, size_t len,
    struct ctl *c, char *why)
{
	(void)ctx;
	return sink_classify(rec_parse_nul(line, len, why), line, len, c, why);
}

static void on_control(void *ctx, const struct ctl *c, const json_t *obj)
{
	struct sink *s = ctx;

	if (c->kind == CTL_OTHER && def_is(obj)) {
		json_t *l = json_object_get(obj, "lineage");

		registry_define(s, json_is_array(l) ? json_deep_copy(l) : NULL);
	} else if (c->kind == CTL_WATERMARK && c->ts > INT64_MIN) {
		as_registry_watermark(&s->reg, c->ts);
	}
}

/* Sends write c of the line at hand, which it carries to its answer
 * (a rejection then names the line). */
static void submit(struct sink *s, struct as_cmd *c, const char *line,
    size_t len)
{
	struct origin *org = xmalloc(sizeof *org + len);

	org->lineno = s->lr.lineno;
	org->only_deletes = s->values == 0 && !s->o->monotonic;
	org->len = len;
	memcpy(org->raw, line, len);
	c->udata = org;
	as_exec_submit(s->ex, c);
}

static int on_data(void *ctx, const json_t *obj, const char *line,
    size_t len, char *why)
{
	struct sink *s = ctx;

	if (!s->defined && s->o->view != NULL)
		registry_define(s, NULL);
	fieldseen_record(&s->seen, obj);
	struct as_cmd *c = as_exec_cmd(s->ex);
	if (build(s, obj, c, why, SINK_ERR_MAX) < 0) {
		s->failed++;
		/* give the command back: submitted with nothing is wrong */
		c->udata = NULL;
		as_exec_cmd_free(s->ex, c);
		return -1;
	}
	submit(s, c, line, len);
	return 0;
}

/*
 * The quick path (sink.h's quick hook): an ordinary row -- flat, its
 * strings without escapes, its numbers short, no duplicate member -- is
 * read straight from its bytes (rec_quick_all) and encoded into the
 * write without a jansson tree; the bytes sent are the ones build()
 * sends for the same row.  Anything else, a row the write would reject
 * included, goes the jansson way (read_line, on_data), which stays the
 * judge of what is accepted and the source of every reason.
 */
#define QUICK_MEMBERS 64

/* One member of a row read quick: a key field, or a bin's value of
 * type pt (type: its registry name, NULL for null), its bytes in str
 * (a string) or be (an integer, a float: 8 bytes; a boolean: 1). */
struct quick_val {
	bool key;
	uint8_t pt;
	const char *type;
	struct rec_span str;
	uint8_t be[8];
};

/* A JSON integer (rec_quick_all: at most 18 digits, no overflow). */
static bool quick_int(struct rec_span v, int64_t *out)
{
	const char *p = v.p, *e = v.p + v.n;
	bool neg = p < e && *p == '-';
	int64_t x = 0;

	if (neg)
		p++;
	if (p == e)
		return false;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return false;
		x = x * 10 + (*p - '0');
	}
	*out = neg ? -x : x;
	return true;
}

/* A string without escapes: its bytes between the quotes. */
static bool quick_str(struct rec_span v, struct rec_span *out)
{
	if (v.n < 2 || v.p[0] != '"' ||
	    memchr(v.p + 1, '\\', v.n - 2) != NULL)
		return false;
	*out = (struct rec_span){ v.p + 1, v.n - 2 };
	return true;
}

/* Reads v as the value jansson reads from it; false: not a plain
 * value. */
static bool quick_value(struct rec_span v, struct quick_val *q)
{
	int64_t i;

	switch (v.p[0]) {
	case '"':
		q->pt = AS_PT_STRING;
		q->type = "string";
		return quick_str(v, &q->str);
	case 't':
	case 'f':
		q->pt = AS_PT_BOOL;
		q->type = "boolean";
		q->be[0] = v.p[0] == 't' ? 1 : 0;
		return true;
	case 'n':
		q->pt = AS_PT_NULL;
		q->type = NULL;
		return true;
	case '{':
	case '[':
		return false;
	default:
		break;
	}
	if (quick_int(v, &i)) {
		q->pt = AS_PT_INTEGER;
		q->type = "integer";
		as_put_u64(q->be, (uint64_t)i);
	} else {
		/* a real, as jansson reads it (strtod; the line goes on
		 * with ',' or '}', where strtod stops) */
		char *end;
		double d;
		uint64_t bits;

		errno = 0;
		d = strtod(v.p, &end);
		if (errno != 0 || end != v.p + v.n)
			return false;
		memcpy(&bits, &d, 8);
		q->pt = AS_PT_FLOAT;
		q->type = "float";
		as_put_u64(q->be, bits);
	}
	return true;
}

/* q into b as as_value_encode() encodes the value jansson reads. */
static void quick_encode(const struct quick_val *q, struct buf *b)
{
	buf_reset(b);
	if (q->pt == AS_PT_STRING)
		buf_append(b, q->str.p, q->str.n);
	else if (q->pt == AS_PT_BOOL)
		buf_appendc(b, q->be[0]);
	else if (q->pt != AS_PT_NULL)
		buf_append(b, q->be, 8);
}

/* The member of m[0..n) named like top-level path p, or NULL. */
static const struct rec_member *quick_find(const struct rec_member *m,
    size_t n, const struct path *p)
{
	size_t len = strlen(p->parts[0]);

	for (size_t i = 0; i < n; i++)
		if (m[i].key.n == len && memcmp(m[i].key.p, p->parts[0],
		    len) == 0)
			return &m[i];
	return NULL;
}

/* as_key_from_record() from the members; false where it would fail. */
static bool quick_key(struct sink *s, const struct rec_member *m, size_t n)
{
	const struct keyspec *ks = &s->ks;
	struct as_key *k = &s->key;
	struct rec_span str;
	int64_t i;

	buf_reset(&k->s);
	for (size_t j = 0; j < ks->n; j++) {
		const struct rec_member *f = quick_find(m, n, &ks->paths[j]);

		if (f == NULL)
			return false;
		if (ks->n == 1 && quick_int(f->val, &i)) {
			as_key_int(k, i, s->o->as.set);
			return true;
		}
		if (j > 0)
			buf_appends(&k->s, s->o->as.key_sep);
		if (quick_str(f->val, &str))
			buf_append(&k->s, str.p, str.n);
		else if (quick_int(f->val, &i))
			buf_append_i64(&k->s, i);
		else
			return false;
	}
	as_key_string_built(k, s->o->as.set);
	return true;
}

/* Rows may take the quick path: every member a bin, the key fields and
 * the event time top-level members. */
static bool quick_possible(const struct sink *s)
{
	if (s->n_bins > 0)
		return false;
	for (size_t i = 0; i < s->ks.n; i++)
		if (s->ks.paths[i].n != 1)
			return false;
	return !s->o->monotonic || s->o->c.time_path.n == 1;
}

static bool on_quick(void *ctx, const char *line, size_t len)
{
	struct sink *s = ctx;
	struct rec_member m[QUICK_MEMBERS];
	struct quick_val qv[QUICK_MEMBERS];
	size_t n;
	int64_t ts = 0;
	char why[SINK_ERR_MAX];

	if (!s->quick || !rec_quick_all(line, len, m, QUICK_MEMBERS, &n))
		return false;
	/* jansson keeps one of duplicate members: that way */
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (m[i].key.n == m[j].key.n && memcmp(m[i].key.p,
			    m[j].key.p, m[i].key.n) == 0)
				return false;
	if (s->o->monotonic) {
		const struct rec_member *t = quick_find(m, n,
		    &s->o->c.time_path);

		if (t == NULL || !quick_int(t->val, &ts))
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		qv[i].key = is_key_member(s, m[i].key.p, m[i].key.n);
		if (!qv[i].key && !quick_value(m[i].val, &qv[i]))
			return false;
	}
	if (!quick_key(s, m, n))
		return false;
	/* as on_data() from here, which nothing above has changed */
	if (!s->defined && s->o->view != NULL)
		registry_define(s, NULL);
	struct as_cmd *c = as_exec_cmd(s->ex);
	build_head(s, c, ts);
	for (size_t i = 0; i < n; i++) {
		const char *name = m[i].key.p;
		size_t nlen = m[i].key.n;
		int r;

		if (qv[i].key)
			continue;
		if ((r = bin_check(s, name, nlen, why, sizeof why)) < 0)
			goto fallback;
		if (r == 0)
			continue;
		as_registry_note_type(&s->reg, name, nlen, qv[i].type);
		quick_encode(&qv[i], &s->val);
		if (bin_put(s, c, name, nlen, qv[i].pt, why, sizeof why) < 0)
			goto fallback;
	}
	if (build_tail(s, c, ts, why, sizeof why) < 0)
		goto fallback;
	/* the fields registered are the key's (no --bins), all here */
	fieldseen_record_complete(&s->seen);
	submit(s, c, line, len);
	return true;
fallback:
	/* the jansson way rejects it, with the same reason */
	c->udata = NULL;
	as_exec_cmd_free(s->ex, c);
	return false;
}

static void metrics_register(struct sink *s, struct metrics *m)
{
	static const char *const qs[4] = { "0.5", "0.9", "0.99", "0.999" };
	static const char *const lat = "fs_sink_write_latency_seconds";
	static const char *const lat_help =
	    "Submit to answer of writes that reached the server, seconds.";

	if (m == NULL)
		return;
	s->m_written = metrics_counter(m, "fs_sink_writes_total",
	    "Records written.", NULL);
	s->m_stale = metrics_counter(m, "fs_sink_stale_total",
	    "Writes refused as older than the stored record (--monotonic).",
	    NULL);
	s->m_failed = metrics_counter(m, "fs_sink_failed_total",
	    "Writes that failed for good.", NULL);
	s->m_requests = metrics_counter(m, "fs_sink_requests_total",
	    "Requests sent to the server.", NULL);
	s->m_retries = metrics_counter(m, "fs_sink_retries_total",
	    "Writes sent again after a retryable answer or a time-out.", NULL);
	s->m_timeouts = metrics_counter(m, "fs_sink_timeouts_total",
	    "Attempts that timed out.", NULL);
	for (int i = 0; i < 4; i++)
		s->m_lat[i] = metrics_summary(m, lat, lat_help, "",
		    (const char *const[]){ "quantile", qs[i], NULL });
	s->m_lat_sum = metrics_summary(m, lat, lat_help, "_sum", NULL);
	s->m_lat_count = metrics_summary(m, lat, lat_help, "_count", NULL);
}

/* Before each wait and every 4096 lines: the quantiles walk the
 * histogram, too much for every line. */
static void metrics_publish(struct sink *s)
{
	const struct as_exec_stats *st;

	if (s->m_written == NULL || s->ex == NULL)
		return;
	st = as_exec_stats(s->ex);
	metric_set_count(s->m_written, s->written);
	metric_set_count(s->m_stale, s->stale);
	metric_set_count(s->m_failed, s->failed);
	metric_set_count(s->m_requests, st->requests);
	metric_set_count(s->m_retries, st->retries);
	metric_set_count(s->m_timeouts, st->timeouts);
	if (st->lat.count == 0)
		return;
	for (int i = 0; i < 4; i++)
		metric_set(s->m_lat[i],
		    (double)as_hist_quantile(&st->lat, lat_q[i]) / 1e6);
	metric_set(s->m_lat_sum, (double)st->lat.sum / 1e6);
	metric_set(s->m_lat_count, (double)st->lat.count);
}

static void run(struct sink *s)
{
	const char *line;
	size_t len;
	for (;;) {
		if (sig_stop_requested())
			break;
		if (!lineio_has_line(&s->lr)) {
			metrics_publish(s);
			registry_tick(s);
		} else if ((s->step.lines & 4095) == 0) {
			metrics_publish(s);
			registry_tick(s);
		}
		if (!lineio_has_line(&s->lr) && as_exec_outstanding(s->ex) > 0) {
			/* answers keep coming while the input is quiet */
			while (as_exec_wait(s->ex, s->lr.fd, 1000) == 0 &&
			    as_exec_outstanding(s->ex) > 0 &&
			    !sig_stop_requested())
				metrics_publish(s);
			/* The last answers, before a read that may block. */
			metrics_publish(s);
			if (sig_stop_requested())
				break;
		}
		/* A quiet input still gets its freshness registered. */
		while (s->defined && s->reg.dirty && !lineio_has_line(&s->lr) &&
		    !sig_stop_requested() && lineio_wait(&s->lr, 1000) == 0)
			registry_tick(s);
		int r = lineio_read(&s->lr, &line, &len);
		if (r == -2)
			continue;
		if (r == 0)
			break;
		if (r < 0)
			diag_fatal("read error: %s: %s", s->lr.name,
			    strerror(s->lr.err));
		sink_line(&s->step, line, len);
	}
	as_exec_drain(s->ex);
	registry_update(s);
	metrics_publish(s);
}

static void connect_cluster(struct sink *s)
{
	struct opts *o = s->o;
	s->password = as_opts_password(&o->as);
	struct as_cluster_opts co = {
		.hosts = o->as.hosts, .ns = o->as.ns, .user = o->as.user,
		.password = s->password,
		.timeout_ms = o->as.timeout_ms > AS_INFO_TIMEOUT_MS ?
		    o->as.timeout_ms : AS_INFO_TIMEOUT_MS,
		.max_conns = o->in_flight + 4,
	};
	if (as_cluster_open(&s->cl, &co) < 0)
		diag_fatal("aerospike: %s", s->cl.err);
	struct as_exec_opts eo = {
		.ns = o->as.ns, .set = o->as.set, .max_in_flight = o->in_flight,
		.max_pending = 4 * o->in_flight * o->pipeline, .batch = o->batch,
		.pipeline = o->pipeline,
		.timeout_ms = o->as.timeout_ms,
		.total_timeout_ms = o->total_timeout_ms,
		.max_retries = o->retries, .backoff_ms = o->backoff_ms,
		.linger_ms = (int)o->linger_ms,
	};
	s->ex = as_exec_new(&s->cl, &eo, done, s);
	struct buf view = BUF_INIT;
	if (o->view != NULL) {
		buf_appends(&view, o->view);
	} else {
		buf_appends(&view, o->as.ns);
		if (o->as.set[0] != '\0') {
			buf_appends(&view, ".");
			buf_appends(&view, o->as.set);
		}
	}
	as_registry_open(&s->reg, &s->cl, &eo, view.data, o->as.set,
	    o->as.key, o->as.key_sep);
	buf_free(&view);
}

static void print_stats(const struct sink *s)
{
	if (s->ex == NULL)
		return;
	const struct as_exec_stats *st = as_exec_stats(s->ex);
	diag_warn("stats: %llu lines, %llu written, %llu stale, %llu failed, "
	    "%llu control; %llu requests, %llu retries, %llu timeouts, "
	    "%llu connection errors, %llu connections",
	    (unsigned long long)s->step.lines, (unsigned long long)s->written,
	    (unsigned long long)s->stale, (unsigned long long)s->failed,
	    (unsigned long long)s->step.controls,
	    (unsigned long long)st->requests, (unsigned long long)st->retries,
	    (unsigned long long)st->timeouts,
	    (unsigned long long)st->conn_errors,
	    (unsigned long long)s->cl.conns_opened);
	diag_warn("stats: latency us: p50 %llu, p90 %llu, p99 %llu, "
	    "p99.9 %llu, max %llu",
	    (unsigned long long)as_hist_quantile(&st->lat, 0.50),
	    (unsigned long long)as_hist_quantile(&st->lat, 0.90),
	    (unsigned long long)as_hist_quantile(&st->lat, 0.99),
	    (unsigned long long)as_hist_quantile(&st->lat, 0.999),
	    (unsigned long long)st->lat.max);
}

/* --stats at every exit once connected: diag_fatal() (a write failed
 * under --on-error fail, a read error) exits from deep in the loop. */
static const struct sink *stats_at_exit;

static void print_stats_at_exit(void)
{
	if (stats_at_exit != NULL)
		print_stats(stats_at_exit);
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct sink s;
	int rc;

	parse_options(&o, argc, argv);
	s.o = &o;
	if (keyspec_compile(&s.ks, o.as.key) < 0)
		diag_usage("--key: not a list of field paths: '%s'", o.as.key);
	compile_bins(&s);
	fieldseen_init(&s.seen, o.strict);
	fieldseen_add_keys(&s.seen, &s.ks, "--key", o.as.key);
	s.quick = quick_possible(&s);
	for (size_t i = 0; i < s.n_bins; i++)
		fieldseen_add(&s.seen, &s.bins[i].path, "--bins", o.bins);
	if (lineio_open(&s.lr, o.input ? o.input : "-") < 0)
		diag_fatal("cannot open '%s': %s", o.input, strerror(errno));
	lineio_set_metrics(&s.lr, o.c.metrics);
	rejects_init(&s.rj, &o.c, NULL);
	/* Registered before connecting: a checkpoint the stages before it
	 * take while it connects (or fails to) is not complete without it,
	 * or a restart would resume after records it never wrote. */
	o.c.ckpt_backend = &kafka_ckpt_backend;
	stage_init(&s.st, &o.c, (struct stage_hooks){ snapshot, restore, &s });
	s.step = (struct sink_step){ &s.st, &s.rj, &s.lr,
	    { read_line, on_control, on_data, &s, on_quick }, 0, 0 };
	connect_cluster(&s);
	metrics_register(&s, o.c.metrics);
	if (o.c.stats) {
		stats_at_exit = &s;
		atexit(print_stats_at_exit);
	}
	run(&s);
	/* What came was written (upserts a restart repeats alike), but the
	 * pipeline did not end: say so in the exit status. */
	rc = !sig_stop_requested() && !stage_input_complete(&s.st) ? 1 : 0;
	/* The end's checkpoint, once every write is acknowledged. */
	if (rc == 0 && !sig_stop_requested())
		stage_emit_end(&s.st, NULL);
	if (o.c.stats)
		print_stats(&s);
	stats_at_exit = NULL;
	stage_finish(&s.st);
	if (fieldseen_finish(&s.seen) != 0)
		rc = 1;
	rejects_finish(&s.rj);
	as_registry_close(&s.reg);
	as_exec_free(s.ex);
	as_cluster_close(&s.cl);
	buf_free(&s.bin);
	lineio_close(&s.lr);
	as_key_free(&s.key);
	buf_free(&s.val);
	buf_free(&s.exp);
	return rc;
}
