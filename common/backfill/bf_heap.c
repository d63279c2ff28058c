/* bf_heap.c - a min-heap of records by (ts, src, pos) (see bf_heap.h). */
#include <stdlib.h>

#include "bf_heap.h"
#include "xalloc.h"
#include "banned.h"

static void sift_down(struct bf_heap *h, size_t i)
{
	struct bf_hent e = h->a[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && bf_key_cmp(&h->a[c + 1].k, &h->a[c].k) < 0)
			c++;
		if (bf_key_cmp(&h->a[c].k, &e.k) >= 0)
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	h->a[i] = e;
}

void bf_heap_push(struct bf_heap *h, const struct bf_key *k, void *ptr)
{
	size_t i;

	h->a = xgrow(h->a, &h->cap, h->n + 1, sizeof *h->a);
	i = h->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (bf_key_cmp(&h->a[parent].k, k) <= 0)
			break;
		h->a[i] = h->a[parent];
		i = parent;
	}
	h->a[i].k = *k;
	h->a[i].ptr = ptr;
}

bool bf_heap_pop(struct bf_heap *h, struct bf_hent *out)
{
	if (h->n == 0)
		return false;
	*out = h->a[0];
	h->a[0] = h->a[--h->n];
	if (h->n > 0)
		sift_down(h, 0);
	return true;
}

void bf_heap_replace_top(struct bf_heap *h, const struct bf_key *k,
    void *ptr)
{
	h->a[0].k = *k;
	h->a[0].ptr = ptr;
	sift_down(h, 0);
}

void bf_heap_free(struct bf_heap *h)
{
	free(h->a);
	h->a = NULL;
	h->n = h->cap = 0;
}
