/* test_base64.c - common/base64.c: RFC 4648 vectors, round trips of
 * every length and byte, and the encodings that are refused. */
#include <string.h>

#include "base64.h"
#include "tap.h"

static int dec(struct buf *b, const char *s)
{
	buf_reset(b);
	return base64_decode(b, s, strlen(s));
}

static void test_vectors(void)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&b);
		buf_appends(&b, "x");
		base64_encode(&b, v[i][0], strlen(v[i][0]));
		CHECK(b.len == 1 + strlen(v[i][1]) &&
		    strcmp(b.data + 1, v[i][1]) == 0, "RFC 4648 vector, appended");
		CHECK(dec(&b, v[i][1]) == 0 && b.len == strlen(v[i][0]) &&
		    memcmp(b.data, v[i][0], b.len) == 0 && b.data[b.len] == '\0',
		    "RFC 4648 vector decodes");
	}
	buf_reset(&b);
	base64_encode(&b, "\xff\x00" "abc", 5);
	CHECK_STR(b.data, "/wBhYmM=", "'+/' alphabet and a NUL byte");
	buf_free(&b);
}

static void test_round_trips(void)
{
	unsigned char in[300];
	struct buf e = BUF_INIT, d = BUF_INIT;
	int ok = 1;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n <= sizeof(in); n++) {
		buf_reset(&e);
		buf_reset(&d);
		base64_encode(&e, in, n);
		if (e.len != BASE64_LENGTH(n) ||
		    base64_decode(&d, e.data, e.len) != 0 || d.len != n ||
		    memcmp(d.data, in, n) != 0)
			ok = 0;
	}
	CHECK(ok, "round trip of every length 0..300 and every byte value");
	buf_free(&e);
	buf_free(&d);
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Zm8", "Zm9vY", "a*==", "Zm9 v", " Zm9v", "Zm9v\n",
		"Zg==Zg==", "Z===", "A===", "====", "Zh==", "Zm9=", "Zm=v",
		"Zm9v\xc3\xa9==",
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&b);
		buf_appends(&b, "kept");
		int ok = base64_decode(&b, bad[i], strlen(bad[i])) < 0 &&
		    b.len == 4 && strcmp(b.data, "kept") == 0;

		CHECK(ok, "refused, buffer unchanged");
		if (!ok)
			printf("#   input: '%s'\n", bad[i]);
	}
	buf_free(&b);
}

int main(void)
{
	test_vectors();
	test_round_trips();
	test_refused();
	return tap_done();
}
