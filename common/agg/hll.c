/* hll.c - HyperLogLog with a sparse start and Ertl's estimator (hll.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "hll.h"
#include "xalloc.h"
#include "banned.h"

struct hll {
	uint8_t p;
	uint8_t dense;
	uint32_t n;             /* sparse: entries in use */
	uint32_t cap;           /* sparse: entries allocated */
	uint32_t data[];        /* sparse: sorted entries; dense: m bytes */
};

#define ENTRY(idx, rank) ((uint32_t)(idx) << 8 | (uint32_t)(rank))
#define ENTRY_IDX(e) ((e) >> 8)
#define ENTRY_RANK(e) ((e) & 0xff)

static size_t hll_m(unsigned p)
{
	return (size_t)1 << p;
}

static unsigned char *regs(struct hll *h)
{
	return (unsigned char *)h->data;
}

static const unsigned char *cregs(const struct hll *h)
{
	return (const unsigned char *)h->data;
}

struct hll *hll_new(unsigned p)
{
	struct hll *h = xmalloc(sizeof(*h) + 4 * sizeof(uint32_t));

	h->p = (uint8_t)p;
	h->dense = 0;
	h->n = 0;
	h->cap = 4;
	return h;
}

void hll_free(struct hll *h)
{
	free(h);
}

unsigned hll_precision(const struct hll *h)
{
	return h->p;
}

double hll_std_error(unsigned p)
{
	return 1.04 / sqrt((double)hll_m(p));
}

size_t hll_bytes(const struct hll *h)
{
	if (h->dense)
		return sizeof(*h) + hll_m(h->p);
	return sizeof(*h) + (size_t)h->cap * sizeof(uint32_t);
}

static struct hll *to_dense(struct hll *h)
{
	size_t m = hll_m(h->p);
	struct hll *d = xcalloc(1, sizeof(*d) + m);
	unsigned char *r = regs(d);

	d->p = h->p;
	d->dense = 1;
	for (uint32_t i = 0; i < h->n; i++)
		r[ENTRY_IDX(h->data[i])] = (unsigned char)ENTRY_RANK(h->data[i]);
	free(h);
	return d;
}

/* Index of the first sparse entry whose register is >= idx. */
static uint32_t sparse_find(const struct hll *h, uint32_t idx)
{
	uint32_t lo = 0, hi = h->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ENTRY_IDX(h->data[mid]) < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Raises register idx to rank. */
static struct hll *set_reg(struct hll *h, uint32_t idx, unsigned rank)
{
	uint32_t at;

	if (h->dense) {
		if (regs(h)[idx] < rank)
			regs(h)[idx] = (unsigned char)rank;
		return h;
	}
	at = sparse_find(h, idx);
	if (at < h->n && ENTRY_IDX(h->data[at]) == idx) {
		if (ENTRY_RANK(h->data[at]) < rank)
			h->data[at] = ENTRY(idx, rank);
		return h;
	}
	if (h->n == h->cap) {
		size_t m = hll_m(h->p);
		uint32_t cap = h->cap * 2;

		/* Dense is m bytes: switch once sparse would not be smaller. */
		if ((size_t)cap * sizeof(uint32_t) >= m) {
			h = to_dense(h);
			regs(h)[idx] = (unsigned char)rank;
			return h;
		}
		h = xrealloc(h, sizeof(*h) + (size_t)cap * sizeof(uint32_t));
		h->cap = cap;
	}
	memmove(&h->data[at + 1], &h->data[at],
	    (size_t)(h->n - at) * sizeof(uint32_t));
	h->data[at] = ENTRY(idx, rank);
	h->n++;
	return h;
}

struct hll *hll_add(struct hll *h, uint64_t hash)
{
	unsigned q = 64 - h->p;
	uint64_t w = hash << h->p;
	unsigned rank = w == 0 ? q + 1 : (unsigned)__builtin_clzll(w) + 1;

	return set_reg(h, (uint32_t)(hash >> q), rank);
}

struct hll *hll_merge(struct hll *dst, const struct hll *src)
{
	if (src->dense) {
		size_t m = hll_m(src->p);
		const unsigned char *s = cregs(src);
		unsigned char *d;

		if (!dst->dense)
			dst = to_dense(dst);
		d = regs(dst);
		for (size_t i = 0; i < m; i++)
			if (d[i] < s[i])
				d[i] = s[i];
		return dst;
	}
	for (uint32_t i = 0; i < src->n; i++)
		dst = set_reg(dst, ENTRY_IDX(src->data[i]),
		    ENTRY_RANK(src->data[i]));
	return dst;
}

/* Ertl (2017), the sigma and tau series of the improved estimator. */
static double ertl_sigma(double x)
{
	double y = 1, z = x, zp;

	if (x == 1)
		return INFINITY;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

static double ertl_tau(double x)
{
	double y = 1, z, zp;

	if (x == 0 || x == 1)
		return 0;
	z = 1 - x;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != zp);
	return z / 3;
}

double hll_estimate(const struct hll *h)
{
	unsigned q = 64 - h->p;
	double m = (double)hll_m(h->p), z;
	uint64_t c[66] = { 0 };

	if (h->dense) {
		const unsigned char *r = cregs(h);

		for (size_t i = 0; i < hll_m(h->p); i++)
			c[r[i]]++;
	} else {
		c[0] = hll_m(h->p) - h->n;
		for (uint32_t i = 0; i < h->n; i++)
			c[ENTRY_RANK(h->data[i])]++;
	}
	if (c[0] == hll_m(h->p))
		return 0;
	z = m * ertl_tau((m - (double)c[q + 1]) / m);
	for (unsigned k = q; k >= 1; k--)
		z = 0.5 * (z + (double)c[k]);
	z += m * ertl_sigma((double)c[0] / m);
	return 0.5 / log(2) * m * m / z;
}

/* --- checkpoints ---------------------------------------------------- */

/* The dense registers as base64 (a JSON string). */
static json_t *b64_json(const unsigned char *s, size_t n)
{
	struct buf b = BUF_INIT;
	json_t *j;

	base64_encode(&b, s, n);
	j = json_stringn(b.data, b.len);
	buf_free(&b);
	return j;
}

/* Decodes exactly n bytes into dst; -1 unless s is their encoding. */
static int b64_decode_exact(const char *s, size_t len, unsigned char *dst,
    size_t n)
{
	struct buf b = BUF_INIT;
	int ok = base64_decode(&b, s, len) == 0 && b.len == n;

	if (ok)
		memcpy(dst, b.data, n);
	buf_free(&b);
	return ok ? 0 : -1;
}

json_t *hll_to_json(const struct hll *h)
{
	json_t *a;

	if (h->dense)
		return json_pack("{s:i,s:o}", "p", (json_int_t)h->p, "dense",
		    b64_json(cregs(h), hll_m(h->p)));
	a = json_array();
	for (uint32_t i = 0; i < h->n; i++)
		json_array_append_new(a, json_integer(h->data[i]));
	return json_pack("{s:i,s:o}", "p", (json_int_t)h->p, "sparse", a);
}

struct hll *hll_from_json(const json_t *j, unsigned p, const char **why)
{
	const json_t *jp = json_object_get(j, "p");
	const json_t *sp = json_object_get(j, "sparse");
	const json_t *dn = json_object_get(j, "dense");
	struct hll *h;
	size_t i;
	const json_t *e;

	if (!json_is_integer(jp) || json_integer_value(jp) != (json_int_t)p) {
		*why = "hll: precision missing or different";
		return NULL;
	}
	if (json_is_string(dn)) {
		h = xcalloc(1, sizeof(*h) + hll_m(p));
		h->p = (uint8_t)p;
		h->dense = 1;
		if (b64_decode_exact(json_string_value(dn),
		    json_string_length(dn), regs(h), hll_m(p)) < 0) {
			free(h);
			*why = "hll: invalid dense registers";
			return NULL;
		}
		for (i = 0; i < hll_m(p); i++)
			if (regs(h)[i] > 64 - p + 1) {
				free(h);
				*why = "hll: register out of range";
				return NULL;
			}
		return h;
	}
	if (!json_is_array(sp)) {
		*why = "hll: neither sparse nor dense";
		return NULL;
	}
	h = hll_new(p);
	json_array_foreach(sp, i, e) {
		json_int_t v = json_integer_value(e);

		if (!json_is_integer(e) || v < 0 ||
		    ENTRY_IDX((uint64_t)v) >= hll_m(p) ||
		    ENTRY_RANK((uint64_t)v) < 1 ||
		    ENTRY_RANK((uint64_t)v) > 64 - p + 1 ||
		    (uint64_t)v > UINT32_MAX) {
			hll_free(h);
			*why = "hll: invalid sparse entry";
			return NULL;
		}
		h = set_reg(h, (uint32_t)ENTRY_IDX((uint64_t)v),
		    (unsigned)ENTRY_RANK((uint64_t)v));
	}
	return h;
}
