/*
 * as_key.c - record keys and their digests (as_key.h).
 */
#include <stdio.h>
#include <string.h>

#include "as_digest.h"
#include "as_key.h"
#include "banned.h"

static void digest(struct as_key *k, const char *set)
{
	size_t n;
	const void *p = as_key_bytes(k, &n);
	as_digest(set, strlen(set), k->type, p, n, k->digest);
}

void as_key_string(struct as_key *k, const char *s, size_t n, const char *set)
{
	k->type = AS_PT_STRING;
	buf_reset(&k->s);
	buf_append(&k->s, s, n);
	digest(k, set);
}

void as_key_string_built(struct as_key *k, const char *set)
{
	k->type = AS_PT_STRING;
	digest(k, set);
}

void as_key_int(struct as_key *k, int64_t v, const char *set)
{
	k->type = AS_PT_INTEGER;
	k->i = v;
	as_put_u64(k->wire, (uint64_t)v);
	digest(k, set);
}

const void *as_key_bytes(const struct as_key *k, size_t *n)
{
	if (k->type == AS_PT_INTEGER) {
		*n = 8;
		return k->wire;
	}
	*n = k->s.len;
	return k->s.data ? k->s.data : "";
}

json_t *as_key_json(const struct as_key *k)
{
	if (k->type == AS_PT_INTEGER)
		return json_integer(k->i);
	return json_stringn(k->s.data ? k->s.data : "", k->s.len);
}

int as_key_from_record(struct as_key *k, const struct keyspec *ks,
    const char *sep, const json_t *obj, const char *set, char *why,
    size_t whylen)
{
	buf_reset(&k->s);
	for (size_t i = 0; i < ks->n; i++) {
		const json_t *v = path_get(&ks->paths[i], obj);
		if (v == NULL) {
			snprintf(why, whylen, "missing key field '%s'",
			    ks->paths[i].text);
			return -1;
		}
		if (ks->n == 1 && json_is_integer(v)) {
			as_key_int(k, json_integer_value(v), set);
			return 0;
		}
		if (i > 0)
			buf_appends(&k->s, sep);
		if (json_is_string(v)) {
			buf_append(&k->s, json_string_value(v),
			    json_string_length(v));
		} else if (json_is_integer(v)) {
			buf_append_i64(&k->s, json_integer_value(v));
		} else {
			snprintf(why, whylen, "key field '%s' is not a string "
			    "or an integer", ks->paths[i].text);
			return -1;
		}
	}
	as_key_string_built(k, set);
	return 0;
}

void as_key_free(struct as_key *k)
{
	buf_free(&k->s);
}
