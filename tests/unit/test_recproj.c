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
	same(rp, p, NFLAT, "{\"ts\":1,\"x\":9223372036854775808}",
	    "flat: an integer above INT64_MAX not kept, refused as jansson does");
	same(rp, p, NFLAT, "{\"ts\":1,\"x\":{\"y\":[18446744073709551615]}}",
	    "flat: nested, not kept, above INT64_MAX: refused");
	same(rp, p, NFLAT, "{\"ts\":1,\"x\":-9223372036854775808,\"y\":1000000000000000000000.5}",
	    "flat: 19 digits and more that jansson takes, not kept");
	same(rp, p, NFLAT, "{\"ts\":1,\"k\":\"12345678901234567890123\"}",
	    "flat: a long run of digits in a string");

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
	CHECK(recproj_at(rp, o, recproj_slot_name(rp, "ts")) ==
	    json_object_get(o, "ts") && recproj_at(rp, o,
	    recproj_slot_name(rp, "k")) == NULL,
	    "flat: at: a kept member by its slot, one the line lacks");
	json_decref(o);
	for (size_t i = 0; i < NFLAT; i++)
		path_free(&p[i]);
	recproj_free(rp);
}

/* same(), then recproj_at() of every kept path is what path_get()
 * gives on the projection. */
static void same_at(struct recproj *rp, struct path *p, size_t np,
    const char *line, const char *name)
{
	char why[REC_ERR_MAX];
	json_t *o;
	bool ok = true;

	same(rp, p, np, line, name);
	o = recproj_parse(rp, line, strlen(line), why);
	for (size_t i = 0; o != NULL && i < np; i++)
		if (recproj_at(rp, o, recproj_slot(rp, &p[i])) !=
		    path_get(&p[i], o))
			ok = false;
	CHECK(ok, name);
	json_decref(o);
}

/*
 * Nested paths go through quick scans too (the line for the first
 * parts, each object once for the second parts, deeper parts one by
 * one), and the projection is reused from line to line: the same as
 * rec_parse(), and recproj_at() finds each path by its slot.
 */
static const char *nested_names[] = { "ts", "bid.auction", "bid.price",
	"bid.x.y", "v" };
#define NNESTED (sizeof nested_names / sizeof *nested_names)

static void nested_cases(void)
{
	struct recproj *rp = recproj_new();
	struct path p[NNESTED], other;
	char why[REC_ERR_MAX];
	const char *line;
	json_t *held, *o;

	for (size_t i = 0; i < NNESTED; i++) {
		path_compile(&p[i], nested_names[i]);
		recproj_keep(rp, &p[i]);
	}
	same_at(rp, p, NNESTED, "{\"ts\":1,\"bid\":{\"auction\":7,\"price\":10,"
	    "\"u\":\"x\"},\"v\":\"a\"}", "nested: kept paths only");
	same_at(rp, p, NNESTED, "{\"ts\":2,\"bid\":{\"auction\":8,\"price\":11,"
	    "\"u\":\"x\"},\"v\":\"b\"}", "nested: the next line, reused");
	same_at(rp, p, NNESTED, "{\"ts\":3,\"bid\":{\"auction\":\"s\",\"price\":1.5,"
	    "\"x\":{\"y\":[1]}},\"v\":null}", "nested: types change, a container");
	same_at(rp, p, NNESTED, "{\"ts\":4,\"bid\":{\"price\":2,\"x\":{\"y\":true,"
	    "\"y\":false}}}", "nested: deeper path, duplicates, members missing");
	same_at(rp, p, NNESTED, "{\"ts\":5,\"bid\":3,\"v\":1}",
	    "nested: a path through a non-object is missing");
	same_at(rp, p, NNESTED, "{\"bid\":{\"auction\":1},\"bid\":{\"price\":2}}",
	    "nested: duplicate objects, the last wins");
	same_at(rp, p, NNESTED, "{\"ts\":6,\"bid\":{\"auc\\u0074ion\":9}}",
	    "nested: an escaped key below");
	same_at(rp, p, NNESTED, "{\"ts\":7,\"bid\":{\"auction\":\"a\\\"b\"}}",
	    "nested: an escaped string value");
	same_at(rp, p, NNESTED, "{\"ts\":8,\"bid\":{\"auction\":01}}",
	    "nested: leading zero below, rec_parse's reason");
	same_at(rp, p, NNESTED, "{\"ts\":9,\"bid\":{\"auction\":1,\"price\":2},"
	    "\"v\":3}", "nested: back to the usual shape");
	/* A caller holding a value keeps it as it was. */
	line = "{\"bid\":{\"auction\":\"held\"}}";
	o = recproj_parse(rp, line, strlen(line), why);
	held = json_incref(path_get(&p[1], o));
	json_decref(o);
	line = "{\"bid\":{\"auction\":\"next\"}}";
	o = recproj_parse(rp, line, strlen(line), why);
	CHECK_STR(json_string_value(held), "held",
	    "nested: a value the caller holds is not overwritten");
	CHECK_STR(json_string_value(recproj_at(rp, o, recproj_slot(rp, &p[1]))),
	    "next", "nested: the new line's value");
	path_compile(&other, "bid.seller");
	CHECK(recproj_slot(rp, &other) == -1 && recproj_at(rp, o, -1) == NULL,
	    "nested: a path not kept has no slot");
	path_free(&other);
	json_decref(held);
	json_decref(o);
	for (size_t i = 0; i < NNESTED; i++)
		path_free(&p[i]);
	recproj_free(rp);

	/* A kept object and a path inside it (fs-agg max_by:bid:bid.price):
	 * the object the caller holds stays as it was. */
	rp = recproj_new();
	path_compile(&p[0], "bid");
	path_compile(&p[1], "bid.price");
	recproj_keep(rp, &p[0]);
	recproj_keep(rp, &p[1]);
	same_at(rp, p, 2, "{\"bid\":{\"price\":1,\"u\":\"a\\\"\"}}",
	    "nested: a kept object and a path inside it");
	line = "{\"bid\":{\"price\":2,\"u\":\"b\"}}";
	o = recproj_parse(rp, line, strlen(line), why);
	held = json_incref(path_get(&p[0], o));
	json_decref(o);
	line = "{\"bid\":{\"price\":3,\"u\":\"c\"}}";
	o = recproj_parse(rp, line, strlen(line), why);
	CHECK(json_integer_value(json_object_get(held, "price")) == 2 &&
	    json_integer_value(path_get(&p[1], o)) == 3,
	    "nested: a kept object the caller holds is not overwritten");
	json_decref(held);
	json_decref(o);
	path_free(&p[0]);
	path_free(&p[1]);
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
	same(rp, p, NPATHS, "{\"ts\":1,\"x\":[9223372036854775808]}",
	    "an integer above INT64_MAX not kept: refused as jansson does");
	same(rp, p, NPATHS, "{\"ts\":1} {}", "two values: refused");
	same(rp, p, NPATHS, "{\"ts\":1e400}", "real overflow: refused");
	for (size_t i = 0; i < NPATHS; i++)
		path_free(&p[i]);
	recproj_free(rp);
	flat_cases(true);
	nested_cases();
	flat_cases(false);      /* the same, all the simdjson way */
	return tap_done();
}
