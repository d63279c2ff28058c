/*
 * metrics.h - a tool's metrics in the Prometheus text exposition format
 * (version 0.0.4), served over HTTP and/or written to a node_exporter
 * textfile (fs(7), Metrics).
 *
 * A registry holds families (one name, one HELP, one TYPE) of series
 * (the family's name, labels, a value).  Every series has the labels
 * tool="fs-x" and stage="NAME" (--stage, else the program name); a
 * series may add labels of its own (partition="3").  Names are fs_*.
 *
 *     struct metrics *m = metrics_new("fs-agg", "agg");
 *     struct metric *in = metrics_counter(m, "fs_records_in_total",
 *         "Records read.", NULL);
 *     metric_add(in, 1);                   // the tool's thread
 *     metrics_serve(m, "9100", why, sizeof why);   // 127.0.0.1:9100
 *
 * Threads.  The HTTP server (libmicrohttpd, its own thread) and the
 * textfile writer (a thread of its own) render the registry while the
 * tool's thread updates values.  Each value is a C11 atomic with a
 * single writer (the tool's thread): metric_add() and metric_set() are
 * a relaxed load and store, plain moves on x86, so the hot path takes
 * no lock; a render reads each value atomically (a scrape may see one
 * value a moment newer than another, never a torn one).  The registry's
 * structure (adding a family or a series) is guarded by a mutex that
 * the render takes too, so series may be added while serving (one per
 * Kafka partition as they are assigned).  Both threads start with every
 * signal blocked: SIGINT and SIGTERM reach the tool's thread and
 * interrupt its reads (sig.h).
 *
 * Ownership: the registry owns its series (pointers stay valid until
 * metrics_free()); names and help strings must be literals or outlive
 * it; labels are copied.  Failure to bind or to start a thread is
 * reported in why (-1); a failed textfile write is a warning on stderr
 * (the next interval tries again): metrics never stop a pipeline.
 */
#ifndef FS_METRICS_H
#define FS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct metrics;
struct metric;

/* A new registry: every series gets tool="tool" and stage="stage". */
struct metrics *metrics_new(const char *tool, const char *stage);

/*
 * A series of the family name (created with help and the type at its
 * first use; the same name with another type is a bug and exits 1).
 * labels: more label pairs, each NAME then VALUE, ended by NULL, or
 * NULL for none; values are escaped when rendered.  The same name and
 * labels twice give the same series.
 *   counter  an integer that only grows (name ends in _total)
 *   gauge    a number that goes up and down
 *   age      a gauge whose value is set as a wall-clock time in epoch
 *            ms and rendered as the seconds from it to the time of the
 *            scrape (a watermark's lag, a checkpoint's age)
 * A gauge or age is not rendered until it is first set: no watermark
 * yet is no line, not a zero.
 */
struct metric *metrics_counter(struct metrics *m, const char *name,
    const char *help, const char *const *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name,
    const char *help, const char *const *labels);
struct metric *metrics_age(struct metrics *m, const char *name,
    const char *help, const char *const *labels);

/*
 * A summary: the family name of TYPE summary, whose series are its
 * quantiles (suffix "", labels with "quantile" first), its sum (suffix
 * "_sum") and its count ("_count"), each set with metric_set() and
 * rendered once set.
 */
struct metric *metrics_summary(struct metrics *m, const char *name,
    const char *help, const char *suffix, const char *const *labels);

/* Single writer (above).  A NULL metric is ignored, so a tool without
 * metrics calls these unconditionally. */
void metric_add(struct metric *s, uint64_t n);
void metric_set_count(struct metric *s, uint64_t v);
void metric_set(struct metric *s, double v);
/* An age's time, epoch ms. */
void metric_set_time(struct metric *s, int64_t ms);

/* Appends the exposition of every family to b; now_ms is the wall clock
 * that ages are measured against. */
void metrics_render(struct metrics *m, struct buf *b, int64_t now_ms);

/*
 * Also renders, after the registry's own, the textfiles *.prom of dir
 * (a supervisor's stages write there: FS_METRICS_DIR, below), their
 * families merged with the registry's and each other's so each name has
 * one HELP, one TYPE and all its series.  A file that is being
 * replaced or is gone is passed over.
 */
void metrics_set_dir(struct metrics *m, const char *dir);

/*
 * Merges expositions: the lines of text[0..n) grouped by family (first
 * HELP and TYPE kept, samples in order), appended to out.
 */
void metrics_merge(struct buf *out, const struct buf *text, size_t n);

/* The environment variable that gives a tool started by a supervisor
 * (fs-run) a directory to write its textfile into, DIR/STAGE.PID.prom,
 * every second, when it has no --metrics-file of its own. */
#define METRICS_DIR_ENV "FS_METRICS_DIR"

/* Appends s with \, " and newline escaped as a label value. */
void metrics_escape_label(struct buf *b, const char *s);

/*
 * Serves GET /metrics (and /) on addr: "PORT" (127.0.0.1), "ADDR:PORT"
 * or "[IPv6]:PORT".  Port 0 picks a free one (metrics_port()).  Returns
 * 0, or -1 with why set.
 */
int metrics_serve(struct metrics *m, const char *addr, char *why, size_t n);
/* Whether addr is one metrics_serve() reads: 0, or -1 with why set. */
int metrics_check_addr(const char *addr, char *why, size_t n);
/* The port served, 0 if none. */
unsigned metrics_port(const struct metrics *m);

/* Writes the exposition to path atomically (a temporary file in the
 * same directory, then rename(2)).  Returns 0, or -1 with why set. */
int metrics_write_file(struct metrics *m, const char *path, char *why,
    size_t n);
/* Writes path now and then every interval_ms from a thread of its own.
 * Returns 0, or -1 with why set. */
int metrics_file_start(struct metrics *m, const char *path,
    int64_t interval_ms, char *why, size_t n);

/* Stops the server and the writer (which writes the file a last time)
 * and frees everything. */
void metrics_free(struct metrics *m);

#endif
