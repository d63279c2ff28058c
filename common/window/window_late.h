/*
 * window_late.h - what an event-time stage does with a late record: one
 * that arrives after every window it belongs to has closed (its window
 * end plus the allowed lateness is at or behind the watermark).
 *
 * Never silently: each late record is counted against the data records
 * the stage read, and then
 *
 *   drop         passed over (the count is reported at exit)
 *   dead-letter  its original line appended to the --late-file
 *   pass         forwarded downstream with "late":true spliced in (the
 *                member name is --late-field), for a later stage to handle
 *
 * The late options are declared here once for every stage that has them
 * (fs-window, fs-agg, fs-join): OPT_GROUP_LATE(&lo) goes in the tool's
 * option table (opt.h) and stores them in its struct late_opts.
 *
 * What the user is told, on stderr (diag_warn, hidden by -q):
 *   - at exit, when any record was late: "PROG: N late records dropped"
 *     (or dead-lettered, or passed on marked late), as scripts parse it;
 *   - at exit, when more than LATE_WARN_RATIO of the data records were
 *     late: "PROG: warning: N of M records (P%) were late and dropped:
 *     HINT", HINT saying which options to raise;
 *   - while running, once LATE_MIN_RECORDS records came, the same
 *     warning with "so far", at most once every LATE_WARN_EVERY_MS.
 * With --max-late-ratio R, more than R late is an error (exit 1): while
 * running once LATE_MIN_RECORDS records came (late_record() exits), and
 * at exit whatever the count (late_finish() returns 1).
 *
 * A stage with two inputs (fs-join) names them with late_sources() and
 * hands late records to late_record_from(): the first late record of
 * each source is then reported where it was read, with the hint
 * ("PROG: FILE:LINE: late right record dropped: HINT"), and the count at
 * exit says how many came from each ("N late records dropped (L left,
 * R right)").
 */
#ifndef FS_WINDOW_LATE_H
#define FS_WINDOW_LATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "opt.h"
#include "out.h"
#include "tool.h"

/* Above this fraction of late records, a warning line, not only a count:
 * with a bound that fits the data, late records are rare stragglers;
 * 1% missing from features is already a bias a model sees, and a bound
 * that does not fit (a backlog, a skewed partition) gives far more. */
#define LATE_WARN_RATIO 0.01
/* Fractions over fewer records are noise: no check while running below. */
#define LATE_MIN_RECORDS 1000
#define LATE_WARN_EVERY_MS 10000

enum late_policy { LATE_DROP, LATE_DEAD_LETTER, LATE_PASS };

/* --late's words, in enum late_policy's order. */
extern const char *const late_policy_words[];

/* --max-late-ratio R: data is the struct late_opts. */
opt_fn late_max_ratio_option;

/* The late options onto struct late_opts *lo (late_opts_init() first);
 * late_init() checks the combination. */
#define OPT_GROUP_LATE(lo) \
	OPT_POLICY(0, "late", &(lo)->policy, late_policy_words, "POLICY", \
	    "late records: drop (default), dead-letter, or pass"), \
	OPT_STRING(0, "late-file", &(lo)->file, "FILE", \
	    "where dead-lettered late records go"), \
	OPT_STRING(0, "late-field", &(lo)->field, "NAME", \
	    "member marking passed late records (default late)"), \
	OPT_CALLBACK(0, "max-late-ratio", late_max_ratio_option, (lo), "R", \
	    "fail when more than R (0 to 1) of the records are\n" \
	    "late (default: never)")

struct late_opts {
	enum late_policy policy;
	const char *file;       /* --late-file */
	const char *field;      /* --late-field */
	double max_ratio;       /* --max-late-ratio, or -1: none */
	const char *max_ratio_arg;
	const char *hint;       /* what to raise: the end of the warning */
};

struct late {
	enum late_policy policy;
	const char *path;       /* --late-file */
	const char *field;      /* --late-field, default "late" */
	FILE *f;
	uint64_t count;         /* late records */
	uint64_t records;       /* data records read (late_data) */
	double max_ratio;       /* -1: none */
	const char *max_ratio_arg;
	const char *hint;
	int64_t next_warn_ms;   /* monotonic clock: the next warning allowed */
	struct out *flush_on_fail;
	const char *source[2];  /* late_sources(), or NULL */
	uint64_t from[2];       /* late records of each source */
	struct metric *m_count; /* fs_records_late_total, or NULL */
};

/* Defaults: drop, no ratio; hint names what to do about late records
 * ("raise --max-out-of-orderness, ..."), static. */
void late_opts_init(struct late_opts *lo, const char *hint);

/* Checks the combination (dead-letter needs a file) and opens the file;
 * usage errors exit 2, an unopenable file exits 1.  flush_on_fail (may
 * be NULL) is the output written out before an exit on
 * --max-late-ratio, as reject.h does for --on-error fail.  With
 * metrics on that output (rejects_init() before this), late records
 * count in fs_records_late_total. */
void late_init(struct late *l, const struct late_opts *lo,
    struct out *flush_on_fail);

/* late_data()'s and late_record()'s check while running (above). */
void late_check_running(struct late *l);

/* Counts a data record the stage read, late or not: the denominator of
 * the late fraction.  Call it for every data record, before its
 * late_record(). */
static inline void late_data(struct late *l)
{
	if (++l->records == LATE_MIN_RECORDS && l->count > 0)
		late_check_running(l);
}

/* Handles one late line (its original bytes); scratch is a work buffer.
 * Exits 1 when the late fraction passes --max-late-ratio. */
void late_record(struct late *l, const char *line, size_t len,
    struct out *o, struct buf *scratch);

/* Names a two-input stage's sources ("left", "right"; static). */
void late_sources(struct late *l, const char *name0, const char *name1);

/* late_record() for a record of source src (0 or 1), read at where
 * ("FILE:LINE"): the first of its source is reported (above). */
void late_record_from(struct late *l, int src, const char *where,
    const char *line, size_t len, struct out *o, struct buf *scratch);

/* The same for a line that carries the late mark already (a stage
 * upstream passed it on): pass writes it unchanged, not marked twice. */
void late_record_marked(struct late *l, const char *line, size_t len,
    struct out *o);

/* Reports at exit (above) and closes the file, checking it.  Returns 0,
 * or 1 when more than --max-late-ratio of the records were late. */
int late_finish(struct late *l);

#endif
