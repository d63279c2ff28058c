/*
 * base64.h - the one base64 of the tree (RFC 4648, standard alphabet,
 * with padding), over nettle's.
 *
 * base64_encode() appends the encoding of n bytes to a buffer (always
 * padded to a multiple of four characters).  base64_decode() appends the
 * bytes an encoding stands for, or returns -1 and leaves the buffer's
 * length as it was when the text is not exactly such an encoding: a
 * length that is not a multiple of four, a character outside the
 * alphabet (whitespace included), '=' anywhere but the last one or two
 * places, or padding bits that are not zero (every byte string has one
 * encoding only).  Both keep buf's trailing NUL (buf.h).
 */
#ifndef FS_BASE64_H
#define FS_BASE64_H

#include <stddef.h>

#include "buf.h"

/* The length of the encoding of n bytes. */
#define BASE64_LENGTH(n) (((n) + 2) / 3 * 4)

void base64_encode(struct buf *b, const void *p, size_t n);
int base64_decode(struct buf *b, const char *s, size_t n);

#endif
