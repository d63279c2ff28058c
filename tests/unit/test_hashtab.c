/*
 * test_hashtab.c - common/hashtab.c: contents under heavy insert/delete
 * churn match a plain array (backward-shift deletion keeps every probe
 * run reachable), iteration, and keys that differ only in length; the
 * compact hashidx under the same churn, with colliding hashes.
 */
#include <stdio.h>
#include <string.h>

#include "hashtab.h"
#include "tap.h"

/* A small deterministic generator (Park-Miller). */
static unsigned long next(unsigned long *rng)
{
	*rng = *rng * 16807 % 2147483647;
	return *rng;
}

#define KEYS 5000

static void test_churn(void)
{
	static int present[KEYS];
	static char name[KEYS][16];
	unsigned long rng = 42;
	struct hashtab t;
	size_t count = 0, it = 0, seen = 0;
	int ok = 1;

	hashtab_init(&t);
	CHECK(hashtab_get(&t, "a", 1) == NULL && hashtab_del(&t, "a", 1) == NULL,
	    "an empty table has nothing");
	for (int i = 0; i < KEYS; i++)
		snprintf(name[i], sizeof name[i], "k%d", i);
	for (int round = 0; round < 200000; round++) {
		int k = (int)(next(&rng) % KEYS);
		size_t len = strlen(name[k]);

		if (next(&rng) % 2) {
			struct hashtab_slot *s = hashtab_put(&t, name[k], len);

			if (present[k] ? s->val != &present[k] : s->val != NULL)
				ok = 0;
			s->val = &present[k];
			present[k] = 1;
		} else {
			void *v = hashtab_del(&t, name[k], len);

			if (v != (present[k] ? &present[k] : NULL))
				ok = 0;
			present[k] = 0;
		}
	}
	for (int i = 0; i < KEYS; i++) {
		struct hashtab_slot *s = hashtab_get(&t, name[i], strlen(name[i]));

		if ((s != NULL) != (present[i] != 0) ||
		    (s != NULL && s->val != &present[i]))
			ok = 0;
		count += present[i] != 0;
	}
	CHECK(ok, "lookups agree with a plain array after 200000 puts and deletes");
	CHECK(count == t.n, "the entry count is exact");
	while (hashtab_next(&t, &it))
		seen++;
	CHECK(seen == count, "iteration visits every entry once");
	CHECK(t.cap * 3 >= t.n * 4 && hashtab_bytes(&t) ==
	    t.cap * sizeof(struct hashtab_slot), "load at most 3/4; bytes");
	hashtab_free(&t);
}

static void test_keys(void)
{
	static const char k[] = "ab\0cd";
	struct hashtab t;
	int a, b, c;

	hashtab_init(&t);
	hashtab_put(&t, k, 2)->val = &a;
	hashtab_put(&t, k, 5)->val = &b;
	hashtab_put(&t, "", 0)->val = &c;
	CHECK(t.n == 3 && hashtab_get(&t, k, 2)->val == &a &&
	    hashtab_get(&t, k, 5)->val == &b && hashtab_get(&t, "", 0)->val == &c,
	    "keys are bytes: a prefix, an embedded NUL, the empty key");
	CHECK(hashtab_get(&t, k, 3) == NULL, "a key of another length is absent");
	CHECK(hashtab_del(&t, k, 2) == &a && hashtab_get(&t, k, 5)->val == &b &&
	    t.n == 2, "deleting one leaves the other");
	hashtab_free(&t);
	CHECK(t.n == 0 && t.slots == NULL, "free leaves an empty table");
}

/* hashidx: ids 0..KEYS-1 with hashes from only 64 values, so probe
 * runs are long and deletions shift; lookups agree with an array. */
static bool id_is(const void *ctx, uint32_t id)
{
	return *(const uint32_t *)ctx == id;
}

static uint32_t idx_hash(uint32_t id)
{
	return hashtab_hash((const char *)&id, sizeof id) % 64 * 0x9E3779B1u;
}

static void test_idx(void)
{
	static int present[KEYS];
	unsigned long rng = 7;
	struct hashidx t;
	uint32_t none = 1;
	size_t count = 0;
	int ok = 1;

	hashidx_init(&t);
	CHECK(hashidx_find(&t, 1, id_is, &none) == HASHIDX_NONE &&
	    !hashidx_del(&t, 1, 1), "an empty index has nothing");
	for (int round = 0; round < 100000; round++) {
		uint32_t id = (uint32_t)(next(&rng) % KEYS);
		uint32_t h = idx_hash(id);
		uint32_t got = hashidx_find(&t, h, id_is, &id);

		if ((got == id) != (present[id] != 0))
			ok = 0;
		if (next(&rng) % 2) {
			if (!present[id])
				hashidx_add(&t, h, id);
			present[id] = 1;
		} else {
			if (hashidx_del(&t, h, id) != (present[id] != 0))
				ok = 0;
			present[id] = 0;
		}
	}
	for (uint32_t id = 0; id < KEYS; id++) {
		if ((hashidx_find(&t, idx_hash(id), id_is, &id) == id) !=
		    (present[id] != 0))
			ok = 0;
		count += present[id] != 0;
	}
	CHECK(ok, "hashidx: lookups agree with a plain array after 100000 adds and deletes, 64 hashes");
	CHECK(count == t.n, "hashidx: the entry count is exact");
	CHECK(t.cap * 3 >= t.n * 4 && hashidx_bytes(&t) == t.cap * 8,
	    "hashidx: load at most 3/4; 8 bytes a slot");
	hashidx_free(&t);
	CHECK(t.n == 0 && t.e == NULL, "hashidx: free leaves an empty index");
}

int main(void)
{
	test_churn();
	test_keys();
	test_idx();
	return tap_done();
}
