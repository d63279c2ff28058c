/* buf.c - a growable byte buffer (see buf.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "banned.h"

void buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need > b->cap)
		b->data = xgrow(b->data, &b->cap, need, 1);
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_appendc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void buf_appends(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* Decimal digits of v, written backwards ending at end; returns the
 * first.  (snprintf's format parsing was a tenth of an envelope's cost.) */
static char *u64_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

void buf_append_i64(struct buf *b, int64_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *p;

	/* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
	p = u64_digits(e, v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	buf_append(b, p, (size_t)(e - p));
}

void buf_append_u64(struct buf *b, uint64_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *p = u64_digits(e, v);

	buf_append(b, p, (size_t)(e - p));
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
