/*
 * as_exp.c - filter expressions packed with libmsgpack (as_exp.h).
 */
#include <msgpack.h>

#include "as_exp.h"
#include "banned.h"

static int pack_cb(void *data, const char *p, size_t n)
{
	buf_append(data, p, n);
	return 0;
}

static void pack_raw_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void as_exp_monotonic(struct buf *out, const char *bin, size_t binlen,
    int64_t ts)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, pack_cb);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, AS_EXP_OR);
	/* eq(bin_type(bin), 0): the bin does not exist */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, AS_EXP_EQ);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, AS_EXP_BIN_TYPE);
	pack_raw_str(&pk, bin, binlen);
	msgpack_pack_int(&pk, 0);
	/* le(int_bin(bin), ts) */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, AS_EXP_LE);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, AS_EXP_BIN);
	msgpack_pack_int(&pk, AS_EXP_TYPE_INT);
	pack_raw_str(&pk, bin, binlen);
	msgpack_pack_int64(&pk, ts);
}

void as_exp_since_update_le(struct buf *out, int64_t max_ms)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, pack_cb);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, AS_EXP_LE);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, AS_EXP_SINCE_UPDATE);
	msgpack_pack_int64(&pk, max_ms);
}
