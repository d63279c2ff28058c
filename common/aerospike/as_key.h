/*
 * as_key.h - a record's Aerospike key, as fs-sink-aerospike writes it and
 * fs-get reads it.
 *
 * One key field: an integer value is an integer key, a string value a
 * string key (anything else is refused).  Several key fields (--key
 * a,b): one string key, the fields' values joined with the separator
 * (default ":"), each as its text: a string as is, an integer in decimal.
 * So --key user,country on {"user":42,"country":"fr"} is the string key
 * "42:fr".  The digest follows (as_digest.h), over the set name.
 */
#ifndef FS_AS_KEY_H
#define FS_AS_KEY_H

#include <jansson.h>
#include <stdint.h>

#include "as_proto.h"
#include "buf.h"
#include "path.h"

struct as_key {
	uint8_t type;           /* AS_PT_INTEGER or AS_PT_STRING */
	int64_t i;
	struct buf s;           /* the string key */
	uint8_t wire[8];        /* an integer key, big-endian */
	uint8_t digest[AS_DIGEST_SIZE];
};

/*
 * Builds k from obj.  Returns 0, or -1 with why (static text or
 * why_buf) such as "missing key field 'user'".
 */
int as_key_from_record(struct as_key *k, const struct keyspec *ks,
    const char *sep, const json_t *obj, const char *set, char *why,
    size_t whylen);
/* Builds k from a string key or an integer key. */
void as_key_string(struct as_key *k, const char *s, size_t n, const char *set);
/* The string key k->s, appended to by the caller, as the key. */
void as_key_string_built(struct as_key *k, const char *set);
void as_key_int(struct as_key *k, int64_t v, const char *set);
/* The key's bytes on the wire (for the KEY field) and their length. */
const void *as_key_bytes(const struct as_key *k, size_t *n);
/* The key as JSON (a new reference): integer or string. */
json_t *as_key_json(const struct as_key *k);
void as_key_free(struct as_key *k);

#endif
