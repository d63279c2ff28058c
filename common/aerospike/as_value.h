/*
 * as_value.h - JSON values as Aerospike bin values, and back.
 *
 * To the server (as_value_encode):
 *   integer  INTEGER, 8 bytes big-endian
 *   real     FLOAT, 8 bytes big-endian IEEE 754
 *   string   STRING, the UTF-8 bytes
 *   boolean  BOOL, one byte 0 or 1
 *   null     NULL with no value: writing it removes the bin
 *   array    LIST, msgpack
 *   object   MAP, msgpack (an unordered map; keys are strings)
 *   {"@bytes":"BASE64"}  BLOB, the decoded bytes (an object of that one
 *            member whose text is not base64 stays a map)
 * Inside lists and maps (msgpack, packed with libmsgpack), strings carry
 * Aerospike's particle type prefix: a msgpack str whose first byte is 3
 * (string) or 4 (blob), as every official client packs them.
 *
 * From the server (as_value_decode) the same in reverse; blobs, HLLs and
 * other bytes become {"@bytes":"BASE64"}, GeoJSON its text, and the ordering
 * markers of ordered lists and maps are dropped.  Returns a new
 * reference, or NULL with a reason.
 */
#ifndef FS_AS_VALUE_H
#define FS_AS_VALUE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AS_VALUE_ERR_MAX 128
#define AS_BYTES_MEMBER "@bytes"

/* Appends v's wire bytes to out and returns its particle type. */
uint8_t as_value_encode(const json_t *v, struct buf *out);
/* Appends v packed as msgpack (the list/map encoding) to out. */
void as_value_pack(const json_t *v, struct buf *out);

json_t *as_value_decode(uint8_t ptype, const uint8_t *p, size_t n,
    char *why);

#endif
