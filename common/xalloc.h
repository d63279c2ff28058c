/*
 * xalloc.h - allocation that never returns NULL.
 *
 * Every allocation in fs goes through these.  On exhaustion they print
 * "PROG: out of memory" and exit 1: a feature pipeline that cannot
 * allocate has no sensible way to go on, and checking every call site
 * would only hide the real logic.  The caller owns what is returned and
 * releases it with free(3).
 */
#ifndef FS_XALLOC_H
#define FS_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array of *cap elements of size elem to hold at least need. */
void *xgrow(void *p, size_t *cap, size_t need, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
