/* fsk_part.c - event-time partitions as paths (filesink.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "filesink.h"
#include "banned.h"

void fsk_part_path(const char *pattern, int64_t ms, char *out, size_t n)
{
	/* floor division: a time before 1970 is in the second before */
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	struct tm tm;

	out[0] = '\0';
	if (pattern[0] == '\0' || gmtime_r(&t, &tm) == NULL)
		return;
	if (strftime(out, n, pattern, &tm) == 0)
		out[0] = '\0';
}

/* Is each '/'-separated component of p plain (not empty, ".", "..")? */
static int plain_components(const char *p)
{
	const char *c = p;

	if (*p == '/')
		return -1;
	for (;;) {
		const char *e = strchr(c, '/');
		size_t len = e ? (size_t)(e - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.') || c[0] == '.')
			return -1;
		if (e == NULL)
			return 0;
		c = e + 1;
	}
}

int fsk_part_check(const char *pattern, char *why, size_t wl)
{
	/* the first and last instants of the years a path can hold, and
	 * one with every field different */
	static const int64_t probes[] = { 0, INT64_C(253402300799999),
		INT64_C(1733412225678) };
	char path[4096];

	if (pattern[0] == '\0')
		return 0;
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		fsk_part_path(pattern, probes[i], path, sizeof path);
		if (path[0] == '\0') {
			snprintf(why, wl, "gives an empty or too long path");
			return -1;
		}
		if (plain_components(path) < 0) {
			snprintf(why, wl, "gives '%s': a partition is a relative "
			    "path of names that do not begin with '.'", path);
			return -1;
		}
	}
	return 0;
}
