/*
 * kafka_env.c - the Kafka message envelope: encoding a consumed message
 * as one JSON object, and decoding an envelope back into bytes.  The
 * shape and its rules are in kafka.h and fs-consume(1).
 *
 * Both go through the record module: the envelope is written with rec.h's
 * writer (which escapes every string as rec_dump() does), an embedded key
 * or value copied verbatim only when rec_canonical() found it equal to
 * its own compact serialisation; it is read with recenv.h's decoder, the
 * one fs-backfill reads archived envelopes with.
 */
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "kafka.h"
#include "rec.h"
#include "recenv.h"
#include "xalloc.h"

#include "banned.h"

/* --- encoding -------------------------------------------------------- */

enum kafka_text kafka_value_text(const void *p, size_t n)
{
	if (p == NULL)
		return KAFKA_NULL;
	if (rec_canonical(p, n))
		return KAFKA_JSON;
	if (rec_utf8_text(p, n))
		return KAFKA_STRING;
	return KAFKA_BASE64;
}

/* Writes "name":bytes and, for base64, "name_encoding":"base64". */
static void put_bytes(struct rec_writer *w, struct buf *tmp,
    const char *name, const void *p, size_t n)
{
	rec_w_key(w, name);
	switch (kafka_value_text(p, n)) {
	case KAFKA_NULL:
		rec_w_null(w);
		break;
	case KAFKA_JSON:
		rec_w_raw(w, p, n);
		break;
	case KAFKA_STRING:
		rec_w_str(w, p, n);
		break;
	case KAFKA_BASE64:
		rec_env_put_base64(w, tmp, name, p, n);
		break;
	}
}

/* Headers as an object: each name once, where it first appears; a name
 * that repeats gets the array of its values in order. */
static void put_headers(struct rec_writer *w, struct buf *tmp,
    const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	size_t i, j, n;
	const char *name, *name2;
	const void *val, *v2;
	size_t len, l2;

	rec_w_key(w, "headers");
	rec_w_obj(w);
	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    h == NULL) {
		rec_w_end(w);
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
		rec_w_key(w, name);
		if (count == 1) {
			rec_env_put_header(w, tmp, val, len, false);
			continue;
		}
		rec_w_arr(w);
		for (j = i; j < n; j++) {
			rd_kafka_header_get_all(h, j, &name2, &val, &len);
			if (strcmp(name, name2) == 0)
				rec_env_put_header(w, tmp, val, len, false);
		}
		rec_w_end(w);
	}
	rec_w_end(w);
}

void kafka_env_encode(struct buf *b, const rd_kafka_message_t *m)
{
	struct buf tmp = BUF_INIT;      /* base64 text; rarely used */
	struct rec_writer w;
	rd_kafka_timestamp_type_t tstype;
	const char *topic = rd_kafka_topic_name(m->rkt);
	int64_t ts;

	rec_w_init(&w, b);
	rec_w_obj(&w);
	rec_w_key(&w, "topic");
	rec_w_str(&w, topic, strlen(topic));
	rec_w_key(&w, "partition");
	rec_w_i64(&w, m->partition);
	rec_w_key(&w, "offset");
	rec_w_i64(&w, m->offset);
	ts = rd_kafka_message_timestamp(m, &tstype);
	rec_w_key(&w, "timestamp");
	if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0) {
		rec_w_null(&w);
		rec_w_key(&w, "timestamp_type");
		rec_w_null(&w);
	} else {
		rec_w_i64(&w, ts);
		rec_w_key(&w, "timestamp_type");
		if (tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME)
			rec_w_str(&w, "log_append", 10);
		else
			rec_w_str(&w, "create", 6);
	}
	put_bytes(&w, &tmp, "key", m->key, m->key_len);
	put_headers(&w, &tmp, m);
	put_bytes(&w, &tmp, "value", m->payload, m->len);
	rec_w_end(&w);
	buf_free(&tmp);
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

static int header_add(void *ctx, const char *name, const void *p, size_t n,
    char *why)
{
	struct kafka_msg *m = ctx;

	(void)why;
	if (m->headers == NULL)
		m->headers = rd_kafka_headers_new(4);
	rd_kafka_header_add(m->headers, name, -1, p, p ? (ssize_t)n : 0);
	return 0;
}

int kafka_env_decode(const json_t *env, struct kafka_msg *m, char *why)
{
	struct rec_env e = { .key = &m->key, .value = &m->value };

	kafka_msg_reset(m);
	if (rec_env_decode(env, &e, header_add, m, why) < 0)
		return -1;
	m->topic = e.topic;
	if (e.partition >= 0)
		m->partition = e.partition;
	if (e.has_timestamp)
		m->timestamp = e.timestamp;
	m->has_key = e.has_key;
	m->has_value = e.has_value;
	return 0;
}
