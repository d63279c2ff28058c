/*
 * test_recscan.c - the record module's scanner (common/recscan.c): the
 * quick record check never says yes where rec_parse() says no, UTF-8
 * text, and the envelope's choice between embedded JSON, text and
 * base64 that is made with them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka.h"
#include "rec.h"
#include "tap.h"

static bool parses_as_object(const char *p, size_t n)
{
	char why[REC_ERR_MAX];
	json_t *v = rec_parse(p, n, why);

	json_decref(v);
	return v != NULL;
}

/* True when p parses and rec_dump() writes exactly p back. */
static bool canonical(const char *p, size_t n)
{
	char why[REC_ERR_MAX];
	json_t *v = rec_parse(p, n, why);
	struct buf b = BUF_INIT;
	bool same;

	if (v == NULL)
		return false;
	rec_dump(&b, v);
	same = b.len == n && memcmp(b.data, p, n) == 0;
	json_decref(v);
	buf_free(&b);
	return same;
}

static const char *const yes[] = {
	"{}", " { } ", "{\"a\":1}", "{\"a\":-0,\"b\":1.5e-7,\"c\":[true,false,null]}",
	"{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}", "{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}",
	"{\"a\":{\"b\":{\"c\":[[],{}]}}}", "{\"a\": 1}\r\n", "{\"n\":123456789012345678}",
	NULL
};

static const char *const unsure[] = {
	"", "[]", "1", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}",
	"{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":1e}",
	"{\"a\":1e999}", "{\"n\":1234567890123456789}", "{\"a\":tru}",
	"{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\x\"}",
	"{\"a\":\"\t\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}",
	"{\"a\":\"\xed\xa0\x80\"}", "{} {}", "{}x", "\xef\xbb\xbf{}", "{\"a\":1}\f",
	NULL
};

/* A small deterministic generator for the mutation test. */
static uint64_t rng = 88172645463325252ULL;

static unsigned next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)rng;
}

static void test_quick_object(void)
{
	static const char alphabet[] = "{}[]\":,. -+01e9aElnrstu\\/\xc3\xa9\xff\t\n";
	static const char *const seeds[] = {
		"{\"a\":[1,2.5,{\"b\":\"x\\u00e9\"}],\"c\":null,\"d\":true}",
		"{\"user\":\"u1\",\"ts\":1764057600000,\"amount\":-12.5e3}",
		"{\"s\":\"\\\\\\\"\",\"e\":{},\"f\":[]}",
		"{\"a\":0.00012,\"b\":-3.25,\"c\":[100.5,7,0.5]}",
	};
	size_t i, bad = 0, badc = 0, canon = 0;
	char line[128];
	const char *nul;

	for (i = 0; yes[i]; i++)
		CHECK(rec_quick_object(yes[i], strlen(yes[i])) &&
		    parses_as_object(yes[i], strlen(yes[i])), yes[i]);
	for (i = 0; unsure[i]; i++)
		CHECK(!rec_quick_object(unsure[i], strlen(unsure[i])),
		    unsure[i]);
	nul = "{\"a\":\"\0\"}";
	CHECK(!rec_quick_object(nul, 9), "a raw NUL byte is not sure");

	/* 200 000 random mutations: every yes is a yes of rec_parse(). */
	for (i = 0; i < 200000; i++) {
		const char *s = seeds[i % 4];
		size_t n = strlen(s), k, edits = 1 + next() % 3;

		memcpy(line, s, n);
		for (k = 0; k < edits; k++) {
			size_t at = next() % n;
			char c = alphabet[next() % (sizeof(alphabet) - 1)];

			switch (next() % 3) {
			case 0:
				line[at] = c;
				break;
			case 1:
				if (n + 1 < sizeof(line)) {
					memmove(line + at + 1, line + at, n - at);
					line[at] = c;
					n++;
				}
				break;
			default:
				if (n > 1) {
					memmove(line + at, line + at + 1, n - at - 1);
					n--;
				}
				break;
			}
		}
		if (rec_quick_object(line, n) && !parses_as_object(line, n)) {
			if (bad++ < 5)
				printf("# quick yes, rec_parse no: %.*s\n", (int)n, line);
		}
		if (rec_quick_canonical(line, n)) {
			canon++;
			if (!canonical(line, n) && badc++ < 5)
				printf("# canonical yes, rec_dump differs: %.*s\n",
				    (int)n, line);
		}
	}
	CHECK(bad == 0, "200000 mutations: quick never accepts what rec_parse rejects");
	CHECK(badc == 0, "200000 mutations: canonical only where rec_dump gives the same bytes");
	CHECK(canon > 1000, "the mutations include canonical objects");

	CHECK(rec_quick_canonical("{\"a\":1,\"b\":[true,null,\"x\\\"\"]}", 29) &&
	    canonical("{\"a\":1,\"b\":[true,null,\"x\\\"\"]}", 29),
	    "canonical: compact object");
	CHECK(!rec_quick_canonical("{\"a\":1,\"a\":2}", 13),
	    "canonical: a duplicate key is not");
	CHECK(!rec_quick_canonical("{\"a\": 1}", 8), "canonical: a space is not");
	CHECK(rec_quick_canonical("{\"a\":2.5}", 9), "canonical: 2.5");
	CHECK(!rec_quick_canonical("{\"a\":2.50}", 10), "canonical: 2.50 is not");
	CHECK(!rec_quick_canonical("{\"a\":1e5}", 9), "canonical: 1e5 is not");
	CHECK(!rec_quick_canonical("{\"a\":0.00001}", 13), "canonical: 0.00001 is not");
	CHECK(!rec_quick_canonical("{\"a\":-0}", 8), "canonical: -0 is not");
	CHECK(!rec_quick_canonical("{\"a\":\"\\/\"}", 10),
	    "canonical: an escaped slash is not");
}

/* rec_quick_data_members() answers what rec_line_maybe_control() and
 * rec_quick_members() answer together, with the same spans, also on
 * the plain lines its fast path takes (16 to 256 bytes, no backslash,
 * control or non-ASCII byte). */
static void test_quick_data(void)
{
	static const char alphabet[] = "{}[]\":,. -+01e9aElnrstu@f\\\xc3\t";
	static const char *const seeds[] = {
		"{\"ts\":1767225600000,\"user\":\"u0566\",\"event\":\"view\","
		"\"amount\":465,\"window_start\":1767225600000}",
		"{\"ts\": 5, \"k\" : [\"x\",{\"user\":\"q\"}] , \"user\":\"a\","
		"\"user\":\"b\",\"v\":{\"amount\":\"}\"},\"amount\":-1.5e3}",
		"{\"@fs\":\"watermark\",\"ts\":1767225600000,\"user\":\"@\"}",
		"{\"user\":\"@fs\",\"ts\":true,\"amount\":null,\"z\":false}",
	};
	static const struct rec_want want[] = {
		{ "ts", 2 }, { "user", 4 }, { "amount", 6 }, { "k", 1 },
	};
	struct rec_span a[4], b[4];
	size_t i, bad = 0, data = 0, ctl = 0;
	char line[300];

	for (i = 0; i < 200000; i++) {
		const char *s = seeds[i % 4];
		size_t n = strlen(s), k, edits = next() % 4;
		int d, g;

		memcpy(line, s, n);
		/* Some lines near the fast path's 256 bytes. */
		if (i % 7 == 0 && n + 120 < sizeof line) {
			memmove(line + 1 + 120, line + 1, n - 1);
			memcpy(line + 1, "\"pad\":\"", 7);
			memset(line + 8, 'p', 111);
			memcpy(line + 119, "\",", 2);
			n += 120 - next() % 3;
		}
		for (k = 0; k < edits; k++) {
			size_t at = next() % n;

			line[at] = alphabet[next() % (sizeof(alphabet) - 1)];
		}
		d = rec_quick_data_members(line, n, want, 4, a);
		g = rec_line_maybe_control(line, n) ? -1 :
		    rec_quick_members(line, n, want, 4, b) ? 1 : 0;
		if (d == 1) {
			data++;
			for (k = 0; k < 4; k++)
				if (a[k].p != b[k].p ||
				    (a[k].p != NULL && a[k].n != b[k].n))
					d = 2;
		}
		ctl += d == -1;
		if (d != g && bad++ < 5)
			printf("# quick data %d, apart %d: %.*s\n", d, g,
			    (int)n, line);
	}
	CHECK(bad == 0, "200000 mutations: the data scan answers as the "
	    "control check and the member scan do");
	CHECK(data > 20000 && ctl > 10000, "the mutations include data and "
	    "control lines");
}

static void test_text(void)
{
	CHECK(kafka_value_text(NULL, 0) == KAFKA_NULL, "no bytes: null");
	CHECK(kafka_value_text("{\"a\":1}", 7) == KAFKA_JSON, "compact object: JSON");
	CHECK(kafka_value_text("{\"a\": 1}", 8) == KAFKA_STRING,
	    "spaced object: text (it would not round-trip)");
	CHECK(kafka_value_text("42", 2) == KAFKA_JSON, "number: JSON");
	CHECK(kafka_value_text("1.50", 4) == KAFKA_STRING,
	    "1.50: text (fs writes 1.5)");
	CHECK(kafka_value_text("2.5", 3) == KAFKA_JSON, "2.5: JSON");
	CHECK(kafka_value_text("null", 4) == KAFKA_STRING, "the word null: text");
	CHECK(kafka_value_text("\"q\"", 3) == KAFKA_STRING, "a JSON string: text");
	CHECK(kafka_value_text("", 0) == KAFKA_STRING, "empty: text");
	CHECK(kafka_value_text("a\0b", 3) == KAFKA_BASE64, "NUL: base64");
	CHECK(kafka_value_text("\xc3\xa9", 2) == KAFKA_STRING, "UTF-8: text");
	CHECK(kafka_value_text("\xc3", 1) == KAFKA_BASE64, "cut UTF-8: base64");
}

static void test_utf8(void)
{
	CHECK(rec_utf8_text("", 0), "utf8: empty");
	CHECK(rec_utf8_text("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10),
	    "utf8: 1 to 4 byte sequences");
	CHECK(!rec_utf8_text("a\0b", 3), "utf8: NUL is not text");
	CHECK(!rec_utf8_text("\xc0\xaf", 2), "utf8: overlong");
	CHECK(!rec_utf8_text("\xed\xa0\x80", 3), "utf8: surrogate");
	CHECK(!rec_utf8_text("\xf4\x90\x80\x80", 4), "utf8: above U+10FFFF");
	CHECK(!rec_utf8_text("\xe2\x82", 2), "utf8: cut sequence");
	CHECK(!rec_utf8_text("\x80", 1), "utf8: lone continuation byte");
}

/* Every top-level member, in order, with the spans of its key and its
 * value; "not sure" as rec_quick_object(), and past max members. */
static void test_quick_all(void)
{
	static const char line[] =
	    " {\"a\":1, \"bb\" : \"x y\",\"c\":[1,{\"d\":null}],\"a\":-2.5e3} ";
	struct rec_member m[4];
	size_t n = 99;

	CHECK(rec_quick_all(line, strlen(line), m, 4, &n) && n == 4,
	    "all: four members, the duplicate too");
	CHECK(n == 4 && m[0].key.n == 1 && m[0].key.p[0] == 'a' &&
	    m[0].val.n == 1 && m[0].val.p[0] == '1', "all: an integer");
	CHECK(n == 4 && m[1].key.n == 2 && memcmp(m[1].key.p, "bb", 2) == 0 &&
	    m[1].val.n == 5 && memcmp(m[1].val.p, "\"x y\"", 5) == 0,
	    "all: a string, its quotes in the span, spaces around the colon");
	CHECK(n == 4 && m[2].val.n == 14 &&
	    memcmp(m[2].val.p, "[1,{\"d\":null}]", 14) == 0,
	    "all: an array as its bytes");
	CHECK(n == 4 && m[3].val.n == 6 &&
	    memcmp(m[3].val.p, "-2.5e3", 6) == 0, "all: the last member");
	CHECK(!rec_quick_all(line, strlen(line), m, 3, &n),
	    "all: more members than max is not sure");
	CHECK(rec_quick_all("{}", 2, m, 4, &n) && n == 0, "all: empty object");
	CHECK(!rec_quick_all("{\"\\u0061\":1}", 11, m, 4, &n),
	    "all: an escaped key is not sure");
	CHECK(!rec_quick_all("{\"a\":1", 6, m, 4, &n),
	    "all: a cut line is not sure");
	CHECK(!rec_quick_all("[1]", 3, m, 4, &n), "all: not an object");
	CHECK(!rec_quick_all("{\"a\":1234567890123456789}", 25, m, 4, &n),
	    "all: 19 digits are not sure");
}

int main(void)
{
	test_quick_object();
	test_quick_data();
	test_quick_all();
	test_utf8();
	test_text();
	return tap_done();
}
