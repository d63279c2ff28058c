/* recenv.c - reading the Kafka envelope (see recenv.h). */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "recenv.h"

#include "banned.h"

#define WHY(...) (snprintf(why, REC_ERR_MAX, __VA_ARGS__), -1)

void rec_env_bytes(struct buf *b, const json_t *v)
{
	if (json_is_string(v))
		buf_append(b, json_string_value(v), json_string_length(v));
	else
		rec_dump(b, v);
}

bool rec_env_text(const void *vp, size_t n, bool nul_ok)
{
	const char *p = vp, *e = p + n;

	if (!nul_ok)
		return rec_utf8_text(p, n);
	for (;;) {
		const char *z = memchr(p, '\0', (size_t)(e - p));

		if (z == NULL)
			return rec_utf8_text(p, (size_t)(e - p));
		if (!rec_utf8_text(p, (size_t)(z - p)))
			return false;
		p = z + 1;
	}
}

void rec_env_put_header(struct rec_writer *w, struct buf *tmp,
    const void *p, size_t n, bool nul_ok)
{
	if (p == NULL) {
		rec_w_null(w);
	} else if (rec_env_text(p, n, nul_ok)) {
		rec_w_str(w, p, n);
	} else {
		buf_reset(tmp);
		base64_encode(tmp, p, n);
		rec_w_obj(w);
		rec_w_key(w, "base64");
		rec_w_str(w, tmp->data, tmp->len);
		rec_w_end(w);
	}
}

void rec_env_put_base64(struct rec_writer *w, struct buf *tmp,
    const char *name, const void *p, size_t n)
{
	char encname[32];

	buf_reset(tmp);
	base64_encode(tmp, p, n);
	rec_w_str(w, tmp->data, tmp->len);
	snprintf(encname, sizeof(encname), "%s_encoding", name);
	rec_w_key(w, encname);
	rec_w_str(w, "base64", 6);
}

/* Decodes member name (key or value) and its _encoding into out. */
static int decode_bytes(const json_t *env, const char *name, bool *has,
    struct buf *out, char *why)
{
	char encname[32];
	const json_t *v = json_object_get(env, name), *enc;

	snprintf(encname, sizeof(encname), "%s_encoding", name);
	enc = json_object_get(env, encname);
	*has = v != NULL && !json_is_null(v);
	if (!*has)
		return 0;
	if (enc != NULL && !json_is_null(enc)) {
		if (!json_is_string(enc) ||
		    strcmp(json_string_value(enc), "base64") != 0)
			return WHY("envelope: '%s' must be \"base64\"", encname);
		if (!json_is_string(v))
			return WHY("envelope: base64 '%s' is not a string", name);
		if (base64_decode(out, json_string_value(v),
		    json_string_length(v)) < 0)
			return WHY("envelope: '%s' is not valid base64", name);
		return 0;
	}
	rec_env_bytes(out, v);
	return 0;
}

static int header_one(const char *name, const json_t *v, struct buf *tmp,
    rec_env_header_fn fn, void *ctx, char *why)
{
	if (json_is_null(v))
		return fn ? fn(ctx, name, NULL, 0, why) : 0;
	if (json_is_string(v))
		return fn ? fn(ctx, name, json_string_value(v),
		    json_string_length(v), why) : 0;
	if (json_is_object(v) && json_object_size(v) == 1 &&
	    json_is_string(json_object_get(v, "base64"))) {
		const json_t *s = json_object_get(v, "base64");

		buf_reset(tmp);
		if (base64_decode(tmp, json_string_value(s),
		    json_string_length(s)) < 0)
			return WHY("envelope: header '%s': not valid base64", name);
		return fn ? fn(ctx, name, tmp->data, tmp->len, why) : 0;
	}
	return WHY("envelope: header '%s': expected a string, null or "
	    "{\"base64\":...}", name);
}

static int decode_headers(const json_t *h, rec_env_header_fn fn, void *ctx,
    char *why)
{
	struct buf tmp = BUF_INIT;
	const char *name;
	json_t *hv, *e;
	size_t i;
	int rc = 0;

	json_object_foreach((json_t *)h, name, hv) {
		if (json_is_array(hv)) {
			json_array_foreach(hv, i, e) {
				if ((rc = header_one(name, e, &tmp, fn, ctx,
				    why)) < 0)
					goto out;
			}
		} else if ((rc = header_one(name, hv, &tmp, fn, ctx, why)) < 0) {
			goto out;
		}
	}
out:
	buf_free(&tmp);
	return rc < 0 ? rc : 0;
}

int rec_env_decode(const json_t *env, struct rec_env *e,
    rec_env_header_fn header, void *ctx, char *why)
{
	const json_t *v;

	e->topic = NULL;
	e->partition = -1;
	e->has_timestamp = e->has_key = e->has_value = false;
	e->timestamp = 0;
	e->value_json = NULL;
	buf_reset(e->key);
	buf_reset(e->value);
	v = json_object_get(env, "topic");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return WHY("envelope: 'topic' is not a string");
		e->topic = json_string_value(v);
	}
	v = json_object_get(env, "partition");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT32_MAX)
			return WHY("envelope: 'partition' is not a partition number");
		e->partition = (int32_t)json_integer_value(v);
	}
	v = json_object_get(env, "timestamp");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return WHY("envelope: 'timestamp' is not epoch milliseconds");
		e->timestamp = json_integer_value(v);
		e->has_timestamp = true;
	}
	v = json_object_get(env, "value");
	e->value_member = v != NULL;
	if (decode_bytes(env, "key", &e->has_key, e->key, why) < 0 ||
	    decode_bytes(env, "value", &e->has_value, e->value, why) < 0)
		return -1;
	if (e->has_value && !json_is_string(v))
		e->value_json = v;
	v = json_object_get(env, "headers");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return WHY("envelope: 'headers' is not an object");
	return decode_headers(v, header, ctx, why);
}
