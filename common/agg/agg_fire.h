/*
 * agg_fire.h - fs-agg's window-firing engine: per key, the aggregate
 * states (aggfn.h) of its windows, panes or running aggregate, and the
 * timers that write their results out as the watermark passes.
 *
 * State is one block of aggregate states per key and window, pane or
 * running aggregate, held in a per-key array of slots:
 *
 *   windows    a slot per window (TUMBLE, SESSION, exploded HOP or
 *              CUMULATE, or any input carrying window_start/window_end);
 *              a timer per key fires its windows once the watermark
 *              passes their end plus the allowed lateness L
 *   panes      a slot per pane (HOP and CUMULATE from fs-window): a
 *              record updates one pane; at each window end the key's
 *              panes inside the window are merged and emitted, and panes
 *              no later window needs are freed
 *   running    one slot per key, emitted on every change or at most
 *              every emit_every ms (wall clock)
 *
 * (over aggregation is agg_over.h.)  The keys due at one time fire in
 * order of their canonical key bytes, so the output does not depend on
 * the order state was built in: a run restored from a checkpoint writes
 * what an uninterrupted run writes.
 *
 * Memory per key (issue 12: at most 128 bytes for 1M keys in open
 * windows with count, sum, avg, min and max; scripts/bench-engine), as
 * peak RSS divided by the keys, measured with 993,304 keys of 11-byte
 * canonical keys, one tumbling window each (before the work of issue 12
 * item 6, then now):
 *
 *   the slot, from a pool (no allocator header)   80   52  (16 window
 *                       + a 64-byte state, now a 36-byte compact one)
 *   the key's entry here (struct agg_kent)        24   16  (its timer's
 *                       time derived in windows mode)
 *   keytab entry                                  24   16  (inline key)
 *   hashidx slot, 8 bytes at load 0.47 / 0.63     17   13  (grows by
 *                       3/2 and 4/3, not 2)
 *   timer heap entry                              16   12  (no seq)
 *   the ids due when they all fire: array + sort   8    0  (in the heap's
 *                       room; the sort in place)
 *   the process: libraries, buffers (9 MiB)        9    9
 *                                                ---  ---
 *                                                178  118
 *
 * Arrays by key id grow by realloc, which for these sizes moves pages
 * (mremap) instead of copying, so their doubling costs address space,
 * not RSS; the hash index is rebuilt into a new array, old and new
 * together for a moment (at 786,432 keys here: 8 + 12 MiB, below the
 * peak, which comes when every key fires at the end).  Keys whose
 * aggregates have no compact form (first, last, distinct counts,
 * sketches, lists, the variances) or that saw a real, an int64 overflow
 * or a count past 2^32 - 1 keep full blocks: 16 + the block per slot.
 *
 * Ownership: aggfire_init() borrows the aggregate set, the key spec, the
 * output and the watermark for the engine's life; the engine owns its
 * keys, slots, states and timers, freed by aggfire_free() (before the
 * aggregate set).  The caller sets mode, w, f and L (from fs-window's
 * spec record or the options) before the first record, and reads the
 * counters for its --stats.
 */
#ifndef FS_AGG_FIRE_H
#define FS_AGG_FIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "aggfn.h"
#include "buf.h"
#include "out.h"
#include "path.h"
#include "window/window.h"

enum agg_mode {
	AGG_MODE_UNSET, AGG_MODE_WINDOWS, AGG_MODE_PANES, AGG_MODE_RUNNING,
	AGG_MODE_OVER
};

struct agg_kent;

struct aggfire {
	/* Set by the caller. */
	enum agg_mode mode;
	struct winspec w;       /* from fs-window's spec record */
	struct winfields f;     /* the window members' names */
	int64_t L;              /* allowed lateness in effect */
	/* Borrowed, from aggfire_init(). */
	struct aggset *as;
	const struct keyspec *ks;
	struct out *out;
	const struct wmark *wm;
	int64_t early, emit_every;      /* ms; 0: none */
	/* The state.  A key's slots hold full state blocks, or compact
	 * ones (aggset_compress()) while its states fit them. */
	size_t slot_size;       /* a slot with a full block */
	size_t cslot_size;      /* a slot with a compact one; 0: none */
	struct keytab keys;
	struct agg_kent *k;     /* by key id */
	size_t cap_k;
	int64_t *fired;         /* panes: by key id, the last end fired */
	size_t cap_fired;
	int64_t *armed;         /* panes: by key id, its timer's time */
	size_t cap_armed;
	/* The pools of one-slot arrays (agg_fire.c): [0] full, [1] compact. */
	struct aggpool {
		unsigned char **chunk;
		size_t n, cap;
		unsigned char *next;    /* the rest of the newest chunk */
		size_t left;
		void *free;             /* blocks given back, a list */
		size_t size;            /* bytes a block */
	} pool[2];
	void *cst;              /* a scratch state block (compact keys) */
	struct keytimers timers;        /* a key's next firing */
	/* early firing and paced running emission */
	uint32_t *dirty;
	size_t ndirty, cap_dirty;
	unsigned char *isdirty; /* by key id */
	size_t cap_isdirty;
	struct timerheap pace;  /* running: wall-clock emission timers */
	void *tmp;              /* a scratch state block */
	struct buf row;         /* a result being written */
	/* Incremental checkpoints (aggfire_track()): the keys changed and
	 * dropped since the last checkpoint. */
	bool track;
	uint64_t *ckmark;       /* a bit by key id: changed */
	size_t cap_ckmark;      /* in words */
	uint32_t *changed;      /* the ids marked, in order (a delta) */
	size_t cap_changed;
	struct buf gone;        /* a delta value per key dropped (msgpack) */
	/* Counters (--stats). */
	uint64_t results;
	size_t nslots, peak_slots, peak_keys;
};

/* early: --early-fire's period, emit_every: --emit-every's (ms, 0: none). */
void aggfire_init(struct aggfire *s, struct aggset *as,
    const struct keyspec *ks, struct out *out, const struct wmark *wm,
    int64_t early, int64_t emit_every);
void aggfire_free(struct aggfire *s);

/* The id of key (its canonical bytes), made when new. */
uint32_t aggfire_key(struct aggfire *s, const char *key, size_t klen);
/* Forgets key id when it holds no slot (a record of it was not used). */
void aggfire_release(struct aggfire *s, uint32_t id);

/*
 * The prepared record (aggset_prepare()) at event time t into key id's
 * window [start, end) (windows mode) or pane at start (panes mode).
 * Returns 0, or 1 when the window (every window of the pane) has closed:
 * the record is late and nothing is touched.
 */
int aggfire_window(struct aggfire *s, uint32_t id, int64_t start,
    int64_t end, int64_t t);
int aggfire_pane(struct aggfire *s, uint32_t id, int64_t start, int64_t t);
/* The prepared record into key id's running aggregate; written out now
 * or when emit_every has passed. */
void aggfire_running(struct aggfire *s, uint32_t id, int64_t t);

/* Fires every key whose timer is at or before upto (INT64_MAX: all). */
void aggfire_fire_due(struct aggfire *s, int64_t upto);
/* --early-fire: the current result of every open window of every key
 * that changed since the last call, marked "update":true. */
void aggfire_early(struct aggfire *s);
/* Emits paced running aggregates whose time has come (INT64_MAX: all). */
void aggfire_pace(struct aggfire *s, int64_t now);

/* The keys' slots for a checkpoint (a new reference). */
json_t *aggfire_snapshot(const struct aggfire *s);
/* Frees every key and timer, leaving an empty state. */
void aggfire_clear(struct aggfire *s);
/* Adds one key of a snapshot; 0, or -1 with *why. */
int aggfire_restore_key(struct aggfire *s, const json_t *e, const char **why);
/*
 * Incremental checkpoints.  aggfire_track() starts noting which keys
 * change (a bit per key id) and which are dropped.  aggfire_delta() appends to out, in msgpack (mpjson.h), a
 * value per key dropped, {"key":K,"del":true}, then one per key
 * changed, its entry as in aggfire_snapshot(), and starts the change set
 * afresh, as aggfire_track_reset() does (after a full snapshot or a
 * restore).  aggfire_pack_all() appends every key's entry so (a full
 * piece) and starts the change set afresh.  aggfire_apply_key() applies
 * one such value, as JSON: a changed key replaces what the state held
 * of it.
 */
void aggfire_track(struct aggfire *s);
void aggfire_track_reset(struct aggfire *s);
void aggfire_delta(struct aggfire *s, struct buf *out);
void aggfire_pack_all(struct aggfire *s, struct buf *out);
int aggfire_apply_key(struct aggfire *s, const json_t *e, const char **why);

/* Bytes of state held: keys, slots and their states. */
size_t aggfire_bytes(const struct aggfire *s);

#endif
