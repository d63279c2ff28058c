/*
 * aggfn_slot.c - the operations on one slot's state (aggfn_state.h):
 * exact and compensated sums, min and max, Welford moments, first and
 * last, the last_n list, the max_by/min_by sets and the exact distinct
 * set.
 *
 * first, last and last_n take a reference to the value they keep (and
 * drop the one they replace); the last_n list and the distinct set are
 * allocated here and freed by aggfn_lastn_free() and aggfn_dset_free().
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "aggfn_state.h"
#include "xalloc.h"
#include "banned.h"

/* Neumaier's compensated sum: *s + *c is the running total. */
static void comp_add(double *s, double *c, double x)
{
	double t = *s + x;

	if (fabs(*s) >= fabs(x))
		*c += (*s - t) + x;
	else
		*c += (x - t) + *s;
	*s = t;
}

static void sum_add_int(struct s_sum *s, int64_t v)
{
	int64_t r;

	if (__builtin_add_overflow(s->i, v, &r)) {
		comp_add(&s->d, &s->c, (double)s->i);
		s->i = v;
		s->n |= SUM_OVF;
	} else {
		s->i = r;
	}
}

void aggfn_sum_add(struct s_sum *s, const struct fval *f)
{
	if (f->type == V_INT) {
		sum_add_int(s, f->i);
	} else {
		comp_add(&s->d, &s->c, f->d);
		s->n |= SUM_REAL;
	}
	s->n++;
}

void aggfn_sum_merge(struct s_sum *d, const struct s_sum *s)
{
	sum_add_int(d, s->i);
	comp_add(&d->d, &d->c, s->d);
	comp_add(&d->d, &d->c, s->c);
	d->n = ((d->n & ~SUM_FLAGS) + (s->n & ~SUM_FLAGS)) |
	    ((d->n | s->n) & SUM_FLAGS);
}

double aggfn_sum_total(const struct s_sum *s)
{
	double t = s->d, c = s->c;

	comp_add(&t, &c, (double)s->i);
	return t + c;
}

/* Compares two present extremes: -1, 0 or 1. */
static int ext_cmp(const struct s_ext *a, const struct s_ext *b)
{
	long double x, y;

	if (a->tag == EXT_INT && b->tag == EXT_INT)
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	x = a->tag == EXT_INT ? (long double)a->u.i : (long double)a->u.d;
	y = b->tag == EXT_INT ? (long double)b->u.i : (long double)b->u.d;
	return (x > y) - (x < y);
}

/* Keeps v in e when e is empty or v is beyond it (dir 1: max, -1: min). */
void aggfn_ext_take(struct s_ext *e, const struct s_ext *v, int dir)
{
	if (v->tag != EXT_NONE &&
	    (e->tag == EXT_NONE || ext_cmp(v, e) * dir > 0))
		*e = *v;
}

void aggfn_ext_of(struct s_ext *e, const struct fval *f)
{
	if (f->type == V_INT) {
		e->u.i = f->i;
		e->tag = EXT_INT;
	} else {
		e->u.d = f->d;
		e->tag = EXT_REAL;
	}
}

void aggfn_ext_add(struct s_ext *e, const struct fval *f, int dir)
{
	struct s_ext v;

	aggfn_ext_of(&v, f);
	aggfn_ext_take(e, &v, dir);
}

void aggfn_by_add(struct byset **pp, const struct s_ext *by, const json_t *v,
    int dir)
{
	struct byset *b = *pp;
	int c;

	if (b == NULL) {
		b = xcalloc(1, sizeof(*b) + 4 * sizeof(b->v[0]));
		b->cap = 4;
		*pp = b;
	}
	c = b->n == 0 ? 1 : ext_cmp(by, &b->best) * dir;
	if (c < 0)
		return;
	if (c > 0) {
		for (uint32_t i = 0; i < b->n; i++)
			json_decref(b->v[i]);
		b->n = 0;
		b->best = *by;
	}
	if (b->n == b->cap) {
		b->cap *= 2;
		b = xrealloc(b, sizeof(*b) + b->cap * sizeof(b->v[0]));
		*pp = b;
	}
	b->v[b->n++] = json_incref((json_t *)v);
}

bool aggfn_by_reaches(const struct byset *b, const struct s_ext *by, int dir)
{
	return b == NULL || b->n == 0 || ext_cmp(by, &b->best) * dir >= 0;
}

void aggfn_by_free(struct byset *b)
{
	if (b == NULL)
		return;
	for (uint32_t i = 0; i < b->n; i++)
		json_decref(b->v[i]);
	free(b);
}

void aggfn_mom_add(struct s_mom *m, double x)
{
	double delta = x - m->mean;

	m->n++;
	m->mean += delta / (double)m->n;
	m->m2 += delta * (x - m->mean);
}

void aggfn_mom_merge(struct s_mom *d, const struct s_mom *s)
{
	double na = (double)d->n, nb = (double)s->n, n, delta;

	if (s->n == 0)
		return;
	if (d->n == 0) {
		*d = *s;
		return;
	}
	n = na + nb;
	delta = s->mean - d->mean;
	d->mean += delta * nb / n;
	d->m2 += s->m2 + delta * delta * na * nb / n;
	d->n += s->n;
}

/* first (last false) keeps the earliest, last the latest by ts; on equal
 * ts the later call wins for last and loses for first. */
void aggfn_pick(struct s_pick *p, int64_t ts, const json_t *v, bool last)
{
	if (p->v == NULL || (last ? ts >= p->ts : ts < p->ts)) {
		json_t *nv = json_incref((json_t *)v);

		json_decref(p->v);
		p->v = nv;
		p->ts = ts;
	}
}

void aggfn_lastn_insert(struct lastn **pp, uint32_t max, int64_t ts,
    const json_t *v)
{
	struct lastn *l = *pp;
	uint32_t pos;

	if (l == NULL) {
		uint32_t cap = max < 4 ? max : 4;

		l = xmalloc(sizeof(*l) + cap * sizeof(l->it[0]));
		l->n = 0;
		l->cap = cap;
		*pp = l;
	}
	if (l->n == max && ts < l->it[0].ts)
		return;
	pos = l->n;
	while (pos > 0 && l->it[pos - 1].ts > ts)
		pos--;
	if (l->n == max) {
		/* Full: the oldest goes; pos >= 1 by the test above. */
		json_decref(l->it[0].v);
		memmove(&l->it[0], &l->it[1], (pos - 1) * sizeof(l->it[0]));
		pos--;
	} else {
		if (l->n == l->cap) {
			l->cap = l->cap * 2 < max ? l->cap * 2 : max;
			l = xrealloc(l, sizeof(*l) + l->cap * sizeof(l->it[0]));
			*pp = l;
		}
		memmove(&l->it[pos + 1], &l->it[pos],
		    (l->n - pos) * sizeof(l->it[0]));
		l->n++;
	}
	l->it[pos].ts = ts;
	l->it[pos].v = json_incref((json_t *)v);
}

void aggfn_lastn_free(struct lastn *l)
{
	if (l == NULL)
		return;
	for (uint32_t i = 0; i < l->n; i++)
		json_decref(l->it[i].v);
	free(l);
}

struct dset *aggfn_dset_new(size_t cap)
{
	struct dset *s = xcalloc(1, sizeof(*s));

	s->cap = cap;
	s->t = xcalloc(cap, sizeof(struct dent));
	return s;
}

void aggfn_dset_free(struct dset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->t[i].b);
	free(s->t);
	free(s);
}

static void dset_put(struct dset *s, struct dent e)
{
	size_t mask = s->cap - 1, i = e.h & mask;

	while (s->t[i].b != NULL)
		i = (i + 1) & mask;
	s->t[i] = e;
}

void aggfn_dset_insert(struct dset *s, uint64_t h, const char *b, size_t len)
{
	size_t mask = s->cap - 1, i = h & mask;
	struct dent e;

	for (; s->t[i].b != NULL; i = (i + 1) & mask)
		if (s->t[i].h == h && s->t[i].len == len &&
		    memcmp(s->t[i].b, b, len) == 0)
			return;
	if ((s->n + 1) * 10 > s->cap * 7) {
		struct dent *old = s->t;
		size_t oldcap = s->cap;

		s->cap *= 2;
		s->t = xcalloc(s->cap, sizeof(struct dent));
		for (size_t k = 0; k < oldcap; k++)
			if (old[k].b != NULL)
				dset_put(s, old[k]);
		free(old);
	}
	e.h = h;
	e.len = len;
	e.b = xmalloc(len ? len : 1);
	memcpy(e.b, b, len);
	dset_put(s, e);
	s->n++;
	s->bytes += len;
}

void aggfn_dset_merge(struct dset **dp, const struct dset *src)
{
	if (src == NULL)
		return;
	if (*dp == NULL)
		*dp = aggfn_dset_new(8);
	for (size_t i = 0; i < src->cap; i++)
		if (src->t[i].b != NULL)
			aggfn_dset_insert(*dp, src->t[i].h, src->t[i].b,
			    src->t[i].len);
}
