/*
 * test_filesink.c - common/filesink/: partition paths of event times
 * (UTC, times before 1970 floored), pattern checks, the Avro schema
 * inferred from a row, and the location a registry records.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "filesink/filesink.h"
#include "tap.h"

static void test_part(void)
{
	char p[256], why[256];

	fsk_part_path(FSK_PARTITION_DEFAULT, INT64_C(1772360100000), p, sizeof p);
	CHECK_STR(p, "dt=2026-03-01/hour=10", "default layout, UTC");
	fsk_part_path(FSK_PARTITION_DEFAULT, INT64_C(1772409599999), p, sizeof p);
	CHECK_STR(p, "dt=2026-03-01/hour=23", "the last millisecond of a day");
	fsk_part_path(FSK_PARTITION_DEFAULT, -1, p, sizeof p);
	CHECK_STR(p, "dt=1969-12-31/hour=23", "before 1970: the second before");
	fsk_part_path("", 0, p, sizeof p);
	CHECK_STR(p, "", "no partition");
	CHECK(fsk_part_check("y=%Y/m=%m", why, sizeof why) == 0, "plain pattern");
	CHECK(fsk_part_check("", why, sizeof why) == 0, "empty pattern");
	CHECK(fsk_part_check("../%Y", why, sizeof why) < 0, "'..' refused");
	CHECK(fsk_part_check("/%Y", why, sizeof why) < 0, "absolute refused");
	CHECK(fsk_part_check("%Y//%m", why, sizeof why) < 0, "empty name refused");
	CHECK(fsk_part_check("%Y/.%m", why, sizeof why) < 0, "hidden name refused");
	CHECK(fsk_part_check("x/", why, sizeof why) < 0, "trailing '/' refused");
}

static char *infer(const char *row_text, char *why)
{
	json_t *row = json_loads(row_text, JSON_DECODE_ANY, NULL);
	json_t *s = fsk_schema_infer(row, why, 256);
	char *text = s ? json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(s);
	json_decref(row);
	return text;
}

static void test_infer(void)
{
	char why[256] = "";
	char *t = infer("{\"a\":1,\"b\":2.5,\"c\":\"x\",\"d\":false,\"e\":null}", why);

	CHECK_STR(t, "{\"type\":\"record\",\"name\":\"Row\",\"fields\":["
	    "{\"name\":\"a\",\"type\":[\"null\",\"long\"],\"default\":null},"
	    "{\"name\":\"b\",\"type\":[\"null\",\"double\"],\"default\":null},"
	    "{\"name\":\"c\",\"type\":[\"null\",\"string\"],\"default\":null},"
	    "{\"name\":\"d\",\"type\":[\"null\",\"boolean\"],\"default\":null},"
	    "{\"name\":\"e\",\"type\":[\"null\",\"string\"],\"default\":null}],"
	    "\"namespace\":\"fs.sink\"}", "scalars: nullable, default null");
	free(t);
	t = infer("{\"o\":{\"p\":{\"q\":[null,3]}},\"r\":{}}", why);
	CHECK(t && strstr(t, "\"name\":\"Row_1\"") && strstr(t,
	    "\"name\":\"Row_2\"") && strstr(t, "\"name\":\"Row_3\"") &&
	    strstr(t, "{\"type\":\"array\",\"items\":[\"null\",\"long\"]}"),
	    "nested records get names of their own; array items from the first non-null");
	free(t);
	t = infer("{\"a\":1,\"o\":{\"bad-name\":1}}", why);
	CHECK(t == NULL && strstr(why, "'.o.bad-name' is not an Avro name"),
	    "a member name Avro refuses: why names its path");
	free(t);
}

static void test_location(void)
{
	char dir[] = "/tmp/test_filesink.XXXXXX", why[FSK_ERR_MAX];
	struct filesink_opts o = { .partition = FSK_PARTITION_DEFAULT,
		.prefix = "part", .format = FSK_AVRO, .codec = FSK_DEFLATE,
		.max_bytes = 1 << 20, .max_open = 4 };
	struct filesink *fs;
	json_t *loc;
	char want[512];

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	o.dir = dir;
	fs = filesink_new(&o, why, sizeof why);
	CHECK(fs != NULL, "a store");
	if (fs == NULL)
		return;
	loc = filesink_location(fs);
	snprintf(want, sizeof want, "file://%s", dir);
	CHECK_STR(json_string_value(json_object_get(loc, "uri")), want,
	    "location: an absolute file URI");
	CHECK_STR(json_string_value(json_object_get(loc, "format")), "avro",
	    "location: the format");
	CHECK_STR(json_string_value(json_object_get(loc, "compression")),
	    "deflate", "location: the codec");
	CHECK_STR(json_string_value(json_object_get(loc, "layout")),
	    FSK_PARTITION_DEFAULT, "location: the layout");
	CHECK(json_object_get(loc, "schema") == NULL,
	    "location: no schema before a row inferred it");
	json_decref(loc);
	filesink_free(fs);
	rmdir(dir);
}

int main(void)
{
	test_part();
	test_infer();
	test_location();
	return tap_done();
}
