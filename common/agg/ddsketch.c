/*
 * ddsketch.c - DDSketch with dense, collapsing stores (ddsketch.h).
 *
 * A sketch keeps its first DDS_EXACT values as they are, sorted, and
 * answers those exactly; the 33rd value moves them into buckets.  Most
 * keys in a window see few values, so this saves both memory and error
 * where it matters most.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"
#include "xalloc.h"
#include "banned.h"

/* Counts for bucket indexes lo .. lo + len - 1. */
struct dds_store {
	uint64_t *bins;
	int32_t lo;
	uint32_t len;
	uint32_t cap;
};

struct ddsketch {
	double alpha;
	double ln_gamma;
	double min, max;
	uint64_t n;
	uint64_t zero;
	struct dds_store pos;   /* v > 0, by v */
	struct dds_store neg;   /* v < 0, by -v */
	double *raw;            /* before bucketed: the values, sorted */
	uint32_t nraw, rawcap;
	bool bucketed;
};

struct ddsketch *dds_new(double alpha)
{
	struct ddsketch *s = xcalloc(1, sizeof(*s));

	s->alpha = alpha;
	s->ln_gamma = log((1 + alpha) / (1 - alpha));
	s->min = INFINITY;
	s->max = -INFINITY;
	return s;
}

void dds_free(struct ddsketch *s)
{
	if (s == NULL)
		return;
	free(s->pos.bins);
	free(s->neg.bins);
	free(s->raw);
	free(s);
}

double dds_alpha(const struct ddsketch *s)
{
	return s->alpha;
}

uint64_t dds_count(const struct ddsketch *s)
{
	return s->n;
}

size_t dds_bytes(const struct ddsketch *s)
{
	return sizeof(*s) + (size_t)s->rawcap * sizeof(double) +
	    ((size_t)s->pos.cap + s->neg.cap) * sizeof(uint64_t);
}

static int32_t dds_index(const struct ddsketch *s, double v)
{
	double i = ceil(log(v) / s->ln_gamma);

	/* Values near DBL_MIN at the smallest alpha stay far inside int32;
	 * the clamp only guards the conversion. */
	if (i < -2e9)
		i = -2e9;
	if (i > 2e9)
		i = 2e9;
	return (int32_t)i;
}

static double dds_value(const struct ddsketch *s, int32_t i)
{
	return 2 * exp(i * s->ln_gamma) / (exp(s->ln_gamma) + 1);
}

static int32_t store_hi(const struct dds_store *st)
{
	return st->lo + (int32_t)st->len - 1;
}

/*
 * Makes the store cover [ilo, ihi].  When that would span more than
 * DDS_MAX_BINS buckets, the lowest buckets fold into the lowest one kept.
 */
static void store_cover(struct dds_store *st, int32_t ilo, int32_t ihi)
{
	int64_t nlo = ilo, nhi = ihi, span;
	uint64_t *nb;
	uint32_t ncap;

	if (st->len > 0) {
		if (st->lo < nlo)
			nlo = st->lo;
		if (store_hi(st) > nhi)
			nhi = store_hi(st);
		if (nlo == st->lo && nhi == store_hi(st))
			return;
	}
	if (nhi - nlo + 1 > DDS_MAX_BINS)
		nlo = nhi - DDS_MAX_BINS + 1;
	span = nhi - nlo + 1;
	if (st->len > 0 && nlo == st->lo) {
		/* Growing upward only: extend in place. */
		if ((uint32_t)span > st->cap) {
			size_t cap = st->cap;

			st->bins = xgrow(st->bins, &cap, (size_t)span,
			    sizeof(uint64_t));
			if (cap > DDS_MAX_BINS)
				cap = DDS_MAX_BINS;
			st->cap = (uint32_t)cap;
		}
		memset(st->bins + st->len, 0,
		    ((size_t)span - st->len) * sizeof(uint64_t));
		st->len = (uint32_t)span;
		return;
	}
	ncap = (uint32_t)span;
	nb = xcalloc(ncap, sizeof(uint64_t));
	for (uint32_t j = 0; j < st->len; j++) {
		int64_t idx = (int64_t)st->lo + j;

		nb[(idx < nlo ? nlo : idx) - nlo] += st->bins[j];
	}
	free(st->bins);
	st->bins = nb;
	st->lo = (int32_t)nlo;
	st->len = (uint32_t)span;
	st->cap = ncap;
}

static void store_add(struct dds_store *st, int32_t i, uint64_t c)
{
	store_cover(st, i, i);
	st->bins[(i < st->lo ? st->lo : i) - st->lo] += c;
}

static void bucket_add(struct ddsketch *s, double v)
{
	if (v > 0)
		store_add(&s->pos, dds_index(s, v), 1);
	else if (v < 0)
		store_add(&s->neg, dds_index(s, -v), 1);
	else
		s->zero++;
}

static void raw_insert(struct ddsketch *s, double v)
{
	uint32_t pos = s->nraw;

	if (s->nraw == s->rawcap) {
		s->rawcap = s->rawcap ? s->rawcap * 2 : 4;
		if (s->rawcap > DDS_EXACT)
			s->rawcap = DDS_EXACT;
		s->raw = xrealloc(s->raw, s->rawcap * sizeof(double));
	}
	while (pos > 0 && s->raw[pos - 1] > v) {
		s->raw[pos] = s->raw[pos - 1];
		pos--;
	}
	s->raw[pos] = v;
	s->nraw++;
}

static void to_buckets(struct ddsketch *s)
{
	for (uint32_t i = 0; i < s->nraw; i++)
		bucket_add(s, s->raw[i]);
	free(s->raw);
	s->raw = NULL;
	s->nraw = s->rawcap = 0;
	s->bucketed = true;
}

static void note_minmax(struct ddsketch *s, double lo, double hi)
{
	if (lo < s->min)
		s->min = lo;
	if (hi > s->max)
		s->max = hi;
}

void dds_add(struct ddsketch *s, double v)
{
	s->n++;
	note_minmax(s, v, v);
	if (!s->bucketed) {
		if (s->nraw < DDS_EXACT) {
			raw_insert(s, v);
			return;
		}
		to_buckets(s);
	}
	bucket_add(s, v);
}

static void store_merge(struct dds_store *dst, const struct dds_store *src)
{
	if (src->len == 0)
		return;
	store_cover(dst, src->lo, store_hi(src));
	for (uint32_t j = 0; j < src->len; j++) {
		int32_t i = src->lo + (int32_t)j;

		dst->bins[(i < dst->lo ? dst->lo : i) - dst->lo] +=
		    src->bins[j];
	}
}

void dds_merge(struct ddsketch *dst, const struct ddsketch *src)
{
	if (src->n == 0)
		return;
	dst->n += src->n;
	note_minmax(dst, src->min, src->max);
	if (!dst->bucketed && !src->bucketed &&
	    dst->nraw + src->nraw <= DDS_EXACT) {
		for (uint32_t i = 0; i < src->nraw; i++)
			raw_insert(dst, src->raw[i]);
		return;
	}
	if (!dst->bucketed)
		to_buckets(dst);
	for (uint32_t i = 0; i < src->nraw; i++)
		bucket_add(dst, src->raw[i]);
	dst->zero += src->zero;
	store_merge(&dst->pos, &src->pos);
	store_merge(&dst->neg, &src->neg);
}

static double clamp(const struct ddsketch *s, double v)
{
	return v < s->min ? s->min : v > s->max ? s->max : v;
}

/* The 0-based rank of the q-quantile: ceil(q n) - 1, the smallest value
 * with at least q n values at or below it.  The factor keeps q n that
 * lands a rounding error above an integer (0.07 * 100) on it. */
static double quantile_rank(double q, uint64_t n)
{
	double r = ceil(q * (double)n * (1 - 1e-12)) - 1;

	return r < 0 ? 0 : r;
}

double dds_quantile(const struct ddsketch *s, double q)
{
	double rank = quantile_rank(q, s->n);
	double cum = 0;

	if (q <= 0)
		return s->min;
	if (q >= 1)
		return s->max;
	if (!s->bucketed)
		return s->raw[(size_t)rank];
	for (uint32_t j = s->neg.len; j-- > 0;) {
		cum += (double)s->neg.bins[j];
		if (cum > rank)
			return clamp(s, -dds_value(s, s->neg.lo + (int32_t)j));
	}
	cum += (double)s->zero;
	if (cum > rank)
		return clamp(s, 0);
	for (uint32_t j = 0; j < s->pos.len; j++) {
		cum += (double)s->pos.bins[j];
		if (cum > rank)
			return clamp(s, dds_value(s, s->pos.lo + (int32_t)j));
	}
	return s->max;
}

/* --- checkpoints ---------------------------------------------------- */

static json_t *store_json(const struct dds_store *st)
{
	json_t *a = json_array();

	for (uint32_t j = 0; j < st->len; j++)
		json_array_append_new(a, json_integer((json_int_t)st->bins[j]));
	return json_pack("[i,o]", (json_int_t)(st->len ? st->lo : 0), a);
}

json_t *dds_to_json(const struct ddsketch *s)
{
	json_t *j, *raw;

	if (!s->bucketed) {
		raw = json_array();
		for (uint32_t i = 0; i < s->nraw; i++)
			json_array_append_new(raw, json_real(s->raw[i]));
		return json_pack("{s:f,s:I,s:o}", "alpha", s->alpha, "n",
		    (json_int_t)s->n, "raw", raw);
	}
	j = json_pack("{s:f,s:I,s:I}", "alpha", s->alpha, "n",
	    (json_int_t)s->n, "zero", (json_int_t)s->zero);
	if (s->n > 0) {
		json_object_set_new(j, "min", json_real(s->min));
		json_object_set_new(j, "max", json_real(s->max));
	}
	json_object_set_new(j, "pos", store_json(&s->pos));
	json_object_set_new(j, "neg", store_json(&s->neg));
	return j;
}

/* Returns the number of values in the store, or -1 when invalid. */
static int64_t store_from_json(struct dds_store *st, const json_t *j)
{
	const json_t *jlo = json_array_get(j, 0), *bins = json_array_get(j, 1);
	int64_t total = 0;
	size_t n;

	if (!json_is_array(j) || json_array_size(j) != 2 ||
	    !json_is_integer(jlo) || !json_is_array(bins))
		return -1;
	n = json_array_size(bins);
	if (n > DDS_MAX_BINS || json_integer_value(jlo) < -2000000000 ||
	    json_integer_value(jlo) > 2000000000)
		return -1;
	if (n == 0)
		return 0;
	st->lo = (int32_t)json_integer_value(jlo);
	st->len = st->cap = (uint32_t)n;
	st->bins = xcalloc(n, sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(bins, i);

		if (!json_is_integer(c) || json_integer_value(c) < 0)
			return -1;
		st->bins[i] = (uint64_t)json_integer_value(c);
		total += json_integer_value(c);
		if (total < 0)
			return -1;
	}
	return total;
}

static struct ddsketch *raw_from_json(const json_t *raw, const json_t *jn,
    double alpha, const char **why)
{
	struct ddsketch *s;
	size_t i;
	const json_t *v;

	if (!json_is_integer(jn) || json_integer_value(jn) < 0 ||
	    (size_t)json_integer_value(jn) != json_array_size(raw) ||
	    json_array_size(raw) > DDS_EXACT) {
		*why = "ddsketch: invalid exact values";
		return NULL;
	}
	s = dds_new(alpha);
	json_array_foreach(raw, i, v) {
		if (!json_is_number(v) || !isfinite(json_number_value(v))) {
			dds_free(s);
			*why = "ddsketch: invalid exact values";
			return NULL;
		}
		dds_add(s, json_number_value(v));
	}
	return s;
}

struct ddsketch *dds_from_json(const json_t *j, double alpha,
    const char **why)
{
	const json_t *ja = json_object_get(j, "alpha");
	const json_t *jn = json_object_get(j, "n");
	const json_t *jz = json_object_get(j, "zero");
	const json_t *jmin = json_object_get(j, "min");
	const json_t *jmax = json_object_get(j, "max");
	struct ddsketch *s;
	int64_t np, nn;

	if (!json_is_number(ja) || json_number_value(ja) != alpha) {
		*why = "ddsketch: alpha missing or different";
		return NULL;
	}
	if (json_is_array(json_object_get(j, "raw")))
		return raw_from_json(json_object_get(j, "raw"), jn, alpha, why);
	if (!json_is_integer(jn) || !json_is_integer(jz) ||
	    json_integer_value(jn) < 0 || json_integer_value(jz) < 0) {
		*why = "ddsketch: invalid counts";
		return NULL;
	}
	s = dds_new(alpha);
	s->bucketed = true;
	np = store_from_json(&s->pos, json_object_get(j, "pos"));
	nn = store_from_json(&s->neg, json_object_get(j, "neg"));
	s->n = (uint64_t)json_integer_value(jn);
	s->zero = (uint64_t)json_integer_value(jz);
	if (np < 0 || nn < 0 || (uint64_t)np + (uint64_t)nn + s->zero != s->n) {
		dds_free(s);
		*why = "ddsketch: invalid buckets";
		return NULL;
	}
	if (s->n > 0) {
		if (!json_is_number(jmin) || !json_is_number(jmax) ||
		    json_number_value(jmin) > json_number_value(jmax)) {
			dds_free(s);
			*why = "ddsketch: invalid min or max";
			return NULL;
		}
		s->min = json_number_value(jmin);
		s->max = json_number_value(jmax);
	}
	return s;
}
