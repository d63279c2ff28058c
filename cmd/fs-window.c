/*
 * fs-window - assign event-time windows to records (Flink SQL's window
 * table functions TUMBLE, HOP, CUMULATE and SESSION), track the
 * watermark, and deal with late records.  See fs-window(1).
 *
 * The hand-off to fs-agg: the first output line is a window spec
 * control record ({"@fs":"window",...}, window.h).  TUMBLE records get
 * window_start and window_end.  HOP and CUMULATE records get the start
 * of their pane (window_pane) instead of one copy per window, so that
 * hop 1h slide 1m costs fs-agg one update per record, not sixty;
 * --explode gives Flink's one-row-per-window output instead.  SESSION
 * records are held per key until their session closes (the watermark
 * passes its end plus the allowed lateness) and then go out together,
 * each with the session's bounds.
 *
 * This file is the tool: its options and their wiring; the engine is
 * window_run.h's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldseen.h"
#include "opt.h"
#include "tool.h"
#include "kafka/kafka.h"
#include "stage.h"
#include "window/window.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-window (--tumble SIZE | --hop SIZE --slide SLIDE |\n"
"                  --cumulate MAX --step STEP | --session GAP [--key KEYS])\n"
"                 [options] [FILE]\n"
"       fs-window (tumble SIZE | hop SLIDE SIZE | cumulate STEP MAX |\n"
"                  session GAP) [options] [FILE]\n"
"Assigns event-time windows to NDJSON records and tracks the watermark.\n";

/* --explode writes this many copies of a record at most. */
#define WIN_EXPLODE_MAX 100000

struct opts {
	struct fs_common c;
	struct win_conf r;      /* what the engine reads */
	int nkinds;
	int64_t slide, step;    /* -1: not given */
};

/* --tumble, --hop, --cumulate, --session and the short form: the kind
 * and its SIZE (GAP for a session), counted to find two kinds given. */
static void set_kind(struct opts *o, enum win_kind kind, const char *name,
    const char *arg)
{
	int64_t v = win_opt_duration(name, arg);

	o->r.w.kind = kind;
	if (kind == WIN_SESSION)
		o->r.w.gap = v;
	else
		o->r.w.size = v;
	o->nkinds++;
}

static void tumble_option(void *o, const char *name, const char *arg)
{
	set_kind(o, WIN_TUMBLE, name, arg);
}

static void hop_option(void *o, const char *name, const char *arg)
{
	set_kind(o, WIN_HOP, name, arg);
}

static void cumulate_option(void *o, const char *name, const char *arg)
{
	set_kind(o, WIN_CUMULATE, name, arg);
}

static void session_option(void *o, const char *name, const char *arg)
{
	set_kind(o, WIN_SESSION, name, arg);
}

static void offset_option(void *offset, const char *name, const char *arg)
{
	if (win_parse_offset(arg, offset) < 0)
		diag_usage("%s: not a duration: '%s'", name, arg);
}

/* The options, and their table: fs-window's are many, and a table at
 * file scope keeps parse_options() to what it does. */
static struct opts opts;

static const struct opt options[] = {
	OPT_CALLBACK(0, "tumble", tumble_option, &opts, "SIZE",
	    "tumbling windows of SIZE"),
	OPT_CALLBACK(0, "hop", hop_option, &opts, "SIZE",
	    "hopping windows of SIZE (with --slide)"),
	OPT_WIN_DURATION("slide", &opts.slide, "SLIDE",
	    "how often a hopping window starts"),
	OPT_CALLBACK(0, "cumulate", cumulate_option, &opts, "MAX",
	    "cumulating windows up to MAX (with --step)"),
	OPT_WIN_DURATION("step", &opts.step, "STEP",
	    "how much a cumulating window grows"),
	OPT_CALLBACK(0, "session", session_option, &opts, "GAP",
	    "session windows closed by GAP of inactivity"),
	OPT_STRING(0, "key", &opts.r.key, "KEYS",
	    "sessions per key (comma-separated paths)"),
	OPT_CALLBACK(0, "offset", offset_option, &opts.r.w.offset,
	    "DURATION", "shift window boundaries (may be negative)"),
	OPT_FLAG(0, "explode", &opts.r.explode,
	    "hop, cumulate: one record per window, not panes"),
	OPT_STRING(0, "start-field", &opts.r.f.start, "NAME",
	    "window start member (default window_start)"),
	OPT_STRING(0, "end-field", &opts.r.f.end, "NAME",
	    "window end member (default window_end)"),
	OPT_STRING(0, "pane-field", &opts.r.f.pane, "NAME",
	    "pane start member (default window_pane)"),
	OPT_WIN_DURATION("max-out-of-orderness", &opts.r.max_ooo,
	    "DURATION", "derive watermarks as Flink SQL's\n"
	    "WATERMARK FOR t AS t - DURATION (default 1ms)"),
	OPT_WIN_DURATION("idle-timeout", &opts.r.idle, "DURATION",
	    "advance the watermark with the clock when idle"),
	OPT_WIN_DURATION("watermark-every", &opts.r.wm_every, "DURATION",
	    "forward watermarks on this grid (default: pane)"),
	OPT_WIN_DURATION("allowed-lateness", &opts.r.lateness, "DURATION",
	    "keep windows open this long after their end"),
	OPT_GROUP_LATE(&opts.r.late),
	OPT_GROUP_FIELDSEEN(&opts.r.strict),
	OPT_GROUP_COMMON(&opts.c),
	OPT_END
};

/*
 * The short form, as Flink SQL writes the window functions: "tumble 5m",
 * "hop 1m 1h" (SLIDE SIZE, as HOP takes them), "cumulate 1m 1h" (STEP
 * MAX, as CUMULATE does), "session 30m".  Sets what the long options
 * set and returns the index of the first argument after it.
 */
static int positional_kind(struct opts *o, int argc, char **argv, int i)
{
	static const struct { const char *name; int nargs; } kinds[] = {
		{ "tumble", 1 }, { "hop", 2 }, { "cumulate", 2 }, { "session", 1 },
	};
	const char *k = i < argc ? argv[i] : "";
	size_t j;

	for (j = 0; j < sizeof kinds / sizeof *kinds; j++)
		if (strcmp(k, kinds[j].name) == 0)
			break;
	if (j == sizeof kinds / sizeof *kinds)
		return i;
	if (i + kinds[j].nargs >= argc)
		diag_usage("%s takes %s", k, kinds[j].nargs == 1 ?
		    (j == 0 ? "SIZE" : "GAP") : (j == 1 ? "SLIDE SIZE" :
		    "STEP MAX"));
	switch (j) {
	case 0:
		set_kind(o, WIN_TUMBLE, "tumble", argv[i + 1]);
		break;
	case 1:
		o->slide = win_opt_duration("hop", argv[i + 1]);
		set_kind(o, WIN_HOP, "hop", argv[i + 2]);
		/* The short form once read hop SIZE SLIDE: a pair that
		 * is valid only the other way round says which order. */
		if (o->slide > o->r.w.size)
			diag_usage("hop SLIDE SIZE (as Flink's HOP): the slide %s "
			    "is larger than the size %s; did you mean hop %s %s?",
			    argv[i + 1], argv[i + 2], argv[i + 2], argv[i + 1]);
		break;
	case 2:
		o->step = win_opt_duration("cumulate", argv[i + 1]);
		set_kind(o, WIN_CUMULATE, "cumulate", argv[i + 2]);
		break;
	default:
		set_kind(o, WIN_SESSION, "session", argv[i + 1]);
		break;
	}
	return i + 1 + kinds[j].nargs;
}

/* Fills opts from the command line; check_options() checks them. */
static void parse_options(int argc, char **argv)
{
	struct opts *o = &opts;
	int i;

	fs_common_init(&o->c, argc, argv);
	o->r.f.start = "window_start";
	o->r.f.end = "window_end";
	o->r.f.pane = "window_pane";
	o->slide = o->step = -1;
	o->r.max_ooo = WM_DEFAULT_OOO;
	late_opts_init(&o->r.late, "raise --max-out-of-orderness or "
	    "--allowed-lateness, or replay in event-time order with "
	    "fs-backfill --sort");
	i = opt_parse(usage_text, options, 0, argc, argv);
	fs_common_finish(&o->c);
	i = positional_kind(o, argc, argv, i);
	if (i < argc)
		o->r.input = argv[i++];
	if (i < argc)
		diag_usage("one input file at most: '%s'", argv[i]);
}

static void check_options(struct opts *o)
{
	const char *why;

	if (o->nkinds != 1)
		diag_usage("give exactly one of --tumble, --hop, --cumulate, --session");
	if (o->r.w.kind == WIN_HOP) {
		if (o->slide < 0)
			diag_usage("--hop needs --slide");
		o->r.w.slide = o->slide;
	} else if (o->slide >= 0) {
		diag_usage("--slide goes with --hop");
	}
	if (o->r.w.kind == WIN_CUMULATE) {
		if (o->step < 0)
			diag_usage("--cumulate needs --step");
		o->r.w.slide = o->step;
	} else if (o->step >= 0) {
		diag_usage("--step goes with --cumulate");
	}
	if (o->r.key != NULL && o->r.w.kind != WIN_SESSION)
		diag_usage("--key goes with --session (fs-agg groups by key)");
	if (o->r.explode && o->r.w.kind != WIN_HOP &&
	    o->r.w.kind != WIN_CUMULATE)
		diag_usage("--explode goes with --hop or --cumulate");
	if (o->r.w.kind == WIN_SESSION && o->r.w.offset != 0)
		diag_usage("--offset does not apply to --session");
	if (winspec_finish(&o->r.w, &why) < 0)
		diag_usage("%s", why);
	if (o->r.explode && win_max_windows(&o->r.w) > WIN_EXPLODE_MAX)
		diag_usage("--explode: more than %d windows per record",
		    WIN_EXPLODE_MAX);
	if (strcmp(o->r.f.start, o->r.f.end) == 0)
		diag_usage("--start-field and --end-field must differ");
	o->r.f.panes = (o->r.w.kind == WIN_HOP ||
	    o->r.w.kind == WIN_CUMULATE) && !o->r.explode;
	o->r.f.lateness = o->r.lateness;
	if (o->r.wm_every == 0)
		o->r.wm_every = o->r.w.kind == WIN_SESSION ? o->r.w.gap :
		    o->r.w.pane;
}

int main(int argc, char **argv)
{
	static struct win_run s;

	parse_options(argc, argv);
	check_options(&opts);
	int rc;

	opts.c.ckpt_backend = &kafka_ckpt_backend;
	opts.r.c = &opts.c;
	win_run_open(&s, &opts.r);
	rc = win_run_loop(&s);
	if (win_run_finish(&s) != 0)
		rc = 1;
	return rc;
}
