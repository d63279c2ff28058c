/*
 * mpjson.h - checkpoint payloads in MessagePack (msgpack-c), the binary
 * form of their JSON: each jansson value has one msgpack form and back
 *
 *   null, true, false    nil, true, false
 *   integer              int (the shortest form msgpack-c picks)
 *   real                 float 64
 *   string               str (UTF-8, as jansson holds it)
 *   array, object        array, map with str keys
 *
 * so a stage may write its state straight to msgpack (no jansson tree,
 * no number formatting) and read it back through the JSON it stands
 * for.  A payload is a stream: msgpack values one after another.  A
 * value that has no JSON form (a non-str map key, bin, ext, a
 * non-finite float, an integer beyond int64) is reported as not valid.
 */
#ifndef FS_MPJSON_H
#define FS_MPJSON_H

#include <jansson.h>
#include <msgpack.h>
#include <stddef.h>
#include <string.h>

#include "buf.h"

/*
 * msgpack-c's packers again (its pack_template.h), inlined and appending
 * to a buf directly rather than through a packer's callback, for values
 * written by the million (a checkpoint's keys): mpb_pack_int64(b, v),
 * mpb_pack_array(b, n), mpb_pack_str(b, n) and mpb_pack_str_body(b, p,
 * n), mpb_pack_double(b, d), ...  The bytes are those of msgpack_pack_*.
 */
static inline int mpb_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n >= b->cap)
		buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

#define msgpack_pack_inline_func(name) static inline int mpb_pack ## name
#define msgpack_pack_inline_func_cint(name) static inline int mpb_pack ## name
#define msgpack_pack_inline_func_fixint(name) \
	static inline int mpb_pack_fix ## name
#define msgpack_pack_user struct buf *
#define msgpack_pack_append_buffer(user, p, n) return mpb_append(user, p, n)
#define msgpack_pack_ext mpb_pack_ext
#include <msgpack/pack_template.h>
#undef msgpack_pack_ext

/* A str of n bytes, to b. */
static inline void mpb_pack_strn(struct buf *b, const char *s, size_t n)
{
	mpb_pack_str(b, n);
	mpb_pack_str_body(b, s, n);
}

/* pk appends to b. */
void mpj_packer(msgpack_packer *pk, struct buf *b);
/* v in its msgpack form. */
void mpj_pack(msgpack_packer *pk, const json_t *v);
/* A str of n bytes. */
void mpj_pack_strn(msgpack_packer *pk, const char *s, size_t n);
/* A str of a C string. */
void mpj_pack_str(msgpack_packer *pk, const char *s);

/* The value of the stream p (len bytes) at *off, as JSON (a new
 * reference), *off moved past it; NULL at the end of the stream, with
 * *why NULL, or when the value is not valid (cut short, or no JSON
 * form), with *why saying why. */
json_t *mpj_next(const char *p, size_t len, size_t *off, const char **why);
/* Each value of the stream p as a line of compact JSON appended to out:
 * 0, or -1 with *why. */
int mpj_lines(struct buf *out, const char *p, size_t len, const char **why);

#endif
