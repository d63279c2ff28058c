/* Unit tests: field paths and compound keys. */
#include <stdlib.h>

#include "path.h"
#include "rec.h"
#include "tap.h"

static json_t *obj(const char *json)
{
	return json_loads(json, 0, NULL);
}

static const char *get(const char *json, const char *path)
{
	static struct buf b;
	json_t *o = obj(json), *v;
	struct path p;

	buf_reset(&b);
	if (path_compile(&p, path) < 0) {
		json_decref(o);
		return "(bad path)";
	}
	v = path_get(&p, o);
	if (v == NULL)
		buf_appends(&b, "(missing)");
	else
		rec_dump(&b, v);
	path_free(&p);
	json_decref(o);
	return b.data;
}

static void test_paths(void)
{
	struct path p;

	CHECK_STR(get("{\"a\":1}", "a"), "1", "path: top level");
	CHECK_STR(get("{\"a\":{\"b\":{\"c\":\"x\"}}}", "a.b.c"), "\"x\"",
	    "path: nested");
	CHECK_STR(get("{\"a.b\":2}", "a\\.b"), "2", "path: escaped dot");
	CHECK_STR(get("{\"a\":{\"b\":1}}", "a.c"), "(missing)", "path: missing leaf");
	CHECK_STR(get("{\"a\":5}", "a.b"), "(missing)", "path: through a non-object");
	CHECK_STR(get("{\"a\":{\"b\":[1]}}", "a.b"), "[1]", "path: array value");
	CHECK(path_compile(&p, "") < 0, "path: empty rejected");
	CHECK(path_compile(&p, "a..b") < 0, "path: empty part rejected");
	CHECK(path_compile(&p, ".a") < 0, "path: leading dot rejected");
	CHECK(path_compile(&p, "a.") < 0, "path: trailing dot rejected");
}

static void test_set(void)
{
	struct path p;
	json_t *o = obj("{\"x\":1}");
	struct buf b = BUF_INIT;

	path_compile(&p, "u.id");
	CHECK(path_set(&p, o, json_string("k")) == 0, "path_set: creates objects");
	rec_dump(&b, o);
	CHECK_STR(b.data, "{\"x\":1,\"u\":{\"id\":\"k\"}}", "path_set: result");
	path_free(&p);
	path_compile(&p, "x.y");
	CHECK(path_set(&p, o, json_integer(1)) < 0, "path_set: through a number fails");
	path_free(&p);
	json_decref(o);
	buf_free(&b);
}

static void test_keys(void)
{
	struct keyspec k;
	struct buf key = BUF_INIT, out = BUF_INIT;
	const char *missing = NULL;
	json_t *o = obj("{\"user\":{\"id\":\"u1\"},\"country\":\"de\",\"n\":3}");
	json_t *back = json_object();

	CHECK(keyspec_compile(&k, "user.id,country,n") == 0, "keyspec: compiles");
	CHECK(keyspec_encode(&k, o, &key, &missing) == 0, "keyspec: encodes");
	CHECK_STR(key.data, "\"u1\"\x1f\"de\"\x1f" "3", "keyspec: canonical key");
	CHECK(keyspec_decode_into(&k, key.data, key.len, back) == 0,
	    "keyspec: decodes");
	rec_dump(&out, back);
	CHECK_STR(out.data, "{\"user\":{\"id\":\"u1\"},\"country\":\"de\",\"n\":3}",
	    "keyspec: key fields restored under their paths");
	keyspec_free(&k);

	buf_reset(&key);
	keyspec_compile(&k, "user.id,missing");
	CHECK(keyspec_encode(&k, o, &key, &missing) < 0, "keyspec: missing field");
	CHECK_STR(missing, "missing", "keyspec: names the missing path");
	keyspec_free(&k);

	keyspec_compile(&k, "user");
	CHECK(keyspec_encode(&k, o, &key, &missing) < 0, "keyspec: object key rejected");
	keyspec_free(&k);

	CHECK(keyspec_compile(&k, "a,,b") < 0, "keyspec: empty field rejected");
	CHECK(keyspec_compile(&k, "a,") < 0, "keyspec: trailing comma rejected");
	CHECK(keyspec_compile(&k, "") < 0, "keyspec: empty rejected");
	json_decref(o);
	json_decref(back);
	buf_free(&key);
	buf_free(&out);
}

int main(void)
{
	test_paths();
	test_set();
	test_keys();
	return tap_done();
}
