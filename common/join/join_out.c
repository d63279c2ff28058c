/*
 * join_out.c - how a joined row is put together from its two sides
 * (join_out.h).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "join.h"
#include "join_timers.h"
#include "join_out.h"
#include "path.h"
#include "xalloc.h"
#include "banned.h"

int join_fields_parse(const char *text, struct join_field **fields, size_t *n)
{
	const char *p = text;
	size_t cap = 0;

	*fields = NULL;
	*n = 0;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *part = xstrndup(p, len);
		char *colon = strchr(part, ':');
		struct join_field f = { .renamed = false };

		if (colon)
			*colon = '\0';
		if (path_compile(&f.path, part) != 0 ||
		    (colon && colon[1] == '\0')) {
			if (colon == NULL || f.path.parts)
				path_free(&f.path);
			free(part);
			join_fields_free(*fields, *n);
			*fields = NULL;
			*n = 0;
			return -1;
		}
		if (colon) {
			f.name = xstrdup(colon + 1);
			f.renamed = true;
		} else {
			f.name = xstrdup(f.path.parts[f.path.n - 1]);
		}
		free(part);
		*fields = xgrow(*fields, &cap, *n + 1, sizeof **fields);
		(*fields)[(*n)++] = f;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

void join_fields_free(struct join_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		path_free(&fields[i].path);
		free(fields[i].name);
	}
	free(fields);
}

/* Puts v (borrowed) under name unless the name is taken: an equal value
 * is the same fact twice, a null (a missing side's projected member)
 * gives way, a different one is a collision, reported once per name and
 * counted, and the earlier member is kept. */
static void out_put(struct join_out *j, json_t *o, const char *name, json_t *v)
{
	json_t *old = json_object_get(o, name);

	if (old == NULL || (json_is_null(old) && !json_is_null(v))) {
		json_object_set(o, name, v);
		return;
	}
	if (json_is_null(v) || json_equal(old, v))
		return;
	j->collisions++;
	size_t len = strlen(name);
	struct hashtab_slot *slot = hashtab_put(&j->warned, name, len);
	if (slot->val == NULL) {
		slot->val = xstrdup(name);
		slot->key = slot->val;
		diag_warn("member on both sides, keeping the left one "
		    "(see --right-prefix): '%s'", name);
	}
}

static const char *out_name(struct join_out *j, const char *prefix,
    const char *name)
{
	if (prefix == NULL || prefix[0] == '\0')
		return name;
	buf_reset(&j->nb);
	buf_appends(&j->nb, prefix);
	buf_appends(&j->nb, name);
	return j->nb.data;
}

static bool is_window_member(const struct join_out *j, const char *k)
{
	return strcmp(k, j->cfg->start_field) == 0 ||
	    strcmp(k, j->cfg->end_field) == 0;
}

static void out_side(struct join_out *j, json_t *o, int s, json_t *rec)
{
	const struct join_side_out *so = &j->cfg->side[s];

	if (so->fields) {
		for (size_t i = 0; i < so->nfields; i++) {
			const struct join_field *f = &so->fields[i];
			json_t *v = rec ? path_get(&f->path, rec) : NULL;
			const char *name = f->renamed ? f->name :
			    out_name(j, so->prefix, f->name);
			out_put(j, o, name, v ? v : json_null());
		}
		return;
	}
	if (rec == NULL) {
		/* The members this side's records have had, as nulls. */
		for (size_t i = 0; i < j->nnames[s]; i++)
			out_put(j, o, out_name(j, so->prefix, j->names[s][i]),
			    json_null());
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach(rec, k, v) {
		if (j->cfg->kind == JOIN_WINDOW && is_window_member(j, k))
			continue;
		out_put(j, o, out_name(j, so->prefix, k), v);
	}
}

/* The join key under the left key's paths, where not already there (a
 * null there stands for a missing left side: the key takes its place). */
static void out_key(struct join_out *j, json_t *o, const char *key, size_t len)
{
	const struct keyspec *ks = j->cfg->key[JOIN_LEFT];
	json_t *tmp = NULL;

	for (size_t i = 0; i < ks->n; i++) {
		json_t *have = path_get(&ks->paths[i], o);

		if (have && !json_is_null(have))
			continue;
		if (json_is_null(json_object_get(o, ks->paths[i].parts[0])) &&
		    ks->paths[i].n > 1)
			json_object_del(o, ks->paths[i].parts[0]);
		if (tmp == NULL) {
			tmp = json_object();
			if (keyspec_decode_into(ks, key, len, tmp) != 0)
				break;
		}
		json_t *v = path_get(&ks->paths[i], tmp);
		if (v)
			path_set(&ks->paths[i], o, json_incref(v));
	}
	json_decref(tmp);
}

void join_out_init(struct join_out *j, const struct join_config *cfg)
{
	enum join_type t = cfg->type;

	memset(j, 0, sizeof *j);
	j->cfg = cfg;
	hashtab_init(&j->warned);
	j->learn[JOIN_LEFT] = cfg->side[JOIN_LEFT].fields == NULL &&
	    (t == JT_RIGHT || t == JT_FULL);
	j->learn[JOIN_RIGHT] = cfg->side[JOIN_RIGHT].fields == NULL &&
	    (t == JT_LEFT || t == JT_FULL);
	for (int s = 0; s < 2; s++)
		hashtab_init(&j->known[s]);
}

/* Adds name (len bytes) to side s's names unless known or too many. */
static void learn_name(struct join_out *j, int s, const char *name, size_t len)
{
	static const char *const side[] = { "left", "right" };
	struct hashtab_slot *sl;

	if (hashtab_get(&j->known[s], name, len) != NULL)
		return;
	if (j->nnames[s] == JOIN_OUT_MAX_NAMES) {
		diag_warn("more than %d member names on the %s side: rows "
		    "without a %s record carry nulls for the first %d only; "
		    "choose the members with --%s-fields", JOIN_OUT_MAX_NAMES,
		    side[s], side[s], JOIN_OUT_MAX_NAMES, side[s]);
		j->nnames[s]++;
		return;
	}
	if (j->nnames[s] > JOIN_OUT_MAX_NAMES)
		return;
	j->names[s] = xgrow(j->names[s], &j->capnames[s], j->nnames[s] + 1,
	    sizeof *j->names[s]);
	j->names[s][j->nnames[s]] = xstrndup(name, len);
	sl = hashtab_put(&j->known[s], j->names[s][j->nnames[s]], len);
	sl->val = j->names[s][j->nnames[s]];
	j->nnames[s]++;
}

void join_out_learn(struct join_out *j, int s, const json_t *rec)
{
	const char *k;
	json_t *v;

	if (!j->learn[s] || j->nnames[s] > JOIN_OUT_MAX_NAMES)
		return;
	json_object_foreach((json_t *)rec, k, v) {
		if (j->cfg->kind == JOIN_WINDOW && is_window_member(j, k))
			continue;
		learn_name(j, s, k, strlen(k));
	}
}

json_t *join_out_names(const struct join_out *j)
{
	json_t *a = json_array();

	for (int s = 0; s < 2; s++) {
		json_t *n = json_array();
		size_t m = j->nnames[s] < JOIN_OUT_MAX_NAMES ? j->nnames[s] :
		    JOIN_OUT_MAX_NAMES;

		for (size_t i = 0; i < m; i++)
			json_array_append_new(n, json_string(j->names[s][i]));
		json_array_append_new(a, n);
	}
	return a;
}

int join_out_restore_names(struct join_out *j, const json_t *v)
{
	size_t i;
	json_t *n;

	if (!json_is_array(v) || json_array_size(v) != 2)
		return -1;
	for (int s = 0; s < 2; s++) {
		json_array_foreach(json_array_get(v, (size_t)s), i, n) {
			if (!json_is_string(n))
				return -1;
			learn_name(j, s, json_string_value(n),
			    json_string_length(n));
		}
	}
	return 0;
}

void join_out_free(struct join_out *j)
{
	size_t i = 0;
	struct hashtab_slot *sl;

	while ((sl = hashtab_next(&j->warned, &i)))
		free(sl->val);
	hashtab_free(&j->warned);
	for (int s = 0; s < 2; s++) {
		size_t m = j->nnames[s] < JOIN_OUT_MAX_NAMES ? j->nnames[s] :
		    JOIN_OUT_MAX_NAMES;

		for (size_t k = 0; k < m; k++)
			free(j->names[s][k]);
		free(j->names[s]);
		hashtab_free(&j->known[s]);
	}
	buf_free(&j->nb);
}

json_t *join_out_row(struct join_out *j, json_t *l, json_t *r, const char *key,
    size_t keylen)
{
	json_t *o = json_object();

	out_side(j, o, JOIN_LEFT, l);
	out_side(j, o, JOIN_RIGHT, r);
	if (j->cfg->side[JOIN_LEFT].fields == NULL)
		out_key(j, o, key, keylen);
	return o;
}
