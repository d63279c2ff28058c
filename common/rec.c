/* rec.c - records: parsing, emitting and splicing JSON (see rec.h). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "rec.h"
#include "recenv.h"
#include "banned.h"

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	default: return "object";
	}
}

/* No JSON text starts with these bytes: only a rejected line is looked
 * at, and the hot path pays nothing. */
bool rec_compressed(const char *line, size_t len, char *why)
{
	static const struct { const char *name, *magic, *tool; size_t n; }
	    fmt[] = {
		{ "gzip", "\x1f\x8b", "zcat", 2 },
		{ "zstd", "\x28\xb5\x2f\xfd", "zstdcat", 4 },
	};

	for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++)
		if (len >= fmt[i].n && memcmp(line, fmt[i].magic, fmt[i].n) == 0) {
			snprintf(why, REC_ERR_MAX, "compressed input (%s): use "
			    "fs-backfill or %s", fmt[i].name, fmt[i].tool);
			return true;
		}
	return false;
}

/* rec_parse() with jansson's decoding flags. */
static json_t *parse_flags(const char *line, size_t len, size_t flags,
    char *why)
{
	json_error_t err;
	json_t *v;

	if (memchr(line, '\0', len) != NULL) {
		if (rec_compressed(line, len, why))
			return NULL;
		snprintf(why, REC_ERR_MAX, "invalid JSON: column %zu: NUL byte",
		    (size_t)((const char *)memchr(line, '\0', len) - line) + 1);
		return NULL;
	}
	v = json_loadb(line, len, JSON_DECODE_ANY | flags, &err);
	if (v == NULL) {
		if (rec_compressed(line, len, why))
			return NULL;
		snprintf(why, REC_ERR_MAX, "invalid JSON: column %d: %s",
		    err.column, err.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		snprintf(why, REC_ERR_MAX, "not a JSON object: %s",
		    type_name(v));
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *rec_parse(const char *line, size_t len, char *why)
{
	return parse_flags(line, len, 0, why);
}

json_t *rec_parse_nul(const char *line, size_t len, char *why)
{
	return parse_flags(line, len, JSON_ALLOW_NUL, why);
}

static int append_cb(const char *p, size_t n, void *data)
{
	buf_append(data, p, n);
	return 0;
}

/* Bytes a string cannot hold unescaped, or that jansson must check
 * (controls, '"', '\\', DEL and non-ASCII). */
static const unsigned char needs_care[256] = {
	[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x7f ... 0xff] = 1
};

#define B8(c) (0x0101010101010101u * (c))

/* Nonzero when some byte of v is one needs_care[] marks: a byte below
 * 0x20, '"', '\\', DEL or above (each test is exact: see "Determine if
 * a word has a byte less than n" in Bit Twiddling Hacks). */
static inline uint64_t care8(uint64_t v)
{
	uint64_t q = v ^ B8('"'), s = v ^ B8('\\'), d = v ^ B8(0x7f);

	return (v | ((v - B8(0x20)) & ~v) | ((q - B8(1)) & ~q) |
	    ((s - B8(1)) & ~s) | ((d - B8(1)) & ~d)) & B8(0x80);
}

/* True when s needs no escaping in JSON: printable ASCII, no '"' or '\\'. */
static bool plain_ascii(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	uint64_t v;
	uint32_t h, t;

	if (n >= 8) {
		/* Whole words, the last one overlapping the one before. */
		for (; e - p > 8; p += 8) {
			memcpy(&v, p, 8);
			if (care8(v))
				return false;
		}
		memcpy(&v, e - 8, 8);
		return care8(v) == 0;
	}
	if (n >= 4) {
		/* The first and the last four bytes, as one word. */
		memcpy(&h, p, 4);
		memcpy(&t, e - 4, 4);
		return care8((uint64_t)h << 32 | t) == 0;
	}
	for (; p < e; p++)
		if (needs_care[*p])
			return false;
	return true;
}

/* memcpy() for the few bytes of a key or a short string, which would
 * spend more on the call than on the copy: fixed-size (inline) copies
 * that overlap, each within d[0..n) and s[0..n). */
static inline void copy_short(char *d, const char *s, size_t n)
{
	if (n >= 8 && n <= 16) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else if (n < 4) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	} else {
		memcpy(d, s, n);
	}
}

/* Appends pre (0: none), s[0..n) as a JSON string that plain_ascii()
 * found needs no escaping, and post (0: none), in one reservation. */
static void dump_plain_in(struct buf *b, char pre, const char *s, size_t n,
    char post)
{
	char *d;

	if (b->len + n + 5 > b->cap)
		buf_reserve(b, n + 4);
	d = b->data + b->len;
	if (pre)
		*d++ = pre;
	*d++ = '"';
	copy_short(d, s, n);
	d += n;
	*d++ = '"';
	if (post)
		*d++ = post;
	*d = '\0';
	b->len = (size_t)(d - b->data);
}

/* The same for any string: escaping (control bytes, quotes, UTF-8) is
 * jansson's job. */
static void dump_escaped_in(struct buf *b, char pre, const char *s, size_t n,
    char post)
{
	json_t *tmp;

	if (pre)
		buf_appendc(b, pre);
	tmp = json_stringn_nocheck(s, n);
	json_dump_callback(tmp, append_cb, b, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(tmp);
	if (post)
		buf_appendc(b, post);
}

/*
 * Appends s[0..n) as a JSON string, after the byte pre (0: none) and
 * followed by post (0: none): the writer's comma and colon go in the
 * same reservation on the usual plain path.
 */
static void dump_string_in(struct buf *b, char pre, const char *s, size_t n,
    char post)
{
	if (plain_ascii(s, n))
		dump_plain_in(b, pre, s, n, post);
	else
		dump_escaped_in(b, pre, s, n, post);
}

static void dump_string(struct buf *b, const char *s, size_t n)
{
	dump_string_in(b, 0, s, n, 0);
}

/* The powers of ten a double holds exactly. */
static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
 * What "%.15g" writes for d when 1e-4 <= |d| < 1e15 and that reads back
 * as d: its length in s[32] (not terminated); 0 when no decimal of at
 * most 15 significant digits reads back as d (it takes 16 or 17); -1
 * when d is out of that range (not tried).
 *
 * Without printf or strtod: a decimal D of at most 15 (DBL_DIG) digits
 * is what "%.15g" writes for the double nearest D (the rounding to 15
 * digits gives D back), so at most one such D reads back as d, and it
 * is c / 10^k for the first k that works, c the integer nearest
 * |d| * 10^k: that product is within 0.25 of c while c < 10^15 < 2^53.
 * c / 10^k, both exact doubles, is one correctly rounded division, the
 * value strtod() gives for the decimal (its own fast path).
 */
static int real15(char *s, double d)
{
	double a = d < 0 ? -d : d, t = 0;
	char digits[24], *e = digits + sizeof digits, *p;
	unsigned k;
	int64_t c = 0;
	size_t nd, n = 0;

	if (!(a >= 1e-4 && a < 1e15))
		return -1;
	for (k = 0;; k++) {
		if (k == sizeof pow10_exact / sizeof *pow10_exact)
			return 0;
		t = a * pow10_exact[k];
		if (t >= 1e15)
			return 0;
		c = (int64_t)(t + 0.5);
		if ((double)c / pow10_exact[k] == a)
			break;
	}
	p = e;
	do
		*--p = (char)('0' + c % 10);
	while ((c /= 10) > 0);
	nd = (size_t)(e - p);
	if (d < 0)
		s[n++] = '-';
	if (nd <= k) {                  /* 0.000ddd */
		s[n++] = '0';
		s[n++] = '.';
		for (size_t z = nd; z < k; z++)
			s[n++] = '0';
		memcpy(s + n, p, nd);
		return (int)(n + nd);
	}
	memcpy(s + n, p, nd - k);       /* the integer part */
	n += nd - k;
	if (k > 0) {
		s[n++] = '.';
		memcpy(s + n, e - k, k);
		n += k;
	}
	return (int)n;
}

/*
 * Reals are written with the fewest significant digits (15 to 17) that
 * read back as the same double: jansson always writes 17, which turns
 * 0.1 into 0.10000000000000001, and people read these features.
 * A real that is integral keeps a ".0" so it stays a real for readers
 * that distinguish (jansson does).  Most reals take real15(); the rest
 * snprintf(), whose 17 digits always read back.
 */
static void dump_real(struct buf *b, double d)
{
	char tmp[40];
	int prec, n;

	n = real15(tmp, d);
	if (n > 0) {
		buf_reserve(b, (size_t)n + 2);
		memcpy(b->data + b->len, tmp, (size_t)n);
		if (memchr(tmp, '.', (size_t)n) == NULL) {
			memcpy(b->data + b->len + n, ".0", 2);
			n += 2;
		}
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		return;
	}
	for (prec = n == 0 ? 16 : 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
		if (prec == 17 || strtod(tmp, NULL) == d)
			break;
	}
	buf_append(b, tmp, (size_t)n);
	if (strpbrk(tmp, ".eEn") == NULL)   /* n: nan/inf never get here */
		buf_append(b, ".0", 2);
}

void rec_dump(struct buf *b, const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i, n;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		buf_appendc(b, '{');
		n = 0;
		json_object_foreach((json_t *)v, key, m) {
			if (n++)
				buf_appendc(b, ',');
			dump_string(b, key, strlen(key));
			buf_appendc(b, ':');
			rec_dump(b, m);
		}
		buf_appendc(b, '}');
		break;
	case JSON_ARRAY:
		buf_appendc(b, '[');
		n = json_array_size(v);
		for (i = 0; i < n; i++) {
			if (i)
				buf_appendc(b, ',');
			rec_dump(b, json_array_get(v, i));
		}
		buf_appendc(b, ']');
		break;
	case JSON_STRING:
		dump_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_append_i64(b, json_integer_value(v));
		break;
	case JSON_REAL:
		dump_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_append(b, "true", 4);
		break;
	case JSON_FALSE:
		buf_append(b, "false", 5);
		break;
	case JSON_NULL:
		buf_append(b, "null", 4);
		break;
	}
}

void rec_emit(struct out *o, const json_t *obj)
{
	struct buf b = BUF_INIT;

	rec_dump(&b, obj);
	out_line(o, b.data, b.len);
	buf_free(&b);
}

/* --- splicing -------------------------------------------------------- */

size_t rec_splice_keep(const char *line, size_t len)
{
	size_t end = len;

	/* Drop the closing brace and the white space before it, so what
	 * is kept ends in '{' (an empty object) or in the last member. */
	while (end > 0 && line[end - 1] != '}')
		end--;
	if (end > 0)
		end--;
	while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t' ||
	    line[end - 1] == '\r' || line[end - 1] == '\n'))
		end--;
	return end;
}

void rec_splice_begin(struct buf *b, const char *line, size_t len)
{
	buf_reset(b);
	buf_append(b, line, rec_splice_keep(line, len));
}

static void splice_key(struct buf *b, const char *key)
{
	if (b->len > 0 && b->data[b->len - 1] != '{')
		buf_appendc(b, ',');
	dump_string(b, key, strlen(key));
	buf_appendc(b, ':');
}

void rec_splice_i64(struct buf *b, const char *key, int64_t v)
{
	splice_key(b, key);
	buf_append_i64(b, v);
}

void rec_splice_str(struct buf *b, const char *key, const char *v)
{
	splice_key(b, key);
	dump_string(b, v, strlen(v));
}

void rec_splice_value(struct buf *b, const char *key, const json_t *v)
{
	splice_key(b, key);
	rec_dump(b, v);
}

void rec_splice_raw(struct buf *b, const char *key, const char *json,
    size_t n)
{
	splice_key(b, key);
	buf_append(b, json, n);
}

void rec_splice_object(struct buf *b, const char *key)
{
	splice_key(b, key);
	buf_appendc(b, '{');
}

void rec_splice_end(struct buf *b)
{
	buf_appendc(b, '}');
}

/* --- writing member by member ---------------------------------------- */

void rec_w_init(struct rec_writer *w, struct buf *b)
{
	w->b = b;
	w->depth = 0;
	w->more = w->arr = 0;
	w->after_key = false;
}

/* Before a value or a key: ',' when the level has a member, else 0. */
static inline char w_sep_char(struct rec_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return 0;
	}
	if (w->more & 1u << w->depth)
		return ',';
	w->more |= 1u << w->depth;
	return 0;
}

/* Room in b for n more bytes and the NUL after them: where they go.
 * The writer's calls come per value, so the usual case is inline. */
static inline char *w_room(struct buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap)
		buf_reserve(b, n);
	return b->data + b->len;
}

/* The bytes up to d are written. */
static inline void w_done(struct buf *b, char *d)
{
	*d = '\0';
	b->len = (size_t)(d - b->data);
}

/* The separator and n bytes of p, in one reservation. */
static inline void w_put(struct rec_writer *w, const char *p, size_t n)
{
	char c = w_sep_char(w), *d = w_room(w->b, n + 1);

	if (c)
		*d++ = c;
	copy_short(d, p, n);
	w_done(w->b, d + n);
}

static void w_open(struct rec_writer *w, char c)
{
	if (w->depth >= REC_W_DEPTH)
		diag_fatal("rec_w: nesting deeper than %d", REC_W_DEPTH);
	w_put(w, &c, 1);
	w->depth++;
	w->more &= ~(1u << w->depth);
	if (c == '[')
		w->arr |= 1u << w->depth;
	else
		w->arr &= ~(1u << w->depth);
}

void rec_w_obj(struct rec_writer *w)
{
	w_open(w, '{');
}

void rec_w_arr(struct rec_writer *w)
{
	w_open(w, '[');
}

void rec_w_end(struct rec_writer *w)
{
	char *d;

	if (w->depth == 0)
		diag_fatal("rec_w: end without an open object or array");
	d = w_room(w->b, 1);
	*d++ = w->arr & 1u << w->depth ? ']' : '}';
	w_done(w->b, d);
	w->depth--;
}

void rec_w_key(struct rec_writer *w, const char *key)
{
	dump_string_in(w->b, w_sep_char(w), key, strlen(key), ':');
	w->after_key = true;
}

void rec_w_str(struct rec_writer *w, const char *p, size_t n)
{
	dump_string_in(w->b, w_sep_char(w), p, n, 0);
}

bool rec_w_utf8(struct rec_writer *w, const char *p, size_t n)
{
	if (plain_ascii(p, n)) {
		dump_plain_in(w->b, w_sep_char(w), p, n, 0);
		return true;
	}
	if (!rec_env_text(p, n, true))
		return false;
	dump_escaped_in(w->b, w_sep_char(w), p, n, 0);
	return true;
}

void rec_key_make(struct buf *b, const char *key)
{
	dump_string_in(b, 0, key, strlen(key), ':');
}

void rec_w_key_made(struct rec_writer *w, const char *made, size_t n)
{
	w_put(w, made, n);
	w->after_key = true;
}

void rec_w_i64(struct rec_writer *w, int64_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *p;

	/* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
	p = buf_u64_digits(e, v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	w_put(w, p, (size_t)(e - p));
}

void rec_w_null(struct rec_writer *w)
{
	w_put(w, "null", 4);
}

void rec_w_bool(struct rec_writer *w, bool v)
{
	if (v)
		w_put(w, "true", 4);
	else
		w_put(w, "false", 5);
}

void rec_w_real(struct rec_writer *w, double d)
{
	w_put(w, "", 0);
	dump_real(w->b, d);
}

void rec_w_raw(struct rec_writer *w, const char *json, size_t n)
{
	w_put(w, json, n);
}

void rec_w_value(struct rec_writer *w, const json_t *v)
{
	w_put(w, "", 0);
	rec_dump(w->b, v);
}

bool rec_canonical(const char *p, size_t n)
{
	struct buf tmp = BUF_INIT;
	json_error_t err;
	json_t *v;
	bool same;
	unsigned char c;

	if (n == 0)
		return false;
	if (rec_quick_canonical(p, n))
		return true;
	c = (unsigned char)p[0];
	if (!(c == '{' || c == '[' || c == '-' || (c >= '0' && c <= '9') ||
	    c == 't' || c == 'f'))
		return false;
	v = json_loadb(p, n, JSON_DECODE_ANY, &err);
	if (v == NULL)
		return false;
	rec_dump(&tmp, v);
	json_decref(v);
	same = tmp.len == n && memcmp(tmp.data, p, n) == 0;
	buf_free(&tmp);
	return same;
}

/* --- control records -------------------------------------------------- */

static int get_u64(const json_t *obj, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(obj, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

enum ctl_kind rec_control(const json_t *obj, struct ctl *c, char *why)
{
	json_t *t = json_object_get(obj, REC_CONTROL_KEY);
	const char *type;

	memset(c, 0, sizeof *c);
	if (t == NULL)
		return c->kind = CTL_NONE;
	if (!json_is_string(t)) {
		snprintf(why, REC_ERR_MAX, "control record: \"@fs\" is not a string");
		return c->kind = CTL_INVALID;
	}
	type = json_string_value(t);
	if (strcmp(type, "watermark") == 0) {
		json_t *ts = json_object_get(obj, "ts");

		if (!json_is_integer(ts)) {
			snprintf(why, REC_ERR_MAX, "watermark without integer \"ts\"");
			return c->kind = CTL_INVALID;
		}
		c->ts = json_integer_value(ts);
		return c->kind = CTL_WATERMARK;
	}
	if (strcmp(type, "barrier") == 0 || strcmp(type, "restore") == 0 ||
	    strcmp(type, "end") == 0) {
		/* restore 0: a checkpointing source starting fresh */
		if (get_u64(obj, "id", &c->id) < 0 ||
		    (c->id == 0 && type[0] != 'r')) {
			snprintf(why, REC_ERR_MAX, "%s without positive integer \"id\"",
			    type);
			return c->kind = CTL_INVALID;
		}
		return c->kind = type[0] == 'b' ? CTL_BARRIER :
		    type[0] == 'r' ? CTL_RESTORE : CTL_END;
	}
	return c->kind = CTL_OTHER;
}

bool rec_line_maybe_control(const char *line, size_t len)
{
	const char *end = line + len, *p;

	/* memchr is much faster than memmem, and most data lines hold
	 * neither '@' nor a backslash. */
	for (p = memchr(line, '@', len); p != NULL;
	    p = memchr(p + 1, '@', (size_t)(end - p - 1)))
		if (p > line && p[-1] == '"' && end - p >= 4 &&
		    memcmp(p + 1, "fs\"", 3) == 0)
			return true;
	/* The member name may be written with escapes ("\u0040fs",
	 * "@\u0066s"): any \u escape makes the line a candidate. */
	p = memchr(line, '\\', len);
	return p != NULL && memmem(p, (size_t)(end - p), "\\u", 2) != NULL;
}

/* A control record, unless o drops them (a terminal, --data-only). */
static void emit_ctl(struct out *o, const char *type, const char *member,
    json_t *v)
{
	struct buf b = BUF_INIT;
	json_t *obj;

	if (o->data_only) {
		json_decref(v);
		return;
	}
	obj = json_object();
	json_object_set_new(obj, REC_CONTROL_KEY, json_string(type));
	json_object_set_new(obj, member, v);
	rec_dump(&b, obj);
	out_control_line(o, b.data, b.len);
	buf_free(&b);
	json_decref(obj);
}

void rec_emit_watermark(struct out *o, int64_t ts)
{
	/* Noted also when dropped: it is the stage's watermark (-v). */
	progress_watermark(&o->prog, ts);
	emit_ctl(o, "watermark", "ts", json_integer(ts));
}

void rec_emit_barrier(struct out *o, uint64_t id)
{
	emit_ctl(o, "barrier", "id", json_integer((json_int_t)id));
}

void rec_emit_restore(struct out *o, uint64_t id)
{
	emit_ctl(o, "restore", "id", json_integer((json_int_t)id));
}

void rec_emit_end(struct out *o, uint64_t id)
{
	emit_ctl(o, "end", "id", json_integer((json_int_t)id));
}
