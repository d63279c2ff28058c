/*
 * out.h - buffered output of records to a file descriptor (stdout).
 *
 * Writes are gathered in a 64 KiB buffer and written with write(2).
 * A write error is never ignored: EPIPE (the reader went away, as with
 * "| head") makes the tool end at once, quietly, with status 0 (state
 * is not flushed: nobody reads it; a Kafka consumer leaves its group by
 * session time-out); any other error is fatal with the reason
 * ("write error: stdout: No space left on device").
 * out_close() flushes, closes and checks, and must be called before a
 * tool exits 0.
 */
#ifndef FS_OUT_H
#define FS_OUT_H

#include <stddef.h>

struct out {
	int fd;
	const char *name;
	char *buf;
	size_t len, cap;
};

void out_init(struct out *o, int fd, const char *name);
void out_write(struct out *o, const void *p, size_t n);
/* Writes p[0..n) followed by '\n'. */
void out_line(struct out *o, const void *p, size_t n);
void out_flush(struct out *o);
/* Flushes, closes the descriptor and checks the result. */
void out_close(struct out *o);

#endif
