/*
 * test_as_proto.c - the Aerospike client's encoding, byte for byte:
 * digests against the published vectors of the official clients' key
 * digest tests (aerospike-client-go key_test.go, aerospike-client-python
 * test_digest.py, aerospike-client-rust src/key.rs), requests, batch
 * rows, filter expressions, values and answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aerospike/as_cluster.h"
#include "aerospike/as_digest.h"
#include "aerospike/as_exec.h"
#include "aerospike/as_exp.h"
#include "aerospike/as_proto.h"
#include "aerospike/as_value.h"
#include "base64.h"
#include "buf.h"
#include "xalloc.h"
#include "banned.h"

static int failures, n;

static void ok(int cond, const char *name)
{
	n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, name);
	if (!cond)
		failures++;
}

static void hex(const uint8_t *p, size_t len, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Compares b with a hex string (spaces ignored); prints both on failure. */
static void ok_bytes(const struct buf *b, const char *want, const char *name)
{
	char w[4096];
	size_t j = 0;
	for (const char *p = want; *p && j + 1 < sizeof w; p++)
		if (*p != ' ')
			w[j++] = *p;
	w[j] = '\0';
	char *got = xmalloc(2 * b->len + 1);
	hex((const uint8_t *)b->data, b->len, got);
	int same = strcmp(got, w) == 0;
	ok(same, name);
	if (!same)
		printf("#  got  %s\n#  want %s\n", got, w);
	free(got);
}

static void digest_str(uint8_t ktype, const char *set, char c, size_t len,
    const char *want, const char *name)
{
	char *key = xmalloc(len + 1);
	memset(key, c, len);
	uint8_t d[20];
	char h[41];
	as_digest(set, strlen(set), ktype, key, len, d);
	hex(d, 20, h);
	ok(strcmp(h, want) == 0, name);
	free(key);
}

static void digest_int(const char *set, int64_t k, const char *want,
    const char *name)
{
	uint8_t d[20];
	char h[41];
	as_digest_int(set, strlen(set), k, d);
	hex(d, 20, h);
	ok(strcmp(h, want) == 0, name);
}

static void test_digests(void)
{
	digest_int("set", INT64_MIN, "7185c2a47fb02c996daed26b4e01b83240aee9d4",
	    "digest: integer -2^63");
	digest_int("set", INT64_MAX, "1698328974afa62c8e069860c1516f780d63dbb8",
	    "digest: integer 2^63-1");
	digest_int("set", INT32_MIN, "d635a867b755f8f54cdc6275e6fb437df82a728c",
	    "digest: integer -2^31");
	digest_int("set", INT32_MAX, "fa8c47b8b898af1bbcb20af0d729ca68359a2645",
	    "digest: integer 2^31-1");
	digest_int("set", UINT32_MAX, "2cdf52bf5641027042b9cf9a499e509a58b330e2",
	    "digest: integer 2^32-1");
	digest_int("set", INT16_MIN, "7f41e9dd1f3fe3694be0430e04c8bfc7d51ec2af",
	    "digest: integer -2^15");
	digest_int("set", INT16_MAX, "309fc9c2619c4f65ff7f4cd82085c3ee7a31fc7c",
	    "digest: integer 2^15-1");
	digest_int("set", UINT16_MAX, "3f0dd44352749a9fd5b7ec44213441ef54c46d57",
	    "digest: integer 2^16-1");
	digest_int("set", INT8_MIN, "93191e549f8f3548d7e2cfc958ddc8c65bcbe4c6",
	    "digest: integer -128");
	digest_int("set", INT8_MAX, "a58f7d98bf60e10fe369c82030b1c9dee053def9",
	    "digest: integer 127");
	digest_int("set", 255, "5a7dd3ea237c30c8735b051524e66fd401a10f6a",
	    "digest: integer 255");
	digest_int("set", -1, "22116d253745e29fc63fdf760b6e26f7e197e01d",
	    "digest: integer -1");
	digest_int("set", 0, "93d943aae37b017ad7e011b0c1d2e2143c2fb37d",
	    "digest: integer 0");
	digest_int("set", 1, "82d7213b469812947c109a6d341e3b5b1dedec1f",
	    "digest: integer 1");
	digest_int("", 1, "a443f05d05d962202b59abb402afae1737dbf66a",
	    "digest: integer 1 in the empty set");

	static const struct { char c; size_t len; const char *s, *b; } v[] = {
		{ 's', 0, "2819b1ff6e346a43b4f5f6b77a88bc3eaac22a83",
		    "327e2877b8815c7aeede0d5a8620d4ef8df4a4b4" },
		{ 's', 1, "607cddba7cd111745ef0a3d783d57f0e83c8f311",
		    "ca2d96dc9a184d15a7fa2927565e844e9254e001" },
		{ 'a', 10, "5979fb32a80da070ff356f7695455592272e36c2",
		    "d10982327b2b04c7360579f252e164a75f83cd99" },
		{ 'm', 100, "f00ad7dbcb4bd8122d9681bca49b8c2ffd4beeed",
		    "475786aa4ee664532a7d1ea69cb02e4695fcdeed" },
		{ 't', 1000, "07ac412d4c33b8628ab147b8db244ce44ae527f8",
		    "5a32b507518a49bf47fdaa3deca53803f5b2e8c3" },
		{ '-', 10000, "b42e64afbfccb05912a609179228d9249ea1c1a0",
		    "ed65c63f7a1f8c6697eb3894b6409a95461fd982" },
		{ '+', 100000, "0a3e888c20bb8958537ddd4ba835e4070bd51740",
		    "fe19770c371774ba1a1532438d4851b8a773a9e6" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char name[80];
		snprintf(name, sizeof name, "digest: string of %zu bytes",
		    v[i].len);
		digest_str(AS_PT_STRING, "set", v[i].c, v[i].len, v[i].s, name);
		snprintf(name, sizeof name, "digest: blob of %zu bytes",
		    v[i].len);
		digest_str(AS_PT_BLOB, "set", v[i].c, v[i].len, v[i].b, name);
	}
	digest_str(AS_PT_STRING, "set", 'h', 0, "2819b1ff6e346a43b4f5f6b77a88bc3eaac22a83",
	    "digest: empty string");

	uint8_t d[20] = { 0x34, 0x12 };
	ok(as_partition_id(d) == 0x234, "partition id: low 12 bits, little-endian");
}

static void test_write_request(void)
{
	struct buf b = BUF_INIT;
	struct as_req r;
	struct as_hdr h = { .info2 = AS_INFO2_WRITE, .record_ttl = 3600,
		.timeout_ms = 1000 };
	uint8_t dig[20];
	memset(dig, 0xab, sizeof dig);
	as_req_begin(&r, &b, &h);
	as_req_field(&r, AS_FIELD_NAMESPACE, "test", 4);
	as_req_field(&r, AS_FIELD_SET, "demo", 4);
	as_req_field(&r, AS_FIELD_DIGEST, dig, 20);
	as_req_field_key(&r, AS_PT_STRING, "k1", 2);
	uint8_t one[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	as_req_op(&r, AS_OP_WRITE, AS_PT_INTEGER, "a", 1, one, 8);
	as_req_op(&r, AS_OP_WRITE, AS_PT_NULL, "gone", 4, NULL, 0);
	as_req_end(&r);
	ok_bytes(&b,
	    "02 03 000000000066"                /* proto: v2, AS_MSG, 102 */
	    "16 00 01 00 00 00"                 /* 22, info1..3, info4, rc */
	    "00000000 00000e10 000003e8"        /* gen, ttl 3600, 1000 ms */
	    "0004 0002"                         /* 4 fields, 2 ops */
	    "00000005 00 74657374"              /* namespace */
	    "00000005 01 64656d6f"              /* set */
	    "00000015 04 abababababababababababababababababababab"
	    "00000004 02 03 6b31"               /* key: string "k1" */
	    "0000000d 02 01 00 01 61 0000000000000001"
	    "00000008 02 00 00 04 676f6e65",    /* null: remove bin */
	    "request: write with key, integer bin and bin removal");

	struct as_msg m;
	char why[128];
	int rc = as_msg_parse((const uint8_t *)b.data + 8, b.len - 8, &m, why,
	    sizeof why);
	ok(rc == 0 && m.n_fields == 4 && m.n_ops == 2 &&
	    m.record_ttl == 3600 && m.end == (const uint8_t *)b.data + b.len,
	    "decode: the request parses back");
	const uint8_t *cur = m.ops;
	struct as_op_view op;
	as_msg_op_at(&cur, &op);
	ok(op.nlen == 1 && op.name[0] == 'a' && op.vlen == 8 &&
	    as_get_u64(op.val) == 1, "decode: first op");
	as_msg_op_at(&cur, &op);
	ok(op.nlen == 4 && op.vlen == 0 && op.ptype == AS_PT_NULL,
	    "decode: second op");
	ok(as_msg_parse((const uint8_t *)b.data + 8, b.len - 9, &m, why,
	    sizeof why) == -1, "decode: a truncated op is refused");
	buf_free(&b);
}

static void test_batch(void)
{
	struct buf b = BUF_INIT;
	struct as_batch bt;
	uint8_t dig[20];
	memset(dig, 0x11, sizeof dig);
	struct as_hdr h = { .info2 = AS_INFO2_WRITE |
		AS_INFO2_RESPOND_ALL_OPS, .record_ttl = AS_TTL_NEVER };
	as_batch_begin(&bt, &b, 500, true);
	as_batch_row_begin(&bt, 0, dig, &h);
	as_batch_row_field(&bt, AS_FIELD_NAMESPACE, "ns", 2);
	as_batch_row_field(&bt, AS_FIELD_SET, "s", 1);
	as_batch_row_op(&bt, AS_OP_WRITE, AS_PT_STRING, "b", 1, "x", 1);
	as_batch_end(&bt);
	ok_bytes(&b,
	    "02 03 00000000005d"
	    "16 08 00 00 00 00 00000000 00000000 000001f4 0001 0000"
	    "00000043 29"                       /* batch field, 67 bytes */
	    "00000001 0d"                       /* 1 row; 0x08, inline, report all */
	    "00000000 1111111111111111111111111111111111111111"
	    "0e 00 81 00 0000 ffffffff 0002 0001"
	    "00000003 00 6e73 00000002 01 73"
	    "00000006 02 03 00 01 62 78",
	    "batch: one full write row");
	buf_free(&b);
}

static void test_expression(void)
{
	struct buf b = BUF_INIT;
	as_exp_monotonic(&b, "ts", 2, 1700000000000);
	ok_bytes(&b,
	    "93 11"                             /* [or, */
	    "93 01 92 52 a2 7473 00"            /* [eq, [bin_type, "ts"], 0] */
	    "93 06 93 51 02 a2 7473"            /* [le, [bin, int, "ts"], */
	    "cf 0000018bcfe56800",              /* 1700000000000]] */
	    "expression: monotonic filter");
	buf_reset(&b);
	as_exp_monotonic(&b, "t", 1, 5);
	ok_bytes(&b, "93 11 93 01 92 52 a1 74 00 93 06 93 51 02 a1 74 05",
	    "expression: small integer");
	buf_reset(&b);
	as_exp_since_update_le(&b, 3600000);
	ok_bytes(&b, "93 06 91 43 ce 0036ee80",   /* [le, [since_update], 1h] */
	    "expression: since-update filter");
	buf_free(&b);
}

static json_t *parse(const char *s)
{
	return json_loads(s, JSON_DECODE_ANY, NULL);
}

static void test_values(void)
{
	struct buf b = BUF_INIT;
	json_t *v = parse("[1, \"ab\", {\"k\": 2.5}, true, null]");
	uint8_t pt = as_value_encode(v, &b);
	ok(pt == AS_PT_LIST, "value: array is a list");
	ok_bytes(&b, "95 01 a3 03 6162 81 a2 03 6b cb 4004000000000000 c3 c0",
	    "value: list packed with particle-prefixed strings");
	char why[AS_VALUE_ERR_MAX];
	json_t *back = as_value_decode(pt, (const uint8_t *)b.data, b.len, why);
	ok(back != NULL && json_equal(v, back), "value: list decodes back");
	json_decref(back);
	json_decref(v);

	buf_reset(&b);
	v = parse("-2");
	ok(as_value_encode(v, &b) == AS_PT_INTEGER, "value: integer particle");
	ok_bytes(&b, "fffffffffffffffe", "value: integer big-endian");
	json_decref(v);

	buf_reset(&b);
	v = parse("0.5");
	ok(as_value_encode(v, &b) == AS_PT_FLOAT, "value: float particle");
	ok_bytes(&b, "3fe0000000000000", "value: double big-endian");
	json_decref(v);

	buf_reset(&b);
	v = parse("false");
	ok(as_value_encode(v, &b) == AS_PT_BOOL && b.len == 1 &&
	    b.data[0] == 0, "value: boolean particle");
	json_decref(v);

	/* an ordered map as the server stores it: ext marker first */
	static const uint8_t km[] = { 0x82, 0xc7, 0x00, 0x01, 0xc0,
		0xa2, 0x03, 'x', 0x07 };
	back = as_value_decode(AS_PT_MAP, km, sizeof km, why);
	json_t *want = parse("{\"x\": 7}");
	ok(back != NULL && json_equal(back, want),
	    "value: ordered map marker is dropped");
	json_decref(back);
	json_decref(want);

	static const uint8_t blob[] = { 0xc4, 0x04, 0x04, 0x01, 0x02, 0x03 };
	back = as_value_decode(AS_PT_LIST, blob, 3, why);
	ok(back == NULL, "value: truncated msgpack is refused");
	back = as_value_decode(AS_PT_BLOB, blob + 3, 3, why);
	want = parse("{\"@bytes\": \"AQID\"}");
	ok(back != NULL && json_equal(back, want),
	    "value: a blob reads as {\"@bytes\": base64}");
	json_decref(back);
	json_decref(want);

	buf_reset(&b);
	v = parse("{\"@bytes\": \"AQID\"}");
	ok(as_value_encode(v, &b) == AS_PT_BLOB, "value: @bytes is a blob");
	ok_bytes(&b, "010203", "value: blob bytes");
	json_decref(v);
	buf_reset(&b);
	v = parse("[{\"@bytes\": \"AQID\"}]");
	as_value_encode(v, &b);
	ok_bytes(&b, "91 a4 04 010203", "value: a blob in a list has prefix 4");
	json_decref(v);
	buf_reset(&b);
	v = parse("{\"@bytes\": \"not base64!\"}");
	ok(as_value_encode(v, &b) == AS_PT_MAP, "value: bad base64 stays a map");
	json_decref(v);
	buf_free(&b);
}

static void test_info(void)
{
	struct buf b = BUF_INIT;
	as_info_req(&b, "node\npartition-generation");
	ok_bytes(&b, "02 01 00000000001a 6e6f64650a 706172746974696f6e2d67656e65726174696f6e0a",
	    "info: request names end with newlines");
	buf_free(&b);
	static const char resp[] = "node\tBB9\npartition-generation\t7\n";
	const char *v;
	long len = as_info_value(resp, sizeof resp - 1, "partition-generation", &v);
	ok(len == 1 && v[0] == '7', "info: value by name");
	ok(as_info_value(resp, sizeof resp - 1, "nod", &v) == -1,
	    "info: a prefix is not a name");

	struct as_proto_hdr ph;
	char why[64];
	static const uint8_t bad[8] = { 1, 3, 0, 0, 0, 0, 0, 1 };
	ok(as_proto_hdr_parse(bad, &ph, why, sizeof why) == -1,
	    "proto: version 1 is refused");
}

static void test_auth_and_hist(void)
{
	/* the server's own hash of its initial "admin" password
	 * (as/src/base/security_config: SMD_SUPER_PASSWORD) */
	char *h = as_password_hash("admin");
	ok(h != NULL && strcmp(h, "$2a$10$7EqJtq98hPqEX7fNZaFWoO1mVO/"
	    "4MLpGzsqojz6E9Gef6iXDjXdDa") == 0,
	    "auth: bcrypt of admin is the server's super-user hash");
	free(h);

	static struct as_hist hs;
	for (uint64_t v = 1; v <= 1000; v++)
		as_hist_add(&hs, v);
	uint64_t p50 = as_hist_quantile(&hs, 0.5);
	uint64_t p99 = as_hist_quantile(&hs, 0.99);
	ok(p50 >= 500 && p50 <= 500 + 500 / 16 + 1,
	    "histogram: p50 of 1..1000 within 1/16");
	ok(p99 >= 990 && p99 <= 1000, "histogram: p99 of 1..1000, capped at max");
	ok(as_hist_quantile(&hs, 1.0) == 1000 && hs.max == 1000,
	    "histogram: p100 is the max");
}

static void test_discovery(void)
{
	struct as_peer pe[4];
	static const char peers[] = "7,3000,[[BB9050011AC4202,,[172.17.0.4]],"
	    "[BB9070011AC4202,tls1,[172.17.0.5:3100,10.0.0.5]],"
	    "[BB9,,[[2001:db8::1]:3200,[::1]]]]";
	int np = as_peers_parse(peers, sizeof peers - 1, pe, 4);
	ok(np == 3, "peers: three peers");
	ok(np == 3 && strcmp(pe[0].id, "BB9050011AC4202") == 0 &&
	    pe[0].n_addrs == 1 && strcmp(pe[0].hosts[0], "172.17.0.4") == 0 &&
	    pe[0].ports[0] == 3000, "peers: an address without a port gets the default");
	ok(np == 3 && pe[1].n_addrs == 2 && pe[1].ports[0] == 3100 &&
	    strcmp(pe[1].hosts[1], "10.0.0.5") == 0 && pe[1].ports[1] == 3000,
	    "peers: several addresses, with and without ports");
	ok(np == 3 && pe[2].n_addrs == 2 &&
	    strcmp(pe[2].hosts[0], "2001:db8::1") == 0 && pe[2].ports[0] == 3200 &&
	    strcmp(pe[2].hosts[1], "::1") == 0 && pe[2].ports[1] == 3000,
	    "peers: IPv6 addresses in brackets");
	static const char none[] = "1,3000,[]";
	ok(as_peers_parse(none, sizeof none - 1, pe, 4) == 0, "peers: none");
	static const char bad[] = "1,3000";
	ok(as_peers_parse(bad, sizeof bad - 1, pe, 4) == -1, "peers: malformed");

	/* partitions 0 and 9 of "test", all of "bar" */
	uint8_t want[AS_PARTITIONS / 8] = { 0x80, 0x40 };
	struct buf b64 = BUF_INIT, rep = BUF_INIT;
	base64_encode(&b64, want, sizeof want);
	buf_appends(&rep, "bar:0,1,");
	uint8_t all[AS_PARTITIONS / 8];
	memset(all, 0xff, sizeof all);
	base64_encode(&rep, all, sizeof all);
	buf_appends(&rep, ";test:3,2,");
	buf_append(&rep, b64.data, b64.len);
	buf_appends(&rep, ",");
	buf_append(&rep, b64.data, b64.len);
	uint8_t bits[AS_PARTITIONS / 8];
	int64_t regime = -1;
	ok(as_replicas_parse(rep.data, rep.len, "test", bits, &regime) == 1 &&
	    regime == 3 && memcmp(bits, want, sizeof want) == 0,
	    "replicas: the master bitmap and regime of a namespace");
	ok(as_replicas_parse(rep.data, rep.len, "tes", bits, &regime) == 0,
	    "replicas: a namespace not in the answer");
	ok(as_replicas_parse("test:0,1,!!", 11, "test", bits, &regime) == -1,
	    "replicas: bad base64 is refused");
	buf_free(&b64);
	buf_free(&rep);
}

int main(void)
{
	test_digests();
	test_write_request();
	test_batch();
	test_expression();
	test_values();
	test_info();
	test_auth_and_hist();
	test_discovery();
	printf("1..%d\n", n);
	return failures != 0;
}
