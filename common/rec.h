/*
 * rec.h - records: the only place that parses and emits JSON.
 *
 * The record module is this header and the files named rec*: rec.c
 * (jansson parsing and emitting, the splicing writer rec_w_*),
 * recscan.c (the quick checks that decide whether a line or a Kafka
 * value is already a canonical object), recproj.cc (the projection
 * fast path over simdjson, which hands every line it would reject to
 * rec_parse(), so reasons are rec_parse()'s), and recenv.c (the Kafka
 * envelope, written and read for fs-consume, fs-produce and
 * fs-backfill).  No other file parses a record or builds JSON text by
 * hand; jansson reads two other kinds of JSON directly: checkpoint
 * headers and payloads (ckpt.c, kafka_ckpt.c), which are the stages'
 * own snapshots, and the literal values of conditions (path.c).
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
/* rec_parse(), but "\u0000" in a string is accepted (the string holds
 * the NUL byte: json_string_length() tells its length).  For a tool that
 * passes strings on by their length (fs-sink-aerospike), never to C
 * string functions; a raw NUL byte in the line is still refused. */
json_t *rec_parse_nul(const char *line, size_t len, char *why);
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
/*
 * The bytes of line that rec_splice_begin() keeps (all but the closing
 * brace and the white space before it).  A stage that appends the same
 * members to many records splices them once into a tail of its own
 * and writes line[0, keep), a ',' unless that ends in '{', and the
 * tail, without copying the record (out_line_join()).
 */
size_t rec_splice_keep(const char *line, size_t len);
void rec_splice_i64(struct buf *b, const char *key, int64_t v);
void rec_splice_str(struct buf *b, const char *key, const char *v);
void rec_splice_value(struct buf *b, const char *key, const json_t *v);
/* A member whose value is JSON text rec_dump() wrote (kept from an
 * earlier dump, so a value spliced into many records is dumped once). */
void rec_splice_raw(struct buf *b, const char *key, const char *json,
    size_t n);
/* Opens a member holding an object ("key":{); its members are spliced
 * next and rec_splice_end() closes it.  Start a record from nothing
 * with rec_splice_begin(b, "{}", 2). */
void rec_splice_object(struct buf *b, const char *key);
void rec_splice_end(struct buf *b);

/*
 * Writing a record member by member (the Kafka envelope), with the
 * escaping rec_dump() uses:
 *
 *     struct rec_writer w;
 *     rec_w_init(&w, &b);
 *     rec_w_obj(&w);
 *     rec_w_key(&w, "offset"); rec_w_i64(&w, 42);
 *     rec_w_key(&w, "h"); rec_w_arr(&w); rec_w_null(&w); rec_w_end(&w);
 *     rec_w_end(&w);
 *
 * appends {"offset":42,"h":[null]} to b.  Commas are the writer's; the
 * caller keeps keys and values alternating in objects.  rec_w_raw()
 * copies bytes that are already JSON as rec_dump() writes it (checked
 * with rec_canonical()), so embedding them gives the same bytes as
 * parsing and dumping them.  Nesting is at most REC_W_DEPTH deep.
 */
#define REC_W_DEPTH 31

struct rec_writer {
	struct buf *b;
	unsigned depth;
	uint32_t more;          /* bit d: level d already has a member */
	uint32_t arr;           /* bit d: level d is an array */
	bool after_key;
};

void rec_w_init(struct rec_writer *w, struct buf *b);
void rec_w_obj(struct rec_writer *w);
void rec_w_arr(struct rec_writer *w);
void rec_w_end(struct rec_writer *w);
void rec_w_key(struct rec_writer *w, const char *key);
void rec_w_str(struct rec_writer *w, const char *p, size_t n);
/* rec_w_str() of bytes that must be UTF-8 (NUL bytes allowed, as
 * json_stringn() allows them): false, and nothing written, when they
 * are not.  One pass over the usual plain ASCII. */
bool rec_w_utf8(struct rec_writer *w, const char *p, size_t n);
/* A key written once and used for many records: rec_key_make() appends
 * to b the bytes rec_w_key(w, key) writes after its comma (the quoted,
 * escaped key and ':'), and rec_w_key_made() writes those bytes as
 * rec_w_key() would. */
void rec_key_make(struct buf *b, const char *key);
void rec_w_key_made(struct rec_writer *w, const char *made, size_t n);
void rec_w_i64(struct rec_writer *w, int64_t v);
void rec_w_null(struct rec_writer *w);
void rec_w_bool(struct rec_writer *w, bool v);
/* A finite double as rec_dump() writes a real. */
void rec_w_real(struct rec_writer *w, double d);
void rec_w_raw(struct rec_writer *w, const char *json, size_t n);
void rec_w_value(struct rec_writer *w, const json_t *v);

/*
 * True when p[0..n) is an object, array, number or boolean in exactly
 * the bytes rec_dump() writes for it (so rec_w_raw() may copy it).
 */
bool rec_canonical(const char *p, size_t n);

/* --- the scanner (recscan.c) ---------------------------------------- */

/*
 * True when p[0..n) is certainly a JSON object rec_parse() accepts,
 * found without allocating; false means "not sure: ask rec_parse()",
 * which stays the judge and gives the reason.
 */
bool rec_quick_object(const void *p, size_t n);
/* The same, and the bytes are exactly what rec_dump() writes for the
 * object (compact, no duplicate keys, no reals, jansson's escapes). */
bool rec_quick_canonical(const void *p, size_t n);
/* A member a stage looks for (rec_quick_members), and where its value
 * was found (p NULL: absent). */
struct rec_want {
	const char *name;
	size_t len;
};
struct rec_span {
	const char *p;
	size_t n;
};
/*
 * rec_quick_object() that also finds, in the same pass, the values of
 * the top-level members named in want (the last of duplicates, as
 * jansson keeps): found[i] spans the value's bytes, unparsed but
 * validated.  False means "not sure", as for rec_quick_object(), and
 * also when a top-level key holds an escape.
 */
bool rec_quick_members(const void *p, size_t n, const struct rec_want *want,
    size_t nwant, struct rec_span *found);
/*
 * The same for a record loop (recproj_read()): -1 when the line may be
 * a control record (rec_line_maybe_control()), else 1 with the members
 * found or 0 for "not sure".  Short plain lines (no backslash, control
 * or non-ASCII byte) take a faster path that indexes their quotes.
 */
int rec_quick_data_members(const void *p, size_t n,
    const struct rec_want *want, size_t nwant, struct rec_span *found);
/* A top-level member: its key's bytes (no escape) and its value's. */
struct rec_member {
	struct rec_span key, val;
};
/*
 * rec_quick_members() for every top-level member, in line order,
 * duplicates included: m[0..*count).  False means "not sure", as for
 * rec_quick_members(), and also with more than max members.
 */
bool rec_quick_all(const void *p, size_t n, struct rec_member *m,
    size_t max, size_t *count);
/* True when p[0..n) is valid UTF-8 without NUL bytes. */
bool rec_utf8_text(const void *p, size_t n);

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
