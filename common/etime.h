/*
 * etime.h - event time and durations.
 *
 * Event time is epoch milliseconds (int64_t, UTC).  A record's event
 * time field holds either an integer (or a number, truncated) of epoch
 * milliseconds, or an RFC 3339 string such as "2026-11-25T08:00:00Z" or
 * "2026-11-25T09:00:00.250+01:00".
 *
 * Durations are written 250ms, 10s, 5m, 1h, 7d, or combined as 1h30m;
 * a bare number is rejected, so a unit is never guessed.
 */
#ifndef FS_ETIME_H
#define FS_ETIME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "path.h"

#define ETIME_MIN INT64_MIN
#define ETIME_MAX INT64_MAX

/* Returns 0 and *ms, or -1.  Durations are >= 0. */
int dur_parse(const char *s, int64_t *ms);
/* Parses a duration option or exits with a usage error naming it. */
int64_t opt_duration(const char *opt, const char *arg);

/* RFC 3339 (date, 'T' or ' ', time, optional fraction, Z or offset). */
int ts_parse_rfc3339(const char *s, size_t n, int64_t *ms);
/* Writes "2026-11-25T08:00:00.250Z" (fraction only when nonzero). */
void ts_format_rfc3339(int64_t ms, char *dst, size_t n);
/* An option's time: epoch ms digits or RFC 3339; exits on bad input. */
int64_t opt_timestamp(const char *opt, const char *arg);

/*
 * The event time of obj at p.  Returns 0 and *ms, or -1 with *why set
 * to "missing time field 'ts'" or "unparsable time field 'ts'" (owned
 * by p, naming its field).
 */
int etime_get(const struct path *p, const json_t *obj, int64_t *ms,
    const char **why);
/* The same for v, the value found at p (NULL: missing). */
int etime_value(const struct path *p, const json_t *v, int64_t *ms,
    const char **why);

/* Wall-clock now, epoch ms. */
int64_t etime_now_ms(void);

/* floor(a / b) for b > 0, also for negative a (window alignment). */
int64_t etime_floor_div(int64_t a, int64_t b);

#endif
