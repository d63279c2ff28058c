/*
 * kafka_env.c - the Kafka message envelope: encoding a consumed message
 * as one JSON object, and decoding an envelope back into bytes.  The
 * shape and its rules are in kafka.h and fs-consume(1).
 *
 * Encoding writes the envelope's fixed members directly and lets
 * jansson (rec_dump) escape every string, so the result is valid JSON
 * whatever the bytes; an embedded key or value is copied verbatim only
 * after it was parsed and found equal to its own compact serialisation.
 */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "diag.h"
#include "kafka.h"
#include "rec.h"
#include "xalloc.h"

#include "banned.h"

/* --- bytes ----------------------------------------------------------- */

bool kafka_utf8_text(const void *vp, size_t n)
{
	const unsigned char *p = vp, *e = p + n;

	while (p < e) {
		unsigned c = *p;

		if (c >= 0x01 && c < 0x80) {
			p++;
			continue;
		}
		if (c == 0)
			return false;
		if (c >= 0xc2 && c <= 0xdf) {
			if (e - p < 2 || (p[1] & 0xc0) != 0x80)
				return false;
			p += 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			if (e - p < 3 || (p[1] & 0xc0) != 0x80 ||
			    (p[2] & 0xc0) != 0x80)
				return false;
			if (c == 0xe0 && p[1] < 0xa0)
				return false;   /* overlong */
			if (c == 0xed && p[1] >= 0xa0)
				return false;   /* surrogate */
			p += 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			if (e - p < 4 || (p[1] & 0xc0) != 0x80 ||
			    (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
				return false;
			if (c == 0xf0 && p[1] < 0x90)
				return false;   /* overlong */
			if (c == 0xf4 && p[1] >= 0x90)
				return false;   /* above U+10FFFF */
			p += 4;
		} else {
			return false;
		}
	}
	return true;
}

/* --- encoding -------------------------------------------------------- */

/* A JSON string of p[0..n), escaped by jansson. */
static void append_jstring(struct buf *b, const char *p, size_t n)
{
	json_t *s = json_stringn_nocheck(p, n);

	if (s == NULL)
		diag_fatal("out of memory");
	rec_dump(b, s);
	json_decref(s);
}

/* True when p[0..n) is an object, array, number or boolean in exactly
 * the bytes rec_dump() would write for it. */
static bool canonical_json(const char *p, size_t n)
{
	static struct buf tmp;
	json_error_t err;
	json_t *v;
	bool same;
	unsigned char c;

	if (n == 0)
		return false;
	if (kafka_json_quick_canonical(p, n))
		return true;
	c = (unsigned char)p[0];
	if (!(c == '{' || c == '[' || c == '-' || (c >= '0' && c <= '9') ||
	    c == 't' || c == 'f'))
		return false;
	v = json_loadb(p, n, JSON_DECODE_ANY, &err);
	if (v == NULL)
		return false;
	buf_reset(&tmp);
	rec_dump(&tmp, v);
	json_decref(v);
	same = tmp.len == n && memcmp(tmp.data, p, n) == 0;
	if (tmp.cap > 1 << 20) {
		buf_free(&tmp);     /* one huge value must not pin its memory */
	}
	return same;
}

enum kafka_text kafka_value_text(const void *p, size_t n)
{
	if (p == NULL)
		return KAFKA_NULL;
	if (canonical_json(p, n))
		return KAFKA_JSON;
	if (kafka_utf8_text(p, n))
		return KAFKA_STRING;
	return KAFKA_BASE64;
}

/* Appends "name":bytes and, for base64, ,"name_encoding":"base64". */
static void append_bytes(struct buf *b, const char *name, const void *p,
    size_t n)
{
	buf_appendc(b, '"');
	buf_appends(b, name);
	buf_appends(b, "\":");
	switch (kafka_value_text(p, n)) {
	case KAFKA_NULL:
		buf_appends(b, "null");
		break;
	case KAFKA_JSON:
		buf_append(b, p, n);
		break;
	case KAFKA_STRING:
		append_jstring(b, p, n);
		break;
	case KAFKA_BASE64:
		buf_appendc(b, '"');
		base64_encode(b, p, n);
		buf_appends(b, "\",\"");
		buf_appends(b, name);
		buf_appends(b, "_encoding\":\"base64\"");
		break;
	}
}

static void append_header_value(struct buf *b, const void *p, size_t n)
{
	if (p == NULL) {
		buf_appends(b, "null");
	} else if (kafka_utf8_text(p, n)) {
		append_jstring(b, p, n);
	} else {
		buf_appends(b, "{\"base64\":\"");
		base64_encode(b, p, n);
		buf_appends(b, "\"}");
	}
}

/* Headers as an object: each name once, where it first appears; a name
 * that repeats gets the array of its values in order. */
static void append_headers(struct buf *b, const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	size_t i, j, n;
	const char *name, *name2;
	const void *val, *v2;
	size_t len, l2;

	buf_appends(b, "\"headers\":{");
	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    h == NULL) {
		buf_appendc(b, '}');
		return;
	}
	n = rd_kafka_header_cnt(h);
	for (i = 0; i < n; i++) {
		size_t count = 0;
		bool seen = false;

		if (rd_kafka_header_get_all(h, i, &name, &val, &len))
			break;
		for (j = 0; j < i && !seen; j++) {
			rd_kafka_header_get_all(h, j, &name2, &v2, &l2);
			seen = strcmp(name, name2) == 0;
		}
		if (seen)
			continue;
		for (j = i; j < n; j++) {
			rd_kafka_header_get_all(h, j, &name2, &v2, &l2);
			count += strcmp(name, name2) == 0;
		}
		if (b->data[b->len - 1] != '{')
			buf_appendc(b, ',');
		append_jstring(b, name, strlen(name));
		buf_appendc(b, ':');
		if (count == 1) {
			append_header_value(b, val, len);
			continue;
		}
		buf_appendc(b, '[');
		for (j = i; j < n; j++) {
			rd_kafka_header_get_all(h, j, &name2, &val, &len);
			if (strcmp(name, name2) != 0)
				continue;
			if (b->data[b->len - 1] != '[')
				buf_appendc(b, ',');
			append_header_value(b, val, len);
		}
		buf_appendc(b, ']');
	}
	buf_appendc(b, '}');
}

void kafka_env_encode(struct buf *b, const rd_kafka_message_t *m)
{
	static const rd_kafka_topic_t *last_rkt;
	static struct buf topic;        /* the escaped name of last_rkt */
	rd_kafka_timestamp_type_t tstype;
	int64_t ts;

	if (m->rkt != last_rkt || topic.len == 0) {
		const char *name = rd_kafka_topic_name(m->rkt);

		buf_reset(&topic);
		append_jstring(&topic, name, strlen(name));
		last_rkt = m->rkt;
	}
	buf_appends(b, "{\"topic\":");
	buf_append(b, topic.data, topic.len);
	buf_appends(b, ",\"partition\":");
	buf_append_i64(b, m->partition);
	buf_appends(b, ",\"offset\":");
	buf_append_i64(b, m->offset);
	ts = rd_kafka_message_timestamp(m, &tstype);
	if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0) {
		buf_appends(b, ",\"timestamp\":null,\"timestamp_type\":null,");
	} else {
		buf_appends(b, ",\"timestamp\":");
		buf_append_i64(b, ts);
		buf_appends(b, tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ?
		    ",\"timestamp_type\":\"log_append\"," :
		    ",\"timestamp_type\":\"create\",");
	}
	append_bytes(b, "key", m->key, m->key_len);
	buf_appendc(b, ',');
	append_headers(b, m);
	buf_appendc(b, ',');
	append_bytes(b, "value", m->payload, m->len);
	buf_appendc(b, '}');
}

/* --- decoding -------------------------------------------------------- */

void kafka_msg_init(struct kafka_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->partition = RD_KAFKA_PARTITION_UA;
}

void kafka_msg_reset(struct kafka_msg *m)
{
	m->topic = NULL;
	m->partition = RD_KAFKA_PARTITION_UA;
	m->timestamp = 0;
	m->has_key = m->has_value = false;
	m->value_ptr = NULL;
	m->value_len = 0;
	buf_reset(&m->key);
	buf_reset(&m->value);
	if (m->headers != NULL)
		rd_kafka_headers_destroy(m->headers);
	m->headers = NULL;
}

void kafka_msg_free(struct kafka_msg *m)
{
	kafka_msg_reset(m);
	buf_free(&m->key);
	buf_free(&m->value);
}

void kafka_json_bytes(struct buf *b, const json_t *v)
{
	if (json_is_string(v))
		buf_append(b, json_string_value(v), json_string_length(v));
	else
		rec_dump(b, v);
}

#define WHY(...) (snprintf(why, REC_ERR_MAX, __VA_ARGS__), -1)

/* Decodes member name (key or value) and its _encoding. */
static int decode_bytes(const json_t *env, const char *name, bool *has,
    struct buf *out, char *why)
{
	char encname[32];
	const json_t *v = json_object_get(env, name), *enc;

	snprintf(encname, sizeof(encname), "%s_encoding", name);
	enc = json_object_get(env, encname);
	*has = v != NULL && !json_is_null(v);
	if (!*has)
		return 0;
	if (enc != NULL && !json_is_null(enc)) {
		if (!json_is_string(enc) ||
		    strcmp(json_string_value(enc), "base64") != 0)
			return WHY("envelope: '%s' must be \"base64\"", encname);
		if (!json_is_string(v))
			return WHY("envelope: base64 '%s' is not a string", name);
		if (base64_decode(out, json_string_value(v),
		    json_string_length(v)) < 0)
			return WHY("envelope: '%s' is not valid base64", name);
		return 0;
	}
	kafka_json_bytes(out, v);
	return 0;
}

static int header_add(rd_kafka_headers_t *h, const char *name,
    const json_t *v, char *why)
{
	static struct buf tmp;

	if (json_is_null(v)) {
		rd_kafka_header_add(h, name, -1, NULL, 0);
		return 0;
	}
	if (json_is_string(v)) {
		rd_kafka_header_add(h, name, -1, json_string_value(v),
		    (ssize_t)json_string_length(v));
		return 0;
	}
	if (json_is_object(v) && json_object_size(v) == 1 &&
	    json_is_string(json_object_get(v, "base64"))) {
		const json_t *s = json_object_get(v, "base64");

		buf_reset(&tmp);
		if (base64_decode(&tmp, json_string_value(s),
		    json_string_length(s)) < 0)
			return WHY("envelope: header '%s': not valid base64", name);
		rd_kafka_header_add(h, name, -1, tmp.data, (ssize_t)tmp.len);
		return 0;
	}
	return WHY("envelope: header '%s': expected a string, null or "
	    "{\"base64\":...}", name);
}

int kafka_env_decode(const json_t *env, struct kafka_msg *m, char *why)
{
	const json_t *v;
	const char *name;
	json_t *hv;

	kafka_msg_reset(m);
	v = json_object_get(env, "topic");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return WHY("envelope: 'topic' is not a string");
		m->topic = json_string_value(v);
	}
	v = json_object_get(env, "partition");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT32_MAX)
			return WHY("envelope: 'partition' is not a partition number");
		m->partition = (int32_t)json_integer_value(v);
	}
	v = json_object_get(env, "timestamp");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return WHY("envelope: 'timestamp' is not epoch milliseconds");
		m->timestamp = json_integer_value(v);
	}
	if (decode_bytes(env, "key", &m->has_key, &m->key, why) < 0 ||
	    decode_bytes(env, "value", &m->has_value, &m->value, why) < 0)
		return -1;
	v = json_object_get(env, "headers");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return WHY("envelope: 'headers' is not an object");
	if (json_object_size(v) == 0)
		return 0;
	m->headers = rd_kafka_headers_new(json_object_size(v));
	json_object_foreach((json_t *)v, name, hv) {
		if (json_is_array(hv)) {
			size_t i;
			json_t *e;

			json_array_foreach(hv, i, e) {
				if (header_add(m->headers, name, e, why) < 0)
					return -1;
			}
		} else if (header_add(m->headers, name, hv, why) < 0) {
			return -1;
		}
	}
	return 0;
}
