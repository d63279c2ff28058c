/*
 * bf_heap.h - a binary min-heap of records keyed by event time.
 *
 * The key is (ts, src, pos): event time, then the input the record came
 * from, then its position in that input.  Every record has a distinct
 * key, so the order is total and a run never depends on how a sort
 * broke ties: a backfill emits the same stream every time, and a
 * resumed one can tell what it already emitted by the key alone.
 *
 * The heap is the tree's (heap.h) over struct bf_hent, stored by value;
 * ptr is the caller's (the heap never frees it).  bf_heap_free()
 * releases the array only.
 */
#ifndef FS_BF_HEAP_H
#define FS_BF_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

struct bf_key {
	int64_t ts;
	uint64_t src;
	uint64_t pos;
};

struct bf_hent {
	struct bf_key k;
	void *ptr;
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

static inline bool bf_hent_less(const struct bf_hent *a,
    const struct bf_hent *b)
{
	return bf_key_cmp(&a->k, &b->k) < 0;
}

/* struct bf_heap and bf_heap_init, _free, _push, _top, _pop and
 * _replace_top (heap.h). */
HEAP_DEFINE(bf_heap, struct bf_hent, bf_hent_less)

#endif
