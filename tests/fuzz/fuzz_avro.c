/*
 * libFuzzer target: the Avro decoder (common/schema/).  The first byte
 * picks a schema, the rest is the payload.  Any payload is decoded or
 * rejected with a reason, never a crash; what decodes and encodes again
 * must decode to the same JSON; and for a record, avsch_decode_to()
 * accepts exactly what avsch_decode() accepts and writes the bytes
 * rec_dump() writes for its value.  The encoder's text path,
 * avsch_encode_text(), is held to the tree path on the same input read
 * as a JSON line, and on the decoded value's JSON: what it encodes, the
 * tree path encodes to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "schema/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schemas[] = {
	"{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"ns\",\"fields\":["
	"{\"name\":\"n\",\"type\":\"null\"},{\"name\":\"b\",\"type\":\"boolean\"},"
	"{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"l\",\"type\":\"long\"},"
	"{\"name\":\"f\",\"type\":\"float\"},{\"name\":\"d\",\"type\":\"double\"},"
	"{\"name\":\"by\",\"type\":\"bytes\"},{\"name\":\"s\",\"type\":\"string\"},"
	"{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
	"\"symbols\":[\"A\",\"B\"]}},"
	"{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},"
	"{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
	"{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
	"{\"name\":\"u\",\"type\":[\"null\",\"string\",\"E\"]},"
	"{\"name\":\"dec\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
	"\"precision\":6,\"scale\":2}},"
	"{\"name\":\"dt\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
	"{\"name\":\"ts\",\"type\":{\"type\":\"long\","
	"\"logicalType\":\"timestamp-millis\"}}]}",
	"{\"type\":\"record\",\"name\":\"L\",\"fields\":[{\"name\":\"v\","
	"\"type\":{\"type\":\"map\",\"values\":{\"type\":\"array\","
	"\"items\":[\"null\",\"double\",\"L\"]}}},"
	"{\"name\":\"next\",\"type\":[\"null\",\"L\"]}]}",
	"{\"type\":\"array\",\"items\":{\"type\":\"fixed\",\"name\":\"D\","
	"\"size\":5,\"logicalType\":\"decimal\",\"precision\":11,\"scale\":3}}",
	"{\"type\":\"array\",\"items\":\"null\"}",
};

/* avsch_decode_to() against avsch_decode() (v, NULL when rejected). */
static void check_text_path(const struct avro_sch *s, const json_t *v,
    const uint8_t *p, size_t n)
{
	struct buf want = BUF_INIT, got = BUF_INIT;
	struct rec_writer w;
	char why[SCHEMA_ERR_MAX];
	int rc;

	if (!avsch_root_is_record(s))
		return;
	rec_w_init(&w, &got);
	why[0] = '\0';
	rc = avsch_decode_to(s, p, n, &w, why);
	if ((rc == 0) != (v != NULL))
		abort();        /* both accept, or both reject */
	if (rc < 0 && why[0] == '\0')
		abort();
	if (v != NULL) {
		rec_dump(&want, v);
		if (want.len != got.len || memcmp(want.data, got.data, got.len))
			abort();        /* the same bytes */
	}
	buf_free(&want);
	buf_free(&got);
}

/* avsch_encode_text() on line against rec_parse() + avsch_encode(). */
static void check_encode_text(const struct avro_sch *s, const char *line,
    size_t len)
{
	struct buf got = BUF_INIT, want = BUF_INIT;
	char why[SCHEMA_ERR_MAX];
	json_t *v;

	if (avsch_encode_text(s, line, len, &got) != 0) {
		if (got.len != 0)
			abort();        /* left unchanged */
		return;
	}
	v = rec_parse(line, len, why);
	if (v == NULL || avsch_encode(s, v, &want, why) != 0 ||
	    want.len != got.len || memcmp(want.data, got.data, got.len) != 0)
		abort();        /* the tree path writes the same */
	json_decref(v);
	buf_free(&got);
	buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct avro_sch *compiled[sizeof(schemas) / sizeof(*schemas)];
	char why[SCHEMA_ERR_MAX];
	struct avro_sch *s;
	struct buf b = BUF_INIT;
	json_t *v, *again;
	size_t k;

	if (size == 0)
		return 0;
	k = data[0] % (sizeof(schemas) / sizeof(*schemas));
	if (compiled[k] == NULL) {
		compiled[k] = avsch_new(schemas[k], strlen(schemas[k]), why);
		if (compiled[k] == NULL)
			abort();
	}
	s = compiled[k];
	why[0] = '\0';
	v = avsch_decode(s, data + 1, size - 1, why);
	check_text_path(s, v, data + 1, size - 1);
	check_encode_text(s, (const char *)data + 1, size - 1);
	if (v != NULL) {
		struct buf text = BUF_INIT;

		rec_dump(&text, v);
		check_encode_text(s, text.data, text.len);
		buf_free(&text);
	}
	if (v == NULL) {
		if (why[0] == '\0')
			abort();        /* a rejection always says why */
		return 0;
	}
	if (avsch_encode(s, v, &b, why) == 0) {
		again = avsch_decode(s, b.data, b.len, why);
		if (again == NULL || !json_equal(v, again))
			abort();        /* our own encoding reads back the same */
		json_decref(again);
	}
	json_decref(v);
	buf_free(&b);
	return 0;
}
