/*
 * def.c - the definition control record (def.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "def.h"
#include "diag.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

json_t *def_part_new(const char *stage)
{
	return json_pack("{s:s,s:s}", "stage", stage, "tool", diag_progname());
}

void def_part_key(json_t *part, const char *keys)
{
	json_t *a = json_array();
	char *copy = xstrdup(keys), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	free(copy);
	json_object_set_new(part, "key", a);
}

void def_init(struct defrec *d, json_t *part)
{
	d->part = part;
}

bool def_is(const json_t *obj)
{
	const char *t = json_string_value(json_object_get(obj,
	    REC_CONTROL_KEY));

	return t != NULL && strcmp(t, DEF_CONTROL) == 0;
}

static void send_lineage(json_t *lineage, struct out *o)
{
	json_t *rec = json_object();

	json_object_set_new(rec, REC_CONTROL_KEY, json_string(DEF_CONTROL));
	json_object_set_new(rec, "lineage", lineage);
	rec_emit(o, rec);
	json_decref(rec);
}

void def_forward(struct defrec *d, const json_t *obj, struct out *o)
{
	const json_t *in = json_object_get(obj, "lineage");
	json_t *lineage = json_is_array(in) ? json_deep_copy(in) :
	    json_array();

	json_array_append(lineage, d->part);
	send_lineage(lineage, o);
}

void def_emit(struct defrec *d, struct out *o)
{
	json_t *lineage = json_array();

	json_array_append(lineage, d->part);
	send_lineage(lineage, o);
}

void def_free(struct defrec *d)
{
	json_decref(d->part);
	d->part = NULL;
}

/* Members that say where the data came from or how it was stored, not
 * what was computed. */
static const char *const not_definition[] = { "tool", "topics", "files",
	"format", "spec", "over_spec", "namespace", "set", "topic",
	"watermark_bound", NULL };

static int by_name(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a,
	    "name"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b,
	    "name"));

	return strcmp(x ? x : "", y ? y : "");
}

/* The aggregates of a part, sorted by output name (a new array). */
static json_t *sorted_aggs(const json_t *aggs)
{
	size_t n = json_array_size(aggs);
	json_t **v = xcalloc(n ? n : 1, sizeof *v);
	json_t *out = json_array();

	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(aggs, i);
	qsort(v, n, sizeof *v, by_name);
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_deep_copy(v[i]);

		json_object_del(a, "spec");     /* the spelling, not the aggregate */
		json_array_append_new(out, a);
	}
	free(v);
	return out;
}

json_t *def_canonical(const json_t *lineage)
{
	json_t *out = json_array();
	size_t i;
	json_t *part;

	json_array_foreach(lineage, i, part) {
		json_t *c;

		if (!json_is_object(part))
			continue;
		c = json_deep_copy(part);
		for (const char *const *m = not_definition; *m; m++)
			json_object_del(c, *m);
		if (json_is_array(json_object_get(c, "aggs")))
			json_object_set_new(c, "aggs",
			    sorted_aggs(json_object_get(c, "aggs")));
		if (json_is_object(json_object_get(c, "inputs"))) {
			const json_t *ins = json_object_get(part, "inputs");
			json_t *cin = json_object();
			const char *k;
			json_t *v;

			json_object_foreach((json_t *)ins, k, v)
				json_object_set_new(cin, k, def_canonical(v));
			json_object_set_new(c, "inputs", cin);
		}
		json_array_append_new(out, c);
	}
	return out;
}

void def_version(const json_t *lineage, char out[DEF_VERSION_LEN + 1])
{
	json_t *c = def_canonical(lineage);
	char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);

	snprintf(out, DEF_VERSION_LEN + 1, "%016llx",
	    (unsigned long long)XXH64(text, strlen(text), 0));
	free(text);
	json_decref(c);
}

void def_version_upstream(const json_t *lineage,
    char out[DEF_VERSION_LEN + 1])
{
	json_t *up = json_array();
	size_t i;
	json_t *part;

	json_array_foreach(lineage, i, part) {
		const char *st = json_string_value(json_object_get(part,
		    "stage"));

		if (st == NULL || strcmp(st, "sink") != 0)
			json_array_append(up, part);
	}
	def_version(up, out);
	json_decref(up);
}
