/* Unit tests: named fields that no record had (fieldseen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "diag.h"
#include "fieldseen.h"
#include "tap.h"

/* stderr goes to a temporary file while a test runs fieldseen_finish(),
 * so the messages can be compared whole. */
static FILE *capture;
static int saved_stderr = -1;

static void capture_start(void)
{
	fflush(stderr);
	capture = tmpfile();
	saved_stderr = dup(2);
	dup2(fileno(capture), 2);
}

static const char *capture_end(void)
{
	static char text[4096];
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	rewind(capture);
	n = fread(text, 1, sizeof text - 1, capture);
	text[n] = '\0';
	fclose(capture);
	return text;
}

static json_t *rec(const char *text)
{
	json_t *o = json_loads(text, 0, NULL);

	if (o == NULL)
		abort();
	return o;
}

static void show(struct fieldseen *fs, const char *text)
{
	json_t *o = rec(text);

	fieldseen_record(fs, o);
	json_decref(o);
}

static void add(struct fieldseen *fs, const char *path, const char *opt,
    const char *arg)
{
	struct path p;

	if (path_compile(&p, path) < 0)
		abort();
	fieldseen_add(fs, &p, opt, arg);
	path_free(&p);
}

static void test_warning(void)
{
	struct fieldseen fs;
	int rc;

	fieldseen_init(&fs, false);
	add(&fs, "amout", "--agg", "n=sum:amout");
	add(&fs, "user", "--key", "user");
	show(&fs, "{\"user\":\"u1\",\"amount\":3}");
	show(&fs, "{\"user\":\"u2\",\"amount\":4}");
	CHECK_I64((int64_t)fieldseen_absent(&fs), 1, "one field absent");
	capture_start();
	rc = fieldseen_finish(&fs);
	CHECK_STR(capture_end(), "test: field 'amout' (in --agg n=sum:amout) "
	    "was absent in all 2 records\n", "the warning names the field, "
	    "its option and the record count");
	CHECK_I64(rc, 0, "a warning leaves the exit status alone");
}

static void test_strict(void)
{
	struct fieldseen fs;
	bool strict = false;
	int rc;

	strict = true;
	fieldseen_init(&fs, strict);
	add(&fs, "evnt", "--agg", "n=count:if:evnt=click");
	show(&fs, "{\"event\":\"click\"}");
	capture_start();
	rc = fieldseen_finish(&fs);
	CHECK_STR(capture_end(), "test: field 'evnt' (in --agg "
	    "n=count:if:evnt=click) was absent in the only record\n",
	    "--strict: the same message, one record");
	CHECK_I64(rc, 1, "--strict: an absent field is exit status 1");

	/* -q hides warnings, never the error */
	diag_set_verbosity(DIAG_QUIET);
	fieldseen_init(&fs, true);
	add(&fs, "x", "-H", "h=x");
	show(&fs, "{}");
	capture_start();
	rc = fieldseen_finish(&fs);
	CHECK_STR(capture_end(), "test: field 'x' (in -H h=x) was absent in "
	    "the only record\n", "--strict with -q: still said");
	CHECK_I64(rc, 1, "--strict with -q: still an error");
	fieldseen_init(&fs, false);
	add(&fs, "x", "-H", "h=x");
	show(&fs, "{}");
	capture_start();
	rc = fieldseen_finish(&fs);
	CHECK_STR(capture_end(), "", "-q hides the warning");
	CHECK_I64(rc, 0, "-q: exit status 0");
	diag_set_verbosity(DIAG_NORMAL);
}

/* The table's --strict (OPT_GROUP_FIELDSEEN): its help and its flag. */
static void test_option_group(void)
{
	bool strict = false;
	const struct opt opts[] = { OPT_GROUP_FIELDSEEN(&strict), OPT_END };
	char a0[] = "test", a1[] = "--strict";
	char *argv[] = { a0, a1, NULL };
	struct buf b = BUF_INIT;

	opt_help(&b, "", opts, 0);
	CHECK_STR(b.data,
	    "  --strict              a named field absent from every record is an\n"
	    "                        error (default: a warning)\n",
	    "group: its help");
	buf_free(&b);
	CHECK_I64(opt_parse("usage: test\n", opts, 0, 2, argv), 2,
	    "group: --strict parsed");
	CHECK(strict, "group: --strict sets the flag");
}

static void test_presence(void)
{
	struct fieldseen fs;
	int rc;

	fieldseen_init(&fs, true);
	add(&fs, "a.b", "--key", "a.b");
	add(&fs, "n", "--agg", "x=sum:n");
	add(&fs, "late", "--bins", "late");
	show(&fs, "{\"a\":{\"c\":1},\"n\":null}");
	CHECK_I64((int64_t)fieldseen_absent(&fs), 2,
	    "a null member is present; a sibling path is not");
	show(&fs, "{\"a\":{\"b\":1}}");
	CHECK_I64((int64_t)fieldseen_absent(&fs), 1,
	    "a nested member found in the second record");
	CHECK_I64((int64_t)fs.nunseen, 1, "a field found is not looked up "
	    "again");
	show(&fs, "{\"late\":true}");
	CHECK_I64((int64_t)fs.nunseen, 0, "all found: nothing left to look up");
	show(&fs, "{}");
	CHECK_I64((int64_t)fs.records, 4, "every record counted");
	capture_start();
	rc = fieldseen_finish(&fs);
	CHECK_STR(capture_end(), "", "a field present in some records: no "
	    "message");
	CHECK_I64(rc, 0, "... and exit status 0 under --strict");
}

static void test_edges(void)
{
	struct fieldseen fs;
	int rc;

	/* no record: nothing to be absent from */
	fieldseen_init(&fs, true);
	add(&fs, "x", "--key", "x");
	CHECK_I64((int64_t)fieldseen_absent(&fs), 0, "no record: none absent");
	capture_start();
	rc = fieldseen_finish(&fs);
	CHECK_STR(capture_end(), "", "no record: no message");
	CHECK_I64(rc, 0, "no record: exit status 0");

	/* one field named twice: one message, the first option */
	fieldseen_init(&fs, false);
	add(&fs, "amout", "--agg", "a=sum:amout");
	add(&fs, "amout", "--agg", "b=avg:amout");
	add(&fs, "usr", "--key", NULL);
	CHECK_I64((int64_t)fs.n, 2, "a path registered twice is kept once");
	show(&fs, "{}");
	show(&fs, "{}");
	show(&fs, "{}");
	capture_start();
	rc = fieldseen_finish(&fs);
	CHECK_STR(capture_end(),
	    "test: field 'amout' (in --agg a=sum:amout) was absent in all 3 "
	    "records\n"
	    "test: field 'usr' (in --key) was absent in all 3 records\n",
	    "once per field, in the order registered; an option without "
	    "argument");
	CHECK_I64(rc, 0, "warnings only");
}

static void test_keys(void)
{
	struct fieldseen fs;
	struct keyspec k;

	fieldseen_init(&fs, false);
	if (keyspec_compile(&k, "user,country") < 0)
		abort();
	fieldseen_add_keys(&fs, &k, "--key", "user,country");
	keyspec_free(&k);
	CHECK_I64((int64_t)fs.n, 2, "every path of a key spec registered");
	CHECK_STR(fs.f[1].origin, "--key user,country", "with the whole "
	    "option");
	show(&fs, "{\"user\":1,\"country\":\"fr\"}");
	CHECK_I64((int64_t)fieldseen_absent(&fs), 0, "both found");
	fieldseen_finish(&fs);
}

int main(void)
{
	diag_init("test");
	test_warning();
	test_strict();
	test_option_group();
	test_presence();
	test_edges();
	test_keys();
	return tap_done();
}
