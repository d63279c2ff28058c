/*
 * stage.h - how a tool takes part in the checkpoint protocol of
 * fs-checkpoint(5), so that tools only plug in their state.
 *
 * Middle stages and sinks (fs-window, fs-agg, fs-join, sinks):
 *
 *     struct stage st;
 *     stage_init(&st, &common, (struct stage_hooks){ snap, restore, ctx });
 *     ... for each data record:  stage_data(&st);
 *     ... for each control record c:
 *         switch (stage_control(&st, &c, &out, why)) {
 *         case STAGE_HANDLED: continue;        // consumed (+forwarded)
 *         case STAGE_INVALID: reject the line with why; continue;
 *         case STAGE_PASS: the tool's own control records
 *         }
 *     ... at the end of input:
 *         if (!stage_input_complete(&st)) exit 1, firing nothing;
 *         fire what is open; stage_emit_end(&st, &out);
 *
 * stage_control() handles CTL_BARRIER (snapshot hook, write the file,
 * prune, forward the barrier), CTL_RESTORE (read the file, restore
 * hook, forward) and CTL_END (held for stage_emit_end()).  Without
 * --checkpoint-dir it only forwards.  A restore anywhere but first, a
 * barrier or end whose id is not above the last one, and anything after
 * the end are invalid: forged or mixed-up input must not discard or
 * overwrite state.
 *
 * The end of the stream, {"@fs":"end","id":N}, is written by a
 * checkpointing source that ends on its own (fs-consume -e, -c, a stop
 * offset; fs-backfill at the end of its files) as its last record.  It
 * is also the last barrier: each stage fires what is open, then takes
 * checkpoint N of its state after firing and forwards the end
 * (stage_emit_end), so a pipeline run again on the same directory
 * resumes after what the end fired and writes none of it twice.  In a
 * checkpointed pipeline (a barrier or restore came) an input without
 * its end means a stage upstream was killed or stopped: firing the open
 * windows would write results a restart from the checkpoint writes
 * again, different, so nothing is fired.  A sink
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

/* A stage's or source's checkpoints as metrics (metrics.h): the id, the
 * time it was written (fs_checkpoint_age_seconds) and how long writing
 * took.  All NULL without metrics or without --checkpoint-dir. */
struct ckpt_metrics {
	struct metric *id, *age, *duration, *total;
};

/*
 * An incremental stage (fs-agg) also gives delta, apply and full:
 * delta() appends to out what changed since its last snapshot or delta
 * (the stage's own values, as a msgpack stream: mpjson.h) and returns
 * 0, or -1 when only a full snapshot will do (nothing appended); full()
 * appends its whole state the same way (a full piece in msgpack), or
 * returns -1 when snapshot()'s JSON must do; apply() applies one piece:
 * a delta (JSON or msgpack: p->h.enc) on top of the state restored so
 * far, or a full piece in msgpack on an empty state; 0 or -1 with a
 * message.  snapshot() and full() then also start the change set
 * afresh, as restore() and apply() do.  The stage writes a
 * delta at each barrier, and compacts when the deltas since the last
 * full piece exceed its size (STAGE_COMPACT_PERCENT): in the directory
 * store a child process (fork: a copy-on-write image of the state, no
 * locking, the other core) rewrites that barrier's delta as a full piece
 * of the same checkpoint while the stage goes on; in a store whose
 * client runs threads (Kafka), where a forked child cannot write, the
 * stage writes the full piece itself instead of that delta.  A
 * checkpoint costs what changed, and a restore at most about twice the
 * state.  In the directory store a delta is made durable by a writer
 * thread while the stage goes on: the stage's output from the barrier
 * on (the barrier first) is held in its out (out_set_gate()) until the
 * delta is durable, so that nothing downstream sees the barrier, or
 * what came after it, before the checkpoint holds.
 */
struct stage_hooks {
	json_t *(*snapshot)(void *ctx, uint64_t id);
	int (*restore)(void *ctx, const json_t *state, uint64_t id);
	void *ctx;
	int (*delta)(void *ctx, uint64_t id, struct buf *out);
	int (*apply)(void *ctx, const struct ckpt_piece *p);
	int (*full)(void *ctx, uint64_t id, struct buf *out);
};

/* Deltas since the full piece, in percent of its size, that make the
 * next checkpoint a full one. */
#define STAGE_COMPACT_PERCENT 100

struct stage {
	struct ckpt_store *store;       /* NULL without --checkpoint-dir */
	struct stage_hooks hooks;
	uint64_t last_id;               /* of the last barrier or restore */
	bool started;                   /* a record came: no restore now */
	bool checkpointed;              /* a barrier or restore came */
	bool ended;                     /* the end came: last_id is its id */
	struct ckpt_metrics cm;
	/* Incremental: the chain the next delta extends (base 0: none, the
	 * next checkpoint is full), and its sizes. */
	uint64_t base, prev;
	size_t base_bytes, delta_bytes;
	struct buf delta;               /* kept from one delta to the next */
	/* The compaction running in the background: its process, the
	 * checkpoint it rewrites, a pipe for the size it wrote, and the
	 * delta bytes up to that checkpoint. */
	int child, child_fd;
	uint64_t child_id;
	size_t child_delta_bytes;
	/* The writer thread (stage.c; NULL until the first delta written in
	 * the background) and the out gated until its delta is durable
	 * (NULL: none pending). */
	struct stage_writer *w;
	struct out *gated;
};

enum stage_verdict {
	STAGE_PASS = 0,         /* not the protocol's: the tool's to handle */
	STAGE_HANDLED,          /* barrier, restore or end: done */
	STAGE_INVALID           /* out of order: reject the line with why */
};

void stage_init(struct stage *st, const struct fs_common *c,
    struct stage_hooks hooks);
/* Handles c when it is a barrier, restore or end (see above); why
 * (REC_ERR_MAX bytes) gets the reason for STAGE_INVALID. */
enum stage_verdict stage_control(struct stage *st, const struct ctl *c,
    struct out *out, char *why);
/* Notes a data record (a restore after it is invalid). */
static inline void stage_data(struct stage *st)
{
	st->started = true;
}
/* At the end of input: true when the stream ended cleanly; false, after
 * saying so on stderr, when a checkpointed input stopped without its
 * end (the tool fires nothing and exits 1). */
bool stage_input_complete(const struct stage *st);
/* After the end fired what it fires: when the end came, takes its
 * checkpoint (snapshot hook) and forwards it. */
void stage_emit_end(struct stage *st, struct out *out);
void stage_finish(struct stage *st);

#define SOURCE_CKPT_INTERVAL_DEFAULT_MS 10000

struct source_ckpt {
	struct ckpt_store *store;       /* NULL without --checkpoint-dir */
	uint64_t next_id;
	int64_t interval_ms;            /* 0: not by time */
	uint64_t interval_records;      /* 0: not by count */
	int64_t last_ms;
	uint64_t since;                 /* records since the last barrier */
	struct ckpt_metrics cm;
};

/*
 * Opens the store (when --checkpoint-dir was given) and finds the newest
 * complete checkpoint N.  When there is one: emits {"@fs":"restore"} to
 * out, discards this stage's newer files, and returns this source's state
 * at N (a new reference).  Otherwise emits {"@fs":"restore","id":0}
 * (starting fresh) and returns NULL; without --checkpoint-dir, nothing.
 */
json_t *source_ckpt_begin(struct source_ckpt *sc, const struct fs_common *c,
    int64_t interval_ms, uint64_t interval_records, struct out *out);
/* Counts one record; true when a barrier is due (by count or time). */
bool source_ckpt_due(struct source_ckpt *sc);
/* Writes state (borrowed) as checkpoint next_id, then emits the barrier. */
void source_ckpt_barrier(struct source_ckpt *sc, const json_t *state,
    struct out *out);
/* At a source's own end: writes state (borrowed) as checkpoint next_id
 * and emits {"@fs":"end","id":next_id}, the last record.  Nothing
 * without --checkpoint-dir. */
void source_ckpt_end(struct source_ckpt *sc, const json_t *state,
    struct out *out);
/* The id of the last barrier emitted (0 if none). */
uint64_t source_ckpt_last(const struct source_ckpt *sc);
void source_ckpt_finish(struct source_ckpt *sc);

#endif
