/* Unit tests: record parsing, emitting, splicing, control records. */
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
	test_splice();
	test_control();
	test_emit();
	return tap_done();
}
