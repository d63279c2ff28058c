/*
 * progress.h - the progress line -v prints on stderr, at most once a
 * second:
 *
 *     fs-agg: 1.2M in (410k/s), 30k out, watermark 2026-01-01T00:05:00Z
 *
 * A tool's reader and writer share one struct progress: struct out holds
 * it (counting the lines it writes and the watermarks among them), and
 * lineio_set_flush_hook() makes the reader count the lines it returns
 * into the same one.  A reader of standard input that feeds no struct
 * out (a sink: fs-produce, fs-sink-aerospike) keeps its own, and notes
 * the watermarks it reads.  A source shows "N out (R/s)", a sink
 * "N in (R/s)"; the rate is over the time since the previous line.
 *
 * The counting is per line (an increment); progress_tick() reads the
 * clock and is called per read(2) and write(2), not per line, so a busy
 * tool pays almost nothing and a slow one still reports.  A line is
 * printed when a second has passed since the previous one (or since the
 * start) and a count or the watermark changed, so an idle tool is quiet.
 *
 * Only at -v (diag_verbosity() >= DIAG_PROGRESS): --stats alone raises
 * the verbosity to DIAG_VERBOSE for its exit summary but shows no
 * progress.  No state outside the struct.
 *
 * With metrics (progress_set_metrics(), fs(7) Metrics) the same counts
 * are published, at each tick, as fs_records_in_total,
 * fs_records_out_total, fs_watermark_seconds and
 * fs_watermark_lag_seconds (each registered when it first has a
 * value): the counting stays a plain increment on the tool's thread,
 * and the atomic stores metrics.h needs happen once per read(2) or
 * write(2).
 */
#ifndef FS_PROGRESS_H
#define FS_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metric;

struct progress {
	bool on;                /* -v, and not turned off by the tool */
	bool writer;            /* held by a struct out: it counts "out" */
	bool reader;            /* a reader counts "in" into it */
	bool has_wm;
	uint64_t in, out;       /* lines read and written */
	int64_t wm;             /* the watermark last written (or read) */
	int64_t next_ns;        /* monotonic: no line before this */
	int64_t last_ns;        /* when the previous line was printed */
	uint64_t last_in, last_out;
	int64_t last_wm;
	bool last_has_wm;
	struct metrics *metrics;        /* NULL: no metrics */
	struct metric *m_in, *m_out, *m_wm, *m_lag;
};

/* Starts the clock; on at -v.  writer: held by a struct out. */
void progress_init(struct progress *p, bool writer);

/* Notes a watermark written (or, for a reader's own, read). */
static inline void progress_watermark(struct progress *p, int64_t ts)
{
	p->wm = ts;
	p->has_wm = true;
}

void progress_tick_slow(struct progress *p);

/* Publishes the counts (with metrics) and prints the line when it is
 * due.  Cheap when off. */
static inline void progress_tick(struct progress *p)
{
	if (p->on || p->metrics)
		progress_tick_slow(p);
}

/* Counting is on: -v, or metrics. */
static inline bool progress_counting(const struct progress *p)
{
	return p->on || p->metrics;
}

/* Publishes the counts to m (NULL: none) from now on. */
void progress_set_metrics(struct progress *p, struct metrics *m);
/* Publishes now (before a wait). */
void progress_publish(struct progress *p);

/*
 * The line without the program name, for counts moved on by din/dout
 * lines over elapsed_ns: "1.2M in (410k/s), 30k out, watermark
 * 2026-01-01T00:05:00Z".  Exposed for the unit tests.
 */
void progress_format(const struct progress *p, uint64_t din, uint64_t dout,
    int64_t elapsed_ns, char *dst, size_t n);

/* n as people read it: 999, 1.2k, 410k, 1.2M, 3.4G. */
void progress_count(uint64_t n, char *dst, size_t cap);

#endif
