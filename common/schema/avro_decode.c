/*
 * avro_decode.c - Avro binary to JSON (the choices are in schema.h).
 *
 * Every length and count is checked against the bytes left before
 * anything is allocated for it, so a corrupt or hostile payload is an
 * error, never a crash or a huge allocation.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "rec.h"
#include "recenv.h"
#include "xalloc.h"

#include "avro_node.h"
#include "schema.h"

#include "banned.h"

struct reader {
	const unsigned char *p, *end;
	char *why;
	struct buf tmp;
	bool plain;             /* unions unwrapped (avsch_decode_next) */
};

static json_t *fail(struct reader *r, const char *fmt, const char *what)
{
	snprintf(r->why, SCHEMA_ERR_MAX, fmt, what);
	return NULL;
}

static int read_long(struct reader *r, int64_t *v)
{
	uint64_t u = 0;
	unsigned shift = 0;

	for (;;) {
		unsigned char b;

		if (r->p == r->end) {
			snprintf(r->why, SCHEMA_ERR_MAX, "truncated");
			return -1;
		}
		b = *r->p++;
		if (shift == 63 && (b & 0x7e) != 0) {
			snprintf(r->why, SCHEMA_ERR_MAX, "varint overflows 64 bits");
			return -1;
		}
		u |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			break;
		shift += 7;
		if (shift > 63) {
			snprintf(r->why, SCHEMA_ERR_MAX, "varint longer than 10 bytes");
			return -1;
		}
	}
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

/* A length that must fit in the bytes left. */
static int read_len(struct reader *r, int64_t *n)
{
	if (read_long(r, n) < 0)
		return -1;
	if (*n < 0 || *n > r->end - r->p) {
		snprintf(r->why, SCHEMA_ERR_MAX, "length %" PRId64
		    " does not fit the %td bytes left", *n, r->end - r->p);
		return -1;
	}
	return 0;
}

/* A float or double: 4 or 8 bytes, little-endian. */
static int read_real(struct reader *r, enum avk kind, double *d)
{
	uint64_t u = 0;
	int len = kind == AVK_FLOAT ? 4 : 8;
	uint32_t u32;
	float f;

	if (r->end - r->p < len) {
		snprintf(r->why, SCHEMA_ERR_MAX, "truncated");
		return -1;
	}
	for (int i = len - 1; i >= 0; i--)
		u = u << 8 | r->p[i];
	r->p += len;
	if (kind == AVK_FLOAT) {
		u32 = (uint32_t)u;
		memcpy(&f, &u32, 4);
		*d = f;
	} else {
		memcpy(d, &u, 8);
	}
	return 0;
}

/* An int or long, an int checked for range. */
static int read_int(struct reader *r, enum avk kind, int64_t *v)
{
	if (read_long(r, v) < 0)
		return -1;
	if (kind == AVK_INT && (*v < INT32_MIN || *v > INT32_MAX)) {
		snprintf(r->why, SCHEMA_ERR_MAX, "int out of range");
		return -1;
	}
	return 0;
}

static int read_bool(struct reader *r, bool *b)
{
	if (r->p == r->end) {
		snprintf(r->why, SCHEMA_ERR_MAX, "truncated");
		return -1;
	}
	if (*r->p > 1) {
		snprintf(r->why, SCHEMA_ERR_MAX, "boolean byte is not 0 or 1");
		return -1;
	}
	*b = *r->p++;
	return 0;
}

static json_t *num(double d)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	return json_real(d);
}

/* Bytes as base64 (base64.h, as the envelope shows binary). */
static json_t *base64(struct reader *r, const unsigned char *p, size_t n)
{
	buf_reset(&r->tmp);
	base64_encode(&r->tmp, p, n);
	return json_stringn(r->tmp.data ? r->tmp.data : "", r->tmp.len);
}

/* A two's complement big-endian integer, scaled, as a decimal string. */
static json_t *decimal(struct reader *r, const unsigned char *p, size_t n,
    int scale)
{
	unsigned char *mag = xmalloc(n + 1);
	bool neg = n > 0 && (p[0] & 0x80);
	char *digits = xmalloc(n * 3 + (size_t)scale + 2);
	size_t nd = 0, i;
	json_t *v;

	/* The magnitude: negate when negative. */
	for (i = 0; i < n; i++)
		mag[i] = neg ? (unsigned char)~p[i] : p[i];
	if (neg)
		for (i = n; i-- > 0;)
			if (++mag[i] != 0)
				break;
	/* Repeated division by 10, least significant digit first. */
	for (;;) {
		unsigned rem = 0;
		bool nonzero = false;

		for (i = 0; i < n; i++) {
			unsigned cur = rem << 8 | mag[i];

			mag[i] = (unsigned char)(cur / 10);
			rem = cur % 10;
			nonzero = nonzero || mag[i] != 0;
		}
		digits[nd++] = (char)('0' + rem);
		if (!nonzero)
			break;
	}
	buf_reset(&r->tmp);
	if (neg)
		buf_appendc(&r->tmp, '-');
	while (nd <= (size_t)scale)
		digits[nd++] = '0';
	for (i = nd; i-- > 0;) {
		buf_appendc(&r->tmp, digits[i]);
		if (i == (size_t)scale && scale > 0)
			buf_appendc(&r->tmp, '.');
	}
	v = json_stringn(r->tmp.data, r->tmp.len);
	free(digits);
	free(mag);
	return v;
}

/* Days since 1970-01-01 as YYYY-MM-DD (H. Hinnant's civil_from_days). */
static json_t *date(int64_t days)
{
	int64_t z = days + 719468, era, doe, yoe, y, doy, mp, d, m;
	char s[32];

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(s, sizeof(s), "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y, m, d);
	return json_string(s);
}

static json_t *value(struct reader *r, const struct avnode *n, int depth);

static json_t *blocks(struct reader *r, const struct avnode *n, int depth)
{
	bool arr = n->kind == AVK_ARRAY;
	json_t *out = arr ? json_array() : json_object();
	int64_t count, size;

	for (;;) {
		if (read_long(r, &count) < 0)
			goto bad;
		if (count == 0)
			return out;
		if (count == INT64_MIN) {
			snprintf(r->why, SCHEMA_ERR_MAX, "block count out of range");
			goto bad;
		}
		if (count < 0) {
			count = -count;
			if (read_long(r, &size) < 0)
				goto bad;
		}
		if (count > r->end - r->p && !(arr && n->sub[0]->zero)) {
			snprintf(r->why, SCHEMA_ERR_MAX, "count %" PRId64
			    " does not fit the %td bytes left", count, r->end - r->p);
			goto bad;
		}
		if (arr && count > AVRO_MAX_EMPTY - (int64_t)json_array_size(out)) {
			snprintf(r->why, SCHEMA_ERR_MAX, "more than %d items",
			    AVRO_MAX_EMPTY);
			goto bad;
		}
		for (int64_t i = 0; i < count; i++) {
			json_t *k = NULL, *v;

			if (!arr) {
				int64_t len;

				if (read_len(r, &len) < 0)
					goto bad;
				k = json_stringn((const char *)r->p, (size_t)len);
				if (k == NULL) {
					fail(r, "map key is not UTF-8%s", "");
					goto bad;
				}
				r->p += len;
			}
			if ((v = value(r, n->sub[0], depth + 1)) == NULL) {
				json_decref(k);
				goto bad;
			}
			if (arr)
				json_array_append_new(out, v);
			else
				json_object_set_new(out, json_string_value(k), v);
			json_decref(k);
		}
	}
bad:
	json_decref(out);
	return NULL;
}

static json_t *record(struct reader *r, const struct avnode *n, int depth)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n->n; i++) {
		json_t *v = value(r, n->sub[i], depth + 1);

		if (v == NULL) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, n->names[i], v);
	}
	return o;
}

static json_t *bytes_like(struct reader *r, const struct avnode *n)
{
	const unsigned char *p;
	int64_t len;

	if (n->kind == AVK_FIXED) {
		if ((size_t)(r->end - r->p) < n->size)
			return fail(r, "truncated%s", "");
		len = (int64_t)n->size;
	} else if (read_len(r, &len) < 0) {
		return NULL;
	}
	p = r->p;
	r->p += len;
	if (n->kind == AVK_STRING) {
		json_t *s = json_stringn((const char *)p, (size_t)len);

		return s ? s : fail(r, "string is not UTF-8%s", "");
	}
	if (n->logical == AVL_DECIMAL)
		return decimal(r, p, (size_t)len, n->scale);
	return base64(r, p, (size_t)len);
}

static json_t *value(struct reader *r, const struct avnode *n, int depth)
{
	int64_t v;
	double d;
	bool truth;

	if (depth > AVRO_MAX_DEPTH)
		return fail(r, "nested deeper than %s levels", "128");
	switch (n->kind) {
	case AVK_NULL:
		return json_null();
	case AVK_BOOLEAN:
		return read_bool(r, &truth) < 0 ? NULL : json_boolean(truth);
	case AVK_INT:
	case AVK_LONG:
		if (read_int(r, n->kind, &v) < 0)
			return NULL;
		if (n->logical == AVL_DATE)
			return date(v);
		return json_integer(v);
	case AVK_FLOAT:
	case AVK_DOUBLE:
		return read_real(r, n->kind, &d) < 0 ? NULL : num(d);
	case AVK_BYTES:
	case AVK_STRING:
	case AVK_FIXED:
		return bytes_like(r, n);
	case AVK_ENUM:
		if (read_long(r, &v) < 0)
			return NULL;
		if (v < 0 || (uint64_t)v >= n->n)
			return fail(r, "enum index out of range%s", "");
		return json_string(n->names[v]);
	case AVK_ARRAY:
	case AVK_MAP:
		return blocks(r, n, depth);
	case AVK_RECORD:
		return record(r, n, depth);
	case AVK_UNION: {
		json_t *b, *o;

		if (read_long(r, &v) < 0)
			return NULL;
		if (v < 0 || (uint64_t)v >= n->n)
			return fail(r, "union index out of range%s", "");
		if ((b = value(r, n->sub[v], depth + 1)) == NULL)
			return NULL;
		if (n->sub[v]->kind == AVK_NULL || r->plain)
			return b;
		o = json_object();
		json_object_set_new(o, n->sub[v]->branch, b);
		return o;
	}
	}
	return fail(r, "unknown type%s", "");
}

/* --- straight to text --------------------------------------------------- */

static int wvalue(struct reader *r, const struct avnode *n, int depth,
    struct rec_writer *w);

/* A type the text path leaves to value(): decoded, then written. */
static int wtree(struct reader *r, const struct avnode *n, int depth,
    struct rec_writer *w)
{
	json_t *v = value(r, n, depth);

	if (v == NULL)
		return -1;
	rec_w_value(w, v);
	json_decref(v);
	return 0;
}

static int wdouble(struct rec_writer *w, double d)
{
	if (isnan(d))
		rec_w_str(w, "NaN", 3);
	else if (isinf(d))
		rec_w_str(w, d > 0 ? "Infinity" : "-Infinity", d > 0 ? 8 : 9);
	else
		rec_w_real(w, d);
	return 0;
}

static int wstring(struct reader *r, struct rec_writer *w)
{
	int64_t len;

	if (read_len(r, &len) < 0)
		return -1;
	/* jansson's json_stringn() takes NUL bytes; so do we. */
	if (!rec_w_utf8(w, (const char *)r->p, (size_t)len)) {
		fail(r, "string is not UTF-8%s", "");
		return -1;
	}
	r->p += len;
	return 0;
}

static int wrecord(struct reader *r, const struct avnode *n, int depth,
    struct rec_writer *w)
{
	rec_w_obj(w);
	for (size_t i = 0; i < n->n; i++) {
		rec_w_key_made(w, n->keys.data + n->key_off[i],
		    n->key_off[i + 1] - n->key_off[i]);
		if (wvalue(r, n->sub[i], depth + 1, w) < 0)
			return -1;
	}
	rec_w_end(w);
	return 0;
}

static int wunion(struct reader *r, const struct avnode *n, int depth,
    struct rec_writer *w)
{
	const struct avnode *b;
	int64_t v;

	if (read_long(r, &v) < 0)
		return -1;
	if (v < 0 || (uint64_t)v >= n->n) {
		fail(r, "union index out of range%s", "");
		return -1;
	}
	b = n->sub[v];
	if (b->kind == AVK_NULL) {
		rec_w_null(w);
		return 0;
	}
	rec_w_obj(w);
	rec_w_key_made(w, b->branch_key.data, b->branch_key.len);
	if (wvalue(r, b, depth + 1, w) < 0)
		return -1;
	rec_w_end(w);
	return 0;
}

static int wvalue(struct reader *r, const struct avnode *n, int depth,
    struct rec_writer *w)
{
	int64_t v;
	double d;
	bool b;

	switch (n->kind) {
	case AVK_NULL:
		rec_w_null(w);
		return 0;
	case AVK_BOOLEAN:
		if (read_bool(r, &b) < 0)
			return -1;
		rec_w_bool(w, b);
		return 0;
	case AVK_INT:
	case AVK_LONG:
		if (n->logical == AVL_DATE)
			return wtree(r, n, depth, w);
		if (read_int(r, n->kind, &v) < 0)
			return -1;
		rec_w_i64(w, v);
		return 0;
	case AVK_FLOAT:
	case AVK_DOUBLE:
		if (read_real(r, n->kind, &d) < 0)
			return -1;
		return wdouble(w, d);
	case AVK_STRING:
		return wstring(r, w);
	default:
		break;
	}
	/* rec_writer nests REC_W_DEPTH deep; deeper values take the tree.
	 * (A value at depth d is inside d levels of the writer, so only
	 * the writer's limit can be reached here, by what nests.) */
	if (w->depth + 2 >= REC_W_DEPTH || depth > AVRO_MAX_DEPTH)
		return wtree(r, n, depth, w);
	if (n->kind == AVK_RECORD)
		return wrecord(r, n, depth, w);
	if (n->kind == AVK_UNION)
		return wunion(r, n, depth, w);
	return wtree(r, n, depth, w);
}

bool avsch_root_is_record(const struct avro_sch *s)
{
	return s->root->kind == AVK_RECORD;
}

int avsch_decode_to(const struct avro_sch *s, const void *p, size_t n,
    struct rec_writer *w, char *why)
{
	struct reader r = { p, (const unsigned char *)p + n, why, BUF_INIT };
	int rc;

	if (n == 0)
		r.p = r.end = (const unsigned char *)"";
	rc = wvalue(&r, s->root, 0, w);
	if (rc == 0 && r.p != r.end) {
		snprintf(why, SCHEMA_ERR_MAX, "%td bytes after the value",
		    r.end - r.p);
		rc = -1;
	}
	buf_free(&r.tmp);
	return rc;
}

json_t *avsch_decode(const struct avro_sch *s, const void *p, size_t n,
    char *why)
{
	struct reader r = { p, (const unsigned char *)p + n, why, BUF_INIT,
		false };
	json_t *v;

	if (n == 0)
		r.p = r.end = (const unsigned char *)"";
	v = value(&r, s->root, 0);
	if (v != NULL && r.p != r.end) {
		snprintf(why, SCHEMA_ERR_MAX, "%td bytes after the value",
		    r.end - r.p);
		json_decref(v);
		v = NULL;
	}
	buf_free(&r.tmp);
	return v;
}

json_t *avsch_decode_next(const struct avro_sch *s, const unsigned char **p,
    const unsigned char *end, bool plain, char *why)
{
	struct reader r = { *p, end, why, BUF_INIT, plain };
	json_t *v = value(&r, s->root, 0);

	buf_free(&r.tmp);
	if (v != NULL)
		*p = r.p;
	return v;
}
