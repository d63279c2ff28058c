/*
 * Unit tests: a projection gives what rec_parse() gives with the other
 * members removed, and rejects what rec_parse() rejects, with its reason.
 */
#include <stdlib.h>

#include "recproj.h"
#include "rec.h"
#include "tap.h"

static const char *paths[] = { "ts", "user.id", "v", "a\\.b" };
#define NPATHS (sizeof paths / sizeof *paths)

/* The reference: rec_parse(), then only the kept paths copied over. */
static json_t *reference(struct path *p, const char *line, char *why)
{
	json_t *full = rec_parse(line, strlen(line), why), *out;

	if (full == NULL)
		return NULL;
	out = json_object();
	for (size_t i = 0; i < NPATHS; i++) {
		json_t *v = path_get(&p[i], full);

		if (v != NULL)
			path_set(&p[i], out, json_deep_copy(v));
	}
	json_decref(full);
	return out;
}

static void same(struct recproj *rp, struct path *p, const char *line,
    const char *name)
{
	char why1[REC_ERR_MAX] = "", why2[REC_ERR_MAX] = "";
	json_t *want = reference(p, line, why1);
	json_t *got = recproj_parse(rp, line, strlen(line), why2);
	struct buf a = BUF_INIT, b = BUF_INIT;

	if (want)
		rec_dump(&a, want);
	else
		buf_appends(&a, why1);
	if (got)
		rec_dump(&b, got);
	else
		buf_appends(&b, why2);
	CHECK_STR(b.data, a.data, name);
	json_decref(want);
	json_decref(got);
	buf_free(&a);
	buf_free(&b);
}

int main(void)
{
	struct recproj *rp = recproj_new();
	struct path p[NPATHS];

	for (size_t i = 0; i < NPATHS; i++) {
		path_compile(&p[i], paths[i]);
		recproj_keep(rp, &p[i]);
	}
	same(rp, p, "{\"ts\":1,\"x\":[1,2],\"user\":{\"id\":\"u\",\"n\":2}}",
	    "kept members only, nested path");
	same(rp, p, "{\"ts\":1.5,\"v\":[1,{\"a\":null},true,false,\"\\u00e9\"]}",
	    "every type, real stays real, escapes decoded");
	same(rp, p, "{\"ts\":1,\"ts\":2}", "duplicate members: the last wins");
	same(rp, p, "{\"a.b\":3,\"a\":{\"b\":4}}", "escaped dot names a member");
	same(rp, p, "{\"user\":5}", "path through a non-object is missing");
	same(rp, p, "{}", "empty object");
	same(rp, p, "{\"ts\":9223372036854775807,\"v\":-9223372036854775808}",
	    "int64 limits");
	same(rp, p, "{\"v\":1e2,\"ts\":-0.0}", "exponent is a real");
	same(rp, p, "{\"ts\":1", "truncated: rec_parse's reason");
	same(rp, p, "[1]", "array: rec_parse's reason");
	same(rp, p, "{\"ts\":\"\xff\"}", "invalid UTF-8: rec_parse's reason");
	same(rp, p, "{\"v\":\"a\\u0000b\"}", "\\u0000: refused as jansson does");
	same(rp, p, "{\"v\":18446744073709551615}",
	    "kept integer above INT64_MAX: refused as jansson does");
	same(rp, p, "{\"ts\":1} {}", "two values: refused");
	same(rp, p, "{\"ts\":1e400}", "real overflow: refused");
	for (size_t i = 0; i < NPATHS; i++)
		path_free(&p[i]);
	recproj_free(rp);
	return tap_done();
}
