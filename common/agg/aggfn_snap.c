/*
 * aggfn_snap.c - a state as JSON for a checkpoint and back
 * (aggset_snapshot(), aggset_restore(), aggfn.h).  The snapshot is a new
 * reference for the caller; a failed restore leaves the state empty and
 * nothing allocated.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "aggfn_state.h"
#include "ddsketch.h"
#include "hll.h"
#include "mpjson.h"
#include "xalloc.h"
#include "banned.h"

/*
 * A state is a JSON array with one element per slot, in slot order:
 *   count      N
 *   sum        [N, FLAGS, I, D, C]    FLAGS: 1 real seen, 2 overflowed
 *   min, max   null or the number
 *   moments    [N, MEAN, M2]
 *   first/last null or [TS, VALUE]
 *   distinct   null or [CANONICAL, ...]
 *   hll        null or hll_to_json()
 *   ddsketch   null or dds_to_json()
 *   last_n     null or [[TS, VALUE], ...] oldest first
 *   max_by, min_by  null or [BY, [VALUE, ...]] in arrival order
 * Non-finite reals (only a sum can overflow to one) are "inf", "-inf".
 */

static json_t *dbl_json(double d)
{
	if (isfinite(d))
		return json_real(d);
	return json_string(isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
}

static int json_dbl(const json_t *j, double *d)
{
	const char *s = json_string_value(j);

	if (json_is_number(j))
		*d = json_number_value(j);
	else if (s && strcmp(s, "inf") == 0)
		*d = INFINITY;
	else if (s && strcmp(s, "-inf") == 0)
		*d = -INFINITY;
	else if (s && strcmp(s, "nan") == 0)
		*d = NAN;
	else
		return -1;
	return 0;
}

static json_t *slot_snapshot(const struct slot *sl, const void *p)
{
	const void *ptr = slot_ptr(p);
	const struct s_sum *sm = p;
	const struct s_mom *mo = p;
	const struct s_pick *pk = p;
	const struct dset *ds = ptr;
	const struct lastn *l = ptr;
	const struct byset *by = ptr;
	json_t *a;

	switch (sl->kind) {
	case K_COUNT:
		return json_integer((json_int_t)*(const uint64_t *)p);
	case K_SUM:
		return json_pack("[I,i,I,o,o]",
		    (json_int_t)(sm->n & ~SUM_FLAGS),
		    (int)((sm->n & SUM_REAL ? 1 : 0) | (sm->n & SUM_OVF ? 2 : 0)),
		    (json_int_t)sm->i, dbl_json(sm->d), dbl_json(sm->c));
	case K_MIN:
	case K_MAX:
		return aggfn_ext_json(p);
	case K_MOMENTS:
		return json_pack("[I,o,o]", (json_int_t)mo->n,
		    dbl_json(mo->mean), dbl_json(mo->m2));
	case K_FIRST:
	case K_LAST:
		return pk->v ? json_pack("[I,O]", (json_int_t)pk->ts, pk->v) :
		    json_null();
	case K_DISTINCT:
		if (ds == NULL)
			return json_null();
		a = json_array();
		for (size_t i = 0; i < ds->cap; i++)
			if (ds->t[i].b != NULL)
				json_array_append_new(a,
				    json_stringn(ds->t[i].b, ds->t[i].len));
		return a;
	case K_HLL:
		return ptr ? hll_to_json(ptr) : json_null();
	case K_DDS:
		return ptr ? dds_to_json(ptr) : json_null();
	case K_LASTN:
		if (l == NULL)
			return json_null();
		a = json_array();
		for (uint32_t i = 0; i < l->n; i++)
			json_array_append_new(a, json_pack("[I,O]",
			    (json_int_t)l->it[i].ts, l->it[i].v));
		return a;
	case K_MAXBY:
	case K_MINBY:
		if (by == NULL || by->n == 0)
			return json_null();
		a = json_array();
		for (uint32_t i = 0; i < by->n; i++)
			json_array_append(a, by->v[i]);
		return json_pack("[o,o]", aggfn_ext_json(&by->best), a);
	}
	return json_null();
}

json_t *aggset_snapshot(const struct aggset *as, const void *state)
{
	json_t *a = json_array();

	for (size_t s = 0; s < as->nslots; s++)
		json_array_append_new(a, slot_snapshot(&as->slots[s],
		    (const char *)state + as->slots[s].off));
	return a;
}

/* dbl_json(d) packed: as a float 32 when that holds it exactly (0.0,
 * small integers, halves), 5 bytes instead of 9; read back, it is the
 * same real. */
static void dbl_pack(struct buf *b, double d)
{
	if (isfinite(d) && fabs(d) <= FLT_MAX && (double)(float)d == d) {
		mpb_pack_float(b, (float)d);
	} else if (isfinite(d)) {
		mpb_pack_double(b, d);
	} else {
		const char *s = isnan(d) ? "nan" : d > 0 ? "inf" : "-inf";

		mpb_pack_strn(b, s, strlen(s));
	}
}

/* slot_snapshot() packed: the plain kinds directly, the others through
 * their JSON. */
static void slot_pack(struct buf *b, const struct slot *sl, const void *p)
{
	const struct s_sum *sm = p;
	const struct s_mom *mo = p;
	const struct s_ext *ex = p;
	msgpack_packer pk;
	json_t *j;

	switch (sl->kind) {
	case K_COUNT:
		mpb_pack_int64(b, (int64_t)*(const uint64_t *)p);
		return;
	case K_SUM:
		mpb_pack_array(b, 5);
		mpb_pack_int64(b, (int64_t)(sm->n & ~SUM_FLAGS));
		mpb_pack_int(b, (sm->n & SUM_REAL ? 1 : 0) |
		    (sm->n & SUM_OVF ? 2 : 0));
		mpb_pack_int64(b, sm->i);
		dbl_pack(b, sm->d);
		dbl_pack(b, sm->c);
		return;
	case K_MIN:
	case K_MAX:
		if (ex->tag == EXT_INT)
			mpb_pack_int64(b, ex->u.i);
		else if (ex->tag == EXT_REAL && isfinite(ex->u.d))
			dbl_pack(b, ex->u.d);
		else
			mpb_pack_nil(b);
		return;
	case K_MOMENTS:
		mpb_pack_array(b, 3);
		mpb_pack_int64(b, (int64_t)mo->n);
		dbl_pack(b, mo->mean);
		dbl_pack(b, mo->m2);
		return;
	default:
		j = slot_snapshot(sl, p);
		mpj_packer(&pk, b);
		mpj_pack(&pk, j);
		json_decref(j);
		return;
	}
}

void aggset_pack(const struct aggset *as, struct buf *b, const void *state)
{
	mpb_pack_array(b, as->nslots);
	for (size_t s = 0; s < as->nslots; s++)
		slot_pack(b, &as->slots[s], (const char *)state +
		    as->slots[s].off);
}

/* [TS, VALUE] with a non-null VALUE: 0, else -1. */
static int ts_value(const json_t *j, int64_t *ts, const json_t **v)
{
	if (!json_is_array(j) || json_array_size(j) != 2 ||
	    !json_is_integer(json_array_get(j, 0)) ||
	    json_is_null(json_array_get(j, 1)))
		return -1;
	*ts = json_integer_value(json_array_get(j, 0));
	*v = json_array_get(j, 1);
	return 0;
}

static int restore_sum(struct s_sum *s, const json_t *j)
{
	json_int_t n, flags;

	if (!json_is_array(j) || json_array_size(j) != 5 ||
	    !json_is_integer(json_array_get(j, 0)) ||
	    !json_is_integer(json_array_get(j, 1)) ||
	    !json_is_integer(json_array_get(j, 2)) ||
	    json_dbl(json_array_get(j, 3), &s->d) < 0 ||
	    json_dbl(json_array_get(j, 4), &s->c) < 0)
		return -1;
	n = json_integer_value(json_array_get(j, 0));
	flags = json_integer_value(json_array_get(j, 1));
	if (n < 0 || flags < 0 || flags > 3)
		return -1;
	s->i = json_integer_value(json_array_get(j, 2));
	s->n = (uint64_t)n | (flags & 1 ? SUM_REAL : 0) |
	    (flags & 2 ? SUM_OVF : 0);
	return 0;
}

static int restore_ext(struct s_ext *e, const json_t *j)
{
	if (json_is_integer(j)) {
		e->u.i = json_integer_value(j);
		e->tag = EXT_INT;
	} else if (json_is_real(j)) {
		e->u.d = json_real_value(j);
		e->tag = EXT_REAL;
	} else if (!json_is_null(j)) {
		return -1;
	}
	return 0;
}

static int restore_distinct(struct dset **dp, const json_t *j)
{
	size_t i;
	const json_t *e;

	*dp = aggfn_dset_new(8);
	json_array_foreach(j, i, e) {
		const char *b = json_string_value(e);
		size_t len = json_string_length(e);

		if (b == NULL)
			return -1;
		aggfn_dset_insert(*dp, XXH3_64bits(b, len), b, len);
	}
	return 0;
}

static int restore_lastn(struct lastn **lp, uint32_t max, const json_t *j)
{
	size_t i;
	const json_t *e, *v;
	int64_t ts;

	if (json_array_size(j) > max)
		return -1;
	json_array_foreach(j, i, e) {
		if (ts_value(e, &ts, &v) < 0)
			return -1;
		aggfn_lastn_insert(lp, max, ts, v);
	}
	return 0;
}

/* [BY, [VALUE, ...]]: BY a number, at least one non-null VALUE. */
static int restore_by(struct byset **bp, int dir, const json_t *j)
{
	struct s_ext best = { { 0 }, EXT_NONE };
	const json_t *vs = json_array_get(j, 1), *e;
	size_t i;

	if (!json_is_array(j) || json_array_size(j) != 2 ||
	    restore_ext(&best, json_array_get(j, 0)) < 0 ||
	    best.tag == EXT_NONE || !json_is_array(vs) ||
	    json_array_size(vs) == 0)
		return -1;
	json_array_foreach(vs, i, e) {
		if (json_is_null(e))
			return -1;
		aggfn_by_add(bp, &best, e, dir);
	}
	return 0;
}

static int slot_restore(const struct slot *sl, void *p, const json_t *j,
    const char **why)
{
	void **pp = p;
	struct s_mom *mo = p;
	struct s_pick *pk = p;
	const json_t *v;
	int r = 0;

	if (json_is_null(j) && sl->kind != K_COUNT && sl->kind != K_SUM &&
	    sl->kind != K_MOMENTS)
		return 0;       /* empty */
	switch (sl->kind) {
	case K_COUNT:
		r = json_is_integer(j) && json_integer_value(j) >= 0 ? 0 : -1;
		if (r == 0)
			*(uint64_t *)p = (uint64_t)json_integer_value(j);
		break;
	case K_SUM:
		r = restore_sum(p, j);
		break;
	case K_MIN:
	case K_MAX:
		r = restore_ext(p, j);
		break;
	case K_MOMENTS:
		r = json_is_array(j) && json_array_size(j) == 3 &&
		    json_is_integer(json_array_get(j, 0)) &&
		    json_integer_value(json_array_get(j, 0)) >= 0 &&
		    json_dbl(json_array_get(j, 1), &mo->mean) == 0 &&
		    json_dbl(json_array_get(j, 2), &mo->m2) == 0 ? 0 : -1;
		if (r == 0)
			mo->n = (uint64_t)json_integer_value(json_array_get(j, 0));
		break;
	case K_FIRST:
	case K_LAST:
		r = ts_value(j, &pk->ts, &v);
		if (r == 0)
			pk->v = json_incref((json_t *)v);
		break;
	case K_DISTINCT:
		r = json_is_array(j) ? restore_distinct(p, j) : -1;
		break;
	case K_HLL:
		*pp = hll_from_json(j, (unsigned)sl->param, why);
		return *pp ? 0 : -1;
	case K_DDS:
		*pp = dds_from_json(j, sl->param, why);
		return *pp ? 0 : -1;
	case K_LASTN:
		r = json_is_array(j) ? restore_lastn(p, (uint32_t)sl->param, j) :
		    -1;
		break;
	case K_MAXBY:
	case K_MINBY:
		r = restore_by(p, sl->kind == K_MAXBY ? 1 : -1, j);
		break;
	}
	if (r < 0)
		*why = "aggregate state: a slot does not match its aggregate";
	return r;
}

int aggset_restore(const struct aggset *as, void *state, const json_t *snap,
    const char **why)
{
	char *base = state;

	aggset_init(as, state);
	if (!json_is_array(snap) || json_array_size(snap) != as->nslots) {
		*why = "aggregate state: not an array of the set's slots";
		return -1;
	}
	for (size_t s = 0; s < as->nslots; s++)
		if (slot_restore(&as->slots[s], base + as->slots[s].off,
		    json_array_get(snap, s), why) < 0) {
			aggset_free_state(as, state);
			aggset_init(as, state);
			return -1;
		}
	return 0;
}
