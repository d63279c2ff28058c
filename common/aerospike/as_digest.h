/*
 * as_digest.h - Aerospike record digests and partition ids.
 *
 * A record is addressed by a 20-byte digest: RIPEMD-160 over the set
 * name's bytes, then the key's particle type byte (1 integer, 3 string,
 * 4 blob), then the key's bytes (an integer as 8 big-endian bytes).
 * The hash is nettle's; nothing here is hand-written cryptography.  The
 * partition of a record is the low 12 bits of the digest's first two
 * bytes read little-endian (4096 partitions), as every official client
 * computes it.
 */
#ifndef FS_AS_DIGEST_H
#define FS_AS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define AS_PARTITIONS 4096

void as_digest(const char *set, size_t setlen, uint8_t ktype,
    const void *key, size_t keylen, uint8_t out[20]);
/* The same for an integer key. */
void as_digest_int(const char *set, size_t setlen, int64_t key,
    uint8_t out[20]);
unsigned as_partition_id(const uint8_t digest[20]);

#endif
