/* window_state.c - key table and timer heap (see window_state.h), over
 * the tree's hash index and heap. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "window_state.h"
#include "xalloc.h"
#include "banned.h"

static unsigned tag(const struct keytab_key *k)
{
	return (unsigned char)k->b[15];
}

static size_t key_len(const struct keytab_key *k)
{
	uint32_t n;

	if (tag(k) != KEYTAB_LONG)
		return tag(k);
	memcpy(&n, k->b + 8, sizeof n);
	return n;
}

static const char *key_bytes(const struct keytab_key *k)
{
	const char *p;

	if (tag(k) != KEYTAB_LONG)
		return k->b;
	memcpy(&p, k->b, sizeof p);
	return p;
}

void keytab_init(struct keytab *t)
{
	memset(t, 0, sizeof *t);
	hashidx_init(&t->map);
}

void keytab_free(struct keytab *t)
{
	for (size_t i = 0; i < t->nids; i++)
		if (tag(&t->keys[i]) == KEYTAB_LONG)
			free((char *)key_bytes(&t->keys[i]));
	free(t->keys);
	hashidx_free(&t->map);
	free(t->free_ids);
	memset(t, 0, sizeof *t);
}

struct probe {
	const struct keytab *t;
	const char *key;
	size_t len;
};

static bool key_eq(const void *ctx, uint32_t id)
{
	const struct probe *p = ctx;
	const struct keytab_key *k = &p->t->keys[id];

	return key_len(k) == p->len &&
	    memcmp(key_bytes(k), p->key, p->len) == 0;
}

static uint32_t find(const struct keytab *t, const char *key, size_t len,
    uint32_t h)
{
	struct probe p = { t, key, len };

	return hashidx_find(&t->map, h, key_eq, &p);
}

uint32_t keytab_find(const struct keytab *t, const char *key, size_t len)
{
	if (len >= UINT32_MAX)
		return KEYTAB_NONE;
	return find(t, key, len, hashtab_hash(key, len));
}

uint32_t keytab_intern(struct keytab *t, const char *key, size_t len,
    bool *added)
{
	uint32_t h, id;
	struct keytab_key *k;

	if (len >= UINT32_MAX)
		diag_fatal("keytab: a key of %zu bytes", len);
	h = hashtab_hash(key, len);
	id = find(t, key, len, h);
	if (id != KEYTAB_NONE) {
		*added = false;
		return id;
	}
	*added = true;
	if (t->nfree > 0) {
		id = t->free_ids[--t->nfree];
	} else {
		t->keys = xgrow(t->keys, &t->cap_ids, t->nids + 1,
		    sizeof *t->keys);
		id = (uint32_t)t->nids++;
	}
	k = &t->keys[id];
	if (len < KEYTAB_INLINE) {
		memcpy(k->b, key, len);
		k->b[len] = '\0';
		k->b[15] = (char)len;
	} else {
		char *p = xmalloc(len + 1);
		uint32_t n = (uint32_t)len;

		memcpy(p, key, len);
		p[len] = '\0';
		memcpy(k->b, &p, sizeof p);
		memcpy(k->b + 8, &n, sizeof n);
		k->b[15] = (char)KEYTAB_LONG;
		t->key_bytes += len + 1;
	}
	hashidx_add(&t->map, h, id);
	t->count++;
	return id;
}

const char *keytab_key(const struct keytab *t, uint32_t id, size_t *len)
{
	*len = key_len(&t->keys[id]);
	return key_bytes(&t->keys[id]);
}

static int by_key(const void *a, const void *b, void *table)
{
	const struct keytab *t = table;
	const struct keytab_key *x = &t->keys[*(const uint32_t *)a];
	const struct keytab_key *y = &t->keys[*(const uint32_t *)b];
	size_t xn = key_len(x), yn = key_len(y);
	int c = memcmp(key_bytes(x), key_bytes(y), xn < yn ? xn : yn);

	return c != 0 ? c : (xn > yn) - (xn < yn);
}

void keytab_sort_ids(const struct keytab *t, uint32_t *ids, size_t n)
{
	if (n > 1)
		qsort_r(ids, n, sizeof *ids, by_key, (void *)t);
}

void keytab_remove(struct keytab *t, uint32_t id)
{
	struct keytab_key *k = &t->keys[id];
	const char *key = key_bytes(k);
	size_t len = key_len(k);

	if (!hashidx_del(&t->map, hashtab_hash(key, len), id))
		diag_fatal("keytab: key %u missing from its index", id);
	if (tag(k) == KEYTAB_LONG) {
		t->key_bytes -= len + 1;
		free((char *)key);
	}
	k->b[15] = (char)KEYTAB_FREE;
	t->free_ids = xgrow(t->free_ids, &t->cap_free, t->nfree + 1,
	    sizeof *t->free_ids);
	t->free_ids[t->nfree++] = id;
	t->count--;
}

size_t keytab_bytes(const struct keytab *t)
{
	return hashidx_bytes(&t->map) + t->cap_ids * sizeof *t->keys +
	    t->cap_free * sizeof *t->free_ids + t->key_bytes;
}

/* --- timers ---------------------------------------------------------- */

void timerheap_init(struct timerheap *h)
{
	timerq_init(&h->q);
	h->seq = 0;
}

void timerheap_free(struct timerheap *h)
{
	timerq_free(&h->q);
	h->seq = 0;
}

void timerheap_push(struct timerheap *h, int64_t t, uint32_t id)
{
	timerq_push(&h->q, (struct timer){ t, h->seq++, id });
}

bool timerheap_pop(struct timerheap *h, int64_t upto, struct timer *out)
{
	const struct timer *top = timerq_top(&h->q);

	if (top == NULL || top->t > upto)
		return false;
	return timerq_pop(&h->q, out);
}
