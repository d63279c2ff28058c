/*
 * join_timers.c - the join state's timers: per-lane FIFOs in front of
 * the tree's heap (see join_timers.h).
 */
#include <stdlib.h>
#include <string.h>

#include "join_timers.h"
#include "xalloc.h"
#include "banned.h"

/* --- timers: per-lane FIFOs and a heap ---------------------------------- */

void jtimers_init(struct jtimers *q)
{
	memset(q, 0, sizeof *q);
	jheap_init(&q->heap);
}

void jtimers_free(struct jtimers *q)
{
	for (int i = 0; i < JTIMERS_LANES; i++)
		free(q->lane[i].v);
	jheap_free(&q->heap);
	jtimers_init(q);
}

static struct jheap_item *ring_at(const struct jring *r, size_t i)
{
	return &r->v[(r->head + i) % r->cap];
}

static void ring_push(struct jring *r, struct jheap_item it)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct jheap_item *v = xmalloc(cap * sizeof *v);
		for (size_t i = 0; i < r->n; i++)
			v[i] = *ring_at(r, i);
		free(r->v);
		r->v = v;
		r->cap = cap;
		r->head = 0;
	}
	*ring_at(r, r->n++) = it;
}

void jtimers_push(struct jtimers *q, int lane, int64_t t, uint64_t seq, void *p)
{
	struct jring *r = &q->lane[lane];
	struct jheap_item it = { t, seq, p };

	if (r->n == 0 || !jheap_less(&it, ring_at(r, r->n - 1)))
		ring_push(r, it);
	else
		jheap_push(&q->heap, it);
}

/* Which source holds the smallest item: a lane, JTIMERS_LANES for the
 * heap, or -1 when empty. */
static int jtimers_min(const struct jtimers *q)
{
	const struct jheap_item *best = jheap_top(&q->heap);
	int which = best ? JTIMERS_LANES : -1;

	for (int i = 0; i < JTIMERS_LANES; i++) {
		const struct jring *r = &q->lane[i];
		if (r->n == 0)
			continue;
		const struct jheap_item *f = ring_at(r, 0);
		if (best == NULL || jheap_less(f, best)) {
			best = f;
			which = i;
		}
	}
	return which;
}

const struct jheap_item *jtimers_top(const struct jtimers *q)
{
	int w = jtimers_min(q);

	if (w < 0)
		return NULL;
	return w == JTIMERS_LANES ? jheap_top(&q->heap) : ring_at(&q->lane[w], 0);
}

void jtimers_pop(struct jtimers *q)
{
	int w = jtimers_min(q);

	if (w < 0)
		return;
	if (w == JTIMERS_LANES) {
		struct jheap_item gone;

		jheap_pop(&q->heap, &gone);
		return;
	}
	struct jring *r = &q->lane[w];
	r->head = (r->head + 1) % r->cap;
	r->n--;
}

size_t jtimers_count(const struct jtimers *q)
{
	size_t n = q->heap.n;

	for (int i = 0; i < JTIMERS_LANES; i++)
		n += q->lane[i].n;
	return n;
}

const struct jheap_item *jtimers_at(const struct jtimers *q, size_t i)
{
	for (int l = 0; l < JTIMERS_LANES; l++) {
		if (i < q->lane[l].n)
			return ring_at(&q->lane[l], i);
		i -= q->lane[l].n;
	}
	return &q->heap.v[i];
}
