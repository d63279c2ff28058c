/*
 * avro_encode.c - JSON to Avro binary (the forms read are in schema.h).
 *
 * An error names where in the value it is ("at .user.age: expected
 * int, got string"); the path is built as the error unwinds.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "xalloc.h"

#include "avro_node.h"
#include "schema.h"

#include "banned.h"

struct writer {
	struct buf *b;
	char *why;
	char path[SCHEMA_ERR_MAX];
};

static const char *jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE: case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static int expected(struct writer *w, const char *what, const json_t *v)
{
	snprintf(w->why, SCHEMA_ERR_MAX, "expected %s, got %s", what, jtype(v));
	return -1;
}

/* Prefixes the error's path with one step (".name" or "[i]"). */
static int at(struct writer *w, const char *step)
{
	char tmp[SCHEMA_ERR_MAX];

	snprintf(tmp, sizeof(tmp), "%s%s", step, w->path);
	snprintf(w->path, sizeof(w->path), "%s", tmp);
	return -1;
}

static void put_long(struct buf *b, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	while (u >= 0x80) {
		buf_appendc(b, (char)(u | 0x80));
		u >>= 7;
	}
	buf_appendc(b, (char)u);
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	put_long(b, (int64_t)n);
	buf_append(b, p, n);
}

/* A decimal string ("-12.3") or integer as the scaled two's complement
 * big-endian integer, in the fewest bytes (or exactly size when > 0). */
static int decimal(struct writer *w, const struct avnode *n, const json_t *v,
    struct buf *out)
{
	char ibuf[32];
	const char *s = ibuf, *dot;
	size_t nd = 0, frac = 0, len;
	unsigned char mag[512] = { 0 };         /* little-endian magnitude */
	size_t mlen = 1;
	bool neg = false, started = false;

	if (json_is_integer(v))
		snprintf(ibuf, sizeof(ibuf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_string(v))
		s = json_string_value(v);
	else
		return expected(w, "a decimal string", v);
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	dot = strchr(s, '.');
	len = strlen(s);
	if (len == 0 || len > 400 || (dot && (dot == s || dot[1] == '\0')))
		goto bad;
	for (size_t i = 0; i < len; i++) {
		unsigned carry;

		if (s + i == dot)
			continue;
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		if (dot && s + i > dot)
			frac++;
		started = started || s[i] != '0';
		nd += started;
		carry = (unsigned)(s[i] - '0');
		for (size_t k = 0; k < mlen; k++) {
			unsigned cur = mag[k] * 10u + carry;

			mag[k] = (unsigned char)cur;
			carry = cur >> 8;
		}
		if (carry)
			mag[mlen++] = (unsigned char)carry;
	}
	if (frac > (size_t)n->scale) {
		snprintf(w->why, SCHEMA_ERR_MAX,
		    "decimal '%s' has more than %d decimal places", s, n->scale);
		return -1;
	}
	for (; frac < (size_t)n->scale; frac++) {
		unsigned carry = 0;

		nd += started;

		for (size_t k = 0; k < mlen; k++) {
			unsigned cur = mag[k] * 10u + carry;

			mag[k] = (unsigned char)cur;
			carry = cur >> 8;
		}
		if (carry)
			mag[mlen++] = (unsigned char)carry;
	}
	if (nd > (size_t)n->precision) {
		snprintf(w->why, SCHEMA_ERR_MAX,
		    "decimal has more than %d digits", n->precision);
		return -1;
	}
	/* Two's complement: room for the sign bit, then negate. */
	if (mag[mlen - 1] & 0x80)
		mag[mlen++] = 0;
	if (neg) {
		unsigned carry = 1;

		for (size_t k = 0; k < mlen; k++) {
			unsigned cur = (unsigned char)~mag[k] + carry;

			mag[k] = (unsigned char)cur;
			carry = cur >> 8;
		}
		while (mlen > 1 && mag[mlen - 1] == 0xff && (mag[mlen - 2] & 0x80))
			mlen--;
	} else {
		while (mlen > 1 && mag[mlen - 1] == 0 && !(mag[mlen - 2] & 0x80))
			mlen--;
	}
	if (n->kind == AVK_FIXED) {
		if (mlen > n->size) {
			snprintf(w->why, SCHEMA_ERR_MAX,
			    "decimal does not fit fixed(%zu)", n->size);
			return -1;
		}
		for (size_t k = mlen; k < n->size; k++)
			buf_appendc(out, neg ? (char)0xff : 0);
	} else {
		put_long(out, (int64_t)mlen);
	}
	for (size_t k = mlen; k-- > 0;)
		buf_appendc(out, (char)mag[k]);
	return 0;
bad:
	snprintf(w->why, SCHEMA_ERR_MAX, "not a decimal number: '%s'",
	    json_is_string(v) ? json_string_value(v) : ibuf);
	return -1;
}

/* "YYYY-MM-DD" to days since 1970-01-01 (H. Hinnant's days_from_civil). */
static int date(struct writer *w, const json_t *v, int64_t *days)
{
	int y, m, d, end = 0;
	int64_t era, yoe, doy, doe;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };

	if (json_is_integer(v)) {
		*days = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return expected(w, "a date \"YYYY-MM-DD\"", v);
	if (sscanf(json_string_value(v), "%4d-%2d-%2d%n", &y, &m, &d, &end) != 3 ||
	    json_string_value(v)[end] != '\0' || end != 10 || m < 1 || m > 12 ||
	    d < 1 || d > mdays[m - 1]) {
		snprintf(w->why, SCHEMA_ERR_MAX, "not a date YYYY-MM-DD: '%s'",
		    json_string_value(v));
		return -1;
	}
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*days = era * 146097 + doe - 719468;
	return 0;
}

static int value(struct writer *w, const struct avnode *n, const json_t *v,
    int depth);

static int number(struct writer *w, const struct avnode *n, const json_t *v)
{
	double d;
	const char *s = json_string_value(v);

	if (json_is_number(v))
		d = json_number_value(v);
	else if (s && strcmp(s, "NaN") == 0)
		d = NAN;
	else if (s && strcmp(s, "Infinity") == 0)
		d = INFINITY;
	else if (s && strcmp(s, "-Infinity") == 0)
		d = -INFINITY;
	else
		return expected(w, n->kind == AVK_FLOAT ? "float" : "double", v);
	if (n->kind == AVK_FLOAT) {
		float f = (float)d;
		uint32_t u;

		memcpy(&u, &f, 4);
		for (int i = 0; i < 4; i++)
			buf_appendc(w->b, (char)(u >> (8 * i)));
	} else {
		uint64_t u;

		memcpy(&u, &d, 8);
		for (int i = 0; i < 8; i++)
			buf_appendc(w->b, (char)(u >> (8 * i)));
	}
	return 0;
}

static int bytes_like(struct writer *w, const struct avnode *n,
    const json_t *v)
{
	struct buf tmp = BUF_INIT;
	int rc = 0;

	if (n->logical == AVL_DECIMAL)
		return decimal(w, n, v, w->b);
	if (!json_is_string(v))
		return expected(w, n->kind == AVK_STRING ? "string" :
		    "a base64 string", v);
	if (n->kind == AVK_STRING) {
		put_bytes(w->b, json_string_value(v), json_string_length(v));
		return 0;
	}
	if (base64_decode(&tmp, json_string_value(v),
	    json_string_length(v)) < 0) {
		snprintf(w->why, SCHEMA_ERR_MAX, "not base64: '%.64s'",
		    json_string_value(v));
		rc = -1;
	} else if (n->kind == AVK_FIXED && tmp.len != n->size) {
		snprintf(w->why, SCHEMA_ERR_MAX, "fixed(%zu) given %zu bytes",
		    n->size, tmp.len);
		rc = -1;
	} else if (n->kind == AVK_FIXED) {
		buf_append(w->b, tmp.data, tmp.len);
	} else {
		put_bytes(w->b, tmp.data ? tmp.data : "", tmp.len);
	}
	buf_free(&tmp);
	return rc;
}

static int record(struct writer *w, const struct avnode *n, const json_t *v,
    int depth)
{
	const char *key;
	json_t *m;
	char step[SCHEMA_ERR_MAX];

	if (!json_is_object(v))
		return expected(w, "object", v);
	json_object_foreach((json_t *)v, key, m) {
		size_t i;

		for (i = 0; i < n->n && strcmp(n->names[i], key) != 0; i++)
			;
		if (i == n->n) {
			snprintf(w->why, SCHEMA_ERR_MAX,
			    "'%s' is not a field of %s", key, n->name);
			return -1;
		}
	}
	for (size_t i = 0; i < n->n; i++) {
		const json_t *f = json_object_get(v, n->names[i]);
		const struct avnode *t = n->sub[i];

		snprintf(step, sizeof(step), ".%s", n->names[i]);
		if (f == NULL && n->defaults[i] == NULL) {
			snprintf(w->why, SCHEMA_ERR_MAX, "missing field");
			return at(w, step);
		}
		if (f == NULL) {
			/* A union's default is for its first branch. */
			f = n->defaults[i];
			if (t->kind == AVK_UNION) {
				put_long(w->b, 0);
				t = t->sub[0];
			}
		}
		if (value(w, t, f, depth + 1) < 0)
			return at(w, step);
	}
	return 0;
}

static int blocks(struct writer *w, const struct avnode *n, const json_t *v,
    int depth)
{
	char step[SCHEMA_ERR_MAX];
	const char *key;
	json_t *m;
	size_t i;

	if (n->kind == AVK_ARRAY) {
		if (!json_is_array(v))
			return expected(w, "array", v);
		if (json_array_size(v) > 0)
			put_long(w->b, (int64_t)json_array_size(v));
		json_array_foreach(v, i, m) {
			if (value(w, n->sub[0], m, depth + 1) < 0) {
				snprintf(step, sizeof(step), "[%zu]", i);
				return at(w, step);
			}
		}
	} else {
		if (!json_is_object(v))
			return expected(w, "object (a map)", v);
		if (json_object_size(v) > 0)
			put_long(w->b, (int64_t)json_object_size(v));
		json_object_foreach((json_t *)v, key, m) {
			put_bytes(w->b, key, strlen(key));
			if (value(w, n->sub[0], m, depth + 1) < 0) {
				snprintf(step, sizeof(step), ".%s", key);
				return at(w, step);
			}
		}
	}
	put_long(w->b, 0);
	return 0;
}

static int branch(struct writer *w, const struct avnode *n, const json_t *v,
    int depth)
{
	size_t mark = w->b->len;
	const char *key;
	json_t *inner;

	/* Wrapped: {"TYPE":value}. */
	if (json_is_object(v) && json_object_size(v) == 1) {
		json_object_foreach((json_t *)v, key, inner) {
			for (size_t i = 0; i < n->n; i++) {
				if (n->sub[i]->kind == AVK_NULL ||
				    strcmp(n->sub[i]->branch, key) != 0)
					continue;
				put_long(w->b, (int64_t)i);
				return value(w, n->sub[i], inner, depth + 1);
			}
		}
	}
	/* Not wrapped: the first branch that takes it. */
	for (size_t i = 0; i < n->n; i++) {
		put_long(w->b, (int64_t)i);
		if (value(w, n->sub[i], v, depth + 1) == 0)
			return 0;
		w->b->len = mark;
		w->path[0] = '\0';
	}
	snprintf(w->why, SCHEMA_ERR_MAX, "%s fits no branch of the union",
	    jtype(v));
	return -1;
}

static int value(struct writer *w, const struct avnode *n, const json_t *v,
    int depth)
{
	int64_t days = 0;

	if (depth > AVRO_MAX_DEPTH) {
		snprintf(w->why, SCHEMA_ERR_MAX, "nested deeper than 128 levels");
		return -1;
	}
	switch (n->kind) {
	case AVK_NULL:
		return json_is_null(v) ? 0 : expected(w, "null", v);
	case AVK_BOOLEAN:
		if (!json_is_boolean(v))
			return expected(w, "boolean", v);
		buf_appendc(w->b, json_is_true(v) ? 1 : 0);
		return 0;
	case AVK_INT:
		if (n->logical == AVL_DATE) {
			if (date(w, v, &days) < 0)
				return -1;
		} else if (!json_is_integer(v)) {
			return expected(w, "int", v);
		} else {
			days = json_integer_value(v);
		}
		if (days < INT32_MIN || days > INT32_MAX) {
			snprintf(w->why, SCHEMA_ERR_MAX, "%" PRId64
			    " is out of the int range", days);
			return -1;
		}
		put_long(w->b, days);
		return 0;
	case AVK_LONG:
		if (!json_is_integer(v))
			return expected(w, "long", v);
		put_long(w->b, json_integer_value(v));
		return 0;
	case AVK_FLOAT:
	case AVK_DOUBLE:
		return number(w, n, v);
	case AVK_BYTES:
	case AVK_STRING:
	case AVK_FIXED:
		return bytes_like(w, n, v);
	case AVK_ENUM:
		if (json_is_string(v))
			for (size_t i = 0; i < n->n; i++)
				if (strcmp(n->names[i], json_string_value(v)) == 0) {
					put_long(w->b, (int64_t)i);
					return 0;
				}
		if (!json_is_string(v))
			return expected(w, "an enum symbol", v);
		snprintf(w->why, SCHEMA_ERR_MAX, "'%s' is not a symbol of %s",
		    json_string_value(v), n->name);
		return -1;
	case AVK_ARRAY:
	case AVK_MAP:
		return blocks(w, n, v, depth);
	case AVK_RECORD:
		return record(w, n, v, depth);
	case AVK_UNION:
		return branch(w, n, v, depth);
	}
	return -1;
}

int avsch_encode(const struct avro_sch *s, const json_t *v, struct buf *b,
    char *why)
{
	struct writer w = { b, why, "" };
	size_t mark = b->len;
	char tmp[SCHEMA_ERR_MAX];

	if (value(&w, s->root, v, 0) == 0)
		return 0;
	b->len = mark;
	if (w.path[0] != '\0') {
		snprintf(tmp, sizeof(tmp), "at %s: %s", w.path, why);
		snprintf(why, SCHEMA_ERR_MAX, "%s", tmp);
	}
	return -1;
}

/* --- straight from the JSON text ---------------------------------------- */

/*
 * A scalar JSON token of a record's member: what avsch_encode_text()
 * reads without jansson.  Anything else (an object, an array, a string
 * with an escape or a byte outside printable ASCII, an integer of more
 * than 18 digits) sends the record to the tree path.
 */
enum tok { TOK_NULL, TOK_TRUE, TOK_FALSE, TOK_INT, TOK_REAL, TOK_STR };

struct token {
	enum tok t;
	const char *p;          /* TOK_STR: the text between the quotes; */
	size_t n;               /* TOK_REAL: the number's text */
	int64_t i;              /* TOK_INT */
};

#define TEXT_MAX_FIELDS 64

static const char *ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A string's text from after its opening quote; NULL when it is not
 * plain (escapes, controls, non-ASCII) or not closed. */
static const char *plain_string(const char *p, const char *e, size_t *n)
{
	const char *s = p;

	for (; p < e; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"') {
			*n = (size_t)(p - s);
			return p + 1;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\')
			return NULL;
	}
	return NULL;
}

/* One scalar token at p into *t; the end, or NULL to give up. */
static const char *scalar(const char *p, const char *e, struct token *t)
{
	const char *s = p, *digits;
	bool real = false;

	if (p == e)
		return NULL;
	if (*p == '"') {
		t->t = TOK_STR;
		t->p = p + 1;
		return plain_string(p + 1, e, &t->n);
	}
	if (e - p >= 4 && memcmp(p, "null", 4) == 0) {
		t->t = TOK_NULL;
		return p + 4;
	}
	if (e - p >= 4 && memcmp(p, "true", 4) == 0) {
		t->t = TOK_TRUE;
		return p + 4;
	}
	if (e - p >= 5 && memcmp(p, "false", 5) == 0) {
		t->t = TOK_FALSE;
		return p + 5;
	}
	/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	if (p < e && *p == '-')
		p++;
	digits = p;
	if (p < e && *p == '0')
		p++;
	else
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	if (p == digits)
		return NULL;
	if (p < e && *p == '.') {
		real = true;
		if (++p == e || *p < '0' || *p > '9')
			return NULL;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		real = true;
		if (++p < e && (*p == '+' || *p == '-'))
			p++;
		if (p == e || *p < '0' || *p > '9')
			return NULL;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	t->p = s;
	t->n = (size_t)(p - s);
	if (real) {
		t->t = TOK_REAL;
		return t->n < 64 ? p : NULL;
	}
	if (p - digits > 18)
		return NULL;    /* may be out of range: jansson decides */
	t->t = TOK_INT;
	t->i = 0;
	for (const char *d = digits; d < p; d++)
		t->i = t->i * 10 + (*d - '0');
	if (*s == '-')
		t->i = -t->i;
	return p;
}

/* Appends t as node n the way value() would: 0, -1 when value() would
 * refuse it, 1 when only value() can say. */
static int scalar_put(const struct avnode *n, const struct token *t,
    struct buf *b)
{
	double d;
	uint64_t u;

	switch (n->kind) {
	case AVK_NULL:
		return t->t == TOK_NULL ? 0 : -1;
	case AVK_BOOLEAN:
		if (t->t != TOK_TRUE && t->t != TOK_FALSE)
			return -1;
		buf_appendc(b, t->t == TOK_TRUE ? 1 : 0);
		return 0;
	case AVK_INT:
		if (n->logical != AVL_NONE)
			return 1;
		if (t->t != TOK_INT || t->i < INT32_MIN || t->i > INT32_MAX)
			return -1;
		put_long(b, t->i);
		return 0;
	case AVK_LONG:
		if (t->t != TOK_INT)
			return -1;
		put_long(b, t->i);
		return 0;
	case AVK_FLOAT:
	case AVK_DOUBLE:
		if (t->t == TOK_INT) {
			d = (double)t->i;
		} else if (t->t == TOK_REAL) {
			char tmp[64];

			memcpy(tmp, t->p, t->n);
			tmp[t->n] = '\0';
			d = strtod(tmp, NULL);
			if (isinf(d))
				return 1;       /* jansson refuses it */
		} else if (t->t == TOK_STR) {
			return 1;       /* "NaN" and the like: number() */
		} else {
			return -1;
		}
		if (n->kind == AVK_FLOAT) {
			float f = (float)d;
			uint32_t v;

			memcpy(&v, &f, 4);
			for (int i = 0; i < 4; i++)
				buf_appendc(b, (char)(v >> (8 * i)));
			return 0;
		}
		memcpy(&u, &d, 8);
		for (int i = 0; i < 8; i++)
			buf_appendc(b, (char)(u >> (8 * i)));
		return 0;
	case AVK_STRING:
		if (t->t != TOK_STR)
			return -1;
		put_bytes(b, t->p, t->n);
		return 0;
	case AVK_ENUM:
		if (t->t != TOK_STR)
			return -1;
		for (size_t i = 0; i < n->n; i++)
			if (strlen(n->names[i]) == t->n &&
			    memcmp(n->names[i], t->p, t->n) == 0) {
				put_long(b, (int64_t)i);
				return 0;
			}
		return -1;
	case AVK_RECORD:
	case AVK_ARRAY:
	case AVK_MAP:
		return -1;      /* a scalar is not an object or array */
	case AVK_BYTES:
	case AVK_FIXED:
	case AVK_UNION:
		return 1;
	}
	return 1;
}

/* A field: a scalar, or a union taking it unwrapped (branch()'s first
 * branch that takes it). */
static int field_put(const struct avnode *n, const struct token *t,
    struct buf *b)
{
	size_t mark = b->len;

	if (n->kind != AVK_UNION)
		return scalar_put(n, t, b);
	for (size_t i = 0; i < n->n; i++) {
		int rc;

		put_long(b, (int64_t)i);
		rc = scalar_put(n->sub[i], t, b);
		if (rc >= 0) {
			if (rc > 0)
				b->len = mark;
			return rc;
		}
		b->len = mark;
	}
	return -1;
}

int avsch_encode_text(const struct avro_sch *s, const char *line, size_t len,
    struct buf *b)
{
	const struct avnode *n = s->root;
	const char *p = line, *e = line + len;
	struct token toks[TEXT_MAX_FIELDS];
	bool seen[TEXT_MAX_FIELDS] = { false };
	size_t mark = b->len, nseen = 0;

	if (n->kind != AVK_RECORD || n->n > TEXT_MAX_FIELDS)
		return 1;
	p = ws(p, e);
	if (p == e || *p++ != '{')
		return 1;
	for (;;) {
		const char *key;
		size_t klen, i;

		p = ws(p, e);
		if (p == e || *p != '"')
			return 1;
		key = p + 1;
		if ((p = plain_string(key, e, &klen)) == NULL)
			return 1;
		for (i = 0; i < n->n; i++)
			if (strlen(n->names[i]) == klen &&
			    memcmp(n->names[i], key, klen) == 0)
				break;
		if (i == n->n || seen[i])
			return 1;       /* not a field, or given twice */
		p = ws(p, e);
		if (p == e || *p++ != ':')
			return 1;
		p = ws(p, e);
		if ((p = scalar(p, e, &toks[i])) == NULL)
			return 1;
		seen[i] = true;
		nseen++;
		p = ws(p, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		if (p < e && *p == '}')
			break;
		return 1;
	}
	if (ws(p + 1, e) != e || nseen != n->n)
		return 1;       /* trailing text, or a default to fill in */
	for (size_t i = 0; i < n->n; i++)
		if (field_put(n->sub[i], &toks[i], b) != 0) {
			b->len = mark;
			return 1;
		}
	return 0;
}
