/* bf_reader.c - a file parsed by a thread of its own (see bf_reader.h). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_reader.h"
#include "buf.h"
#include "diag.h"
#include "etime.h"
#include "rec.h"
#include "recenv.h"
#include "sig.h"
#include "xalloc.h"
#include "banned.h"

#define QUEUE_MAX 4             /* full batches waiting, per reader */
#define BATCH_ITEMS 8192

struct ient {
	enum bf_item_kind kind;
	int64_t ts;
	size_t d_off, d_len, r_off, r_len, w_off, y_off;
	uint64_t start, start_line, end, line;
	uint64_t rec_no, rec_line;
	bool file_level, ctl_other;
};

struct bf_batch {
	struct buf bytes;
	struct ient *e;
	size_t n, cap;
	struct bf_batch *next;
};

/* --- the reading thread -------------------------------------------- */

/* Appends p[0..n) and a NUL; returns where it starts. */
static size_t put(struct bf_batch *bt, const char *p, size_t n)
{
	size_t at = bt->bytes.len;

	buf_append(&bt->bytes, p, n);
	buf_appendc(&bt->bytes, '\0');
	return at;
}

static struct ient *add(struct bf_batch *bt, enum bf_item_kind kind,
    const struct bf_reader *r, uint64_t start, uint64_t start_line)
{
	struct ient *e;

	bt->e = xgrow(bt->e, &bt->cap, bt->n + 1, sizeof *bt->e);
	e = &bt->e[bt->n++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->start = start;
	e->start_line = start_line;
	e->end = r->f.lr.offset;
	e->line = r->f.lr.lineno;
	e->rec_no = r->conf.csv ? r->cr.record : 0;
	e->rec_line = r->conf.csv ? r->cr.line : r->f.lr.lineno;
	return e;
}

static void add_bad(struct bf_batch *bt, enum bf_item_kind kind,
    const struct bf_reader *r, uint64_t start, uint64_t start_line,
    const char *where, const char *why, const char *raw, size_t rawlen)
{
	struct ient *e = add(bt, kind, r, start, start_line);

	e->w_off = put(bt, where, strlen(where));
	e->y_off = put(bt, why, strlen(why));
	e->r_off = put(bt, raw ? raw : "", raw ? rawlen : 0);
	e->r_len = raw ? rawlen : 0;
}

/* Hands a batch over, waiting for room; false when told to stop. */
static bool publish(struct bf_reader *r, struct bf_batch *bt)
{
	bool ok;

	pthread_mutex_lock(&r->mu);
	while (r->nfull >= QUEUE_MAX && !atomic_load(&r->stop))
		pthread_cond_wait(&r->cv, &r->mu);
	ok = !atomic_load(&r->stop);
	bt->next = NULL;
	if (r->full_tail)
		r->full_tail->next = bt;
	else
		r->full = bt;
	r->full_tail = bt;
	r->nfull++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return ok;
}

static struct bf_batch *take_spare(struct bf_reader *r)
{
	struct bf_batch *bt;

	pthread_mutex_lock(&r->mu);
	bt = r->spare;
	if (bt)
		r->spare = bt->next;
	pthread_mutex_unlock(&r->mu);
	if (bt == NULL)
		bt = xcalloc(1, sizeof *bt);
	buf_reset(&bt->bytes);
	bt->n = 0;
	return bt;
}

/* Event time of a kafka envelope's record: the value's time field, else
 * the envelope's timestamp (as fs-consume does for watermarks). */
static int kafka_time(const struct bf_reader *r, const struct rec_env *e,
    const json_t *value, int64_t *ts, const char **why)
{
	if (etime_get(r->conf.time_path, value, ts, why) == 0)
		return 0;
	if (e->has_timestamp) {
		*ts = e->timestamp;
		return 0;
	}
	return -1;
}

/*
 * The value of a kafka envelope as a record, or NULL with why.  The
 * envelope is decoded as fs-produce -E decodes it (recenv.h), and the
 * same values are rejected as fs-consume -V rejects them: the record is
 * the embedded object, or the object the value's bytes (text, base64)
 * hold, then in *own for the caller to free.
 */
static const json_t *kafka_value(const json_t *env, struct rec_env *e,
    json_t **own, char *why, size_t n)
{
	char rwhy[REC_ERR_MAX];
	const json_t *v;
	struct ctl c;

	*own = NULL;
	if (rec_env_decode(env, e, NULL, NULL, rwhy) < 0) {
		snprintf(why, n, "%s", rwhy);
		return NULL;
	}
	if (!e->value_member) {
		snprintf(why, n, "not a kafka envelope: no 'value'");
		return NULL;
	}
	if (!e->has_value) {
		snprintf(why, n, "null value (tombstone)");
		return NULL;
	}
	v = e->value_json;
	if (v == NULL)
		v = *own = rec_parse(e->value->data, e->value->len, rwhy);
	if (v == NULL || !json_is_object(v)) {
		snprintf(why, n, "value is not a JSON object");
		return NULL;
	}
	if (rec_control(v, &c, why) != CTL_NONE) {
		snprintf(why, n, "value is a control record ('@fs')");
		return NULL;
	}
	return v;
}

/*
 * One parsed record (obj, consumed) into the batch: a record, a
 * control record, or a bad one.
 */
static void add_record(struct bf_reader *r, struct bf_batch *bt,
    json_t *obj, const char *raw, size_t len, const char *where,
    uint64_t start, uint64_t start_line)
{
	const char *twhy = NULL;
	char why[REC_ERR_MAX + 64];
	const json_t *timed = obj, *out = NULL;
	const struct buf *out_bytes = NULL;
	json_t *own = NULL;
	struct ctl c;
	struct ient *e;
	int64_t ts;

	if (rec_control(obj, &c, why) != CTL_NONE) {
		e = add(bt, BF_ITEM_CONTROL, r, start, start_line);
		e->r_off = put(bt, raw, len);
		e->r_len = len;
		e->ctl_other = c.kind == CTL_OTHER;
		json_decref(obj);
		return;
	}
	if (r->conf.kafka) {
		struct rec_env env = { .key = &r->env_key, .value = &r->env_value };
		const json_t *v = kafka_value(obj, &env, &own, why, sizeof why);

		if (v == NULL || kafka_time(r, &env, v, &ts, &twhy) < 0) {
			add_bad(bt, BF_ITEM_BAD, r, start, start_line, where,
			    v == NULL ? why : twhy, raw, len);
			json_decref(own);
			json_decref(obj);
			return;
		}
		/* The value as fs-consume -V writes it: its bytes, unless they
		 * span lines (then compact JSON). */
		if (!r->conf.envelope) {
			if (memchr(env.value->data, '\n', env.value->len) ||
			    memchr(env.value->data, '\r', env.value->len))
				out = v;
			else
				out_bytes = env.value;
		}
	} else {
		if (etime_get(r->conf.time_path, timed, &ts, &twhy) < 0) {
			add_bad(bt, BF_ITEM_BAD, r, start, start_line, where,
			    twhy, raw, len);
			json_decref(obj);
			return;
		}
		if (r->conf.csv)
			out = obj;
	}
	e = add(bt, BF_ITEM_RECORD, r, start, start_line);
	e->ts = ts;
	e->r_off = put(bt, raw, len);
	e->r_len = len;
	if (out != NULL) {
		/* Re-serialised: compact JSON, members in their order. */
		e->d_off = bt->bytes.len;
		rec_dump(&bt->bytes, out);
		e->d_len = bt->bytes.len - e->d_off;
		buf_appendc(&bt->bytes, '\0');
	} else if (out_bytes != NULL) {
		e->d_off = put(bt, out_bytes->data, out_bytes->len);
		e->d_len = out_bytes->len;
	} else {
		e->d_off = e->r_off;
		e->d_len = len;
	}
	json_decref(own);
	json_decref(obj);
}

/*
 * How a compressed file's data ended, once it has: a truncated or
 * corrupt one is a bad item naming how far it got.  raw is the line
 * just read (NULL at the end): when it is the unfinished tail, it is the
 * bad item's raw bytes and true is returned (read no further).
 */
static bool check_end(struct bf_reader *r, struct bf_batch *bt,
    bool *checked, const char *raw, size_t len, uint64_t start,
    uint64_t start_line)
{
	char why[BF_MSG_MAX], msg[BF_MSG_MAX + 128];
	uint64_t lines;
	bool cut;

	if (*checked)
		return false;
	if (bf_file_end(&r->f, why, sizeof why) == 0) {
		*checked = true;
		return false;
	}
	cut = raw != NULL && bf_file_cut(&r->f);
	if (raw != NULL && !cut)
		return false;   /* complete lines before the tail: go on */
	*checked = true;
	lines = r->f.lr.lineno - (cut ? 1 : 0);
	snprintf(msg, sizeof msg, "%s; %" PRIu64 " complete line%s before "
	    "it were read", why, lines, lines == 1 ? "" : "s");
	add_bad(bt, BF_ITEM_BAD, r, start, start_line, r->path, msg,
	    cut ? raw : NULL, cut ? len : 0);
	bt->e[bt->n - 1].file_level = true;
	return cut;
}

/* The next line, or CSV record (parsed into *obj), of r: what
 * lineio_read() or bf_csv_next() returns. */
static int read_next(struct bf_reader *r, json_t **obj, char *why, size_t n,
    const char **raw, size_t *len)
{
	if (r->conf.csv)
		return bf_csv_next(&r->cr, obj, why, n, raw, len);
	return lineio_read(&r->f.lr, raw, len);
}

/* A read error: a fatal item about the file; nothing follows it. */
static void add_read_error(struct bf_reader *r, struct bf_batch *bt,
    uint64_t start, uint64_t start_line)
{
	char why[REC_ERR_MAX + 64];

	snprintf(why, sizeof why, "read error: '%s': %s", r->path,
	    strerror(r->f.lr.err));
	add_bad(bt, BF_ITEM_FATAL, r, start, start_line, r->path, why, NULL,
	    0);
	bt->e[bt->n - 1].file_level = true;
}

/*
 * The line or CSV record just read into the batch: a bad item when the
 * CSV reader refused it (rc 3, why says why) or the line is not JSON,
 * else add_record()'s (which consumes obj, the CSV record).
 */
static void add_read(struct bf_reader *r, struct bf_batch *bt, int rc,
    json_t *obj, const char *raw, size_t len, char *why, uint64_t start,
    uint64_t start_line)
{
	char where[600];

	if (r->conf.csv)
		snprintf(where, sizeof where, "%s: record %" PRIu64
		    " (line %" PRIu64 ")", r->path, r->cr.record,
		    r->cr.line);
	else
		snprintf(where, sizeof where, "%s:%" PRIu64, r->path,
		    r->f.lr.lineno);
	if (rc == 3)
		add_bad(bt, BF_ITEM_BAD, r, start, start_line, where, why,
		    raw, len);
	else if (!r->conf.csv &&
	    (obj = rec_parse(raw, len, why)) == NULL)
		add_bad(bt, BF_ITEM_BAD, r, start, start_line, where, why,
		    raw, len);
	else
		add_record(r, bt, obj, raw, len, where, start,
		    start_line);
}

/* Reads and parses until the end of the file, or until told to stop. */
static void read_all(struct bf_reader *r)
{
	struct bf_batch *bt = take_spare(r);
	char why[REC_ERR_MAX + 64];
	struct lineio *lr = &r->f.lr;
	bool checked = false;

	for (;;) {
		uint64_t start = lr->offset, start_line = lr->lineno;
		const char *raw;
		size_t len;
		json_t *obj = NULL;
		int rc = read_next(r, &obj, why, sizeof why, &raw, &len);

		if (rc == -2)
			continue;
		if (rc == -1) {
			add_read_error(r, bt, start, start_line);
			break;
		}
		if (rc == 0) {
			check_end(r, bt, &checked, NULL, 0, start, start_line);
			break;
		}
		if (lr->eof && r->f.threaded && check_end(r, bt, &checked,
		    raw, len, start, start_line)) {
			json_decref(obj);
			break;
		}
		add_read(r, bt, rc, obj, raw, len, why, start, start_line);
		atomic_store(&r->pos, bf_file_raw_pos(&r->f));
		if (bt->bytes.len >= r->conf.batch_bytes ||
		    bt->n >= BATCH_ITEMS) {
			if (!publish(r, bt))
				return;
			bt = take_spare(r);
		}
	}
	atomic_store(&r->pos, r->f.size ? r->f.size : bf_file_raw_pos(&r->f));
	publish(r, bt);
}

static void *reader_main(void *arg)
{
	struct bf_reader *r = arg;

	read_all(r);
	pthread_mutex_lock(&r->mu);
	r->finished = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* --- the caller's side -------------------------------------------- */

int bf_reader_open(struct bf_reader *r, const char *path,
    const struct bf_reader_conf *conf, uint64_t off, uint64_t line,
    char *why, size_t n)
{
	sigset_t block, old;
	int e;

	memset(r, 0, sizeof *r);
	r->path = xstrdup(path);
	r->conf = *conf;
	if (r->conf.batch_bytes == 0)
		r->conf.batch_bytes = 256 * 1024;
	if (bf_file_open(&r->f, path) < 0) {
		snprintf(why, n, "cannot open: '%s': %s", path, strerror(errno));
		free(r->path);
		return -1;
	}
	if (conf->csv) {
		char cwhy[200];

		if (bf_csv_open(&r->cr, &r->f.lr, conf->schema, cwhy,
		    sizeof cwhy) < 0) {
			snprintf(why, n, "%s: %s", path, cwhy);
			bf_file_close(&r->f);
			free(r->path);
			return -1;
		}
		/* The header is read: resume after it at least. */
		if (off < r->f.lr.offset) {
			off = r->f.lr.offset;
			line = r->f.lr.lineno;
		}
	}
	if (bf_file_seek(&r->f, off, line) < 0) {
		snprintf(why, n, "%s: cannot resume at byte %" PRIu64 ": the "
		    "file changed since the checkpoint", path, off);
		if (conf->csv)
			bf_csv_close(&r->cr);
		bf_file_close(&r->f);
		free(r->path);
		return -1;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	e = pthread_create(&r->thread, NULL, reader_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		diag_fatal("cannot start a thread: %s", strerror(e));
	r->started = true;
	return 0;
}

/* The item e of batch bt, as the caller sees it. */
static void item_of(const struct bf_batch *bt, const struct ient *e,
    struct bf_item *it)
{
	const char *b = bt->bytes.data;
	bool bad = e->kind == BF_ITEM_BAD || e->kind == BF_ITEM_FATAL;

	it->kind = e->kind;
	it->ts = e->ts;
	it->data = b + e->d_off;
	it->len = e->d_len;
	it->raw = b + e->r_off;
	it->rawlen = e->r_len;
	it->where = bad ? b + e->w_off : NULL;
	it->why = bad ? b + e->y_off : NULL;
	it->file_level = e->file_level;
	it->ctl_other = e->ctl_other;
	it->rec_no = e->rec_no;
	it->rec_line = e->rec_line;
	it->start = e->start;
	it->start_line = e->start_line;
	it->end = e->end;
	it->line = e->line;
}

/*
 * Hands the batch the caller is done with back to the thread and waits
 * for the next full one: 1 when it is r->cur, 0 when the thread has
 * handed over everything, -2 when a signal asked to stop (the wait
 * looks every 100 ms).
 */
static int next_batch(struct bf_reader *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->cur != NULL) {
		r->cur->next = r->spare;
		r->spare = r->cur;
		r->cur = NULL;
	}
	while (r->full == NULL && !r->finished) {
		struct timespec t;

		if (sig_stop_requested()) {
			pthread_mutex_unlock(&r->mu);
			return -2;
		}
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 100 * 1000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &t);
	}
	if (r->full == NULL) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	r->cur = r->full;
	r->full = r->cur->next;
	r->cur->next = NULL;
	if (r->full == NULL)
		r->full_tail = NULL;
	r->nfull--;
	r->cur_i = 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

int bf_reader_next(struct bf_reader *r, struct bf_item *it)
{
	int got;

	for (;;) {
		if (r->cur != NULL && r->cur_i < r->cur->n) {
			item_of(r->cur, &r->cur->e[r->cur_i++], it);
			return 1;
		}
		got = next_batch(r);
		if (got <= 0)
			return got;
	}
}

uint64_t bf_reader_pos(struct bf_reader *r)
{
	return atomic_load(&r->pos);
}

static void free_list(struct bf_batch *bt)
{
	while (bt != NULL) {
		struct bf_batch *next = bt->next;

		buf_free(&bt->bytes);
		free(bt->e);
		free(bt);
		bt = next;
	}
}

void bf_reader_close(struct bf_reader *r)
{
	struct timespec t;
	bool done;

	if (!r->started)
		return;
	pthread_mutex_lock(&r->mu);
	atomic_store(&r->stop, true);
	pthread_cond_broadcast(&r->cv);
	/* A thread blocked reading an idle pipe (standard input) would hold
	 * the caller up: after a second it is left to finish on its own,
	 * with what it uses (the process is about to end, or stopping). */
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec++;
	while (!r->finished &&
	    pthread_cond_timedwait(&r->cv, &r->mu, &t) == 0)
		;
	done = r->finished;
	pthread_mutex_unlock(&r->mu);
	if (!done) {
		pthread_detach(r->thread);
		r->started = false;
		return;
	}
	pthread_join(r->thread, NULL);
	free_list(r->full);
	free_list(r->spare);
	free_list(r->cur);
	buf_free(&r->env_key);
	buf_free(&r->env_value);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	if (r->conf.csv)
		bf_csv_close(&r->cr);
	bf_file_close(&r->f);
	free(r->path);
	r->started = false;
}
