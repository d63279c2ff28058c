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
 *
 * Standard output also follows what people read.  An out on standard
 * output drops control records (fs(7)) when it is a terminal, or
 * everywhere after --data-only (out_set_data_only(), called once by
 * the common options before any out is opened: like diag's verbosity,
 * it is a setting of the process, not state that changes); a pipe to
 * the next stage keeps them.  The records rec.c's emitters write are
 * known to be control records; a line out_line() is given is looked at
 * only when dropping is on (a memchr, then a parse of the rare line that
 * may be one), so the hot path to a pipe is unchanged.  At -v the out
 * counts its lines and the watermarks it writes for the progress line
 * (progress.h).
 */
#ifndef FS_OUT_H
#define FS_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "progress.h"

struct out {
	int fd;
	const char *name;
	char *buf;
	size_t len, cap;
	bool data_only;         /* control records are dropped */
	bool inspect;           /* data_only or counting: out_line() looks */
	struct progress prog;   /* -v: lines and the watermark written */
	struct buf join;        /* out_line_join()'s line, to inspect it */
	/* A gate (out_set_gate()): called once before the next write to
	 * fd, NULL when open. */
	void (*gate)(void *ctx);
	void *gate_ctx;
};

/* --data-only: set once, before out_init() of standard output. */
void out_set_data_only(bool on);

void out_init(struct out *o, int fd, const char *name);
/* Publishes the lines written, and the watermark, to m (metrics.h;
 * NULL: none): counting turns on as at -v. */
void out_set_metrics(struct out *o, struct metrics *m);
/* Off: the tool shows progress its own way (fs-backfill's display). */
void out_set_progress(struct out *o, bool on);
/*
 * Holds back what is written from now on (and what the buffer holds):
 * before its next write to the descriptor (a full buffer, out_flush(),
 * out_close()) the out calls gate(ctx) once, which may wait, then
 * writes.  A stage writing its checkpoint in the background gates its
 * output with the wait for it (stage.c): nothing written after the
 * barrier leaves before the checkpoint is durable.
 */
void out_set_gate(struct out *o, void (*gate)(void *ctx), void *ctx);
void out_write(struct out *o, const void *p, size_t n);
/* Writes p[0..n) followed by '\n'. */
void out_line(struct out *o, const void *p, size_t n);
/* Writes p[0..n), then q[0..m), then '\n', as out_line() of the two
 * joined would (a record and the members spliced onto it). */
void out_line_join(struct out *o, const void *p, size_t n, const void *q,
    size_t m);
/* The same for a line known to be a control record (rec.c's emitters). */
void out_control_line(struct out *o, const void *p, size_t n);
void out_flush(struct out *o);
/* Flushes, closes the descriptor and checks the result. */
void out_close(struct out *o);

#endif
