/*
 * test_bf_csv - CSV records as JSON objects (bf_csv.h): header, quoting,
 * embedded line breaks (blank lines too), inference, schema types, bad
 * records with their record and line numbers.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill/bf_csv.h"
#include "rec.h"
#include "tap.h"
#include "banned.h"

static char path[] = "/tmp/test_bf_csv-XXXXXX";

/* Reads text as CSV; returns records (and bad ones as "!reason")
 * joined by '\n'. */
static char *run(const char *text, const char *schema_text, char *why,
    size_t n)
{
	struct bf_csv_schema schema;
	struct lineio lr;
	struct bf_csv c;
	struct buf out = BUF_INIT;
	FILE *f = fopen(path, "wb");
	json_t *obj;
	const char *raw;
	size_t rawlen;
	char rwhy[160];
	int r;

	fputs(text, f);
	fclose(f);
	if (schema_text && bf_csv_schema_parse(&schema, schema_text, why, n) < 0)
		return NULL;
	lineio_open(&lr, path);
	if (bf_csv_open(&c, &lr, schema_text ? &schema : NULL, why, n) < 0) {
		lineio_close(&lr);
		if (schema_text)
			bf_csv_schema_free(&schema);
		return NULL;
	}
	while ((r = bf_csv_next(&c, &obj, rwhy, sizeof rwhy, &raw, &rawlen))
	    != 0) {
		if (r == 1) {
			rec_dump(&out, obj);
			json_decref(obj);
		} else {
			char m[200];

			snprintf(m, sizeof m, "!%llu@%llu %s",
			    (unsigned long long)c.record,
			    (unsigned long long)c.line, rwhy);
			buf_appends(&out, m);
		}
		buf_appendc(&out, '\n');
	}
	bf_csv_close(&c);
	lineio_close(&lr);
	if (schema_text)
		bf_csv_schema_free(&schema);
	if (out.data == NULL)
		buf_appends(&out, "");
	return out.data;
}

int main(void)
{
	char why[256];
	char *got;
	int fd = mkstemp(path);
	struct bf_csv_schema s;

	if (fd < 0)
		return 1;
	close(fd);

	got = run("a,b,c\n1,-2.5e1,x\n0,007,\"3\"\n-0,1.,\n", NULL, why,
	    sizeof why);
	CHECK_STR(got, "{\"a\":1,\"b\":-25.0,\"c\":\"x\"}\n"
	    "{\"a\":0,\"b\":\"007\",\"c\":\"3\"}\n"
	    "{\"a\":0,\"b\":\"1.\",\"c\":null}\n",
	    "infer: integers, numbers, quoted stays a string, empty is null");
	free(got);

	got = run("\xef\xbb\xbfk,v\n\"a,b\",\"line1\n\nline3\"\n\"q\"\"\",\" sp \"\n",
	    NULL, why, sizeof why);
	CHECK_STR(got, "{\"k\":\"a,b\",\"v\":\"line1\\n\\nline3\"}\n"
	    "{\"k\":\"q\\\"\",\"v\":\" sp \"}\n",
	    "quoting: commas, blank line inside, doubled quotes, BOM, spaces");
	free(got);

	got = run("k,v\n1,2,3\n2,\"x\"y\n3,4\n", NULL, why, sizeof why);
	CHECK_STR(got, "!1@2 3 fields, the header has 2\n"
	    "!2@3 malformed quoting\n{\"k\":3,\"v\":4}\n",
	    "bad records: numbered, the next good one still read");
	free(got);

	got = run("n,f,b,s\n1,2,true,4\n,,,\n", "n:int,f:number,b:bool,s:string",
	    why, sizeof why);
	CHECK_STR(got, "{\"n\":1,\"f\":2,\"b\":true,\"s\":\"4\"}\n"
	    "{\"n\":null,\"f\":null,\"b\":null,\"s\":\"\"}\n",
	    "schema: typed columns; empty is null, or \"\" for strings");
	free(got);

	got = run("n\n1.5\n", "n:int", why, sizeof why);
	CHECK_STR(got, "!1@2 column 'n': not an integer: '1.5'\n",
	    "schema: a value of the wrong type is a bad record");
	free(got);

	CHECK(run("a,a\n1,2\n", NULL, why, sizeof why) == NULL &&
	    strcmp(why, "header names a column twice: 'a'") == 0,
	    "header: a duplicate name is refused");
	CHECK(run("", NULL, why, sizeof why) == NULL &&
	    strcmp(why, "no header row") == 0, "header: empty input");
	CHECK(run("a\n1\n", "zz:int", why, sizeof why) == NULL,
	    "schema: a column the header lacks is refused");
	CHECK(bf_csv_schema_parse(&s, "a:date", why, sizeof why) < 0 &&
	    strcmp(why, "type of 'a' is not string, int, number or bool: "
	    "'date'") == 0, "schema: unknown type");
	CHECK(bf_csv_schema_parse(&s, "a", why, sizeof why) < 0,
	    "schema: NAME:TYPE needed");
	unlink(path);
	return tap_done();
}
