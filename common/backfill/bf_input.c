/* bf_input.c - one input of a replay and its next record (bf_input.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_input.h"
#include "diag.h"
#include "sig.h"
#include "xalloc.h"
#include "banned.h"

/* --- reading records ------------------------------------------------ */

/* A rejected record: the progress display makes room for the message. */
static void report(struct bf_replay *b, const char *where,
    const char *why, const char *raw, size_t len)
{
	bf_progress_clear(&b->prog);
	reject(&b->rej, where, why, raw, len);
}

void bf_input_open(struct bf_replay *b, struct bf_input *in)
{
	struct bf_reader_conf conf = {
		.time_path = &b->o->c->time_path,
		.csv = in->csv,
		.kafka = b->o->format == BF_FMT_KAFKA,
		.envelope = b->o->envelope,
		.schema = b->o->schema,
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

void bf_input_close(struct bf_replay *b, struct bf_input *in)
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
static void where_of(char *w, size_t n, const struct bf_input *in,
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
static int filter(struct bf_replay *b, struct bf_input *in,
    const struct bf_item *it)
{
	struct bf_key k = { in->ts, in->idx, in->end };
	const struct bf_replay_conf *o = b->o;
	char why[160], where[600];

	if ((o->has_from && in->ts < o->from) || (o->has_to && in->ts >= o->to)) {
		b->out_of_range++;
		if (o->has_to && in->ts >= o->to &&
		    o->order == BF_ORDER_MERGE && in->ts >= in->last_ts)
			return -1;
		return 0;
	}
	if (b->resumed && bf_key_cmp(&k, &b->resume_last) <= 0) {
		b->skipped_resume++;
		return 0;
	}
	if ((o->order == BF_ORDER_MERGE || o->order == BF_ORDER_REORDER) &&
	    in->ts < in->last_ts) {
		if (o->order == BF_ORDER_MERGE)
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
	if (o->order == BF_ORDER_MERGE)
		in->last_ts = in->ts;
	return 1;
}

int bf_input_read(struct bf_replay *b, struct bf_input *in)
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
static int input_next_reordered(struct bf_replay *b, struct bf_input *in)
{
	struct bf_hent e;
	struct bf_held *h;

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
		if (!bf_input_read(b, in)) {
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

int bf_input_next(struct bf_replay *b, struct bf_input *in)
{
	int r;

	if (b->o->order == BF_ORDER_REORDER) {
		r = input_next_reordered(b, in);
		in->has = r == 1;
		return r;
	}
	r = bf_input_read(b, in);
	in->has = r == 1;
	return r;
}
