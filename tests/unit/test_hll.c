/*
 * test_hll.c - HyperLogLog against exact distinct counts.
 *
 * The documented bound is a relative standard error of 1.04/sqrt(m).
 * Single estimates are checked against 4 standard errors (a false alarm
 * about once in 15 000 runs were the data random; it is fixed, so the
 * outcome is deterministic), and the error over many independent
 * sketches is checked to be the documented size.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "agg/hll.h"
#include "banned.h"

static int tests, failed;

static void ok(int cond, const char *name)
{
	tests++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests, name);
}

static uint64_t hash_of(uint64_t seed, uint64_t i)
{
	char s[64];
	int n = snprintf(s, sizeof(s), "user-%llu-%llu",
	    (unsigned long long)seed, (unsigned long long)i);

	return XXH3_64bits(s, (size_t)n);
}

static struct hll *fill(unsigned p, uint64_t seed, uint64_t from,
    uint64_t to, int repeat)
{
	struct hll *h = hll_new(p);

	for (int r = 0; r < repeat; r++)
		for (uint64_t i = from; i < to; i++)
			h = hll_add(h, hash_of(seed, i));
	return h;
}

static double relerr(double est, double exact)
{
	return fabs(est - exact) / exact;
}

static void test_empty(void)
{
	struct hll *h = hll_new(HLL_P_DEFAULT);

	ok(hll_estimate(h) == 0, "empty sketch estimates 0");
	hll_free(h);
}

static void test_sizes(void)
{
	static const uint64_t ns[] = { 1, 10, 100, 1000, 10000, 100000,
	    1000000 };
	double se = hll_std_error(HLL_P_DEFAULT);
	char name[160];

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		struct hll *h = fill(HLL_P_DEFAULT, 1, 0, ns[k], 1);
		double est = hll_estimate(h), e = relerr(est, (double)ns[k]);

		/* Far below m the estimate is nearly exact. */
		double bound = ns[k] <= 1000 ? 0.01 : 4 * se;

		snprintf(name, sizeof(name),
		    "p=14, %llu distinct: estimate %.1f within %.2f%%",
		    (unsigned long long)ns[k], est, bound * 100);
		ok(e <= bound, name);
		hll_free(h);
	}
}

static void test_duplicates(void)
{
	struct hll *a = fill(HLL_P_DEFAULT, 2, 0, 50000, 1);
	struct hll *b = fill(HLL_P_DEFAULT, 2, 0, 50000, 3);

	ok(hll_estimate(a) == hll_estimate(b),
	    "repeated values do not change the estimate");
	hll_free(a);
	hll_free(b);
}

/* The documented standard error, measured over 300 sketches. */
static void test_std_error(void)
{
	const unsigned p = 10;
	const int trials = 300;
	const double n = 20000;
	double sum2 = 0, sum = 0, rms, bias, se = hll_std_error(p);
	char name[160];

	for (int t = 0; t < trials; t++) {
		struct hll *h = fill(p, 1000 + (uint64_t)t, 0, (uint64_t)n, 1);
		double d = (hll_estimate(h) - n) / n;

		sum += d;
		sum2 += d * d;
		hll_free(h);
	}
	rms = sqrt(sum2 / trials);
	bias = sum / trials;
	snprintf(name, sizeof(name),
	    "p=10: rms relative error %.4f is 1.04/sqrt(m) = %.4f +- 20%%",
	    rms, se);
	ok(rms > 0.8 * se && rms < 1.2 * se, name);
	snprintf(name, sizeof(name), "p=10: mean relative error %.4f "
	    "(bias) below a third of the standard error", bias);
	ok(fabs(bias) < se / 3, name);
}

static void test_merge(void)
{
	struct hll *a = fill(HLL_P_DEFAULT, 3, 0, 60000, 1);
	struct hll *b = fill(HLL_P_DEFAULT, 3, 40000, 100000, 1);
	struct hll *u = fill(HLL_P_DEFAULT, 3, 0, 100000, 1);
	struct hll *small = fill(HLL_P_DEFAULT, 3, 0, 500, 1);
	struct hll *small2 = fill(HLL_P_DEFAULT, 3, 400, 900, 1);
	struct hll *su = fill(HLL_P_DEFAULT, 3, 0, 900, 1);

	a = hll_merge(a, b);
	ok(hll_estimate(a) == hll_estimate(u),
	    "merging overlapping dense sketches equals the sketch of the union");
	ok(relerr(hll_estimate(a), 100000) < 4 * hll_std_error(14),
	    "merged estimate of 100000 within 4 standard errors");
	small = hll_merge(small, small2);
	ok(hll_estimate(small) == hll_estimate(su),
	    "merging sparse sketches equals the sketch of the union");
	small2 = hll_merge(small2, u);
	ok(hll_estimate(small2) == hll_estimate(u),
	    "merging a dense sketch into a sparse subset gives the superset");
	hll_free(a);
	hll_free(b);
	hll_free(u);
	hll_free(small);
	hll_free(small2);
	hll_free(su);
}

static void test_sparse_memory(void)
{
	struct hll *h = fill(HLL_P_DEFAULT, 4, 0, 10, 1);

	ok(hll_bytes(h) <= 128, "a sketch of 10 values stays sparse and small");
	hll_free(h);
	h = fill(HLL_P_DEFAULT, 4, 0, 100000, 1);
	ok(hll_bytes(h) <= 16384 + 64, "a dense p=14 sketch takes 16 KiB");
	hll_free(h);
}

static void roundtrip(uint64_t n, const char *form)
{
	struct hll *h = fill(12, 5, 0, n, 1), *r;
	json_t *j = hll_to_json(h);
	char *text = json_dumps(j, JSON_COMPACT);
	json_t *back = json_loads(text, 0, NULL);
	const char *why = NULL;
	char name[120];

	r = hll_from_json(back, 12, &why);
	snprintf(name, sizeof(name), "%s sketch survives a JSON round trip",
	    form);
	ok(r != NULL && json_object_get(j, form) != NULL &&
	    hll_estimate(r) == hll_estimate(h), name);
	if (r) {
		/* And goes on counting the same way. */
		for (uint64_t i = n; i < n + 5000; i++) {
			h = hll_add(h, hash_of(5, i));
			r = hll_add(r, hash_of(5, i));
		}
		ok(hll_estimate(r) == hll_estimate(h),
		    "restored sketch keeps counting like the original");
	}
	hll_free(h);
	hll_free(r);
	json_decref(j);
	json_decref(back);
	free(text);
}

static void test_json_errors(void)
{
	struct hll *h = fill(12, 6, 0, 100, 1);
	json_t *j = hll_to_json(h);
	json_t *bad = json_pack("{s:i,s:s}", "p", 12, "dense", "AAA");
	json_t *bad2 = json_pack("{s:i,s:[i]}", "p", 12, "sparse", 5 << 8);
	const char *why = NULL;

	ok(hll_from_json(j, 14, &why) == NULL && why != NULL,
	    "a sketch of another precision is refused");
	ok(hll_from_json(bad, 12, &why) == NULL,
	    "dense registers of the wrong length are refused");
	ok(hll_from_json(bad2, 12, &why) == NULL,
	    "a sparse entry with register value 0 is refused");
	json_decref(j);
	json_decref(bad);
	json_decref(bad2);
	hll_free(h);
}

static void test_precisions(void)
{
	for (unsigned p = HLL_P_MIN; p <= HLL_P_MAX; p += 7) {
		struct hll *h = fill(p, 7, 0, 200000, 1);
		char name[120];

		snprintf(name, sizeof(name),
		    "p=%u: 200000 distinct within 4 standard errors", p);
		ok(relerr(hll_estimate(h), 200000) < 4 * hll_std_error(p),
		    name);
		hll_free(h);
	}
}

int main(void)
{
	test_empty();
	test_sizes();
	test_duplicates();
	test_std_error();
	test_merge();
	test_sparse_memory();
	roundtrip(300, "sparse");
	roundtrip(50000, "dense");
	test_json_errors();
	test_precisions();
	printf("1..%d\n", tests);
	return failed != 0;
}
