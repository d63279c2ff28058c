/* window_state.c - key table and timer heap (see window_state.h). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "window_state.h"
#include "xalloc.h"
#include "banned.h"

#define KEYTAB_MIN_SLOTS 64

void keytab_init(struct keytab *t)
{
	memset(t, 0, sizeof *t);
	t->mask = KEYTAB_MIN_SLOTS - 1;
	t->slots = xcalloc(KEYTAB_MIN_SLOTS, sizeof *t->slots);
}

void keytab_free(struct keytab *t)
{
	for (size_t i = 0; i < t->nids; i++)
		free(t->keys[i].p);
	free(t->keys);
	free(t->slots);
	free(t->free_ids);
	memset(t, 0, sizeof *t);
}

static uint32_t hash_key(const char *key, size_t len)
{
	uint64_t h = XXH3_64bits(key, len);

	return (uint32_t)(h ^ (h >> 32));
}

static bool same(const struct keytab_key *k, uint32_t h, const char *key,
    size_t len)
{
	return k->hash == h && k->len == len && memcmp(k->p, key, len) == 0;
}

uint32_t keytab_find(const struct keytab *t, const char *key, size_t len)
{
	uint32_t h = hash_key(key, len);

	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		uint32_t s = t->slots[i];

		if (s == 0)
			return KEYTAB_NONE;
		if (same(&t->keys[s - 1], h, key, len))
			return s - 1;
	}
}

static void place(struct keytab *t, uint32_t id)
{
	size_t i = t->keys[id].hash & t->mask;

	while (t->slots[i] != 0)
		i = (i + 1) & t->mask;
	t->slots[i] = id + 1;
}

static void grow(struct keytab *t)
{
	size_t n = (t->mask + 1) * 2;

	free(t->slots);
	t->slots = xcalloc(n, sizeof *t->slots);
	t->mask = n - 1;
	for (size_t id = 0; id < t->nids; id++)
		if (t->keys[id].p != NULL)
			place(t, (uint32_t)id);
}

uint32_t keytab_intern(struct keytab *t, const char *key, size_t len,
    bool *added)
{
	uint32_t h = hash_key(key, len);
	size_t i;
	uint32_t id;

	for (i = h & t->mask;; i = (i + 1) & t->mask) {
		uint32_t s = t->slots[i];

		if (s == 0)
			break;
		if (same(&t->keys[s - 1], h, key, len)) {
			*added = false;
			return s - 1;
		}
	}
	*added = true;
	if (t->nfree > 0) {
		id = t->free_ids[--t->nfree];
	} else {
		t->keys = xgrow(t->keys, &t->cap_ids, t->nids + 1,
		    sizeof *t->keys);
		id = (uint32_t)t->nids++;
	}
	t->keys[id].p = xmalloc(len + 1);
	memcpy(t->keys[id].p, key, len);
	t->keys[id].p[len] = '\0';
	t->keys[id].len = (uint32_t)len;
	t->keys[id].hash = h;
	t->key_bytes += len + 1;
	t->count++;
	if ((t->count + 1) * 4 > (t->mask + 1) * 3)
		grow(t);
	else
		t->slots[i] = id + 1;
	return id;
}

const char *keytab_key(const struct keytab *t, uint32_t id, size_t *len)
{
	*len = t->keys[id].len;
	return t->keys[id].p;
}

static int by_key(const void *a, const void *b, void *table)
{
	const struct keytab *t = table;
	const struct keytab_key *x = &t->keys[*(const uint32_t *)a];
	const struct keytab_key *y = &t->keys[*(const uint32_t *)b];
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

void keytab_sort_ids(const struct keytab *t, uint32_t *ids, size_t n)
{
	if (n > 1)
		qsort_r(ids, n, sizeof *ids, by_key, (void *)t);
}

void keytab_remove(struct keytab *t, uint32_t id)
{
	struct keytab_key *k = &t->keys[id];
	size_t i = k->hash & t->mask;

	while (t->slots[i] != id + 1)
		i = (i + 1) & t->mask;
	/* Backward-shift deletion: no tombstones, probes stay short. */
	for (size_t j = (i + 1) & t->mask; t->slots[j] != 0;
	    j = (j + 1) & t->mask) {
		size_t home = t->keys[t->slots[j] - 1].hash & t->mask;

		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = 0;
	t->key_bytes -= k->len + 1;
	free(k->p);
	k->p = NULL;
	k->len = 0;
	t->free_ids = xgrow(t->free_ids, &t->cap_free, t->nfree + 1,
	    sizeof *t->free_ids);
	t->free_ids[t->nfree++] = id;
	t->count--;
}

size_t keytab_bytes(const struct keytab *t)
{
	return (t->mask + 1) * sizeof *t->slots +
	    t->cap_ids * sizeof *t->keys + t->cap_free * sizeof *t->free_ids +
	    t->key_bytes;
}

/* --- timers ---------------------------------------------------------- */

void timerheap_init(struct timerheap *h)
{
	memset(h, 0, sizeof *h);
}

void timerheap_free(struct timerheap *h)
{
	free(h->v);
	memset(h, 0, sizeof *h);
}

static bool before(const struct timer *a, const struct timer *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void timerheap_push(struct timerheap *h, int64_t t, uint32_t id)
{
	struct timer x = { t, h->seq++, id };

	size_t i;

	h->v = xgrow(h->v, &h->cap, h->n + 1, sizeof *h->v);
	for (i = h->n++; i > 0; ) {
		size_t p = (i - 1) / 2;

		if (!before(&x, &h->v[p]))
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = x;
}

bool timerheap_pop(struct timerheap *h, int64_t upto, struct timer *out)
{
	struct timer last;
	size_t i = 0;

	if (h->n == 0 || h->v[0].t > upto)
		return false;
	*out = h->v[0];
	last = h->v[--h->n];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
			c++;
		if (!before(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n > 0)
		h->v[i] = last;
	return true;
}
