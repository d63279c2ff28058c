/*
 * join_timers.h - the join state's timers: items (t, seq, p) ordered by
 * time, then seq (equal times come out in seq order, so a caller that
 * numbers its items in arrival order gets a deterministic order).  The
 * pointer is the caller's.  jheap is the tree's heap (heap.h) over them.
 *
 * jtimers - timers that mostly come in order, per lane (a join's side):
 * an item not before the last of its lane is appended to the lane's FIFO
 * in O(1), any other goes to a heap; the smallest of the lanes' fronts
 * and the heap's top comes out first.  Same order as one jheap for items
 * with distinct (t, seq); far cheaper on streams in event-time order.
 */
#ifndef FS_JOIN_TIMERS_H
#define FS_JOIN_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

struct jheap_item {
	int64_t t;
	uint64_t seq;
	void *p;
};

static inline bool jheap_less(const struct jheap_item *a,
    const struct jheap_item *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

HEAP_DEFINE(jheap, struct jheap_item, jheap_less)

#define JTIMERS_LANES 2

struct jring {
	struct jheap_item *v;
	size_t cap, head, n;
};

struct jtimers {
	struct jring lane[JTIMERS_LANES];
	struct jheap heap;
};

void jtimers_init(struct jtimers *q);
void jtimers_free(struct jtimers *q);
void jtimers_push(struct jtimers *q, int lane, int64_t t, uint64_t seq,
    void *p);
const struct jheap_item *jtimers_top(const struct jtimers *q);
void jtimers_pop(struct jtimers *q);
/* Every item, in no particular order: i < jtimers_count(). */
size_t jtimers_count(const struct jtimers *q);
const struct jheap_item *jtimers_at(const struct jtimers *q, size_t i);

#endif
