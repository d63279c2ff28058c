/*
 * tool.h - what every fs binary shares: the common options and the
 * includes a tool needs.  Include it first in cmd/fs-x.c.
 *
 * Adding a tool (all five, in one change):
 *   1. cmd/fs-x.c: main() as a table of contents; a struct opts filled
 *      from one option table ending in OPT_GROUP_COMMON (opt.h, whose
 *      header is the checklist); a usage text beginning "usage: fs-x",
 *      the synopsis.
 *   2. man/fs-x.1 in mdoc: SYNOPSIS and an option list matching usage
 *      (tests/man.bats compares them), EXIT STATUS, EXAMPLES, SEE ALSO.
 *   3. tests/fs-x.bats: the tool's behaviour, exact outputs.
 *   4. Makefile: the tool's line in TOOLS.
 *   5. README.md: the tool in the list, and a pipeline if it has a use.
 *
 * The common options mean the same in every tool:
 *   --time-field PATH      event time field (default ts)
 *   --on-error POLICY      fail (default), skip, or dead-letter
 *   --dead-letter FILE     where dead-lettered lines go (implies it)
 *   --checkpoint-dir DIR   take part in checkpoints (fs-checkpoint(5))
 *   --stage NAME           this stage's name in DIR (default: the tool)
 *   --data-only            no control records on stdout (never on a
 *                          terminal, see out.h)
 *   --stats                statistics on stderr at exit
 *   --metrics-port [ADDR:]PORT, --metrics-file FILE, --metrics-interval
 *                          Prometheus metrics (metrics.h, fs(7) Metrics)
 *   -q, --quiet / -v, --verbose (a progress line every second, see
 *   progress.h), -h, --help, --version
 */
#ifndef FS_TOOL_H
#define FS_TOOL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "diag.h"
#include "etime.h"
#include "lineio.h"
#include "metrics.h"
#include "num.h"
#include "out.h"
#include "path.h"
#include "rec.h"
#include "sig.h"
#include "xalloc.h"

struct ckpt_backend;

enum on_error { ON_ERROR_FAIL, ON_ERROR_SKIP, ON_ERROR_DEAD_LETTER };

struct fs_common {
	const char *time_field;
	struct path time_path;      /* compiled by fs_common_finish() */
	enum on_error on_error;
	const char *dead_letter;
	const char *ckpt_dir;
	/* The store for a --checkpoint-dir SCHEME://... (ckpt.h), set by a
	 * tool that links one (kafka_ckpt_backend): NULL, directories only. */
	const struct ckpt_backend *ckpt_backend;
	const char *stage;
	bool data_only;
	bool stats;
	const char *metrics_port;       /* [ADDR:]PORT to serve on */
	const char *metrics_file;       /* a textfile to write */
	int64_t metrics_interval_ms;    /* how often (default 15s) */
	struct metrics *metrics;        /* made by fs_common_finish() when
					 * asked for, else NULL; lives to
					 * the end of the process */
};

#define FS_METRICS_INTERVAL_DEFAULT_MS 15000

void fs_common_init(struct fs_common *c, int argc, char **argv);

/* Checks combinations, compiles the time path, sets --data-only for
 * standard output (out.h); exits 2 on bad usage.  With --metrics-port
 * or --metrics-file, makes c->metrics and starts serving or writing it
 * (exits 1 when it cannot). */
void fs_common_finish(struct fs_common *c);

/* The checkpoint stage name (--stage, else the program name). */
const char *fs_common_stage(const struct fs_common *c);

#endif
