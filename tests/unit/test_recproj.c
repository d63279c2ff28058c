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
static json_t *reference(struct path *p, size_t np, const char *line,
    char *why)
{
	json_t *full = rec_parse(line, strlen(line), why), *out;

	if (full == NULL)
		return NULL;
	out = json_object();
	for (size_t i = 0; i < np; i++) {
		json_t *v = path_get(&p[i], full);

		if (v != NULL)
			path_set(&p[i], out, json_deep_copy(v));
	}
	json_decref(full);
	return out;
}

static void same(struct recproj *rp, struct path *p, size_t np,
    const char *line, const char *name)
{
	char why1[REC_ERR_MAX] = "", why2[REC_ERR_MAX] = "";
	json_t *want = reference(p, np, line, why1);
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

/*
 * A flat projection (every kept path one member, as fs-window and
 * fs-agg keep them) goes through the quick scan (rec_quick_members)
 * before simdjson: the same values, types and rejections either way,
 * also when the projection is reused from line to line while the
 * caller still holds one of its values.  (Test names repeat: the cases
 * run with the quick scan, then without.)
 */
static const char *flat_names[] = { "ts", "k", "v" };
#define NFLAT (sizeof flat_names / sizeof *flat_names)

static void flat_cases(bool quick)
{
	struct recproj *rp = recproj_new();
	struct path p[NFLAT];
	char why[REC_ERR_MAX];
	const char *line;
	json_t *held, *o;

	recproj_set_quick(rp, quick);
	for (size_t i = 0; i < NFLAT; i++) {
		path_compile(&p[i], flat_names[i]);
		recproj_keep_name(rp, flat_names[i]);
	}
	same(rp, p, NFLAT, "{\"ts\":1,\"k\":\"a\",\"v\":2,\"x\":[1,{\"y\":null}]}",
	    "flat: kept members only");
	same(rp, p, NFLAT, "{\"ts\":2,\"k\":\"b\",\"v\":3}", "flat: the next line");
	same(rp, p, NFLAT, "{\"ts\":3,\"k\":\"b\",\"v\":3.25}",
	    "flat: integer then real in one member");
	same(rp, p, NFLAT, "{\"ts\":-0,\"k\":\"b\",\"v\":-1.5e-7}",
	    "flat: -0 is the integer 0, exponent is a real");
	same(rp, p, NFLAT, "{\"ts\":999999999999999999,\"v\":-999999999999999999}",
	    "flat: 18 digits, a member missing");
	same(rp, p, NFLAT, "{\"ts\":9223372036854775807,\"v\":-9223372036854775808}",
	    "flat: int64 limits (the slow path)");
	same(rp, p, NFLAT, "{\"ts\":1,\"ts\":2,\"k\":\"a\",\"k\":\"b\"}",
	    "flat: duplicate members, the last wins");
	same(rp, p, NFLAT, "{\"\\u0074s\":5,\"k\":\"a\"}",
	    "flat: an escaped key naming a kept member");
	same(rp, p, NFLAT, "{\"ts\":1,\"k\":\"a\\\"b\\u00e9\",\"v\":\"\xc3\xa9\"}",
	    "flat: escapes decoded, UTF-8 kept");
	same(rp, p, NFLAT, "{\"ts\":true,\"k\":false,\"v\":null}",
	    "flat: literals");
	same(rp, p, NFLAT, "{\"ts\":{\"a\":1},\"k\":[1,2],\"v\":\"\"}",
	    "flat: containers and the empty string");
	same(rp, p, NFLAT, " { \"ts\" : 1 , \"k\" : \"a\" } ", "flat: white space");
	same(rp, p, NFLAT, "{}", "flat: empty object");
	same(rp, p, NFLAT, "{\"ts\":1,}", "flat: trailing comma, rec_parse's reason");
	same(rp, p, NFLAT, "{\"ts\":01}", "flat: leading zero, rec_parse's reason");
	same(rp, p, NFLAT, "{\"ts\":1,\"x\":tru}",
	    "flat: a bad member not kept, rec_parse's reason");
	same(rp, p, NFLAT, "{\"k\":\"\xff\"}",
	    "flat: invalid UTF-8, rec_parse's reason");
	same(rp, p, NFLAT, "{\"k\":\"a\\u0000\"}",
	    "flat: \\u0000 refused as jansson does");
	same(rp, p, NFLAT, "{\"ts\":1} {}", "flat: two values refused");

	/* A caller holding a value keeps it as it was. */
	o = recproj_parse(rp, "{\"ts\":7,\"k\":\"held\"}", 19, why);
	held = json_incref(json_object_get(o, "k"));
	json_decref(o);
	o = recproj_parse(rp, "{\"ts\":8,\"k\":\"next\"}", 19, why);
	CHECK_STR(json_string_value(held), "held",
	    "flat: a value the caller holds is not overwritten");
	CHECK_STR(json_string_value(json_object_get(o, "k")), "next",
	    "flat: the new line's value");
	json_decref(held);
	json_decref(o);
	/* recproj_member(): what json_object_get() gives. */
	line = "{\"ts\":9,\"x\":1,\"v\":\"w\"}";
	o = recproj_parse(rp, line, strlen(line), why);
	CHECK(recproj_member(rp, o, "ts") == json_object_get(o, "ts") &&
	    json_integer_value(recproj_member(rp, o, "ts")) == 9,
	    "flat: member: a kept member");
	CHECK(recproj_member(rp, o, "k") == NULL,
	    "flat: member: a kept member the line lacks");
	CHECK(recproj_member(rp, o, "x") == NULL,
	    "flat: member: a member not kept");
	CHECK_STR(json_string_value(recproj_member(rp, o, "v")), "w",
	    "flat: member: a string");
	json_decref(o);
	for (size_t i = 0; i < NFLAT; i++)
		path_free(&p[i]);
	recproj_free(rp);
}

/*
 * Nested kept paths (fs-join's auction.seller, bid.price) go through
 * quick scans of the line and of the objects on the kept paths before
 * simdjson: the same values, types and rejections either way.
 */
static const char *nested_names[] = { "ts", "a.b", "a.c.d", "bid.price",
	"bid.auction" };
#define NNESTED (sizeof nested_names / sizeof *nested_names)

static void nested_cases(bool quick)
{
	struct recproj *rp = recproj_new();
	struct path p[NNESTED];

	recproj_set_quick(rp, quick);
	for (size_t i = 0; i < NNESTED; i++) {
		path_compile(&p[i], nested_names[i]);
		recproj_keep(rp, &p[i]);
	}
	same(rp, p, NNESTED, "{\"ts\":1,\"bid\":{\"auction\":7,\"x\":\"y\","
	    "\"price\":3},\"a\":{\"b\":\"s\",\"c\":{\"d\":2.5,\"e\":[1]}}}",
	    "nested: kept members only");
	same(rp, p, NNESTED, "{\"bid\":{\"price\":1,\"price\":2},"
	    "\"bid\":{\"auction\":3}}",
	    "nested: duplicates, the last wins at each level");
	same(rp, p, NNESTED, "{\"a\":5,\"bid\":[1,2]}",
	    "nested: paths through a number and an array are missing");
	same(rp, p, NNESTED, "{\"a\":{\"c\":null,\"b\":{\"z\":[]}}}",
	    "nested: a container kept, a path through null");
	same(rp, p, NNESTED, "{\"bid\":{\"price\":\"a\\\"b\\u00e9\"}}",
	    "nested: escapes decoded");
	same(rp, p, NNESTED, "{\"bid\":{\"pr\\u0069ce\":4}}",
	    "nested: an escaped key naming a kept member");
	same(rp, p, NNESTED, " { \"bid\" : { \"price\" : 1 , \"auction\" : 2 } } ",
	    "nested: white space");
	same(rp, p, NNESTED, "{\"bid\":{}}", "nested: an empty object");
	same(rp, p, NNESTED, "{\"bid\":{\"price\":1,}}",
	    "nested: trailing comma inside, rec_parse's reason");
	same(rp, p, NNESTED, "{\"bid\":{\"price\":\"\xff\"}}",
	    "nested: invalid UTF-8 inside, rec_parse's reason");
	same(rp, p, NNESTED, "{\"bid\":{\"price\":\"a\\u0000\"}}",
	    "nested: \\u0000 refused as jansson does");
	same(rp, p, NNESTED, "{\"bid\":{\"price\":18446744073709551615}}",
	    "nested: kept integer above INT64_MAX refused");
	same(rp, p, NNESTED, "{\"bid\":{\"price\":9223372036854775807}}",
	    "nested: int64 limit");
	for (size_t i = 0; i < NNESTED; i++)
		path_free(&p[i]);
	recproj_free(rp);
}

int main(void)
{
	struct recproj *rp = recproj_new();
	struct path p[NPATHS];

	for (size_t i = 0; i < NPATHS; i++) {
		path_compile(&p[i], paths[i]);
		recproj_keep(rp, &p[i]);
	}
	same(rp, p, NPATHS, "{\"ts\":1,\"x\":[1,2],\"user\":{\"id\":\"u\",\"n\":2}}",
	    "kept members only, nested path");
	same(rp, p, NPATHS,
	    "{\"ts\":1.5,\"v\":[1,{\"a\":null},true,false,\"\\u00e9\"]}",
	    "every type, real stays real, escapes decoded");
	same(rp, p, NPATHS, "{\"ts\":1,\"ts\":2}", "duplicate members: the last wins");
	same(rp, p, NPATHS, "{\"a.b\":3,\"a\":{\"b\":4}}",
	    "escaped dot names a member");
	same(rp, p, NPATHS, "{\"user\":5}", "path through a non-object is missing");
	same(rp, p, NPATHS, "{}", "empty object");
	same(rp, p, NPATHS, "{\"ts\":9223372036854775807,\"v\":-9223372036854775808}",
	    "int64 limits");
	same(rp, p, NPATHS, "{\"v\":1e2,\"ts\":-0.0}", "exponent is a real");
	same(rp, p, NPATHS, "{\"ts\":1", "truncated: rec_parse's reason");
	same(rp, p, NPATHS, "[1]", "array: rec_parse's reason");
	same(rp, p, NPATHS, "{\"ts\":\"\xff\"}", "invalid UTF-8: rec_parse's reason");
	same(rp, p, NPATHS, "{\"v\":\"a\\u0000b\"}",
	    "\\u0000: refused as jansson does");
	same(rp, p, NPATHS, "{\"v\":18446744073709551615}",
	    "kept integer above INT64_MAX: refused as jansson does");
	same(rp, p, NPATHS, "{\"ts\":1} {}", "two values: refused");
	same(rp, p, NPATHS, "{\"ts\":1e400}", "real overflow: refused");
	for (size_t i = 0; i < NPATHS; i++)
		path_free(&p[i]);
	recproj_free(rp);
	flat_cases(true);
	flat_cases(false);      /* the same, all the simdjson way */
	nested_cases(true);
	nested_cases(false);    /* the same, all the simdjson way */
	return tap_done();
}
