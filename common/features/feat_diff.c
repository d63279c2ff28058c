/*
 * feat_diff.c - where two JSON values differ (features.h).
 */
#include <stdio.h>

#include "features.h"
#include "banned.h"

void feat_diff(const char *path, const json_t *a, const json_t *b,
    feat_diff_fn *row, void *ctx)
{
	char sub[1024];

	if (a != NULL && b != NULL && json_equal(a, b))
		return;
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)a, k, v) {
			snprintf(sub, sizeof sub, "%s.%s", path, k);
			feat_diff(sub, v, json_object_get(b, k), row, ctx);
		}
		json_object_foreach((json_t *)b, k, v) {
			if (json_object_get(a, k) != NULL)
				continue;
			snprintf(sub, sizeof sub, "%s.%s", path, k);
			feat_diff(sub, NULL, v, row, ctx);
		}
		return;
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t n = json_array_size(a) > json_array_size(b) ?
		    json_array_size(a) : json_array_size(b);

		for (size_t i = 0; i < n; i++) {
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			feat_diff(sub, json_array_get(a, i),
			    json_array_get(b, i), row, ctx);
		}
		return;
	}
	row(ctx, path, a, b);
}
