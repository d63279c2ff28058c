/*
 * heap.h - the one binary min-heap of the tree, for any element type.
 *
 *     HEAP_DEFINE(name, type, less)
 *
 * defines struct name { type *v; size_t n, cap; } and, for it,
 *
 *     void name_init(struct name *h);
 *     void name_free(struct name *h);          the array, not what
 *                                              elements point to
 *     void name_push(struct name *h, type x);
 *     type *name_top(const struct name *h);    the least, or NULL
 *     bool name_pop(struct name *h, type *out);  false when empty
 *     void name_replace_top(struct name *h, type x);  pop and push in
 *                                              one (h must not be empty)
 *
 * ordered by less(const type *a, const type *b), a strict order.
 * Elements are stored by value.  Equal elements come out in no
 * particular order, so every user breaks ties in its key (a sequence
 * number, the input and position) to keep its output deterministic.
 * The functions are static inline, instantiated per element type, so the
 * comparison is inlined on the hot paths (timers, a k-way merge); the
 * algorithm exists once, here.  Allocation failure exits (xalloc.h).
 */
#ifndef FS_HEAP_H
#define FS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "xalloc.h"

#define HEAP_DEFINE(name, type, less)                                        \
struct name {                                                                \
	type *v;                                                             \
	size_t n, cap;                                                       \
};                                                                           \
                                                                             \
static inline void name##_init(struct name *h)                               \
{                                                                            \
	h->v = NULL;                                                         \
	h->n = h->cap = 0;                                                   \
}                                                                            \
                                                                             \
static inline void name##_free(struct name *h)                               \
{                                                                            \
	free(h->v);                                                          \
	name##_init(h);                                                      \
}                                                                            \
                                                                             \
static inline void name##_sift_down(struct name *h, size_t i, type x)        \
{                                                                            \
	for (;;) {                                                           \
		size_t c = 2 * i + 1;                                        \
                                                                             \
		if (c >= h->n)                                               \
			break;                                               \
		if (c + 1 < h->n && less(&h->v[c + 1], &h->v[c]))            \
			c++;                                                 \
		if (!less(&h->v[c], &x))                                     \
			break;                                               \
		h->v[i] = h->v[c];                                           \
		i = c;                                                       \
	}                                                                    \
	h->v[i] = x;                                                         \
}                                                                            \
                                                                             \
static inline void name##_push(struct name *h, type x)                       \
{                                                                            \
	size_t i;                                                            \
                                                                             \
	h->v = xgrow(h->v, &h->cap, h->n + 1, sizeof *h->v);                 \
	for (i = h->n++; i > 0;) {                                           \
		size_t p = (i - 1) / 2;                                      \
                                                                             \
		if (!less(&x, &h->v[p]))                                     \
			break;                                               \
		h->v[i] = h->v[p];                                           \
		i = p;                                                       \
	}                                                                    \
	h->v[i] = x;                                                         \
}                                                                            \
                                                                             \
static inline type *name##_top(const struct name *h)                         \
{                                                                            \
	return h->n ? &h->v[0] : NULL;                                       \
}                                                                            \
                                                                             \
static inline bool name##_pop(struct name *h, type *out)                     \
{                                                                            \
	if (h->n == 0)                                                       \
		return false;                                                \
	*out = h->v[0];                                                      \
	if (--h->n > 0)                                                      \
		name##_sift_down(h, 0, h->v[h->n]);                          \
	return true;                                                         \
}                                                                            \
                                                                             \
static inline void name##_replace_top(struct name *h, type x)                \
{                                                                            \
	name##_sift_down(h, 0, x);                                           \
}

#endif
