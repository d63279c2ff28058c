/*
 * sel_rec.c - a record through select.h: its members read (straight
 * from the bytes, or from rec_parse()'s object when the scan is not
 * sure), the condition, and the output line.
 */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "sel_int.h"
#include "xalloc.h"
#include "banned.h"

struct sel *sel_new(void)
{
	struct sel *s = xcalloc(1, sizeof *s);

	s->root.slot = -1;
	return s;
}

int sel_slot_of(struct sel *s, const char *path_text)
{
	struct sel_slot *sl;

	for (size_t k = 0; k < s->nslots; k++)
		if (strcmp(s->slots[k].path.text, path_text) == 0)
			return (int)k;
	s->slots = xgrow(s->slots, &s->cap_slots, s->nslots + 1,
	    sizeof *s->slots);
	sl = &s->slots[s->nslots];
	/* the parser wrote the text from names that are not empty */
	if (path_compile(&sl->path, path_text) < 0)
		diag_fatal("sel: bad member path: '%s'", path_text);
	s->need_built = false;
	return (int)s->nslots++;
}

int sel_where(struct sel *s, const char *text, char *why, size_t n)
{
	struct sel_node *e = sel_parse_expr(s, text, why, n);

	if (e == NULL)
		return -1;
	sel_node_free(s->where);
	s->where = e;
	return 0;
}

int sel_fields(struct sel *s, const char *text, char *why, size_t n)
{
	if (s->has_fields) {
		snprintf(why, n, "fields given twice");
		return -1;
	}
	s->has_fields = true;
	return sel_parse_fields(s, text, why, n);
}

/* --- the members to read, as a tree ------------------------------------- */

static struct sel_need *need_kid(struct sel_need *nd, const char *name)
{
	struct sel_need *k;

	for (size_t i = 0; i < nd->nkids; i++)
		if (strcmp(nd->kids[i].name, name) == 0)
			return &nd->kids[i];
	nd->kids = xgrow(nd->kids, &nd->cap, nd->nkids + 1, sizeof *nd->kids);
	k = &nd->kids[nd->nkids++];
	memset(k, 0, sizeof *k);
	k->name = xstrdup(name);
	k->len = strlen(name);
	k->slot = -1;
	return k;
}

/* The want and found arrays of each level, once the tree stops moving
 * (need_kid() may move the kids). */
static void need_arrays(struct sel_need *nd)
{
	free(nd->want);
	free(nd->found);
	nd->want = xcalloc(nd->nkids + 1, sizeof *nd->want);
	nd->found = xcalloc(nd->nkids + 1, sizeof *nd->found);
	for (size_t i = 0; i < nd->nkids; i++) {
		nd->want[i].name = nd->kids[i].name;
		nd->want[i].len = nd->kids[i].len;
		need_arrays(&nd->kids[i]);
	}
}

static void need_free(struct sel_need *nd)
{
	for (size_t i = 0; i < nd->nkids; i++)
		need_free(&nd->kids[i]);
	free(nd->kids);
	free(nd->want);
	free(nd->found);
	free(nd->name);
}

static void need_build(struct sel *s)
{
	need_free(&s->root);
	memset(&s->root, 0, sizeof s->root);
	s->root.slot = -1;
	for (size_t k = 0; k < s->nslots; k++) {
		const struct path *p = &s->slots[k].path;
		struct sel_need *nd = &s->root;

		for (size_t i = 0; i < p->n; i++)
			nd = need_kid(nd, p->parts[i]);
		nd->slot = (int)k;
	}
	need_arrays(&s->root);
	free(s->vals);
	s->vals = xcalloc(s->nslots + 1, sizeof *s->vals);
	s->need_built = true;
}

/* --- reading the members --------------------------------------------------- */

/* An integer's digits to v; false when it does not fit, or is not an
 * integer (a fraction or an exponent: the caller reads a real). */
static bool span_int(const char *p, size_t n, int64_t *v)
{
	bool neg = n > 0 && p[0] == '-';
	uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;

	for (size_t i = neg; i < n; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (d > 9 || u > (lim - d) / 10)
			return false;
		u = u * 10 + d;
	}
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return true;
}

/* The value at span (validated JSON) into v; false when it is one the
 * scan does not read (a container, a string with an escape, a number
 * out of range): then rec_parse() reads the record. */
static bool span_value(const struct rec_span *sp, struct sel_val *v)
{
	const char *p = sp->p;
	size_t n = sp->n;

	if (p == NULL) {
		v->t = SEL_NULL;
		return true;
	}
	switch (p[0]) {
	case 'n':
		v->t = SEL_NULL;
		return true;
	case 't':
	case 'f':
		v->t = SEL_BOOL;
		v->b = p[0] == 't';
		return true;
	case '"':
		if (memchr(p + 1, '\\', n - 2) != NULL)
			return false;
		v->t = SEL_STR;
		v->s = p + 1;
		v->n = n - 2;
		return true;
	case '{':
	case '[':
		return false;
	default:
		break;
	}
	v->t = SEL_INT;
	if (span_int(p, n, &v->i))
		return true;
	if (memchr(p, '.', n) == NULL && memchr(p, 'e', n) == NULL &&
	    memchr(p, 'E', n) == NULL)
		return false;   /* an integer out of range */
	char tmp[64];

	if (n >= sizeof tmp)
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	v->t = SEL_REAL;
	v->d = strtod(tmp, NULL);
	return isfinite(v->d);
}

static void need_missing(struct sel *s, const struct sel_need *nd)
{
	for (size_t i = 0; i < nd->nkids; i++) {
		if (nd->kids[i].slot >= 0)
			s->vals[nd->kids[i].slot].t = SEL_NULL;
		need_missing(s, &nd->kids[i]);
	}
}

/* The fast way: the kept members of the object p[0, n) at level nd. */
static bool fill_fast(struct sel *s, const struct sel_need *nd, const char *p,
    size_t n)
{
	if (!rec_quick_members(p, n, nd->want, nd->nkids, nd->found))
		return false;
	for (size_t i = 0; i < nd->nkids; i++) {
		const struct sel_need *k = &nd->kids[i];
		const struct rec_span *sp = &nd->found[i];

		if (k->slot >= 0 && !span_value(sp, &s->vals[k->slot]))
			return false;
		if (k->nkids == 0)
			continue;
		if (sp->p != NULL && sp->p[0] == '{') {
			if (!fill_fast(s, k, sp->p, sp->n))
				return false;
		} else {
			need_missing(s, k);
		}
	}
	return true;
}

static void json_value(const json_t *j, struct sel_val *v)
{
	switch (j ? json_typeof(j) : JSON_NULL) {
	case JSON_TRUE:
	case JSON_FALSE:
		v->t = SEL_BOOL;
		v->b = json_is_true(j);
		break;
	case JSON_INTEGER:
		v->t = SEL_INT;
		v->i = (int64_t)json_integer_value(j);
		break;
	case JSON_REAL:
		v->t = SEL_REAL;
		v->d = json_real_value(j);
		break;
	case JSON_STRING:
		v->t = SEL_STR;
		v->s = json_string_value(j);
		v->n = json_string_length(j);
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		v->t = SEL_JSON;
		v->j = j;
		break;
	default:
		v->t = SEL_NULL;
		break;
	}
}

static void fill_json(struct sel *s, const json_t *obj)
{
	for (size_t k = 0; k < s->nslots; k++)
		json_value(path_get(&s->slots[k].path, obj), &s->vals[k]);
}

/* --- the output ------------------------------------------------------------- */

static void put(struct rec_writer *w, const struct sel_val *v)
{
	switch (v->t) {
	case SEL_NULL: rec_w_null(w); break;
	case SEL_BOOL: rec_w_bool(w, v->b); break;
	case SEL_INT: rec_w_i64(w, v->i); break;
	case SEL_REAL: rec_w_real(w, v->d); break;
	case SEL_STR: rec_w_str(w, v->s, v->n); break;
	default: rec_w_value(w, v->j); break;
	}
}

/* The fields of this record into out (with '*': the line's members,
 * then the fields).  -1 with why on an error of an expression. */
static int project(struct sel *s, const char *line, size_t len,
    struct buf *out, char *why)
{
	struct rec_writer w;
	struct buf *b = s->star ? &s->tail : out;

	buf_reset(b);
	rec_w_init(&w, b);
	rec_w_obj(&w);
	for (size_t k = 0; k < s->nfields; k++) {
		const struct sel_field *f = &s->fields[k];
		struct sel_val v;

		if (sel_eval(s, f->e, "--fields", &v, why) < 0)
			return -1;
		rec_w_key_made(&w, f->key.data, f->key.len);
		put(&w, &v);
	}
	rec_w_end(&w);
	if (s->star) {
		size_t keep = rec_splice_keep(line, len);

		buf_append(out, line, keep);
		if (s->tail.len > 2 && line[keep - 1] != '{')
			buf_appendc(out, ',');
		buf_append(out, s->tail.data + 1, s->tail.len - 1);
	}
	return 0;
}

enum sel_verdict sel_record(struct sel *s, const char *line, size_t len,
    const json_t *obj, struct buf *out, char *why)
{
	json_t *own = NULL;
	enum sel_verdict r = SEL_KEEP;

	if (!s->need_built)
		need_build(s);
	buf_reset(out);
	if (obj == NULL && !fill_fast(s, &s->root, line, len)) {
		obj = own = rec_parse(line, len, why);
		if (obj == NULL)
			return SEL_ERROR;
	}
	if (obj != NULL)
		fill_json(s, obj);
	if (s->where != NULL) {
		struct sel_val v;

		if (sel_eval(s, s->where, "--where", &v, why) < 0) {
			r = SEL_ERROR;
		} else if (v.t == SEL_BOOL) {
			r = v.b ? SEL_KEEP : SEL_DROP;
		} else if (v.t == SEL_NULL) {
			r = SEL_DROP;
		} else {
			snprintf(why, REC_ERR_MAX, "--where: column %d: the "
			    "condition is %s, not TRUE or FALSE",
			    s->where->col, sel_type_name(&v));
			r = SEL_ERROR;
		}
	}
	if (r == SEL_KEEP && s->has_fields &&
	    project(s, line, len, out, why) < 0)
		r = SEL_ERROR;
	json_decref(own);
	return r;
}

void sel_free(struct sel *s)
{
	if (s == NULL)
		return;
	sel_node_free(s->where);
	for (size_t k = 0; k < s->nfields; k++) {
		free(s->fields[k].name);
		buf_free(&s->fields[k].key);
		sel_node_free(s->fields[k].e);
	}
	free(s->fields);
	for (size_t k = 0; k < s->nslots; k++)
		path_free(&s->slots[k].path);
	free(s->slots);
	free(s->vals);
	need_free(&s->root);
	buf_free(&s->tail);
	free(s);
}
