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
	t->free_head = KEYTAB_NONE;
}

void keytab_free(struct keytab *t)
{
	for (size_t i = 0; i < t->nids; i++)
		if (tag(&t->keys[i]) == KEYTAB_LONG)
			free((char *)key_bytes(&t->keys[i]));
	free(t->keys);
	hashidx_free(&t->map);
	keytab_init(t);
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
	if (t->free_head != KEYTAB_NONE) {
		id = t->free_head;
		memcpy(&t->free_head, t->keys[id].b, sizeof t->free_head);
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

static int by_key(const struct keytab *t, uint32_t a, uint32_t b)
{
	const struct keytab_key *x = &t->keys[a], *y = &t->keys[b];
	size_t xn = key_len(x), yn = key_len(y);
	int c = memcmp(key_bytes(x), key_bytes(y), xn < yn ? xn : yn);

	return c != 0 ? c : (xn > yn) - (xn < yn);
}

static void swap_ids(uint32_t *a, uint32_t *b)
{
	uint32_t x = *a;

	*a = *b;
	*b = x;
}

static void sift_ids(const struct keytab *t, uint32_t *ids, size_t i,
    size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && by_key(t, ids[c + 1], ids[c]) > 0)
			c++;
		if (by_key(t, ids[c], ids[i]) <= 0)
			return;
		swap_ids(&ids[i], &ids[c]);
		i = c;
	}
}

/* Introsort in place: glibc's qsort_r allocates a copy of the array, 4
 * bytes a key when a million keys fire at once.  Quicksort on the median
 * of three, heapsort past a depth of 2 log2 n, insertion below 16. */
static void sort_ids(const struct keytab *t, uint32_t *ids, size_t n,
    unsigned depth)
{
	while (n > 16) {
		size_t m = n / 2, i = 0, j = n - 1;
		uint32_t pivot;

		if (depth-- == 0) {
			for (size_t k = n / 2; k-- > 0;)
				sift_ids(t, ids, k, n);
			for (size_t k = n - 1; k > 0; k--) {
				swap_ids(&ids[0], &ids[k]);
				sift_ids(t, ids, 0, k);
			}
			return;
		}
		if (by_key(t, ids[m], ids[0]) < 0)
			swap_ids(&ids[m], &ids[0]);
		if (by_key(t, ids[n - 1], ids[m]) < 0) {
			swap_ids(&ids[n - 1], &ids[m]);
			if (by_key(t, ids[m], ids[0]) < 0)
				swap_ids(&ids[m], &ids[0]);
		}
		pivot = ids[m];
		/* Hoare's partition: ids[0..j] <= pivot <= ids[j+1..]. */
		for (;;) {
			while (by_key(t, ids[i], pivot) < 0)
				i++;
			while (by_key(t, ids[j], pivot) > 0)
				j--;
			if (i >= j)
				break;
			swap_ids(&ids[i++], &ids[j--]);
		}
		/* The smaller side by recursion, the larger by the loop. */
		if (j + 1 < n - j - 1) {
			sort_ids(t, ids, j + 1, depth);
			ids += j + 1;
			n -= j + 1;
		} else {
			sort_ids(t, ids + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && by_key(t, ids[k - 1], ids[k]) > 0; k--)
			swap_ids(&ids[k - 1], &ids[k]);
}

void keytab_sort_ids(const struct keytab *t, uint32_t *ids, size_t n)
{
	unsigned depth = 0;

	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	sort_ids(t, ids, n, depth);
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
	memcpy(k->b, &t->free_head, sizeof t->free_head);
	t->free_head = id;
	t->count--;
}

size_t keytab_bytes(const struct keytab *t)
{
	return hashidx_bytes(&t->map) + t->cap_ids * sizeof *t->keys +
	    t->key_bytes;
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

/* Popped entry k (from 1) goes, as a 4-byte id, to 4k bytes before the
 * end of the entries there were: past the heap's end, which moves down
 * 12 bytes a pop.  After j pushes the heap ends at 12 (N - k + j) bytes,
 * at or before id j's 12 N - 4 (k - j): 8 j <= 8 k. */
size_t keytimers_pop_time(struct keytimers *h, int64_t upto, int64_t *t,
    uint32_t **ids)
{
	const struct ktimer *top = keytimers_top(h);
	unsigned char *end;
	struct ktimer tm;
	size_t k = 0;

	if (top == NULL || top->t > upto)
		return 0;
	*t = top->t;
	end = (unsigned char *)h->v + h->n * sizeof *h->v;
	while ((top = keytimers_top(h)) != NULL && top->t == *t) {
		keytimers_pop(h, &tm);
		k++;
		memcpy(end - 4 * k, &tm.id, sizeof tm.id);
	}
	*ids = (uint32_t *)(void *)(end - 4 * k);
	return k;
}
