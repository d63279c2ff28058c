/* bf_emit.c - records, watermarks, barriers and progress (bf_emit.h). */
#include <inttypes.h>
#include <time.h>

#include <jansson.h>

#include "bf_ckpt.h"
#include "bf_emit.h"
#include "bf_input.h"
#include "rec.h"
#include "sig.h"
#include "banned.h"

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* --rate and --speed: waits until the record's time to go out. */
static void pace(struct bf_replay *b, int64_t ts)
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

void bf_emit_progress(struct bf_replay *b, bool force)
{
	if (!b->prog.on || (!force && !bf_progress_due(&b->prog)))
		return;
	for (uint32_t i = 0; i < b->n; i++) {
		struct bf_input *in = &b->in[i];

		b->pf[i].done = in->open ? bf_reader_pos(&in->rd) :
		    in->raw_done;
		if (in->open && in->rd.f.size)
			b->pf[i].size = in->rd.f.size;
		b->pf[i].records = in->records;
		b->pf[i].active = in->open;
	}
	bf_progress_draw(&b->prog, b->pf, b->n, b->emitted, b->phase);
}

void bf_emit_barrier(struct bf_replay *b, bool end)
{
	json_t *state = bf_ckpt_state(b);

	if (end)
		source_ckpt_end(&b->sc, state, &b->out);
	else
		source_ckpt_barrier(&b->sc, state, &b->out);
	json_decref(state);
}

void bf_emit(struct bf_replay *b, const struct bf_key *k, const char *data,
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

void bf_emit_after(struct bf_replay *b)
{
	if (source_ckpt_due(&b->sc))
		bf_emit_barrier(b, false);
	if ((b->emitted & 1023) == 0)
		bf_emit_progress(b, false);
}
