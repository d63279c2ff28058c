/* hashtab.c - byte-string keys to pointers (see hashtab.h). */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "diag.h"
#include "hashtab.h"
#include "xalloc.h"

#include "banned.h"

#define HASHTAB_MIN 64

static uint32_t hash_of(const char *key, size_t len)
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
	i = find(t, key, len, hash_of(key, len));
	return t->slots[i].key ? &t->slots[i] : NULL;
}

struct hashtab_slot *hashtab_put(struct hashtab *t, const char *key,
    size_t len)
{
	uint32_t h;
	struct hashtab_slot *s;

	if (len > UINT32_MAX)
		diag_fatal("hashtab: a key of %zu bytes", len);
	h = hash_of(key, len);
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
	i = find(t, key, len, hash_of(key, len));
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
