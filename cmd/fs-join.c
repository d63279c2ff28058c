/*
 * fs-join - join two event-time streams: interval, as-of and window
 * joins with Flink SQL's semantics.  The state and matching are in
 * common/join.c; this file reads the inputs (one interleaved stream split
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
#include "tool.h"
#include "join/join.h"
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
"Join a left and a right stream of NDJSON records on key and event time.\n"
"  --asof                as-of join: each left record with the latest right\n"
"                        record of its key at or before its time\n"
"  --between LO,HI       interval join: right time within [left+LO, left+HI]\n"
"                        (signed durations, e.g. -10m,0)\n"
"  --end-field NAME      window join: window end member (default window_end)\n"
"  --idle-timeout DURATION  a side silent this long stops holding back\n"
"                        the watermark\n"
"  --key PATHS           join key of both sides (comma-separated paths)\n"
"  --left FILE           left input, as FILE is (default: standard input)\n"
"  --left-fields LIST    left members to output: PATH[:NAME],... (default all)\n"
"  --left-key PATHS      join key of the left side\n"
"  --left-prefix STR     prefix for left member names (default none)\n"
"  --left-where PATH=VALUE  interleaved input: left records have PATH=VALUE\n"
"  --max-out-of-orderness DURATION  derive watermarks as largest time seen\n"
"                        minus DURATION when none arrive (default 1ms)\n"
"  --retention DURATION  as-of join: use right records at most this old\n"
"  --right FILE          right input, a file or named pipe\n"
"  --right-fields LIST   right members to output: PATH[:NAME],...\n"
"  --right-key PATHS     join key of the right side\n"
"  --right-prefix STR    prefix for right member names (default right_)\n"
"  --right-where PATH=VALUE  interleaved input: right records have PATH=VALUE\n"
"  --start-field NAME    window join: window start member\n"
"                        (default window_start)\n"
"  --type TYPE           inner (default), left; interval and window joins\n"
"                        also right, full; window joins also semi, anti\n"
"  --window              window join on window_start/window_end (fs-window)\n"
LATE_USAGE
FIELDSEEN_USAGE;

enum {
	OPT_ASOF = OPT_TOOL_BASE,
	OPT_BETWEEN,
	OPT_END_FIELD,
	OPT_IDLE_TIMEOUT,
	OPT_KEY,
	OPT_LEFT,
	OPT_LEFT_FIELDS,
	OPT_LEFT_KEY,
	OPT_LEFT_PREFIX,
	OPT_LEFT_WHERE,
	OPT_MAX_OOO,
	OPT_RETENTION,
	OPT_RIGHT,
	OPT_RIGHT_FIELDS,
	OPT_RIGHT_KEY,
	OPT_RIGHT_PREFIX,
	OPT_RIGHT_WHERE,
	OPT_START_FIELD,
	OPT_TYPE,
	OPT_WINDOW
};

static const struct option longopts[] = {
	{ "asof", no_argument, NULL, OPT_ASOF },
	{ "between", required_argument, NULL, OPT_BETWEEN },
	{ "end-field", required_argument, NULL, OPT_END_FIELD },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "left", required_argument, NULL, OPT_LEFT },
	{ "left-fields", required_argument, NULL, OPT_LEFT_FIELDS },
	{ "left-key", required_argument, NULL, OPT_LEFT_KEY },
	{ "left-prefix", required_argument, NULL, OPT_LEFT_PREFIX },
	{ "left-where", required_argument, NULL, OPT_LEFT_WHERE },
	{ "max-out-of-orderness", required_argument, NULL, OPT_MAX_OOO },
	{ "retention", required_argument, NULL, OPT_RETENTION },
	{ "right", required_argument, NULL, OPT_RIGHT },
	{ "right-fields", required_argument, NULL, OPT_RIGHT_FIELDS },
	{ "right-key", required_argument, NULL, OPT_RIGHT_KEY },
	{ "right-prefix", required_argument, NULL, OPT_RIGHT_PREFIX },
	{ "right-where", required_argument, NULL, OPT_RIGHT_WHERE },
	{ "start-field", required_argument, NULL, OPT_START_FIELD },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "window", no_argument, NULL, OPT_WINDOW },
	LATE_LONGOPTS,
	FIELDSEEN_LONGOPTS,
	FS_COMMON_LONGOPTS
};

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

static void parse_between(struct join_config *cfg, const char *arg)
{
	const char *comma = strchr(arg, ',');
	char *lo;
	int bad;

	if (comma == NULL)
		diag_usage("--between wants LO,HI (e.g. -10m,0): '%s'", arg);
	lo = xstrndup(arg, (size_t)(comma - arg));
	bad = signed_duration(lo, &cfg->lo) != 0 ||
	    signed_duration(comma + 1, &cfg->hi) != 0;
	free(lo);
	if (bad)
		diag_usage("--between wants two signed durations "
		    "such as -10m,0: '%s'", arg);
	if (cfg->lo > cfg->hi)
		diag_usage("--between: LO must not exceed HI: '%s'", arg);
	cfg->kind = JOIN_INTERVAL;
}

static void parse_where(struct selector *w, const char *opt, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *p;

	if (eq == NULL || eq == arg)
		diag_usage("%s wants PATH=VALUE: '%s'", opt, arg);
	p = xstrndup(arg, (size_t)(eq - arg));
	if (path_compile(&w->path, p) != 0)
		diag_usage("%s: invalid path: '%s'", opt, p);
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

static void parse_args(struct opts *o, int argc, char **argv)
{
	int c;

	fs_common_init(&o->common, argc, argv);
	o->cfg.retention = -1;
	o->cfg.max_ooo = WM_DEFAULT_OOO;
	o->cfg.side[JOIN_LEFT].prefix = "";
	o->cfg.side[JOIN_RIGHT].prefix = "right_";
	o->cfg.start_field = JOIN_WINDOW_START;
	o->cfg.end_field = JOIN_WINDOW_END;
	late_opts_init(&o->late, "raise --max-out-of-orderness, or replay in "
	    "event-time order with fs-backfill --sort");
	while ((c = getopt_long(argc, argv, FS_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		switch (c) {
		case OPT_ASOF:
			o->cfg.kind = JOIN_ASOF;
			o->kinds++;
			break;
		case OPT_BETWEEN:
			parse_between(&o->cfg, optarg);
			o->kinds++;
			break;
		case OPT_END_FIELD:
			o->cfg.end_field = optarg;
			break;
		case OPT_IDLE_TIMEOUT:
			o->cfg.idle = opt_duration("--idle-timeout", optarg);
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_LEFT:
			o->input[JOIN_LEFT] = optarg;
			break;
		case OPT_LEFT_FIELDS:
			o->fields[JOIN_LEFT] = optarg;
			break;
		case OPT_LEFT_KEY:
			o->key_side[JOIN_LEFT] = optarg;
			break;
		case OPT_LEFT_PREFIX:
			o->cfg.side[JOIN_LEFT].prefix = optarg;
			break;
		case OPT_LEFT_WHERE:
			parse_where(&o->where[JOIN_LEFT], "--left-where", optarg);
			break;
		case OPT_MAX_OOO:
			o->cfg.max_ooo = opt_duration("--max-out-of-orderness",
			    optarg);
			break;
		case OPT_RETENTION:
			o->cfg.retention = opt_duration("--retention", optarg);
			break;
		case OPT_RIGHT:
			o->input[JOIN_RIGHT] = optarg;
			break;
		case OPT_RIGHT_FIELDS:
			o->fields[JOIN_RIGHT] = optarg;
			break;
		case OPT_RIGHT_KEY:
			o->key_side[JOIN_RIGHT] = optarg;
			break;
		case OPT_RIGHT_PREFIX:
			o->cfg.side[JOIN_RIGHT].prefix = optarg;
			break;
		case OPT_RIGHT_WHERE:
			parse_where(&o->where[JOIN_RIGHT], "--right-where",
			    optarg);
			break;
		case OPT_START_FIELD:
			o->cfg.start_field = optarg;
			break;
		case OPT_TYPE:
			o->type = optarg;
			break;
		case OPT_WINDOW:
			o->cfg.kind = JOIN_WINDOW;
			o->kinds++;
			break;
		default:
			if (!fs_common_option(&o->common, c, optarg, usage_text) &&
			    !late_option(&o->late, c, optarg) &&
			    !fieldseen_option(&o->strict, c))
				diag_usage("unhandled option");
		}
	}
	fs_common_finish(&o->common);
	/* FILE, as every filter takes its input: the left (or interleaved)
	 * one, which --left also names. */
	if (optind < argc) {
		if (o->input[JOIN_LEFT] != NULL)
			diag_usage("the left input is named twice: --left '%s' and "
			    "'%s'", o->input[JOIN_LEFT], argv[optind]);
		o->input[JOIN_LEFT] = argv[optind++];
	}
	if (optind < argc)
		diag_usage("one input file at most (the right one goes with "
		    "--right): '%s'", argv[optind]);
	if (o->input[JOIN_LEFT] == NULL)
		o->input[JOIN_LEFT] = "-";
}

/* The combinations parse_args() cannot see one option at a time. */
static void check_args(struct opts *o)
{
	if (o->kinds != 1)
		diag_usage("give exactly one of --between, --asof, --window");
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
	static struct opts o;
	static struct run r;
	int too_late;

	diag_init(argv[0]);
	parse_args(&o, argc, argv);
	check_args(&o);
	sig_install();

	r.o = &o;
	out_init(&r.out, STDOUT_FILENO, "stdout");
	rejects_init(&r.rj, &o.common, &r.out);
	late_init(&r.late, &o.late, &r.out);
	late_sources(&r.late, "left", "right");
	r.j = join_new(&o.cfg, &r.out);
	watch_fields(&r);
	stage_init(&r.st, &o.common,
	    (struct stage_hooks){ snapshot_hook, restore_hook, &r });
	open_inputs(&r);

	run_inputs(&r);
	if (!r.cut && !sig_stop_requested())
		end_of_stream(&r);
	too_late = finish(&r);
	return r.cut || too_late ? 1 : 0;
}
