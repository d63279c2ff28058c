/*
 * bf_progress.h - a progress display on stderr for batch tools.
 *
 * Only when stderr is a terminal (the caller decides: bf_progress_init
 * with on = isatty(2) && not quiet); otherwise every call does nothing,
 * so logs and test output never see it.  It draws one line per active
 * file and a total line (bytes done of the total, records, record rate,
 * time left), redrawn in place at most five times a second, and
 * bf_progress_clear() erases it before the tool prints anything else.
 */
#ifndef FS_BF_PROGRESS_H
#define FS_BF_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct bf_progress_file {
	const char *name;
	uint64_t done, size;    /* bytes on disk; size 0: unknown */
	uint64_t records;
	bool active;            /* shown on a line of its own */
};

struct bf_progress {
	bool on;
	int drawn;              /* lines on the screen now */
	int64_t start_ms, last_ms;
};

void bf_progress_init(struct bf_progress *p, bool on);
/* True when a redraw is due (cheap: a clock read every call). */
bool bf_progress_due(struct bf_progress *p);
/* Draws files[0..n) and the total; phase (may be NULL) names a stage
 * such as "sorting" on the total line. */
void bf_progress_draw(struct bf_progress *p,
    const struct bf_progress_file *files, unsigned n, uint64_t records,
    const char *phase);
void bf_progress_clear(struct bf_progress *p);

#endif
