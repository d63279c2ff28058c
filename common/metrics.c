/* metrics.c - Prometheus text-format metrics (see metrics.h). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "etime.h"
#include "metrics.h"
#include "num.h"
#include "xalloc.h"
#include "banned.h"

enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_AGE, KIND_SUMMARY };

struct metric {
	const char *suffix;     /* of a summary's _sum and _count, else "" */
	char *labels;           /* rendered: tool="..",stage="..",.. */
	enum metric_kind kind;
	_Atomic uint64_t v;     /* a count, a double's bits, or epoch ms */
	atomic_bool set;        /* a gauge or age was set */
};

struct family {
	const char *name, *help;
	enum metric_kind kind;
	struct metric **s;
	size_t n, cap;
};

struct metrics {
	pthread_mutex_t lock;   /* the families and series (not values) */
	char *base;             /* tool="..",stage=".." */
	struct family *f;
	size_t n, cap;
	struct MHD_Daemon *httpd;
	unsigned port;
	/* The textfile writer. */
	char *path;
	int64_t interval_ms;
	bool writer, stopping;
	char *dir;              /* metrics_set_dir(), or NULL */
	pthread_t thread;
	pthread_mutex_t wlock;
	pthread_cond_t wake;
};

struct metrics *metrics_new(const char *tool, const char *stage)
{
	struct metrics *m = xcalloc(1, sizeof *m);
	struct buf b = BUF_INIT;

	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->wlock, NULL);
	pthread_cond_init(&m->wake, NULL);
	buf_appends(&b, "tool=\"");
	metrics_escape_label(&b, tool);
	buf_appends(&b, "\",stage=\"");
	metrics_escape_label(&b, stage);
	buf_appendc(&b, '"');
	buf_appendc(&b, '\0');
	m->base = b.data;
	return m;
}

void metrics_escape_label(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_appends(b, "\\\\");
		else if (*s == '"')
			buf_appends(b, "\\\"");
		else if (*s == '\n')
			buf_appends(b, "\\n");
		else
			buf_appendc(b, *s);
	}
}

/* HELP text escapes only \ and newline. */
static void escape_help(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_appends(b, "\\\\");
		else if (*s == '\n')
			buf_appends(b, "\\n");
		else
			buf_appendc(b, *s);
	}
}

static char *render_labels(const struct metrics *m, const char *const *labels)
{
	struct buf b = BUF_INIT;

	buf_appends(&b, m->base);
	for (; labels != NULL && labels[0] != NULL; labels += 2) {
		buf_appendc(&b, ',');
		buf_appends(&b, labels[0]);
		buf_appends(&b, "=\"");
		metrics_escape_label(&b, labels[1] ? labels[1] : "");
		buf_appendc(&b, '"');
	}
	buf_appendc(&b, '\0');
	return b.data;
}

static struct metric *add(struct metrics *m, enum metric_kind kind,
    const char *name, const char *help, const char *suffix,
    const char *const *labels)
{
	char *l;
	struct family *f = NULL;
	struct metric *s;
	size_t i;

	if (m == NULL)
		return NULL;
	l = render_labels(m, labels);
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->n; i++)
		if (strcmp(m->f[i].name, name) == 0)
			f = &m->f[i];
	if (f == NULL) {
		m->f = xgrow(m->f, &m->cap, m->n + 1, sizeof *m->f);
		f = &m->f[m->n++];
		memset(f, 0, sizeof *f);
		f->name = name;
		f->help = help;
		f->kind = kind;
	} else if (f->kind != kind) {
		diag_fatal("metrics: %s registered with two types", name);
	}
	for (i = 0; i < f->n; i++)
		if (strcmp(f->s[i]->labels, l) == 0 &&
		    strcmp(f->s[i]->suffix, suffix) == 0) {
			s = f->s[i];
			pthread_mutex_unlock(&m->lock);
			free(l);
			return s;
		}
	s = xcalloc(1, sizeof *s);
	s->labels = l;
	s->suffix = suffix;
	s->kind = kind;
	atomic_init(&s->v, 0);
	atomic_init(&s->set, false);
	f->s = xgrow(f->s, &f->cap, f->n + 1, sizeof *f->s);
	f->s[f->n++] = s;
	pthread_mutex_unlock(&m->lock);
	return s;
}

struct metric *metrics_counter(struct metrics *m, const char *name,
    const char *help, const char *const *labels)
{
	return add(m, KIND_COUNTER, name, help, "", labels);
}

struct metric *metrics_gauge(struct metrics *m, const char *name,
    const char *help, const char *const *labels)
{
	return add(m, KIND_GAUGE, name, help, "", labels);
}

struct metric *metrics_age(struct metrics *m, const char *name,
    const char *help, const char *const *labels)
{
	return add(m, KIND_AGE, name, help, "", labels);
}

struct metric *metrics_summary(struct metrics *m, const char *name,
    const char *help, const char *suffix, const char *const *labels)
{
	return add(m, KIND_SUMMARY, name, help, suffix, labels);
}

void metric_add(struct metric *s, uint64_t n)
{
	if (s == NULL)
		return;
	/* One writer: no read-modify-write needed, just an untorn store. */
	atomic_store_explicit(&s->v,
	    atomic_load_explicit(&s->v, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

void metric_set_count(struct metric *s, uint64_t v)
{
	if (s == NULL)
		return;
	atomic_store_explicit(&s->v, v, memory_order_relaxed);
}

void metric_set(struct metric *s, double v)
{
	uint64_t bits;

	if (s == NULL)
		return;
	memcpy(&bits, &v, sizeof bits);
	atomic_store_explicit(&s->v, bits, memory_order_relaxed);
	atomic_store_explicit(&s->set, true, memory_order_release);
}

void metric_set_time(struct metric *s, int64_t ms)
{
	if (s == NULL)
		return;
	atomic_store_explicit(&s->v, (uint64_t)ms, memory_order_relaxed);
	atomic_store_explicit(&s->set, true, memory_order_release);
}

/* A value as the format writes it: Go's float syntax, NaN, +Inf, -Inf. */
static void append_double(struct buf *b, double v)
{
	char s[40];

	if (isnan(v))
		buf_appends(b, "NaN");
	else if (isinf(v))
		buf_appends(b, v > 0 ? "+Inf" : "-Inf");
	else {
		/* The shortest of 15 or 17 digits that reads back as v. */
		snprintf(s, sizeof s, "%.15g", v);
		if (strtod(s, NULL) != v)
			snprintf(s, sizeof s, "%.17g", v);
		buf_appends(b, s);
	}
}

static const char *type_name(enum metric_kind k)
{
	return k == KIND_COUNTER ? "counter" : k == KIND_SUMMARY ? "summary" :
	    "gauge";
}

static void render_own(struct metrics *m, struct buf *b, int64_t now_ms);

void metrics_set_dir(struct metrics *m, const char *dir)
{
	m->dir = xstrdup(dir);
}

/* One family of a merge: its HELP and TYPE lines, then its samples. */
struct mfam {
	char *name;
	struct buf head, samples;
	bool has_help, has_type;
};

static struct mfam *mfam_get(struct mfam **f, size_t *n, size_t *cap,
    const char *name, size_t len)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*f)[i].name) == len &&
		    memcmp((*f)[i].name, name, len) == 0)
			return &(*f)[i];
	*f = xgrow(*f, cap, *n + 1, sizeof **f);
	memset(&(*f)[*n], 0, sizeof **f);
	(*f)[*n].name = xstrndup(name, len);
	return &(*f)[(*n)++];
}

void metrics_merge(struct buf *out, const struct buf *text, size_t n)
{
	struct mfam *f = NULL, *cur;
	size_t nf = 0, cap = 0;

	for (size_t t = 0; t < n; t++) {
		const char *p = text[t].data, *end = p + text[t].len;

		cur = NULL;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *e = nl ? nl : end;
			size_t len = (size_t)(e - p);

			if (len > 7 && (memcmp(p, "# HELP ", 7) == 0 ||
			    memcmp(p, "# TYPE ", 7) == 0)) {
				const char *nm = p + 7;
				const char *sp = memchr(nm, ' ', (size_t)(e - nm));
				bool *seen;

				cur = mfam_get(&f, &nf, &cap, nm,
				    (size_t)((sp ? sp : e) - nm));
				/* The first HELP and the first TYPE only. */
				seen = p[2] == 'T' ? &cur->has_type : &cur->has_help;
				if (!*seen) {
					buf_append(&cur->head, p, len);
					buf_appendc(&cur->head, '\n');
					*seen = true;
				}
			} else if (len > 0 && p[0] != '#') {
				if (cur == NULL)
					cur = mfam_get(&f, &nf, &cap, p,
					    strcspn(p, "{ \n"));
				buf_append(&cur->samples, p, len);
				buf_appendc(&cur->samples, '\n');
			}
			p = e + 1;
		}
	}
	for (size_t i = 0; i < nf; i++) {
		if (f[i].head.len)
			buf_append(out, f[i].head.data, f[i].head.len);
		if (f[i].samples.len)
			buf_append(out, f[i].samples.data, f[i].samples.len);
		free(f[i].name);
		buf_free(&f[i].head);
		buf_free(&f[i].samples);
	}
	free(f);
}

/* Reads dir's *.prom files, each into one more buf of *t. */
static void read_dir(const char *dir, struct buf **t, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		struct buf path = BUF_INIT, *b;
		char chunk[4096];
		size_t got;
		FILE *fp;

		if (l < 6 || strcmp(e->d_name + l - 5, ".prom") != 0)
			continue;
		buf_appends(&path, dir);
		buf_appendc(&path, '/');
		buf_appends(&path, e->d_name);
		buf_appendc(&path, '\0');
		fp = fopen(path.data, "re");
		buf_free(&path);
		if (fp == NULL)
			continue;
		*t = xgrow(*t, cap, *n + 1, sizeof **t);
		b = &(*t)[(*n)++];
		memset(b, 0, sizeof *b);
		while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
			buf_append(b, chunk, got);
		fclose(fp);
	}
	closedir(d);
}

void metrics_render(struct metrics *m, struct buf *b, int64_t now_ms)
{
	struct buf *t;
	size_t n = 1, cap = 4;

	if (m->dir == NULL) {
		render_own(m, b, now_ms);
		return;
	}
	t = xcalloc(cap, sizeof *t);
	render_own(m, &t[0], now_ms);
	read_dir(m->dir, &t, &n, &cap);
	metrics_merge(b, t, n);
	for (size_t i = 0; i < n; i++)
		buf_free(&t[i]);
	free(t);
}

static void render_own(struct metrics *m, struct buf *b, int64_t now_ms)
{
	size_t i, j;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->n; i++) {
		const struct family *f = &m->f[i];

		buf_appends(b, "# HELP ");
		buf_appends(b, f->name);
		buf_appendc(b, ' ');
		escape_help(b, f->help);
		buf_appends(b, "\n# TYPE ");
		buf_appends(b, f->name);
		buf_appendc(b, ' ');
		buf_appends(b, type_name(f->kind));
		buf_appendc(b, '\n');
		for (j = 0; j < f->n; j++) {
			const struct metric *s = f->s[j];
			uint64_t v;
			double d;

			if (s->kind != KIND_COUNTER &&
			    !atomic_load_explicit(&s->set, memory_order_acquire))
				continue;
			v = atomic_load_explicit(&s->v, memory_order_relaxed);
			buf_appends(b, f->name);
			buf_appends(b, s->suffix);
			buf_appendc(b, '{');
			buf_appends(b, s->labels);
			buf_appends(b, "} ");
			if (s->kind == KIND_COUNTER) {
				buf_append_u64(b, v);
			} else if (s->kind == KIND_AGE) {
				append_double(b, (double)(now_ms - (int64_t)v) / 1000);
			} else {
				memcpy(&d, &v, sizeof d);
				append_double(b, d);
			}
			buf_appendc(b, '\n');
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_len, void **con_cls)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	struct buf b = BUF_INIT;
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		buf_appends(&b, "GET only\n");
	} else if (strcmp(url, "/metrics") != 0 && strcmp(url, "/") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		buf_appends(&b, "not found: try /metrics\n");
	} else {
		metrics_render(m, &b, etime_now_ms());
	}
	r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* "PORT", "ADDR:PORT" or "[ADDR6]:PORT" into ss; 0, or -1 with why. */
static int parse_addr(const char *s, struct sockaddr_storage *ss,
    char *why, size_t n)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	const char *port = colon ? colon + 1 : s;
	size_t hl = colon ? (size_t)(colon - s) : 0;
	uint64_t p;
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (num_parse_u64(port, 65535, &p) < 0) {
		snprintf(why, n, "expected PORT or ADDR:PORT, a port from 0 to 65535: '%s'", s);
		return -1;
	}
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof host) {
		snprintf(why, n, "not an IP address: '%s'", s);
		return -1;
	}
	memcpy(host, colon ? s : "127.0.0.1", colon ? hl : 10);
	host[colon ? hl : 9] = '\0';
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		return 0;
	}
	snprintf(why, n, "not an IP address: '%s'", host);
	return -1;
}

int metrics_check_addr(const char *addr, char *why, size_t n)
{
	struct sockaddr_storage ss;

	return parse_addr(addr, &ss, why, n);
}

/* Threads started from here take no signal (metrics.h). */
static void block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
}

int metrics_serve(struct metrics *m, const char *addr, char *why, size_t n)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	sigset_t old;

	if (parse_addr(addr, &ss, why, n) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	block_signals(&old);
	m->httpd = MHD_start_daemon(flags, 0, NULL, NULL, answer, m,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	    MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (m->httpd == NULL) {
		snprintf(why, n, "cannot serve on '%s': %s", addr,
		    errno ? strerror(errno) : "libmicrohttpd failed to start");
		return -1;
	}
	info = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	return 0;
}

unsigned metrics_port(const struct metrics *m)
{
	return m->port;
}

int metrics_write_file(struct metrics *m, const char *path, char *why,
    size_t n)
{
	struct buf b = BUF_INIT, tmp = BUF_INIT;
	FILE *f;
	int rc = -1;

	buf_appends(&tmp, path);
	buf_appends(&tmp, ".tmp.");
	buf_append_i64(&tmp, (int64_t)getpid());
	buf_appendc(&tmp, '\0');
	metrics_render(m, &b, etime_now_ms());
	f = fopen(tmp.data, "we");
	if (f == NULL) {
		snprintf(why, n, "cannot write '%s': %s", tmp.data, strerror(errno));
		goto out;
	}
	if (fwrite(b.data, 1, b.len, f) != b.len || fflush(f) != 0 ||
	    ferror(f)) {
		snprintf(why, n, "write error: '%s': %s", tmp.data, strerror(errno));
		fclose(f);
		unlink(tmp.data);
		goto out;
	}
	if (fclose(f) != 0) {
		snprintf(why, n, "write error: '%s': %s", tmp.data, strerror(errno));
		unlink(tmp.data);
		goto out;
	}
	if (rename(tmp.data, path) != 0) {
		snprintf(why, n, "cannot rename to '%s': %s", path, strerror(errno));
		unlink(tmp.data);
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	buf_free(&tmp);
	return rc;
}

static void write_or_warn(struct metrics *m)
{
	char why[512];

	if (metrics_write_file(m, m->path, why, sizeof why) < 0)
		diag_warn("metrics: %s", why);
}

static void *writer_main(void *arg)
{
	struct metrics *m = arg;
	struct timespec t;

	pthread_mutex_lock(&m->wlock);
	while (!m->stopping) {
		pthread_mutex_unlock(&m->wlock);
		write_or_warn(m);
		pthread_mutex_lock(&m->wlock);
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += (time_t)(m->interval_ms / 1000);
		t.tv_nsec += (long)(m->interval_ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		while (!m->stopping &&
		    pthread_cond_timedwait(&m->wake, &m->wlock, &t) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->wlock);
	write_or_warn(m);
	return NULL;
}

int metrics_file_start(struct metrics *m, const char *path,
    int64_t interval_ms, char *why, size_t n)
{
	sigset_t old;
	int rc;

	m->path = xstrdup(path);
	m->interval_ms = interval_ms > 0 ? interval_ms : 1;
	/* The first write here, so a path that cannot be written is known
	 * at the start rather than as a warning per interval. */
	if (metrics_write_file(m, path, why, n) < 0)
		return -1;
	block_signals(&old);
	rc = pthread_create(&m->thread, NULL, writer_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(why, n, "cannot start the metrics writer: %s",
		    strerror(rc));
		return -1;
	}
	m->writer = true;
	return 0;
}

void metrics_free(struct metrics *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	if (m->httpd != NULL)
		MHD_stop_daemon(m->httpd);
	if (m->writer) {
		pthread_mutex_lock(&m->wlock);
		m->stopping = true;
		pthread_cond_signal(&m->wake);
		pthread_mutex_unlock(&m->wlock);
		pthread_join(m->thread, NULL);
	}
	for (i = 0; i < m->n; i++) {
		for (j = 0; j < m->f[i].n; j++) {
			free(m->f[i].s[j]->labels);
			free(m->f[i].s[j]);
		}
		free(m->f[i].s);
	}
	free(m->f);
	free(m->base);
	free(m->path);
	free(m->dir);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->wlock);
	pthread_cond_destroy(&m->wake);
	free(m);
}
