/* test_buf.c - common/buf.c: integers written in decimal, extremes
 * included, appended after what the buffer holds; the digit writer at
 * every change in length and across its eight-digit steps. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* One value through buf_u64_digits: the digits snprintf gives, ending
 * just before end, and nothing written outside them. */
static void check_digits(uint64_t v)
{
	char tmp[48], want[24], name[64];
	char *end = tmp + 40, *p;
	bool clean = true;

	memset(tmp, '#', sizeof tmp);
	snprintf(want, sizeof want, "%" PRIu64, v);
	p = buf_u64_digits(end, v);
	for (char *q = tmp; q < tmp + sizeof tmp; q++)
		if ((q < p || q >= end) && *q != '#')
			clean = false;
	snprintf(name, sizeof name, "u64 digits of %s", want);
	CHECK(clean && (size_t)(end - p) == strlen(want) &&
	    memcmp(p, want, strlen(want)) == 0, name);
}

static void test_digits(void)
{
	uint64_t p10 = 1;

	check_digits(0);
	/* 10^k-1 and 10^k for every k, so each length's both ends, and the
	 * eight-digit steps at 10^8 and 10^16 */
	for (int k = 1; k <= 19; k++) {
		p10 *= 10;
		check_digits(p10 - 1);
		check_digits(p10);
	}
	check_digits(100000001);
	check_digits(10000000000000001ULL);
	check_digits(1796478355494);
	check_digits(UINT64_MAX - 1);
	check_digits(UINT64_MAX);
}

int main(void)
{
	test_integers();
	test_digits();
	return tap_done();
}
