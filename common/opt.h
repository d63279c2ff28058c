/*
 * opt.h - a tool's options from one table: getopt_long's arrays, the
 * --help text and the value checks all come from it (git's
 * parse-options, curl's option table).
 *
 * Adding a tool:
 *   1. cmd/fs-x.c: a struct opts holding every option's value (struct
 *      fs_common first), its defaults set after fs_common_init(), and a
 *      table in parse_options() ending in OPT_GROUP_COMMON(&o->c) and
 *      OPT_END; opt_parse() returns the first operand's index;
 *      fs_common_finish() and the tool's own combination checks follow.
 *      The usage string is the synopsis (as the man page's SYNOPSIS) and
 *      one line saying what the tool does; the options come from the
 *      table.
 *   2. man/fs-x.1, tests/fs-x.bats, the Makefile's TOOLS line, README.md
 *      (tool.h's checklist, steps 2 to 5).
 *
 * Adding an option:
 *   1. A field in the tool's struct opts of the kind's type (below), its
 *      default set before opt_parse().
 *   2. One entry in the table, where the man page lists it: the order of
 *      the table is the order of --help (or, above an OPT_SORTED, the
 *      sorted order), and a help text longer than a line is broken by
 *      hand with '\n'.  Give a range that says what
 *      makes sense, not just what fits the type: the range is the
 *      message a user sees.
 *   3. The option in man/fs-x.1 (tests/cli.bats checks --help against
 *      it) and a test of what it does.
 *   An option several tools share goes in a group macro (OPT_GROUP_*)
 *   declared once, next to the code that uses its values.
 *
 * Moving a tool over from getopt_long by hand: its longopts, option
 * enum, switch and the option lines of its usage text become one table
 * (keep the usage text's order, and its wording and line breaks as '\n'
 * in the help, so --help stays byte for byte; OPT_HELP_SAME_LINE keeps
 * a layout with wide options' help on their own line, as fs-join's; a
 * usage text that lists the options sorted, a group's among the tool's
 * own, is a table whose sorted part ends with OPT_SORTED, and one that
 * puts long options' help in a second column says so with
 * OPT_WIDE_HELP()).
 * The late options are OPT_GROUP_LATE (window/window_late.h), --strict
 * is OPT_GROUP_FIELDSEEN (fieldseen.h).  Diff --help before and after.
 * A tool with many options may keep its table at file scope, pointing
 * into a file-scope struct opts (fs-window, fs-join), so that
 * parse_options() is what it does, not the list.  Every tool is on
 * the table now: there is no other way to declare an option.
 *
 * Kinds, the type the value pointer has, and what is checked:
 *   OPT_FLAG       bool *            no argument; sets true
 *   OPT_STRING     const char **     any argument (borrowed from argv)
 *   OPT_INT        int64_t *         an integer within [min, max]
 *   OPT_NUMBER     double *          a finite number within [min, max]
 *   OPT_DURATION   int64_t *         a duration (etime.h), milliseconds,
 *                                    within [min, max]
 *   OPT_SIZE       uint64_t *        bytes: digits with an optional K, M,
 *                                    G or T (powers of 1024), within
 *                                    [min, max]
 *   OPT_TIME       int64_t *         epoch ms or RFC 3339 (etime.h)
 *   OPT_POLICY     an enum (int-sized) *   one word of a NULL-terminated
 *                                    list; the Nth word stores N, so list
 *                                    the words in the enum's order
 *   OPT_LIST       struct opt_list * repeatable: each use appends
 *   OPT_CALLBACK   void *data        fn(data, name, arg) does the rest
 *   OPT_OLD_SHORT  (none)            an old spelling: -h HOSTS is
 *                                    --hosts HOSTS, -h alone is help
 * A scalar given twice keeps the last value; a list keeps every one.
 * A bad value exits 2 through diag_usage() naming the option as the
 * user wrote it (-c or --count) and the allowed values:
 *   fs-gen: --rate: expected an integer from 1 to 1000000: '0'
 *   Try 'fs-gen --help' for more information.
 * An unknown option, a missing argument and a bad letter in a cluster
 * (-qz) are getopt_long's messages, followed by the same "Try" line.
 *
 * Why getopt_long and not argp or popt: every tool is already written
 * on getopt_long, so its messages, its argument permutation and its
 * abbreviations of long options stay exactly as users and tests know
 * them; argp writes its own --help layout and adds --usage and -?, and
 * popt is another library to link and has its own messages.  The layer
 * is a table and two generators, small enough to own.
 *
 * Ownership: the table is the caller's (usually an array local to
 * parse_options(), since its pointers point into the tool's options);
 * strings stored are argv's; an opt_list's array is allocated
 * (opt_list_free()).  opt_parse() allocates getopt_long's arrays and
 * frees them when it returns (a usage error's exit leaves them to the
 * end of the process).
 */
#ifndef FS_OPT_H
#define FS_OPT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tool.h"

enum opt_kind {
	OPT_KIND_END,
	OPT_KIND_FLAG,
	OPT_KIND_STRING,
	OPT_KIND_INT,
	OPT_KIND_NUMBER,
	OPT_KIND_DURATION,
	OPT_KIND_SIZE,
	OPT_KIND_TIME,
	OPT_KIND_POLICY,
	OPT_KIND_LIST,
	OPT_KIND_CALLBACK,
	OPT_KIND_HELP,
	OPT_KIND_VERSION,
	OPT_KIND_OLD_SHORT,
	OPT_KIND_SORTED
};

/* The values of a repeatable option, in the order given. */
struct opt_list {
	const char **v;         /* borrowed from argv */
	size_t n, cap;
};

/* A callback option: name is the option as written ("-q", "--late"),
 * arg its argument or NULL.  It may exit through diag_usage(). */
typedef void opt_fn(void *data, const char *name, const char *arg);

struct opt {
	enum opt_kind kind;
	int short_name;         /* the letter, or 0: long only */
	const char *name;       /* the long name without "--", or NULL */
	const char *argname;    /* "N", "DURATION"; NULL: takes none */
	const char *help;       /* one or more lines, '\n' between; NULL:
				 * accepted but not in --help (an old
				 * spelling kept for scripts) */
	union {
		bool *flag;
		const char **str;
		int64_t *i64;
		uint64_t *u64;
		double *num;
		int *policy;
		struct opt_list *list;
		void *data;
	} to;
	int64_t min, max;       /* OPT_INT, OPT_DURATION, OPT_SIZE */
	double dmin, dmax;      /* OPT_NUMBER */
	const char *const *words;       /* OPT_POLICY */
	opt_fn *fn;             /* OPT_CALLBACK */
	const char *target;     /* OPT_OLD_SHORT: the option it spells */
};

/* The table's entries.  s is the short letter or 0, l the long name or
 * NULL, p where the value goes, a the argument's name in --help, h the
 * help line(s), NULL to leave it out of --help.  The pointer's type is
 * checked by the compiler. */
#define OPT_FLAG(s, l, p, h) \
	{ .kind = OPT_KIND_FLAG, .short_name = (s), .name = (l), \
	  .help = (h), .to.flag = (p) }
#define OPT_STRING(s, l, p, a, h) \
	{ .kind = OPT_KIND_STRING, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .to.str = (p) }
#define OPT_INT(s, l, p, lo, hi, a, h) \
	{ .kind = OPT_KIND_INT, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .to.i64 = (p), .min = (lo), \
	  .max = (hi) }
#define OPT_NUMBER(s, l, p, lo, hi, a, h) \
	{ .kind = OPT_KIND_NUMBER, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .to.num = (p), .dmin = (lo), \
	  .dmax = (hi) }
#define OPT_DURATION(s, l, p, lo, hi, a, h) \
	{ .kind = OPT_KIND_DURATION, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .to.i64 = (p), .min = (lo), \
	  .max = (hi) }
#define OPT_SIZE(s, l, p, lo, hi, a, h) \
	{ .kind = OPT_KIND_SIZE, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .to.u64 = (p), .min = (lo), \
	  .max = (hi) }
#define OPT_TIME(s, l, p, a, h) \
	{ .kind = OPT_KIND_TIME, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .to.i64 = (p) }
/* p points to an enum; it must be int-sized (checked at compile time). */
#define OPT_POLICY(s, l, p, w, a, h) \
	{ .kind = OPT_KIND_POLICY, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .words = (w), \
	  .to.policy = (int *)(void *)(p) + OPT__INT_SIZED(p) }
#define OPT_LIST(s, l, p, a, h) \
	{ .kind = OPT_KIND_LIST, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .to.list = (p) }
/* a NULL: the option takes no argument. */
#define OPT_CALLBACK(s, l, f, d, a, h) \
	{ .kind = OPT_KIND_CALLBACK, .short_name = (s), .name = (l), \
	  .argname = (a), .help = (h), .fn = (f), .to.data = (d) }
#define OPT_HELP_ENTRY(s, h) \
	{ .kind = OPT_KIND_HELP, .short_name = (s), .name = "help", \
	  .help = (h) }
#define OPT_VERSION_ENTRY(h) \
	{ .kind = OPT_KIND_VERSION, .name = "version", .help = (h) }
/*
 * An old spelling kept for scripts, from before the letter s meant what
 * it means in every tool now: -s VALUE, when VALUE does not begin with
 * '-', and -sVALUE are the long option l with VALUE; -s alone (or
 * before an option) keeps the letter's meaning now.  The letter's own
 * entry must take no argument (-h, help), l must take one ("hosts").
 * Not in --help; the man page says it.
 */
#define OPT_OLD_SHORT(s, l) \
	{ .kind = OPT_KIND_OLD_SHORT, .short_name = (s), .target = (l) }
#define OPT_END { .kind = OPT_KIND_END }
/*
 * Not an option: --help lists the entries above it (back to the table's
 * start, or to an earlier OPT_SORTED) sorted, as most usage texts list
 * them, so a group's entries fall among the tool's own: first those with
 * a letter, by letter ignoring case (-a before -A), then the long-only
 * ones by name.  The entries below it keep the table's order.
 */
#define OPT_SORTED { .kind = OPT_KIND_SORTED }

/* 0, or a compile error when *p is not int-sized. */
#define OPT__INT_SIZED(p) (0 * sizeof(char[sizeof *(p) == sizeof(int) ? 1 : -1]))

/*
 * The common options of every tool (tool.h), onto struct fs_common *c.
 * fs_common_init() sets the defaults before opt_parse(),
 * fs_common_finish() checks the combinations after.
 */
extern const char *const opt_on_error_words[];
opt_fn opt_quiet, opt_verbose;

#define OPT_GROUP_COMMON(c) \
	OPT_STRING(0, "time-field", &(c)->time_field, "PATH", \
	    "event time field (default ts)"), \
	OPT_POLICY(0, "on-error", &(c)->on_error, opt_on_error_words, \
	    "POLICY", "fail (default), skip, or dead-letter"), \
	OPT_STRING(0, "dead-letter", &(c)->dead_letter, "FILE", \
	    "write rejected lines to FILE (implies dead-letter)"), \
	OPT_STRING(0, "checkpoint-dir", &(c)->ckpt_dir, "DIR", \
	    "take part in checkpoints under DIR"), \
	OPT_STRING(0, "stage", &(c)->stage, "NAME", \
	    "this stage's name in DIR (default: program name)"), \
	OPT_FLAG(0, "data-only", &(c)->data_only, \
	    "write no control records (as on a terminal)"), \
	OPT_FLAG(0, "stats", &(c)->stats, \
	    "print statistics to stderr at exit"), \
	OPT_STRING(0, "metrics-port", &(c)->metrics_port, "[ADDR:]PORT", \
	    "serve Prometheus metrics (ADDR 127.0.0.1)"), \
	OPT_STRING(0, "metrics-file", &(c)->metrics_file, "FILE", \
	    "write Prometheus metrics to FILE (a textfile)"), \
	OPT_DURATION(0, "metrics-interval", &(c)->metrics_interval_ms, 1, \
	    INT64_C(86400000), "DURATION", "how often to write FILE (default 15s)"), \
	OPT_CALLBACK('q', "quiet", opt_quiet, NULL, NULL, \
	    "only errors on stderr"), \
	OPT_CALLBACK('v', "verbose", opt_verbose, NULL, NULL, \
	    "progress on stderr, once a second"), \
	OPT_HELP_ENTRY('h', "this help"), \
	OPT_VERSION_ENTRY("the version")

/* opt_parse() and opt_help() flags. */
#define OPT_STOP_AT_OPERAND 1u  /* options end at the first operand, as
				 * before a subcommand ("+" to getopt) */
#define OPT_HELP_SAME_LINE 2u   /* --help: an option too wide for the
				 * help column keeps its help on its own
				 * line, two spaces after it (fs-join's
				 * layout), not on the next line */
/*
 * --help's layout: two spaces, the option, and its help from column 24,
 * at least one space after the option; an option too long for that has
 * its help on the next line, from column 24.  With OPT_WIDE_HELP(col)
 * (col above 24, below 256) an option too long for column 24 has its
 * help from column col instead (its continuation lines too), and only
 * one too long for col goes to the next line, from col (fs-consume's
 * layout: col 34).
 */
#define OPT_HELP_COLUMN 24
#define OPT_WIDE_HELP(col) (((unsigned)(col) & 0xffu) << 8)

/*
 * Parses argv by the table opts (ended by OPT_END) and stores each
 * value; --help prints usage and the options to stdout and exits 0,
 * --version prints "PROG (fs) VERSION" and exits 0, usage errors exit 2
 * (above).  Call fs_common_init() first: getopt_long's messages take
 * the program name from argv[0].  Returns the index in argv of the
 * first operand (argc when none).  The table is checked: a long name or
 * letter declared twice is a bug and exits 1.
 */
int opt_parse(const char *usage, const struct opt *opts, unsigned flags,
    int argc, char **argv);

/* Appends usage and the options' help to b, as --help prints it with
 * opt_parse()'s flags: each option's help starts at column 24, or on
 * the next line there when the option reaches the column (with
 * OPT_HELP_SAME_LINE: two spaces after it). */
void opt_help(struct buf *b, const char *usage, const struct opt *opts,
    unsigned flags);

/*
 * getopt_long's arrays for a table: longopts ends with a zero entry,
 * shortopts is the optstring ("+" first with OPT_STOP_AT_OPERAND).  An
 * option with a letter returns the letter, a long-only one
 * OPT_CODE_BASE plus its index in the table.  Returns 0, or -1 with why
 * set when the table declares a name or letter twice.  opt_getopt_free()
 * releases the arrays.
 */
#define OPT_CODE_BASE 0x10000
struct opt_getopt {
	struct option *longopts;
	char *shortopts;
};
int opt_getopt_build(struct opt_getopt *g, const struct opt *opts,
    unsigned flags, char *why, size_t whylen);
void opt_getopt_free(struct opt_getopt *g);

/* Stores arg as opts's value (the check of one option's argument);
 * name is the option as written, for messages.  Exits 2 on a bad one. */
void opt_set(const struct opt *o, const char *name, const char *arg);

void opt_list_free(struct opt_list *l);

#endif
