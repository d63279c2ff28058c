/*
 * bf_replay.h - the engine of fs-backfill: archived files replayed as
 * one NDJSON stream in event-time order, as a live source would have
 * delivered it: the same records, watermarks and checkpoint barriers.
 *
 * Every record carries a key (event time, input number, byte position
 * after it: bf_heap.h) and comes out in key order, whichever way the
 * order is made: a k-way merge of inputs that are each in order
 * (BF_ORDER_MERGE), the same after a bounded reorder buffer per input
 * (BF_ORDER_REORDER), an external sort (BF_ORDER_SORT, bf_sort.h), or
 * none (BF_ORDER_CONCAT).  The key makes the output the same on every
 * run, makes watermarks exact (the next record's time), and lets a
 * resumed run skip what it had emitted.
 *
 * A checkpoint records, per input, the byte position from which no
 * record has been emitted yet (and its line number), plus the key of
 * the last record emitted; resuming reads each input from there and
 * drops records whose key is not past that last key.
 *
 * The caller (the tool) fills a struct bf_replay_conf from its options
 * and keeps it, and its struct fs_common, alive until bf_replay_free().
 * Records go to standard output, rejects as the common options say
 * (reject.h); a fatal input error exits 1 (diag_fatal) after flushing
 * what was emitted.  A signal (sig.h) stops the run at a record
 * boundary; bf_replay_finish() then writes a barrier to resume exactly
 * there.
 */
#ifndef FS_BF_REPLAY_H
#define FS_BF_REPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_csv.h"
#include "bf_heap.h"
#include "bf_progress.h"
#include "bf_sort.h"
#include "out.h"
#include "reject.h"
#include "stage.h"
#include "tool.h"

/* How inputs are read: AUTO takes names ending in .csv as CSV; KAFKA
 * reads fs-consume envelopes and emits their value (or, with envelope,
 * the whole envelope).  In the order of fs-backfill's --format words. */
enum bf_format { BF_FMT_AUTO, BF_FMT_NDJSON, BF_FMT_CSV, BF_FMT_KAFKA };

/* How the output order is made (see above). */
enum bf_order { BF_ORDER_MERGE, BF_ORDER_REORDER, BF_ORDER_SORT,
	BF_ORDER_CONCAT };

struct bf_replay_conf {
	struct fs_common *c;    /* time path, rejects, checkpoints, --stats */
	enum bf_format format;
	enum bf_order order;
	bool envelope;          /* BF_FMT_KAFKA: emit the whole envelope */
	bool no_progress;       /* no display, even on a terminal */
	bool watermarks;        /* emit exact watermarks (not CONCAT) */
	bool has_from, has_to;
	int64_t from, to;       /* event-time range [from, to) */
	int64_t max_disorder;   /* REORDER: how far back a record may be */
	int64_t wm_every;       /* event time between watermarks */
	int64_t ckpt_interval_ms, ckpt_records;        /* barriers */
	uint64_t memory;        /* SORT: the memory bound */
	const char *tmpdir;     /* SORT: where runs spill */
	double rate, speed;     /* pacing: records/s, times event time; 0 off */
	const struct bf_csv_schema *schema;     /* CSV column types, or NULL */
	char *const *paths;     /* the input files (bf_inputs.h) */
	const json_t *def;      /* the source's part of the definition
	                           (def.h), sent when control records are */
	size_t n_paths;
};

struct bf_input;

struct bf_replay {
	const struct bf_replay_conf *o;
	struct bf_input *in;
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

/*
 * Sets b up over conf: the inputs (not opened yet), standard output,
 * rejects, the checkpoint store and, when it holds one, the position to
 * resume from (a checkpoint taken over other files or another order
 * exits 1), and the progress display.
 */
void bf_replay_init(struct bf_replay *b, const struct bf_replay_conf *conf);

/* Emits every record of the inputs in conf's order, or until a signal
 * asks to stop (then b->stopped). */
void bf_replay_run(struct bf_replay *b);

/*
 * Ends the stream: the last watermark, the last barrier (the end of the
 * stream, or after a signal a barrier to resume from), the --stats
 * lines; closes standard output (exits 1 when that fails).
 */
void bf_replay_finish(struct bf_replay *b);

/* Closes the inputs and frees the sorter.  The inputs themselves stay
 * allocated: a reader still blocked in a read is detached, not joined,
 * and goes on using its input (bf_reader_close()). */
void bf_replay_free(struct bf_replay *b);

#endif
