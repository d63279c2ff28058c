/*
 * feat_strings.c - lists of strings: sorted, joined (features.h).
 */
#include <stdlib.h>
#include <string.h>

#include "features.h"
#include "xalloc.h"
#include "banned.h"

static int cmp_json_str(const void *a, const void *b)
{
	const char *x = json_string_value(*(json_t *const *)a);
	const char *y = json_string_value(*(json_t *const *)b);

	return strcmp(x ? x : "", y ? y : "");
}

void feat_sort_strings(json_t *a)
{
	size_t n = json_array_size(a);
	json_t **v = xcalloc(n ? n : 1, sizeof *v);

	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof *v, cmp_json_str);
	json_array_clear(a);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
}

char *feat_join_strings(const json_t *a, const char *sep)
{
	struct buf b = BUF_INIT;
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (i > 0)
			buf_appends(&b, sep);
		buf_appends(&b, json_is_string(v) ? json_string_value(v) : "?");
	}
	buf_appendc(&b, '\0');
	return b.data;
}
