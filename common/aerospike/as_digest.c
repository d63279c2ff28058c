/*
 * as_digest.c - record digests with nettle's RIPEMD-160 (as_digest.h).
 */
#include <nettle/ripemd160.h>

#include "as_digest.h"
#include "as_proto.h"
#include "banned.h"

void as_digest(const char *set, size_t setlen, uint8_t ktype, const void *key,
    size_t keylen, uint8_t out[20])
{
	struct ripemd160_ctx ctx;
	ripemd160_init(&ctx);
	if (setlen > 0)
		ripemd160_update(&ctx, setlen, (const uint8_t *)set);
	ripemd160_update(&ctx, 1, &ktype);
	if (keylen > 0)
		ripemd160_update(&ctx, keylen, key);
	ripemd160_digest(&ctx, RIPEMD160_DIGEST_SIZE, out);
}

void as_digest_int(const char *set, size_t setlen, int64_t key, uint8_t out[20])
{
	uint8_t be[8];
	as_put_u64(be, (uint64_t)key);
	as_digest(set, setlen, AS_PT_INTEGER, be, sizeof be, out);
}

unsigned as_partition_id(const uint8_t digest[20])
{
	return ((unsigned)digest[0] | ((unsigned)digest[1] << 8)) %
	    AS_PARTITIONS;
}
