/*
 * feat_asof.c - the as-of join of records to a version's rows, the
 * second line of fs-features pipeline --training (features.h).
 */
#include <stdlib.h>
#include <string.h>

#include "features.h"
#include "banned.h"

/*
 * The member that holds the time of a row of the lineage: the window's
 * end when a window made it (its result is known once the window is
 * over), else the time field of the last stage that has one.
 */
static const char *row_time(const json_t *lineage)
{
	const char *t = "ts", *v;
	size_t i;
	json_t *part;

	json_array_foreach(lineage, i, part) {
		const char *st = json_string_value(json_object_get(part,
		    "stage"));

		if (st != NULL && strcmp(st, "window") == 0 &&
		    (v = json_string_value(json_object_get(part, "end_field"))))
			return v;
		if ((v = json_string_value(json_object_get(part,
		    "time_field"))) != NULL)
			t = v;
	}
	return t;
}

static bool in_strings(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

void feat_asof(struct buf *b, const json_t *view, const json_t *e)
{
	const json_t *keys = json_object_get(view, "key");
	const char *t = row_time(json_object_get(e, "lineage")), *k;
	json_t *names = json_array(), *x;
	struct buf fields = BUF_INIT;
	char *kl = feat_join_strings(keys, ",");
	size_t i;

	buf_appends(b, "fs-join --asof --type left");
	feat_word(b, "--key");
	feat_word(b, kl);
	feat_word(b, "--right-time-field");
	feat_word(b, t);
	buf_appends(&fields, t);
	buf_appends(&fields, ":feature_ts");
	json_object_foreach(json_object_get(e, "features"), k, x)
		if (strcmp(k, t) != 0 && !in_strings(keys, k))
			json_array_append_new(names, json_string(k));
	feat_sort_strings(names);
	json_array_foreach(names, i, x) {
		buf_appendc(&fields, ',');
		buf_appends(&fields, json_string_value(x));
		buf_appendc(&fields, ':');
		buf_appends(&fields, json_string_value(x));
	}
	buf_appendc(&fields, '\0');
	feat_word(b, "--right-fields");
	feat_word(b, fields.data);
	buf_free(&fields);
	json_decref(names);
	free(kl);
}
