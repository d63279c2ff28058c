/*
 * test_join_timers.c - the join state's timers: the heap gives items back
 * in (time, seq) order, and the per-lane FIFOs in front of it give the
 * same order as one heap.  (The hash table the join state uses is the
 * tree's, tested in test_hashtab.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "join/join_timers.h"
#include "banned.h"

static int failed;
static int n;

static void check(int ok, const char *name)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++n, name);
	if (!ok)
		failed = 1;
}

/* A small deterministic generator (Park-Miller). */
static unsigned long rng = 42;
static unsigned long next(void)
{
	rng = rng * 16807 % 2147483647;
	return rng;
}

static void test_heap_order(void)
{
	struct jheap h;
	int ok = 1;

	jheap_init(&h);
	for (uint64_t i = 0; i < 10000; i++)
		jheap_push(&h, (struct jheap_item){ (int64_t)(next() % 100), i, NULL });
	int64_t t = -1;
	uint64_t seq = 0;
	size_t got = 0;
	const struct jheap_item *top;
	while ((top = jheap_top(&h))) {
		if (top->t < t || (top->t == t && top->seq < seq))
			ok = 0;
		t = top->t;
		seq = top->seq;
		jheap_pop(&h, &(struct jheap_item){ 0 });
		got++;
	}
	check(ok && got == 10000, "jheap: items come out by time, then seq");
	jheap_free(&h);
}

/* Timers in two lanes, mostly in order with some stragglers, come out
 * exactly as one heap gives them. */
static void test_timers_order(void)
{
	struct jtimers q;
	struct jheap h;
	int ok = 1;

	jtimers_init(&q);
	jheap_init(&h);
	for (uint64_t i = 0; i < 20000; i++) {
		int lane = (int)(next() % 2);
		int64_t t = (int64_t)i * 10 + (lane ? 600 : 0);
		if (next() % 10 == 0)
			t -= (int64_t)(next() % 500);
		jtimers_push(&q, lane, t, i, NULL);
		jheap_push(&h, (struct jheap_item){ t, i, NULL });
		/* Interleave pops, as a join does when the watermark moves. */
		if (i % 3 == 0) {
			const struct jheap_item *a = jtimers_top(&q), *b = jheap_top(&h);
			if (a->t != b->t || a->seq != b->seq)
				ok = 0;
			jtimers_pop(&q);
			jheap_pop(&h, &(struct jheap_item){ 0 });
		}
	}
	if (jtimers_count(&q) != h.n)
		ok = 0;
	const struct jheap_item *a;
	while ((a = jtimers_top(&q))) {
		const struct jheap_item *b = jheap_top(&h);
		if (b == NULL || a->t != b->t || a->seq != b->seq)
			ok = 0;
		jtimers_pop(&q);
		jheap_pop(&h, &(struct jheap_item){ 0 });
	}
	check(ok && h.n == 0, "jtimers: lanes and stragglers come out as one heap gives them");
	jtimers_free(&q);
	jheap_free(&h);
}

int main(void)
{
	test_heap_order();
	test_timers_order();
	printf("1..%d\n", n);
	return failed;
}
