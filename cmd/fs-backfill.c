/*
 * fs-backfill - replay archived logs as one NDJSON stream in event-time
 * order, as a live source would have delivered it: the same records,
 * watermarks and checkpoint barriers, so fs-window, fs-join, fs-agg and
 * the sinks run unchanged over history.  See fs-backfill(1).
 *
 * Every record carries a key (event time, input number, byte position
 * after it: bf_heap.h) and comes out in key order, whichever way the
 * order is made: a k-way merge of inputs that are each in order (the
 * default), the same after a bounded reorder buffer per input
 * (--max-disorder), an external sort (--sort), or none (--concat).  The
 * key makes the output the same on every run, makes watermarks exact
 * (the next record's time), and lets a resumed run skip what it had
 * emitted.
 *
 * A checkpoint records, per input, the byte position from which no
 * record has been emitted yet (and its line number), plus the key of
 * the last record emitted; resuming reads each input from there and
 * drops records whose key is not past that last key.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"
#include "backfill/backfill.h"
#include "kafka/kafka.h"
#include "opt.h"
#include "reject.h"
#include "stage.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-backfill [--concat | --max-disorder DURATION | --sort]\n"
"                   [--checkpoint-interval DURATION] [--checkpoint-records N]\n"
"                   [--envelope] [--format FORMAT] [--from TIME]\n"
"                   [--memory SIZE] [--no-progress] [--rate N]\n"
"                   [--schema SPEC] [--speed X] [--tmpdir DIR] [--to TIME]\n"
"                   [--watermark-every DURATION] [--watermarks]\n"
"                   [common options] [FILE | DIR | GLOB ...]\n"
"Replays archived NDJSON or CSV files (plain, gzip or zstd) as one stream\n"
"in event-time order.\n";

enum format { FMT_AUTO, FMT_NDJSON, FMT_CSV, FMT_KAFKA };
static const char *const format_words[] = { "auto", "ndjson", "csv",
	"kafka", NULL };
enum order { ORDER_MERGE, ORDER_REORDER, ORDER_SORT, ORDER_CONCAT };
static const char *const order_name[] = { "merge", "reorder", "sort",
	"concat" };

struct opts {
	struct fs_common c;
	enum format format;
	enum order order;
	bool order_given;       /* --concat, --max-disorder or --sort */
	bool envelope, no_progress, watermarks;
	bool has_from, has_to;
	int64_t from, to;
	int64_t max_disorder, wm_every;
	int64_t ckpt_interval_ms, ckpt_records;
	uint64_t memory;
	const char *tmpdir;
	double rate, speed;
	struct bf_csv_schema schema;
	bool has_schema;
	struct bf_inputs in;
};

/* A record read but not yet emitted, owned (reorder buffer). */
struct held {
	int64_t ts;
	uint64_t start, start_line, end;
	size_t len;
	char data[];
};

/* One input file and the record it offers next. */
struct input {
	uint32_t idx;
	const char *path;
	bool csv;
	bool open, done;
	bool eof;               /* nothing more to read (reorder: drain) */
	struct bf_reader rd;
	/* Where the items taken from the reader end (for checkpoints). */
	uint64_t taken_off, taken_line;
	/* The current record (read, not yet emitted). */
	bool has;
	int64_t ts;
	const char *data;
	size_t len;
	uint64_t start, start_line, end;
	int64_t last_ts;        /* order check: last record kept */
	uint64_t records;
	/* Reorder buffer (--max-disorder). */
	struct bf_heap rb;
	struct held *cur_held;
	int64_t max_seen;
	/* Where to start (a checkpoint), and the display. */
	uint64_t resume_off, resume_line;
	uint64_t raw_done;
};

struct bf {
	struct opts *o;
	struct input *in;
	uint32_t n;
	struct out out;
	struct rejects rej;
	struct source_ckpt sc;
	bool resumed;
	struct bf_key resume_last;
	bool stopped;
	/* emitting */
	uint64_t emitted;
	struct bf_key last;
	bool any;
	int64_t wm_last;
	bool wm_any;
	int64_t pace_t0, pace_ts0;
	bool pace_started;
	/* statistics */
	uint64_t read, out_of_range, controls, skipped_resume;
	uint64_t held_peak;
	struct bf_sort *sort;
	struct bf_progress prog;
	struct bf_progress_file *pf;
	const char *phase;
	int64_t t_start;
	size_t batch_bytes;
};

/* --- options ------------------------------------------------------- */

static void set_order(struct opts *o, enum order ord)
{
	if (o->order_given && o->order != ord)
		diag_usage("--concat, --max-disorder and --sort exclude each "
		    "other");
	o->order = ord;
	o->order_given = true;
}

static void set_concat(void *data, const char *name, const char *arg)
{
	(void)name, (void)arg;
	set_order(data, ORDER_CONCAT);
}

static void set_sort(void *data, const char *name, const char *arg)
{
	(void)name, (void)arg;
	set_order(data, ORDER_SORT);
}

static void set_max_disorder(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	o->max_disorder = opt_duration(name, arg);
	set_order(o, ORDER_REORDER);
}

static void set_from(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	o->from = opt_timestamp(name, arg);
	o->has_from = true;
}

static void set_to(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	o->to = opt_timestamp(name, arg);
	o->has_to = true;
}

static void set_schema(void *data, const char *name, const char *arg)
{
	struct opts *o = data;
	char why[256];

	if (o->has_schema)
		bf_csv_schema_free(&o->schema);
	if (bf_csv_schema_parse(&o->schema, arg, why, sizeof why) < 0)
		diag_usage("%s: %s", name, why);
	o->has_schema = true;
}

/* What the options cannot mean together; the inputs. */
static void check_options(struct opts *o, int argc, char **argv, int first)
{
	char why[256];

	fs_common_finish(&o->c);
	if (o->envelope && o->format != FMT_KAFKA)
		diag_usage("--envelope needs --format kafka");
	if (o->has_schema && o->format != FMT_CSV && o->format != FMT_AUTO)
		diag_usage("--schema is for CSV input");
	if (o->memory != 0 && o->order != ORDER_SORT)
		diag_usage("--memory is for --sort");
	if (o->memory == 0)
		o->memory = 256u << 20;
	if (o->watermarks && o->order == ORDER_CONCAT)
		diag_usage("--watermarks needs an order: not with --concat");
	if (o->has_from && o->has_to && o->from >= o->to)
		diag_usage("--from must be before --to");
	if (first == argc)
		(void)bf_inputs_add(&o->in, "-", why, sizeof why);
	for (int i = first; i < argc; i++)
		if (bf_inputs_add(&o->in, argv[i], why, sizeof why) < 0)
			diag_fatal("%s", why);
	if (o->in.n > UINT32_MAX / 2)
		diag_fatal("too many input files");
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_DURATION(0, "checkpoint-interval", &o->ckpt_interval_ms, 0,
		    INT64_MAX, "DURATION", "barrier interval (default 10s)"),
		OPT_INT(0, "checkpoint-records", &o->ckpt_records, 1,
		    INT64_MAX, "N", "a barrier every N records"),
		OPT_CALLBACK(0, "concat", set_concat, o, NULL,
		    "no ordering: the files one after another"),
		OPT_FLAG(0, "envelope", &o->envelope,
		    "kafka format: emit the whole envelope"),
		OPT_POLICY(0, "format", &o->format, format_words, "FORMAT",
		    "auto (default: .csv names are CSV), ndjson, csv,\n"
		    "or kafka (fs-consume envelopes; emits the value)"),
		OPT_CALLBACK(0, "from", set_from, o, "TIME",
		    "skip records before TIME (epoch ms or RFC 3339)"),
		OPT_CALLBACK(0, "max-disorder", set_max_disorder, o, "DURATION",
		    "reorder each file within DURATION before merging"),
		/* 0: not given (the default is set after) */
		OPT_SIZE(0, "memory", &o->memory, 16u << 20, INT64_C(1) << 44,
		    "SIZE", "--sort memory bound (default 256M; K, M, G)"),
		OPT_FLAG(0, "no-progress", &o->no_progress,
		    "no progress display, even on a terminal"),
		OPT_NUMBER(0, "rate", &o->rate, 0.001, 1e9, "N",
		    "at most N records per second"),
		OPT_CALLBACK(0, "schema", set_schema, o, "SPEC",
		    "CSV column types: name:TYPE,... (string, int,\n"
		    "number, bool); other columns are inferred"),
		OPT_CALLBACK(0, "sort", set_sort, o, NULL,
		    "sort all records (external sort, bounded memory)"),
		OPT_NUMBER(0, "speed", &o->speed, 0.0001, 1e9, "X",
		    "replay at X times the pace of event time"),
		OPT_STRING(0, "tmpdir", &o->tmpdir, "DIR",
		    "--sort temporary files (default $TMPDIR or /tmp)"),
		OPT_CALLBACK(0, "to", set_to, o, "TIME",
		    "stop before TIME (exclusive)"),
		OPT_DURATION(0, "watermark-every", &o->wm_every, 0, INT64_MAX,
		    "DURATION", "event time between watermarks (default 1s)"),
		OPT_FLAG(0, "watermarks", &o->watermarks,
		    "emit exact watermark control records"),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};

	fs_common_init(&o->c, argc, argv);
	o->ckpt_interval_ms = SOURCE_CKPT_INTERVAL_DEFAULT_MS;
	o->wm_every = 1000;
	o->tmpdir = getenv("TMPDIR");
	if (o->tmpdir == NULL || *o->tmpdir == '\0')
		o->tmpdir = "/tmp";
	check_options(o, argc, argv, opt_parse(usage_text, opts, 0, argc,
	    argv));
}

/* --- reading records ------------------------------------------------ */

/* A rejected record: the progress display makes room for the message. */
static void report(struct bf *b, const char *where, const char *why,
    const char *raw, size_t len)
{
	bf_progress_clear(&b->prog);
	reject(&b->rej, where, why, raw, len);
}

static bool is_csv_name(const char *path)
{
	static const char *const ends[] = { ".csv", ".csv.gz", ".csv.zst",
		".csv.zstd", ".CSV" };
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		size_t e = strlen(ends[i]);

		if (n >= e && strcmp(path + n - e, ends[i]) == 0)
			return true;
	}
	return false;
}

static void input_open(struct bf *b, struct input *in)
{
	struct bf_reader_conf conf = {
		.time_path = &b->o->c.time_path,
		.csv = in->csv,
		.kafka = b->o->format == FMT_KAFKA,
		.envelope = b->o->envelope,
		.schema = b->o->has_schema ? &b->o->schema : NULL,
		.batch_bytes = b->batch_bytes,
	};
	char why[600];

	if (bf_reader_open(&in->rd, in->path, &conf, in->resume_off,
	    in->resume_line, why, sizeof why) < 0) {
		out_flush(&b->out);
		bf_progress_clear(&b->prog);
		diag_fatal("%s", why);
	}
	in->open = true;
	in->taken_off = in->resume_off;
	in->taken_line = in->resume_line;
}

static void input_close(struct bf *b, struct input *in)
{
	(void)b;
	if (!in->open)
		return;
	in->raw_done = bf_reader_pos(&in->rd);
	bf_reader_close(&in->rd);
	in->open = false;
	in->done = true;
}

/* Where a record is, for a message: "FILE:LINE", or for CSV "FILE:
 * record N (line L)". */
static void where_of(char *w, size_t n, const struct input *in,
    const struct bf_item *it)
{
	if (it->rec_no > 0)
		snprintf(w, n, "%s: record %" PRIu64 " (line %" PRIu64 ")",
		    in->path, it->rec_no, it->rec_line);
	else
		snprintf(w, n, "%s:%" PRIu64, in->path, it->rec_line);
}

/* Out-of-range, already-emitted and out-of-order records.  1 keep,
 * 0 drop, -1 drop and stop reading this input (past --to, in order). */
static int filter(struct bf *b, struct input *in, const struct bf_item *it)
{
	struct bf_key k = { in->ts, in->idx, in->end };
	const struct opts *o = b->o;
	char why[160], where[600];

	if ((o->has_from && in->ts < o->from) || (o->has_to && in->ts >= o->to)) {
		b->out_of_range++;
		if (o->has_to && in->ts >= o->to && o->order == ORDER_MERGE &&
		    in->ts >= in->last_ts)
			return -1;
		return 0;
	}
	if (b->resumed && bf_key_cmp(&k, &b->resume_last) <= 0) {
		b->skipped_resume++;
		return 0;
	}
	if ((o->order == ORDER_MERGE || o->order == ORDER_REORDER) &&
	    in->ts < in->last_ts) {
		if (o->order == ORDER_MERGE)
			snprintf(why, sizeof why, "out of order: %" PRId64
			    "ms before the previous record (see --max-disorder "
			    "and --sort)", in->last_ts - in->ts);
		else
			snprintf(why, sizeof why, "out of order by more than "
			    "--max-disorder: %" PRId64 "ms before a record "
			    "already emitted", in->last_ts - in->ts);
		where_of(where, sizeof where, in, it);
		report(b, where, why, it->raw, it->rawlen);
		return 0;
	}
	if (o->order == ORDER_MERGE)
		in->last_ts = in->ts;
	return 1;
}

/*
 * Takes the next kept record of in from its reader into its current
 * record, reporting bad input on the way.  Returns 1, or 0 at the end
 * of the input (or when a signal asked to stop).
 */
static int input_read(struct bf *b, struct input *in)
{
	struct bf_item it;
	int r, f;

	for (;;) {
		if (sig_stop_requested()) {
			b->stopped = true;
			return 0;
		}
		r = bf_reader_next(&in->rd, &it);
		if (r == -2)
			continue;
		if (r == 0)
			return 0;
		in->taken_off = it.end;
		in->taken_line = it.line;
		if (!it.file_level) {
			b->read++;
			in->records++;
		}
		switch (it.kind) {
		case BF_ITEM_FATAL:
			out_flush(&b->out);
			bf_progress_clear(&b->prog);
			diag_fatal("%s", it.why);
		case BF_ITEM_CONTROL:
			/* Watermarks, barriers, restores and ends belong to the run
			 * that wrote the archive; other kinds (a window spec)
			 * go on, after what came before them in their file. */
			if (it.ctl_other)
				out_line(&b->out, it.raw, it.rawlen);
			else
				b->controls++;
			continue;
		case BF_ITEM_BAD:
			report(b, it.where, it.why, it.raw, it.rawlen);
			continue;
		case BF_ITEM_RECORD:
			break;
		}
		in->ts = it.ts;
		in->data = it.data;
		in->len = it.len;
		in->start = it.start;
		in->start_line = it.start_line;
		in->end = it.end;
		f = filter(b, in, &it);
		if (f < 0)
			return 0;
		if (f > 0)
			return 1;
	}
}

/* --- ordering ------------------------------------------------------ */

/* Saturating a - b for b >= 0. */
static int64_t sub_sat(int64_t a, int64_t d)
{
	return a < INT64_MIN + d ? INT64_MIN : a - d;
}

/*
 * --max-disorder: the next record of in in time order.  Records are
 * held until the newest time seen is DURATION past them; one that comes
 * later than a record already released is out of order (see filter()).
 */
static int input_next_reordered(struct bf *b, struct input *in)
{
	struct bf_hent e;
	struct held *h;

	free(in->cur_held);
	in->cur_held = NULL;
	for (;;) {
		const struct bf_hent *top = bf_heap_top(&in->rb);

		if (top != NULL && (in->eof ||
		    top->k.ts <= sub_sat(in->max_seen, b->o->max_disorder))) {
			bf_heap_pop(&in->rb, &e);
			h = e.ptr;
			in->cur_held = h;
			in->ts = h->ts;
			in->data = h->data;
			in->len = h->len;
			in->start = h->start;
			in->start_line = h->start_line;
			in->end = h->end;
			in->last_ts = h->ts;
			return 1;
		}
		if (in->eof || b->stopped)
			return 0;
		if (!input_read(b, in)) {
			/* Drain what is held, unless asked to stop. */
			in->eof = !b->stopped;
			continue;
		}
		h = xmalloc(sizeof *h + in->len);
		h->ts = in->ts;
		h->start = in->start;
		h->start_line = in->start_line;
		h->end = in->end;
		h->len = in->len;
		memcpy(h->data, in->data, in->len);
		bf_heap_push(&in->rb, (struct bf_hent){ { in->ts, in->idx,
		    in->end }, h });
		if (in->ts > in->max_seen)
			in->max_seen = in->ts;
		if (in->rb.n > b->held_peak)
			b->held_peak = in->rb.n;
	}
}

/* The next record of in for the merge: 1, or 0 at its end. */
static int input_next(struct bf *b, struct input *in)
{
	int r;

	if (b->o->order == ORDER_REORDER) {
		r = input_next_reordered(b, in);
		in->has = r == 1;
		return r;
	}
	r = input_read(b, in);
	in->has = r == 1;
	return r;
}

/* --- emitting ------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* --rate and --speed: waits until the record's time to go out. */
static void pace(struct bf *b, int64_t ts)
{
	int64_t now = mono_ms(), target;

	if (!b->pace_started) {
		b->pace_started = true;
		b->pace_t0 = now;
		b->pace_ts0 = ts;
	}
	target = b->pace_t0;
	if (b->o->rate > 0) {
		int64_t t = b->pace_t0 + (int64_t)((double)b->emitted * 1000.0 /
		    b->o->rate);

		if (t > target)
			target = t;
	}
	if (b->o->speed > 0 && ts > b->pace_ts0) {
		int64_t t = b->pace_t0 + (int64_t)((double)(ts - b->pace_ts0) /
		    b->o->speed);

		if (t > target)
			target = t;
	}
	if (target <= now)
		return;
	out_flush(&b->out);
	while (target > now && !sig_stop_requested()) {
		int64_t ms = target - now;
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000 };

		nanosleep(&d, NULL);
		now = mono_ms();
	}
}

static void progress(struct bf *b, bool force)
{
	if (!b->prog.on || (!force && !bf_progress_due(&b->prog)))
		return;
	for (uint32_t i = 0; i < b->n; i++) {
		struct input *in = &b->in[i];

		b->pf[i].done = in->open ? bf_reader_pos(&in->rd) :
		    in->raw_done;
		if (in->open && in->rd.f.size)
			b->pf[i].size = in->rd.f.size;
		b->pf[i].records = in->records;
		b->pf[i].active = in->open;
	}
	bf_progress_draw(&b->prog, b->pf, b->n, b->emitted, b->phase);
}

/* Where each input stands for a checkpoint: the first byte of a record
 * not yet emitted (or the read position when none is held). */
static json_t *position(struct bf *b)
{
	json_t *files = json_array(), *state;

	for (uint32_t i = 0; i < b->n; i++) {
		struct input *in = &b->in[i];
		uint64_t off, line;

		if (b->o->order == ORDER_SORT) {
			off = 0;
			line = 0;
		} else if (!in->open) {
			off = in->resume_off;
			line = in->resume_line;
		} else {
			off = in->taken_off;
			line = in->taken_line;
			if (in->has && in->start < off) {
				off = in->start;
				line = in->start_line;
			}
			for (size_t k = 0; k < in->rb.n; k++) {
				struct held *h = in->rb.v[k].ptr;

				if (h->start < off) {
					off = h->start;
					line = h->start_line;
				}
			}
		}
		json_array_append_new(files, json_pack("{s:s,s:I,s:I,s:b}",
		    "path", in->path, "offset", (json_int_t)off, "line",
		    (json_int_t)line, "done", b->o->order != ORDER_SORT &&
		    in->done && !in->has && in->rb.n == 0));
	}
	state = json_pack("{s:i,s:s,s:o,s:I}", "version", 1, "order",
	    order_name[b->o->order], "inputs", files, "emitted",
	    (json_int_t)b->emitted);
	if (b->any)
		json_object_set_new(state, "last", json_pack("[I,I,I]",
		    (json_int_t)b->last.ts, (json_int_t)b->last.src,
		    (json_int_t)b->last.pos));
	return state;
}

/* A barrier, or with end the end of the stream (the last barrier). */
static void barrier(struct bf *b, bool end)
{
	json_t *state = position(b);

	if (end)
		source_ckpt_end(&b->sc, state, &b->out);
	else
		source_ckpt_barrier(&b->sc, state, &b->out);
	json_decref(state);
}

/* Writes one record, after its watermark, and a barrier when due. */
static void emit(struct bf *b, const struct bf_key *k, const char *data,
    size_t len)
{
	if (b->o->rate > 0 || b->o->speed > 0)
		pace(b, k->ts);
	if (b->o->watermarks && (!b->wm_any ||
	    k->ts >= b->wm_last + b->o->wm_every)) {
		/* Exact: every later record has a key after this one. */
		rec_emit_watermark(&b->out, k->ts);
		b->wm_last = k->ts;
		b->wm_any = true;
	}
	out_line(&b->out, data, len);
	b->emitted++;
	b->last = *k;
	b->any = true;
}

/* After emitting: the barrier, when one is due. */
static void after_emit(struct bf *b)
{
	if (source_ckpt_due(&b->sc))
		barrier(b, false);
	if ((b->emitted & 1023) == 0)
		progress(b, false);
}

/* --- the orders ------------------------------------------------------ */

static void run_concat(struct bf *b)
{
	for (uint32_t i = 0; i < b->n && !b->stopped; i++) {
		struct input *in = &b->in[i];

		if (in->done)
			continue;
		input_open(b, in);
		while (input_next(b, in)) {
			struct bf_key k = { in->ts, in->idx, in->end };

			emit(b, &k, in->data, in->len);
			in->has = false;
			after_emit(b);
		}
		if (!b->stopped)
			input_close(b, in);
	}
}

/* Raises the descriptor limit: a merge keeps every input open, and a
 * compressed one takes three descriptors. */
static void raise_fd_limit(uint32_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < (rlim_t)n * 3 + 64) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void run_merge(struct bf *b)
{
	struct bf_heap h = { 0 };
	struct bf_hent top;

	raise_fd_limit(b->n);
	for (uint32_t i = 0; i < b->n && !b->stopped; i++) {
		struct input *in = &b->in[i];

		if (in->done)
			continue;
		input_open(b, in);
		if (input_next(b, in)) {
			struct bf_key k = { in->ts, in->idx, in->end };

			bf_heap_push(&h, (struct bf_hent){ k, in });
		} else if (!b->stopped) {
			input_close(b, in);
		}
	}
	while (!b->stopped && bf_heap_top(&h) != NULL) {
		struct input *in = h.v[0].ptr;

		emit(b, &h.v[0].k, in->data, in->len);
		in->has = false;
		if (input_next(b, in)) {
			struct bf_key k = { in->ts, in->idx, in->end };

			bf_heap_replace_top(&h, (struct bf_hent){ k, in });
		} else {
			bf_heap_pop(&h, &top);
			if (!b->stopped)
				input_close(b, in);
		}
		after_emit(b);
	}
	bf_heap_free(&h);
}

static void run_sort(struct bf *b)
{
	struct bf_key k;
	const char *data;
	size_t len;

	/* Three quarters for the sorter; the rest is the reader's. */
	b->sort = bf_sort_new(b->o->memory / 4 * 3, b->o->tmpdir);
	b->phase = "reading";
	for (uint32_t i = 0; i < b->n && !b->stopped; i++) {
		struct input *in = &b->in[i];

		input_open(b, in);
		while (input_read(b, in)) {
			k.ts = in->ts;
			k.src = in->idx;
			k.pos = in->end;
			bf_sort_add(b->sort, &k, in->data, in->len);
			if ((in->records & 1023) == 0)
				progress(b, false);
		}
		input_close(b, in);
	}
	if (b->stopped)
		return;
	b->phase = "merging";
	bf_sort_finish(b->sort);
	while (!b->stopped && bf_sort_next(b->sort, &k, &data, &len)) {
		emit(b, &k, data, len);
		after_emit(b);
		if (sig_stop_requested())
			b->stopped = true;
	}
}

/* --- checkpoints ------------------------------------------------------ */

static void resume(struct bf *b, const json_t *state)
{
	const json_t *files = json_object_get(state, "inputs");
	const json_t *last = json_object_get(state, "last");
	const char *ord = json_string_value(json_object_get(state, "order"));

	if (!json_is_array(files) || ord == NULL)
		diag_fatal("checkpoint state of this stage is not fs-backfill's");
	if (strcmp(ord, order_name[b->o->order]) != 0)
		diag_fatal("the checkpoint was taken with order '%s', not '%s'",
		    ord, order_name[b->o->order]);
	if (json_array_size(files) != b->n)
		diag_fatal("the checkpoint was taken over %zu input files, not "
		    "%" PRIu32, json_array_size(files), b->n);
	for (uint32_t i = 0; i < b->n; i++) {
		const json_t *f = json_array_get(files, i);
		const char *p = json_string_value(json_object_get(f, "path"));
		json_int_t off = json_integer_value(json_object_get(f, "offset"));
		json_int_t line = json_integer_value(json_object_get(f, "line"));

		if (p == NULL || strcmp(p, b->in[i].path) != 0)
			diag_fatal("the checkpoint was taken over other input "
			    "files: '%s', not '%s'", p ? p : "?", b->in[i].path);
		b->in[i].resume_off = off > 0 ? (uint64_t)off : 0;
		b->in[i].resume_line = line > 0 ? (uint64_t)line : 0;
		b->in[i].done = json_is_true(json_object_get(f, "done"));
	}
	if (json_is_array(last) && json_array_size(last) == 3) {
		b->resumed = true;
		b->resume_last.ts = json_integer_value(json_array_get(last, 0));
		b->resume_last.src = (uint64_t)json_integer_value(
		    json_array_get(last, 1));
		b->resume_last.pos = (uint64_t)json_integer_value(
		    json_array_get(last, 2));
	}
}

/* --- main ------------------------------------------------------------ */

static void setup(struct bf *b, struct opts *o)
{
	json_t *state;
	uint32_t n_open;

	memset(b, 0, sizeof *b);
	b->o = o;
	b->n = (uint32_t)o->in.n;
	b->in = xcalloc(b->n ? b->n : 1, sizeof *b->in);
	b->pf = xcalloc(b->n ? b->n : 1, sizeof *b->pf);
	for (uint32_t i = 0; i < b->n; i++) {
		struct input *in = &b->in[i];

		in->idx = i;
		in->path = o->in.paths[i];
		in->csv = o->format == FMT_CSV ||
		    (o->format == FMT_AUTO && is_csv_name(in->path));
		in->last_ts = INT64_MIN;
		in->max_seen = INT64_MIN;
		b->pf[i].name = in->path;
	}
	/* A merge keeps every reader busy at once: share 32 MiB of
	 * batches among them (16 KiB to 256 KiB each). */
	n_open = o->order == ORDER_MERGE || o->order == ORDER_REORDER ? b->n : 1;
	b->batch_bytes = (32u << 20) / (n_open ? n_open : 1);
	if (b->batch_bytes > (256u << 10))
		b->batch_bytes = 256u << 10;
	if (b->batch_bytes < (16u << 10))
		b->batch_bytes = 16u << 10;
	json_object_seed(0);    /* before any reader thread parses */
	out_init(&b->out, 1, "stdout");
	rejects_init(&b->rej, &o->c, &b->out);
	b->t_start = etime_now_ms();
	o->c.ckpt_backend = &kafka_ckpt_backend;
	state = source_ckpt_begin(&b->sc, &o->c, o->ckpt_interval_ms,
	    (uint64_t)o->ckpt_records, &b->out);
	if (state != NULL) {
		resume(b, state);
		json_decref(state);
	}
	bf_progress_init(&b->prog, !o->no_progress && isatty(2) &&
	    diag_verbosity() >= DIAG_NORMAL);
	/* -v's progress line where the display is not drawn. */
	out_set_progress(&b->out, !o->no_progress && !b->prog.on);
}

static void print_stats(struct bf *b)
{
	struct rusage ru;
	double secs = (double)(etime_now_ms() - b->t_start) / 1000.0;
	uint64_t disk = 0;

	for (uint32_t i = 0; i < b->n; i++)
		disk += b->in[i].raw_done;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "%s: %" PRIu32 " file%s, %" PRIu64 " bytes read; %"
	    PRIu64 " records read, %" PRIu64 " emitted, %" PRIu64
	    " out of --from/--to, %" PRIu64 " rejected, %" PRIu64
	    " control records passed over\n", diag_progname(), b->n,
	    b->n == 1 ? "" : "s", disk, b->read, b->emitted, b->out_of_range,
	    b->rej.count, b->controls);
	if (b->resumed)
		fprintf(stderr, "%s: resumed: %" PRIu64 " records already "
		    "emitted were skipped\n", diag_progname(), b->skipped_resume);
	if (b->o->order == ORDER_REORDER)
		fprintf(stderr, "%s: reorder buffer: at most %" PRIu64
		    " records held\n", diag_progname(), b->held_peak);
	if (b->sort != NULL) {
		struct bf_sort_stats st;

		bf_sort_stats(b->sort, &st);
		fprintf(stderr, "%s: sort: %" PRIu64 " runs spilled (%" PRIu64
		    " bytes), %" PRIu64 " extra merge passes, %" PRIu64
		    " bytes of sort memory at most\n", diag_progname(), st.runs,
		    st.spilled, st.passes, st.mem_peak);
	}
	fprintf(stderr, "%s: %.3f s, %.0f records/s, peak RSS %ld kB\n",
	    diag_progname(), secs, secs > 0 ? (double)b->emitted / secs : 0.0,
	    ru.ru_maxrss);
}

static void finish(struct bf *b)
{
	const struct opts *o = b->o;

	bf_progress_clear(&b->prog);
	if (!b->stopped && o->watermarks && (b->any || o->has_to)) {
		/* Nothing more will come: say so up to --to, or just past
		 * the last record. */
		rec_emit_watermark(&b->out, o->has_to ? o->to : b->last.ts + 1);
	}
	/* The files all read: the end of the stream, its last barrier, so a
	 * later run with the same directory finds the work done.  After a
	 * signal, a last barrier to resume exactly here. */
	if (b->sc.store != NULL && !b->stopped)
		barrier(b, true);
	else if (b->sc.store != NULL &&
	    (b->sc.since > 0 || source_ckpt_last(&b->sc) == 0))
		barrier(b, false);
	if (o->c.stats)
		print_stats(b);
	rejects_finish(&b->rej);
	source_ckpt_finish(&b->sc);
	out_close(&b->out);
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct bf b;

	parse_opts(&o, argc, argv);
	setup(&b, &o);
	switch (o.order) {
	case ORDER_CONCAT:
		run_concat(&b);
		break;
	case ORDER_SORT:
		run_sort(&b);
		break;
	default:
		run_merge(&b);
		break;
	}
	finish(&b);
	for (uint32_t i = 0; i < b.n; i++) {
		input_close(&b, &b.in[i]);
		bf_heap_free(&b.in[i].rb);
		free(b.in[i].cur_held);
	}
	bf_sort_free(b.sort);
	return 0;
}
