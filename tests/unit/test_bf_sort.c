/*
 * test_bf_sort - the key heap and the external sort of bf_heap.h and
 * bf_sort.h: order by (ts, src, pos), records intact, spilling beyond
 * the budget and merging in several passes beyond BF_SORT_FANIN runs.
 */
#include <stdlib.h>
#include <string.h>

#include "backfill/bf_heap.h"
#include "backfill/bf_sort.h"
#include "tap.h"
#include "banned.h"

/* A deterministic generator (xorshift), so failures repeat. */
static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_heap(void)
{
	struct bf_heap h = { 0 };
	struct bf_hent e;
	struct bf_key prev = { INT64_MIN, 0, 0 };
	bool ordered = true;
	size_t n = 0;

	for (int i = 0; i < 5000; i++) {
		struct bf_key k = { (int64_t)(next_rand() % 100) - 50,
			next_rand() % 4, (uint64_t)i };

		bf_heap_push(&h, (struct bf_hent){ k, NULL });
	}
	/* replace_top keeps the heap property. */
	bf_heap_replace_top(&h, (struct bf_hent){ { 1000, 0, 0 }, NULL });
	while (bf_heap_pop(&h, &e)) {
		if (bf_key_cmp(&prev, &e.k) > 0)
			ordered = false;
		prev = e.k;
		n++;
	}
	CHECK(ordered, "heap: pops in key order");
	CHECK_I64((int64_t)n, 5000, "heap: pops every entry");
	CHECK_I64(prev.ts, 1000, "heap: the replaced top comes out last");
	CHECK(bf_heap_top(&h) == NULL, "heap: empty at the end");
	bf_heap_free(&h);
}

/* Sorts n records of random times with a budget; checks the result. */
static void sort_case(size_t n, uint64_t budget, const char *name,
    uint64_t want_passes_min)
{
	struct bf_sort *s = bf_sort_new(budget, "/tmp");
	struct bf_sort_stats st;
	struct bf_key k, prev = { INT64_MIN, 0, 0 };
	const char *data;
	size_t len, got = 0;
	bool ordered = true, intact = true;
	char buf[64], msg[128];

	for (size_t i = 0; i < n; i++) {
		struct bf_key key = { (int64_t)(next_rand() % 1000), i % 3, i };
		int l = snprintf(buf, sizeof buf, "{\"ts\":%" PRId64 ",\"i\":%zu}",
		    key.ts, i);

		bf_sort_add(s, &key, buf, (size_t)l);
	}
	bf_sort_finish(s);
	while (bf_sort_next(s, &k, &data, &len)) {
		int l = snprintf(buf, sizeof buf, "{\"ts\":%" PRId64 ",\"i\":%"
		    PRIu64 "}", k.ts, k.pos);

		if (bf_key_cmp(&prev, &k) >= 0)
			ordered = false;
		if ((size_t)l != len || memcmp(buf, data, len) != 0)
			intact = false;
		prev = k;
		got++;
	}
	bf_sort_stats(s, &st);
	snprintf(msg, sizeof msg, "%s: strictly increasing keys", name);
	CHECK(ordered, msg);
	snprintf(msg, sizeof msg, "%s: each record's bytes with its key", name);
	CHECK(intact, msg);
	snprintf(msg, sizeof msg, "%s: every record comes out", name);
	CHECK_I64((int64_t)got, (int64_t)n, msg);
	snprintf(msg, sizeof msg, "%s: memory counted stays within budget",
	    name);
	CHECK(st.mem_peak <= budget + (uint64_t)BF_SORT_FANIN * 256 * 1024 +
	    (1u << 20), msg);
	snprintf(msg, sizeof msg, "%s: at least %" PRIu64 " extra passes",
	    name, want_passes_min);
	CHECK(st.passes >= want_passes_min, msg);
	bf_sort_free(s);
}

int main(void)
{
	struct bf_sort *s;
	struct bf_key k;
	const char *data;
	size_t len;

	test_heap();
	sort_case(10000, 64u << 20, "in memory", 0);
	/* 4 MiB chunks: every chunk spills; 300k records make 65+ runs. */
	sort_case(300000, 4u << 20, "external, several passes", 1);
	s = bf_sort_new(1u << 20, "/tmp");
	bf_sort_finish(s);
	CHECK(bf_sort_next(s, &k, &data, &len) == 0, "empty: nothing out");
	bf_sort_free(s);
	return tap_done();
}
