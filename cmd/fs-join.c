/*
 * fs-join - join two event-time streams: interval, as-of and window
 * joins with Flink SQL's semantics.  The state and matching are in
 * common/join/ (join.h), and so is the reading of the inputs (one
 * interleaved stream split by selectors, or two inputs polled together
 * with barriers aligned across them: join_run.h).  This file is the
 * tool: its options and their wiring.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldseen.h"
#include "opt.h"
#include "tool.h"
#include "join/join.h"
#include "kafka/kafka.h"
#include "window/window.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-join --between LO,HI | --asof | --window [--type TYPE]\n"
"               [--key PATHS | --left-key PATHS --right-key PATHS]\n"
"               [--left FILE] [--right FILE]\n"
"               [--left-where PATH=VALUE] [--right-where PATH=VALUE]\n"
"               [--left-prefix STR] [--right-prefix STR]\n"
"               [--left-fields LIST] [--right-fields LIST]\n"
"               [--right-time-field PATH] [--retention DURATION]\n"
"               [--max-out-of-orderness DURATION]\n"
"               [--start-field NAME] [--end-field NAME]\n"
"               [--idle-timeout DURATION] [--late POLICY]\n"
"               [--late-file FILE] [--late-field NAME]\n"
"               [--max-late-ratio R] [common options] [FILE]\n"
"Join a left and a right stream of NDJSON records on key and event time.\n";

struct opts {
	struct fs_common common;
	struct join_run_conf r;         /* what the engine reads */
	int kinds;                      /* how many of the kind options */
	const char *type;
	const char *right_time;         /* --right-time-field */
	struct path right_time_path;
};

/* --- options ------------------------------------------------------------- */

/* "-10m", "+5s", "0": a duration with an optional sign. */
static int signed_duration(const char *s, int64_t *ms)
{
	int neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0)
		*ms = 0;
	else if (dur_parse(s, ms) != 0)
		return -1;
	if (neg)
		*ms = -*ms;
	return 0;
}

/* --between LO,HI: an interval join. */
static void between_option(void *data, const char *name, const char *arg)
{
	struct opts *o = data;
	const char *comma = strchr(arg, ',');
	char *lo;
	int bad;

	if (comma == NULL)
		diag_usage("%s wants LO,HI (e.g. -10m,0): '%s'", name, arg);
	lo = xstrndup(arg, (size_t)(comma - arg));
	bad = signed_duration(lo, &o->r.cfg.lo) != 0 ||
	    signed_duration(comma + 1, &o->r.cfg.hi) != 0;
	free(lo);
	if (bad)
		diag_usage("%s wants two signed durations "
		    "such as -10m,0: '%s'", name, arg);
	if (o->r.cfg.lo > o->r.cfg.hi)
		diag_usage("%s: LO must not exceed HI: '%s'", name, arg);
	o->r.cfg.kind = JOIN_INTERVAL;
	o->kinds++;
}

static void asof_option(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	(void)name, (void)arg;
	o->r.cfg.kind = JOIN_ASOF;
	o->kinds++;
}

static void window_option(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	(void)name, (void)arg;
	o->r.cfg.kind = JOIN_WINDOW;
	o->kinds++;
}

/* --left-where, --right-where: data is the side's selector. */
static void where_option(void *data, const char *name, const char *arg)
{
	struct join_selector *w = data;
	const char *eq = strchr(arg, '=');
	char *p;

	if (eq == NULL || eq == arg)
		diag_usage("%s wants PATH=VALUE: '%s'", name, arg);
	p = xstrndup(arg, (size_t)(eq - arg));
	if (path_compile(&w->path, p) != 0)
		diag_usage("%s: invalid path: '%s'", name, p);
	free(p);
	w->value = xstrdup(eq + 1);
	w->set = true;
}

static enum join_type parse_type(const char *s)
{
	static const char *const names[] = {
		"inner", "left", "right", "full", "semi", "anti"
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum join_type)i;
	diag_usage("--type must be inner, left, right, full, semi or anti: "
	    "'%s'", s);
}

/* The options, and their table: fs-join's are many, and a table at
 * file scope keeps parse_args() to what it does. */
static struct opts opts;

static const struct opt options[] = {
	OPT_CALLBACK(0, "asof", asof_option, &opts, NULL,
	    "as-of join: each left record with the latest right\n"
	    "record of its key at or before its time"),
	OPT_CALLBACK(0, "between", between_option, &opts, "LO,HI",
	    "interval join: right time within [left+LO, left+HI]\n"
	    "(signed durations, e.g. -10m,0)"),
	OPT_STRING(0, "end-field", &opts.r.cfg.end_field, "NAME",
	    "window join: window end member (default window_end)"),
	OPT_DURATION(0, "idle-timeout", &opts.r.cfg.idle, 0, INT64_MAX,
	    "DURATION", "a side silent this long stops holding back\n"
	    "the watermark"),
	OPT_STRING(0, "key", &opts.r.key, "PATHS",
	    "join key of both sides (comma-separated paths)"),
	OPT_STRING(0, "left", &opts.r.input[JOIN_LEFT], "FILE",
	    "left input, as FILE is (default: standard input)"),
	OPT_STRING(0, "left-fields", &opts.r.fields[JOIN_LEFT], "LIST",
	    "left members to output: PATH[:NAME],... (default all)"),
	OPT_STRING(0, "left-key", &opts.r.key_side[JOIN_LEFT], "PATHS",
	    "join key of the left side"),
	OPT_STRING(0, "left-prefix", &opts.r.cfg.side[JOIN_LEFT].prefix, "STR",
	    "prefix for left member names (default none)"),
	OPT_CALLBACK(0, "left-where", where_option, &opts.r.where[JOIN_LEFT],
	    "PATH=VALUE", "interleaved input: left records have PATH=VALUE"),
	OPT_DURATION(0, "max-out-of-orderness", &opts.r.cfg.max_ooo, 0,
	    INT64_MAX, "DURATION", "derive watermarks as largest time seen\n"
	    "minus DURATION when none arrive (default 1ms)"),
	OPT_DURATION(0, "retention", &opts.r.cfg.retention, 0, INT64_MAX,
	    "DURATION", "as-of join: use right records at most this old"),
	OPT_STRING(0, "right", &opts.r.input[JOIN_RIGHT], "FILE",
	    "right input, a file or named pipe"),
	OPT_STRING(0, "right-fields", &opts.r.fields[JOIN_RIGHT], "LIST",
	    "right members to output: PATH[:NAME],..."),
	OPT_STRING(0, "right-key", &opts.r.key_side[JOIN_RIGHT], "PATHS",
	    "join key of the right side"),
	OPT_STRING(0, "right-prefix", &opts.r.cfg.side[JOIN_RIGHT].prefix,
	    "STR", "prefix for right member names (default right_)"),
	OPT_STRING(0, "right-time-field", &opts.right_time, "PATH",
	    "the right side's event time member (default:\n"
	    "--time-field)"),
	OPT_CALLBACK(0, "right-where", where_option, &opts.r.where[JOIN_RIGHT],
	    "PATH=VALUE", "interleaved input: right records have PATH=VALUE"),
	OPT_STRING(0, "start-field", &opts.r.cfg.start_field, "NAME",
	    "window join: window start member\n(default window_start)"),
	OPT_STRING(0, "type", &opts.type, "TYPE",
	    "inner (default), left; interval and window joins\n"
	    "also right, full; window joins also semi, anti"),
	OPT_CALLBACK(0, "window", window_option, &opts, NULL,
	    "window join on window_start/window_end (fs-window)"),
	OPT_GROUP_LATE(&opts.r.late),
	OPT_GROUP_FIELDSEEN(&opts.r.strict),
	OPT_GROUP_COMMON(&opts.common),
	OPT_END
};

/* Fills opts from the command line; check_args() checks them. */
static void parse_args(int argc, char **argv)
{
	struct opts *o = &opts;
	int i;

	fs_common_init(&o->common, argc, argv);
	o->r.cfg.retention = -1;
	o->r.cfg.max_ooo = WM_DEFAULT_OOO;
	o->r.cfg.side[JOIN_LEFT].prefix = "";
	o->r.cfg.side[JOIN_RIGHT].prefix = "right_";
	o->r.cfg.start_field = JOIN_WINDOW_START;
	o->r.cfg.end_field = JOIN_WINDOW_END;
	late_opts_init(&o->r.late, "raise --max-out-of-orderness, or replay in "
	    "event-time order with fs-backfill --sort");
	i = opt_parse(usage_text, options, OPT_HELP_SAME_LINE, argc, argv);
	fs_common_finish(&o->common);
	/* FILE, as every filter takes its input: the left (or interleaved)
	 * one, which --left also names. */
	if (i < argc) {
		if (o->r.input[JOIN_LEFT] != NULL)
			diag_usage("the left input is named twice: --left '%s' and "
			    "'%s'", o->r.input[JOIN_LEFT], argv[i]);
		o->r.input[JOIN_LEFT] = argv[i++];
	}
	if (i < argc)
		diag_usage("one input file at most (the right one goes with "
		    "--right): '%s'", argv[i]);
	if (o->r.input[JOIN_LEFT] == NULL)
		o->r.input[JOIN_LEFT] = "-";
}

/* --type, and what each kind of join allows of it. */
static void check_type(struct opts *o)
{
	o->r.cfg.type = o->type ? parse_type(o->type) : JT_INNER;
	if (o->r.cfg.kind == JOIN_ASOF && o->r.cfg.type != JT_INNER &&
	    o->r.cfg.type != JT_LEFT)
		diag_usage("--type %s: as-of joins are inner or left", o->type);
	if (o->r.cfg.kind == JOIN_INTERVAL && (o->r.cfg.type == JT_SEMI ||
	    o->r.cfg.type == JT_ANTI))
		diag_usage("--type %s is for window joins", o->type);
	if ((o->r.cfg.type == JT_SEMI || o->r.cfg.type == JT_ANTI) &&
	    o->r.fields[JOIN_RIGHT] != NULL)
		diag_usage("--right-fields: --type %s writes left records only",
		    o->type);
}

/* The combinations parse_args() cannot see one option at a time. */
static void check_args(struct opts *o)
{
	if (o->kinds != 1)
		diag_usage("give exactly one of --between, --asof, --window");
	check_type(o);
	if (o->r.cfg.retention >= 0 && o->r.cfg.kind != JOIN_ASOF)
		diag_usage("--retention is for as-of joins (--asof)");
	if (o->r.cfg.start_field[0] == '\0' || o->r.cfg.end_field[0] == '\0' ||
	    strcmp(o->r.cfg.start_field, o->r.cfg.end_field) == 0)
		diag_usage("--start-field and --end-field need two names");
	for (int s = 0; s < 2; s++) {
		const char *spec = o->r.key_side[s] ? o->r.key_side[s] :
		    o->r.key;
		if (spec == NULL)
			diag_usage("a join key is needed: --key, or --left-key "
			    "and --right-key");
		if (keyspec_compile(&o->r.keys[s], spec) != 0)
			diag_usage("invalid key: '%s'", spec);
		o->r.cfg.key[s] = &o->r.keys[s];
		if (o->r.fields[s] && join_fields_parse(o->r.fields[s],
		    &o->r.cfg.side[s].fields, &o->r.cfg.side[s].nfields) != 0)
			diag_usage("invalid field list: '%s'", o->r.fields[s]);
	}
	if (o->r.keys[0].n != o->r.keys[1].n)
		diag_usage("--left-key and --right-key need as many paths");
	o->r.cfg.time[JOIN_LEFT] = o->r.cfg.time[JOIN_RIGHT] =
	    &o->common.time_path;
	if (o->right_time != NULL) {
		if (path_compile(&o->right_time_path, o->right_time) != 0)
			diag_usage("--right-time-field: invalid path: '%s'",
			    o->right_time);
		o->r.cfg.time[JOIN_RIGHT] = &o->right_time_path;
	}
	if (o->r.input[JOIN_RIGHT]) {
		if (o->r.where[0].set || o->r.where[1].set)
			diag_usage("--left-where/--right-where split one "
			    "interleaved input; not with --right");
		if (strcmp(o->r.input[0], "-") == 0 &&
		    strcmp(o->r.input[1], "-") == 0)
			diag_usage("--left and --right cannot both be "
			    "standard input");
	} else if (!o->r.where[0].set && !o->r.where[1].set) {
		diag_usage("one input holds both sides: say which records are "
		    "which with --left-where or --right-where, or give --right "
		    "FILE");
	}
}

int main(int argc, char **argv)
{
	static struct join_run r;

	diag_init(argv[0]);
	parse_args(argc, argv);
	check_args(&opts);
	sig_install();

	opts.common.ckpt_backend = &kafka_ckpt_backend;
	opts.r.c = &opts.common;
	join_run_open(&r, &opts.r);
	join_run_loop(&r);
	return join_run_finish(&r);
}
