/*
 * libFuzzer target: a projection (recproj.h) accepts exactly what
 * rec_parse() accepts and keeps the same values, for any bytes; the one
 * documented difference (an integer above INT64_MAX in a member not
 * kept) is excused.  Both projections take quick scans before simdjson:
 * the first, of nested paths (two under "a"), scans the objects on its
 * paths; a second, flat projection (one-member paths) one scan of the
 * line; each is held to the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recproj.h"
#include "rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kept[] = { "ts", "a.b", "k", "a.c.d" };
#define NKEPT (sizeof kept / sizeof *kept)
static const char *const flat[] = { "ts", "k", "v" };
#define NFLAT (sizeof flat / sizeof *flat)

/* proj against rec_parse()'s full (or its refusal, why1). */
static void check(const json_t *full, const char *why1, json_t *proj,
    const char *why2, const struct path *p, size_t np)
{
	json_t *want;

	if (full == NULL) {
		if (proj != NULL && strstr(why1, "too big integer") == NULL)
			abort();        /* accepted what rec_parse refuses */
		if (proj == NULL && strcmp(why1, why2) != 0)
			abort();        /* a different reason */
		json_decref(proj);
		return;
	}
	if (proj == NULL)
		abort();                /* refused what rec_parse accepts */
	want = json_object();
	for (size_t i = 0; i < np; i++) {
		json_t *v = path_get(&p[i], full);

		if (v != NULL)
			path_set(&p[i], want, json_deep_copy(v));
	}
	if (!json_equal(want, proj))
		abort();                /* kept members differ */
	json_decref(want);
	json_decref(proj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct recproj *rp, *rf;
	static struct path p[NKEPT], pf[NFLAT];
	char why1[REC_ERR_MAX], why2[REC_ERR_MAX], why3[REC_ERR_MAX];
	const char *line = (const char *)data;
	json_t *full, *proj;
	struct ctl c;

	if (rp == NULL) {
		rp = recproj_new();
		for (size_t i = 0; i < NKEPT; i++) {
			path_compile(&p[i], kept[i]);
			recproj_keep(rp, &p[i]);
		}
		rf = recproj_new();
		for (size_t i = 0; i < NFLAT; i++) {
			path_compile(&pf[i], flat[i]);
			recproj_keep_name(rf, flat[i]);
		}
	}
	full = rec_parse(line, size, why1);
	proj = recproj_parse(rp, line, size, why2);
	check(full, why1, proj, why2, p, NKEPT);
	proj = recproj_parse(rf, line, size, why3);
	check(full, why1, proj, why3, pf, NFLAT);
	/* The record loop's read: a data line as recproj_parse(). */
	proj = recproj_read(rf, line, size, &c, why3);
	if (!rec_line_maybe_control(line, size))
		check(full, why1, proj, why3, pf, NFLAT);
	else
		json_decref(proj);
	json_decref(full);
	return 0;
}
