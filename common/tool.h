/*
 * tool.h - what every fs binary shares: the common options and the
 * includes a tool needs.  Include it first in cmd/fs-x.c.
 *
 * Adding a tool (all five, in one change):
 *   1. cmd/fs-x.c: main() as a table of contents; a static struct opts
 *      filled by a getopt_long parser that ends its long options with
 *      FS_COMMON_LONGOPTS and hands unknown codes to fs_common_option();
 *      a usage text beginning "usage: fs-x" that lists every option.
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
	/* Settings for that store's connections, KEY=VALUE, NULL-terminated
	 * (ckpt_store_open()): a Kafka tool's connection properties of -X
	 * and -F (kafka_conf_connection()).  NULL: none.  The tool's. */
	char **ckpt_props;
	const char *stage;
	bool data_only;
	bool stats;
};

/* Option codes above any character, for long-only common options. */
enum {
	OPT_HELP = 0x1000,
	OPT_VERSION,
	OPT_TIME_FIELD,
	OPT_ON_ERROR,
	OPT_DEAD_LETTER,
	OPT_CHECKPOINT_DIR,
	OPT_STAGE,
	OPT_STATS,
	OPT_DATA_ONLY,
	OPT_TOOL_BASE = 0x1100  /* a tool's own long-only codes start here */
};

#define FS_COMMON_LONGOPTS \
	{ "checkpoint-dir", required_argument, NULL, OPT_CHECKPOINT_DIR }, \
	{ "data-only", no_argument, NULL, OPT_DATA_ONLY }, \
	{ "dead-letter", required_argument, NULL, OPT_DEAD_LETTER }, \
	{ "help", no_argument, NULL, OPT_HELP }, \
	{ "on-error", required_argument, NULL, OPT_ON_ERROR }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "stage", required_argument, NULL, OPT_STAGE }, \
	{ "stats", no_argument, NULL, OPT_STATS }, \
	{ "time-field", required_argument, NULL, OPT_TIME_FIELD }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "version", no_argument, NULL, OPT_VERSION }, \
	{ NULL, 0, NULL, 0 }

/* Short options every tool accepts; append to the tool's optstring.
 * A letter means one thing in every tool (fs(7), Short options). */
#define FS_COMMON_SHORTOPTS "hqv"

/* The usage text the common options add, for a tool's usage(). */
#define FS_COMMON_USAGE \
"  --time-field PATH     event time field (default ts)\n" \
"  --on-error POLICY     fail (default), skip, or dead-letter\n" \
"  --dead-letter FILE    write rejected lines to FILE (implies dead-letter)\n" \
"  --checkpoint-dir DIR  take part in checkpoints under DIR\n" \
"  --stage NAME          this stage's name in DIR (default: program name)\n" \
"  --data-only           write no control records (as on a terminal)\n" \
"  --stats               print statistics to stderr at exit\n" \
"  -q, --quiet           only errors on stderr\n" \
"  -v, --verbose         progress on stderr, once a second\n" \
"  -h, --help            this help\n" \
"  --version             the version\n"

void fs_common_init(struct fs_common *c, int argc, char **argv);

/*
 * Handles opt if it is a common option: returns true.  --help prints
 * usage to stdout and exits 0; --version prints "PROG (fs) VERSION" and
 * exits 0; '?' (getopt's unknown option) exits 2 with a pointer to
 * --help.  Returns false for the tool's own options.
 */
bool fs_common_option(struct fs_common *c, int opt, const char *arg,
    const char *usage);

/* Checks combinations, compiles the time path, sets --data-only for
 * standard output (out.h); exits 2 on bad usage. */
void fs_common_finish(struct fs_common *c);

/* The checkpoint stage name (--stage, else the program name). */
const char *fs_common_stage(const struct fs_common *c);

#endif
