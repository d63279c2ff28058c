/*
 * join_map.c - hash table and timer heap for the join state.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "join_map.h"
#include "xalloc.h"
#include "banned.h"

void jmap_init(struct jmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->n = 0;
}

void jmap_free(struct jmap *m)
{
	free(m->slots);
	jmap_init(m);
}

static uint64_t jmap_hash(const char *key, size_t len)
{
	return XXH3_64bits(key, len);
}

/* The slot holding key, or the free slot where it would go. */
static size_t jmap_find(const struct jmap *m, const char *key, size_t len,
    uint64_t h)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)h & mask;

	for (;;) {
		const struct jmap_slot *s = &m->slots[i];
		if (s->key == NULL)
			return i;
		if (s->hash == h && s->klen == len &&
		    memcmp(s->key, key, len) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static void jmap_grow(struct jmap *m)
{
	struct jmap_slot *old = m->slots;
	size_t oldcap = m->cap;

	m->cap = oldcap ? oldcap * 2 : 64;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		size_t j = jmap_find(m, old[i].key, old[i].klen, old[i].hash);
		m->slots[j] = old[i];
	}
	free(old);
}

struct jmap_slot *jmap_get(struct jmap *m, const char *key, size_t len)
{
	if (m->n == 0)
		return NULL;
	size_t i = jmap_find(m, key, len, jmap_hash(key, len));
	return m->slots[i].key ? &m->slots[i] : NULL;
}

struct jmap_slot *jmap_put(struct jmap *m, const char *key, size_t len)
{
	if ((m->n + 1) * 4 > m->cap * 3)
		jmap_grow(m);
	uint64_t h = jmap_hash(key, len);
	size_t i = jmap_find(m, key, len, h);
	struct jmap_slot *s = &m->slots[i];
	if (s->key == NULL) {
		s->key = key;
		s->klen = len;
		s->hash = h;
		s->val = NULL;
		m->n++;
	}
	return s;
}

void *jmap_del(struct jmap *m, const char *key, size_t len)
{
	if (m->n == 0)
		return NULL;
	size_t mask = m->cap - 1;
	size_t i = jmap_find(m, key, len, jmap_hash(key, len));
	if (m->slots[i].key == NULL)
		return NULL;
	void *val = m->slots[i].val;
	m->slots[i].key = NULL;
	m->n--;

	/* Backward shift: pull later members of the probe run into the
	 * hole when their home slot lies at or before it. */
	size_t hole = i;
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = (size_t)m->slots[j].hash & mask;
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			m->slots[hole] = m->slots[j];
			m->slots[j].key = NULL;
			hole = j;
		}
	}
	return val;
}

struct jmap_slot *jmap_next(struct jmap *m, size_t *i)
{
	while (*i < m->cap) {
		struct jmap_slot *s = &m->slots[(*i)++];
		if (s->key)
			return s;
	}
	return NULL;
}

/* --- heap ------------------------------------------------------------ */

void jheap_init(struct jheap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void jheap_free(struct jheap *h)
{
	free(h->v);
	jheap_init(h);
}

static int jheap_less(const struct jheap_item *a, const struct jheap_item *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void jheap_push(struct jheap *h, int64_t t, uint64_t seq, void *p)
{
	h->v = xgrow(h->v, &h->cap, h->n + 1, sizeof *h->v);
	size_t i = h->n++;
	struct jheap_item it = { t, seq, p };
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!jheap_less(&it, &h->v[parent]))
			break;
		h->v[i] = h->v[parent];
		i = parent;
	}
	h->v[i] = it;
}

const struct jheap_item *jheap_top(const struct jheap *h)
{
	return h->n ? &h->v[0] : NULL;
}

void jheap_pop(struct jheap *h)
{
	if (h->n == 0)
		return;
	struct jheap_item last = h->v[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && jheap_less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!jheap_less(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
}

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
		jheap_push(&q->heap, t, seq, p);
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
		jheap_pop(&q->heap);
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
