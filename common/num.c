/* num.c - range-checked number parsing (see num.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "diag.h"
#include "num.h"
#include "banned.h"

int num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int num_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

int num_parse_u64_strict(const char *s, uint64_t *out)
{
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	return num_parse_u64(s, UINT64_MAX, out);
}

int num_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int64_t opt_i64(const char *opt, const char *arg, int64_t min, int64_t max)
{
	int64_t v;

	if (num_parse_i64(arg, min, max, &v) < 0)
		diag_usage("%s: expected an integer from %" PRId64 " to %"
		    PRId64 ": '%s'", opt, min, max, arg);
	return v;
}

double opt_double(const char *opt, const char *arg, double min, double max)
{
	double v;

	if (num_parse_double(arg, &v) < 0 || v < min || v > max)
		diag_usage("%s: expected a number from %g to %g: '%s'", opt,
		    min, max, arg);
	return v;
}
