/*
 * as_proto.c - Aerospike wire encoding and decoding (see as_proto.h).
 */
#include <stdio.h>
#include <string.h>

#include "as_proto.h"
#include "banned.h"

const char *as_result_str(int code)
{
	switch (code) {
	case 0: return "ok";
	case 1: return "server error";
	case 2: return "record not found";
	case 3: return "generation mismatch";
	case 4: return "parameter error";
	case 5: return "record exists";
	case 6: return "bin exists";
	case 7: return "cluster key mismatch";
	case 8: return "server out of space";
	case 9: return "server timeout";
	case 11: return "partition unavailable";
	case 12: return "bin type error";
	case 13: return "record too big";
	case 14: return "key busy (hot key)";
	case 15: return "scan aborted";
	case 16: return "unsupported feature";
	case 17: return "bin not found";
	case 18: return "device overload";
	case 19: return "key mismatch";
	case 20: return "namespace not found";
	case 21: return "bin name too long";
	case 22: return "operation forbidden";
	case 23: return "element not found";
	case 24: return "element exists";
	case 25: return "enterprise only";
	case 26: return "operation not applicable";
	case 27: return "filtered out";
	case 28: return "lost conflict";
	case 32: return "xdr key busy";
	case 51: return "security not supported";
	case 52: return "security not enabled";
	case 53: return "security scheme not supported";
	case 54: return "unrecognized security command";
	case 55: return "invalid security field";
	case 56: return "invalid security state";
	case 60: return "invalid user";
	case 62: return "invalid password";
	case 63: return "expired password";
	case 65: return "invalid credential";
	case 66: return "expired session";
	case 80: return "not authenticated";
	case 81: return "role violation";
	case 82: return "client address not allowed";
	case 83: return "quota exceeded";
	case 100: return "udf execution error";
	case 150: return "batch disabled";
	case 151: return "batch max requests exceeded";
	case 152: return "batch queues full";
	case 160: return "invalid geojson";
	default: return "unknown result code";
	}
}

bool as_result_retryable(int code)
{
	switch (code) {
	case 7: case 9: case 11: case 14: case 18: case 32: case 152:
		return true;
	default:
		return false;
	}
}

void as_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void as_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void as_put_u64(uint8_t *p, uint64_t v)
{
	as_put_u32(p, (uint32_t)(v >> 32));
	as_put_u32(p + 4, (uint32_t)v);
}

uint16_t as_get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t as_get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

uint64_t as_get_u64(const uint8_t *p)
{
	return ((uint64_t)as_get_u32(p) << 32) | as_get_u32(p + 4);
}

static void put_proto(uint8_t *p, uint8_t type, uint64_t size)
{
	p[0] = AS_PROTO_VERSION;
	p[1] = type;
	p[2] = (uint8_t)(size >> 40);
	p[3] = (uint8_t)(size >> 32);
	as_put_u32(p + 4, (uint32_t)size);
}

static uint8_t *grow(struct buf *b, size_t n)
{
	buf_reserve(b, n);
	uint8_t *p = (uint8_t *)b->data + b->len;
	b->len += n;
	b->data[b->len] = '\0';
	return p;
}

static void put_field(struct buf *b, uint8_t type, const void *p, size_t n)
{
	uint8_t *d = grow(b, 5 + n);
	as_put_u32(d, (uint32_t)(n + 1));
	d[4] = type;
	if (n > 0)
		memcpy(d + 5, p, n);
}

static void put_field_key(struct buf *b, uint8_t ptype, const void *p, size_t n)
{
	uint8_t *d = grow(b, 6 + n);
	as_put_u32(d, (uint32_t)(n + 2));
	d[4] = AS_FIELD_KEY;
	d[5] = ptype;
	if (n > 0)
		memcpy(d + 6, p, n);
}

static void put_op(struct buf *b, uint8_t op, uint8_t ptype, const char *name,
    size_t nlen, const void *val, size_t vlen)
{
	uint8_t *d = grow(b, 8 + nlen + vlen);
	as_put_u32(d, (uint32_t)(4 + nlen + vlen));
	d[4] = op;
	d[5] = ptype;
	d[6] = 0;
	d[7] = (uint8_t)nlen;
	if (nlen > 0)
		memcpy(d + 8, name, nlen);
	if (vlen > 0)
		memcpy(d + 8 + nlen, val, vlen);
}

static void put_msg_hdr(uint8_t *d, const struct as_hdr *h)
{
	d[0] = AS_MSG_HDR_SIZE;
	d[1] = h->info1;
	d[2] = h->info2;
	d[3] = h->info3;
	d[4] = 0;               /* info4 */
	d[5] = 0;               /* result code */
	as_put_u32(d + 6, h->generation);
	as_put_u32(d + 10, h->record_ttl);
	as_put_u32(d + 14, h->timeout_ms);
	as_put_u16(d + 18, 0);
	as_put_u16(d + 20, 0);
}

void as_req_begin(struct as_req *r, struct buf *b, const struct as_hdr *h)
{
	r->b = b;
	r->start = b->len;
	r->n_fields = 0;
	r->n_ops = 0;
	uint8_t *d = grow(b, AS_PROTO_HDR_SIZE + AS_MSG_HDR_SIZE);
	put_proto(d, AS_PROTO_MSG, 0);
	put_msg_hdr(d + AS_PROTO_HDR_SIZE, h);
}

void as_req_field(struct as_req *r, uint8_t type, const void *p, size_t n)
{
	put_field(r->b, type, p, n);
	r->n_fields++;
}

void as_req_field_key(struct as_req *r, uint8_t ptype, const void *p, size_t n)
{
	put_field_key(r->b, ptype, p, n);
	r->n_fields++;
}

void as_req_op(struct as_req *r, uint8_t op, uint8_t ptype, const char *name,
    size_t nlen, const void *val, size_t vlen)
{
	put_op(r->b, op, ptype, name, nlen, val, vlen);
	r->n_ops++;
}

void as_req_end(struct as_req *r)
{
	uint8_t *d = (uint8_t *)r->b->data + r->start;
	put_proto(d, AS_PROTO_MSG, r->b->len - r->start - AS_PROTO_HDR_SIZE);
	as_put_u16(d + AS_PROTO_HDR_SIZE + 18, r->n_fields);
	as_put_u16(d + AS_PROTO_HDR_SIZE + 20, r->n_ops);
}

/* --- batch ------------------------------------------------------------ */

#define BATCH_ROW_FULL      0x0e    /* extra info, generation, ttl */
/* The parent's flags, as the official clients set them by default
 * (their getBatchFlags: 0x8 always, allowInline, respondAllKeys). */
#define BATCH_ALLOW_INLINE  0x01    /* in-memory rows in the service thread */
#define BATCH_REPORT_ALL    0x04    /* answer every row */
#define BATCH_CLIENT_FLAG   0x08    /* set by every official client */

void as_batch_begin(struct as_batch *bt, struct buf *b, uint32_t timeout_ms,
    bool respond_all)
{
	struct as_hdr h = { .info1 = AS_INFO1_BATCH, .timeout_ms = timeout_ms };
	as_req_begin(&bt->req, b, &h);
	bt->field_at = b->len;
	uint8_t *d = grow(b, 5 + 4 + 1);
	as_put_u32(d, 0);
	d[4] = AS_FIELD_BATCH_INDEX;
	bt->count_at = b->len - 5;
	as_put_u32(d + 5, 0);
	d[9] = BATCH_CLIENT_FLAG | BATCH_ALLOW_INLINE |
	    (respond_all ? BATCH_REPORT_ALL : 0);
	bt->req.n_fields = 1;
	bt->rows = 0;
	bt->row_counts_at = 0;
}

static void batch_row_close(struct as_batch *bt)
{
	if (bt->rows == 0)
		return;
	uint8_t *d = (uint8_t *)bt->req.b->data + bt->row_counts_at;
	as_put_u16(d, bt->row_fields);
	as_put_u16(d + 2, bt->row_ops);
}

void as_batch_row_begin(struct as_batch *bt, uint32_t index,
    const uint8_t digest[AS_DIGEST_SIZE], const struct as_hdr *h)
{
	batch_row_close(bt);
	uint8_t *d = grow(bt->req.b, 4 + AS_DIGEST_SIZE + 1 + 3 + 2 + 4 + 4);
	as_put_u32(d, index);
	memcpy(d + 4, digest, AS_DIGEST_SIZE);
	d += 4 + AS_DIGEST_SIZE;
	d[0] = BATCH_ROW_FULL;
	d[1] = h->info1;
	d[2] = h->info2;
	d[3] = h->info3;
	as_put_u16(d + 4, (uint16_t)h->generation);
	as_put_u32(d + 6, h->record_ttl);
	bt->row_counts_at = bt->req.b->len - 4;
	as_put_u32(d + 10, 0);
	bt->row_fields = 0;
	bt->row_ops = 0;
	bt->rows++;
}

void as_batch_row_field(struct as_batch *bt, uint8_t type, const void *p,
    size_t n)
{
	put_field(bt->req.b, type, p, n);
	bt->row_fields++;
}

void as_batch_row_field_key(struct as_batch *bt, uint8_t ptype, const void *p,
    size_t n)
{
	put_field_key(bt->req.b, ptype, p, n);
	bt->row_fields++;
}

void as_batch_row_op(struct as_batch *bt, uint8_t op, uint8_t ptype,
    const char *name, size_t nlen, const void *val, size_t vlen)
{
	put_op(bt->req.b, op, ptype, name, nlen, val, vlen);
	bt->row_ops++;
}

void as_batch_end(struct as_batch *bt)
{
	batch_row_close(bt);
	uint8_t *base = (uint8_t *)bt->req.b->data;
	as_put_u32(base + bt->field_at,
	    (uint32_t)(bt->req.b->len - bt->field_at - 4));
	as_put_u32(base + bt->count_at, bt->rows);
	as_req_end(&bt->req);
}

/* --- info ------------------------------------------------------------- */

void as_info_req(struct buf *b, const char *names)
{
	size_t n = strlen(names);
	bool nl = n > 0 && names[n - 1] != '\n';
	uint8_t *d = grow(b, AS_PROTO_HDR_SIZE);
	put_proto(d, AS_PROTO_INFO, n + (nl ? 1 : 0));
	buf_append(b, names, n);
	if (nl)
		buf_appendc(b, '\n');
}

long as_info_value(const char *resp, size_t len, const char *name,
    const char **val)
{
	size_t nlen = strlen(name);
	const char *p = resp, *end = resp + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		const char *tab = memchr(p, '\t', (size_t)(eol - p));
		if (tab != NULL && (size_t)(tab - p) == nlen &&
		    memcmp(p, name, nlen) == 0) {
			*val = tab + 1;
			return (long)(eol - tab - 1);
		}
		p = eol + 1;
	}
	return -1;
}

/* --- decoding --------------------------------------------------------- */

int as_proto_hdr_parse(const uint8_t *p, struct as_proto_hdr *h, char *why,
    size_t whylen)
{
	h->version = p[0];
	h->type = p[1];
	h->size = ((uint64_t)p[2] << 40) | ((uint64_t)p[3] << 32) |
	    as_get_u32(p + 4);
	if (h->version != AS_PROTO_VERSION) {
		snprintf(why, whylen, "bad protocol version %u", h->version);
		return -1;
	}
	if (h->type != AS_PROTO_INFO && h->type != AS_PROTO_ADMIN &&
	    h->type != AS_PROTO_MSG && h->type != AS_PROTO_MSG_COMPRESSED) {
		snprintf(why, whylen, "bad message type %u", h->type);
		return -1;
	}
	if (h->size > AS_PROTO_SIZE_MAX) {
		snprintf(why, whylen, "message size %llu over the limit",
		    (unsigned long long)h->size);
		return -1;
	}
	return 0;
}

int as_msg_parse(const uint8_t *p, size_t n, struct as_msg *m, char *why,
    size_t whylen)
{
	if (n < AS_MSG_HDR_SIZE) {
		snprintf(why, whylen, "short message header (%zu bytes)", n);
		return -1;
	}
	if (p[0] != AS_MSG_HDR_SIZE) {
		snprintf(why, whylen, "bad message header size %u", p[0]);
		return -1;
	}
	m->info1 = p[1];
	m->info2 = p[2];
	m->info3 = p[3];
	m->result = p[5];
	m->generation = as_get_u32(p + 6);
	m->record_ttl = as_get_u32(p + 10);
	m->txn_ttl = as_get_u32(p + 14);
	m->n_fields = as_get_u16(p + 18);
	m->n_ops = as_get_u16(p + 20);
	const uint8_t *q = p + AS_MSG_HDR_SIZE, *end = p + n;
	m->fields = q;
	for (unsigned i = 0; i < m->n_fields; i++) {
		if (end - q < 5) {
			snprintf(why, whylen, "truncated field %u", i);
			return -1;
		}
		uint32_t sz = as_get_u32(q);
		if (sz < 1 || (uint64_t)(end - q - 4) < sz) {
			snprintf(why, whylen, "bad size %u of field %u", sz, i);
			return -1;
		}
		q += 4 + sz;
	}
	m->ops = q;
	for (unsigned i = 0; i < m->n_ops; i++) {
		if (end - q < 8) {
			snprintf(why, whylen, "truncated op %u", i);
			return -1;
		}
		uint32_t sz = as_get_u32(q);
		if (sz < 4 || (uint64_t)(end - q - 4) < sz ||
		    q[7] > sz - 4) {
			snprintf(why, whylen, "bad size %u of op %u", sz, i);
			return -1;
		}
		q += 4 + sz;
	}
	m->end = q;
	return 0;
}

void as_msg_fields(const struct as_msg *m, struct as_field_view *out,
    size_t max)
{
	const uint8_t *q = m->fields;
	for (size_t i = 0; i < m->n_fields && i < max; i++) {
		uint32_t sz = as_get_u32(q);
		out[i].type = q[4];
		out[i].data = q + 5;
		out[i].len = sz - 1;
		q += 4 + sz;
	}
}

void as_msg_op_at(const uint8_t **cursor, struct as_op_view *op)
{
	const uint8_t *q = *cursor;
	uint32_t sz = as_get_u32(q);
	op->op = q[4];
	op->ptype = q[5];
	op->nlen = q[7];
	op->name = (const char *)q + 8;
	op->val = q + 8 + op->nlen;
	op->vlen = sz - 4 - op->nlen;
	*cursor = q + 4 + sz;
}
