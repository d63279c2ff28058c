/*
 * join_map.h - the two containers the join state is built from: a hash
 * table from byte-string keys to a pointer, and a min-heap of timers.
 *
 * jmap does not own its keys or values: an entry's key bytes must stay
 * where they are, unchanged, while the entry exists (the value usually
 * holds them).  jmap_put() of a new key records the caller's pointer, so
 * a caller passing scratch memory points the slot's key at the value's
 * own copy before the next call.  Lookups return the slot, valid until
 * the next insertion or deletion.  Hashing is XXH3; collisions are
 * resolved by linear probing with backward-shift deletion, so there are
 * no tombstones and the table never degrades under churn.
 *
 * jheap orders items by (t, seq): equal times come out in seq order, so
 * a caller that numbers its items in arrival order gets a deterministic
 * order.  The pointer is the caller's.
 */
#ifndef FS_JOIN_MAP_H
#define FS_JOIN_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jmap_slot {
	const char *key;        /* NULL: free slot */
	size_t klen;
	uint64_t hash;
	void *val;
};

struct jmap {
	struct jmap_slot *slots;
	size_t cap;             /* a power of two, or 0 */
	size_t n;
};

void jmap_init(struct jmap *m);
/* Frees the table, not the keys or values. */
void jmap_free(struct jmap *m);
/* The slot for key, or NULL when absent. */
struct jmap_slot *jmap_get(struct jmap *m, const char *key, size_t len);
/* The slot for key, created (val NULL, key the caller's pointer) when
 * absent. */
struct jmap_slot *jmap_put(struct jmap *m, const char *key, size_t len);
/* Removes key if present; returns its value (or NULL). */
void *jmap_del(struct jmap *m, const char *key, size_t len);
/* Iteration: start with *i = 0; returns the next occupied slot or NULL.
 * The table must not change during an iteration. */
struct jmap_slot *jmap_next(struct jmap *m, size_t *i);

struct jheap_item {
	int64_t t;
	uint64_t seq;
	void *p;
};

struct jheap {
	struct jheap_item *v;
	size_t n, cap;
};

void jheap_init(struct jheap *h);
void jheap_free(struct jheap *h);
void jheap_push(struct jheap *h, int64_t t, uint64_t seq, void *p);
/* The smallest item, or NULL when empty; valid until the next change. */
const struct jheap_item *jheap_top(const struct jheap *h);
void jheap_pop(struct jheap *h);

/*
 * jtimers - timers that mostly come in order, per lane (a join's side):
 * an item not before the last of its lane is appended to the lane's FIFO
 * in O(1), any other goes to a heap; the smallest of the lanes' fronts
 * and the heap's top comes out first.  Same order as one jheap for items
 * with distinct (t, seq); far cheaper on streams in event-time order.
 */
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
