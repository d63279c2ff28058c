/*
 * bf_heap.h - a binary min-heap of records keyed by event time.
 *
 * The key is (ts, src, pos): event time, then the input the record came
 * from, then its position in that input.  Every record has a distinct
 * key, so the order is total and a run never depends on how a sort
 * broke ties: a backfill emits the same stream every time, and a
 * resumed one can tell what it already emitted by the key alone.
 *
 * The heap stores entries by value; ptr is the caller's (the heap never
 * frees it).  bf_heap_free() releases the array only.
 */
#ifndef FS_BF_HEAP_H
#define FS_BF_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bf_key {
	int64_t ts;
	uint64_t src;
	uint64_t pos;
};

struct bf_hent {
	struct bf_key k;
	void *ptr;
};

struct bf_heap {
	struct bf_hent *a;
	size_t n, cap;
};

/* <0, 0, >0 as a is before, equal to, after b. */
static inline int bf_key_cmp(const struct bf_key *a, const struct bf_key *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	if (a->pos != b->pos)
		return a->pos < b->pos ? -1 : 1;
	return 0;
}

void bf_heap_push(struct bf_heap *h, const struct bf_key *k, void *ptr);
/* Removes the least entry into *out; false when empty. */
bool bf_heap_pop(struct bf_heap *h, struct bf_hent *out);
/* The least entry, or NULL. */
static inline const struct bf_hent *bf_heap_top(const struct bf_heap *h)
{
	return h->n ? &h->a[0] : NULL;
}
/* Replaces the least entry (the heap must not be empty): cheaper than a
 * pop and a push, for a k-way merge advancing the input it took from. */
void bf_heap_replace_top(struct bf_heap *h, const struct bf_key *k,
    void *ptr);
void bf_heap_free(struct bf_heap *h);

#endif
