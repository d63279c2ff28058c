/* progress.c - the -v progress line (see progress.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "etime.h"
#include "metrics.h"
#include "progress.h"
#include "banned.h"

#define NS_PER_S INT64_C(1000000000)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void progress_init(struct progress *p, bool writer)
{
	memset(p, 0, sizeof *p);
	p->on = diag_verbosity() >= DIAG_PROGRESS;
	p->writer = writer;
	if (p->on) {
		p->last_ns = now_ns();
		p->next_ns = p->last_ns + NS_PER_S;
	}
}

void progress_count(uint64_t n, char *dst, size_t cap)
{
	static const char units[] = "kMGTPE";
	double v = (double)n;
	unsigned u = 0;

	if (n < 1000) {
		snprintf(dst, cap, "%llu", (unsigned long long)n);
		return;
	}
	/* Round first, so 999 950 reads 1.0M, not 1000k. */
	do {
		v /= 1000;
		u++;
	} while (v >= 999.5 && u < sizeof units - 1);
	if (v < 9.95)
		snprintf(dst, cap, "%.1f%c", v, units[u - 1]);
	else
		snprintf(dst, cap, "%.0f%c", v, units[u - 1]);
}

/* The watermark as a time when it is one, else as milliseconds. */
static void format_wm(int64_t wm, char *dst, size_t cap)
{
	/* Years 0000 to 9999 only: RFC 3339 has no others. */
	if (wm >= INT64_C(-62167219200000) && wm < INT64_C(253402300800000))
		ts_format_rfc3339(wm, dst, cap);
	else if (wm == ETIME_MIN)
		snprintf(dst, cap, "-inf");
	else if (wm == ETIME_MAX)
		snprintf(dst, cap, "+inf");
	else
		snprintf(dst, cap, "%lld", (long long)wm);
}

void progress_format(const struct progress *p, uint64_t din, uint64_t dout,
    int64_t elapsed_ns, char *dst, size_t n)
{
	char count[16], rate[16], wm[48];
	/* The rate of what the tool takes in; a source's of what it writes. */
	bool in = p->reader || !p->writer;
	double secs = elapsed_ns > 0 ? (double)elapsed_ns / NS_PER_S : 1;
	size_t len;

	progress_count(in ? p->in : p->out, count, sizeof count);
	progress_count((uint64_t)((double)(in ? din : dout) / secs + 0.5),
	    rate, sizeof rate);
	len = (size_t)snprintf(dst, n, "%s %s (%s/s)", count, in ? "in" : "out",
	    rate);
	if (in && p->writer && len < n) {
		progress_count(p->out, count, sizeof count);
		len += (size_t)snprintf(dst + len, n - len, ", %s out", count);
	}
	if (p->has_wm && len < n) {
		format_wm(p->wm, wm, sizeof wm);
		snprintf(dst + len, n - len, ", watermark %s", wm);
	}
}

void progress_set_metrics(struct progress *p, struct metrics *m)
{
	p->metrics = m;
}

void progress_publish(struct progress *p)
{
	struct metrics *m = p->metrics;

	if (m == NULL)
		return;
	if (p->in > 0 && p->m_in == NULL)
		p->m_in = metrics_counter(m, "fs_records_in_total",
		    "Lines read (data and control records).", NULL);
	if (p->out > 0 && p->m_out == NULL)
		p->m_out = metrics_counter(m, "fs_records_out_total",
		    "Lines written (data and control records).", NULL);
	metric_set_count(p->m_in, p->in);
	metric_set_count(p->m_out, p->out);
	if (!p->has_wm)
		return;
	if (p->m_wm == NULL) {
		p->m_wm = metrics_gauge(m, "fs_watermark_seconds",
		    "The watermark last written (a sink: read), epoch seconds.",
		    NULL);
		p->m_lag = metrics_age(m, "fs_watermark_lag_seconds",
		    "How far the watermark is behind the wall clock, seconds.",
		    NULL);
	}
	if (p->wm == ETIME_MIN || p->wm == ETIME_MAX) {
		/* The end of time: no lag to speak of. */
		metric_set(p->m_wm, p->wm == ETIME_MIN ? -INFINITY : INFINITY);
		return;
	}
	metric_set(p->m_wm, (double)p->wm / 1000);
	metric_set_time(p->m_lag, p->wm);
}

void progress_tick_slow(struct progress *p)
{
	char line[160];
	int64_t now;

	progress_publish(p);
	if (!p->on)
		return;
	now = now_ns();

	if (now < p->next_ns)
		return;
	if (p->in == p->last_in && p->out == p->last_out &&
	    p->has_wm == p->last_has_wm && p->wm == p->last_wm)
		return;
	progress_format(p, p->in - p->last_in, p->out - p->last_out,
	    now - p->last_ns, line, sizeof line);
	diag_info("%s", line);
	p->last_ns = now;
	p->next_ns = now + NS_PER_S;
	p->last_in = p->in;
	p->last_out = p->out;
	p->last_wm = p->wm;
	p->last_has_wm = p->has_wm;
}
