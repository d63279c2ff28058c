/*
 * reject.h - the common --on-error policy for bad input.
 *
 * Nothing is dropped without a word.  Each rejected line is reported on
 * stderr with where it came from and why ("fs-agg: clicks.ndjson:12:
 * invalid JSON: column 7: ..."); what happens next is the policy:
 *
 *   fail         the default: the report, then exit 1 (output written so
 *                far is flushed first, so the user sees how far it got)
 *   skip         the report (hidden by -q), the line is passed over
 *   dead-letter  the report (hidden by -q), and the line's original
 *                bytes plus '\n' are appended to the --dead-letter file
 *
 * A first line that is the start of a gzip or zstd file fails under
 * every policy ("compressed input (gzip): use fs-backfill or zcat"):
 * the whole input is unreadable, not one line of it.
 *
 * rejects_finish() prints "PROG: N records rejected" when N > 0, and
 * closes the dead-letter file checking for write errors.
 *
 * With metrics (--metrics-port, --metrics-file) rejects_init() also
 * publishes the lines flush_on_fail writes and the lines read into it
 * (out_set_metrics(): every stage with an output passes here), and
 * each rejected line counts in fs_records_rejected_total.
 */
#ifndef FS_REJECT_H
#define FS_REJECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lineio.h"
#include "out.h"
#include "tool.h"

struct rejects {
	enum on_error policy;
	const char *dl_path;
	FILE *dl;
	struct out *flush_on_fail;      /* flushed before exit 1; may be NULL */
	uint64_t count;
	struct metric *m_count;         /* NULL without metrics */
};

void rejects_init(struct rejects *r, const struct fs_common *c,
    struct out *flush_on_fail);

/* where: "FILE:LINE", "topic/partition@offset", ... */
void reject(struct rejects *r, const char *where, const char *why,
    const char *raw, size_t len);
/* The same, where being the reader's file name and line number. */
void reject_line(struct rejects *r, const struct lineio *lr,
    const char *why, const char *raw, size_t len);

void rejects_finish(struct rejects *r);

#endif
