/* hashtab.c - byte-string keys to pointers (see hashtab.h). */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "diag.h"
#include "hashtab.h"
#include "xalloc.h"

#include "banned.h"

#define HASHTAB_MIN 64

uint32_t hashtab_hash(const char *key, size_t len)
{
	uint64_t h = XXH3_64bits(key, len);

	return (uint32_t)(h ^ (h >> 32));
}

void hashtab_init(struct hashtab *t)
{
	t->slots = NULL;
	t->cap = 0;
	t->n = 0;
}

void hashtab_free(struct hashtab *t)
{
	free(t->slots);
	hashtab_init(t);
}

/* The slot holding key, or the free slot where it would go. */
static size_t find(const struct hashtab *t, const char *key, size_t len,
    uint32_t h)
{
	size_t mask = t->cap - 1;
	size_t i = (size_t)h & mask;

	for (;;) {
		const struct hashtab_slot *s = &t->slots[i];

		if (s->key == NULL)
			return i;
		if (s->hash == h && s->klen == len &&
		    memcmp(s->key, key, len) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static void grow(struct hashtab *t)
{
	struct hashtab_slot *old = t->slots;
	size_t oldcap = t->cap;

	t->cap = oldcap ? oldcap * 2 : HASHTAB_MIN;
	t->slots = xcalloc(t->cap, sizeof *t->slots);
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		t->slots[find(t, old[i].key, old[i].klen, old[i].hash)] = old[i];
	}
	free(old);
}

struct hashtab_slot *hashtab_get(const struct hashtab *t, const char *key,
    size_t len)
{
	size_t i;

	if (t->n == 0 || len > UINT32_MAX)
		return NULL;
	i = find(t, key, len, hashtab_hash(key, len));
	return t->slots[i].key ? &t->slots[i] : NULL;
}

struct hashtab_slot *hashtab_put(struct hashtab *t, const char *key,
    size_t len)
{
	uint32_t h;
	struct hashtab_slot *s;

	if (len > UINT32_MAX)
		diag_fatal("hashtab: a key of %zu bytes", len);
	h = hashtab_hash(key, len);
	if ((t->n + 1) * 4 > t->cap * 3)
		grow(t);
	s = &t->slots[find(t, key, len, h)];
	if (s->key == NULL) {
		s->key = key;
		s->klen = (uint32_t)len;
		s->hash = h;
		s->val = NULL;
		t->n++;
	}
	return s;
}

void *hashtab_del(struct hashtab *t, const char *key, size_t len)
{
	size_t mask, i, hole;
	void *val;

	if (t->n == 0 || len > UINT32_MAX)
		return NULL;
	mask = t->cap - 1;
	i = find(t, key, len, hashtab_hash(key, len));
	if (t->slots[i].key == NULL)
		return NULL;
	val = t->slots[i].val;
	t->slots[i].key = NULL;
	t->n--;
	/* Backward shift: pull later members of the probe run into the
	 * hole when their home slot lies at or before it. */
	hole = i;
	for (size_t j = (i + 1) & mask; t->slots[j].key; j = (j + 1) & mask) {
		size_t home = (size_t)t->slots[j].hash & mask;

		if (((j - home) & mask) >= ((j - hole) & mask)) {
			t->slots[hole] = t->slots[j];
			t->slots[j].key = NULL;
			hole = j;
		}
	}
	return val;
}

struct hashtab_slot *hashtab_next(const struct hashtab *t, size_t *i)
{
	while (*i < t->cap) {
		struct hashtab_slot *s = &t->slots[(*i)++];

		if (s->key)
			return s;
	}
	return NULL;
}

size_t hashtab_bytes(const struct hashtab *t)
{
	return t->cap * sizeof *t->slots;
}

/* --- hashidx ---------------------------------------------------------- */

#define E_HASH(e) ((uint32_t)((e) >> 32))
#define E_ID(e) ((uint32_t)(e) - 1)

void hashidx_init(struct hashidx *t)
{
	t->e = NULL;
	t->cap = 0;
	t->n = 0;
}

void hashidx_free(struct hashidx *t)
{
	free(t->e);
	hashidx_init(t);
}

/* The capacity is a power of two or 3/2 of one, so that it grows by 3/2
 * and 4/3, not 2 (a load between 1/2 and 3/4, not 3/8 and 3/4), and a
 * hash's home slot is h * cap / 2^32. */
static size_t idx_home(const struct hashidx *t, uint32_t h)
{
	return (size_t)(((unsigned __int128)h * t->cap) >> 32);
}

static size_t idx_next(const struct hashidx *t, size_t i)
{
	return i + 1 == t->cap ? 0 : i + 1;
}

/* Slots from a forward to b, around the end. */
static size_t idx_dist(const struct hashidx *t, size_t a, size_t b)
{
	return b >= a ? b - a : b + t->cap - a;
}

uint32_t hashidx_find(const struct hashidx *t, uint32_t h,
    bool (*eq)(const void *ctx, uint32_t id), const void *ctx)
{
	size_t i;

	if (t->n == 0)
		return HASHIDX_NONE;
	for (i = idx_home(t, h); t->e[i] != 0; i = idx_next(t, i))
		if (E_HASH(t->e[i]) == h && eq(ctx, E_ID(t->e[i])))
			return E_ID(t->e[i]);
	return HASHIDX_NONE;
}

/* Puts entry e in the first free slot of its probe run. */
static void idx_place(struct hashidx *t, uint64_t e)
{
	size_t i = idx_home(t, E_HASH(e));

	while (t->e[i] != 0)
		i = idx_next(t, i);
	t->e[i] = e;
}

void hashidx_add(struct hashidx *t, uint32_t h, uint32_t id)
{
	if (id >= UINT32_MAX)
		diag_fatal("hashidx: id %u out of range", id);
	if ((t->n + 1) * 4 > t->cap * 3) {
		uint64_t *old = t->e;
		size_t oldcap = t->cap;

		if (oldcap == 0)
			t->cap = HASHTAB_MIN;
		else if ((oldcap & (oldcap - 1)) == 0)
			t->cap = oldcap / 2 * 3;
		else
			t->cap = oldcap / 3 * 4;
		t->e = xcalloc(t->cap, sizeof *t->e);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i] != 0)
				idx_place(t, old[i]);
		free(old);
	}
	idx_place(t, (uint64_t)h << 32 | ((uint64_t)id + 1));
	t->n++;
}

bool hashidx_del(struct hashidx *t, uint32_t h, uint32_t id)
{
	uint64_t want = (uint64_t)h << 32 | ((uint64_t)id + 1);
	size_t i, hole;

	if (t->n == 0)
		return false;
	for (i = idx_home(t, h); t->e[i] != want; i = idx_next(t, i))
		if (t->e[i] == 0)
			return false;
	t->e[i] = 0;
	t->n--;
	hole = i;
	for (size_t j = idx_next(t, i); t->e[j] != 0; j = idx_next(t, j)) {
		size_t home = idx_home(t, E_HASH(t->e[j]));

		if (idx_dist(t, home, j) >= idx_dist(t, hole, j)) {
			t->e[hole] = t->e[j];
			t->e[j] = 0;
			hole = j;
		}
	}
	return true;
}

size_t hashidx_bytes(const struct hashidx *t)
{
	return t->cap * sizeof *t->e;
}
