/*
 * recenv.h - reading the Kafka envelope, the record fs-consume writes
 * for each message (its shape is in fs-consume(1) and kafka.h), in the
 * one way fs-produce -E and fs-backfill --format kafka both read it.
 *
 * rec_env_decode() checks an envelope rec_parse() returned and gives the
 * message it stands for: topic, partition and timestamp when present,
 * and the key and value as the bytes they stand for (a string's text,
 * base64 decoded with "key_encoding"/"value_encoding", embedded JSON as
 * rec_dump() writes it).  Each header is handed to a callback as bytes
 * (NULL for a null header), in order, a repeated name once per value.
 *
 * Ownership: topic and value_json are borrowed from the envelope; the
 * key and value bytes are appended to the caller's buffers (which
 * rec_env_decode() empties first).  On a malformed envelope it returns
 * -1 with why[REC_ERR_MAX] ("envelope: 'partition' is not a partition
 * number"), or what a callback returned when that is negative.
 */
#ifndef FS_RECENV_H
#define FS_RECENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rec.h"

struct rec_env {
	struct buf *key, *value;        /* the caller's; filled as bytes */
	const char *topic;              /* NULL when absent */
	int32_t partition;              /* -1 when absent */
	bool has_timestamp;
	int64_t timestamp;              /* epoch ms when has_timestamp */
	bool has_key, has_value;        /* false: null or absent */
	bool value_member;              /* "value" is there (maybe null) */
	const json_t *value_json;       /* the value when embedded JSON */
};

/* Called for each header: p[0..n) its bytes, p NULL for a null one.
 * A negative return stops decoding with that return (why filled). */
typedef int (*rec_env_header_fn)(void *ctx, const char *name,
    const void *p, size_t n, char *why);

int rec_env_decode(const json_t *env, struct rec_env *e,
    rec_env_header_fn header, void *ctx, char *why);

/* The bytes a JSON value stands for as a key, value or header: a
 * string's text, anything else rec_dump()'s JSON. */
void rec_env_bytes(struct buf *b, const json_t *v);

/*
 * The writing side of the same shapes, for fs-consume's envelope and
 * kcat's -J.  nul_ok: NUL bytes may stand in a JSON string (as
 * "\u0000", kcat's way); without it, bytes holding NUL are not text.
 * tmp is scratch for base64 text.
 */
bool rec_env_text(const void *p, size_t n, bool nul_ok);
/* A header value: null for p NULL, a string when text, else
 * {"base64":"..."}. */
void rec_env_put_header(struct rec_writer *w, struct buf *tmp,
    const void *p, size_t n, bool nul_ok);
/* Bytes that are not text, as member name: "name":"<base64>" then
 * "name_encoding":"base64". */
void rec_env_put_base64(struct rec_writer *w, struct buf *tmp,
    const char *name, const void *p, size_t n);

#endif
