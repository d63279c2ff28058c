/*
 * base64.c - base64 over nettle's (see base64.h for the rules).
 *
 * nettle skips whitespace and accepts a third '=' after an empty
 * quantum; base64.h promises one encoding per byte string, so those are
 * refused here before and after nettle decodes.
 */
#include <nettle/base64.h>
#include <stdint.h>

#include "base64.h"

#include "banned.h"

void base64_encode(struct buf *b, const void *p, size_t n)
{
	size_t len = BASE64_LENGTH(n);

	buf_reserve(b, len);
	base64_encode_raw(b->data + b->len, n, p);
	b->len += len;
	b->data[b->len] = '\0';
}

int base64_decode(struct buf *b, const char *s, size_t n)
{
	struct base64_decode_ctx ctx;
	size_t pad = 0, want, got;

	if (n % 4 != 0)
		return -1;
	while (pad < n && s[n - 1 - pad] == '=')
		pad++;
	if (pad > 2)
		return -1;
	for (size_t i = 0; i < n - pad; i++)
		if ((unsigned char)s[i] <= ' ')
			return -1;      /* nettle would skip it */
	want = n / 4 * 3 - pad;
	got = BASE64_DECODE_LENGTH(n);
	buf_reserve(b, got);
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &got, (uint8_t *)b->data + b->len, n, s) ||
	    !base64_decode_final(&ctx) || got != want) {
		b->data[b->len] = '\0';
		return -1;
	}
	b->len += got;
	b->data[b->len] = '\0';
	return 0;
}
