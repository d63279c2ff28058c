/*
 * bf_emit.h - the output side of a replay (bf_replay.h): records after
 * their exact watermarks, paced by --rate and --speed; checkpoint
 * barriers holding where each input stands; the progress display.
 * Private to the library.
 */
#ifndef FS_BF_EMIT_H
#define FS_BF_EMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "bf_heap.h"
#include "bf_replay.h"

/* Writes one record, after its watermark, paced by --rate/--speed. */
void bf_emit(struct bf_replay *b, const struct bf_key *k, const char *data,
    size_t len);
/* After emitting: the barrier and the progress display, when due. */
void bf_emit_after(struct bf_replay *b);
/* A barrier, or with end the end of the stream (the last barrier). */
void bf_emit_barrier(struct bf_replay *b, bool end);
/* Redraws the progress display when due, or with force now. */
void bf_emit_progress(struct bf_replay *b, bool force);

#endif
