/*
 * test_kafka_fmt.c - kcat's -f and -K formats (kafka_fmt.c): escapes
 * resolved as kcat resolves them, tokens parsed into items, and the
 * faults a usage error names.
 */
#include <string.h>

#include "kafka/kafka.h"
#include "tap.h"

/* kafka_unescape(s) as a NUL-terminated string (no NUL in the cases). */
static const char *unescaped(struct buf *b, const char *s)
{
	buf_reset(b);
	kafka_unescape(b, s, strlen(s));
	buf_appendc(b, '\0');
	return b->data;
}

static void test_unescape(void)
{
	struct buf b = BUF_INIT;

	CHECK_STR(unescaped(&b, "a\\tb\\nc\\rd"), "a\tb\nc\rd", "\\t \\n \\r");
	CHECK_STR(unescaped(&b, "\\x41\\x4a|"), "AJ|", "\\xHH is hexadecimal");
	CHECK_STR(unescaped(&b, "\\65\\066"), "A6", "\\DDD decimal, octal after 0");
	CHECK_STR(unescaped(&b, "\\321"), "A", "above 255: the low byte");
	CHECK_STR(unescaped(&b, "\\|\\\\\\%"), "|\\%", "other characters as they are");
	CHECK_STR(unescaped(&b, "end\\"), "end\\", "a backslash at the end stays");
	CHECK_STR(unescaped(&b, "\\xg"), "xg", "\\x without digits is x");
	buf_reset(&b);
	kafka_unescape(&b, "a\\x00|", 6);
	/* (hex digits run on, as strtoul reads them: \x00b is 0x0b) */
	CHECK(b.len == 3 && b.data[1] == '\0', "\\x00 is a NUL byte, kept");
	buf_free(&b);
}

static void test_parse(void)
{
	struct kafka_fmt f;
	char why[128];

	CHECK(kafka_fmt_parse(&f, "%t [%p] @%o: %k=%s\\n", why, sizeof(why)) == 0,
	    "a format with tokens and text parses");
	CHECK(f.n == 10, "ten items: 5 tokens, 5 texts");
	CHECK(f.v[0].kind == KAFKA_FMT_TOPIC && f.v[2].kind == KAFKA_FMT_PARTITION &&
	    f.v[4].kind == KAFKA_FMT_OFFSET && f.v[6].kind == KAFKA_FMT_KEY &&
	    f.v[8].kind == KAFKA_FMT_VALUE, "tokens in order");
	CHECK(f.v[9].kind == KAFKA_FMT_TEXT && f.v[9].len == 1 &&
	    f.text.data[f.v[9].off] == '\n', "the trailing \\n is a newline");
	kafka_fmt_free(&f);
	CHECK(kafka_fmt_parse(&f, "%K%S%R%T%h%%", why, sizeof(why)) == 0 &&
	    f.n == 6 && f.v[5].kind == KAFKA_FMT_TEXT &&
	    f.text.data[f.v[5].off] == '%', "%K %S %R %T %h and %%");
	kafka_fmt_free(&f);
	CHECK(kafka_fmt_parse(&f, "%o %x", why, sizeof(why)) == -1, "%x is refused");
	CHECK_STR(why, "unknown token '%x'", "naming it");
	CHECK(kafka_fmt_parse(&f, "at %", why, sizeof(why)) == -1, "a lone % is refused");
	CHECK_STR(why, "'%' at the end", "saying where");
	kafka_fmt_key_delim(&f, "\\t");
	CHECK(f.n == 4 && f.v[0].kind == KAFKA_FMT_KEY &&
	    f.text.data[f.v[1].off] == '\t' && f.v[2].kind == KAFKA_FMT_VALUE &&
	    f.text.data[f.v[3].off] == '\n', "-K DELIM is %k DELIM %s \\n");
	kafka_fmt_free(&f);
}

int main(void)
{
	test_unescape();
	test_parse();
	return tap_done();
}
