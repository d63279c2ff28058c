/* window_late.c - late records, counted and never silent (window_late.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "metrics.h"
#include "num.h"
#include "rec.h"
#include "window_late.h"
#include "banned.h"

const char *const late_policy_words[] = { "drop", "dead-letter", "pass",
    NULL };

_Static_assert(LATE_DROP == 0 && LATE_DEAD_LETTER == 1 && LATE_PASS == 2,
    "late_policy_words out of enum order");

/* How each policy ends "N late records ..." and "were late and ...". */
static const char *const count_verb[] = { "dropped", "dead-lettered",
    "passed on marked late" };
static const char *const frac_verb[] = { "dropped", "dead-lettered",
    "passed on marked" };

void late_opts_init(struct late_opts *lo, const char *hint)
{
	memset(lo, 0, sizeof *lo);
	lo->policy = LATE_DROP;
	lo->max_ratio = -1;
	lo->hint = hint;
}

void late_max_ratio_option(void *data, const char *name, const char *arg)
{
	struct late_opts *lo = data;

	lo->max_ratio = opt_double(name, arg, 0, 1);
	lo->max_ratio_arg = arg;
}

void late_init(struct late *l, const struct late_opts *lo,
    struct out *flush_on_fail)
{
	enum late_policy p = lo->policy;

	memset(l, 0, sizeof *l);
	l->path = lo->file;
	l->field = lo->field ? lo->field : "late";
	l->max_ratio = lo->max_ratio;
	l->max_ratio_arg = lo->max_ratio_arg;
	l->hint = lo->hint;
	l->flush_on_fail = flush_on_fail;
	/* The out's metrics: rejects_init() set them (reject.h). */
	if (flush_on_fail != NULL)
		l->m_count = metrics_counter(flush_on_fail->prog.metrics,
		    "fs_records_late_total",
		    "Data records that came after the watermark passed them.",
		    NULL);
	if (lo->file != NULL && p == LATE_DROP)
		p = LATE_DEAD_LETTER;
	l->policy = p;
	if (p == LATE_DEAD_LETTER && lo->file == NULL)
		diag_usage("--late dead-letter needs --late-file FILE");
	if (p != LATE_DEAD_LETTER && lo->file != NULL)
		diag_usage("--late-file goes with --late dead-letter");
	if (p == LATE_DEAD_LETTER) {
		l->f = fopen(lo->file, "a");
		if (l->f == NULL)
			diag_fatal("cannot open late file: '%s': %s", lo->file,
			    strerror(errno));
	}
}

static bool above(const struct late *l, double ratio)
{
	return (double)l->count > ratio * (double)l->records;
}

static double percent(const struct late *l)
{
	return l->records ? 100.0 * (double)l->count / (double)l->records : 100;
}

static void report_count(const struct late *l)
{
	char from[128] = "";

	if (l->count == 0)
		return;
	if (l->source[0] != NULL)
		snprintf(from, sizeof from, " (%llu %s, %llu %s)",
		    (unsigned long long)l->from[0], l->source[0],
		    (unsigned long long)l->from[1], l->source[1]);
	diag_warn("%llu late record%s %s%s", (unsigned long long)l->count,
	    l->count == 1 ? "" : "s", count_verb[l->policy], from);
}

static void close_file(struct late *l)
{
	if (l->f == NULL)
		return;
	if (fflush(l->f) != 0 || ferror(l->f) || fclose(l->f) != 0)
		diag_fatal("write error: '%s': %s", l->path, strerror(errno));
	l->f = NULL;
}

/* "N of M records[ so far] (P%) were late and dropped, more than
 * --max-late-ratio R allows: HINT", an error. */
static void report_over_ratio(const struct late *l, const char *sofar)
{
	diag_error("%llu of %llu records%s (%.1f%%) were late and %s, more "
	    "than --max-late-ratio %s allows: %s",
	    (unsigned long long)l->count, (unsigned long long)l->records,
	    sofar, percent(l), frac_verb[l->policy], l->max_ratio_arg, l->hint);
}

static void report_warning(const struct late *l, const char *sofar)
{
	diag_warn("warning: %llu of %llu records%s (%.1f%%) were late and %s: "
	    "%s", (unsigned long long)l->count, (unsigned long long)l->records,
	    sofar, percent(l), frac_verb[l->policy], l->hint);
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void late_check_running(struct late *l)
{
	int64_t now;

	if (l->max_ratio >= 0 && above(l, l->max_ratio)) {
		if (l->flush_on_fail)
			out_flush(l->flush_on_fail);
		report_count(l);
		report_over_ratio(l, " so far");
		close_file(l);
		exit(1);
	}
	if (!above(l, LATE_WARN_RATIO))
		return;
	now = monotonic_ms();
	if (now < l->next_warn_ms)
		return;
	report_warning(l, " so far");
	l->next_warn_ms = now + LATE_WARN_EVERY_MS;
}

/* scratch == NULL: the line is marked already (late_record_marked). */
static void handle(struct late *l, const char *line, size_t len,
    struct out *o, struct buf *scratch)
{
	l->count++;
	metric_add(l->m_count, 1);
	switch (l->policy) {
	case LATE_DROP:
		break;
	case LATE_DEAD_LETTER:
		if (fwrite(line, 1, len, l->f) != len || putc('\n', l->f) == EOF)
			diag_fatal("write error: '%s': %s", l->path,
			    strerror(errno));
		break;
	case LATE_PASS:
		if (scratch == NULL) {
			out_line(o, line, len);
			break;
		}
		rec_splice_begin(scratch, line, len);
		rec_splice_value(scratch, l->field, json_true());
		rec_splice_end(scratch);
		out_line(o, scratch->data, scratch->len);
		break;
	}
	if (l->records >= LATE_MIN_RECORDS)
		late_check_running(l);
}

void late_record(struct late *l, const char *line, size_t len,
    struct out *o, struct buf *scratch)
{
	handle(l, line, len, o, scratch);
}

void late_sources(struct late *l, const char *name0, const char *name1)
{
	l->source[0] = name0;
	l->source[1] = name1;
}

void late_record_from(struct late *l, int src, const char *where,
    const char *line, size_t len, struct out *o, struct buf *scratch)
{
	if (l->from[src]++ == 0)
		diag_warn("%s: late %s record %s: %s", where, l->source[src],
		    count_verb[l->policy], l->hint);
	handle(l, line, len, o, scratch);
}

void late_record_marked(struct late *l, const char *line, size_t len,
    struct out *o)
{
	handle(l, line, len, o, NULL);
}

int late_finish(struct late *l)
{
	int rc = 0;

	report_count(l);
	if (l->max_ratio >= 0 && above(l, l->max_ratio)) {
		report_over_ratio(l, "");
		rc = 1;
	} else if (above(l, LATE_WARN_RATIO)) {
		report_warning(l, "");
	}
	close_file(l);
	return rc;
}
