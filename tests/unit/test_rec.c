/* Unit tests: record parsing, emitting, splicing, control records. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "rec.h"
#include "tap.h"

static const char *parse_why(const char *line, size_t len)
{
	static char why[REC_ERR_MAX];
	json_t *o = rec_parse(line, len, why);

	if (o != NULL) {
		json_decref(o);
		return "ok";
	}
	return why;
}

static void test_parse(void)
{
	CHECK_STR(parse_why("{\"a\":1}", 7), "ok", "parse: object");
	CHECK_STR(parse_why("{\"a\":1", 6),
	    "invalid JSON: column 6: '}' expected near end of file",
	    "parse: truncated object says where");
	CHECK_STR(parse_why("[1,2]", 5), "not a JSON object: array",
	    "parse: array is not a record");
	CHECK_STR(parse_why("42", 2), "not a JSON object: number",
	    "parse: number is not a record");
	CHECK_STR(parse_why("{\"a\":\"\xff\"}", 9),
	    "invalid JSON: column 6: unable to decode byte 0xff near '\"'",
	    "parse: invalid UTF-8 rejected");
	CHECK_STR(parse_why("{\"a\":1}\0", 8), "invalid JSON: column 8: NUL byte",
	    "parse: NUL byte rejected with its column");
	CHECK_STR(parse_why("{\"a\":1} {\"b\":2}", 15),
	    "invalid JSON: column 9: end of file expected near '{'",
	    "parse: two objects on one line rejected");
}

static const char *dump(const char *json)
{
	static struct buf b;
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);

	buf_reset(&b);
	rec_dump(&b, v);
	json_decref(v);
	return b.data;
}

static void test_dump(void)
{
	CHECK_STR(dump("{\"a\":0.1,\"b\":0.30000000000000004,\"c\":3.0,\"d\":1e21}"),
	    "{\"a\":0.1,\"b\":0.30000000000000004,\"c\":3.0,\"d\":1e+21}",
	    "dump: shortest reals that read back exactly");
	CHECK_STR(dump("{\"s\":\"tab\\there \\\"q\\\" \\u00e9\"}"),
	    "{\"s\":\"tab\\there \\\"q\\\" \xc3\xa9\"}",
	    "dump: escapes by jansson, UTF-8 kept");
	CHECK_STR(dump("{\"k\":[1,-2,true,false,null,{}]}"),
	    "{\"k\":[1,-2,true,false,null,{}]}", "dump: every type, order kept");
	CHECK_STR(dump("{\"z\":1,\"a\":2}"), "{\"z\":1,\"a\":2}",
	    "dump: insertion order");
}

/* The reals' rule, the slow way: "%.Ng" for the least N of 15..17 that
 * reads back, ".0" after an integral one. */
static const char *real_ref(double d)
{
	static char s[48];
	int prec, n = 0;

	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(s, sizeof(s) - 2, "%.*g", prec, d);
		if (strtod(s, NULL) == d)
			break;
	}
	if (strpbrk(s, ".eE") == NULL)
		memcpy(s + n, ".0", 3);
	return s;
}

/* The next value of a 64-bit xorshift, the same every run. */
static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Whether rec_dump() writes d as real_ref() does; on a difference,
 * both are shown and false. */
static bool real_same(double d)
{
	static struct buf b;
	json_t *v;
	bool same;

	if (!isfinite(d))
		return true;    /* not a JSON number; Avro makes it a string */
	v = json_real(d);
	buf_reset(&b);
	rec_dump(&b, v);
	json_decref(v);
	same = strcmp(b.data, real_ref(d)) == 0;
	if (!same)
		printf("#   %a: got '%s', want '%s'\n", d, b.data, real_ref(d));
	return same;
}

static void test_dump_reals(void)
{
	static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7,
		1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
		1e18, 1e19, 1e20, 1e21, 1e22 };
	static const double edges[] = { 1e-4, 1e15, 1e-5, 1e16, 0.1, 0.3,
		1.0 / 3, 2.0 / 3, 9007199254740992.0, 999999999999999.0,
		99999999999999.9, 0.000999999999999999, 123456789012345.0,
		0.5, 1.5, 2.5, 4503599627370496.5, 5e-324, 2.2250738585072014e-308,
		1.7976931348623157e308, 0.30000000000000004 };
	uint64_t x = 88172645463325252u;
	int bad = 0, i;

	for (i = 0; i < (int)(sizeof(edges) / sizeof(*edges)); i++) {
		bad += !real_same(edges[i]) + !real_same(-edges[i]);
		bad += !real_same(nextafter(edges[i], 0)) +
		    !real_same(nextafter(edges[i], INFINITY));
	}
	/* Short decimals, their neighbours, and any bit pattern. */
	for (i = 0; i < 100000 && bad < 10; i++) {
		uint64_t r = next_rand(&x), u;
		double c = (double)(r % 1000000000000000u >>
		    (next_rand(&x) % 50)), d;

		d = c / pow10[next_rand(&x) % 23];
		bad += !real_same(d) + !real_same(nextafter(d, 0)) +
		    !real_same(nextafter(d, INFINITY));
		u = next_rand(&x);
		memcpy(&d, &u, sizeof(d));
		bad += !real_same(d);
		d = (double)(int64_t)(next_rand(&x) >> (next_rand(&x) % 64)) /
		    64.0;
		bad += !real_same(d);
	}
	CHECK(bad == 0, "dump: every real as the fewest of 15 to 17 digits "
	    "that read back (400 000 of them)");
}

static const char *splice(const char *line)
{
	static struct buf b;

	rec_splice_begin(&b, line, strlen(line));
	rec_splice_i64(&b, "window_start", -5);
	rec_splice_str(&b, "w\"k", "v\n");
	rec_splice_end(&b);
	return b.data;
}

static const char *splice_nested(void)
{
	static struct buf b;

	rec_splice_begin(&b, "{}", 2);
	rec_splice_i64(&b, "t", 2);
	rec_splice_object(&b, "bid");
	rec_splice_i64(&b, "p", 7);
	rec_splice_object(&b, "o");
	rec_splice_end(&b);
	rec_splice_end(&b);
	rec_splice_str(&b, "z", "a");
	rec_splice_end(&b);
	return b.data;
}

static const char *splice_raw(void)
{
	static struct buf b;
	struct buf v = BUF_INIT;
	json_t *o = json_loads("{\"n\":[1,2.5],\"s\":\"\\u00e9\"}", 0,
	    NULL);

	rec_dump(&v, o);
	rec_splice_begin(&b, "{\"a\":1}", 7);
	rec_splice_raw(&b, "f", v.data, v.len);
	rec_splice_raw(&b, "g", "null", 4);
	rec_splice_end(&b);
	json_decref(o);
	buf_free(&v);
	return b.data;
}

static void test_splice(void)
{
	CHECK_STR(splice_raw(),
	    "{\"a\":1,\"f\":{\"n\":[1,2.5],\"s\":\"\xc3\xa9\"},\"g\":null}",
	    "splice: raw JSON text as a member");
	CHECK_STR(splice("{\"a\":1}"),
	    "{\"a\":1,\"window_start\":-5,\"w\\\"k\":\"v\\n\"}",
	    "splice: members appended, keys and strings escaped");
	CHECK_STR(splice("{}"), "{\"window_start\":-5,\"w\\\"k\":\"v\\n\"}",
	    "splice: empty object gets no leading comma");
	CHECK_STR(splice(" { \"a\" : [1] }  "),
	    " { \"a\" : [1],\"window_start\":-5,\"w\\\"k\":\"v\\n\"}",
	    "splice: white space around braces");
	CHECK_STR(splice("{ }"), "{\"window_start\":-5,\"w\\\"k\":\"v\\n\"}",
	    "splice: empty object with space");
	CHECK_STR(splice_nested(), "{\"t\":2,\"bid\":{\"p\":7,\"o\":{}},"
	    "\"z\":\"a\"}", "splice: nested objects, from nothing");
}

static enum ctl_kind control(const char *json, struct ctl *c, char *why)
{
	json_t *o = rec_parse(json, strlen(json), why);
	enum ctl_kind k = rec_control(o, c, why);

	json_decref(o);
	return k;
}

static void test_control(void)
{
	struct ctl c;
	char why[REC_ERR_MAX];
	const char *wm = "{\"@fs\":\"watermark\",\"ts\":1000}";

	CHECK(control("{\"a\":1}", &c, why) == CTL_NONE, "control: data record");
	CHECK(control(wm, &c, why) == CTL_WATERMARK && c.ts == 1000,
	    "control: watermark");
	CHECK(control("{\"@fs\":\"barrier\",\"id\":7}", &c, why) == CTL_BARRIER &&
	    c.id == 7, "control: barrier");
	CHECK(control("{\"@fs\":\"restore\",\"id\":3}", &c, why) == CTL_RESTORE &&
	    c.id == 3, "control: restore");
	CHECK(control("{\"@fs\":\"eos\"}", &c, why) == CTL_OTHER,
	    "control: unknown kind is other (forwarded)");
	CHECK(control("{\"@fs\":\"barrier\",\"id\":0}", &c, why) == CTL_INVALID,
	    "control: barrier id 0 invalid");
	CHECK_STR(why, "barrier without positive integer \"id\"",
	    "control: invalid barrier reason");
	CHECK(control("{\"@fs\":\"watermark\",\"ts\":\"x\"}", &c, why) == CTL_INVALID,
	    "control: watermark without integer ts invalid");
	CHECK(control("{\"@fs\":1}", &c, why) == CTL_INVALID,
	    "control: non-string @fs invalid");
	CHECK(rec_line_maybe_control(wm, strlen(wm)), "maybe_control: literal");
	CHECK(rec_line_maybe_control("{\"\\u0040fs\":\"x\"}", 16),
	    "maybe_control: escaped member name");
	CHECK(rec_line_maybe_control("{\"@\\u0066s\":\"x\"}",
	    strlen("{\"@\\u0066s\":\"x\"}")),
	    "maybe_control: another escape in the member name");
	CHECK(!rec_line_maybe_control("{\"fs\":\"@\"}", 10),
	    "maybe_control: data line");
	CHECK(!rec_line_maybe_control("{\"a\":\"x\\ny\"}",
	    strlen("{\"a\":\"x\\ny\"}")),
	    "maybe_control: an escape that is not \\u");
}

static void test_emit(void)
{
	char path[] = "/tmp/fs-test-rec-XXXXXX";
	int fd = mkstemp(path);
	struct out o;
	char got[256] = { 0 };
	FILE *f;

	out_init(&o, fd, path);
	rec_emit_watermark(&o, 5);
	rec_emit_barrier(&o, 2);
	rec_emit_restore(&o, 1);
	out_close(&o);
	f = fopen(path, "r");
	CHECK(f && fread(got, 1, sizeof got - 1, f) > 0, "emit: file written");
	if (f)
		fclose(f);
	unlink(path);
	CHECK_STR(got, "{\"@fs\":\"watermark\",\"ts\":5}\n"
	    "{\"@fs\":\"barrier\",\"id\":2}\n{\"@fs\":\"restore\",\"id\":1}\n",
	    "emit: control records");
}

int main(void)
{
	test_parse();
	test_dump();
	test_dump_reals();
	test_splice();
	test_control();
	test_emit();
	return tap_done();
}
