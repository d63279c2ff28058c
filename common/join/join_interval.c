/*
 * join_interval.c - the interval join (join.h): left l and right r of
 * one key match when l + lo <= r <= l + hi.  Each record is held in its
 * key's bucket until the watermark passes the last time it can match;
 * an unmatched one of an outer side is then written alone, in event-time
 * order.
 */
#define _GNU_SOURCE /* memmem */
#define _GNU_SOURCE /* memmem */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "join_state.h"
#include "path.h"
#include "xalloc.h"
#include "banned.h"

int64_t join_interval_exp(const struct join *j, int s, int64_t t)
{
	/* A left record can still meet rights up to l + hi, a right one
	 * lefts up to r - lo; later records are at or above the watermark. */
	return s == JOIN_LEFT ? join_sat_add(t, j->cfg->hi) :
	    join_sat_add(t, -j->cfg->lo);
}

/* Is an unmatched record of side s written alone (outer joins)? */
static bool outer_side(const struct join *j, int s)
{
	enum join_type ty = j->cfg->type;

	return ty == JT_FULL || ty == (s == JOIN_LEFT ? JT_LEFT : JT_RIGHT);
}

void join_interval_store(struct join *j, struct bucket *b, int s,
    struct jrec r)
{
	r.side = (unsigned char)s;
	jvec_push(&b->side[s], r);
	join_held_add(j);
	jbucket_schedule(j, b, s, r.exp, r.seq);
}

static void due_push(struct join *j, struct jrec r)
{
	j->due = xgrow(j->due, &j->capdue, j->ndue + 1, sizeof *j->due);
	j->due[j->ndue++] = r;
}

/* The record being added as it goes into a row: obj, or the whole line
 * when obj is a projection and the side has no field list (parsed once,
 * on the first row, into *whole). */
static json_t *row_obj(struct join *j, int s, json_t *obj, const char *line,
    size_t len, json_t **whole)
{
	if (!j->projected || j->cfg->side[s].fields != NULL)
		return obj;
	if (*whole == NULL)
		*whole = jline_parse(line, len);
	return *whole;
}

void join_interval_add(struct join *j, int s, json_t *obj, const char *line,
    size_t len, int64_t t, uint64_t seq, const struct jfrag *f)
{
	struct bucket *b = jbucket_get(j, j->kb.data, j->kb.len, true);
	struct jvec *other = &b->side[1 - s];
	struct jrec r = { NULL, len, t, join_interval_exp(j, s, t), seq,
	    false };
	json_t *whole = NULL;
	/* Rows spliced from the lines (join_emit_lines()) unless a key is
	 * null: the row then takes the key from the bucket. */
	bool splice = j->whole && memmem(b->key, b->keylen, "null", 4) == NULL;

	for (size_t i = 0; i < other->n; i++) {
		struct jrec *e = &other->v[i];
		int64_t l = s == JOIN_LEFT ? t : e->t;
		int64_t rt = s == JOIN_LEFT ? e->t : t;
		if (rt < join_sat_add(l, j->cfg->lo) ||
		    rt > join_sat_add(l, j->cfg->hi))
			continue;
		e->matched = true;
		r.matched = true;
		if (f != NULL) {
			struct jfrag ef;

			jfrag_of_rec(j, 1 - s, e, &j->fh, &ef);
			join_emit_frags(j, s == JOIN_LEFT ? f : &ef,
			    s == JOIN_LEFT ? &ef : f, b);
			continue;
		}
		if (splice && (s == JOIN_LEFT ? join_emit_lines(j, line, len,
		    e->line, e->len) : join_emit_lines(j, e->line, e->len, line,
		    len)))
			continue;
		json_t *eo = jrec_parse(j, 1 - s, e);
		json_t *me = row_obj(j, s, obj, line, len, &whole);
		if (s == JOIN_LEFT)
			join_emit_row(j, me, eo, b);
		else
			join_emit_row(j, eo, me, b);
		json_decref(eo);
	}
	if (!join_passed(j, r.exp)) {
		json_decref(whole);
		r.line = f ? jline_hold(line, len, f, &r.flen) :
		    jline_copy(line, len);
		join_interval_store(j, b, s, r);
		return;
	}
	/* Nothing later can match it. */
	if (outer_side(j, s) && !r.matched && f != NULL) {
		join_emit_frags(j, s == JOIN_LEFT ? f : NULL,
		    s == JOIN_LEFT ? NULL : f, b);
	} else if (outer_side(j, s) && !r.matched) {
		json_t *me = row_obj(j, s, obj, line, len, &whole);
		if (s == JOIN_LEFT)
			join_emit_row(j, me, NULL, b);
		else
			join_emit_row(j, NULL, me, b);
	}
	json_decref(whole);
	jbucket_maybe_free(j, b);
}

static int due_cmp(const void *a, const void *b)
{
	const struct jrec *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Drops the records of b the watermark has passed; unmatched ones of an
 * outer side go to j->due, to be written in time order. */
static void interval_clean(struct join *j, struct bucket *b)
{
	int64_t next = INT64_MAX;
	uint64_t nseq = 0;
	int nside = 0;

	for (int s = 0; s < 2; s++) {
		struct jvec *v = &b->side[s];
		size_t k = 0;
		for (size_t i = 0; i < v->n; i++) {
			struct jrec *e = &v->v[i];
			if (!join_passed(j, e->exp)) {
				if (e->exp < next || (e->exp == next &&
				    e->seq < nseq)) {
					next = e->exp;
					nseq = e->seq;
					nside = s;
				}
				v->v[k++] = *e;
				continue;
			}
			j->st.held--;
			if (outer_side(j, s) && !e->matched)
				due_push(j, *e);
			else
				free(e->line);
		}
		v->n = k;
	}
	if (next != INT64_MAX)
		jbucket_schedule(j, b, nside, next, nseq);
}

void join_interval_advance(struct join *j)
{
	const struct jheap_item *top;

	while ((top = jtimers_top(&j->timers)) && join_passed(j, top->t)) {
		struct bucket *b = top->p;
		int64_t t = top->t;
		jtimers_pop(&j->timers);
		b->refs--;
		if (t == b->sched) {
			b->sched = INT64_MAX;
			interval_clean(j, b);
		}
		jbucket_maybe_free(j, b);
	}
	if (j->ndue == 0)
		return;
	/* Emitted in event-time order, whatever order the buckets came out
	 * in, so a restored run writes the same lines. */
	qsort(j->due, j->ndue, sizeof *j->due, due_cmp);
	for (size_t i = 0; i < j->ndue; i++) {
		struct jrec *e = &j->due[i];
		const char *missing;

		if (j->fast) {
			struct jfrag ef;

			jfrag_of_rec(j, e->side, e, &j->fh, &ef);
			join_emit_frags(j, e->side == JOIN_LEFT ? &ef : NULL,
			    e->side == JOIN_LEFT ? NULL : &ef, NULL);
			free(e->line);
			continue;
		}
		struct bucket kb = { .keylen = 0 };
		json_t *eo = jrec_parse(j, e->side, e);
		buf_reset(&j->kb);
		keyspec_encode(j->cfg->key[e->side], eo, &j->kb, &missing);
		kb.key = j->kb.data;
		kb.keylen = j->kb.len;
		if (e->side == JOIN_LEFT)
			join_emit_row(j, eo, NULL, &kb);
		else
			join_emit_row(j, NULL, eo, &kb);
		json_decref(eo);
		free(e->line);
	}
	j->ndue = 0;
}
