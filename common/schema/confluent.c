/*
 * confluent.c - the Confluent wire frame: magic byte 0, the schema id
 * as four bytes big-endian, then the payload.
 */
#include <stdio.h>

#include "schema.h"

#include "banned.h"

int confluent_parse(const void *vp, size_t n, uint32_t *id,
    const unsigned char **payload, size_t *plen, char *why)
{
	const unsigned char *p = vp;

	if (p == NULL || n < CONFLUENT_HEADER_LEN || p[0] != 0) {
		if (p != NULL && n > 0 && p[0] != 0)
			snprintf(why, SCHEMA_ERR_MAX, "not Confluent-framed: "
			    "first byte 0x%02x, not the magic byte 0", p[0]);
		else
			snprintf(why, SCHEMA_ERR_MAX, "not Confluent-framed: "
			    "%zu bytes, shorter than the 5-byte header", n);
		return -1;
	}
	*id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 8 | p[4];
	*payload = p + CONFLUENT_HEADER_LEN;
	*plen = n - CONFLUENT_HEADER_LEN;
	return 0;
}

void confluent_header(struct buf *b, uint32_t id)
{
	char h[CONFLUENT_HEADER_LEN] = { 0, (char)(id >> 24), (char)(id >> 16),
		(char)(id >> 8), (char)id };

	buf_append(b, h, sizeof(h));
}
