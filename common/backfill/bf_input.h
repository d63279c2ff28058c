/*
 * bf_input.h - one input of a replay (bf_replay.h) and the record it
 * offers next: its reader (bf_reader.h), the filters every record goes
 * through (--from/--to, already emitted before a resume, out of order),
 * and for BF_ORDER_REORDER its reorder buffer.  Private to the library.
 *
 * Bad input is rejected through the replay's rejects, in file order; a
 * read error is fatal (exit 1, after flushing what was emitted).
 */
#ifndef FS_BF_INPUT_H
#define FS_BF_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_heap.h"
#include "bf_reader.h"
#include "bf_replay.h"

/* A record read but not yet emitted, owned (reorder buffer). */
struct bf_held {
	int64_t ts;
	uint64_t start, start_line, end;
	size_t len;
	char data[];
};

struct bf_input {
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
	struct bf_held *cur_held;
	int64_t max_seen;
	/* Where to start (a checkpoint), and the display. */
	uint64_t resume_off, resume_line;
	uint64_t raw_done;
};

/* Starts in's reader at its resume position; exits 1 when it cannot. */
void bf_input_open(struct bf_replay *b, struct bf_input *in);
/* Stops in's reader (if open) and marks it done. */
void bf_input_close(struct bf_replay *b, struct bf_input *in);

/*
 * Takes the next kept record of in from its reader into its current
 * record, reporting bad input on the way.  Returns 1, or 0 at the end
 * of the input (or when a signal asked to stop).
 */
int bf_input_read(struct bf_replay *b, struct bf_input *in);

/* The next record of in for the merge (through the reorder buffer for
 * BF_ORDER_REORDER): 1, or 0 at its end. */
int bf_input_next(struct bf_replay *b, struct bf_input *in);

#endif
