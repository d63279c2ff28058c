/*
 * window_emit.h - records out with their window bounds, spliced onto
 * their bytes (rec.h): [start, end) members, or a pane member, as the
 * run's winfields name them.  Private to the library.
 */
#ifndef FS_WINDOW_EMIT_H
#define FS_WINDOW_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "window_run.h"

/* One record with the window [start, end). */
void win_emit_spliced(struct win_run *s, const char *line, size_t len,
    int64_t start, int64_t end);

/* A record at t (not a session's): its tumbling window, its pane, or
 * with explode a copy per window. */
void win_emit_windowed(struct win_run *s, const char *line, size_t len,
    int64_t t);

#endif
