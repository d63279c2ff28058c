/*
 * aggfn_ops.c - the operations on whole states (aggfn.h): initialising,
 * applying a prepared record, merging, sizing, freeing, and writing the
 * results out.  A state block is the caller's; what a slot allocates
 * out of line (sketches, sets, lists) is freed by aggset_free_state().
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "aggfn_state.h"
#include "ddsketch.h"
#include "hll.h"
#include "rec.h"
#include "banned.h"

void aggset_init(const struct aggset *as, void *state)
{
	/* Zero bytes are every slot's empty state. */
	memset(state, 0, as->size);
}

static void slot_apply(const struct aggset *as, const struct slot *sl,
    void *p, struct fval *f, const struct fval *vf, int64_t ts)
{
	void **pp = p;
	struct s_ext by;
	const json_t *v;
	int dir;

	switch (sl->kind) {
	case K_COUNT:
		(*(uint64_t *)p)++;
		break;
	case K_SUM:
		aggfn_sum_add(p, f);
		break;
	case K_MIN:
		aggfn_ext_add(p, f, -1);
		break;
	case K_MAX:
		aggfn_ext_add(p, f, 1);
		break;
	case K_MOMENTS:
		aggfn_mom_add(p, f->d);
		break;
	case K_FIRST:
	case K_LAST:
		aggfn_pick(p, ts, f->v, sl->kind == K_LAST);
		break;
	case K_DISTINCT:
		aggfn_canon(f);
		if (*pp == NULL)
			*pp = aggfn_dset_new(8);
		aggfn_dset_insert(*pp, f->hash, f->canon.data, f->canon.len);
		break;
	case K_HLL:
		aggfn_canon(f);
		if (*pp == NULL)
			*pp = hll_new((unsigned)sl->param);
		*pp = hll_add(*pp, f->hash);
		break;
	case K_DDS:
		if (*pp == NULL)
			*pp = dds_new(sl->param);
		dds_add(*pp, f->d);
		break;
	case K_LASTN:
		aggfn_lastn_insert(p, (uint32_t)sl->param, ts, f->v);
		break;
	case K_MAXBY:
	case K_MINBY:
		aggfn_ext_of(&by, f);
		dir = sl->kind == K_MAXBY ? 1 : -1;
		v = vf->v;
		/* A field read on demand (aggset_set_lazy()): only for a
		 * record that reaches the extreme. */
		if (v == NULL) {
			if (!aggfn_by_reaches(*pp, &by, dir))
				break;
			v = as->get(as->get_ctx, (size_t)sl->vfield);
			if (v == NULL || json_is_null(v))
				break;
		}
		aggfn_by_add(p, &by, v, dir);
		break;
	}
}

void aggset_apply(struct aggset *as, void *state, int64_t ts)
{
	char *base = state;

	for (size_t s = 0; s < as->nslots; s++) {
		const struct slot *sl = &as->slots[s];

		if (as->active[s])
			slot_apply(as, sl, base + sl->off,
			    sl->field >= 0 ? &as->fv[sl->field] : NULL,
			    sl->vfield >= 0 ? &as->fv[sl->vfield] : NULL, ts);
	}
}

int aggset_update(struct aggset *as, void *state, const json_t *rec,
    int64_t ts, const char **why)
{
	if (aggset_prepare(as, rec, why) < 0)
		return -1;
	aggset_apply(as, state, ts);
	return 0;
}

static void slot_merge(const struct slot *sl, void *d, const void *s)
{
	void **dp = d;
	void *const *sp = s;
	const struct s_pick *sk = s;

	switch (sl->kind) {
	case K_COUNT:
		*(uint64_t *)d += *(const uint64_t *)s;
		break;
	case K_SUM:
		aggfn_sum_merge(d, s);
		break;
	case K_MIN:
		aggfn_ext_take(d, s, -1);
		break;
	case K_MAX:
		aggfn_ext_take(d, s, 1);
		break;
	case K_MOMENTS:
		aggfn_mom_merge(d, s);
		break;
	case K_FIRST:
	case K_LAST:
		if (sk->v != NULL)
			aggfn_pick(d, sk->ts, sk->v, sl->kind == K_LAST);
		break;
	case K_DISTINCT:
		aggfn_dset_merge((struct dset **)dp, *sp);
		break;
	case K_HLL:
		if (*sp == NULL)
			break;
		if (*dp == NULL)
			*dp = hll_new((unsigned)sl->param);
		*dp = hll_merge(*dp, *sp);
		break;
	case K_DDS:
		if (*sp == NULL)
			break;
		if (*dp == NULL)
			*dp = dds_new(sl->param);
		dds_merge(*dp, *sp);
		break;
	case K_LASTN:
		if (*sp == NULL)
			break;
		for (uint32_t i = 0; i < ((const struct lastn *)*sp)->n; i++) {
			const struct lastn_item *it =
			    &((const struct lastn *)*sp)->it[i];

			aggfn_lastn_insert((struct lastn **)dp,
			    (uint32_t)sl->param, it->ts, it->v);
		}
		break;
	case K_MAXBY:
	case K_MINBY:
		if (*sp == NULL)
			break;
		for (uint32_t i = 0; i < ((const struct byset *)*sp)->n; i++)
			aggfn_by_add((struct byset **)dp,
			    &((const struct byset *)*sp)->best,
			    ((const struct byset *)*sp)->v[i],
			    sl->kind == K_MAXBY ? 1 : -1);
		break;
	}
}

void aggset_merge(const struct aggset *as, void *dst, const void *src)
{
	for (size_t s = 0; s < as->nslots; s++)
		slot_merge(&as->slots[s], (char *)dst + as->slots[s].off,
		    (const char *)src + as->slots[s].off);
}

void aggset_free_state(const struct aggset *as, void *state)
{
	char *base = state;

	for (size_t s = 0; s < as->nslots; s++) {
		void *p = base + as->slots[s].off;
		void **pp = p;

		switch (as->slots[s].kind) {
		case K_FIRST:
		case K_LAST:
			json_decref(((struct s_pick *)p)->v);
			break;
		case K_DISTINCT:
			aggfn_dset_free(*pp);
			break;
		case K_HLL:
			hll_free(*pp);
			break;
		case K_DDS:
			dds_free(*pp);
			break;
		case K_LASTN:
			aggfn_lastn_free(*pp);
			break;
		case K_MAXBY:
		case K_MINBY:
			aggfn_by_free(*pp);
			break;
		default:
			break;
		}
	}
}

/* A rough size of a kept JSON value (jansson's allocation included). */
static size_t value_bytes(const json_t *v)
{
	if (json_is_string(v))
		return 48 + json_string_length(v);
	return json_is_object(v) || json_is_array(v) ? 128 : 32;
}

size_t aggset_state_bytes(const struct aggset *as, const void *state)
{
	const char *base = state;
	size_t n = as->size;

	for (size_t s = 0; s < as->nslots; s++) {
		const void *p = base + as->slots[s].off;
		const void *ptr = slot_ptr(p);

		switch (as->slots[s].kind) {
		case K_FIRST:
		case K_LAST:
			if (((const struct s_pick *)p)->v)
				n += value_bytes(((const struct s_pick *)p)->v);
			break;
		case K_DISTINCT:
			if (ptr) {
				const struct dset *d = ptr;

				n += sizeof(*d) + d->cap * sizeof(struct dent) +
				    d->bytes + d->n * 16;
			}
			break;
		case K_HLL:
			if (ptr)
				n += hll_bytes(ptr);
			break;
		case K_DDS:
			if (ptr)
				n += dds_bytes(ptr);
			break;
		case K_LASTN:
			if (ptr) {
				const struct lastn *l = ptr;

				n += sizeof(*l) + l->cap * sizeof(l->it[0]);
				for (uint32_t i = 0; i < l->n; i++)
					n += value_bytes(l->it[i].v);
			}
			break;
		case K_MAXBY:
		case K_MINBY:
			if (ptr) {
				const struct byset *b = ptr;

				n += sizeof(*b) + b->cap * sizeof(b->v[0]);
				for (uint32_t i = 0; i < b->n; i++)
					n += value_bytes(b->v[i]);
			}
			break;
		default:
			break;
		}
	}
	return n;
}

/* --- results -------------------------------------------------------------- */

static json_t *real_or_null(double d)
{
	return isfinite(d) ? json_real(d) : json_null();
}

json_t *aggfn_ext_json(const struct s_ext *e)
{
	if (e->tag == EXT_INT)
		return json_integer(e->u.i);
	if (e->tag == EXT_REAL)
		return json_real(e->u.d);
	return json_null();
}

static json_t *sum_result(const struct s_sum *s, enum fn fn)
{
	uint64_t n = s->n & ~SUM_FLAGS;

	if (n == 0)
		return fn == FN_SUM0 ? json_integer(0) : json_null();
	if (fn == FN_AVG)
		return real_or_null(s->n & SUM_FLAGS ?
		    aggfn_sum_total(s) / (double)n :
		    (double)((long double)s->i / (long double)n));
	if (s->n & SUM_FLAGS)
		return real_or_null(aggfn_sum_total(s));
	return json_integer(s->i);
}

static json_t *mom_result(const struct s_mom *m, enum fn fn)
{
	bool samp = fn == FN_VAR_SAMP || fn == FN_STDDEV_SAMP;
	double var;

	if (m->n < (samp ? 2u : 1u))
		return json_null();
	var = m->m2 / (double)(samp ? m->n - 1 : m->n);
	if (var < 0)
		var = 0;        /* rounding */
	return real_or_null(fn == FN_STDDEV_SAMP || fn == FN_STDDEV_POP ?
	    sqrt(var) : var);
}

static json_t *agg_result(const struct aggset *as, const struct agg *a,
    const char *base)
{
	const void *p = base + as->slots[a->slot].off;
	const void *ptr = slot_ptr(p);
	const struct s_pick *pk = p;
	const struct lastn *l = ptr;
	const struct byset *by = ptr;
	json_t *arr;

	switch (a->fn) {
	case FN_COUNT:
		return json_integer((json_int_t)*(const uint64_t *)p);
	case FN_SUM:
	case FN_SUM0:
	case FN_AVG:
		return sum_result(p, a->fn);
	case FN_MIN:
	case FN_MAX:
		return aggfn_ext_json(p);
	case FN_FIRST:
	case FN_LAST:
		return pk->v ? json_incref(pk->v) : json_null();
	case FN_COUNT_DISTINCT:
		return json_integer(ptr ?
		    (json_int_t)((const struct dset *)ptr)->n : 0);
	case FN_APPROX_DISTINCT:
		return json_integer(ptr ? (json_int_t)llround(hll_estimate(ptr)) :
		    0);
	case FN_PERCENTILE:
		return ptr ? real_or_null(dds_quantile(ptr, a->q)) :
		    json_null();
	case FN_VAR_SAMP:
	case FN_VAR_POP:
	case FN_STDDEV_SAMP:
	case FN_STDDEV_POP:
		return mom_result(p, a->fn);
	case FN_LAST_N:
		arr = json_array();
		for (uint32_t i = 0; l && i < l->n; i++)
			json_array_append(arr, l->it[i].v);
		return arr;
	case FN_MAX_BY:
	case FN_MIN_BY:
		arr = json_array();
		for (uint32_t i = 0; by && i < by->n; i++)
			json_array_append(arr, by->v[i]);
		return arr;
	}
	return json_null();
}

void aggset_result_w(const struct aggset *as, const void *state,
    struct rec_writer *w)
{
	for (size_t i = 0; i < as->naggs; i++) {
		const struct agg *a = &as->aggs[i];
		json_t *v;

		if (a->fn == FN_COUNT) {
			rec_w_key(w, a->name);
			rec_w_i64(w, (int64_t)*(const uint64_t *)(
			    (const char *)state + as->slots[a->slot].off));
			continue;
		}
		/* NULL (jansson refused the value): aggset_result() sets no
		 * member either. */
		v = agg_result(as, a, state);
		if (v == NULL)
			continue;
		rec_w_key(w, a->name);
		rec_w_value(w, v);
		json_decref(v);
	}
}

void aggset_result(const struct aggset *as, const void *state, json_t *out)
{
	for (size_t i = 0; i < as->naggs; i++)
		json_object_set_new(out, as->aggs[i].name,
		    agg_result(as, &as->aggs[i], state));
}
