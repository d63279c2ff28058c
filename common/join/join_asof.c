/*
 * join_asof.c - the as-of join (join.h): a right record is a version of
 * its key, kept in time order in the key's bucket; a left record waits
 * in the pending heap (struct pending, owned by the heap's item) until
 * the watermark passes its time, then takes the latest version at or
 * before it.  Versions no left record can choose any more are pruned.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "join_state.h"
#include "xalloc.h"
#include "banned.h"

/* The index just past the last version with time <= t. */
static size_t asof_upper(const struct jvec *v, int64_t t)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->v[mid].t <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Versions older than the newest one at or before the watermark can
 * never be chosen again: every left record to come is at or after it
 * (and so is every one waiting, see the bound). */
static void asof_prune(struct join *j, struct bucket *b)
{
	struct jvec *v = &b->side[JOIN_RIGHT];
	const struct jheap_item *top = jtimers_top(&j->pend);
	int64_t bound = j->W;

	/* While the watermark is being processed, left records below it
	 * are still waiting: the oldest of them bounds what may go. */
	if (top && top->t < bound)
		bound = top->t;
	size_t k = asof_upper(v, bound);

	if (k <= 1)
		return;
	k--;
	for (size_t i = 0; i < k; i++)
		free(v->v[i].line);
	memmove(v->v, v->v + k, (v->n - k) * sizeof *v->v);
	v->n -= k;
	j->st.held -= k;
}

void join_asof_store_right(struct join *j, struct bucket *b, struct jrec r)
{
	struct jvec *v = &b->side[JOIN_RIGHT];
	size_t i = asof_upper(v, r.t);     /* after equal times: later wins */

	jvec_reserve(v, v->n + 1);
	memmove(v->v + i + 1, v->v + i, (v->n - i) * sizeof *v->v);
	v->v[i] = r;
	v->n++;
	join_held_add(j);
	if (j->cfg->retention >= 0)
		jbucket_schedule(j, b, JOIN_RIGHT,
		    join_sat_add(v->v[v->n - 1].t, j->cfg->retention), r.seq);
}

void join_asof_store_left(struct join *j, const char *line, size_t len,
    int64_t t, uint64_t seq, const char *key, size_t klen)
{
	struct pending *p = xmalloc(sizeof *p);

	p->line = jline_copy(line, len);
	p->len = len;
	p->t = t;
	p->seq = seq;
	p->key = xmalloc(klen + 1);
	memcpy(p->key, key, klen);
	p->key[klen] = '\0';
	p->klen = klen;
	jtimers_push(&j->pend, JOIN_LEFT, t, seq, p);
	join_held_add(j);
}

void join_asof_add(struct join *j, int s, const char *line, size_t len,
    int64_t t, uint64_t seq)
{
	if (s == JOIN_LEFT) {
		join_asof_store_left(j, line, len, t, seq, j->kb.data,
		    j->kb.len);
		return;
	}
	struct bucket *b = jbucket_get(j, j->kb.data, j->kb.len, true);
	join_asof_store_right(j, b, (struct jrec){ jline_copy(line, len), len,
	    t, 0, seq, false });
	asof_prune(j, b);
}

static void asof_emit(struct join *j, struct pending *p)
{
	struct bucket *b = jbucket_get(j, p->key, p->klen, false);
	json_t *match = NULL;

	if (b) {
		struct jvec *v = &b->side[JOIN_RIGHT];
		size_t k = asof_upper(v, p->t);
		if (k > 0 && (j->cfg->retention < 0 ||
		    v->v[k - 1].t >= join_sat_add(p->t, -j->cfg->retention)))
			match = jrec_parse(j, JOIN_RIGHT, &v->v[k - 1]);
	}
	if (match || j->cfg->type == JT_LEFT) {
		struct bucket kb = { .key = p->key, .keylen = p->klen };
		json_t *lo = jside_parse(j, JOIN_LEFT, p->line, p->len);
		join_emit_row(j, lo, match, &kb);
		json_decref(lo);
	}
	json_decref(match);
	if (b)
		asof_prune(j, b);
}

void join_asof_advance(struct join *j)
{
	const struct jheap_item *top;

	while ((top = jtimers_top(&j->pend)) && join_passed(j, top->t)) {
		struct pending *p = top->p;
		jtimers_pop(&j->pend);
		j->st.held--;
		asof_emit(j, p);
		free(p->line);
		free(p->key);
		free(p);
	}
	/* Retention: a key whose newest version is too old for any left
	 * record still to come is forgotten. */
	while ((top = jtimers_top(&j->timers)) && join_passed(j, top->t)) {
		struct bucket *b = top->p;
		int64_t t = top->t;
		jtimers_pop(&j->timers);
		b->refs--;
		if (t == b->sched) {
			struct jvec *v = &b->side[JOIN_RIGHT];
			b->sched = INT64_MAX;
			int64_t end = v->n ? join_sat_add(v->v[v->n - 1].t,
			    j->cfg->retention) : INT64_MIN;
			if (join_passed(j, end)) {
				for (size_t i = 0; i < v->n; i++)
					free(v->v[i].line);
				j->st.held -= v->n;
				v->n = 0;
			} else {
				jbucket_schedule(j, b, JOIN_RIGHT, end,
				    v->v[v->n - 1].seq);
			}
		}
		jbucket_maybe_free(j, b);
	}
}
