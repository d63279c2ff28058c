/*
 * rec.h - records: the only place that parses and emits JSON.
 *
 * A record is one JSON object on one line (see fs(7)).  An object with
 * the reserved member "@fs" is a control record; every other object is
 * data.  Parsing is jansson's, strict: invalid UTF-8, NUL bytes, and
 * anything but a single object are rejected with a reason that says
 * where in the line (column) the problem is.
 *
 * Ownership: rec_parse() hands out a new reference the caller must
 * json_decref().  rec_emit() borrows.
 */
#ifndef FS_REC_H
#define FS_REC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "out.h"

#define REC_ERR_MAX 160

/*
 * Parses one line.  Returns the object, or NULL with a reason in
 * why[REC_ERR_MAX] such as "invalid JSON: column 17: end of file
 * expected" or "not a JSON object: array".  A line that starts with the
 * magic bytes of gzip (1f 8b) or zstd (28 b5 2f fd), the first line of a
 * compressed file given to a filter, gets "compressed input (gzip): use
 * fs-backfill or zcat" (zstdcat for zstd) instead of a column.
 */
json_t *rec_parse(const char *line, size_t len, char *why);
/* True, with that reason in why[REC_ERR_MAX], when line starts with the
 * magic bytes of gzip or zstd. */
bool rec_compressed(const char *line, size_t len, char *why);

/* Serialises obj compactly, in insertion order, and writes it as a line. */
void rec_emit(struct out *o, const json_t *obj);
/* Appends the compact serialisation of v (any JSON value) to b. */
void rec_dump(struct buf *b, const json_t *v);

/*
 * Splicing: output a record as its original bytes plus a few members,
 * without re-serialising it (fs-window's hot path).  The line must be a
 * record rec_parse() accepted.  Usage:
 *
 *     rec_splice_begin(&b, line, len);
 *     rec_splice_i64(&b, "window_start", start);
 *     rec_splice_end(&b);
 *
 * A spliced member that already exists in the record is appended again;
 * readers (jansson, jq, every fs tool) take the last one, so the new
 * value wins.
 */
void rec_splice_begin(struct buf *b, const char *line, size_t len);
void rec_splice_i64(struct buf *b, const char *key, int64_t v);
void rec_splice_str(struct buf *b, const char *key, const char *v);
void rec_splice_value(struct buf *b, const char *key, const json_t *v);
/* Opens a member holding an object ("key":{); its members are spliced
 * next and rec_splice_end() closes it.  Start a record from nothing
 * with rec_splice_begin(b, "{}", 2). */
void rec_splice_object(struct buf *b, const char *key);
void rec_splice_end(struct buf *b);

/* --- control records ------------------------------------------------ */

#define REC_CONTROL_KEY "@fs"

enum ctl_kind {
	CTL_NONE = 0,   /* a data record */
	CTL_WATERMARK,  /* {"@fs":"watermark","ts":MS} */
	CTL_BARRIER,    /* {"@fs":"barrier","id":N} */
	CTL_RESTORE,    /* {"@fs":"restore","id":N}; N 0: starting fresh */
	CTL_END,        /* {"@fs":"end","id":N}: complete; the last barrier */
	CTL_OTHER,      /* a control record this version does not know */
	CTL_INVALID     /* "@fs" present but malformed (why says how) */
};

struct ctl {
	enum ctl_kind kind;
	int64_t ts;     /* CTL_WATERMARK */
	uint64_t id;    /* CTL_BARRIER, CTL_RESTORE, CTL_END */
};

/* Classifies obj; fills c.  For CTL_INVALID, why gets the reason. */
enum ctl_kind rec_control(const json_t *obj, struct ctl *c, char *why);

/* Quick test on the raw line: may this line be a control record?  No
 * false negatives; lets hot paths skip rec_control() on data lines. */
bool rec_line_maybe_control(const char *line, size_t len);

void rec_emit_watermark(struct out *o, int64_t ts);
void rec_emit_barrier(struct out *o, uint64_t id);
void rec_emit_restore(struct out *o, uint64_t id);
void rec_emit_end(struct out *o, uint64_t id);

#endif
