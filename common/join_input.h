/*
 * join_input.h - reading several line inputs at once, never blocking on
 * one while another has data (fs-join's two inputs).
 *
 * lineio_read() reads until it has a whole line, so on a pipe that holds
 * half a line it blocks; with two inputs fed by one producer (tee into a
 * named pipe) that can deadlock: the producer waits for room in the other
 * pipe, which nobody reads.  jinput_fill() instead reads once, only what
 * is there, into the reader's buffer; the caller calls lineio_read() only
 * when lineio_has_line() says a whole line (or the end) is buffered.
 *
 * It works on struct lineio's buffer fields the way lineio.c does (unread
 * bytes are buf[start..end)); lineio.h has no single-read call yet.
 */
#ifndef FS_JOIN_INPUT_H
#define FS_JOIN_INPUT_H

#include "lineio.h"

/*
 * When lr has no whole line buffered and its descriptor is readable now,
 * reads once.  Returns 1 when a whole line or the end is buffered, 0
 * when not (yet), -1 on a read error (lr->err), -2 when interrupted.
 */
int jinput_fill(struct lineio *lr);

#endif
