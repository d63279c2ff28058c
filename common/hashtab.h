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

#include <stdbool.h>
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

/* The hash both tables use: XXH3 of the bytes, folded to 32 bits. */
uint32_t hashtab_hash(const char *key, size_t len);

/*
 * hashidx - the compact variant, for tables of millions of keys whose
 * owner already keeps each key in an array by a dense id (keytab,
 * window_state.h): a slot is 8 bytes, the key's 32-bit hash and its id,
 * so a key costs 11 to 16 bytes of index at a load between 1/2 and 3/4
 * (the table grows by 3/2 and 4/3, not 2) instead of a 24-byte slot.
 * The owner compares keys: hashidx_find() calls eq(ctx, id) for each id
 * whose hash matches.  Same probing and deletion as hashtab; ids are
 * below UINT32_MAX.
 */
struct hashidx {
	uint64_t *e;            /* (hash << 32) | (id + 1); 0: free */
	size_t cap;             /* a power of two, or 0 */
	size_t n;
};

#define HASHIDX_NONE UINT32_MAX

void hashidx_init(struct hashidx *t);
void hashidx_free(struct hashidx *t);
/* The id of the key of hash h for which eq(ctx, id) is true, or
 * HASHIDX_NONE. */
uint32_t hashidx_find(const struct hashidx *t, uint32_t h,
    bool (*eq)(const void *ctx, uint32_t id), const void *ctx);
/* Adds id under hash h (the caller knows its key is absent). */
void hashidx_add(struct hashidx *t, uint32_t h, uint32_t id);
/* Removes id, added under hash h; false when it is not there. */
bool hashidx_del(struct hashidx *t, uint32_t h, uint32_t id);
/* Bytes of the slot array. */
size_t hashidx_bytes(const struct hashidx *t);

#endif
