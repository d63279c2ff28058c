/* window_state.c - key table and timer heap (see window_state.h), over
 * the tree's hash table and heap. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "window_state.h"
#include "xalloc.h"
#include "banned.h"

void keytab_init(struct keytab *t)
{
	memset(t, 0, sizeof *t);
	hashtab_init(&t->map);
}

void keytab_free(struct keytab *t)
{
	for (size_t i = 0; i < t->nids; i++)
		free(t->keys[i].p);
	free(t->keys);
	hashtab_free(&t->map);
	free(t->free_ids);
	memset(t, 0, sizeof *t);
}

uint32_t keytab_find(const struct keytab *t, const char *key, size_t len)
{
	const struct hashtab_slot *s = hashtab_get(&t->map, key, len);

	return s ? (uint32_t)((uintptr_t)s->val - 1) : KEYTAB_NONE;
}

uint32_t keytab_intern(struct keytab *t, const char *key, size_t len,
    bool *added)
{
	struct hashtab_slot *s = hashtab_put(&t->map, key, len);
	uint32_t id;

	if (s->val != NULL) {
		*added = false;
		return (uint32_t)((uintptr_t)s->val - 1);
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
	/* the slot now points at the table's own copy */
	s->key = t->keys[id].p;
	s->val = (void *)((uintptr_t)id + 1);
	t->key_bytes += len + 1;
	t->count++;
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

	hashtab_del(&t->map, k->p, k->len);
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
	return hashtab_bytes(&t->map) + t->cap_ids * sizeof *t->keys +
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
