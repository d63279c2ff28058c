/*
 * buf.h - a growable byte buffer.
 *
 * The buffer owns data; buf_free() releases it.  data is always NUL
 * terminated after len bytes (the NUL is not counted), so it can be
 * passed to functions that want a C string when it holds no NUL itself.
 * Allocation failure exits (xalloc.h), so appends cannot fail.
 */
#ifndef FS_BUF_H
#define FS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_appendc(struct buf *b, char c);
void buf_appends(struct buf *b, const char *s);
void buf_append_i64(struct buf *b, int64_t v);
void buf_append_u64(struct buf *b, uint64_t v);
/* v's decimal digits written backwards so that they end just before
 * end (at most 20 bytes, no NUL); returns where they start. */
char *buf_u64_digits(char *end, uint64_t v);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
