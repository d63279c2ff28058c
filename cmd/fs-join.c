/*
 * fs-join - join two event-time streams: interval, as-of and window
 * joins with Flink SQL's semantics.  The state and matching are in
 * common/join/; this file reads the inputs (one interleaved stream split
 * by selectors, or two inputs polled together with barriers aligned
 * across them) and wires the checkpoint protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fieldseen.h"
#include "opt.h"
#include "tool.h"
#include "join/join.h"
#include "kafka/kafka.h"
#include "reject.h"
#include "stage.h"
#include "window/window.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-join --between LO,HI | --asof | --window [--type TYPE]\n"
"               [--key PATHS | --left-key PATHS --right-key PATHS]\n"
"               [--left FILE] [--right FILE]\n"
"               [--left-where PATH=VALUE] [--right-where PATH=VALUE]\n"
"               [--left-prefix STR] [--right-prefix STR]\n"
"               [--left-fields LIST] [--right-fields LIST]\n"
"               [--retention DURATION] [--max-out-of-orderness DURATION]\n"
"               [--start-field NAME] [--end-field NAME]\n"
"               [--idle-timeout DURATION] [--late POLICY]\n"
"               [--late-file FILE] [--late-field NAME]\n"
"               [--max-late-ratio R] [common options] [FILE]\n"
"Join a left and a right stream of NDJSON records on key and event time.\n";

/* --left-where / --right-where: PATH=VALUE. */
struct selector {
	bool set;
	struct path path;
	char *value;
};

struct opts {
	struct fs_common common;
	int kinds;                      /* how many of the kind options */
	const char *type;
	const char *key, *key_side[2];
	const char *input[2];
	const char *fields[2];
	struct late_opts late;
	bool strict;
	struct selector where[2];
	struct join_config cfg;
	struct keyspec keys[2];
};

/* How many reading turns (a line from each input) between watermarks
 * written while input keeps coming without a pause. */
#define WATERMARK_EVERY_TURNS 4096

/* One input: the interleaved stream (side -1) or one side's. */
struct input {
	struct lineio lr;
	int side;
	bool eof;
	bool checkpointed;              /* a barrier or restore came */
	bool ended;                     /* {"@fs":"end"} came */
	uint64_t end_id;
	bool blocked;                   /* holds a barrier not yet aligned */
	uint64_t barrier;
	struct buf last_other;          /* last unknown control record sent */
};

struct run {
	struct opts *o;
	struct join *j;
	struct out out;
	struct rejects rj;
	struct stage st;
	struct input in[2];
	int nin;
	uint64_t restored;              /* restore id already acted on */
	bool cut;                       /* an input stopped short of its end */
	struct fieldseen seen[2];       /* each side's named fields */
	struct late late;
	struct buf vb;                  /* scratch */
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
	bad = signed_duration(lo, &o->cfg.lo) != 0 ||
	    signed_duration(comma + 1, &o->cfg.hi) != 0;
	free(lo);
	if (bad)
		diag_usage("%s wants two signed durations "
		    "such as -10m,0: '%s'", name, arg);
	if (o->cfg.lo > o->cfg.hi)
		diag_usage("%s: LO must not exceed HI: '%s'", name, arg);
	o->cfg.kind = JOIN_INTERVAL;
	o->kinds++;
}

static void asof_option(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	(void)name, (void)arg;
	o->cfg.kind = JOIN_ASOF;
	o->kinds++;
}

static void window_option(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	(void)name, (void)arg;
	o->cfg.kind = JOIN_WINDOW;
	o->kinds++;
}

/* --left-where, --right-where: data is the side's selector. */
static void where_option(void *data, const char *name, const char *arg)
{
	struct selector *w = data;
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
	OPT_STRING(0, "end-field", &opts.cfg.end_field, "NAME",
	    "window join: window end member (default window_end)"),
	OPT_DURATION(0, "idle-timeout", &opts.cfg.idle, 0, INT64_MAX,
	    "DURATION", "a side silent this long stops holding back\n"
	    "the watermark"),
	OPT_STRING(0, "key", &opts.key, "PATHS",
	    "join key of both sides (comma-separated paths)"),
	OPT_STRING(0, "left", &opts.input[JOIN_LEFT], "FILE",
	    "left input, as FILE is (default: standard input)"),
	OPT_STRING(0, "left-fields", &opts.fields[JOIN_LEFT], "LIST",
	    "left members to output: PATH[:NAME],... (default all)"),
	OPT_STRING(0, "left-key", &opts.key_side[JOIN_LEFT], "PATHS",
	    "join key of the left side"),
	OPT_STRING(0, "left-prefix", &opts.cfg.side[JOIN_LEFT].prefix, "STR",
	    "prefix for left member names (default none)"),
	OPT_CALLBACK(0, "left-where", where_option, &opts.where[JOIN_LEFT],
	    "PATH=VALUE", "interleaved input: left records have PATH=VALUE"),
	OPT_DURATION(0, "max-out-of-orderness", &opts.cfg.max_ooo, 0,
	    INT64_MAX, "DURATION", "derive watermarks as largest time seen\n"
	    "minus DURATION when none arrive (default 1ms)"),
	OPT_DURATION(0, "retention", &opts.cfg.retention, 0, INT64_MAX,
	    "DURATION", "as-of join: use right records at most this old"),
	OPT_STRING(0, "right", &opts.input[JOIN_RIGHT], "FILE",
	    "right input, a file or named pipe"),
	OPT_STRING(0, "right-fields", &opts.fields[JOIN_RIGHT], "LIST",
	    "right members to output: PATH[:NAME],..."),
	OPT_STRING(0, "right-key", &opts.key_side[JOIN_RIGHT], "PATHS",
	    "join key of the right side"),
	OPT_STRING(0, "right-prefix", &opts.cfg.side[JOIN_RIGHT].prefix,
	    "STR", "prefix for right member names (default right_)"),
	OPT_CALLBACK(0, "right-where", where_option, &opts.where[JOIN_RIGHT],
	    "PATH=VALUE", "interleaved input: right records have PATH=VALUE"),
	OPT_STRING(0, "start-field", &opts.cfg.start_field, "NAME",
	    "window join: window start member\n(default window_start)"),
	OPT_STRING(0, "type", &opts.type, "TYPE",
	    "inner (default), left; interval and window joins\n"
	    "also right, full; window joins also semi, anti"),
	OPT_CALLBACK(0, "window", window_option, &opts, NULL,
	    "window join on window_start/window_end (fs-window)"),
	OPT_GROUP_LATE(&opts.late),
	OPT_GROUP_FIELDSEEN(&opts.strict),
	OPT_GROUP_COMMON(&opts.common),
	OPT_END
};

/* Fills opts from the command line; check_args() checks them. */
static void parse_args(int argc, char **argv)
{
	struct opts *o = &opts;
	int i;

	fs_common_init(&o->common, argc, argv);
	o->cfg.retention = -1;
	o->cfg.max_ooo = WM_DEFAULT_OOO;
	o->cfg.side[JOIN_LEFT].prefix = "";
	o->cfg.side[JOIN_RIGHT].prefix = "right_";
	o->cfg.start_field = JOIN_WINDOW_START;
	o->cfg.end_field = JOIN_WINDOW_END;
	late_opts_init(&o->late, "raise --max-out-of-orderness, or replay in "
	    "event-time order with fs-backfill --sort");
	i = opt_parse(usage_text, options, OPT_HELP_SAME_LINE, argc, argv);
	fs_common_finish(&o->common);
	/* FILE, as every filter takes its input: the left (or interleaved)
	 * one, which --left also names. */
	if (i < argc) {
		if (o->input[JOIN_LEFT] != NULL)
			diag_usage("the left input is named twice: --left '%s' and "
			    "'%s'", o->input[JOIN_LEFT], argv[i]);
		o->input[JOIN_LEFT] = argv[i++];
	}
	if (i < argc)
		diag_usage("one input file at most (the right one goes with "
		    "--right): '%s'", argv[i]);
	if (o->input[JOIN_LEFT] == NULL)
		o->input[JOIN_LEFT] = "-";
}

/* --type, and what each kind of join allows of it. */
static void check_type(struct opts *o)
{
	o->cfg.type = o->type ? parse_type(o->type) : JT_INNER;
	if (o->cfg.kind == JOIN_ASOF && o->cfg.type != JT_INNER &&
	    o->cfg.type != JT_LEFT)
		diag_usage("--type %s: as-of joins are inner or left", o->type);
	if (o->cfg.kind == JOIN_INTERVAL && (o->cfg.type == JT_SEMI ||
	    o->cfg.type == JT_ANTI))
		diag_usage("--type %s is for window joins", o->type);
	if ((o->cfg.type == JT_SEMI || o->cfg.type == JT_ANTI) &&
	    o->fields[JOIN_RIGHT] != NULL)
		diag_usage("--right-fields: --type %s writes left records only",
		    o->type);
}

/* The combinations parse_args() cannot see one option at a time. */
static void check_args(struct opts *o)
{
	if (o->kinds != 1)
		diag_usage("give exactly one of --between, --asof, --window");
	check_type(o);
	if (o->cfg.retention >= 0 && o->cfg.kind != JOIN_ASOF)
		diag_usage("--retention is for as-of joins (--asof)");
	if (o->cfg.start_field[0] == '\0' || o->cfg.end_field[0] == '\0' ||
	    strcmp(o->cfg.start_field, o->cfg.end_field) == 0)
		diag_usage("--start-field and --end-field need two names");
	for (int s = 0; s < 2; s++) {
		const char *spec = o->key_side[s] ? o->key_side[s] : o->key;
		if (spec == NULL)
			diag_usage("a join key is needed: --key, or --left-key "
			    "and --right-key");
		if (keyspec_compile(&o->keys[s], spec) != 0)
			diag_usage("invalid key: '%s'", spec);
		o->cfg.key[s] = &o->keys[s];
		if (o->fields[s] && join_fields_parse(o->fields[s],
		    &o->cfg.side[s].fields, &o->cfg.side[s].nfields) != 0)
			diag_usage("invalid field list: '%s'", o->fields[s]);
	}
	if (o->keys[0].n != o->keys[1].n)
		diag_usage("--left-key and --right-key need as many paths");
	o->cfg.time = &o->common.time_path;
	if (o->input[JOIN_RIGHT]) {
		if (o->where[0].set || o->where[1].set)
			diag_usage("--left-where/--right-where split one "
			    "interleaved input; not with --right");
		if (strcmp(o->input[0], "-") == 0 &&
		    strcmp(o->input[1], "-") == 0)
			diag_usage("--left and --right cannot both be "
			    "standard input");
	} else if (!o->where[0].set && !o->where[1].set) {
		diag_usage("one input holds both sides: say which records are "
		    "which with --left-where or --right-where, or give --right "
		    "FILE");
	}
}

/* --- inputs --------------------------------------------------------------- */

static void open_inputs(struct run *r)
{
	struct opts *o = r->o;

	r->nin = o->input[JOIN_RIGHT] ? 2 : 1;
	for (int i = 0; i < r->nin; i++) {
		struct input *in = &r->in[i];
		if (lineio_open(&in->lr, o->input[i]) != 0)
			diag_fatal("cannot open: '%s': %s", o->input[i],
			    strerror(errno));
		lineio_set_flush_hook(&in->lr, &r->out);
		in->side = r->nin == 2 ? i : -1;
	}
}

static bool where_match(struct run *r, const struct selector *w,
    const json_t *obj)
{
	json_t *v = path_get(&w->path, obj);

	if (v == NULL)
		return false;
	if (json_is_string(v))
		return strcmp(json_string_value(v), w->value) == 0;
	buf_reset(&r->vb);
	rec_dump(&r->vb, v);
	return strcmp(r->vb.data, w->value) == 0;
}

/* The side of a record of the interleaved input, or -1. */
static int pick_side(struct run *r, const json_t *obj)
{
	const struct selector *w = r->o->where;

	if (w[0].set && where_match(r, &w[0], obj))
		return JOIN_LEFT;
	if (w[1].set && where_match(r, &w[1], obj))
		return JOIN_RIGHT;
	if (!w[0].set)
		return JOIN_LEFT;
	if (!w[1].set)
		return JOIN_RIGHT;
	return -1;
}

static void data_record(struct run *r, struct input *in, json_t *obj,
    const char *line, size_t len)
{
	int s = in->side >= 0 ? in->side : pick_side(r, obj);
	const char *why = NULL;

	late_data(&r->late);
	if (s < 0) {
		reject_line(&r->rj, &in->lr, "record matches neither "
		    "--left-where nor --right-where", line, len);
		return;
	}
	fieldseen_record(&r->seen[s], obj);
	switch (join_add(r->j, s, obj, line, len, &why)) {
	case JOIN_OK:
		break;
	case JOIN_LATE: {
		char where[512];

		snprintf(where, sizeof where, "%s:%" PRIu64, in->lr.name,
		    in->lr.lineno);
		late_record_from(&r->late, s, where, line, len, &r->out,
		    &r->vb);
		break;
	}
	case JOIN_BAD:
		reject_line(&r->rj, &in->lr, why, line, len);
		break;
	}
}

/*
 * A barrier is acted on once every input still open holds it: then the
 * state is saved and the barrier written, once.  Called when a barrier
 * arrives and when an input ends (an ended input holds up nothing).
 */
static void try_align(struct run *r)
{
	struct input *held = NULL;

	for (int i = 0; i < r->nin; i++) {
		struct input *in = &r->in[i];
		/* after its end nothing comes: it holds up nothing */
		if (in->eof || in->ended)
			continue;
		if (!in->blocked)
			return;
		if (held && held->barrier != in->barrier)
			diag_fatal("barriers out of step: %llu on '%s', "
			    "%llu on '%s'",
			    (unsigned long long)held->barrier, held->lr.name,
			    (unsigned long long)in->barrier, in->lr.name);
		held = in;
	}
	if (held == NULL)
		return;
	struct ctl c = { .kind = CTL_BARRIER, .id = held->barrier };
	char why[REC_ERR_MAX];

	join_flush_watermark(r->j);
	if (stage_control(&r->st, &c, &r->out, why) == STAGE_INVALID)
		diag_fatal("'%s': %s", held->lr.name, why);
	for (int i = 0; i < r->nin; i++)
		r->in[i].blocked = false;
}

static void barrier(struct run *r, struct input *in, const struct ctl *c)
{
	in->blocked = true;
	in->barrier = c->id;
	try_align(r);
}

/*
 * Unknown control records are forwarded in order; when both inputs of a
 * two-input join carry the same one (both fs-window stages describe
 * their windows), it goes out once.
 */
static void forward_other(struct run *r, struct input *in, const char *line,
    size_t len)
{
	if (r->nin == 2) {
		struct buf *other = &r->in[1 - in->side].last_other;
		if (other->len == len && memcmp(other->data, line, len) == 0)
			return;
		buf_reset(&in->last_other);
		buf_append(&in->last_other, line, len);
	}
	out_line(&r->out, line, len);
}

static bool is_window_spec(const json_t *obj)
{
	const char *v = json_string_value(json_object_get(obj,
	    REC_CONTROL_KEY));

	return v && strcmp(v, WIN_CONTROL) == 0;
}

/*
 * fs-window's spec record: the join learns from it whether records carry
 * panes, and passes it on saying what its own output carries: a window
 * join's rows have the window bounds, never panes.
 */
static void window_spec(struct run *r, struct input *in, json_t *obj)
{
	json_t *out = json_copy(obj);

	join_window_spec(r->j, in->side, obj);
	json_object_del(out, "pane_field");
	json_object_set_new(out, "start_field",
	    json_string(r->o->cfg.start_field));
	json_object_set_new(out, "end_field", json_string(r->o->cfg.end_field));
	buf_reset(&r->vb);
	rec_dump(&r->vb, out);
	json_decref(out);
	forward_other(r, in, r->vb.data, r->vb.len);
}

static void control_record(struct run *r, struct input *in, json_t *obj,
    const char *line, size_t len)
{
	struct ctl c;
	char why[REC_ERR_MAX];

	switch (rec_control(obj, &c, why)) {
	case CTL_WATERMARK:
		join_watermark(r->j, in->side, c.ts);
		join_flush_watermark(r->j);
		break;
	case CTL_BARRIER:
		in->checkpointed = true;
		barrier(r, in, &c);
		break;
	case CTL_RESTORE:
		in->checkpointed = true;
		/* Both sources of a two-input join announce the same
		 * checkpoint; the state is restored and forwarded once. */
		if (c.id != r->restored) {
			r->restored = c.id;
			if (stage_control(&r->st, &c, &r->out, why) ==
			    STAGE_INVALID)
				reject_line(&r->rj, &in->lr, why, line, len);
		}
		break;
	case CTL_END:
		/* Held until every input ends: it goes out last, once. */
		in->checkpointed = true;
		in->ended = true;
		in->end_id = c.id;
		try_align(r);
		break;
	case CTL_INVALID:
		reject_line(&r->rj, &in->lr, why, line, len);
		break;
	default:
		if (r->o->cfg.kind == JOIN_WINDOW && is_window_spec(obj))
			window_spec(r, in, obj);
		else
			forward_other(r, in, line, len);
		break;
	}
}

static void handle_line(struct run *r, struct input *in, const char *line,
    size_t len)
{
	char why[REC_ERR_MAX];
	json_t *obj = rec_parse(line, len, why);

	if (obj == NULL) {
		reject_line(&r->rj, &in->lr, why, line, len);
		return;
	}
	if (rec_line_maybe_control(line, len) &&
	    json_object_get(obj, REC_CONTROL_KEY))
		control_record(r, in, obj, line, len);
	else {
		stage_data(&r->st);
		data_record(r, in, obj, line, len);
	}
	json_decref(obj);
}

/*
 * Takes the next line of in when one is buffered or can be read without
 * blocking.  Returns true when it handled a line or the input's end.
 */
static bool read_one(struct run *r, struct input *in)
{
	const char *line;
	size_t len;
	int rc = lineio_fill(&in->lr);

	if (rc == -1)
		diag_fatal("read error: '%s': %s", in->lr.name,
		    strerror(in->lr.err));
	if (rc != 1)
		return false;
	/* A whole line or the end is buffered: this does not block. */
	rc = lineio_read(&in->lr, &line, &len);
	if (rc == 1) {
		handle_line(r, in, line, len);
		return true;
	}
	if (rc == -1)
		diag_fatal("read error: '%s': %s", in->lr.name,
		    strerror(in->lr.err));
	if (rc == 0) {
		in->eof = true;
		/* Cut short (see stage.h): fire nothing of either side. */
		if (in->checkpointed && !in->ended) {
			diag_error("'%s' ended without the end of the stream: "
			    "a stage upstream stopped or died; nothing fired (a "
			    "restart resumes from the checkpoint)", in->lr.name);
			r->cut = true;
			return true;
		}
		join_end(r->j, in->side);
		try_align(r);
		return true;
	}
	return false;
}

/* How long a wait may block: forever, unless idle time matters. */
static int wait_ms(const struct run *r)
{
	int64_t idle = r->o->cfg.idle;

	if (idle <= 0)
		return -1;
	return idle < 1000 ? (int)idle : 1000;
}

/*
 * Waits until an input that may be read has input, or the idle wait
 * ends (then the clock moves idle sides' watermarks on).  Returns false
 * when a stop was asked.
 */
static bool wait_inputs(struct run *r)
{
	struct pollfd pfd[2];
	int n = 0, rc;

	for (int i = 0; i < r->nin; i++) {
		struct input *in = &r->in[i];
		if (in->eof || in->blocked)
			continue;
		pfd[n].fd = in->lr.fd;
		pfd[n].events = POLLIN;
		n++;
	}
	if (n == 0)
		return true;
	out_flush(&r->out);
	while ((rc = poll(pfd, (nfds_t)n, wait_ms(r))) < 0) {
		if (errno != EINTR)
			diag_fatal("poll: %s", strerror(errno));
		if (sig_stop_requested())
			return false;
	}
	if (rc == 0) {
		join_tick(r->j, etime_now_ms());
		join_flush_watermark(r->j);
	}
	return true;
}

/*
 * Reads all inputs to their end.  Each turn takes one line from every
 * input that has one (buffered, or readable without blocking), so neither
 * side runs ahead of the other while both have data; when none has, it
 * waits for either (poll), so a quiet side never stalls a busy one.  An
 * input holding an unaligned barrier is not read until the others reach
 * it.
 */
static void run_inputs(struct run *r)
{
	unsigned turns = 0;

	for (;;) {
		int open = 0;
		bool progressed = false;

		for (int i = 0; i < r->nin; i++) {
			struct input *in = &r->in[i];
			if (in->eof)
				continue;
			open++;
			if (!in->blocked && read_one(r, in))
				progressed = true;
		}
		if (sig_stop_requested() || open == 0 || r->cut)
			return;
		/* Input that never pauses still lets the watermark out now
		 * and then, so downstream can free its state. */
		if (++turns % WATERMARK_EVERY_TURNS == 0)
			join_flush_watermark(r->j);
		if (progressed)
			continue;
		/* About to wait: what the watermark released goes out. */
		join_flush_watermark(r->j);
		if (!wait_inputs(r))
			return;
	}
}

/*
 * Every input ended: when they ended with the end of the stream, its
 * checkpoint is taken after what the ends fired, and it goes out once.
 * Two sources may end at different ids (one sent fewer barriers): the
 * end is the later one, as the barriers after the first end went on
 * with the other input alone.
 */
static void end_of_stream(struct run *r)
{
	struct ctl c = { .kind = CTL_END };
	char why[REC_ERR_MAX];

	for (int i = 0; i < r->nin; i++)
		if (r->in[i].ended && r->in[i].end_id > c.id)
			c.id = r->in[i].end_id;
	if (c.id == 0)
		return;
	if (stage_control(&r->st, &c, NULL, why) == STAGE_INVALID)
		diag_fatal("%s", why);
	stage_emit_end(&r->st, &r->out);
}

/* --- checkpoint hooks ---------------------------------------------------- */

static json_t *snapshot_hook(void *ctx, uint64_t id)
{
	(void)id;
	return join_snapshot(((struct run *)ctx)->j);
}

static int restore_hook(void *ctx, const json_t *state, uint64_t id)
{
	(void)id;
	return join_restore(((struct run *)ctx)->j, state);
}

static void print_stats(struct run *r)
{
	struct join_stats s;

	join_get_stats(r->j, &s);
	if (r->o->common.stats)
		fprintf(stderr, "%s: left %llu, right %llu, late %llu+%llu, "
		    "output %llu, state peak %llu records, collisions %llu\n",
		    diag_progname(), (unsigned long long)s.in[0],
		    (unsigned long long)s.in[1], (unsigned long long)s.late[0],
		    (unsigned long long)s.late[1], (unsigned long long)s.out,
		    (unsigned long long)s.peak_held,
		    (unsigned long long)s.collisions);
}

/*
 * The fields each side's options name, checked against that side's
 * records only: a typo'd key or field is said at exit (fieldseen.h).
 */
static void watch_fields(struct run *r)
{
	static const char *const key_opt[2] = { "--left-key", "--right-key" };
	static const char *const fields_opt[2] = { "--left-fields",
	    "--right-fields" };
	const struct opts *o = r->o;

	for (int s = 0; s < 2; s++) {
		const struct join_side_out *side = &o->cfg.side[s];

		fieldseen_init(&r->seen[s], o->strict);
		if (o->key_side[s] != NULL)
			fieldseen_add_keys(&r->seen[s], &o->keys[s], key_opt[s],
			    o->key_side[s]);
		else
			fieldseen_add_keys(&r->seen[s], &o->keys[s], "--key",
			    o->key);
		for (size_t i = 0; i < side->nfields; i++)
			fieldseen_add(&r->seen[s], &side->fields[i].path,
			    fields_opt[s], o->fields[s]);
	}
}

/* Returns 1 when more than --max-late-ratio of the records were late,
 * or with --strict a named field no record had. */
static int finish(struct run *r)
{
	int rc;

	print_stats(r);
	rc = late_finish(&r->late);
	for (int s = 0; s < 2; s++)
		if (fieldseen_finish(&r->seen[s]))
			rc = 1;
	stage_finish(&r->st);
	rejects_finish(&r->rj);
	out_close(&r->out);
	for (int i = 0; i < r->nin; i++) {
		lineio_close(&r->in[i].lr);
		buf_free(&r->in[i].last_other);
	}
	join_free(r->j);
	buf_free(&r->vb);
	return rc;
}

int main(int argc, char **argv)
{
	static struct run r;
	int too_late;

	diag_init(argv[0]);
	parse_args(argc, argv);
	check_args(&opts);
	sig_install();

	r.o = &opts;
	out_init(&r.out, STDOUT_FILENO, "stdout");
	rejects_init(&r.rj, &opts.common, &r.out);
	late_init(&r.late, &opts.late, &r.out);
	late_sources(&r.late, "left", "right");
	r.j = join_new(&opts.cfg, &r.out);
	watch_fields(&r);
	opts.common.ckpt_backend = &kafka_ckpt_backend;
	stage_init(&r.st, &opts.common,
	    (struct stage_hooks){ snapshot_hook, restore_hook, &r });
	open_inputs(&r);

	run_inputs(&r);
	if (!r.cut && !sig_stop_requested())
		end_of_stream(&r);
	too_late = finish(&r);
	return r.cut || too_late ? 1 : 0;
}
