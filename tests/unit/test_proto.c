/* Unit tests: the Protobuf codec (proto_schema.cc) on hand-built frames:
 * the message-index array, every kind of field, and bad input. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rec.h"
#include "schema/schema.h"
#include "tap.h"

static const char proto_text[] =
"syntax = \"proto3\";\n"
"package t;\n"
"import \"google/protobuf/timestamp.proto\";\n"
"message Outer {\n"
"  message Inner { uint64 u = 1; }\n"
"  int32 i = 1;\n"
"  int64 l = 2;\n"
"  string s = 3;\n"
"  bytes b = 4;\n"
"  Color c = 5;\n"
"  repeated int32 r = 6;\n"
"  map<string, int64> m = 7;\n"
"  oneof choice { string name = 8; Inner inner = 9; }\n"
"  Inner nested = 10;\n"
"  double d = 11;\n"
"  google.protobuf.Timestamp ts = 12;\n"
"}\n"
"enum Color { RED = 0; GREEN = 1; }\n"
"message Second { string x_y = 1; }\n";

/* Index [0] (the single byte 0), then t.Outer as protoc --encode wrote
 * it. */
static const unsigned char outer_frame[] = {
	0x00,                                           /* index [0] */
	0x08, 0x96, 0x01,                               /* i: 150 */
	0x10, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, /* l: 2^53+1 */
	0x1a, 0x03, 'h', 0xc3, 0xa9,                    /* s: "hé" */
	0x22, 0x02, 0x00, 0xff,                         /* b: 00 ff */
	0x28, 0x01,                                     /* c: GREEN */
	0x32, 0x02, 0x01, 0x02,                         /* r: [1,2] packed */
	0x3a, 0x05, 0x0a, 0x01, 'k', 0x10, 0x05,        /* m: {"k":5} */
	0x42, 0x01, 'x',                                /* name: "x" */
	0x52, 0x02, 0x08, 0x07,                         /* nested: {u:7} */
	0x59, 0, 0, 0, 0, 0, 0, 0x02, 0xc0,             /* d: -2.25 */
	0x62, 0x06, 0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, /* ts: 1700000000 s */
};

static const char outer_json[] =
"{\"i\":150,\"l\":\"9007199254740993\",\"s\":\"h\xc3\xa9\",\"b\":\"AP8=\","
"\"c\":\"GREEN\",\"r\":[1,2],\"m\":{\"k\":\"5\"},\"name\":\"x\","
"\"nested\":{\"u\":\"7\"},\"d\":-2.25,\"ts\":\"2023-11-14T22:13:20Z\"}";

static struct proto_sch *schema(const char *text)
{
	char why[SCHEMA_ERR_MAX];
	struct proto_sch *s = protosch_new(text, strlen(text), why);

	if (s == NULL)
		printf("# schema: %s\n", why);
	return s;
}

/* The decoded JSON as fs writes it, or "ERR: reason". */
static char *decode(const struct proto_sch *s, const void *p, size_t n)
{
	char why[SCHEMA_ERR_MAX];
	struct buf b = BUF_INIT;
	json_t *v = protosch_decode(s, p, n, why);

	if (v == NULL) {
		buf_appends(&b, "ERR: ");
		buf_appends(&b, why);
	} else {
		rec_dump(&b, v);
		json_decref(v);
	}
	return b.data;
}

static void check_dec(const struct proto_sch *s, const void *p, size_t n,
    const char *want, const char *name)
{
	char *got = decode(s, p, n);

	CHECK_STR(got, want, name);
	free(got);
}

static void test_decode(void)
{
	struct proto_sch *s = schema(proto_text);
	static const unsigned char second[] = { 0x02, 0x02, 0x0a, 0x01, 'a' };
	static const unsigned char inner[] = { 0x04, 0x00, 0x00, 0x08, 0x07 };
	static const unsigned char empty[] = { 0x00 };

	CHECK(s != NULL, "schema: .proto text with an import of Timestamp");
	if (s == NULL)
		return;
	check_dec(s, outer_frame, sizeof(outer_frame), outer_json,
	    "decode: every kind of field, canonical JSON");
	check_dec(s, second, sizeof(second), "{\"xY\":\"a\"}",
	    "decode: index [1] is the second message; json_name lowerCamelCase");
	check_dec(s, inner, sizeof(inner), "{\"u\":\"7\"}",
	    "decode: index [0,0] is the first message nested in the first");
	check_dec(s, empty, sizeof(empty), "{}",
	    "decode: an empty message has no members");
	protosch_free(s);
}

static void test_decode_errors(void)
{
	struct proto_sch *s = schema(proto_text);
	static const unsigned char idx_range[] = { 0x02, 0x06, 0x08, 0x01 };
	static const unsigned char idx_nested[] = { 0x04, 0x00, 0x04 };
	static const unsigned char idx_neg[] = { 0x01, 0x00 };
	static const unsigned char idx_short[] = { 0x06, 0x00 };
	static const unsigned char idx_neg_entry[] = { 0x02, 0x01 };
	static const unsigned char idx_long[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff };
	static const unsigned char bad_utf8[] = { 0x00, 0x1a, 0x01, 0xff };
	static const unsigned char bad_wire[] = { 0x00, 0x0f };
	unsigned char cut[sizeof(outer_frame)];

	if (s == NULL)
		return;
	check_dec(s, idx_range, sizeof(idx_range),
	    "ERR: message index [3] names no message of the schema",
	    "decode: top-level index out of range");
	check_dec(s, idx_nested, sizeof(idx_nested),
	    "ERR: message index [0,2] names no message of the schema",
	    "decode: nested index out of range (map entries count, [0,1])");
	check_dec(s, idx_neg, sizeof(idx_neg), "ERR: bad message-index array",
	    "decode: negative count");
	check_dec(s, idx_short, sizeof(idx_short),
	    "ERR: bad message-index array", "decode: array cut short");
	check_dec(s, idx_neg_entry, sizeof(idx_neg_entry),
	    "ERR: message index [-1] names no message of the schema",
	    "decode: negative index");
	check_dec(s, idx_long, sizeof(idx_long), "ERR: bad message-index array",
	    "decode: varint longer than five bytes");
	check_dec(s, "", 0, "ERR: bad message-index array",
	    "decode: nothing after the header");
	check_dec(s, bad_utf8, sizeof(bad_utf8),
	    "ERR: not a valid t.Outer message", "decode: string not UTF-8");
	check_dec(s, bad_wire, sizeof(bad_wire),
	    "ERR: not a valid t.Outer message", "decode: bad wire type");
	for (size_t n = 2; n < sizeof(outer_frame); n++) {
		char *got;

		memcpy(cut, outer_frame, n);
		got = decode(s, cut, n);
		/* Cut at a field boundary, a shorter message is valid. */
		if (strncmp(got, "ERR: ", 5) != 0 && got[0] != '{') {
			CHECK(0, "decode: truncated payload");
			free(got);
			break;
		}
		free(got);
	}
	memcpy(cut, outer_frame, 16);
	check_dec(s, cut, 16, "ERR: not a valid t.Outer message",
	    "decode: payload truncated inside a string");
	protosch_free(s);
}

static char *encode(const struct proto_sch *s, const char *msg,
    const char *json)
{
	char why[SCHEMA_ERR_MAX];
	struct buf b = BUF_INIT;
	json_t *v = json_loads(json, 0, NULL);

	buf_appends(&b, "");
	if (protosch_encode(s, msg, v, &b, why) < 0) {
		buf_reset(&b);
		buf_appends(&b, "ERR: ");
		buf_appends(&b, why);
	}
	json_decref(v);
	return b.data;
}

static void test_encode(void)
{
	struct proto_sch *s = schema(proto_text);
	struct buf b = BUF_INIT;
	char why[SCHEMA_ERR_MAX];
	json_t *v = json_loads(outer_json, 0, NULL);
	char *got;

	if (s == NULL)
		return;
	CHECK(protosch_encode(s, NULL, v, &b, why) == 0 &&
	    b.len == sizeof(outer_frame) &&
	    memcmp(b.data, outer_frame, b.len) == 0,
	    "encode: the canonical JSON gives back the frame's bytes");
	json_decref(v);
	buf_free(&b);
	got = encode(s, "Second", "{\"xY\":\"a\"}");
	CHECK(memcmp(got, "\x02\x02\x0a\x01" "a", 5) == 0,
	    "encode: --value-message Second writes index [1]");
	free(got);
	got = encode(s, "t.Outer.Inner", "{\"u\":7}");
	CHECK(memcmp(got, "\x04\x00\x00\x08\x07", 5) == 0,
	    "encode: a nested message by full name writes index [0,0]");
	free(got);
	got = encode(s, "Second", "{\"x_y\":\"a\"}");
	CHECK(memcmp(got, "\x02\x02\x0a\x01" "a", 5) == 0,
	    "encode: the .proto field name is accepted too");
	free(got);
	got = encode(s, "Nope", "{}");
	CHECK_STR(got, "ERR: the schema has no message 'Nope'",
	    "encode: unknown message type");
	free(got);
	got = encode(s, NULL, "{\"zz\":1}");
	CHECK(strncmp(got, "ERR: not a t.Outer: ", 20) == 0 &&
	    strstr(got, "zz") != NULL, "encode: unknown member rejected");
	free(got);
	got = encode(s, NULL, "{\"i\":\"x\"}");
	CHECK(strncmp(got, "ERR: not a t.Outer: ", 20) == 0,
	    "encode: a string for an int32 rejected");
	free(got);
	got = encode(s, NULL, "{\"c\":\"BLUE\"}");
	CHECK(strncmp(got, "ERR: not a t.Outer: ", 20) == 0,
	    "encode: an unknown enum name rejected");
	free(got);
	protosch_free(s);
}

static void test_schemas(void)
{
	struct proto_sch *s = schema(proto_text);
	char why[SCHEMA_ERR_MAX];
	char *desc;
	struct proto_sch *d;

	if (s == NULL)
		return;
	desc = protosch_descriptor(s);
	d = desc ? schema(desc) : NULL;
	CHECK(d != NULL, "schema: the base64 descriptor form parses");
	if (d != NULL)
		check_dec(d, outer_frame, sizeof(outer_frame), outer_json,
		    "schema: the descriptor form decodes the same");
	protosch_free(d);
	free(desc);
	protosch_free(s);
	CHECK(protosch_new("message {", 9, why) == NULL &&
	    strncmp(why, "not a .proto schema: 1:", 23) == 0,
	    "schema: a syntax error names line and column");
	CHECK(protosch_new("syntax = \"proto3\"; message M { Nope n = 1; }",
	    44, why) == NULL && strstr(why, "Nope") != NULL,
	    "schema: an unknown type is named");
	CHECK(protosch_new("syntax = \"proto3\"; import \"other.proto\";"
	    " message M { int32 a = 1; }", 67, why) == NULL &&
	    strstr(why, "other.proto") != NULL,
	    "schema: an import other than the well-known types is named");
	CHECK(protosch_new("syntax = \"proto3\";", 18, why) == NULL,
	    "schema: a schema without a message rejected");
}

int main(void)
{
	test_decode();
	test_decode_errors();
	test_encode();
	test_schemas();
	return tap_done();
}
