/*
 * lineio.h - the NDJSON line reader every tool reads its input with.
 *
 * Reads a file descriptor with read(2) (never stdio, so a line is handed
 * over as soon as it arrives on a live pipe), splits on '\n', strips a
 * trailing '\r', passes over empty lines and returns a last line that
 * has no newline.  Lines have no length limit.  NUL bytes are kept, so
 * callers must use the returned length; rec_parse() rejects them.
 *
 * The returned pointer is valid until the next call.  lr->lineno is the
 * 1-based number of the line last returned, counted over every line in
 * the file, empty ones included, so messages point at the right line.
 *
 * Before a read(2) that may block, the reader calls the flush hook, so a
 * tool's buffered output reaches the next stage before it waits: live
 * pipelines get low latency and batch runs keep large writes.
 *
 * At -v the reader counts the lines it returns for the progress line
 * (progress.h): into the out's struct progress once the flush hook is
 * set, or, for standard input feeding no out (a sink), into its own,
 * noting the watermarks it reads; it ticks after each read(2).
 */
#ifndef FS_LINEIO_H
#define FS_LINEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "progress.h"

struct out;

struct lineio {
	int fd;
	char *name;             /* for messages: a path, or "-" for stdin */
	uint64_t lineno;        /* line last returned */
	uint64_t offset;        /* byte offset just after the line last returned */
	char *buf;
	size_t cap, start, end; /* unread bytes are buf[start..end) */
	size_t scan;            /* bytes after start known to have no '\n' */
	bool eof;
	int err;                /* errno of a failed read, else 0 */
	struct out *flush_hook;
	bool counting;          /* -v: lines counted into prog, or own */
	struct progress *prog;  /* the flush hook's; NULL: own */
	struct progress own;
};

/* Opens path ("-" is stdin).  Returns -1 with errno set on failure. */
int lineio_open(struct lineio *lr, const char *path);
void lineio_init_fd(struct lineio *lr, int fd, const char *name);
void lineio_set_flush_hook(struct lineio *lr, struct out *o);
/* A reader feeding no out (a sink): publishes the lines it reads and
 * the watermarks among them to m (metrics.h; NULL: none). */
void lineio_set_metrics(struct lineio *lr, struct metrics *m);

/*
 * Returns 1 with a line in *line and *len, 0 at end of input, -1 on a read
 * error (lr->err) and -2 when a signal interrupted the wait (see sig.h):
 * the caller then checks sig_stop_requested() and calls again or stops.
 */
int lineio_read(struct lineio *lr, const char **line, size_t *len);

/* True when a whole line is already buffered: reading will not block. */
bool lineio_has_line(struct lineio *lr);

/*
 * Waits up to timeout_ms for input (or end of input) to be readable.
 * Returns 1 when lineio_read() will not block, 0 on time-out, -2 when a
 * signal interrupted.  For tools that act on idle time (watermark idle
 * time-outs, early firings, flush intervals).
 */
int lineio_wait(struct lineio *lr, int timeout_ms);

/*
 * For tools reading several inputs at once (fs-join): never blocks.
 * When no whole line is buffered and the descriptor is readable now,
 * reads once, only what is there.  Returns 1 when a whole line (or the
 * end) is buffered, so lineio_read() will not block; 0 when not yet; -1
 * on a read error (lr->err); -2 when a signal interrupted.  lineio_read()
 * blocks until it has a whole line, so with two pipes fed by one
 * producer, a half line on one could otherwise deadlock the reader.
 */
int lineio_fill(struct lineio *lr);

/* Closes the descriptor (unless stdin) and frees the buffer. */
void lineio_close(struct lineio *lr);

#endif
