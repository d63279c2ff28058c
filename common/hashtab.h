/*
 * hashtab.h - the one hash table of the tree: byte-string keys to a
 * pointer.
 *
 * The table does not own its keys or values: an entry's key bytes must
 * stay where they are, unchanged, while the entry exists (the value
 * usually holds them).  hashtab_put() of a new key records the caller's
 * pointer, so a caller passing scratch memory points the slot's key at
 * its own copy before the next call.  Lookups return the slot, valid
 * until the next insertion or deletion.  Hashing is XXH3; collisions are
 * resolved by linear probing with backward-shift deletion, so there are
 * no tombstones and the table never degrades under churn.  The load
 * stays at most 3/4; a slot is 24 bytes.  Keys are at most 4 GiB - 1
 * (hashtab_put() of a longer one exits).  Allocation failure exits
 * (xalloc.h).
 */
#ifndef FS_HASHTAB_H
#define FS_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

struct hashtab_slot {
	const char *key;        /* NULL: free slot */
	uint32_t klen;
	uint32_t hash;          /* XXH3, folded to 32 bits */
	void *val;
};

struct hashtab {
	struct hashtab_slot *slots;
	size_t cap;             /* a power of two, or 0 */
	size_t n;
};

void hashtab_init(struct hashtab *t);
/* Frees the table, not the keys or values. */
void hashtab_free(struct hashtab *t);
/* The slot for key, or NULL when absent. */
struct hashtab_slot *hashtab_get(const struct hashtab *t, const char *key,
    size_t len);
/* The slot for key, created (val NULL, key the caller's pointer) when
 * absent. */
struct hashtab_slot *hashtab_put(struct hashtab *t, const char *key,
    size_t len);
/* Removes key if present; returns its value (or NULL). */
void *hashtab_del(struct hashtab *t, const char *key, size_t len);
/* Iteration: start with *i = 0; returns the next occupied slot or NULL.
 * The table must not change during an iteration. */
struct hashtab_slot *hashtab_next(const struct hashtab *t, size_t *i);
/* Bytes of the slot array. */
size_t hashtab_bytes(const struct hashtab *t);

#endif
