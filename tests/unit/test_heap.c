/*
 * test_heap.c - common/heap.h: elements come out in order (the tie
 * broken by the caller's key), replace_top keeps the order, an empty
 * heap pops nothing.
 */
#include <stdint.h>

#include "heap.h"
#include "tap.h"

struct item {
	int64_t t;
	uint64_t seq;
};

static bool item_less(const struct item *a, const struct item *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

HEAP_DEFINE(iheap, struct item, item_less)

static unsigned long next(unsigned long *rng)
{
	*rng = *rng * 16807 % 2147483647;
	return *rng;
}

static void test_order(void)
{
	unsigned long rng = 7;
	struct iheap h;
	struct item x, prev = { INT64_MIN, 0 };
	size_t got = 0;
	int ok = 1;

	iheap_init(&h);
	CHECK(iheap_top(&h) == NULL && !iheap_pop(&h, &x), "empty: nothing");
	for (uint64_t i = 0; i < 10000; i++) {
		iheap_push(&h, (struct item){ (int64_t)(next(&rng) % 100), i });
		/* interleaved pops, as a watermark moving does */
		if (i % 7 == 0) {
			struct item *top = iheap_top(&h);

			if (!iheap_pop(&h, &x) || top == NULL)
				ok = 0;
		}
	}
	while (iheap_pop(&h, &x)) {
		if (item_less(&x, &prev))
			ok = 0;
		prev = x;
		got++;
	}
	CHECK(ok && got == 10000 - 1429, "pops come out by time, then seq");
	iheap_free(&h);
	CHECK(h.v == NULL && h.n == 0, "free empties it");
}

/* A k-way merge: replace_top advances the input just taken from. */
static void test_replace_top(void)
{
	struct iheap h;
	struct item x;
	int64_t last = -1;
	int ok = 1, n = 0;

	iheap_init(&h);
	for (uint64_t src = 0; src < 5; src++)
		iheap_push(&h, (struct item){ (int64_t)src, src });
	while (iheap_top(&h) != NULL) {
		x = *iheap_top(&h);
		if (x.t < last)
			ok = 0;
		last = x.t;
		n++;
		if (x.t + 5 < 100)
			iheap_replace_top(&h, (struct item){ x.t + 5, x.seq });
		else
			iheap_pop(&h, &x);
	}
	CHECK(ok && n == 100, "replace_top: five sorted inputs merge in order");
	iheap_free(&h);
}

int main(void)
{
	test_order();
	test_replace_top();
	return tap_done();
}
