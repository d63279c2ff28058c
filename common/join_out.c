/*
 * join_out.c - how a joined row is put together from its two sides
 * (join_out.h).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "join.h"
#include "join_map.h"
#include "join_out.h"
#include "path.h"
#include "xalloc.h"
#include "banned.h"

int
join_fields_parse(const char *text, struct join_field **fields, size_t *n)
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

void
join_fields_free(struct join_field *fields, size_t n)
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
static void
out_put(struct join_out *j, json_t *o, const char *name, json_t *v)
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
	struct jmap_slot *slot = jmap_put(&j->warned, name, len);
	if (slot->val == NULL) {
		slot->val = xstrdup(name);
		slot->key = slot->val;
		diag_warn("member on both sides, keeping the left one "
		    "(see --right-prefix): '%s'", name);
	}
}

static const char *
out_name(struct join_out *j, const char *prefix, const char *name)
{
	if (prefix == NULL || prefix[0] == '\0')
		return name;
	buf_reset(&j->nb);
	buf_appends(&j->nb, prefix);
	buf_appends(&j->nb, name);
	return j->nb.data;
}

static bool
is_window_member(const struct join_out *j, const char *k)
{
	return strcmp(k, j->cfg->start_field) == 0 ||
	    strcmp(k, j->cfg->end_field) == 0;
}

static void
out_side(struct join_out *j, json_t *o, int s, json_t *rec)
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
	if (rec == NULL)
		return;
	const char *k;
	json_t *v;
	json_object_foreach(rec, k, v) {
		if (j->cfg->kind == JOIN_WINDOW && is_window_member(j, k))
			continue;
		out_put(j, o, out_name(j, so->prefix, k), v);
	}
}

/* The join key under the left key's paths, where not already there. */
static void
out_key(struct join_out *j, json_t *o, const char *key, size_t len)
{
	const struct keyspec *ks = j->cfg->key[JOIN_LEFT];
	json_t *tmp = NULL;

	for (size_t i = 0; i < ks->n; i++) {
		if (path_get(&ks->paths[i], o))
			continue;
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

void
join_out_init(struct join_out *j, const struct join_config *cfg)
{
	memset(j, 0, sizeof *j);
	j->cfg = cfg;
	jmap_init(&j->warned);
}

void
join_out_free(struct join_out *j)
{
	size_t i = 0;
	struct jmap_slot *sl;

	while ((sl = jmap_next(&j->warned, &i)))
		free(sl->val);
	jmap_free(&j->warned);
	buf_free(&j->nb);
}

json_t *
join_out_row(struct join_out *j, json_t *l, json_t *r, const char *key,
    size_t keylen)
{
	json_t *o = json_object();

	out_side(j, o, JOIN_LEFT, l);
	out_side(j, o, JOIN_RIGHT, r);
	if (j->cfg->side[JOIN_LEFT].fields == NULL)
		out_key(j, o, key, keylen);
	return o;
}
