/* stage.c - tools' part in the checkpoint protocol (see stage.h). */
#include <inttypes.h>

#include <string.h>
#include <time.h>

#include "diag.h"
#include "etime.h"
#include "metrics.h"
#include "stage.h"
#include "banned.h"

/* The store --checkpoint-dir names, with this stage registered. */
static struct ckpt_store *open_store(const struct fs_common *c)
{
	return ckpt_store_open(ckpt_backend_for(c->ckpt_dir, c->ckpt_backend),
	    c->ckpt_dir, fs_common_stage(c));
}

static void ckpt_metrics_init(struct ckpt_metrics *cm, struct metrics *m)
{
	cm->id = metrics_gauge(m, "fs_checkpoint_id",
	    "The id of the last checkpoint written.", NULL);
	cm->age = metrics_age(m, "fs_checkpoint_age_seconds",
	    "Seconds since the last checkpoint was written.", NULL);
	cm->duration = metrics_gauge(m, "fs_checkpoint_duration_seconds",
	    "How long writing the last checkpoint took, seconds.", NULL);
	cm->total = metrics_counter(m, "fs_checkpoints_total",
	    "Checkpoints written.", NULL);
}

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Checkpoint id was written, from start (mono_s()) until now. */
static void ckpt_metrics_note(struct ckpt_metrics *cm, uint64_t id,
    double start)
{
	metric_set(cm->duration, mono_s() - start);
	metric_set(cm->id, (double)id);
	metric_set_time(cm->age, etime_now_ms());
	metric_add(cm->total, 1);
}

void stage_init(struct stage *st, const struct fs_common *c,
    struct stage_hooks hooks)
{
	st->store = c->ckpt_dir ? open_store(c) : NULL;
	memset(&st->cm, 0, sizeof st->cm);
	if (st->store != NULL)
		ckpt_metrics_init(&st->cm, c->metrics);
	st->hooks = hooks;
	st->last_id = 0;
	st->started = st->checkpointed = st->ended = false;
}

static void snapshot(struct stage *st, uint64_t id)
{
	double start = mono_s();
	json_t *state = st->hooks.snapshot(st->hooks.ctx, id);

	ckpt_write_json(st->store, id, state);
	json_decref(state);
	ckpt_prune(st->store, CKPT_KEEP_DEFAULT);
	ckpt_metrics_note(&st->cm, id, start);
	diag_info("checkpoint %" PRIu64 " written", id);
}

static void restore(struct stage *st, uint64_t id)
{
	json_t *state;

	/* Restore 0: the source found no complete checkpoint.  This stage
	 * starts empty; files a killed run left belong to none. */
	if (id == 0) {
		ckpt_discard_after(st->store, 0);
		return;
	}

	if (ckpt_read_json(st->store, id, &state) < 0) {
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
	if (st->hooks.restore(st->hooks.ctx, state, id) < 0)
		diag_fatal("cannot restore checkpoint %" PRIu64
		    ": the stage rejected its state", id);
	json_decref(state);
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
	memset(&sc->cm, 0, sizeof sc->cm);
	if (c->ckpt_dir == NULL)
		return NULL;
	sc->store = open_store(c);
	ckpt_metrics_init(&sc->cm, c->metrics);
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
	double start;

	if (sc->store == NULL)
		return;
	start = mono_s();
	ckpt_write_json(sc->store, sc->next_id, state);
	ckpt_prune(sc->store, CKPT_KEEP_DEFAULT);
	ckpt_metrics_note(&sc->cm, sc->next_id, start);
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
