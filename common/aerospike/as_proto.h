/*
 * as_proto.h - the Aerospike binary wire protocol: framing, messages,
 * info requests.  Encoding and decoding only; no sockets here (those are
 * as_cluster.h and as_exec.h).
 *
 * Every message on the wire is an 8-byte proto header (version 2, type,
 * 48-bit big-endian body size) and a body.  Type 1 bodies are info text
 * ("name\n" requests, "name\tvalue\n" answers); type 2 is the security
 * (admin) protocol; type 3 is AS_MSG: a 22-byte header (info bits,
 * result code, generation, record TTL, transaction TTL, field count, op
 * count) followed by fields (size, type, data) and bin operations (size,
 * op, particle type, version, name length, name, value).  All integers
 * are big-endian.  The constants below are the server's (as/include/base/
 * proto.h), as the official clients send them.
 *
 * Building a request appends to a struct buf; the counts and sizes are
 * patched in by as_req_end(), so fields and ops are appended in one pass.
 * Decoding never copies: views point into the caller's buffer, which
 * must outlive them.  Decoders return 0, or -1 with a reason in why.
 */
#ifndef FS_AS_PROTO_H
#define FS_AS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AS_PROTO_VERSION        2
#define AS_PROTO_INFO           1
#define AS_PROTO_ADMIN          2
#define AS_PROTO_MSG            3
#define AS_PROTO_MSG_COMPRESSED 4
#define AS_PROTO_HDR_SIZE       8
#define AS_MSG_HDR_SIZE         22
#define AS_PROTO_SIZE_MAX       (128u * 1024 * 1024)

#define AS_INFO1_READ           0x01
#define AS_INFO1_GET_ALL        0x02
#define AS_INFO1_BATCH          0x08
#define AS_INFO1_NOBINDATA      0x20

#define AS_INFO2_WRITE          0x01
#define AS_INFO2_DELETE         0x02
#define AS_INFO2_GENERATION     0x04
#define AS_INFO2_GENERATION_GT  0x08
#define AS_INFO2_DURABLE_DELETE 0x10
#define AS_INFO2_CREATE_ONLY    0x20
#define AS_INFO2_RESPOND_ALL_OPS 0x80

#define AS_INFO3_LAST           0x01
#define AS_INFO3_COMMIT_MASTER  0x02
#define AS_INFO3_UPDATE_ONLY    0x08
#define AS_INFO3_CREATE_OR_REPLACE 0x10
#define AS_INFO3_REPLACE_ONLY   0x20

#define AS_FIELD_NAMESPACE      0
#define AS_FIELD_SET            1
#define AS_FIELD_KEY            2
#define AS_FIELD_DIGEST         4
#define AS_FIELD_SOCKET_TIMEOUT 9
#define AS_FIELD_BATCH_INDEX    41
#define AS_FIELD_FILTER_EXP     43

#define AS_OP_READ              1
#define AS_OP_WRITE             2
#define AS_OP_DELETE_ALL        14

/* Particle types: how a bin value (or a key) is encoded. */
#define AS_PT_NULL              0
#define AS_PT_INTEGER           1
#define AS_PT_FLOAT             2
#define AS_PT_STRING            3
#define AS_PT_BLOB              4
#define AS_PT_BOOL              17
#define AS_PT_HLL               18
#define AS_PT_MAP               19
#define AS_PT_LIST              20
#define AS_PT_GEOJSON           23

/* Record TTL special values (seconds otherwise). */
#define AS_TTL_DEFAULT          0u
#define AS_TTL_NEVER            0xFFFFFFFFu
#define AS_TTL_DONT_UPDATE      0xFFFFFFFEu

/* Result codes the tools act on (the full list: as_result_str()). */
#define AS_OK                   0
#define AS_ERR_NOT_FOUND        2
#define AS_ERR_GENERATION       3
#define AS_ERR_RECORD_EXISTS    5
#define AS_ERR_TIMEOUT          9
#define AS_ERR_UNAVAILABLE      11
#define AS_ERR_RECORD_TOO_BIG   13
#define AS_ERR_KEY_BUSY         14
#define AS_ERR_DEVICE_OVERLOAD  18
#define AS_ERR_BIN_NAME         21
#define AS_ERR_FORBIDDEN        22
#define AS_ERR_FILTERED_OUT     27
#define AS_ERR_BATCH_MAX_REQUESTS 151
#define AS_ERR_BATCH_QUEUES_FULL 152
#define AS_SEC_ERR_NOT_SUPPORTED 51
#define AS_SEC_ERR_NOT_CONFIGURED 52

/* Limits the server enforces on names (bytes, without a NUL). */
#define AS_NAMESPACE_MAX        31
#define AS_SET_MAX              63
#define AS_BIN_NAME_MAX         15

#define AS_DIGEST_SIZE          20

/* The server's name for a result code ("key busy"), never NULL. */
const char *as_result_str(int code);
/* True for codes worth retrying after a pause: the record or the node was
 * busy (14, 18, 32), the partition moved (7, 11), server time-out (9),
 * batch queues full (152). */
bool as_result_retryable(int code);

/* --- building --------------------------------------------------------- */

struct as_req {
	struct buf *b;
	size_t start;           /* offset of the proto header in b */
	uint16_t n_fields, n_ops;
};

struct as_hdr {
	uint8_t info1, info2, info3;
	uint32_t generation;
	uint32_t record_ttl;
	uint32_t timeout_ms;    /* transaction TTL: the server's time-out */
};

/* Appends a proto header and a message header with zero counts. */
void as_req_begin(struct as_req *r, struct buf *b, const struct as_hdr *h);
void as_req_field(struct as_req *r, uint8_t type, const void *p, size_t n);
/* A KEY field: the particle type byte, then the key's bytes. */
void as_req_field_key(struct as_req *r, uint8_t ptype, const void *p,
    size_t n);
/* A bin operation; name is not NUL terminated (nlen <= 255). */
void as_req_op(struct as_req *r, uint8_t op, uint8_t ptype, const char *name,
    size_t nlen, const void *val, size_t vlen);
/* Patches the counts and the proto size. */
void as_req_end(struct as_req *r);

/* Big-endian helpers, for callers that build values. */
void as_put_u16(uint8_t *p, uint16_t v);
void as_put_u32(uint8_t *p, uint32_t v);
void as_put_u64(uint8_t *p, uint64_t v);
uint16_t as_get_u16(const uint8_t *p);
uint32_t as_get_u32(const uint8_t *p);
uint64_t as_get_u64(const uint8_t *p);

/*
 * A batch request (field 41, one row per record; Aerospike 6+).  Rows
 * are written as full rows (namespace and set fields each time) so that
 * every row may carry its own key, TTL and filter expression:
 *   index(4) digest(20) 0x0e info1 info2 info3 generation(2) ttl(4)
 *   n_fields(2) n_ops(2) fields... ops...
 */
struct as_batch {
	struct as_req req;
	size_t field_at;        /* offset of the batch field's size */
	size_t count_at;        /* offset of the row count */
	uint32_t rows;
	size_t row_counts_at;   /* offset of the current row's n_fields */
	uint16_t row_fields, row_ops;
};

void as_batch_begin(struct as_batch *bt, struct buf *b, uint32_t timeout_ms,
    bool respond_all);
void as_batch_row_begin(struct as_batch *bt, uint32_t index,
    const uint8_t digest[AS_DIGEST_SIZE], const struct as_hdr *h);
void as_batch_row_field(struct as_batch *bt, uint8_t type, const void *p,
    size_t n);
void as_batch_row_field_key(struct as_batch *bt, uint8_t ptype,
    const void *p, size_t n);
void as_batch_row_op(struct as_batch *bt, uint8_t op, uint8_t ptype,
    const char *name, size_t nlen, const void *val, size_t vlen);
void as_batch_end(struct as_batch *bt);

/* An info request for names separated by '\n' (or a single name). */
void as_info_req(struct buf *b, const char *names);

/* --- decoding --------------------------------------------------------- */

struct as_proto_hdr {
	uint8_t version, type;
	uint64_t size;
};

/* Reads an 8-byte proto header; rejects a bad version, type or size. */
int as_proto_hdr_parse(const uint8_t *p, struct as_proto_hdr *h, char *why,
    size_t whylen);

struct as_msg {
	uint8_t info1, info2, info3, result;
	uint32_t generation, record_ttl, txn_ttl;
	uint16_t n_fields, n_ops;
	const uint8_t *fields;  /* n_fields fields, then n_ops ops */
	const uint8_t *ops;
	const uint8_t *end;     /* just after this message */
};

struct as_field_view {
	uint8_t type;
	const uint8_t *data;
	uint32_t len;
};

struct as_op_view {
	uint8_t op, ptype;
	const char *name;
	uint8_t nlen;
	const uint8_t *val;
	uint32_t vlen;
};

/*
 * Parses one AS_MSG at p (n bytes available; a proto body may hold
 * several messages, as batch answers do).  Checks every field and op
 * length against n.  m->end points after the message.
 */
int as_msg_parse(const uint8_t *p, size_t n, struct as_msg *m, char *why,
    size_t whylen);
/* The i-th field / op of a parsed message (already bounds-checked). */
void as_msg_fields(const struct as_msg *m, struct as_field_view *out,
    size_t max);
void as_msg_op_at(const uint8_t **cursor, struct as_op_view *op);

/*
 * Looks a name up in an info answer ("name\tvalue\n"...).  Returns the
 * value's length and sets *val, or -1 when the name is absent.
 */
long as_info_value(const char *resp, size_t len, const char *name,
    const char **val);

#endif
