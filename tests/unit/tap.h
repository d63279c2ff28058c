/*
 * tap.h - a minimal TAP producer for the C unit tests of common/.
 *
 *     CHECK(expr, "name")            one test point
 *     CHECK_STR(got, want, "name")   string equality, both shown on failure
 *     CHECK_I64(got, want, "name")
 *     return tap_done();             exit status: 0 only if all passed
 */
#ifndef FS_TAP_H
#define FS_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_point(int ok, const char *name)
{
	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tap_n, name);
}

#define CHECK(expr, name) tap_point(!!(expr), (name))

#define CHECK_STR(got, want, name) do { \
	const char *g_ = (got), *w_ = (want); \
	int ok_ = g_ && w_ && strcmp(g_, w_) == 0; \
	tap_point(ok_, (name)); \
	if (!ok_) \
		printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)", \
		    w_ ? w_ : "(null)"); \
} while (0)

#define CHECK_I64(got, want, name) do { \
	int64_t g_ = (got), w_ = (want); \
	tap_point(g_ == w_, (name)); \
	if (g_ != w_) \
		printf("#   got:  %" PRId64 "\n#   want: %" PRId64 "\n", g_, w_); \
} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif
