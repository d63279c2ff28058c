/* rec.c - records: parsing, emitting and splicing JSON (see rec.h). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
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

json_t *rec_parse(const char *line, size_t len, char *why)
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
	v = json_loadb(line, len, JSON_DECODE_ANY, &err);
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

static int append_cb(const char *p, size_t n, void *data)
{
	buf_append(data, p, n);
	return 0;
}

/* True when s needs no escaping in JSON: printable ASCII, no '"' or '\\'. */
static bool plain_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return false;
	}
	return true;
}

static void dump_string(struct buf *b, const char *s, size_t n)
{
	json_t *tmp;

	if (plain_ascii(s, n)) {
		buf_reserve(b, n + 2);
		buf_appendc(b, '"');
		buf_append(b, s, n);
		buf_appendc(b, '"');
		return;
	}
	/* Escaping (control bytes, quotes, UTF-8) is jansson's job. */
	tmp = json_stringn_nocheck(s, n);
	json_dump_callback(tmp, append_cb, b, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(tmp);
}

/*
 * Reals are written with the fewest significant digits (15 to 17) that
 * read back as the same double: jansson always writes 17, which turns
 * 0.1 into 0.10000000000000001, and people read these features.
 * A real that is integral keeps a ".0" so it stays a real for readers
 * that distinguish (jansson does).
 */
static void dump_real(struct buf *b, double d)
{
	char tmp[40];
	int prec, n = 0;

	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
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

void rec_splice_begin(struct buf *b, const char *line, size_t len)
{
	size_t end = len;

	/* Drop the closing brace and the white space before it, so the
	 * buffer ends in '{' (an empty object) or in the last member. */
	while (end > 0 && line[end - 1] != '}')
		end--;
	if (end > 0)
		end--;
	while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t' ||
	    line[end - 1] == '\r' || line[end - 1] == '\n'))
		end--;
	buf_reset(b);
	buf_append(b, line, end);
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

void rec_splice_object(struct buf *b, const char *key)
{
	splice_key(b, key);
	buf_appendc(b, '{');
}

void rec_splice_end(struct buf *b)
{
	buf_appendc(b, '}');
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
