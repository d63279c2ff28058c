/* test_buf.c - common/buf.c: integers written in decimal, extremes
 * included, appended after what the buffer holds. */
#include <stdint.h>

#include "buf.h"
#include "tap.h"

static void test_integers(void)
{
	static const struct { int64_t v; const char *s; } i64[] = {
		{ 0, "0" }, { 7, "7" }, { -1, "-1" }, { 10, "10" },
		{ 1796478355494, "1796478355494" },
		{ INT64_MAX, "9223372036854775807" },
		{ INT64_MIN, "-9223372036854775808" },
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(i64) / sizeof(i64[0]); i++) {
		buf_reset(&b);
		buf_appendc(&b, 'x');
		buf_append_i64(&b, i64[i].v);
		CHECK_STR(b.data + 1, i64[i].s, "i64 in decimal");
	}
	buf_reset(&b);
	buf_append_u64(&b, UINT64_MAX);
	buf_append_u64(&b, 0);
	CHECK_STR(b.data, "184467440737095516150", "u64: the largest, then 0");
	buf_free(&b);
}

int main(void)
{
	test_integers();
	return tap_done();
}
