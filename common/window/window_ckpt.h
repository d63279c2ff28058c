/*
 * window_ckpt.h - the checkpoint state of a run, as stage.h's hooks
 * (ctx is the struct win_run): {"watermark": wm_snapshot(), "sessions":
 * [{"key", "start", "end", "lines"}, ...]}.  Private to the library.
 */
#ifndef FS_WINDOW_CKPT_H
#define FS_WINDOW_CKPT_H

#include <stdint.h>

#include <jansson.h>

json_t *win_ckpt_snapshot(void *ctx, uint64_t id);

/* Replaces the run's watermark and sessions; -1 (with a message) when
 * the state is not fs-window's. */
int win_ckpt_restore(void *ctx, const json_t *state, uint64_t id);

#endif
