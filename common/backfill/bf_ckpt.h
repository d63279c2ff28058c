/*
 * bf_ckpt.h - the checkpoint state of a replay (bf_replay.h), as its
 * barriers store it: per input its path and the byte offset and line
 * from which no record has been emitted yet (the first byte of a record
 * held, else the read position; 0 for BF_ORDER_SORT, which reads
 * everything again) and whether it is done; the order, the count
 * emitted, and the key of the last record emitted.  Private to the
 * library.
 */
#ifndef FS_BF_CKPT_H
#define FS_BF_CKPT_H

#include <jansson.h>

#include "bf_replay.h"

/* The state where b stands now (new reference). */
json_t *bf_ckpt_state(struct bf_replay *b);

/*
 * Positions b's inputs to resume from state, and sets the key of the
 * last record emitted.  A state of another tool, another order or other
 * input files exits 1 (diag_fatal).
 */
void bf_ckpt_resume(struct bf_replay *b, const json_t *state);

#endif
