/* Unit tests: durations, RFC 3339 times, event time fields. */
#include <stdlib.h>

#include "etime.h"
#include "rec.h"
#include "tap.h"

static int64_t dur(const char *s)
{
	int64_t ms = -12345;

	return dur_parse(s, &ms) == 0 ? ms : -1;
}

static int64_t ts(const char *s)
{
	int64_t ms = -12345;

	return ts_parse_rfc3339(s, strlen(s), &ms) == 0 ? ms : -1;
}

static void test_durations(void)
{
	CHECK_I64(dur("250ms"), 250, "dur: 250ms");
	CHECK_I64(dur("10s"), 10000, "dur: 10s");
	CHECK_I64(dur("5m"), 300000, "dur: 5m");
	CHECK_I64(dur("1h"), 3600000, "dur: 1h");
	CHECK_I64(dur("7d"), 604800000, "dur: 7d");
	CHECK_I64(dur("1h30m"), 5400000, "dur: 1h30m combined");
	CHECK_I64(dur("0s"), 0, "dur: zero");
	CHECK_I64(dur("1m1ms"), 60001, "dur: m followed by ms");
	CHECK_I64(dur("10"), -1, "dur: bare number rejected");
	CHECK_I64(dur(""), -1, "dur: empty rejected");
	CHECK_I64(dur("-5s"), -1, "dur: negative rejected");
	CHECK_I64(dur("5x"), -1, "dur: unknown unit rejected");
	CHECK_I64(dur("s"), -1, "dur: unit without number rejected");
	CHECK_I64(dur("1.5s"), -1, "dur: fraction rejected");
	CHECK_I64(dur("99999999999999999999d"), -1, "dur: overflow rejected");
	CHECK_I64(dur("106751991168d"), -1, "dur: overflow in unit rejected");
}

static void test_rfc3339(void)
{
	char out[40];

	CHECK_I64(ts("1970-01-01T00:00:00Z"), 0, "ts: epoch");
	CHECK_I64(ts("2026-11-25T08:00:00Z"), 1795593600000LL, "ts: Z");
	CHECK_I64(ts("2026-11-25T09:00:00+01:00"), 1795593600000LL,
	    "ts: positive offset");
	CHECK_I64(ts("2026-11-25T03:30:00-04:30"), 1795593600000LL,
	    "ts: negative offset with minutes");
	CHECK_I64(ts("2026-11-25T08:00:00.250Z"), 1795593600250LL,
	    "ts: milliseconds");
	CHECK_I64(ts("2026-11-25T08:00:00.2Z"), 1795593600200LL,
	    "ts: one fraction digit");
	CHECK_I64(ts("2026-11-25T08:00:00.123456789Z"), 1795593600123LL,
	    "ts: nanoseconds truncated to ms");
	CHECK_I64(ts("2026-11-25 08:00:00z"), 1795593600000LL,
	    "ts: space separator, lowercase z");
	CHECK_I64(ts("1969-12-31T23:59:59.999Z"), -1, "ts: before epoch is -1 ms");
	CHECK_I64(ts("2024-02-29T00:00:00Z"), 1709164800000LL, "ts: leap day");
	CHECK_I64(ts("2023-02-29T00:00:00Z") == -1 ? 1 : 0, 1,
	    "ts: Feb 29 of a common year rejected");
	CHECK_I64(ts("2026-13-01T00:00:00Z") == -1, 1, "ts: month 13 rejected");
	CHECK_I64(ts("2026-11-25T24:00:00Z") == -1, 1, "ts: hour 24 rejected");
	CHECK_I64(ts("2026-11-25T08:00:00") == -1, 1, "ts: no zone rejected");
	CHECK_I64(ts("2026-11-25T08:00:00.Z") == -1, 1, "ts: empty fraction rejected");
	CHECK_I64(ts("2026-11-25") == -1, 1, "ts: date only rejected");
	CHECK_I64(ts("2026-11-25T08:00:00Zjunk") == -1, 1, "ts: trailing junk rejected");

	ts_format_rfc3339(1795593600000LL, out, sizeof out);
	CHECK_STR(out, "2026-11-25T08:00:00Z", "format: whole second");
	ts_format_rfc3339(1795593600250LL, out, sizeof out);
	CHECK_STR(out, "2026-11-25T08:00:00.250Z", "format: milliseconds");
	ts_format_rfc3339(-1, out, sizeof out);
	CHECK_STR(out, "1969-12-31T23:59:59.999Z", "format: before epoch");
	CHECK_I64(ts("2400-02-29T12:34:56.789Z") , 13574608496789LL,
	    "ts: far future leap day");
	ts_format_rfc3339(13574608496789LL, out, sizeof out);
	CHECK_STR(out, "2400-02-29T12:34:56.789Z", "format: round trip far future");
}

static void test_floor_div(void)
{
	CHECK_I64(etime_floor_div(7, 5), 1, "floor_div: positive");
	CHECK_I64(etime_floor_div(-7, 5), -2, "floor_div: negative rounds down");
	CHECK_I64(etime_floor_div(-10, 5), -2, "floor_div: negative exact");
	CHECK_I64(etime_floor_div(0, 5), 0, "floor_div: zero");
}

static int64_t field_time(const char *json, const char *field, const char **why)
{
	static char reason[128];
	char err[REC_ERR_MAX];
	json_t *o = rec_parse(json, strlen(json), err);
	struct path p;
	int64_t ms = -12345;
	int rc;

	path_compile(&p, field);
	rc = etime_get(&p, o, &ms, why);
	if (rc < 0) {
		snprintf(reason, sizeof reason, "%s", *why);
		*why = reason;
	}
	path_free(&p);
	json_decref(o);
	return rc == 0 ? ms : -1;
}

static void test_etime_get(void)
{
	const char *why = NULL;

	CHECK_I64(field_time("{\"ts\":1000}", "ts", &why), 1000, "etime: integer ms");
	CHECK_I64(field_time("{\"ts\":1000.9}", "ts", &why), 1000, "etime: real floored");
	CHECK_I64(field_time("{\"e\":{\"t\":\"1970-01-01T00:00:01Z\"}}", "e.t", &why),
	    1000, "etime: nested RFC 3339");
	CHECK_I64(field_time("{\"x\":1}", "ts", &why), -1, "etime: missing");
	CHECK_STR(why, "missing time field 'ts'", "etime: missing reason names the field");
	CHECK_I64(field_time("{\"ts\":\"yesterday\"}", "ts", &why), -1, "etime: bad string");
	CHECK_STR(why, "unparsable time field 'ts'", "etime: unparsable reason names the field");
	CHECK_I64(field_time("{\"ts\":true}", "ts", &why), -1, "etime: boolean rejected");
	CHECK_I64(field_time("{\"ts\":1e300}", "ts", &why), -1, "etime: huge real rejected");
}

int main(void)
{
	test_durations();
	test_rfc3339();
	test_floor_div();
	test_etime_get();
	return tap_done();
}
