/*
 * test_ddsketch.c - DDSketch quantiles against exact quantiles.
 *
 * The documented guarantee: the q-quantile x, the value of 1-based rank
 * ceil(q n) in the sorted input, is returned as x' with
 * |x' - x| <= alpha |x|.  Every check below compares with the exact
 * value from the sorted data (a hair of slack for floating point).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/ddsketch.h"
#include "banned.h"

static int tests, failed;

static void ok(int cond, const char *name)
{
	tests++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests, name);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double unif(void)
{
	return ((double)(rng() >> 11) + 0.5) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The 0-based rank of the q-quantile, computed in integers: q is one
 * of qs, all multiples of 1/1000. */
static size_t exact_rank(double q, size_t n)
{
	uint64_t permille = (uint64_t)llround(q * 1000);
	uint64_t r = (permille * n + 999) / 1000;

	return r == 0 ? 0 : (size_t)(r - 1);
}

static const double qs[] = { 0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
    0.95, 0.99, 0.999, 1 };

/* Checks every q in qs; returns the worst relative error seen. */
static double worst_error(const struct ddsketch *s, double *sorted, size_t n)
{
	double worst = 0;

	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		double x = sorted[exact_rank(qs[k], n)];
		double est = dds_quantile(s, qs[k]);
		double e = x == 0 ? fabs(est) : fabs(est - x) / fabs(x);

		if (x == 0 && est != 0)
			e = INFINITY;
		if (e > worst)
			worst = e;
	}
	return worst;
}

static void check(const char *what, double alpha, double *v, size_t n)
{
	struct ddsketch *s = dds_new(alpha);
	double w;
	char name[200];

	for (size_t i = 0; i < n; i++)
		dds_add(s, v[i]);
	qsort(v, n, sizeof(double), cmp_double);
	w = worst_error(s, v, n);
	snprintf(name, sizeof(name), "%s, alpha %g: worst relative error "
	    "%.5f over q in 0..1 is within alpha", what, alpha, w);
	ok(w <= alpha * (1 + 1e-9) && dds_count(s) == n, name);
	dds_free(s);
}

static void test_distributions(void)
{
	size_t n = 200000;
	double *v = malloc(n * sizeof(double));

	rng_state = 1;
	for (size_t i = 0; i < n; i++)
		v[i] = (double)(1 + rng() % 100000);
	check("uniform integers 1..100000", 0.01, v, n);
	for (size_t i = 0; i < n; i++)
		v[i] = exp(3 + 2 * sqrt(-2 * log(unif())) *
		    cos(2 * M_PI * unif()));
	check("log-normal amounts", 0.01, v, n);
	for (size_t i = 0; i < n; i++)
		v[i] = -log(unif()) * 250;
	check("exponential latencies", 0.02, v, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rng() % 10;

		v[i] = r < 2 ? 0 : r < 5 ? -unif() * 1000 : unif() * 50;
	}
	check("mixed negatives, zeros and positives", 0.01, v, n);
	for (size_t i = 0; i < n; i++)
		v[i] = (double)(1 + rng() % 100000);
	check("uniform integers, coarse", 0.05, v, n);
	free(v);
}

static void test_small(void)
{
	struct ddsketch *s = dds_new(0.01);

	dds_add(s, 42.5);
	ok(dds_quantile(s, 0.5) == 42.5 && dds_quantile(s, 0) == 42.5 &&
	    dds_quantile(s, 1) == 42.5,
	    "one value: every quantile is that value exactly");
	dds_free(s);
	s = dds_new(0.01);
	for (int i = 1; i <= 5; i++)
		dds_add(s, i);
	ok(dds_quantile(s, 0) == 1 && dds_quantile(s, 1) == 5,
	    "q=0 and q=1 are the exact minimum and maximum");
	ok(fabs(dds_quantile(s, 0.5) - 3) <= 0.03,
	    "median of 1..5 is 3 within 1%");
	ok(fabs(dds_quantile(s, 0.8) - 4) <= 0.04 &&
	    fabs(dds_quantile(s, 0.81) - 5) <= 0.05,
	    "0.8 of 1..5 is 4 (4 of 5 values at or below); 0.81 is 5");
	dds_free(s);
}

static void test_merge(void)
{
	size_t n = 100000;
	double *v = malloc(n * sizeof(double));
	struct ddsketch *a = dds_new(0.01), *b = dds_new(0.01);
	struct ddsketch *all = dds_new(0.01);
	int same = 1;

	rng_state = 7;
	for (size_t i = 0; i < n; i++) {
		/* The halves have different ranges, as panes of a window do. */
		v[i] = i < n / 2 ? unif() * 10 : 5 + unif() * 10000;
		dds_add(i < n / 2 ? a : b, v[i]);
		dds_add(all, v[i]);
	}
	dds_merge(a, b);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
		if (dds_quantile(a, qs[k]) != dds_quantile(all, qs[k]))
			same = 0;
	ok(same, "merged sketch answers exactly as one sketch of all values");
	qsort(v, n, sizeof(double), cmp_double);
	ok(worst_error(a, v, n) <= 0.01 * (1 + 1e-9),
	    "merged sketch is within alpha of the exact quantiles");
	dds_free(a);
	dds_free(b);
	dds_free(all);
	free(v);
}

static void test_collapse(void)
{
	size_t n = 20000;
	double *v = malloc(n * sizeof(double));
	struct ddsketch *s = dds_new(0.01);
	char name[160];
	double x, est;

	rng_state = 11;
	/* 10^-300 .. 10^300 needs ~69 000 buckets; the store keeps 4096. */
	for (size_t i = 0; i < n; i++) {
		v[i] = pow(10, -300 + 600 * unif());
		dds_add(s, v[i]);
	}
	qsort(v, n, sizeof(double), cmp_double);
	ok(dds_bytes(s) <= sizeof(double) * 16 + 2 * DDS_MAX_BINS * 8,
	    "a huge range is held in at most DDS_MAX_BINS buckets");
	x = v[exact_rank(0.99, n)];
	est = dds_quantile(s, 0.99);
	snprintf(name, sizeof(name), "after folding, the 0.99 quantile "
	    "(%.3g) is still within alpha", x);
	ok(fabs(est - x) <= 0.01 * x * (1 + 1e-9), name);
	ok(dds_count(s) == n, "folding keeps every value counted");
	dds_free(s);
	free(v);
}

static void test_json(void)
{
	struct ddsketch *s = dds_new(0.02), *r;
	json_t *j, *back;
	char *text;
	const char *why = NULL;
	int same = 1;

	rng_state = 3;
	for (int i = 0; i < 5000; i++)
		dds_add(s, (unif() - 0.3) * 1000);
	dds_add(s, 0);
	j = dds_to_json(s);
	text = json_dumps(j, JSON_COMPACT);
	back = json_loads(text, 0, NULL);
	r = dds_from_json(back, 0.02, &why);
	ok(r != NULL, "a sketch survives a JSON round trip");
	for (size_t k = 0; r && k < sizeof(qs) / sizeof(qs[0]); k++)
		if (dds_quantile(r, qs[k]) != dds_quantile(s, qs[k]))
			same = 0;
	ok(r && same && dds_count(r) == dds_count(s),
	    "the restored sketch gives the same quantiles");
	ok(dds_from_json(back, 0.01, &why) == NULL && why != NULL,
	    "a sketch of another alpha is refused");
	json_object_set_new(back, "n", json_integer(3));
	ok(dds_from_json(back, 0.02, &why) == NULL,
	    "a count that disagrees with the buckets is refused");
	dds_free(s);
	dds_free(r);
	json_decref(j);
	json_decref(back);
	free(text);
}

/* Up to DDS_EXACT values are kept as they are: exact quantiles. */
static void test_exact_small(void)
{
	double v[DDS_EXACT + 1], all[44], w;
	struct ddsketch *s = dds_new(0.05), *a = dds_new(0.05);
	struct ddsketch *b = dds_new(0.05), *r;
	int exact = 1;
	json_t *j;
	const char *why;

	rng_state = 17;
	for (int i = 0; i < DDS_EXACT; i++) {
		v[i] = (unif() - 0.2) * 1000;
		dds_add(s, v[i]);
		dds_add(i < 20 ? a : b, v[i]);
	}
	ok(dds_bytes(s) <= 256 + 128,
	    "32 values take at most 256 bytes beyond the sketch header");
	j = dds_to_json(s);
	r = dds_from_json(j, 0.05, &why);
	qsort(v, DDS_EXACT, sizeof(double), cmp_double);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
		if (dds_quantile(s, qs[k]) != v[exact_rank(qs[k], DDS_EXACT)] ||
		    r == NULL || dds_quantile(r, qs[k]) != dds_quantile(s, qs[k]))
			exact = 0;
	ok(exact, "32 values: every quantile is exact, also after a JSON "
	    "round trip");
	dds_merge(a, b);
	exact = 1;
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
		if (dds_quantile(a, qs[k]) != v[exact_rank(qs[k], DDS_EXACT)])
			exact = 0;
	ok(exact, "20 and 12 exact values merge into 32 exact values");
	dds_merge(a, b);
	/* a now holds v[0..20) once and v[20..32) twice (unsorted order). */
	rng_state = 17;
	for (int i = 0; i < DDS_EXACT; i++) {
		all[i] = (unif() - 0.2) * 1000;
		if (i >= 20)
			all[DDS_EXACT + i - 20] = all[i];
	}
	qsort(all, 44, sizeof(double), cmp_double);
	w = worst_error(a, all, 44);
	ok(dds_count(a) == 44 && w <= 0.05 * (1 + 1e-9),
	    "past 32 the merged sketch turns to buckets, within alpha");
	v[0] = 1e6;
	dds_add(s, v[0]);
	ok(dds_count(s) == 33 && dds_quantile(s, 1) == 1e6,
	    "the 33rd value moves the values into buckets");
	json_object_set_new(j, "n", json_integer(31));
	ok(dds_from_json(j, 0.05, &why) == NULL,
	    "exact values that disagree with the count are refused");
	json_decref(j);
	dds_free(s);
	dds_free(a);
	dds_free(b);
	dds_free(r);
}

int main(void)
{
	test_distributions();
	test_small();
	test_exact_small();
	test_merge();
	test_collapse();
	test_json();
	printf("1..%d\n", tests);
	return failed != 0;
}
