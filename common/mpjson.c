/* mpjson.c - checkpoint payloads in MessagePack (see mpjson.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpjson.h"
#include "rec.h"
#include "xalloc.h"

#include "banned.h"

static int buf_write(void *data, const char *p, size_t n)
{
	buf_append(data, p, n);
	return 0;
}

void mpj_packer(msgpack_packer *pk, struct buf *b)
{
	msgpack_packer_init(pk, b, buf_write);
}

void mpj_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void mpj_pack_str(msgpack_packer *pk, const char *s)
{
	mpj_pack_strn(pk, s, strlen(s));
}

void mpj_pack(msgpack_packer *pk, const json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(v));
		json_object_foreach((json_t *)v, k, e) {
			mpj_pack_str(pk, k);
			mpj_pack(pk, e);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(v));
		json_array_foreach(v, i, e)
			mpj_pack(pk, e);
		break;
	case JSON_STRING:
		mpj_pack_strn(pk, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		msgpack_pack_int64(pk, json_integer_value(v));
		break;
	case JSON_REAL:
		msgpack_pack_double(pk, json_real_value(v));
		break;
	case JSON_TRUE:
		msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		msgpack_pack_false(pk);
		break;
	case JSON_NULL:
		msgpack_pack_nil(pk);
		break;
	}
}

static json_t *obj_json(const msgpack_object *o, const char **why);

/* A string of n bytes, NUL included (\u0000 in JSON, which jansson's
 * json_stringn() refuses): UTF-8 checked with each NUL as a space. */
static json_t *str_json(const char *p, size_t n)
{
	json_t *j, *chk;
	char *c;

	if (n == 0)
		return json_string("");         /* p may be NULL */
	j = json_stringn(p, n);
	if (j != NULL || memchr(p, '\0', n) == NULL)
		return j;
	c = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		c[i] = p[i] == '\0' ? ' ' : p[i];
	chk = json_stringn(c, n);
	free(c);
	if (chk == NULL)
		return NULL;
	json_decref(chk);
	return json_stringn_nocheck(p, n);
}

static json_t *map_json(const msgpack_object *o, const char **why)
{
	json_t *m = json_object();

	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		json_t *v;

		if (kv->key.type != MSGPACK_OBJECT_STR) {
			*why = "a map key that is not a string";
			goto bad;
		}
		v = obj_json(&kv->val, why);
		if (v == NULL || json_object_setn_new(m, kv->key.via.str.ptr,
		    kv->key.via.str.size, v) < 0) {
			if (v != NULL)
				*why = "a map key that is not UTF-8";
			goto bad;
		}
	}
	return m;
bad:
	json_decref(m);
	return NULL;
}

static json_t *array_json(const msgpack_object *o, const char **why)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < o->via.array.size; i++) {
		json_t *e = obj_json(&o->via.array.ptr[i], why);

		if (e == NULL) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, e);
	}
	return a;
}

static json_t *obj_json(const msgpack_object *o, const char **why)
{
	json_t *j = NULL;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 <= INT64_MAX)
			return json_integer((json_int_t)o->via.u64);
		*why = "an integer beyond 64-bit signed";
		return NULL;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer(o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64))
			return json_real(o->via.f64);
		*why = "a float that is not finite";
		return NULL;
	case MSGPACK_OBJECT_STR:
		j = str_json(o->via.str.ptr, o->via.str.size);
		if (j == NULL)
			*why = "a string that is not UTF-8";
		return j;
	case MSGPACK_OBJECT_ARRAY:
		return array_json(o, why);
	case MSGPACK_OBJECT_MAP:
		return map_json(o, why);
	default:
		*why = "a msgpack value with no JSON form (bin or ext)";
		return NULL;
	}
}

json_t *mpj_next(const char *p, size_t len, size_t *off, const char **why)
{
	msgpack_unpacked u;
	json_t *j = NULL;

	*why = NULL;
	if (*off >= len)
		return NULL;
	msgpack_unpacked_init(&u);
	switch (msgpack_unpack_next(&u, p, len, off)) {
	case MSGPACK_UNPACK_SUCCESS:
		j = obj_json(&u.data, why);
		break;
	case MSGPACK_UNPACK_CONTINUE:
		*why = "a msgpack value cut short";
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		*why = "out of memory reading msgpack";
		break;
	default:
		*why = "not msgpack (or nested too deep)";
		break;
	}
	msgpack_unpacked_destroy(&u);
	return j;
}

int mpj_lines(struct buf *out, const char *p, size_t len, const char **why)
{
	size_t off = 0;
	json_t *j;

	while ((j = mpj_next(p, len, &off, why)) != NULL) {
		rec_dump(out, j);
		buf_appendc(out, '\n');
		json_decref(j);
	}
	return *why != NULL ? -1 : 0;
}
