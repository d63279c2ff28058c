/* bf_replay.c - the orders of a replay, its set-up and end (bf_replay.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "bf_ckpt.h"
#include "bf_emit.h"
#include "bf_input.h"
#include "bf_replay.h"
#include "def.h"
#include "diag.h"
#include "etime.h"
#include "sig.h"
#include "xalloc.h"
#include "banned.h"

/* --- the orders ------------------------------------------------------ */

static void run_concat(struct bf_replay *b)
{
	for (uint32_t i = 0; i < b->n && !b->stopped; i++) {
		struct bf_input *in = &b->in[i];

		if (in->done)
			continue;
		bf_input_open(b, in);
		while (bf_input_next(b, in)) {
			struct bf_key k = { in->ts, in->idx, in->end };

			bf_emit(b, &k, in->data, in->len);
			in->has = false;
			bf_emit_after(b);
		}
		if (!b->stopped)
			bf_input_close(b, in);
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

static void run_merge(struct bf_replay *b)
{
	struct bf_heap h = { 0 };
	struct bf_hent top;

	raise_fd_limit(b->n);
	for (uint32_t i = 0; i < b->n && !b->stopped; i++) {
		struct bf_input *in = &b->in[i];

		if (in->done)
			continue;
		bf_input_open(b, in);
		if (bf_input_next(b, in)) {
			struct bf_key k = { in->ts, in->idx, in->end };

			bf_heap_push(&h, (struct bf_hent){ k, in });
		} else if (!b->stopped) {
			bf_input_close(b, in);
		}
	}
	while (!b->stopped && bf_heap_top(&h) != NULL) {
		struct bf_input *in = h.v[0].ptr;

		bf_emit(b, &h.v[0].k, in->data, in->len);
		in->has = false;
		if (bf_input_next(b, in)) {
			struct bf_key k = { in->ts, in->idx, in->end };

			bf_heap_replace_top(&h, (struct bf_hent){ k, in });
		} else {
			bf_heap_pop(&h, &top);
			if (!b->stopped)
				bf_input_close(b, in);
		}
		bf_emit_after(b);
	}
	bf_heap_free(&h);
}

static void run_sort(struct bf_replay *b)
{
	struct bf_key k;
	const char *data;
	size_t len;

	/* Three quarters for the sorter; the rest is the reader's. */
	b->sort = bf_sort_new(b->o->memory / 4 * 3, b->o->tmpdir);
	b->phase = "reading";
	for (uint32_t i = 0; i < b->n && !b->stopped; i++) {
		struct bf_input *in = &b->in[i];

		bf_input_open(b, in);
		while (bf_input_read(b, in)) {
			k.ts = in->ts;
			k.src = in->idx;
			k.pos = in->end;
			bf_sort_add(b->sort, &k, in->data, in->len);
			if ((in->records & 1023) == 0)
				bf_emit_progress(b, false);
		}
		bf_input_close(b, in);
	}
	if (b->stopped)
		return;
	b->phase = "merging";
	bf_sort_finish(b->sort);
	while (!b->stopped && bf_sort_next(b->sort, &k, &data, &len)) {
		bf_emit(b, &k, data, len);
		bf_emit_after(b);
		if (sig_stop_requested())
			b->stopped = true;
	}
}

void bf_replay_run(struct bf_replay *b)
{
	switch (b->o->order) {
	case BF_ORDER_CONCAT:
		run_concat(b);
		break;
	case BF_ORDER_SORT:
		run_sort(b);
		break;
	default:
		run_merge(b);
		break;
	}
}

/* --- setting up and finishing ---------------------------------------- */

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

void bf_replay_init(struct bf_replay *b, const struct bf_replay_conf *o)
{
	json_t *state;
	uint32_t n_open;

	memset(b, 0, sizeof *b);
	b->o = o;
	b->n = (uint32_t)o->n_paths;
	b->in = xcalloc(b->n ? b->n : 1, sizeof *b->in);
	b->pf = xcalloc(b->n ? b->n : 1, sizeof *b->pf);
	for (uint32_t i = 0; i < b->n; i++) {
		struct bf_input *in = &b->in[i];

		in->idx = i;
		in->path = o->paths[i];
		in->csv = o->format == BF_FMT_CSV ||
		    (o->format == BF_FMT_AUTO && is_csv_name(in->path));
		in->last_ts = INT64_MIN;
		in->max_seen = INT64_MIN;
		b->pf[i].name = in->path;
	}
	/* A merge keeps every reader busy at once: share 32 MiB of
	 * batches among them (16 KiB to 256 KiB each). */
	n_open = o->order == BF_ORDER_MERGE || o->order == BF_ORDER_REORDER ?
	    b->n : 1;
	b->batch_bytes = (32u << 20) / (n_open ? n_open : 1);
	if (b->batch_bytes > (256u << 10))
		b->batch_bytes = 256u << 10;
	if (b->batch_bytes < (16u << 10))
		b->batch_bytes = 16u << 10;
	json_object_seed(0);    /* before any reader thread parses */
	out_init(&b->out, 1, "stdout");
	rejects_init(&b->rej, o->c, &b->out);
	b->t_start = etime_now_ms();
	state = source_ckpt_begin(&b->sc, o->c, o->ckpt_interval_ms,
	    (uint64_t)o->ckpt_records, &b->out);
	if (state != NULL) {
		bf_ckpt_resume(b, state);
		json_decref(state);
	}
	if (o->def != NULL && (o->watermarks || o->c->ckpt_dir != NULL)) {
		struct defrec d;

		def_init(&d, json_incref((json_t *)o->def));
		def_emit(&d, &b->out);
		def_free(&d);
	}
	bf_progress_init(&b->prog, !o->no_progress && isatty(2) &&
	    diag_verbosity() >= DIAG_NORMAL);
	/* -v's progress line where the display is not drawn. */
	out_set_progress(&b->out, !o->no_progress && !b->prog.on);
}

static void print_stats(struct bf_replay *b)
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
	if (b->o->order == BF_ORDER_REORDER)
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

void bf_replay_finish(struct bf_replay *b)
{
	const struct bf_replay_conf *o = b->o;

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
		bf_emit_barrier(b, true);
	else if (b->sc.store != NULL &&
	    (b->sc.since > 0 || source_ckpt_last(&b->sc) == 0))
		bf_emit_barrier(b, false);
	if (o->c->stats)
		print_stats(b);
	rejects_finish(&b->rej);
	source_ckpt_finish(&b->sc);
	out_close(&b->out);
}


void bf_replay_free(struct bf_replay *b)
{
	for (uint32_t i = 0; i < b->n; i++) {
		bf_input_close(b, &b->in[i]);
		bf_heap_free(&b->in[i].rb);
		free(b->in[i].cur_held);
	}
	bf_sort_free(b->sort);
}
