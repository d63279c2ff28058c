/*
 * kafka_fmt.c - kcat's one-line output for fs-consume: -f format
 * strings, -K's key delimiter and -J's JSON envelope, as kcat 1.7
 * defines them (see kafka.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "rec.h"
#include "recenv.h"
#include "xalloc.h"

#include "banned.h"

void kafka_unescape(struct buf *b, const char *s, size_t n)
{
	const char *e = s + n;

	while (s < e) {
		const char *bs = memchr(s, '\\', (size_t)(e - s));
		char num[8];
		size_t k;
		int base = 10;

		if (bs == NULL || bs + 1 == e) {
			buf_append(b, s, (size_t)(e - s));
			return;
		}
		buf_append(b, s, (size_t)(bs - s));
		s = bs + 1;
		switch (*s) {
		case 'n': buf_appendc(b, '\n'); s++; continue;
		case 'r': buf_appendc(b, '\r'); s++; continue;
		case 't': buf_appendc(b, '\t'); s++; continue;
		case 'x':
			base = 16;
			s++;
			break;
		default:
			if (*s < '0' || *s > '9') {
				buf_appendc(b, *s++);
				continue;
			}
			base = *s == '0' ? 8 : 10;
			break;
		}
		/* The digits strtoul would read, at most a few. */
		for (k = 0; k < sizeof(num) - 1 && s + k < e &&
		    (base == 16 ? strchr("0123456789abcdefABCDEF", s[k]) != NULL :
		    s[k] >= '0' && s[k] <= (base == 8 ? '7' : '9')) &&
		    s[k] != '\0'; k++)
			num[k] = s[k];
		num[k] = '\0';
		if (k == 0) {
			buf_appendc(b, 'x');    /* "\x" without digits */
			continue;
		}
		buf_appendc(b, (char)(strtoul(num, NULL, base) & 0xff));
		s += k;
	}
}

static void add(struct kafka_fmt *f, enum kafka_fmt_kind kind, size_t off,
    size_t len)
{
	f->v = xgrow(f->v, &f->cap, f->n + 1, sizeof(*f->v));
	f->v[f->n].kind = kind;
	f->v[f->n].off = off;
	f->v[f->n].len = len;
	f->n++;
}

/* Literal text s[0..n), unescaped, as one item. */
static void add_text(struct kafka_fmt *f, const char *s, size_t n)
{
	size_t off = f->text.len;

	if (n == 0)
		return;
	kafka_unescape(&f->text, s, n);
	if (f->text.len > off)
		add(f, KAFKA_FMT_TEXT, off, f->text.len - off);
}

int kafka_fmt_parse(struct kafka_fmt *f, const char *fmt, char *why,
    size_t len)
{
	static const char tokens[] = "sSRkKtpoTh";
	static const enum kafka_fmt_kind kinds[] = {
		KAFKA_FMT_VALUE, KAFKA_FMT_VALUE_LEN, KAFKA_FMT_VALUE_LEN_BE32,
		KAFKA_FMT_KEY, KAFKA_FMT_KEY_LEN, KAFKA_FMT_TOPIC,
		KAFKA_FMT_PARTITION, KAFKA_FMT_OFFSET, KAFKA_FMT_TIMESTAMP,
		KAFKA_FMT_HEADERS
	};
	const char *s = fmt, *pct, *t;

	memset(f, 0, sizeof(*f));
	while ((pct = strchr(s, '%')) != NULL) {
		add_text(f, s, (size_t)(pct - s));
		if (pct[1] == '\0') {
			snprintf(why, len, "'%%' at the end");
			kafka_fmt_free(f);
			return -1;
		}
		if (pct[1] == '%')
			add_text(f, "%", 1);
		else if ((t = strchr(tokens, pct[1])) != NULL)
			add(f, kinds[t - tokens], 0, 0);
		else {
			snprintf(why, len, "unknown token '%%%c'", pct[1]);
			kafka_fmt_free(f);
			return -1;
		}
		s = pct + 2;
	}
	add_text(f, s, strlen(s));
	return 0;
}

void kafka_fmt_key_delim(struct kafka_fmt *f, const char *delim)
{
	memset(f, 0, sizeof(*f));
	add(f, KAFKA_FMT_KEY, 0, 0);
	add_text(f, delim, strlen(delim));
	add(f, KAFKA_FMT_VALUE, 0, 0);
	add_text(f, "\\n", 2);
}

void kafka_fmt_free(struct kafka_fmt *f)
{
	free(f->v);
	buf_free(&f->text);
	memset(f, 0, sizeof(*f));
}

/* %h: NAME=VALUE,... in order; NAME=NULL for a header without value. */
static void append_header_list(struct buf *b, const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *hdrs;
	const char *name;
	const void *val;
	size_t size;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val,
	    &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
		if (i > 0)
			buf_appendc(b, ',');
		buf_append(b, name, strlen(name));
		buf_appendc(b, '=');
		if (val == NULL)
			buf_append(b, "NULL", 4);
		else
			buf_append(b, val, size);
	}
}

void kafka_fmt_render(struct buf *b, const struct kafka_fmt *f,
    const rd_kafka_message_t *m)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct kafka_fmt_item *it = &f->v[i];
		rd_kafka_timestamp_type_t tstype;
		uint32_t be;
		unsigned char be4[4];

		switch (it->kind) {
		case KAFKA_FMT_TEXT:
			buf_append(b, f->text.data + it->off, it->len);
			break;
		case KAFKA_FMT_VALUE:
			if (m->payload != NULL)
				buf_append(b, m->payload, m->len);
			break;
		case KAFKA_FMT_VALUE_LEN:
			buf_append_i64(b, m->payload ? (int64_t)m->len : -1);
			break;
		case KAFKA_FMT_VALUE_LEN_BE32:
			be = m->payload ? (uint32_t)m->len : UINT32_MAX;
			be4[0] = (unsigned char)(be >> 24);
			be4[1] = (unsigned char)(be >> 16);
			be4[2] = (unsigned char)(be >> 8);
			be4[3] = (unsigned char)be;
			buf_append(b, be4, 4);
			break;
		case KAFKA_FMT_KEY:
			if (m->key != NULL)
				buf_append(b, m->key, m->key_len);
			break;
		case KAFKA_FMT_KEY_LEN:
			buf_append_i64(b, m->key ? (int64_t)m->key_len : -1);
			break;
		case KAFKA_FMT_TOPIC:
			buf_append(b, rd_kafka_topic_name(m->rkt),
			    strlen(rd_kafka_topic_name(m->rkt)));
			break;
		case KAFKA_FMT_PARTITION:
			buf_append_i64(b, m->partition);
			break;
		case KAFKA_FMT_OFFSET:
			buf_append_i64(b, m->offset);
			break;
		case KAFKA_FMT_TIMESTAMP:
			buf_append_i64(b, rd_kafka_message_timestamp(m, &tstype));
			break;
		case KAFKA_FMT_HEADERS:
			append_header_list(b, m);
			break;
		}
	}
}

/* --- -J ------------------------------------------------------------------ */

/* A key or payload: its bytes as a string, null when absent; base64
 * with "name_encoding" after it when the bytes are not UTF-8. */
static void put_member(struct rec_writer *w, struct buf *tmp,
    const char *name, const void *p, size_t n)
{
	rec_w_key(w, name);
	if (p == NULL) {
		rec_w_null(w);
		return;
	}
	if (rec_env_text(p, n, true))
		rec_w_str(w, p, n);
	else
		rec_env_put_base64(w, tmp, name, p, n);
}

/* "headers":[NAME,VALUE,...] when m has headers. */
static void put_header_array(struct rec_writer *w, struct buf *tmp,
    const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *hdrs;
	const char *name;
	const void *val;
	size_t size;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	rec_w_key(w, "headers");
	rec_w_arr(w);
	for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val,
	    &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
		size_t nlen = strlen(name);

		rec_w_str(w, name, rec_env_text(name, nlen, true) ? nlen : 0);
		rec_env_put_header(w, tmp, val, size, true);
	}
	rec_w_end(w);
}

void kafka_kcat_json(struct buf *b, const rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);
	struct rec_writer w;
	struct buf tmp = BUF_INIT;      /* base64 text; rarely used */

	rec_w_init(&w, b);
	rec_w_obj(&w);
	rec_w_key(&w, "topic");
	rec_w_str(&w, topic, strlen(topic));
	rec_w_key(&w, "partition");
	rec_w_i64(&w, m->partition);
	rec_w_key(&w, "offset");
	rec_w_i64(&w, m->offset);
	if (tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
		const char *t = tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME ?
		    "create" : tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ?
		    "logappend" : "unknown";

		rec_w_key(&w, "tstype");
		rec_w_str(&w, t, strlen(t));
		rec_w_key(&w, "ts");
		rec_w_i64(&w, ts);
	}
	rec_w_key(&w, "broker");
	rec_w_i64(&w, rd_kafka_message_broker_id(m));
	put_header_array(&w, &tmp, m);
	put_member(&w, &tmp, "key", m->key, m->key_len);
	put_member(&w, &tmp, "payload", m->payload, m->len);
	rec_w_end(&w);
	buf_free(&tmp);
}
