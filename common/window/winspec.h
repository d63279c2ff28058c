/*
 * winspec.h - event-time windows as Flink SQL defines them: TUMBLE, HOP,
 * CUMULATE and SESSION, aligned to the epoch (UTC) plus an offset.
 *
 * All times are epoch milliseconds; a window is the half-open interval
 * [start, end).  Overlapping windows (HOP, CUMULATE) are cut into panes
 * (slices): the largest intervals that no window boundary crosses, so
 * every window is a whole number of consecutive panes.  An event lies
 * in exactly one pane; a downstream aggregator keeps one partial state
 * per pane and merges panes into windows when they fire, so an event
 * costs one update however many windows it falls into:
 *
 *   TUMBLE size          pane = size; each pane is a window
 *   HOP size slide       pane = gcd(size, slide); windows start every
 *                        slide and cover size / pane panes
 *   CUMULATE step max    pane = step; windows [S, S+step), [S, S+2step)
 *                        ... [S, S+max) for each S aligned to max
 *   SESSION gap          no panes: a session is per key and grows while
 *                        events come less than gap apart
 *
 * The offset shifts every boundary: a TUMBLE of 10m with offset 1m has
 * windows [08:01, 08:11).  Offsets are reduced modulo the alignment unit
 * (the size, or the slide for HOP), so -16m, -6m and 4m are the same for
 * a 10m tumble, as in Flink.
 *
 * The same specification travels from fs-window to fs-agg as a control
 * record, {"@fs":"window","kind":"hop",...}: winspec_to_json() and
 * winspec_from_json() write and read it.
 */
#ifndef FS_WINSPEC_H
#define FS_WINSPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opt.h"

#define WIN_CONTROL "window"    /* the "@fs" value of the spec record */

/*
 * Event times and durations the window arithmetic takes: within 2^53 ms
 * (some 285 000 years) of the epoch, so that sums of a time and a few
 * durations cannot overflow.  Stages reject records outside it
 * ("event time out of range") and options beyond it.
 */
#define WIN_TIME_LIMIT ((int64_t)1 << 53)

static inline int win_time_ok(int64_t t)
{
	return t >= -WIN_TIME_LIMIT && t <= WIN_TIME_LIMIT;
}

enum win_kind { WIN_NONE = 0, WIN_TUMBLE, WIN_HOP, WIN_CUMULATE, WIN_SESSION };

struct winspec {
	enum win_kind kind;
	int64_t size;   /* TUMBLE, HOP: length; CUMULATE: max length */
	int64_t slide;  /* HOP: slide; CUMULATE: step; TUMBLE: size */
	int64_t offset; /* reduced to [0, unit) by winspec_finish() */
	int64_t gap;    /* SESSION */
	int64_t pane;   /* pane length, set by winspec_finish() */
};

/* Where the window bounds go in records, and how the hand-off looks. */
struct winfields {
	const char *start;      /* default "window_start" */
	const char *end;        /* default "window_end" */
	const char *pane;       /* default "window_pane": the pane start */
	bool panes;             /* records carry panes, not window bounds */
	int64_t lateness;       /* the allowed lateness fs-window used */
};

/*
 * Checks the durations (positive; HOP slide <= size; CUMULATE max a
 * multiple of step), reduces the offset and computes the pane.  Returns
 * 0, or -1 with a reason in why (a static string).
 */
int winspec_finish(struct winspec *w, const char **why);

const char *win_kind_name(enum win_kind k);

/* floor((t - off) / unit) * unit + off: the boundary at or before t. */
int64_t win_align(int64_t t, int64_t unit, int64_t off);

/* The start of the pane holding t (not for SESSION). */
int64_t win_pane_start(const struct winspec *w, int64_t t);

/* The end of the last window holding t: once the watermark passes it
 * (plus the allowed lateness), t is late everywhere.  SESSION: t + gap. */
int64_t win_last_end(const struct winspec *w, int64_t t);

/* The largest number of windows one instant can fall into. */
size_t win_max_windows(const struct winspec *w);

/*
 * The windows holding t, in order of end: starts[i], ends[i] for
 * i < returned count (at most win_max_windows()).  Not for SESSION.
 */
size_t win_assign(const struct winspec *w, int64_t t, int64_t *starts,
    int64_t *ends);

/*
 * For the pane starting at ps: the end of the first window holding the
 * pane that ends after `after`, or INT64_MAX when no window holding the
 * pane ends after it.  This is how an aggregator finds its next firing.
 */
int64_t win_next_end(const struct winspec *w, int64_t ps, int64_t after);

/* The start of the window (HOP, CUMULATE, TUMBLE) that ends at end. */
int64_t win_start_for_end(const struct winspec *w, int64_t end);

/* The spec control record, a new reference. */
json_t *winspec_to_json(const struct winspec *w, const struct winfields *f);
/*
 * Reads a spec control record.  Field names point into obj (borrowed:
 * keep obj alive as long as f is used).  Returns 0, or -1 with why.
 */
int winspec_from_json(const json_t *obj, struct winspec *w,
    struct winfields *f, const char **why);

/* opt_duration() for window arithmetic: also exits 2 beyond the limit. */
int64_t win_opt_duration(const char *opt, const char *arg);

/* A table's (opt.h) duration option read by win_opt_duration() into
 * int64_t *p: l is the long name, a the argument's name, h the help. */
opt_fn win_duration_option;
#define OPT_WIN_DURATION(l, p, a, h) \
	{ .kind = OPT_KIND_CALLBACK, .name = (l), .argname = (a), \
	  .help = (h), .fn = win_duration_option, .to.i64 = (p) }

/* Parses "-1m" or "30s" as a signed duration; -1 when invalid. */
int win_parse_offset(const char *s, int64_t *ms);

#endif
