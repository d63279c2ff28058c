/*
 * as_value.c - JSON <-> Aerospike particles and msgpack (as_value.h).
 */
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "as_proto.h"
#include "as_value.h"
#include "base64.h"
#include "xalloc.h"
#include "banned.h"

static int pack_cb(void *data, const char *p, size_t n)
{
	buf_append(data, p, n);
	return 0;
}

/* {"@bytes":"BASE64"} stands for a blob; decodes it into out. */
static int blob_of(const json_t *v, struct buf *out)
{
	const json_t *b;
	if (!json_is_object(v) || json_object_size(v) != 1 ||
	    (b = json_object_get(v, AS_BYTES_MEMBER)) == NULL ||
	    !json_is_string(b))
		return -1;
	buf_reset(out);
	return base64_decode(out, json_string_value(b), json_string_length(b));
}

static void pack_json(msgpack_packer *pk, const json_t *v)
{
	struct buf blob = BUF_INIT;
	if (blob_of(v, &blob) == 0) {
		uint8_t pt = AS_PT_BLOB;
		msgpack_pack_str(pk, blob.len + 1);
		msgpack_pack_str_body(pk, &pt, 1);
		msgpack_pack_str_body(pk, blob.data, blob.len);
		buf_free(&blob);
		return;
	}
	buf_free(&blob);
	switch (json_typeof(v)) {
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
	case JSON_STRING: {
		size_t n = json_string_length(v);
		uint8_t pt = AS_PT_STRING;
		msgpack_pack_str(pk, n + 1);
		msgpack_pack_str_body(pk, &pt, 1);
		msgpack_pack_str_body(pk, json_string_value(v), n);
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		const json_t *e;
		msgpack_pack_array(pk, json_array_size(v));
		json_array_foreach(v, i, e)
			pack_json(pk, e);
		break;
	}
	case JSON_OBJECT: {
		const char *k;
		const json_t *e;
		size_t klen;
		uint8_t pt = AS_PT_STRING;
		msgpack_pack_map(pk, json_object_size(v));
		json_object_keylen_foreach((json_t *)v, k, klen, e) {
			msgpack_pack_str(pk, klen + 1);
			msgpack_pack_str_body(pk, &pt, 1);
			msgpack_pack_str_body(pk, k, klen);
			pack_json(pk, e);
		}
		break;
	}
	}
}

void as_value_pack(const json_t *v, struct buf *out)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, pack_cb);
	pack_json(&pk, v);
}

uint8_t as_value_encode(const json_t *v, struct buf *out)
{
	uint8_t be[8];
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		as_put_u64(be, (uint64_t)json_integer_value(v));
		buf_append(out, be, 8);
		return AS_PT_INTEGER;
	case JSON_REAL: {
		double d = json_real_value(v);
		uint64_t bits;
		memcpy(&bits, &d, 8);
		as_put_u64(be, bits);
		buf_append(out, be, 8);
		return AS_PT_FLOAT;
	}
	case JSON_STRING:
		buf_append(out, json_string_value(v), json_string_length(v));
		return AS_PT_STRING;
	case JSON_TRUE:
	case JSON_FALSE:
		buf_appendc(out, json_is_true(v) ? 1 : 0);
		return AS_PT_BOOL;
	case JSON_NULL:
		return AS_PT_NULL;
	case JSON_ARRAY:
		as_value_pack(v, out);
		return AS_PT_LIST;
	case JSON_OBJECT: {
		struct buf blob = BUF_INIT;
		if (blob_of(v, &blob) == 0) {
			buf_append(out, blob.data, blob.len);
			buf_free(&blob);
			return AS_PT_BLOB;
		}
		buf_free(&blob);
		as_value_pack(v, out);
		return AS_PT_MAP;
	}
	}
	return AS_PT_NULL;
}

/* --- decoding --------------------------------------------------------- */

static json_t *bytes_json(const uint8_t *p, size_t n)
{
	struct buf b = BUF_INIT;
	base64_encode(&b, p, n);
	json_t *s = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return json_pack("{s:o}", AS_BYTES_MEMBER, s);
}

/* Text that is not valid UTF-8 cannot be a JSON string: base64 then. */
static json_t *text_json(const char *p, size_t n)
{
	json_t *s = json_stringn(p, n);
	return s != NULL ? s : bytes_json((const uint8_t *)p, n);
}

/* A msgpack str inside a list or map: particle type byte, then bytes. */
static json_t *particle_str(const char *p, size_t n)
{
	if (n == 0)
		return json_string("");
	if ((uint8_t)p[0] == AS_PT_STRING || (uint8_t)p[0] == AS_PT_GEOJSON)
		return text_json(p + 1, n - 1);
	return bytes_json((const uint8_t *)p + 1, n - 1);
}

static json_t *obj_json(const msgpack_object *o, char *why);

/* A msgpack array as a JSON array, leaving out list order markers. */
static json_t *array_json(const msgpack_object *o, char *why)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];
		if (e->type == MSGPACK_OBJECT_EXT)
			continue;       /* list order marker */
		json_t *j = obj_json(e, why);
		if (j == NULL) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, j);
	}
	return a;
}

/*
 * A msgpack map as a JSON object, leaving out map order markers; a key
 * that is not a string becomes its compact JSON text (1 -> "1").
 */
static json_t *map_json(const msgpack_object *o, char *why)
{
	json_t *m = json_object();
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_EXT)
			continue;       /* map order marker */
		json_t *v = obj_json(&kv->val, why);
		if (v == NULL) {
			json_decref(m);
			return NULL;
		}
		json_t *k = obj_json(&kv->key, why);
		if (k == NULL) {
			json_decref(v);
			json_decref(m);
			return NULL;
		}
		if (json_is_string(k)) {
			json_object_setn_new(m, json_string_value(k),
			    json_string_length(k), v);
		} else {
			char *txt = json_dumps(k, JSON_COMPACT |
			    JSON_ENCODE_ANY);
			json_object_set_new(m, txt ? txt : "", v);
			free(txt);
		}
		json_decref(k);
	}
	return m;
}

static json_t *obj_json(const msgpack_object *o, char *why)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX)
			return json_real((double)o->via.u64);
		return json_integer((json_int_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer(o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return json_real(o->via.f64);
	case MSGPACK_OBJECT_STR:
		return particle_str(o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_BIN:
		return particle_str(o->via.bin.ptr, o->via.bin.size);
	case MSGPACK_OBJECT_ARRAY:
		return array_json(o, why);
	case MSGPACK_OBJECT_MAP:
		return map_json(o, why);
	case MSGPACK_OBJECT_EXT:
		snprintf(why, AS_VALUE_ERR_MAX, "unexpected msgpack extension");
		return NULL;
	}
	snprintf(why, AS_VALUE_ERR_MAX, "unknown msgpack type");
	return NULL;
}

static json_t *unpack(const uint8_t *p, size_t n, char *why)
{
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	msgpack_unpack_return r = msgpack_unpack_next(&u, (const char *)p, n,
	    &off);
	json_t *j = NULL;
	if (r != MSGPACK_UNPACK_SUCCESS || off != n)
		snprintf(why, AS_VALUE_ERR_MAX, "invalid msgpack value");
	else
		j = obj_json(&u.data, why);
	msgpack_unpacked_destroy(&u);
	return j;
}

json_t *as_value_decode(uint8_t ptype, const uint8_t *p, size_t n, char *why)
{
	switch (ptype) {
	case AS_PT_NULL:
		return json_null();
	case AS_PT_INTEGER:
		if (n != 8)
			break;
		return json_integer((json_int_t)(int64_t)as_get_u64(p));
	case AS_PT_FLOAT: {
		if (n != 8)
			break;
		uint64_t bits = as_get_u64(p);
		double d;
		memcpy(&d, &bits, 8);
		return json_real(d);
	}
	case AS_PT_BOOL:
		if (n != 1)
			break;
		return json_boolean(p[0] != 0);
	case AS_PT_STRING:
		return text_json((const char *)p, n);
	case AS_PT_LIST:
	case AS_PT_MAP:
		return unpack(p, n, why);
	default:
		return bytes_json(p, n);
	}
	snprintf(why, AS_VALUE_ERR_MAX, "bad length %zu for particle type %u",
	    n, ptype);
	return NULL;
}
