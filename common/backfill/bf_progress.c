/* bf_progress.c - a progress display on stderr (see bf_progress.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bf_progress.h"
#include "buf.h"
#include "etime.h"
#include "banned.h"

#define SHOWN_MAX 8             /* file lines at most */
#define REDRAW_MS 200

void bf_progress_init(struct bf_progress *p, bool on)
{
	memset(p, 0, sizeof *p);
	p->on = on;
	p->start_ms = etime_now_ms();
}

bool bf_progress_due(struct bf_progress *p)
{
	return p->on && etime_now_ms() - p->last_ms >= REDRAW_MS;
}

static void human(char *dst, size_t n, double v)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	unsigned u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(dst, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void line(struct buf *b, const char *name, uint64_t done,
    uint64_t size, uint64_t records, const char *tail)
{
	char text[256], d[32], s[32];

	human(d, sizeof d, (double)done);
	human(s, sizeof s, (double)size);
	if (size > 0)
		snprintf(text, sizeof text, "%-24.24s %5.1f%%  %s / %s  %" PRIu64
		    " records%s", name, 100.0 * (double)done / (double)size, d,
		    s, records, tail);
	else
		snprintf(text, sizeof text, "%-24.24s %s  %" PRIu64
		    " records%s", name, d, records, tail);
	buf_appends(b, "\r\033[K");
	buf_appends(b, text);
	buf_appendc(b, '\n');
}

void bf_progress_draw(struct bf_progress *p,
    const struct bf_progress_file *files, unsigned n, uint64_t records,
    const char *phase)
{
	struct buf b = BUF_INIT;
	uint64_t done = 0, size = 0;
	bool sized = true;
	int shown = 0;
	double secs;
	char tail[96], eta[32] = "";

	if (!p->on)
		return;
	p->last_ms = etime_now_ms();
	secs = (double)(p->last_ms - p->start_ms) / 1000.0;
	if (p->drawn > 0) {
		char up[16];

		snprintf(up, sizeof up, "\033[%dA", p->drawn);
		buf_appends(&b, up);
	}
	for (unsigned i = 0; i < n; i++) {
		done += files[i].done;
		size += files[i].size;
		sized = sized && files[i].size > 0;
		if (files[i].active && shown < SHOWN_MAX) {
			line(&b, files[i].name, files[i].done, files[i].size,
			    files[i].records, "");
			shown++;
		}
	}
	if (sized && done > 0 && done < size && secs > 0.5) {
		double left = secs * (double)(size - done) / (double)done;

		snprintf(eta, sizeof eta, "  ETA %d:%02d",
		    (int)(left / 60), (int)left % 60);
	}
	snprintf(tail, sizeof tail, "  %.0f records/s%s%s%s",
	    secs > 0 ? (double)records / secs : 0.0, eta,
	    phase ? "  " : "", phase ? phase : "");
	line(&b, "total", done, sized ? size : 0, records, tail);
	shown++;
	/* Lines left over from a taller drawing. */
	for (int i = shown; i < p->drawn; i++)
		buf_appends(&b, "\r\033[K\n");
	if (p->drawn > shown) {
		char up[16];

		snprintf(up, sizeof up, "\033[%dA", p->drawn - shown);
		buf_appends(&b, up);
	} else {
		p->drawn = shown;
	}
	(void)!write(2, b.data, b.len);
	buf_free(&b);
}

void bf_progress_clear(struct bf_progress *p)
{
	char s[32];

	if (!p->on || p->drawn == 0)
		return;
	snprintf(s, sizeof s, "\033[%dA\r\033[J", p->drawn);
	(void)!write(2, s, strlen(s));
	p->drawn = 0;
}
