/*
 * window_state.h - the bookkeeping of keyed event-time state: a table of
 * keys and a heap of timers, shared by fs-window (sessions) and fs-agg.
 *
 * keytab maps key bytes (keyspec_encode()'s canonical keys) to small
 * integer ids, dense from 0, so a tool keeps its per-key state in a
 * plain array indexed by id.  Ids of removed keys are reused.  The table
 * owns a copy of each key: in its 16-byte entry when shorter than
 * KEYTAB_INLINE bytes (a canonical key such as "u12345678" is 11), else
 * in memory of its own; it finds keys with the compact index of
 * hashtab.h (8 bytes a slot at a load between 3/8 and 3/4).  So a short
 * key costs 27 to 37 bytes in all, with no allocation of its own.
 *
 * timerheap is a min-heap (heap.h) of (time, id): "act on key id when the
 * watermark reaches time".  Entries are never removed early; a tool
 * keeps the time it armed for each key and skips popped entries that no
 * longer match (lazy deletion), so re-arming is a push.  Ties pop in
 * push order, which keeps output deterministic.
 */
#ifndef FS_WINDOW_STATE_H
#define FS_WINDOW_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashtab.h"
#include "heap.h"

#define KEYTAB_NONE UINT32_MAX

#define KEYTAB_INLINE 15
#define KEYTAB_LONG 0xff        /* b[15]: the key is out of the entry */
#define KEYTAB_FREE 0xfe        /* b[15]: a free id */

/* A key: when len < KEYTAB_INLINE, its bytes and a NUL in b, and len in
 * b[15]; else a pointer to them (and a NUL) in b's first 8 bytes, len in
 * the next 4, and KEYTAB_LONG in b[15].  A free id's entry links the free
 * ids (no array of them, which grew by 4 bytes a key as a million keys
 * fired and went). */
struct keytab_key {
	char b[16];
};

struct keytab {
	struct hashidx map;     /* hash -> id */
	struct keytab_key *keys;        /* by id */
	size_t nids, cap_ids;   /* ids handed out (including free ones) */
	uint32_t free_head;     /* the last id freed, or KEYTAB_NONE; a free
				 * entry's first 4 bytes hold the one before */
	size_t count;           /* live keys */
	size_t key_bytes;       /* bytes of keys held outside entries */
};

void keytab_init(struct keytab *t);
void keytab_free(struct keytab *t);
/* The id of key, adding it when absent (*added tells). */
uint32_t keytab_intern(struct keytab *t, const char *key, size_t len,
    bool *added);
/* The id of key, or KEYTAB_NONE. */
uint32_t keytab_find(const struct keytab *t, const char *key, size_t len);
/* True when id is a live key's. */
static inline bool keytab_live(const struct keytab *t, size_t id)
{
	return id < t->nids &&
	    (unsigned char)t->keys[id].b[15] != KEYTAB_FREE;
}
/* The key of a live id, NUL-terminated; valid until the next
 * keytab_intern() or keytab_remove(). */
const char *keytab_key(const struct keytab *t, uint32_t id, size_t *len);
/* Sorts live ids by their key bytes, so that what a tool emits for keys
 * due together does not depend on the order state was built in. */
void keytab_sort_ids(const struct keytab *t, uint32_t *ids, size_t n);
/* Forgets a live id; the id may be handed out again. */
void keytab_remove(struct keytab *t, uint32_t id);
/* Bytes the table uses (slots, key index, key copies). */
size_t keytab_bytes(const struct keytab *t);

/* 16 bytes (packed): a timer per key in open windows, so with 1M keys
 * every byte counts. */
struct __attribute__((packed, aligned(4))) timer {
	int64_t t;
	uint32_t seq;   /* push order, for ties */
	uint32_t id;
};

static inline bool timer_before(const struct timer *a, const struct timer *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

HEAP_DEFINE(timerq, struct timer, timer_before)

struct timerheap {
	struct timerq q;
	uint32_t seq;
};

void timerheap_init(struct timerheap *h);
void timerheap_free(struct timerheap *h);
void timerheap_push(struct timerheap *h, int64_t t, uint32_t id);
/* Pops the earliest entry when its time is <= upto: true and *out. */
bool timerheap_pop(struct timerheap *h, int64_t upto, struct timer *out);

/*
 * keytimers: the same without the push order, 12 bytes an entry, for a
 * tool that orders the keys due at one time itself (keytab_sort_ids())
 * and never needs two timers of one key in order: "fire key id at t".
 */
struct __attribute__((packed, aligned(4))) ktimer {
	int64_t t;
	uint32_t id;
};

static inline bool ktimer_before(const struct ktimer *a,
    const struct ktimer *b)
{
	return a->t < b->t;
}

HEAP_DEFINE(keytimers, struct ktimer, ktimer_before)

/*
 * Pops every entry of the earliest time, when that is at or before upto:
 * returns their count k (0: none) and sets *t to the time and *ids to
 * their ids, in no order, kept in the heap's own spare room (no copy of
 * a million ids when a million keys fire at once).  ids[j..k-1] stay as
 * they are while the heap holds at most the entries it held after the
 * pops plus j: a caller that consumes the ids in order may push one
 * timer per id consumed (and may reorder the ids first).
 */
size_t keytimers_pop_time(struct keytimers *h, int64_t upto, int64_t *t,
    uint32_t **ids);

#endif
