/*
 * stage.h - how a tool takes part in the checkpoint protocol of
 * fs-checkpoint(5), so that tools only plug in their state.
 *
 * Middle stages and sinks (fs-window, fs-agg, fs-join, sinks):
 *
 *     struct stage st;
 *     stage_init(&st, &common, (struct stage_hooks){ snap, restore, ctx });
 *     ... for each control record c:
 *         if (stage_control(&st, &c, &out)) continue;  // consumed+forwarded
 *
 * stage_control() handles CTL_BARRIER (snapshot hook, write the file,
 * prune, forward the barrier) and CTL_RESTORE (read the file, restore
 * hook, forward).  Without --checkpoint-dir it only forwards.  A sink
 * passes out = NULL and makes its snapshot hook wait for writes in
 * flight.  The snapshot hook returns a new reference to the state as JSON;
 * the restore hook gets the state (borrowed) and returns 0, or -1 with
 * a message of its own (fatal: a stage must not run on half a state).
 *
 * Sources (fs-consume, fs-backfill):
 *
 *     struct source_ckpt sc;
 *     json_t *pos = source_ckpt_begin(&sc, &common, interval_ms, records);
 *     if (pos) { resume from pos; }  // restore record already emitted
 *     ... after each record: if (source_ckpt_due(&sc)) source_ckpt_barrier(&sc, state, &out);
 */
#ifndef FS_STAGE_H
#define FS_STAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ckpt.h"
#include "out.h"
#include "rec.h"
#include "tool.h"

struct stage_hooks {
	json_t *(*snapshot)(void *ctx, uint64_t id);
	int (*restore)(void *ctx, const json_t *state, uint64_t id);
	void *ctx;
};

struct stage {
	struct ckpt_store *store;       /* NULL without --checkpoint-dir */
	struct stage_hooks hooks;
	uint64_t last_id;
};

void stage_init(struct stage *st, const struct fs_common *c,
    struct stage_hooks hooks);
/* Returns true when c was a barrier or restore (handled and, when out is
 * not NULL, forwarded); false for other control records. */
bool stage_control(struct stage *st, const struct ctl *c, struct out *out);
void stage_finish(struct stage *st);

#define SOURCE_CKPT_INTERVAL_DEFAULT_MS 10000

struct source_ckpt {
	struct ckpt_store *store;       /* NULL without --checkpoint-dir */
	uint64_t next_id;
	int64_t interval_ms;            /* 0: not by time */
	uint64_t interval_records;      /* 0: not by count */
	int64_t last_ms;
	uint64_t since;                 /* records since the last barrier */
};

/*
 * Opens the store (when --checkpoint-dir was given) and finds the newest
 * complete checkpoint N.  When there is one: emits {"@fs":"restore"} to
 * out, discards this stage's newer files, and returns this source's state
 * at N (a new reference).  Otherwise returns NULL.
 */
json_t *source_ckpt_begin(struct source_ckpt *sc, const struct fs_common *c,
    int64_t interval_ms, uint64_t interval_records, struct out *out);
/* Counts one record; true when a barrier is due (by count or time). */
bool source_ckpt_due(struct source_ckpt *sc);
/* Writes state (borrowed) as checkpoint next_id, then emits the barrier. */
void source_ckpt_barrier(struct source_ckpt *sc, const json_t *state,
    struct out *out);
/* The id of the last barrier emitted (0 if none). */
uint64_t source_ckpt_last(const struct source_ckpt *sc);
void source_ckpt_finish(struct source_ckpt *sc);

#endif
