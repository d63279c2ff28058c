/*
 * libFuzzer target: the Protobuf decoder (common/schema/proto_schema.cc).
 * The input is what follows the Confluent header: the message-index
 * array, then the payload.  Any input is decoded or rejected with a
 * reason, never a crash; a message of the first type that decodes is
 * encoded again from its JSON and must decode to the same JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema[] =
"syntax = \"proto3\";\n"
"package t;\n"
"import \"google/protobuf/timestamp.proto\";\n"
"import \"google/protobuf/struct.proto\";\n"
"message Outer {\n"
"  message Inner { uint64 u = 1; repeated Outer back = 2; }\n"
"  int32 i = 1; int64 l = 2; string s = 3; bytes b = 4; Color c = 5;\n"
"  repeated int32 r = 6; map<string, int64> m = 7;\n"
"  oneof choice { string name = 8; Inner inner = 9; }\n"
"  Inner nested = 10; double d = 11; float f = 12; sint64 z = 13;\n"
"  fixed32 x = 14; bool ok = 15; repeated Color cs = 16;\n"
"  map<int32, Inner> mi = 17; google.protobuf.Timestamp ts = 18;\n"
"  google.protobuf.Struct st = 19;\n"
"}\n"
"enum Color { RED = 0; GREEN = 1; }\n"
"message Second { string x_y = 1; }\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_sch *s;
	char why[SCHEMA_ERR_MAX];
	struct buf b = BUF_INIT;
	json_t *v, *again;

	if (s == NULL && (s = protosch_new(schema, strlen(schema), why)) == NULL)
		abort();
	why[0] = '\0';
	v = protosch_decode(s, data, size, why);
	if (v == NULL) {
		if (why[0] == '\0')
			abort();        /* a rejection always says why */
		return 0;
	}
	if (size > 0 && data[0] == 0 && protosch_encode(s, NULL, v, &b, why) == 0) {
		again = protosch_decode(s, b.data, b.len, why);
		if (again == NULL || !json_equal(v, again))
			abort();        /* our own encoding reads back the same */
		json_decref(again);
	}
	json_decref(v);
	buf_free(&b);
	return 0;
}
