/* Unit tests: the expressions of select.h, evaluated on records. */
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "select/select.h"
#include "tap.h"

/* The value of expr on the record line, as written: "v" of the output
 * of --fields 'v=EXPR' (columns in messages count the "v="), or
 * "error: " and the reason; the fast and the parsed routes must agree
 * (the parsed one is given the record whole). */
static const char *value(const char *line, const char *expr)
{
	static char res[512];
	char why[REC_ERR_MAX], why2[REC_ERR_MAX], fields[256];
	struct sel *s = sel_new();
	struct buf out = BUF_INIT, out2 = BUF_INIT;
	json_t *obj;
	enum sel_verdict v, v2;

	snprintf(fields, sizeof fields, "v=%s", expr);
	if (sel_fields(s, fields, why, sizeof why) < 0) {
		snprintf(res, sizeof res, "bad: %s", why);
		sel_free(s);
		return res;
	}
	v = sel_record(s, line, strlen(line), NULL, &out, why);
	obj = rec_parse(line, strlen(line), why2);
	v2 = obj ? sel_record(s, line, strlen(line), obj, &out2, why2) : SEL_ERROR;
	json_decref(obj);
	if (v != v2 || (v == SEL_KEEP && strcmp(out.data, out2.data) != 0) ||
	    (v == SEL_ERROR && strcmp(why, why2) != 0))
		snprintf(res, sizeof res, "routes differ");
	else if (v == SEL_ERROR)
		snprintf(res, sizeof res, "error: %s", why);
	else
		snprintf(res, sizeof res, "%.*s", (int)out.len - 6, out.data + 5);
	buf_free(&out);
	buf_free(&out2);
	sel_free(s);
	return res;
}

/* "keep", "drop" or "error: why" for a condition. */
static const char *where(const char *line, const char *cond)
{
	static char res[512];
	char why[REC_ERR_MAX];
	struct sel *s = sel_new();
	struct buf out = BUF_INIT;

	if (sel_where(s, cond, why, sizeof why) < 0)
		snprintf(res, sizeof res, "bad: %s", why);
	else
		switch (sel_record(s, line, strlen(line), NULL, &out, why)) {
		case SEL_KEEP: snprintf(res, sizeof res, "keep"); break;
		case SEL_DROP: snprintf(res, sizeof res, "drop"); break;
		default: snprintf(res, sizeof res, "error: %s", why); break;
		}
	buf_free(&out);
	sel_free(s);
	return res;
}

static const char *R = "{\"i\":7,\"j\":-2,\"d\":2.5,\"s\":\"ab\",\"t\":true,"
    "\"z\":null,\"o\":{\"k\":3,\"e\":\"\\u00e9\"},\"a\":[1]}";

static void test_arithmetic(void)
{
	CHECK_STR(value(R, "i + j"), "5", "int + int");
	CHECK_STR(value(R, "i - j * 2"), "11", "precedence: * before -");
	CHECK_STR(value(R, "(i - j) * 2"), "18", "parentheses");
	CHECK_STR(value(R, "i / 2"), "3", "int / int truncates, as BIGINT");
	CHECK_STR(value(R, "-i / 2"), "-3", "toward zero");
	CHECK_STR(value(R, "i % j"), "1", "remainder takes the dividend's sign");
	CHECK_STR(value(R, "-i % 2"), "-1", "negative remainder");
	CHECK_STR(value(R, "i / 2.0"), "3.5", "a real makes a real");
	CHECK_STR(value(R, "d * 2"), "5.0", "a real stays real when whole");
	CHECK_STR(value(R, "d % 1"), "0.5", "real remainder");
	CHECK_STR(value(R, "0.908 * 1234"), "1120.472", "written shortest");
	CHECK_STR(value(R, "1e3"), "1000.0", "exponent is a real");
	CHECK_STR(value(R, "- -i"), "7", "double negation");
	CHECK_STR(value(R, "o.k * o.k"), "9", "nested members");
	CHECK_STR(value(R, "i + z"), "null", "NULL in arithmetic");
	CHECK_STR(value(R, "i + nope"), "null", "missing member is NULL");
	CHECK_STR(value(R, "i / 0"), "error: --fields: column 5: division by zero",
	    "int division by zero");
	CHECK_STR(value(R, "d % 0.0"), "error: --fields: column 5: division by zero",
	    "real division by zero");
	CHECK_STR(value(R, "9223372036854775807 + 1"),
	    "error: --fields: column 23: integer overflow in '+'", "overflow");
	CHECK_STR(value(R, "-9223372036854775808 / -1"),
	    "error: --fields: column 24: integer overflow in '/'", "MIN / -1");
	CHECK_STR(value(R, "-9223372036854775808 % -1"), "0", "MIN % -1");
	CHECK_STR(value(R, "1e308 * 10"),
	    "error: --fields: column 9: '*' out of the range of a number",
	    "real overflow");
	CHECK_STR(value(R, "s * 2"),
	    "error: --fields: column 5: cannot apply '*' to a string and a number",
	    "string * number");
	CHECK_STR(value(R, "-s"), "error: --fields: column 3: cannot apply '-' to a string",
	    "minus a string");
	CHECK_STR(value(R, "o + 1"),
	    "error: --fields: column 5: cannot apply '+' to an object and a number",
	    "object + number");
}

static void test_values(void)
{
	CHECK_STR(value(R, "s"), "\"ab\"", "string");
	CHECK_STR(value(R, "o.e"), "\"é\"", "escaped string, unescaped");
	CHECK_STR(value(R, "o"), "{\"k\":3,\"e\":\"é\"}", "object");
	CHECK_STR(value(R, "a"), "[1]", "array");
	CHECK_STR(value(R, "t"), "true", "boolean");
	CHECK_STR(value(R, "'it''s'"), "\"it's\"", "quote in a literal");
	CHECK_STR(value(R, "i.x"), "null", "path through a number");
	CHECK_STR(value(R, "i = 7.0"), "true", "int equals real");
	CHECK_STR(value(R, "s < 'abc'"), "true", "prefix sorts first");
	CHECK_STR(value(R, "s > 'b'"), "false", "byte order");
	CHECK_STR(value(R, "t = TRUE"), "true", "booleans compare");
	CHECK_STR(value(R, "z = z"), "null", "NULL = NULL is NULL");
	CHECK_STR(value(R, "z IS NULL"), "true", "IS NULL");
	CHECK_STR(value(R, "nope IS NOT NULL"), "false", "IS NOT NULL");
	CHECK_STR(value(R, "NULL AND FALSE"), "false", "Kleene AND");
	CHECK_STR(value(R, "NULL AND TRUE"), "null", "Kleene AND, NULL");
	CHECK_STR(value(R, "NULL OR TRUE"), "true", "Kleene OR");
	CHECK_STR(value(R, "NULL OR FALSE"), "null", "Kleene OR, NULL");
	CHECK_STR(value(R, "NOT z"), "null", "NOT NULL is NULL");
	CHECK_STR(value(R, "i IN (1, 7)"), "true", "IN");
	CHECK_STR(value(R, "i IN (1, NULL)"), "null", "IN with a NULL");
	CHECK_STR(value(R, "i NOT IN (1, 2)"), "true", "NOT IN");
	CHECK_STR(value(R, "i BETWEEN 7 AND 8"), "true", "BETWEEN is inclusive");
	CHECK_STR(value(R, "i NOT BETWEEN 1 AND 6"), "true", "NOT BETWEEN");
	CHECK_STR(value(R, "i BETWEEN 8 AND z"), "false", "BETWEEN, FALSE beats NULL");
	CHECK_STR(value(R, "FALSE AND s * 2 = 1"), "false", "AND stops at FALSE");
	CHECK_STR(value(R, "s = 1"),
	    "error: --fields: column 5: cannot compare a string with a number",
	    "string = number");
	CHECK_STR(value(R, "i AND TRUE"),
	    "error: --fields: column 5: AND's operand is a number, not a condition",
	    "number in AND");
}

static void test_where(void)
{
	CHECK_STR(where(R, "i > 5 AND s = 'ab'"), "keep", "true keeps");
	CHECK_STR(where(R, "i > 7"), "drop", "false drops");
	CHECK_STR(where(R, "nope > 7"), "drop", "NULL drops");
	CHECK_STR(where(R, "i"),
	    "error: --where: column 1: the condition is a number, not TRUE or FALSE",
	    "a number is no condition");
	CHECK_STR(where("{\"i\":", "TRUE"), "error: invalid JSON: column 5: "
	    "unexpected token near end of file", "bad JSON: rec_parse's reason");
	CHECK_STR(where("[1]", "TRUE"), "error: not a JSON object: array",
	    "not an object");
	CHECK_STR(where("{\"i\":1}", "i = 1 OR"),
	    "bad: column 9: expected an operand at the end", "parse error column");
	CHECK_STR(where("{\"i\":1}", "PROCTIME() > 1000000000000"), "keep",
	    "PROCTIME() is epoch milliseconds");
	CHECK_STR(where("{\"i\":1}", "i = lower(i)"),
	    "bad: column 5: unknown function 'lower'", "unknown function");
}

int main(void)
{
	test_arithmetic();
	test_values();
	test_where();
	return tap_done();
}
