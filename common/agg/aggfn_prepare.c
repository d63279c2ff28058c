/*
 * aggfn_prepare.c - reading one record into the set's scratch area
 * (aggset_prepare(), aggfn.h): every field once, every condition set
 * once, and which slots the record reaches.  Values stay borrowed from
 * the record; the canonical bytes for distinct counting are computed
 * on demand into the field's own buffer (owned by the set).
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "aggfn_state.h"
#include "buf.h"
#include "path.h"
#include "banned.h"

static bool kind_numeric(enum kind k)
{
	return k == K_SUM || k == K_MIN || k == K_MAX || k == K_MOMENTS ||
	    k == K_DDS || k == K_MAXBY || k == K_MINBY;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "number";
	}
}

static void read_field(struct fval *f, const json_t *v)
{
	f->canon_done = false;
	if (v == NULL || json_is_null(v)) {
		f->v = NULL;
		f->type = V_NONE;
		return;
	}
	f->v = v;
	if (json_is_integer(v)) {
		f->type = V_INT;
		f->i = json_integer_value(v);
		f->d = (double)f->i;
	} else if (json_is_real(v)) {
		f->type = V_REAL;
		f->d = json_real_value(v);
	} else {
		f->type = V_OTHER;
	}
}

/* Compares the number in f with c's numeric literal: -1, 0 or 1. */
static int cmp_lit(const struct fval *f, const struct cond *c)
{
	long double a, b;

	if (f->type == V_INT && c->lit_int)
		return (f->i > c->lit_i) - (f->i < c->lit_i);
	a = f->type == V_INT ? (long double)f->i : (long double)f->d;
	b = c->lit_d;
	return (a > b) - (a < b);
}

/* = by the record value's type (see aggfn.h). */
static bool lit_equals(const struct fval *f, const struct cond *c)
{
	const json_t *v = f->v;

	if (f->type == V_INT || f->type == V_REAL)
		return c->lit_num && cmp_lit(f, c) == 0;
	if (json_is_string(v))
		return json_string_length(v) == c->litlen &&
		    memcmp(json_string_value(v), c->lit, c->litlen) == 0;
	if (json_is_true(v))
		return strcmp(c->lit, "true") == 0;
	if (json_is_false(v))
		return strcmp(c->lit, "false") == 0;
	return false;
}

/* Evaluates the conditions left to right, stopping at the first false. */
static int cset_eval(struct aggset *as, const struct condset *cs, bool *ok)
{
	*ok = false;
	for (size_t i = 0; i < cs->n; i++) {
		const struct cond *c = &cs->c[i];
		const struct fval *f = &as->fv[c->field];
		int r;

		if (f->type == V_NONE)
			return 0;
		if (c->op == OP_EQ || c->op == OP_NE) {
			if (lit_equals(f, c) != (c->op == OP_EQ))
				return 0;
			continue;
		}
		if (f->type == V_OTHER) {
			snprintf(as->why, sizeof(as->why), "condition '%s': "
			    "field '%s' is not a number: %s", c->text,
			    as->fields[c->field].text, type_name(f->v));
			return -1;
		}
		r = cmp_lit(f, c);
		if (!(c->op == OP_LT ? r < 0 : c->op == OP_LE ? r <= 0 :
		    c->op == OP_GT ? r > 0 : r >= 0))
			return 0;
	}
	*ok = true;
	return 0;
}

static int prepare_read(struct aggset *as, const char **why);

int aggset_prepare(struct aggset *as, const json_t *rec, const char **why)
{
	for (size_t i = 0; i < as->nfields; i++)
		read_field(&as->fv[i], path_get(&as->fields[i], rec));
	return prepare_read(as, why);
}

int aggset_prepare_values(struct aggset *as, json_t *const *v,
    const char **why)
{
	for (size_t i = 0; i < as->nfields; i++) {
		if (as->lazy[i]) {
			/* Present whenever the slots reading it are reached
			 * (their BY lies inside it); v NULL: not read yet. */
			as->fv[i].v = NULL;
			as->fv[i].type = V_OTHER;
			as->fv[i].canon_done = false;
			continue;
		}
		read_field(&as->fv[i], v[i]);
	}
	return prepare_read(as, why);
}

/* The conditions and the slots reached, from the fields read. */
static int prepare_read(struct aggset *as, const char **why)
{
	for (size_t i = 0; i < as->ncsets; i++)
		if (cset_eval(as, &as->csets[i], &as->cs_ok[i]) < 0) {
			*why = as->why;
			return -1;
		}
	for (size_t s = 0; s < as->nslots; s++) {
		const struct slot *sl = &as->slots[s];
		bool act = sl->cset < 0 || as->cs_ok[sl->cset];

		if (act && sl->field >= 0) {
			const struct fval *f = &as->fv[sl->field];

			if (f->type == V_NONE) {
				act = false;
			} else if (f->type == V_OTHER && kind_numeric(sl->kind)) {
				snprintf(as->why, sizeof(as->why), "field '%s' "
				    "is not a number: %s",
				    as->fields[sl->field].text, type_name(f->v));
				*why = as->why;
				return -1;
			}
		}
		/* max_by, min_by skip a record without FIELD too */
		if (act && sl->vfield >= 0 &&
		    as->fv[sl->vfield].type == V_NONE)
			act = false;
		as->active[s] = act;
	}
	return 0;
}

/*
 * The canonical bytes of a value for distinct counting: one type letter
 * and the value, so "1" (a string) and 1 differ, and a number has one
 * form whether written 1 or 1.0.  Computed once per field and record.
 */
void aggfn_canon(struct fval *f)
{
	struct buf *b = &f->canon;
	char t[32];
	char *dump;
	int n;

	if (f->canon_done)
		return;
	buf_reset(b);
	if (f->type == V_INT || (f->type == V_REAL && f->d == floor(f->d) &&
	    fabs(f->d) < 9.2e18)) {
		buf_appendc(b, 'i');
		buf_append_i64(b, f->type == V_INT ? f->i : (int64_t)f->d);
	} else if (f->type == V_REAL) {
		n = snprintf(t, sizeof(t), "r%.17g", f->d);
		buf_append(b, t, (size_t)n);
	} else if (json_is_string(f->v)) {
		buf_appendc(b, 's');
		buf_append(b, json_string_value(f->v), json_string_length(f->v));
	} else if (json_is_boolean(f->v)) {
		buf_appendc(b, json_is_true(f->v) ? 't' : 'f');
	} else {
		buf_appendc(b, 'j');
		dump = json_dumps(f->v, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
		if (dump)
			buf_appends(b, dump);
		free(dump);
	}
	f->hash = XXH3_64bits(b->data, b->len);
	f->canon_done = true;
}
