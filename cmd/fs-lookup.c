/*
 * fs-lookup - the lookup join: each NDJSON record gets the current
 * features of its key from Aerospike, read in batches.  See fs-lookup(1).
 *
 * Records are written in input order.  Each data record waits in a
 * window (a ring, --window records) for the read of its key; the reads
 * go to the executor (as_exec.h), which gathers ready reads for one node
 * into batch requests of up to --batch rows, --in-flight requests on the
 * wire.  Records of a key whose read is still out share that read.
 * Control records wait in the ring too and leave it in their place:
 * a watermark or barrier is written after every record before it, a
 * barrier's checkpoint taken once they are.
 *
 * The features are the bins as fs-get prints them (one decoder, one
 * serialiser), spliced onto the input record's bytes: under --into
 * FIELD as an object, or each bin of --bins as its own member
 * (--prefix).  A key with no record, or a record older than --max-age,
 * gets null and is counted; a read that fails is rejected like a bad
 * line (--on-error).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "aerospike/aerospike.h"
#include "hashtab.h"
#include "opt.h"
#include "recproj.h"
#include "reject.h"
#include "stage.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-lookup -n NAMESPACE --key FIELDS [--hosts HOSTS] [-s SET]\n"
"                 [options] [FILE]\n"
"Joins each NDJSON record with the Aerospike record of its key.\n";

/* --age-from: where a record's age comes from. */
enum age_from { AGE_TIME_BIN, AGE_LAST_UPDATE };
static const char *const age_from_words[] = { "time-bin", "last-update",
	NULL };

/* --as-of: the time a record's age is taken at. */
enum as_of { AS_OF_NOW, AS_OF_EVENT };
static const char *const as_of_words[] = { "now", "event", NULL };

struct opts {
	struct fs_common c;
	struct as_opts as;
	const char *bins, *into, *prefix, *time_bin;
	enum age_from age_from;
	enum as_of as_of;
	int64_t max_age_ms;     /* 0: no limit */
	int64_t batch, in_flight, window, retries;
	const char *input;
};

/* One read, shared by the records of its key that wait for it. */
struct lookup {
	uint8_t digest[AS_DIGEST_SIZE];
	unsigned refs;          /* records holding it */
	bool done, in_table;
	int rc;                 /* the server's code, or AS_EXEC_E* */
	json_t *bins;           /* AS_OK, --prefix: the bins read */
	char *text;             /* AS_OK, --into: the bins as JSON text */
	size_t tlen;
	bool has_ftime;         /* the time bin held an integer */
	int64_t ftime;          /* its value, epoch ms */
	int64_t answered_ms;    /* wall clock at the answer (--as-of now) */
	char *why;              /* rc < 0: what happened last */
};

/* A line in the window: a data record and its read, or a control
 * record. */
struct slot {
	struct lookup *lk;      /* NULL: a control record */
	struct ctl ctl;
	int64_t ets;            /* --as-of event: the record's event time */
	uint64_t lineno;
	char *line;
	size_t len;
};

struct lk {
	struct opts *o;
	struct out out;
	struct lineio lr;
	struct rejects rj;
	struct stage st;
	struct keyspec ks;
	struct recproj *rp;     /* the key and event time of each line */
	struct as_cluster cl;
	struct as_exec *ex;
	struct as_key key;
	struct hashtab out_reads;   /* reads not yet answered, by digest */
	struct slot *ring;
	size_t cap, head, n;
	char **bin_names;       /* --bins */
	size_t n_bins;
	bool time_bin_added;    /* read for --max-age, not asked for */
	char **members;         /* --prefix: the output member of each bin */
	size_t time_bin_len;
	struct buf exp, line, text;
	char *password;
	/* counts, for the summary and --stats */
	uint64_t records, found, missing, stale, failed, controls, reads;
	/* --metrics-*: NULL without */
	struct metric *m_found, *m_missing, *m_stale, *m_failed, *m_reads,
	    *m_requests;
};

/* --- options ---------------------------------------------------------- */

static void check_options(struct opts *o, int argc, char **argv, int first)
{
	const struct as_opts *a = &o->as;

	if (first < argc - 1)
		diag_usage("one input file at most");
	o->input = first < argc ? argv[first] : NULL;
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
	if (o->prefix != NULL && o->into != NULL)
		diag_usage("--into and --prefix: one or the other");
	if (o->prefix != NULL && o->bins == NULL)
		diag_usage("--prefix needs --bins: the members to write, null "
		    "when a key has no record");
	if (o->into != NULL && o->into[0] == '\0')
		diag_usage("--into: an empty member name");
	if (o->into == NULL && o->prefix == NULL)
		o->into = "features";
	if (o->max_age_ms == 0 && (o->time_bin != NULL ||
	    o->age_from != AGE_TIME_BIN || o->as_of != AS_OF_NOW))
		diag_usage("--time-bin, --age-from and --as-of need --max-age");
	if (o->age_from == AGE_LAST_UPDATE && o->time_bin != NULL)
		diag_usage("--time-bin: the age comes from the last update "
		    "(--age-from last-update)");
	if (o->age_from == AGE_LAST_UPDATE && o->as_of == AS_OF_EVENT)
		diag_usage("--as-of event needs --age-from time-bin: the "
		    "server compares the last update with its own clock");
	as_opts_check(a);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	struct as_opts *a = &o->as;
	const struct opt opts[] = {
		OPT_GROUP_AEROSPIKE(a,
		    "the input records' key field(s), as\n"
		    "fs-sink-aerospike was given them"),
		OPT_STRING('B', "bins", &o->bins, "LIST",
		    "bins to read, BIN,... (default: all)"),
		OPT_STRING(0, "into", &o->into, "FIELD",
		    "the features as one object member (default\n"
		    "features)"),
		OPT_STRING(0, "prefix", &o->prefix, "PREFIX",
		    "each bin of --bins as its own member, PREFIX\n"
		    "before its name"),
		OPT_DURATION(0, "max-age", &o->max_age_ms, 1,
		    INT64_C(315360000000), "DURATION",
		    "features older than this are null (counted)"),
		OPT_POLICY(0, "age-from", &o->age_from, age_from_words, "WHAT",
		    "time-bin (default: the event time the sink\n"
		    "keeps) or last-update (the server's clock)"),
		OPT_STRING(0, "time-bin", &o->time_bin, "BIN",
		    "where the features' event time is (default:\n"
		    "the time field's name, as fs-sink-aerospike)"),
		OPT_POLICY(0, "as-of", &o->as_of, as_of_words, "WHEN",
		    "ages at now (default) or at each record's\n"
		    "event time (event)"),
		OPT_INT(0, "batch", &o->batch, 1, 5000, "N",
		    "keys per batch read (default 256)"),
		OPT_INT(0, "in-flight", &o->in_flight, 1, 256, "N",
		    "requests on the wire at once (default 4)"),
		OPT_INT(0, "window", &o->window, 1, 1048576, "N",
		    "records waiting for their read (default 8192)"),
		OPT_AEROSPIKE_TIMEOUT(a),
		OPT_INT(0, "retries", &o->retries, 0, 100, "N",
		    "retries of a read (default 2)"),
		OPT_GROUP_AEROSPIKE_LOGIN(a),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};

	fs_common_init(&o->c, argc, argv);
	as_opts_init(a);
	o->batch = 256;
	o->in_flight = 4;
	o->window = 8192;
	o->retries = 2;
	int first = opt_parse(usage_text, opts, 0, argc, argv);
	fs_common_finish(&o->c);
	check_options(o, argc, argv, first);
}

/* --bins and --time-bin as the bins to read and the members to write. */
static void compile_bins(struct lk *s)
{
	struct opts *o = s->o;

	if (o->max_age_ms > 0 && o->age_from == AGE_TIME_BIN) {
		o->time_bin = as_time_bin(o->time_bin, &o->c.time_path);
		s->time_bin_len = strlen(o->time_bin);
	}
	if (o->bins == NULL)
		return;
	char *copy = xstrdup(o->bins), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t;
	    t = strtok_r(NULL, ",", &save)) {
		as_check_bin_name("--bins", t, strlen(t));
		s->bin_names = xrealloc(s->bin_names,
		    (s->n_bins + 1) * sizeof *s->bin_names);
		s->bin_names[s->n_bins++] = xstrdup(t);
	}
	free(copy);
	if (s->n_bins == 0)
		diag_usage("--bins: no bins in '%s'", o->bins);
	if (o->prefix != NULL) {
		s->members = xcalloc(s->n_bins, sizeof *s->members);
		for (size_t i = 0; i < s->n_bins; i++) {
			struct buf m = BUF_INIT;
			buf_appends(&m, o->prefix);
			buf_appends(&m, s->bin_names[i]);
			buf_appendc(&m, '\0');
			s->members[i] = m.data;
		}
	}
	if (o->time_bin != NULL) {
		s->time_bin_added = true;
		for (size_t i = 0; i < s->n_bins; i++)
			if (strcmp(s->bin_names[i], o->time_bin) == 0)
				s->time_bin_added = false;
	}
}

/* --- reads ------------------------------------------------------------ */

static void lookup_unref(struct lookup *l)
{
	if (--l->refs > 0)
		return;
	json_decref(l->bins);
	free(l->text);
	free(l->why);
	free(l);
}

/* The executor's answer to one read. */
static void done(void *ctx, struct as_cmd *c, int rc, const struct as_msg *m,
    const char *last)
{
	struct lk *s = ctx;
	struct lookup *l = c->udata;
	const struct opts *o = s->o;

	c->udata = NULL;
	if (l->in_table) {
		hashtab_del(&s->out_reads, (const char *)l->digest,
		    AS_DIGEST_SIZE);
		l->in_table = false;
	}
	l->done = true;
	l->rc = rc;
	l->answered_ms = etime_now_ms();
	if (rc < 0) {
		l->why = xstrdup(last ? last : "no answer");
		return;
	}
	if (rc != AS_OK)
		return;
	json_t *bins = json_object();
	const uint8_t *cur = m->ops;
	for (unsigned i = 0; i < m->n_ops; i++) {
		struct as_op_view op;
		char vwhy[AS_VALUE_ERR_MAX];
		as_msg_op_at(&cur, &op);
		json_t *v = as_value_decode(op.ptype, op.val, op.vlen, vwhy);
		if (v == NULL) {
			json_decref(bins);
			l->rc = AS_EXEC_EPROTO;
			l->why = xmalloc(AS_VALUE_ERR_MAX + 32);
			snprintf(l->why, AS_VALUE_ERR_MAX + 32,
			    "bad bin value: %s", vwhy);
			return;
		}
		json_object_setn_new(bins, op.name, op.nlen, v);
	}
	if (o->time_bin != NULL) {
		json_t *t = json_object_getn(bins, o->time_bin,
		    s->time_bin_len);
		if (json_is_integer(t)) {
			l->has_ftime = true;
			l->ftime = json_integer_value(t);
		}
		if (s->time_bin_added)
			json_object_deln(bins, o->time_bin, s->time_bin_len);
	}
	if (s->members != NULL) {
		l->bins = bins;
		return;
	}
	/* Dumped once for every record of the key, and the values freed
	 * while their memory is hot. */
	buf_reset(&s->text);
	rec_dump(&s->text, bins);
	json_decref(bins);
	l->text = xmalloc(s->text.len);
	memcpy(l->text, s->text.data, s->text.len);
	l->tlen = s->text.len;
}

/* Submits the read of s->key. */
static struct lookup *read_key(struct lk *s)
{
	const struct opts *o = s->o;
	struct lookup *l = xcalloc(1, sizeof *l);
	memcpy(l->digest, s->key.digest, AS_DIGEST_SIZE);
	l->refs = 1;            /* the record's: done() comes before the
	                           record leaves the window */
	struct as_cmd *c = as_exec_cmd(s->ex);
	memcpy(c->digest, l->digest, AS_DIGEST_SIZE);
	c->hdr.info1 = AS_INFO1_READ;
	if (s->n_bins == 0)
		c->hdr.info1 |= AS_INFO1_GET_ALL;
	if (o->max_age_ms > 0 && o->age_from == AGE_LAST_UPDATE) {
		buf_reset(&s->exp);
		as_exp_since_update_le(&s->exp, o->max_age_ms);
		as_cmd_field(c, AS_FIELD_FILTER_EXP, s->exp.data, s->exp.len);
	}
	for (size_t i = 0; i < s->n_bins; i++)
		as_cmd_op(c, AS_OP_READ, AS_PT_NULL, s->bin_names[i],
		    strlen(s->bin_names[i]), NULL, 0);
	if (s->time_bin_added)
		as_cmd_op(c, AS_OP_READ, AS_PT_NULL, o->time_bin,
		    s->time_bin_len, NULL, 0);
	c->udata = l;
	struct hashtab_slot *hs = hashtab_put(&s->out_reads,
	    (const char *)l->digest, AS_DIGEST_SIZE);
	hs->key = (const char *)l->digest;
	hs->val = l;
	l->in_table = true;
	s->reads++;
	as_exec_submit(s->ex, c);
	return l;
}

/* The read of s->key: the one out for it already, or a new one. */
static struct lookup *lookup_key(struct lk *s)
{
	struct hashtab_slot *hs = hashtab_get(&s->out_reads,
	    (const char *)s->key.digest, AS_DIGEST_SIZE);
	if (hs != NULL) {
		struct lookup *l = hs->val;
		l->refs++;
		return l;
	}
	return read_key(s);
}

/* --- the window ------------------------------------------------------- */

static struct slot *slot_push(struct lk *s, const char *line, size_t len)
{
	struct slot *sl = &s->ring[(s->head + s->n) % s->cap];
	s->n++;
	memset(sl, 0, sizeof *sl);
	sl->lineno = s->lr.lineno;
	sl->line = xmalloc(len ? len : 1);
	memcpy(sl->line, line, len);
	sl->len = len;
	return sl;
}

/* Is the age of l's features, for this record, over --max-age? */
static bool is_stale(const struct lk *s, const struct slot *sl,
    const struct lookup *l)
{
	const struct opts *o = s->o;

	if (o->max_age_ms == 0 || o->age_from != AGE_TIME_BIN)
		return false;   /* last-update: the server said (27) */
	if (!l->has_ftime)
		return true;    /* no time, no proof of freshness */
	int64_t at = o->as_of == AS_OF_EVENT ? sl->ets : l->answered_ms;
	return at - l->ftime > o->max_age_ms;
}

/* Writes sl's record with l's features, or with null (l NULL). */
static void write_record(struct lk *s, const struct slot *sl,
    const struct lookup *l)
{
	struct buf *b = &s->line;
	const json_t *bins = l ? l->bins : NULL;

	buf_reset(b);
	rec_splice_begin(b, sl->line, sl->len);
	if (s->members == NULL) {
		if (l != NULL)
			rec_splice_raw(b, s->o->into, l->text, l->tlen);
		else
			rec_splice_value(b, s->o->into, json_null());
	} else {
		for (size_t i = 0; i < s->n_bins; i++) {
			json_t *v = bins ? json_object_get(bins,
			    s->bin_names[i]) : NULL;
			rec_splice_value(b, s->members[i], v ? v : json_null());
		}
	}
	rec_splice_end(b);
	out_line(&s->out, b->data, b->len);
}

static void write_failed(struct lk *s, const struct slot *sl,
    const struct lookup *l)
{
	char why[512], where[64];

	if (l->rc < 0)
		snprintf(why, sizeof why, "aerospike: %s",
		    l->why ? l->why : "no answer");
	else
		snprintf(why, sizeof why, "aerospike: %s (%d)",
		    as_result_str(l->rc), l->rc);
	snprintf(where, sizeof where, "%s:%" PRIu64, s->lr.name, sl->lineno);
	s->failed++;
	reject(&s->rj, where, why, sl->line, sl->len);
}

/* Writes the head slot and drops it from the window. */
static void slot_write(struct lk *s, struct slot *sl)
{
	struct lookup *l = sl->lk;

	if (l != NULL)
		stage_data(&s->st);     /* in output order: a restore first */
	if (l == NULL) {
		char why[REC_ERR_MAX];
		switch (stage_control(&s->st, &sl->ctl, &s->out, why)) {
		case STAGE_HANDLED:
			break;
		case STAGE_INVALID: {
			char where[64];
			snprintf(where, sizeof where, "%s:%" PRIu64, s->lr.name,
			    sl->lineno);
			reject(&s->rj, where, why, sl->line, sl->len);
			break;
		}
		case STAGE_PASS:
			out_line(&s->out, sl->line, sl->len);
			break;
		}
	} else if (l->rc == AS_OK && !is_stale(s, sl, l)) {
		s->found++;
		write_record(s, sl, l);
	} else if (l->rc == AS_OK || l->rc == AS_ERR_FILTERED_OUT) {
		s->stale++;
		write_record(s, sl, NULL);
	} else if (l->rc == AS_ERR_NOT_FOUND) {
		s->missing++;
		write_record(s, sl, NULL);
	} else {
		write_failed(s, sl, l);
	}
	if (l != NULL)
		lookup_unref(l);
	free(sl->line);
	s->head = (s->head + 1) % s->cap;
	s->n--;
}

static void metrics_register(struct lk *s, struct metrics *m)
{
	if (m == NULL)
		return;
	s->m_found = metrics_counter(m, "fs_lookup_found_total",
	    "Records written with their key's features.", NULL);
	s->m_missing = metrics_counter(m, "fs_lookup_missing_total",
	    "Records written with null: no record for the key.", NULL);
	s->m_stale = metrics_counter(m, "fs_lookup_stale_total",
	    "Records written with null: features older than --max-age.",
	    NULL);
	s->m_failed = metrics_counter(m, "fs_lookup_failed_total",
	    "Records rejected: their read failed.", NULL);
	s->m_reads = metrics_counter(m, "fs_lookup_reads_total",
	    "Keys read (records of a key read at once share a read).", NULL);
	s->m_requests = metrics_counter(m, "fs_lookup_requests_total",
	    "Requests sent to the server (batches or single reads).", NULL);
}

static void metrics_publish(struct lk *s)
{
	if (s->m_found == NULL)
		return;
	metric_set_count(s->m_found, s->found);
	metric_set_count(s->m_missing, s->missing);
	metric_set_count(s->m_stale, s->stale);
	metric_set_count(s->m_failed, s->failed);
	metric_set_count(s->m_reads, s->reads);
	metric_set_count(s->m_requests, as_exec_stats(s->ex)->requests);
}

/* Writes the records at the head of the window whose reads are in. */
static void window_flush_ready(struct lk *s)
{
	while (s->n > 0) {
		struct slot *sl = &s->ring[s->head];
		if (sl->lk != NULL && !sl->lk->done)
			break;
		slot_write(s, sl);
	}
	metrics_publish(s);
}

/* Waits for every read and writes the whole window. */
static void window_drain(struct lk *s)
{
	window_flush_ready(s);
	while (s->n > 0) {
		as_exec_poll(s->ex, 1000);
		window_flush_ready(s);
	}
}

/* --- the loop --------------------------------------------------------- */

static void reject_now(struct lk *s, const char *why, const char *line,
    size_t len)
{
	/* Under --on-error fail the output before the bad line is
	 * complete: what the window holds goes out first. */
	if (s->o->c.on_error == ON_ERROR_FAIL)
		window_drain(s);
	reject_line(&s->rj, &s->lr, why, line, len);
}

/*
 * Parses a line once: the projection of the members read (the key, the
 * event time), or the whole line when the projection refuses it, for
 * the reason, or because a string holds \u0000 (accepted, as the sink
 * accepts it: a key passes on by its length).  *ctl says what it is.
 */
static json_t *parse_line(struct lk *s, const char *line, size_t len,
    struct ctl *ctl, char *why)
{
	json_t *obj = recproj_read(s->rp, line, len, ctl, why);

	if (obj != NULL)
		return obj;
	obj = rec_parse_nul(line, len, why);
	if (obj == NULL)
		return NULL;
	ctl->kind = CTL_NONE;
	if (rec_line_maybe_control(line, len))
		ctl->kind = rec_control(obj, ctl, why);
	return obj;
}

static void handle_line(struct lk *s, const char *line, size_t len)
{
	char why[REC_ERR_MAX + 256];
	struct ctl ctl;
	json_t *obj = parse_line(s, line, len, &ctl, why);

	s->records++;
	if (obj == NULL || ctl.kind == CTL_INVALID) {
		json_decref(obj);
		reject_now(s, why, line, len);
		return;
	}
	if (ctl.kind != CTL_NONE) {
		json_decref(obj);
		s->records--;
		s->controls++;
		struct slot *sl = slot_push(s, line, len);
		sl->ctl = ctl;
		return;
	}
	int64_t ets = 0;
	if (s->o->as_of == AS_OF_EVENT) {
		const char *e;
		if (etime_get(&s->o->c.time_path, obj, &ets, &e) < 0) {
			json_decref(obj);
			reject_now(s, e, line, len);
			return;
		}
	}
	if (as_key_from_record(&s->key, &s->ks, s->o->as.key_sep, obj,
	    s->o->as.set, why, sizeof why) < 0) {
		json_decref(obj);
		reject_now(s, why, line, len);
		return;
	}
	json_decref(obj);
	struct lookup *l = lookup_key(s);
	struct slot *sl = slot_push(s, line, len);
	sl->lk = l;
	sl->ets = ets;
}

static void run(struct lk *s)
{
	const char *line;
	size_t len;

	for (;;) {
		if (sig_stop_requested())
			break;
		window_flush_ready(s);
		while (s->n == s->cap) {
			as_exec_poll(s->ex, 1000);
			window_flush_ready(s);
		}
		if (!lineio_has_line(&s->lr) && s->n > 0) {
			/* answers keep coming while the input is quiet */
			while (s->n > 0 && !sig_stop_requested() &&
			    as_exec_wait(s->ex, s->lr.fd, 1000) == 0)
				window_flush_ready(s);
			window_flush_ready(s);
			if (sig_stop_requested())
				break;
		}
		int r = lineio_read(&s->lr, &line, &len);
		if (r == -2)
			continue;
		if (r == 0)
			break;
		if (r < 0)
			diag_fatal("read error: %s: %s", s->lr.name,
			    strerror(s->lr.err));
		handle_line(s, line, len);
	}
	window_drain(s);
}

/* --- checkpoints ------------------------------------------------------ */

static json_t *snapshot(void *ctx, uint64_t id)
{
	struct lk *s = ctx;
	(void)id;
	/* Nothing to keep: the records before the barrier are written. */
	return json_pack("{s:I}", "records", (json_int_t)s->records);
}

static int restore(void *ctx, const json_t *state, uint64_t id)
{
	(void)ctx;
	(void)state;
	(void)id;
	return 0;
}

/* --- set-up ----------------------------------------------------------- */

static void connect_cluster(struct lk *s)
{
	struct opts *o = s->o;
	s->password = as_opts_password(&o->as);
	struct as_cluster_opts co = {
		.hosts = o->as.hosts, .ns = o->as.ns, .user = o->as.user,
		.password = s->password,
		.timeout_ms = o->as.timeout_ms > AS_INFO_TIMEOUT_MS ?
		    o->as.timeout_ms : AS_INFO_TIMEOUT_MS,
		.max_conns = (unsigned)o->in_flight + 4,
	};
	if (as_cluster_open(&s->cl, &co) < 0)
		diag_fatal("aerospike: %s", s->cl.err);
	struct as_exec_opts eo = {
		.ns = o->as.ns, .set = o->as.set,
		.max_in_flight = (unsigned)o->in_flight,
		.max_pending = (unsigned)(2 * o->in_flight * o->batch),
		.batch = (unsigned)o->batch, .pipeline = 1,
		.timeout_ms = (int)o->as.timeout_ms,
		.max_retries = (unsigned)o->retries, .backoff_ms = 5,
	};
	s->ex = as_exec_new(&s->cl, &eo, done, s);
}

static void print_summary(const struct lk *s)
{
	const struct opts *o = s->o;

	if (s->missing > 0)
		diag_warn("%" PRIu64 " record%s without features: key not "
		    "found", s->missing, s->missing == 1 ? "" : "s");
	if (s->stale > 0)
		diag_warn("%" PRIu64 " record%s without features: older than "
		    "--max-age", s->stale, s->stale == 1 ? "" : "s");
	if (!o->c.stats)
		return;
	const struct as_exec_stats *st = as_exec_stats(s->ex);
	diag_warn("stats: %" PRIu64 " records, %" PRIu64 " found, %" PRIu64
	    " missing, %" PRIu64 " stale, %" PRIu64 " failed, %" PRIu64
	    " control; %" PRIu64 " reads in %" PRIu64 " requests, %" PRIu64
	    " retries, %" PRIu64 " timeouts",
	    s->records, s->found, s->missing, s->stale, s->failed, s->controls,
	    s->reads, st->requests, st->retries, st->timeouts);
}

static void cleanup(struct lk *s)
{
	as_exec_free(s->ex);
	as_cluster_close(&s->cl);
	lineio_close(&s->lr);
	as_key_free(&s->key);
	hashtab_free(&s->out_reads);
	recproj_free(s->rp);
	keyspec_free(&s->ks);
	for (size_t i = 0; i < s->n_bins; i++) {
		free(s->bin_names[i]);
		if (s->members)
			free(s->members[i]);
	}
	free(s->bin_names);
	free(s->members);
	free(s->ring);
	buf_free(&s->exp);
	buf_free(&s->line);
	buf_free(&s->text);
	free(s->password);
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct lk s;
	int rc;

	parse_options(&o, argc, argv);
	s.o = &o;
	if (keyspec_compile(&s.ks, o.as.key) < 0)
		diag_usage("--key: not a list of field paths: '%s'", o.as.key);
	compile_bins(&s);
	s.rp = recproj_new();
	for (size_t i = 0; i < s.ks.n; i++)
		recproj_keep(s.rp, &s.ks.paths[i]);
	if (o.as_of == AS_OF_EVENT)
		recproj_keep(s.rp, &o.c.time_path);
	out_init(&s.out, 1, "stdout");
	if (lineio_open(&s.lr, o.input ? o.input : "-") < 0)
		diag_fatal("cannot open '%s': %s", o.input, strerror(errno));
	lineio_set_flush_hook(&s.lr, &s.out);
	rejects_init(&s.rj, &o.c, &s.out);
	stage_init(&s.st, &o.c, (struct stage_hooks){ snapshot, restore, &s });
	hashtab_init(&s.out_reads);
	s.cap = (size_t)o.window;
	s.ring = xcalloc(s.cap, sizeof *s.ring);
	connect_cluster(&s);
	metrics_register(&s, o.c.metrics);
	run(&s);
	rc = !sig_stop_requested() && !stage_input_complete(&s.st) ? 1 : 0;
	if (rc == 0 && !sig_stop_requested())
		stage_emit_end(&s.st, &s.out);
	print_summary(&s);
	stage_finish(&s.st);
	rejects_finish(&s.rj);
	cleanup(&s);
	out_close(&s.out);
	return rc;
}
