/* Unit tests: the Confluent frame and the Avro codec on hand-built bytes. */
#include <stdlib.h>

#include "buf.h"
#include "rec.h"
#include "schema/schema.h"
#include "tap.h"

static const char all_types[] =
"{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"ns\",\"fields\":["
"{\"name\":\"n\",\"type\":\"null\"},"
"{\"name\":\"b\",\"type\":\"boolean\"},"
"{\"name\":\"i\",\"type\":\"int\"},"
"{\"name\":\"l\",\"type\":\"long\"},"
"{\"name\":\"f\",\"type\":\"float\"},"
"{\"name\":\"d\",\"type\":\"double\"},"
"{\"name\":\"by\",\"type\":\"bytes\"},"
"{\"name\":\"s\",\"type\":\"string\"},"
"{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}},"
"{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},"
"{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
"{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
"{\"name\":\"u\",\"type\":[\"null\",\"string\",\"E\"]},"
"{\"name\":\"dec\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
"\"precision\":6,\"scale\":2}},"
"{\"name\":\"dt\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
"{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}"
"]}";

/* Every field of all_types, written out byte by byte. */
static const unsigned char all_bytes[] = {
	/* n */
	0x01,                                   /* b: true */
	0x01,                                   /* i: -1 */
	0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, /* l: 2^53+1 */
	0x00, 0x00, 0xc0, 0x3f,                 /* f: 1.5 */
	0, 0, 0, 0, 0, 0, 0x02, 0xc0,           /* d: -2.25 */
	0x04, 0x00, 0xff,                       /* by: 00 ff */
	0x06, 'h', 0xc3, 0xa9,                  /* s: "hé" */
	0x02,                                   /* e: B */
	0x41, 0x80,                             /* fx: 41 80 */
	0x04, 0x02, 0x03, 0x00,                 /* a: [1,-2] */
	0x02, 0x02, 'k', 0x0a, 0x00,            /* m: {"k":5} */
	0x04, 0x00,                             /* u: branch E, A */
	0x02, 0x85,                             /* dec: -123 scale 2 */
	0xbc, 0xae, 0x02,                       /* dt: 19358 */
	0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62,     /* ts: 1700000000000 */
};

static const char all_json[] =
"{\"n\":null,\"b\":true,\"i\":-1,\"l\":9007199254740993,\"f\":1.5,"
"\"d\":-2.25,\"by\":\"AP8=\",\"s\":\"h\xc3\xa9\",\"e\":\"B\","
"\"fx\":\"QYA=\",\"a\":[1,-2],\"m\":{\"k\":5},\"u\":{\"ns.E\":\"A\"},"
"\"dec\":\"-1.23\",\"dt\":\"2023-01-01\",\"ts\":1700000000000}";

static struct avro_sch *schema(const char *text)
{
	char why[SCHEMA_ERR_MAX];
	struct avro_sch *s = avsch_new(text, strlen(text), why);

	if (s == NULL)
		printf("# schema: %s\n", why);
	return s;
}

/* The decoded JSON as fs writes it, or "ERR: reason". */
static char *decode(const struct avro_sch *s, const void *p, size_t n)
{
	char why[SCHEMA_ERR_MAX];
	struct buf b = BUF_INIT;
	json_t *v = avsch_decode(s, p, n, why);

	if (v == NULL) {
		buf_appends(&b, "ERR: ");
		buf_appends(&b, why);
	} else {
		rec_dump(&b, v);
		json_decref(v);
	}
	return b.data;
}

static void test_frame(void)
{
	static const unsigned char f[] = { 0, 0, 0, 1, 2, 0x55 };
	const unsigned char *p;
	char why[SCHEMA_ERR_MAX];
	uint32_t id = 0;
	size_t n = 0;
	struct buf b = BUF_INIT;

	CHECK(confluent_parse(f, sizeof(f), &id, &p, &n, why) == 0 &&
	    id == 258 && n == 1 && p[0] == 0x55, "frame: id 258, one byte");
	CHECK(confluent_parse("{\"a\":1}", 7, &id, &p, &n, why) == -1,
	    "frame: JSON has no magic byte");
	CHECK_STR(why, "not Confluent-framed: first byte 0x7b, not the magic "
	    "byte 0", "frame: the reason names the byte");
	CHECK(confluent_parse(f, 4, &id, &p, &n, why) == -1,
	    "frame: 4 bytes is shorter than the header");
	confluent_header(&b, 0x01020304);
	CHECK(b.len == 5 && memcmp(b.data, "\0\1\2\3\4", 5) == 0,
	    "frame: header big-endian");
	buf_free(&b);
}

static void test_decode_all(void)
{
	struct avro_sch *s = schema(all_types);
	unsigned char bad[sizeof(all_bytes) + 1];
	char *got;
	size_t i;
	int crashed_or_accepted = 0;

	CHECK(s != NULL, "schema with every type compiles");
	if (s == NULL)
		return;
	got = decode(s, all_bytes, sizeof(all_bytes));
	CHECK_STR(got, all_json, "decode: every type");
	free(got);
	/* Every truncation is an error. */
	for (i = 0; i < sizeof(all_bytes); i++) {
		got = decode(s, all_bytes, i);
		crashed_or_accepted += strncmp(got, "ERR: ", 5) != 0;
		free(got);
	}
	CHECK(crashed_or_accepted == 0, "decode: every truncation rejected");
	memcpy(bad, all_bytes, sizeof(all_bytes));
	bad[sizeof(all_bytes)] = 0;
	got = decode(s, bad, sizeof(bad));
	CHECK_STR(got, "ERR: 1 bytes after the value", "decode: trailing byte");
	free(got);
	/* Every single byte changed to each value: an answer, never a crash
	 * (ASan makes a bad read fail the run). */
	for (i = 0; i < sizeof(all_bytes); i++) {
		for (int v = 0; v < 256; v++) {
			memcpy(bad, all_bytes, sizeof(all_bytes));
			bad[i] = (unsigned char)v;
			free(decode(s, bad, sizeof(all_bytes)));
		}
	}
	CHECK(1, "decode: every one-byte corruption answered");
	avsch_free(s);
}

static void check_err(const char *sch, const void *p, size_t n,
    const char *want, const char *name)
{
	struct avro_sch *s = schema(sch);
	char *got = s ? decode(s, p, n) : NULL;

	CHECK_STR(got, want, name);
	free(got);
	avsch_free(s);
}

static void test_decode_errors(void)
{
	check_err("\"bytes\"", "\x01", 1,
	    "ERR: length -1 does not fit the 0 bytes left",
	    "decode: negative bytes length");
	check_err("\"string\"", "\xfe\xff\xff\xff\x0f", 5,
	    "ERR: length 2147483647 does not fit the 0 bytes left",
	    "decode: huge string length");
	check_err("\"string\"", "\x02\xff", 2, "ERR: string is not UTF-8",
	    "decode: invalid UTF-8");
	check_err("\"boolean\"", "\x02", 1,
	    "ERR: boolean byte is not 0 or 1", "decode: boolean 2");
	check_err("[\"null\",\"int\"]", "\x04", 1,
	    "ERR: union index out of range", "decode: union index 2 of 2");
	check_err("[\"null\",\"int\"]", "\x01", 1,
	    "ERR: union index out of range", "decode: union index -1");
	check_err("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}",
	    "\x02", 1, "ERR: enum index out of range", "decode: enum index 1 of 1");
	check_err("\"long\"", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x01",
	    11, "ERR: varint longer than 10 bytes", "decode: 11-byte varint");
	check_err("\"long\"", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
	    10, "ERR: varint overflows 64 bits", "decode: varint past 64 bits");
	check_err("\"long\"", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
	    10, "-9223372036854775808", "decode: INT64_MIN");
	check_err("\"int\"", "\x80\x80\x80\x80\x10", 5,
	    "ERR: int out of range", "decode: int past 32 bits");
	check_err("{\"type\":\"array\",\"items\":\"int\"}", "\xfe\xff\xff\x0f",
	    4, "ERR: count 16777215 does not fit the 0 bytes left",
	    "decode: array count past the bytes");
	check_err("{\"type\":\"array\",\"items\":\"null\"}",
	    "\xfe\xff\xff\xff\x0f", 5, "ERR: more than 65536 items",
	    "decode: array of nulls capped");
	check_err("{\"type\":\"array\",\"items\":\"null\"}", "\x01\x00\x00", 3,
	    "[null]", "decode: negative block count with a byte size");
	check_err("{\"type\":\"array\",\"items\":\"null\"}",
	    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10,
	    "ERR: block count out of range", "decode: block count INT64_MIN");
	check_err("\"double\"", "\0\0\0\0\0\0\xf8\x7f", 8, "\"NaN\"",
	    "decode: NaN as a string");
	check_err("\"float\"", "\0\0\x80\xff", 4, "\"-Infinity\"",
	    "decode: -Infinity as a string");
	check_err("{\"type\":\"fixed\",\"name\":\"D\",\"size\":3,"
	    "\"logicalType\":\"decimal\",\"precision\":5,\"scale\":0}",
	    "\xff\xff\xff", 3, "\"-1\"", "decode: decimal on fixed, -1");
	check_err("{\"type\":\"bytes\",\"logicalType\":\"decimal\","
	    "\"precision\":30,\"scale\":4}",
	    "\x12\x01\x00\x00\x00\x00\x00\x00\x00\x00", 10,
	    "\"1844674407370955.1616\"", "decode: decimal wider than 64 bits");
	check_err("{\"type\":\"int\",\"logicalType\":\"date\"}", "\x01", 1,
	    "\"1969-12-31\"", "decode: date before the epoch");
	check_err("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}",
	    "\x02", 1, "1", "decode: timestamp-micros stays an integer");
	check_err("{\"type\":\"record\",\"name\":\"L\",\"fields\":[{\"name\":"
	    "\"next\",\"type\":[\"null\",\"L\"]}]}", "\x02\x02\x00", 3,
	    "{\"next\":{\"L\":{\"next\":{\"L\":{\"next\":null}}}}}",
	    "decode: recursive record");
}

static void check_enc(const char *sch, const char *json, const char *want,
    size_t wlen, const char *name)
{
	struct avro_sch *s = schema(sch);
	char why[SCHEMA_ERR_MAX];
	json_error_t err;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &err);
	struct buf b = BUF_INIT;
	int rc = s && v ? avsch_encode(s, v, &b, why) : -2;

	if (wlen == 0) {
		CHECK_STR(rc == -1 ? why : "(encoded)", want, name);
	} else {
		CHECK(rc == 0 && b.len == wlen && memcmp(b.data, want, wlen) == 0,
		    name);
		if (rc != 0)
			printf("#   %s\n", rc == -1 ? why : "setup");
	}
	buf_free(&b);
	json_decref(v);
	avsch_free(s);
}

static void test_encode(void)
{
	static const char dec[] = "{\"type\":\"bytes\",\"logicalType\":"
	    "\"decimal\",\"precision\":6,\"scale\":2}";
	static const char rec[] = "{\"type\":\"record\",\"name\":\"R\","
	    "\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"o\","
	    "\"type\":[\"null\",\"string\"],\"default\":null}]}";
	struct avro_sch *s = schema(all_types);
	char why[SCHEMA_ERR_MAX];
	json_t *v = json_loads(all_json, JSON_ALLOW_NUL, NULL);
	struct buf b = BUF_INIT;

	CHECK(s && v && avsch_encode(s, v, &b, why) == 0 &&
	    b.len == sizeof(all_bytes) && memcmp(b.data, all_bytes, b.len) == 0,
	    "encode: every type gives the hand-built bytes");
	buf_free(&b);
	json_decref(v);
	avsch_free(s);
	check_enc(dec, "\"-1.23\"", "\x02\x85", 2, "encode: decimal -1.23");
	check_enc(dec, "\"0.5\"", "\x02\x32", 2, "encode: decimal 0.5 scaled");
	check_enc(dec, "7", "\x04\x02\xbc", 3, "encode: decimal from integer");
	check_enc(dec, "\"1.234\"", "decimal '1.234' has more than 2 decimal "
	    "places", 0, "encode: decimal past its scale");
	check_enc(dec, "\"12345.67\"", "decimal has more than 6 digits", 0,
	    "encode: decimal past its precision");
	check_enc(dec, "\"1e5\"", "not a decimal number: '1e5'", 0,
	    "encode: decimal with exponent");
	check_enc(rec, "{\"a\":1}", "\x02\x00", 2,
	    "encode: missing field takes its default");
	check_enc(rec, "{\"a\":1,\"o\":\"x\"}", "\x02\x02\x02x", 4,
	    "encode: union value not wrapped");
	check_enc(rec, "{\"a\":1,\"o\":{\"string\":\"x\"}}", "\x02\x02\x02x", 4,
	    "encode: union value wrapped");
	check_enc(rec, "{\"o\":null}", "at .a: missing field", 0,
	    "encode: missing field without default");
	check_enc(rec, "{\"a\":\"1\"}", "at .a: expected int, got string", 0,
	    "encode: wrong type names the field");
	check_enc(rec, "{\"a\":1,\"z\":2}", "'z' is not a field of R", 0,
	    "encode: unknown member");
	check_enc(rec, "{\"a\":4294967296}", "at .a: 4294967296 is out of the "
	    "int range", 0, "encode: int range");
	check_enc("\"bytes\"", "\"a*b\"", "not base64: 'a*b'", 0,
	    "encode: bytes not base64");
	check_enc("\"bytes\"", "\"AP8=\"", "\x04\x00\xff", 3,
	    "encode: bytes from base64");
	check_enc("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}", "\"YQ==\"",
	    "fixed(2) given 1 bytes", 0, "encode: fixed of the wrong size");
	check_enc("{\"type\":\"int\",\"logicalType\":\"date\"}", "\"2023-02-30\"",
	    "not a date YYYY-MM-DD: '2023-02-30'", 0, "encode: bad date");
	check_enc("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}",
	    "\"B\"", "'B' is not a symbol of E", 0, "encode: unknown symbol");
	check_enc("[\"int\",\"string\"]", "true",
	    "boolean fits no branch of the union", 0, "encode: no branch fits");
}

/*
 * avsch_encode_text() on one line: 0 ("text"), when the tree path
 * (rec_parse + avsch_encode) writes the same bytes, 1 ("tree") when it
 * leaves the line to that path; "MISMATCH" when it wrote what the tree
 * path would not.
 */
static const char *text_path(const struct avro_sch *s, const char *line)
{
	struct buf got = BUF_INIT, want = BUF_INIT;
	char why[SCHEMA_ERR_MAX];
	json_t *v;
	int rc, trc = -1;
	const char *res;

	buf_appends(&got, "HDR");
	rc = avsch_encode_text(s, line, strlen(line), &got);
	v = rec_parse(line, strlen(line), why);
	buf_appends(&want, "HDR");
	if (v != NULL)
		trc = avsch_encode(s, v, &want, why);
	if (rc == 0)
		res = trc == 0 && got.len == want.len &&
		    memcmp(got.data, want.data, got.len) == 0 ? "text" :
		    "MISMATCH";
	else
		res = got.len == 3 ? "tree" : "MISMATCH (b changed)";
	json_decref(v);
	buf_free(&got);
	buf_free(&want);
	return res;
}

static void test_encode_text(void)
{
	static const char click[] = "{\"type\":\"record\",\"name\":\"C\","
	    "\"fields\":[{\"name\":\"user\",\"type\":\"string\"},"
	    "{\"name\":\"ts\",\"type\":{\"type\":\"long\","
	    "\"logicalType\":\"timestamp-millis\"}},"
	    "{\"name\":\"amount\",\"type\":\"double\"},"
	    "{\"name\":\"f\",\"type\":\"float\"},"
	    "{\"name\":\"n\",\"type\":\"int\"},"
	    "{\"name\":\"ok\",\"type\":\"boolean\"},"
	    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
	    "\"symbols\":[\"A\",\"B\"]}},"
	    "{\"name\":\"o\",\"type\":[\"null\",\"string\"]},"
	    "{\"name\":\"u\",\"type\":[\"int\",\"double\",\"null\"]},"
	    "{\"name\":\"z\",\"type\":\"null\"}]}";
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "{\"user\":\"u1\",\"ts\":1764057600000,\"amount\":1.5,"
		  "\"f\":0.1,\"n\":-7,\"ok\":true,\"e\":\"B\",\"o\":null,"
		  "\"u\":3,\"z\":null}", "text" },
		/* members in any order, whitespace, the other branches */
		{ " { \"z\" : null , \"u\":2.5,\"o\":\"x y\",\"e\":\"A\","
		  "\"ok\":false,\"n\":2147483647,\"f\":-1e3,\"amount\":-0,"
		  "\"ts\":-9,\"user\":\"\"}\t", "text" },
		{ "{\"user\":\"u\",\"ts\":0,\"amount\":1E+2,\"f\":7,\"n\":0,"
		  "\"ok\":true,\"e\":\"A\",\"o\":\"s\",\"u\":null,\"z\":null}",
		  "text" },
		{ "{\"user\":\"u\",\"ts\":0,\"amount\":-0.0,\"f\":1e-50,"
		  "\"n\":0,\"ok\":true,\"e\":\"A\",\"o\":\"s\",\"u\":-2147483648,"
		  "\"z\":null}", "text" },
		/* left to the tree path: escapes, non-ASCII, a missing
		 * field, an unknown or repeated member, values that do not
		 * fit, numbers jansson decides, wrapped unions, bad JSON */
		{ "{\"user\":\"a\\\"b\",\"ts\":0,\"amount\":1,\"f\":1,\"n\":0,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"h\xc3\xa9\",\"ts\":0,\"amount\":1,\"f\":1,\"n\":0,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":0,\"amount\":1,\"f\":1,\"n\":0,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1}", "tree" },
		{ "{\"user\":\"u\",\"ts\":0,\"amount\":1,\"f\":1,\"n\":0,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null,\"q\":1}",
		  "tree" },
		{ "{\"user\":\"u\",\"user\":\"v\",\"ts\":0,\"amount\":1,\"f\":1,"
		  "\"n\":0,\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}",
		  "tree" },
		{ "{\"user\":\"u\",\"ts\":0,\"amount\":1,\"f\":1,\"n\":2147483648,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1.0,\"amount\":1,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1234567890123456789,\"amount\":1,"
		  "\"f\":1,\"n\":2,\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,"
		  "\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":1e999,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":\"NaN\",\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":1,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"C\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":1,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":{\"string\":\"x\"},\"u\":1,"
		  "\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":1,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":true,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":01,\"amount\":1,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":1.,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":1,\"f\":1,\"n\":2,"
		  "\"ok\":truex,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":1,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null} x", "tree" },
		{ "{\"user\":\"u\",\"ts\":1,\"amount\":1,\"f\":1,\"n\":2,"
		  "\"ok\":true,\"e\":\"A\",\"o\":null,\"u\":1,\"z\":null,}", "tree" },
		{ "{\"user\":\"u\",\"ts\":1", "tree" },
		{ "{}", "tree" },
		{ "[]", "tree" },
		{ "", "tree" },
	};
	struct avro_sch *s = schema(click), *arr = schema("{\"type\":\"array\","
	    "\"items\":\"int\"}");

	for (size_t i = 0; s && i < sizeof(cases) / sizeof(*cases); i++) {
		const char *got = text_path(s, cases[i].line);
		char name[64];

		if (strcmp(got, cases[i].want) != 0)
			printf("# %s: '%s'\n", got, cases[i].line);
		snprintf(name, sizeof(name), "encode text: case %zu: %s", i,
		    cases[i].want);
		CHECK(strcmp(got, cases[i].want) == 0, name);
	}
	CHECK(arr && strcmp(text_path(arr, "[1]"), "tree") == 0,
	    "encode text: a root that is not a record is the tree path's");
	avsch_free(s);
	avsch_free(arr);
}

static void test_bad_schemas(void)
{
	char why[SCHEMA_ERR_MAX];

	CHECK(avsch_new("{\"type\":\"record\"}", 17, why) == NULL,
	    "schema: record without name or fields rejected");
	CHECK(avsch_new("\"nosuch\"", 8, why) == NULL,
	    "schema: unknown type rejected");
	CHECK(avsch_new("{", 1, why) == NULL, "schema: not JSON rejected");
}

int main(void)
{
	test_frame();
	test_encode_text();
	test_decode_all();
	test_decode_errors();
	test_encode();
	test_bad_schemas();
	return tap_done();
}
