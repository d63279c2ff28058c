/*
 * libFuzzer target: the expressions of select.h.  The input is a
 * condition, a field list and a record, separated by newlines.  Any
 * bytes must parse or be refused with a column; what parses is run on
 * the record and on a few fixed ones, and the fast scan and the parsed
 * record must give the same verdict, output and reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "select/select.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed[] = {
	"{\"a\":7,\"b\":-2,\"d\":2.5,\"s\":\"ab\",\"t\":true,\"z\":null}",
	"{\"bid\":{\"auction\":246,\"price\":1000},\"o\":{\"k\":[1,{}]}}",
	"{\"a\":\"x\\u0041\",\"b\":9223372036854775807,\"d\":1e300}",
};

static void run_one(struct sel *s, const char *line, size_t len)
{
	char why1[REC_ERR_MAX], why2[REC_ERR_MAX];
	struct buf o1 = BUF_INIT, o2 = BUF_INIT;
	enum sel_verdict v1, v2;
	json_t *obj;

	v1 = sel_record(s, line, len, NULL, &o1, why1);
	obj = rec_parse(line, len, why2);
	if (obj != NULL) {
		v2 = sel_record(s, line, len, obj, &o2, why2);
		if (v1 != v2)
			abort();        /* the two routes disagree */
		if (v1 == SEL_KEEP && (o1.len != o2.len ||
		    memcmp(o1.data ? o1.data : "", o2.data ? o2.data : "",
		    o1.len) != 0))
			abort();
		if (v1 == SEL_ERROR && strcmp(why1, why2) != 0)
			abort();
		if (v1 == SEL_KEEP && o1.len > 0) {
			json_t *back = rec_parse(o1.data, o1.len, why2);

			if (back == NULL)
				abort();        /* the output is not a record */
			json_decref(back);
		}
		json_decref(obj);
	} else if (v1 != SEL_ERROR) {
		abort();                /* kept a line rec_parse refuses */
	}
	buf_free(&o1);
	buf_free(&o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *e = p + size;
	const char *nl1 = memchr(p, '\n', size), *nl2;
	char *where, *fields = NULL, why[256];
	struct sel *s = sel_new();
	bool ok;

	if (nl1 == NULL)
		nl1 = e;
	where = xstrndup(p, (size_t)(nl1 - p));
	nl2 = nl1 < e ? memchr(nl1 + 1, '\n', (size_t)(e - nl1 - 1)) : NULL;
	if (nl1 < e)
		fields = xstrndup(nl1 + 1, (size_t)((nl2 ? nl2 : e) - nl1 - 1));
	ok = (where[0] == '\0' || sel_where(s, where, why, sizeof why) == 0) &&
	    (fields == NULL || fields[0] == '\0' ||
	    sel_fields(s, fields, why, sizeof why) == 0);
	if (!ok && strncmp(why, "column ", 7) != 0)
		abort();                /* a refusal without its column */
	if (ok) {
		for (size_t k = 0; k < sizeof fixed / sizeof *fixed; k++)
			run_one(s, fixed[k], strlen(fixed[k]));
		if (nl2 != NULL)
			run_one(s, nl2 + 1, (size_t)(e - nl2 - 1));
	}
	sel_free(s);
	free(where);
	free(fields);
	return 0;
}
