/* etime.c - event time and durations (see etime.h). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "etime.h"
#include "num.h"
#include "banned.h"

#define MS_PER_DAY 86400000LL

int64_t etime_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int unit_ms(const char **s, int64_t *ms)
{
	const char *p = *s;

	if (p[0] == 'm' && p[1] == 's') {
		*ms = 1;
		*s = p + 2;
	} else if (*p == 's') {
		*ms = 1000;
		*s = p + 1;
	} else if (*p == 'm') {
		*ms = 60000;
		*s = p + 1;
	} else if (*p == 'h') {
		*ms = 3600000;
		*s = p + 1;
	} else if (*p == 'd') {
		*ms = MS_PER_DAY;
		*s = p + 1;
	} else {
		return -1;
	}
	return 0;
}

int dur_parse(const char *s, int64_t *ms)
{
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	/* Zero is zero in any unit: "0" needs none (as Go's durations). */
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*s) {
		int64_t n = 0, unit;

		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*s++ - '0');
		}
		if (unit_ms(&s, &unit) < 0)
			return -1;
		if (n > (INT64_MAX - total) / unit)
			return -1;
		total += n * unit;
	}
	*ms = total;
	return 0;
}

int64_t opt_duration(const char *opt, const char *arg)
{
	int64_t ms;

	if (dur_parse(arg, &ms) < 0)
		diag_usage("%s: expected a duration such as 250ms, 10s, 5m, "
		    "1h, 7d or 1h30m: '%s'", opt, arg);
	return ms;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
	int v = 0;

	if (at + count > n)
		return -1;
	for (size_t i = 0; i < count; i++) {
		char c = s[at + i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* Parses "Z", "z" or "+HH:MM"/"-HH:MM" at s[i..n): the offset in ms. */
static int parse_zone(const char *s, size_t n, size_t i, int64_t *off)
{
	int hh, mm;

	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		*off = 0;
		return 0;
	}
	if (i + 6 != n || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':' ||
	    digits(s, n, i + 1, 2, &hh) < 0 || digits(s, n, i + 4, 2, &mm) < 0 ||
	    hh > 23 || mm > 59)
		return -1;
	*off = (hh * 60 + mm) * 60000LL * (s[i] == '-' ? -1 : 1);
	return 0;
}

int ts_parse_rfc3339(const char *s, size_t n, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0;
	size_t i = 19, fdigits = 0;
	int64_t off;

	if (digits(s, n, 0, 4, &y) < 0 || n < 20 || s[4] != '-' ||
	    digits(s, n, 5, 2, &mo) < 0 || s[7] != '-' ||
	    digits(s, n, 8, 2, &d) < 0 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s, n, 11, 2, &h) < 0 || s[13] != ':' ||
	    digits(s, n, 14, 2, &mi) < 0 || s[16] != ':' ||
	    digits(s, n, 17, 2, &sec) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	if (s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, fdigits++)
			if (fdigits < 3)
				frac = frac * 10 + (s[i] - '0');
		if (fdigits == 0)
			return -1;
		for (; fdigits < 3; fdigits++)
			frac *= 10;
	}
	if (parse_zone(s, n, i, &off) < 0)
		return -1;
	*ms = days_from_civil(y, (unsigned)mo, (unsigned)d) * MS_PER_DAY +
	    ((h * 60 + mi) * 60 + sec) * 1000LL + frac - off;
	return 0;
}

void ts_format_rfc3339(int64_t ms, char *dst, size_t n)
{
	int64_t days = etime_floor_div(ms, MS_PER_DAY);
	int64_t rem = ms - days * MS_PER_DAY, y;
	unsigned m, d;
	int sod = (int)(rem / 1000), frac = (int)(rem % 1000);

	civil_from_days(days, &y, &m, &d);
	if (frac)
		snprintf(dst, n, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
		    (long long)y, m, d, sod / 3600, sod / 60 % 60, sod % 60, frac);
	else
		snprintf(dst, n, "%04lld-%02u-%02uT%02d:%02d:%02dZ",
		    (long long)y, m, d, sod / 3600, sod / 60 % 60, sod % 60);
}

int64_t opt_timestamp(const char *opt, const char *arg)
{
	int64_t ms;

	if (num_parse_i64(arg, INT64_MIN, INT64_MAX, &ms) == 0 ||
	    ts_parse_rfc3339(arg, strlen(arg), &ms) == 0)
		return ms;
	diag_usage("%s: expected epoch milliseconds or an RFC 3339 time "
	    "such as 2026-11-25T08:00:00Z: '%s'", opt, arg);
}

int etime_get(const struct path *p, const json_t *obj, int64_t *ms,
    const char **why)
{
	return etime_value(p, path_get(p, obj), ms, why);
}

int etime_value(const struct path *p, const json_t *v, int64_t *ms,
    const char **why)
{
	if (v == NULL) {
		*why = p->why_missing;
		return -1;
	}
	if (json_is_integer(v)) {
		*ms = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d >= -9.2e18 && d <= 9.2e18) {
			*ms = (int64_t)floor(d);
			return 0;
		}
	} else if (json_is_string(v) &&
	    ts_parse_rfc3339(json_string_value(v), json_string_length(v),
	    ms) == 0) {
		return 0;
	}
	*why = p->why_unparsable;
	return -1;
}

int64_t etime_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
