/*
 * window_late.h - what an event-time stage does with a late record: one
 * that arrives after every window it belongs to has closed (its window
 * end plus the allowed lateness is at or behind the watermark).
 *
 * Never silently: each late record is counted, and then
 *
 *   drop         passed over (the count is reported at exit)
 *   dead-letter  its original line appended to the --late-file
 *   pass         forwarded downstream with "late":true spliced in (the
 *                member name is --late-field), for a later stage to handle
 *
 * late_finish() reports "PROG: N late records dropped" (or dead-lettered,
 * or passed) on stderr when N > 0, and closes the file, checking it.
 */
#ifndef FS_WINDOW_LATE_H
#define FS_WINDOW_LATE_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "out.h"

enum late_policy { LATE_DROP, LATE_DEAD_LETTER, LATE_PASS };

struct late {
	enum late_policy policy;
	const char *path;       /* --late-file */
	const char *field;      /* --late-field, default "late" */
	FILE *f;
	uint64_t count;
};

/* Parses "drop", "dead-letter" or "pass"; exits 2 otherwise. */
enum late_policy late_parse_policy(const char *arg);

/* Checks the combination (dead-letter needs a file) and opens the file;
 * usage errors exit 2, an unopenable file exits 1. */
void late_init(struct late *l, enum late_policy p, const char *path,
    const char *field);

/* Handles one late line (its original bytes); scratch is a work buffer. */
void late_record(struct late *l, const char *line, size_t len,
    struct out *o, struct buf *scratch);

void late_finish(struct late *l);

#endif
