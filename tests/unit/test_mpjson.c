/* Unit tests: checkpoint payloads in msgpack (mpjson.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mpjson.h"
#include "tap.h"
#include "banned.h"

/* text (JSON) packed and read back is the same JSON, and its bytes the
 * size msgpack gives it. */
static void round_trip(const char *text, const char *name)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	json_t *back = NULL;
	struct buf b = BUF_INIT;
	msgpack_packer pk;
	const char *why;
	size_t off = 0;

	mpj_packer(&pk, &b);
	if (v != NULL) {
		mpj_pack(&pk, v);
		back = mpj_next(b.data, b.len, &off, &why);
	}
	CHECK(v != NULL && back != NULL && off == b.len && json_equal(v, back) &&
	    json_typeof(v) == json_typeof(back), name);
	json_decref(v);
	json_decref(back);
	buf_free(&b);
}

/* The bytes p (n) are not valid: the message is want. */
static void invalid(const char *p, size_t n, const char *want,
    const char *name)
{
	size_t off = 0;
	const char *why;
	json_t *v = mpj_next(p, n, &off, &why);

	CHECK(v == NULL, name);
	CHECK_STR(why, want, name);
	json_decref(v);
}

static void test_values(void)
{
	round_trip("null", "null");
	round_trip("[true,false]", "booleans");
	round_trip("[0,1,-1,127,128,-33,65536,9223372036854775807,"
	    "-9223372036854775808]", "integers at msgpack's size steps");
	round_trip("[0.0,1.5,-2.25e300,1e-300]", "reals stay reals (0.0 too)");
	round_trip("[\"\",\"a\",\"h\\u00e9\\u0000x\"]", "strings, NUL and "
	    "UTF-8 kept");
	round_trip("{\"key\":\"u1\",\"slots\":[[0,86400000,[3,[3,0,9,0.0,"
	    "0.0],5]]],\"fired\":-9223372036854775808}", "an fs-agg key entry");
	round_trip("{}", "an empty object");
}

static void test_stream(void)
{
	struct buf b = BUF_INIT, lines = BUF_INIT;
	msgpack_packer pk;
	json_t *v;
	const char *why;
	size_t off = 0;
	int n = 0;

	mpj_packer(&pk, &b);
	for (int i = 0; i < 3; i++) {
		v = json_pack("{s:i}", "n", i);
		mpj_pack(&pk, v);
		json_decref(v);
	}
	while ((v = mpj_next(b.data, b.len, &off, &why)) != NULL) {
		n += json_integer_value(json_object_get(v, "n")) == n;
		json_decref(v);
	}
	CHECK(n == 3 && why == NULL, "a stream: each value in order, then "
	    "the end");
	CHECK(mpj_lines(&lines, b.data, b.len, &why) == 0, "lines");
	CHECK_STR(lines.data, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n",
	    "lines: a line of JSON per value");
	off = 0;
	v = mpj_next(b.data, b.len - 1, &off, &why);
	json_decref(v);
	v = mpj_next(b.data, b.len - 1, &off, &why);
	json_decref(v);
	CHECK(mpj_next(b.data, b.len - 1, &off, &why) == NULL &&
	    why != NULL && strcmp(why, "a msgpack value cut short") == 0,
	    "a stream cut short: its last value is not valid");
	buf_free(&b);
	buf_free(&lines);
}

static void test_invalid(void)
{
	invalid("\x81\x01\xc0", 3, "a map key that is not a string",
	    "a map with an integer key");
	invalid("\xc4\x01x", 3, "a msgpack value with no JSON form (bin or "
	    "ext)", "bin");
	invalid("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9,
	    "an integer beyond 64-bit signed", "uint64 beyond int64");
	invalid("\xcb\x7f\xf0\0\0\0\0\0\0", 9, "a float that is not finite",
	    "infinity");
	invalid("\xa2\xff\xfe", 3, "a string that is not UTF-8", "not UTF-8");
	invalid("\xc1", 1, "not msgpack (or nested too deep)", "0xc1 is never "
	    "used");
}

int main(void)
{
	test_values();
	test_stream();
	test_invalid();
	return tap_done();
}
