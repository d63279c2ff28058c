/* stage.c - tools' part in the checkpoint protocol (see stage.h). */
#include <inttypes.h>

#include "diag.h"
#include "etime.h"
#include "stage.h"
#include "banned.h"

/* The store --checkpoint-dir names, with this stage registered. */
static struct ckpt_store *open_store(const struct fs_common *c)
{
	return ckpt_store_open(ckpt_backend_for(c->ckpt_dir, c->ckpt_backend),
	    c->ckpt_dir, fs_common_stage(c));
}

void stage_init(struct stage *st, const struct fs_common *c,
    struct stage_hooks hooks)
{
	st->store = c->ckpt_dir ? open_store(c) : NULL;
	st->hooks = hooks;
	st->last_id = 0;
	st->started = st->checkpointed = st->ended = false;
	st->base = st->prev = 0;
	st->base_bytes = st->delta_bytes = 0;
}

/* An incremental stage's checkpoint id as a delta on its chain; false
 * when it is time for a full one (no chain, the stage asks for one, or
 * the deltas since the full piece outgrew it). */
static bool snapshot_delta(struct stage *st, uint64_t id)
{
	struct buf b = BUF_INIT;

	if (st->hooks.delta == NULL || st->base == 0)
		return false;
	if (st->hooks.delta(st->hooks.ctx, id, &b) < 0 ||
	    (st->delta_bytes + b.len) * 100 >
	    st->base_bytes * STAGE_COMPACT_PERCENT) {
		buf_free(&b);
		return false;
	}
	ckpt_write_delta(st->store, id, st->base, st->prev, b.data, b.len);
	st->delta_bytes += b.len;
	st->prev = id;
	diag_info("checkpoint %" PRIu64 " written: delta of %zu bytes on %"
	    PRIu64, id, b.len, st->base);
	buf_free(&b);
	return true;
}

static void snapshot(struct stage *st, uint64_t id)
{
	json_t *state;
	struct buf b = BUF_INIT;

	if (!snapshot_delta(st, id)) {
		state = st->hooks.snapshot(st->hooks.ctx, id);
		rec_dump(&b, state);
		buf_appendc(&b, '\n');
		json_decref(state);
		ckpt_write(st->store, id, b.data, b.len);
		st->base = st->prev = id;
		st->base_bytes = b.len;
		st->delta_bytes = 0;
		diag_info("checkpoint %" PRIu64 " written", id);
		buf_free(&b);
	}
	ckpt_prune(st->store, CKPT_KEEP_DEFAULT);
}

/* Restores the chain of checkpoint id: the full piece, then each delta;
 * -1 (with a warning) when the chain cannot be read. */
static int restore_chain(struct stage *st, uint64_t id)
{
	struct ckpt_piece *p;
	size_t n;
	json_t *state;
	json_error_t err;

	if (ckpt_read_chain(st->store, id, &p, &n) < 0)
		return -1;
	state = json_loadb(p[0].payload, p[0].len, JSON_DECODE_ANY, &err);
	if (state == NULL) {
		diag_warn("checkpoint %" PRIu64 ": bad payload in piece %"
		    PRIu64 ": %s", id, p[0].h.id, err.text);
		ckpt_free_chain(p, n);
		return -1;
	}
	if (st->hooks.restore(st->hooks.ctx, state, id) < 0)
		diag_fatal("cannot restore checkpoint %" PRIu64
		    ": the stage rejected its state", id);
	json_decref(state);
	st->delta_bytes = 0;
	for (size_t i = 1; i < n; i++) {
		if (st->hooks.apply == NULL)
			diag_fatal("cannot restore checkpoint %" PRIu64 ": a "
			    "delta, and this stage takes full ones only", id);
		if (st->hooks.apply(st->hooks.ctx, p[i].payload, p[i].len,
		    p[i].h.id) < 0)
			diag_fatal("cannot restore checkpoint %" PRIu64
			    ": the stage rejected its delta %" PRIu64, id,
			    p[i].h.id);
		st->delta_bytes += p[i].len;
	}
	st->base = p[0].h.id;
	st->base_bytes = p[0].len;
	st->prev = id;
	if (n > 1)
		diag_info("checkpoint %" PRIu64 ": full piece %" PRIu64
		    " and %zu deltas", id, p[0].h.id, n - 1);
	ckpt_free_chain(p, n);
	return 0;
}

static void restore(struct stage *st, uint64_t id)
{
	/* Restore 0: the source found no complete checkpoint.  This stage
	 * starts empty; files a killed run left belong to none. */
	st->base = 0;
	if (id == 0) {
		ckpt_discard_after(st->store, 0);
		return;
	}

	if (restore_chain(st, id) < 0) {
		/* A stage added since the checkpoint has nothing to restore:
		 * it starts empty.  A stage whose file went bad must not run
		 * on a guess. */
		if (ckpt_latest_complete(st->store) != id) {
			diag_warn("no state of checkpoint %" PRIu64
			    " for this stage: starting empty", id);
			ckpt_discard_after(st->store, id);
			return;
		}
		diag_fatal("cannot restore checkpoint %" PRIu64, id);
	}
	ckpt_discard_after(st->store, id);
	diag_info("restored checkpoint %" PRIu64, id);
}

/* Why c may not come now, or NULL. */
static const char *out_of_order(const struct stage *st, const struct ctl *c,
    char *why)
{
	if (st->ended) {
		snprintf(why, REC_ERR_MAX, "control record after the end of "
		    "the stream ({\"@fs\":\"end\"})");
		return why;
	}
	if (c->kind == CTL_RESTORE && st->started) {
		snprintf(why, REC_ERR_MAX, "restore %" PRIu64 " after the first "
		    "record: a restore is only valid as the first record", c->id);
		return why;
	}
	if (c->kind != CTL_RESTORE && c->id <= st->last_id) {
		snprintf(why, REC_ERR_MAX, "%s %" PRIu64 " after %s %" PRIu64
		    ": barrier ids must increase", c->kind == CTL_END ? "end" :
		    "barrier", c->id, st->started ? "barrier" : "restore",
		    st->last_id);
		return why;
	}
	return NULL;
}

enum stage_verdict stage_control(struct stage *st, const struct ctl *c,
    struct out *out, char *why)
{
	if (c->kind != CTL_BARRIER && c->kind != CTL_RESTORE &&
	    c->kind != CTL_END)
		return STAGE_PASS;
	if (out_of_order(st, c, why) != NULL)
		return STAGE_INVALID;
	if (c->kind == CTL_END) {
		/* Its checkpoint is taken after what it fires. */
		st->ended = true;
		st->last_id = c->id;
		st->checkpointed = st->started = true;
		return STAGE_HANDLED;
	}
	if (st->store != NULL) {
		if (c->kind == CTL_BARRIER)
			snapshot(st, c->id);
		else
			restore(st, c->id);
	}
	st->last_id = c->id;
	st->checkpointed = true;
	/* A barrier starts the stream as a record does; a restore may be
	 * followed by a barrier of a higher id only. */
	st->started = true;
	if (out != NULL) {
		if (c->kind == CTL_BARRIER)
			rec_emit_barrier(out, c->id);
		else
			rec_emit_restore(out, c->id);
	}
	return STAGE_HANDLED;
}

bool stage_input_complete(const struct stage *st)
{
	if (!st->checkpointed || st->ended)
		return true;
	diag_error("input ended without the end of the stream after "
	    "checkpoint %" PRIu64 ": a stage upstream stopped or died; nothing "
	    "fired (a restart resumes from the checkpoint)", st->last_id);
	return false;
}

void stage_emit_end(struct stage *st, struct out *out)
{
	if (!st->ended)
		return;
	if (st->store != NULL)
		snapshot(st, st->last_id);
	if (out != NULL)
		rec_emit_end(out, st->last_id);
}

void stage_finish(struct stage *st)
{
	ckpt_close(st->store);
	st->store = NULL;
}

/* --- sources ------------------------------------------------------------ */

json_t *source_ckpt_begin(struct source_ckpt *sc, const struct fs_common *c,
    int64_t interval_ms, uint64_t interval_records, struct out *out)
{
	uint64_t n;
	json_t *state = NULL;

	sc->store = NULL;
	sc->next_id = 1;
	sc->interval_ms = interval_ms;
	sc->interval_records = interval_records;
	sc->last_ms = etime_now_ms();
	sc->since = 0;
	if (c->ckpt_dir == NULL)
		return NULL;
	sc->store = open_store(c);
	n = ckpt_latest_complete(sc->store);
	ckpt_discard_after(sc->store, n);
	/* Fresh: still say so first, so every stage knows from the start
	 * that this stream is checkpointed and ends with its end (stage.h):
	 * a stage whose input stops before the first barrier must not take
	 * that for the end of the stream. */
	if (n == 0) {
		rec_emit_restore(out, 0);
		return NULL;
	}
	if (ckpt_read_json(sc->store, n, &state) < 0)
		diag_fatal("cannot read this source's checkpoint %" PRIu64, n);
	sc->next_id = n + 1;
	rec_emit_restore(out, n);
	diag_info("resuming from checkpoint %" PRIu64, n);
	return state;
}

bool source_ckpt_due(struct source_ckpt *sc)
{
	if (sc->store == NULL)
		return false;
	sc->since++;
	if (sc->interval_records && sc->since >= sc->interval_records)
		return true;
	return sc->interval_ms && etime_now_ms() - sc->last_ms >= sc->interval_ms;
}

/* Writes state as checkpoint next_id, then emits the barrier or, with
 * end, the end of the stream that carries that id. */
static void source_checkpoint(struct source_ckpt *sc, const json_t *state,
    struct out *out, bool end)
{
	if (sc->store == NULL)
		return;
	ckpt_write_json(sc->store, sc->next_id, state);
	ckpt_prune(sc->store, CKPT_KEEP_DEFAULT);
	if (end)
		rec_emit_end(out, sc->next_id);
	else
		rec_emit_barrier(out, sc->next_id);
	sc->next_id++;
	sc->since = 0;
	sc->last_ms = etime_now_ms();
}

void source_ckpt_barrier(struct source_ckpt *sc, const json_t *state,
    struct out *out)
{
	source_checkpoint(sc, state, out, false);
}

void source_ckpt_end(struct source_ckpt *sc, const json_t *state,
    struct out *out)
{
	source_checkpoint(sc, state, out, true);
}

uint64_t source_ckpt_last(const struct source_ckpt *sc)
{
	return sc->next_id - 1;
}

void source_ckpt_finish(struct source_ckpt *sc)
{
	ckpt_close(sc->store);
	sc->store = NULL;
}
