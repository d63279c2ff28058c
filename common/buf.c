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

/* Eight digits at a time in 32-bit arithmetic, two by two from a table:
 * millisecond times have 13 digits, and fs-window writes two of them per
 * record.  (snprintf's format parsing was a tenth of an envelope's
 * cost.) */
char *buf_u64_digits(char *end, uint64_t v)
{
	static const char pairs[] =
	    "00010203040506070809101112131415161718192021222324"
	    "25262728293031323334353637383940414243444546474849"
	    "50515253545556575859606162636465666768697071727374"
	    "75767778798081828384858687888990919293949596979899";
	uint32_t u;

	while (v >= 100000000) {
		u = (uint32_t)(v % 100000000);
		v /= 100000000;
		for (int i = 0; i < 4; i++, u /= 100) {
			end -= 2;
			memcpy(end, pairs + 2 * (u % 100), 2);
		}
	}
	for (u = (uint32_t)v; u >= 100; u /= 100) {
		end -= 2;
		memcpy(end, pairs + 2 * (u % 100), 2);
	}
	if (u >= 10) {
		end -= 2;
		memcpy(end, pairs + 2 * u, 2);
	} else {
		*--end = (char)('0' + u);
	}
	return end;
}

void buf_append_i64(struct buf *b, int64_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *p;

	/* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
	p = buf_u64_digits(e, v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	buf_append(b, p, (size_t)(e - p));
}

void buf_append_u64(struct buf *b, uint64_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *p = buf_u64_digits(e, v);

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
