/*
 * test_recenv.c - the record module's writer (rec_w_*) and the Kafka
 * envelope decoder (recenv.h) that fs-produce -E and fs-backfill share.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "recenv.h"
#include "tap.h"

static void test_writer(void)
{
	struct buf b = BUF_INIT;
	struct rec_writer w;

	buf_appends(&b, "x\n");
	rec_w_init(&w, &b);
	rec_w_obj(&w);
	rec_w_key(&w, "a");
	rec_w_i64(&w, -7);
	rec_w_key(&w, "q\"\n");
	rec_w_str(&w, "t\x01\xc3\xa9", 4);
	rec_w_key(&w, "h");
	rec_w_obj(&w);
	rec_w_end(&w);
	rec_w_key(&w, "l");
	rec_w_arr(&w);
	rec_w_null(&w);
	rec_w_raw(&w, "{\"k\":[1]}", 9);
	rec_w_arr(&w);
	rec_w_end(&w);
	rec_w_str(&w, "", 0);
	rec_w_end(&w);
	rec_w_end(&w);
	CHECK_STR(b.data, "x\n{\"a\":-7,\"q\\\"\\n\":\"t\\u0001\xc3\xa9\",\"h\":{},"
	    "\"l\":[null,{\"k\":[1]},[],\"\"]}",
	    "writer: commas, nesting, escapes as rec_dump()'s, appended");
	buf_free(&b);

	CHECK(rec_canonical("{\"a\":1}", 7), "canonical: compact object");
	CHECK(rec_canonical("[1,2]", 5), "canonical: an array (jansson's path)");
	CHECK(!rec_canonical("[1, 2]", 6), "canonical: not with a space");
	CHECK(!rec_canonical("\"s\"", 3), "canonical: a string never is");
}

/* Every byte at every place of an 8-byte block and of the tail: what
 * rec_w_utf8() writes is jansson's escaping of the string, and a byte
 * that is not UTF-8 alone is refused with nothing written. */
static void test_writer_bytes(void)
{
	struct buf b = BUF_INIT;
	struct rec_writer w;
	int bad = 0;

	for (int c = 0; c < 256; c++)
		for (size_t len = 1, at = 0; len <= 19; at = at + 1 < len ? at + 1 : 0,
		    len += at == 0) {
			char s[19];
			json_t *j;
			char *want;
			bool ok;

			for (size_t i = 0; i < len; i++)
				s[i] = (char)('a' + i);
			s[at] = (char)c;
			buf_reset(&b);
			rec_w_init(&w, &b);
			ok = rec_w_utf8(&w, s, len);
			j = json_stringn(s, len);
			if (j == NULL) {
				bad += ok || b.len != 0;
				continue;
			}
			want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
			bad += !ok || strcmp(b.data, want) != 0;
			free(want);
			json_decref(j);
		}
	CHECK(bad == 0, "writer: rec_w_utf8() escapes as jansson, every byte "
	    "anywhere in strings of 1 to 19 bytes; refuses what is not UTF-8");

	buf_reset(&b);
	rec_w_init(&w, &b);
	rec_w_obj(&w);
	{
		struct buf k = BUF_INIT;

		rec_key_make(&k, "q\"\n");
		rec_w_key_made(&w, k.data, k.len);
		rec_w_utf8(&w, "a\0b", 3);
		rec_w_key_made(&w, k.data, k.len);
		rec_w_i64(&w, 1);
		buf_free(&k);
	}
	rec_w_end(&w);
	CHECK_STR(b.data, "{\"q\\\"\\n\":\"a\\u0000b\",\"q\\\"\\n\":1}",
	    "writer: made keys as rec_w_key()'s, commas the writer's; NUL kept");
	buf_free(&b);
}

/* Integers at every length and sign, as printf writes them. */
static void test_writer_ints(void)
{
	struct buf b = BUF_INIT;
	struct rec_writer w;
	int bad = 0;
	int64_t v[] = { 0, 9, 10, 99, 100, INT64_MAX, INT64_MIN,
		INT64_MIN + 1, 1764057600000 };
	uint64_t p = 1;

	for (int i = 0; i < 19; i++, p *= 10)
		for (int64_t d = -1; d <= 1; d++) {
			int64_t x[2] = { (int64_t)p + d, -((int64_t)p + d) };

			for (int k = 0; k < 2; k++) {
				char want[32];

				buf_reset(&b);
				rec_w_init(&w, &b);
				rec_w_i64(&w, x[k]);
				snprintf(want, sizeof(want), "%" PRId64, x[k]);
				bad += strcmp(b.data, want) != 0;
			}
		}
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		char want[32];

		buf_reset(&b);
		rec_w_init(&w, &b);
		rec_w_i64(&w, v[i]);
		snprintf(want, sizeof(want), "%" PRId64, v[i]);
		bad += strcmp(b.data, want) != 0;
	}
	CHECK(bad == 0, "writer: integers of every length as printf's");
	buf_free(&b);
}

static json_t *parse(const char *s)
{
	char why[REC_ERR_MAX];

	return rec_parse(s, strlen(s), why);
}

struct seen {
	struct buf b;
};

static int on_header(void *ctx, const char *name, const void *p, size_t n,
    char *why)
{
	struct seen *s = ctx;

	(void)why;
	buf_appends(&s->b, name);
	buf_appendc(&s->b, '=');
	if (p == NULL)
		buf_appends(&s->b, "(null)");
	else
		buf_append(&s->b, p, n);
	buf_appendc(&s->b, ';');
	return 0;
}

static void test_decode(void)
{
	struct buf key = BUF_INIT, value = BUF_INIT;
	struct rec_env e = { .key = &key, .value = &value };
	struct seen s = { BUF_INIT };
	char why[REC_ERR_MAX];
	json_t *env;

	env = parse("{\"topic\":\"t\",\"partition\":2,\"offset\":5,"
	    "\"timestamp\":1700,\"timestamp_type\":\"create\",\"key\":{\"id\":7},"
	    "\"headers\":{\"h\":[\"a\",null],\"bin\":{\"base64\":\"/w==\"}},"
	    "\"value\":\"/wA=\",\"value_encoding\":\"base64\"}");
	CHECK(rec_env_decode(env, &e, on_header, &s, why) == 0,
	    "decode: a full envelope");
	CHECK_STR(e.topic, "t", "decode: topic");
	CHECK(e.partition == 2 && e.has_timestamp && e.timestamp == 1700,
	    "decode: partition and timestamp");
	CHECK(e.has_key && key.len == 8 && memcmp(key.data, "{\"id\":7}", 8) == 0,
	    "decode: an embedded key is its compact JSON");
	CHECK(e.has_value && value.len == 2 && memcmp(value.data, "\xff", 2) == 0
	    && e.value_json == NULL, "decode: a base64 value is its bytes");
	CHECK(s.b.len == 19 && memcmp(s.b.data, "h=a;h=(null);bin=\xff;", 19) == 0,
	    "decode: headers in order, repeated, null and base64");
	json_decref(env);

	env = parse("{\"value\":{\"a\":1},\"key\":null}");
	CHECK(rec_env_decode(env, &e, NULL, NULL, why) == 0 && !e.has_key &&
	    e.topic == NULL && e.partition == -1 && !e.has_timestamp &&
	    e.value_json == json_object_get(env, "value") &&
	    strcmp(value.data, "{\"a\":1}") == 0,
	    "decode: embedded value, nothing else; key emptied");
	json_decref(env);

	env = parse("{\"timestamp\":1,\"value\":null}");
	CHECK(rec_env_decode(env, &e, NULL, NULL, why) == 0 && e.value_member &&
	    !e.has_value, "decode: a tombstone");
	json_decref(env);

	static const char *const bad[][2] = {
		{ "{\"partition\":\"0\"}",
		  "envelope: 'partition' is not a partition number" },
		{ "{\"timestamp\":-1}",
		  "envelope: 'timestamp' is not epoch milliseconds" },
		{ "{\"value\":\"Zg\",\"value_encoding\":\"base64\"}",
		  "envelope: 'value' is not valid base64" },
		{ "{\"key\":\"a\",\"key_encoding\":\"hex\"}",
		  "envelope: 'key_encoding' must be \"base64\"" },
		{ "{\"headers\":{\"h\":1}}",
		  "envelope: header 'h': expected a string, null or {\"base64\":...}" },
		{ "{\"headers\":[]}", "envelope: 'headers' is not an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env = parse(bad[i][0]);
		why[0] = '\0';
		CHECK(rec_env_decode(env, &e, NULL, NULL, why) < 0,
		    "decode: a malformed envelope is refused");
		CHECK_STR(why, bad[i][1], "decode: with the reason");
		json_decref(env);
	}
	buf_free(&key);
	buf_free(&value);
	buf_free(&s.b);
}

int main(void)
{
	test_writer();
	test_writer_bytes();
	test_writer_ints();
	test_decode();
	return tap_done();
}
