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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldseen.h"
#include "opt.h"
#include "tool.h"
#include "recproj.h"
#include "kafka/kafka.h"
#include "reject.h"
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
	struct winspec w;
	struct winfields f;
	int nkinds;
	const char *key;
	bool explode, strict;
	int64_t slide, step;    /* -1: not given */
	int64_t max_ooo, idle, lateness, wm_every;
	struct late_opts late;
	const char *input;
};

/* One open session of one key: its bounds and its records so far. */
struct session {
	int64_t start, end;
	struct buf lines;       /* each record's bytes followed by '\n' */
	uint64_t n;
};

struct skey {
	struct session *s;      /* sorted by start, disjoint */
	size_t n, cap;
	int64_t armed;          /* the timer set for this key, or INT64_MAX */
};

struct win {
	struct opts *o;
	struct out out;
	struct lineio lr;
	struct rejects rj;
	struct late late;
	struct fieldseen seen;          /* --key fields no record had */
	struct stage st;
	struct wmark wm;
	struct keyspec ks;
	struct recproj *proj;   /* parses only the time and session key */
	struct buf b, scratch, keybuf;
	int64_t *starts, *ends;
	/* sessions */
	struct keytab keys;
	struct skey *sk;
	size_t cap_sk;
	struct timerheap timers;
	uint32_t *due;          /* keys due at one time, being closed */
	size_t ndue, cap_due;
	size_t open_sessions, peak_sessions;
	/* --stats */
	uint64_t in, out_records, ctl, wms;
};

/* --tumble, --hop, --cumulate, --session and the short form: the kind
 * and its SIZE (GAP for a session), counted to find two kinds given. */
static void set_kind(struct opts *o, enum win_kind kind, const char *name,
    const char *arg)
{
	int64_t v = win_opt_duration(name, arg);

	o->w.kind = kind;
	if (kind == WIN_SESSION)
		o->w.gap = v;
	else
		o->w.size = v;
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
	OPT_STRING(0, "key", &opts.key, "KEYS",
	    "sessions per key (comma-separated paths)"),
	OPT_CALLBACK(0, "offset", offset_option, &opts.w.offset, "DURATION",
	    "shift window boundaries (may be negative)"),
	OPT_FLAG(0, "explode", &opts.explode,
	    "hop, cumulate: one record per window, not panes"),
	OPT_STRING(0, "start-field", &opts.f.start, "NAME",
	    "window start member (default window_start)"),
	OPT_STRING(0, "end-field", &opts.f.end, "NAME",
	    "window end member (default window_end)"),
	OPT_STRING(0, "pane-field", &opts.f.pane, "NAME",
	    "pane start member (default window_pane)"),
	OPT_WIN_DURATION("max-out-of-orderness", &opts.max_ooo, "DURATION",
	    "derive watermarks as Flink SQL's\n"
	    "WATERMARK FOR t AS t - DURATION (default 1ms)"),
	OPT_WIN_DURATION("idle-timeout", &opts.idle, "DURATION",
	    "advance the watermark with the clock when idle"),
	OPT_WIN_DURATION("watermark-every", &opts.wm_every, "DURATION",
	    "forward watermarks on this grid (default: pane)"),
	OPT_WIN_DURATION("allowed-lateness", &opts.lateness, "DURATION",
	    "keep windows open this long after their end"),
	OPT_GROUP_LATE(&opts.late),
	OPT_GROUP_FIELDSEEN(&opts.strict),
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
		if (o->slide > o->w.size)
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
	o->f.start = "window_start";
	o->f.end = "window_end";
	o->f.pane = "window_pane";
	o->slide = o->step = -1;
	o->max_ooo = WM_DEFAULT_OOO;
	late_opts_init(&o->late, "raise --max-out-of-orderness or "
	    "--allowed-lateness, or replay in event-time order with "
	    "fs-backfill --sort");
	i = opt_parse(usage_text, options, 0, argc, argv);
	fs_common_finish(&o->c);
	i = positional_kind(o, argc, argv, i);
	if (i < argc)
		o->input = argv[i++];
	if (i < argc)
		diag_usage("one input file at most: '%s'", argv[i]);
}

static void check_options(struct opts *o)
{
	const char *why;

	if (o->nkinds != 1)
		diag_usage("give exactly one of --tumble, --hop, --cumulate, --session");
	if (o->w.kind == WIN_HOP) {
		if (o->slide < 0)
			diag_usage("--hop needs --slide");
		o->w.slide = o->slide;
	} else if (o->slide >= 0) {
		diag_usage("--slide goes with --hop");
	}
	if (o->w.kind == WIN_CUMULATE) {
		if (o->step < 0)
			diag_usage("--cumulate needs --step");
		o->w.slide = o->step;
	} else if (o->step >= 0) {
		diag_usage("--step goes with --cumulate");
	}
	if (o->key != NULL && o->w.kind != WIN_SESSION)
		diag_usage("--key goes with --session (fs-agg groups by key)");
	if (o->explode && o->w.kind != WIN_HOP && o->w.kind != WIN_CUMULATE)
		diag_usage("--explode goes with --hop or --cumulate");
	if (o->w.kind == WIN_SESSION && o->w.offset != 0)
		diag_usage("--offset does not apply to --session");
	if (winspec_finish(&o->w, &why) < 0)
		diag_usage("%s", why);
	if (o->explode && win_max_windows(&o->w) > WIN_EXPLODE_MAX)
		diag_usage("--explode: more than %d windows per record",
		    WIN_EXPLODE_MAX);
	if (strcmp(o->f.start, o->f.end) == 0)
		diag_usage("--start-field and --end-field must differ");
	o->f.panes = (o->w.kind == WIN_HOP || o->w.kind == WIN_CUMULATE) &&
	    !o->explode;
	o->f.lateness = o->lateness;
	if (o->wm_every == 0)
		o->wm_every = o->w.kind == WIN_SESSION ? o->w.gap : o->w.pane;
}

/* --- output of annotated records ------------------------------------- */

static void emit_spliced(struct win *s, const char *line, size_t len,
    int64_t start, int64_t end)
{
	rec_splice_begin(&s->b, line, len);
	rec_splice_i64(&s->b, s->o->f.start, start);
	rec_splice_i64(&s->b, s->o->f.end, end);
	rec_splice_end(&s->b);
	out_line(&s->out, s->b.data, s->b.len);
	s->out_records++;
}

static void emit_windowed(struct win *s, const char *line, size_t len,
    int64_t t)
{
	const struct winspec *w = &s->o->w;

	if (w->kind == WIN_TUMBLE) {
		int64_t st = win_align(t, w->size, w->offset);

		emit_spliced(s, line, len, st, st + w->size);
	} else if (s->o->f.panes) {
		rec_splice_begin(&s->b, line, len);
		rec_splice_i64(&s->b, s->o->f.pane, win_pane_start(w, t));
		rec_splice_end(&s->b);
		out_line(&s->out, s->b.data, s->b.len);
		s->out_records++;
	} else {
		size_t n = win_assign(w, t, s->starts, s->ends);

		for (size_t i = 0; i < n; i++)
			emit_spliced(s, line, len, s->starts[i], s->ends[i]);
	}
}

/* --- sessions --------------------------------------------------------- */

static void arm(struct win *s, uint32_t id)
{
	struct skey *k = &s->sk[id];
	int64_t t;

	if (k->n == 0)
		return;
	t = k->s[0].end + s->o->lateness;
	if (t < k->armed) {
		k->armed = t;
		timerheap_push(&s->timers, t, id);
	}
}

static void emit_session(struct win *s, struct session *ss)
{
	const char *p = ss->lines.data, *end = p + ss->lines.len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		emit_spliced(s, p, (size_t)(nl - p), ss->start, ss->end);
		p = nl + 1;
	}
	buf_free(&ss->lines);
	s->open_sessions--;
}

static struct skey *skey_for(struct win *s, uint32_t id, bool added)
{
	if (added) {
		s->sk = xgrow(s->sk, &s->cap_sk, (size_t)id + 1, sizeof *s->sk);
		memset(&s->sk[id], 0, sizeof s->sk[id]);
		s->sk[id].armed = INT64_MAX;
	}
	return &s->sk[id];
}

/* Adds a record at t to its key's sessions, merging every session the
 * new one [t, t+gap) touches (Flink merges windows that intersect). */
static void session_add(struct win *s, uint32_t id, int64_t t,
    const char *line, size_t len)
{
	struct skey *k = &s->sk[id];
	struct session nw = { t, t + s->o->w.gap, BUF_INIT, 0 };
	size_t i = 0, j;

	while (i < k->n && k->s[i].end < nw.start)
		i++;
	for (j = i; j < k->n && k->s[j].start <= nw.end; j++) {
		struct session *m = &k->s[j];

		if (m->start < nw.start)
			nw.start = m->start;
		if (m->end > nw.end)
			nw.end = m->end;
		buf_append(&nw.lines, m->lines.data, m->lines.len);
		nw.n += m->n;
		buf_free(&m->lines);
		s->open_sessions--;
	}
	buf_append(&nw.lines, line, len);
	buf_appendc(&nw.lines, '\n');
	nw.n++;
	/* Replace k->s[i..j) by nw. */
	if (j == i) {
		k->s = xgrow(k->s, &k->cap, k->n + 1, sizeof *k->s);
		memmove(&k->s[i + 1], &k->s[i], (k->n - i) * sizeof *k->s);
		k->n++;
	} else if (j > i + 1) {
		memmove(&k->s[i + 1], &k->s[j], (k->n - j) * sizeof *k->s);
		k->n -= j - i - 1;
	}
	k->s[i] = nw;
	if (++s->open_sessions > s->peak_sessions)
		s->peak_sessions = s->open_sessions;
	arm(s, id);
}

/* Writes key id's sessions that end (plus the lateness) by t. */
static void session_close_key(struct win *s, uint32_t id, int64_t t)
{
	struct skey *k = &s->sk[id];
	size_t n = 0;

	while (n < k->n && k->s[n].end + s->o->lateness <= t)
		emit_session(s, &k->s[n++]);
	memmove(k->s, &k->s[n], (k->n - n) * sizeof *k->s);
	k->n -= n;
	if (k->n == 0) {
		free(k->s);
		memset(k, 0, sizeof *k);
		k->armed = INT64_MAX;
		keytab_remove(&s->keys, id);
	} else {
		arm(s, id);
	}
}

/*
 * Closes the sessions the watermark upto closes, in order of end; keys
 * whose sessions end together go in order of their key bytes, so output
 * does not depend on the order state was built in (a restored run writes
 * what an uninterrupted one writes).
 */
static void sessions_close(struct win *s, int64_t upto)
{
	struct timer tm;

	while (timerheap_pop(&s->timers, upto, &tm)) {
		int64_t t = tm.t;

		s->ndue = 0;
		do {
			if (tm.t != s->sk[tm.id].armed)
				continue;       /* stale */
			s->sk[tm.id].armed = INT64_MAX;
			s->due = xgrow(s->due, &s->cap_due, s->ndue + 1,
			    sizeof *s->due);
			s->due[s->ndue++] = tm.id;
		} while (timerheap_pop(&s->timers, t, &tm));
		keytab_sort_ids(&s->keys, s->due, s->ndue);
		for (size_t i = 0; i < s->ndue; i++)
			session_close_key(s, s->due[i], t);
	}
}

/* --- watermarks --------------------------------------------------------- */

/* The watermark moved: close what it closes, forward it when due. */
static void watermark_moved(struct win *s, bool from_input)
{
	size_t before = s->open_sessions;
	const struct winspec *w = &s->o->w;

	if (w->kind == WIN_SESSION)
		sessions_close(s, s->wm.current);
	/* Windows fire at end + lateness: forward on that grid. */
	if (from_input || s->open_sessions != before ||
	    wm_due(&s->wm, s->o->wm_every, w->offset + s->o->lateness)) {
		s->wm.emitted = s->wm.current;
		rec_emit_watermark(&s->out, s->wm.current);
		s->wms++;
	}
}

/* --- checkpoints --------------------------------------------------------- */

static json_t *snapshot(void *ctx, uint64_t id)
{
	struct win *s = ctx;
	json_t *st = json_object(), *sess = json_array();

	(void)id;
	json_object_set_new(st, "watermark", wm_snapshot(&s->wm));
	for (size_t i = 0; i < s->keys.nids; i++) {
		size_t klen;
		const char *key;

		if (s->keys.keys[i].p == NULL)
			continue;
		key = keytab_key(&s->keys, (uint32_t)i, &klen);
		for (size_t j = 0; j < s->sk[i].n; j++) {
			struct session *ss = &s->sk[i].s[j];

			json_array_append_new(sess, json_pack("{s:s%,s:I,s:I,s:s%}",
			    "key", key, klen, "start", (json_int_t)ss->start,
			    "end", (json_int_t)ss->end, "lines",
			    ss->lines.data ? ss->lines.data : "", ss->lines.len));
		}
	}
	json_object_set_new(st, "sessions", sess);
	return st;
}

static void sessions_clear(struct win *s)
{
	for (size_t i = 0; i < s->keys.nids; i++) {
		if (s->keys.keys[i].p == NULL)
			continue;
		for (size_t j = 0; j < s->sk[i].n; j++)
			buf_free(&s->sk[i].s[j].lines);
		free(s->sk[i].s);
	}
	free(s->sk);
	s->sk = NULL;
	s->cap_sk = 0;
	keytab_free(&s->keys);
	keytab_init(&s->keys);
	timerheap_free(&s->timers);
	s->open_sessions = 0;
}

static int restore(void *ctx, const json_t *state, uint64_t id)
{
	struct win *s = ctx;
	json_t *sess = json_object_get(state, "sessions"), *e;
	size_t i;

	(void)id;
	if (wm_restore(&s->wm, json_object_get(state, "watermark")) < 0 ||
	    !json_is_array(sess)) {
		diag_error("checkpoint state is not fs-window's");
		return -1;
	}
	sessions_clear(s);
	json_array_foreach(sess, i, e) {
		json_t *key = json_object_get(e, "key");
		json_t *lines = json_object_get(e, "lines");
		bool added;
		uint32_t kid;
		struct skey *k;
		struct session ss = { 0, 0, BUF_INIT, 0 };

		if (!json_is_string(key) || !json_is_string(lines)) {
			diag_error("checkpoint state: bad session");
			return -1;
		}
		ss.start = json_integer_value(json_object_get(e, "start"));
		ss.end = json_integer_value(json_object_get(e, "end"));
		buf_append(&ss.lines, json_string_value(lines),
		    json_string_length(lines));
		for (size_t p = 0; p < ss.lines.len; p++)
			ss.n += ss.lines.data[p] == '\n';
		kid = keytab_intern(&s->keys, json_string_value(key),
		    json_string_length(key), &added);
		k = skey_for(s, kid, added);
		k->s = xgrow(k->s, &k->cap, k->n + 1, sizeof *k->s);
		k->s[k->n++] = ss;
		s->open_sessions++;
		arm(s, kid);
	}
	return 0;
}

/* --- the record loop ----------------------------------------------------- */

/* A control record, classified as c (recproj_read). */
static void on_control(struct win *s, const char *line, size_t len,
    const struct ctl *c, const char *why)
{
	s->ctl++;
	switch (c->kind) {
	case CTL_INVALID:
		reject_line(&s->rj, &s->lr, why, line, len);
		break;
	case CTL_WATERMARK:
		if (wm_input(&s->wm, c->ts))
			watermark_moved(s, true);
		break;
	case CTL_BARRIER:
	case CTL_RESTORE:
	case CTL_END: {
		char order[REC_ERR_MAX];

		if (stage_control(&s->st, c, &s->out, order) == STAGE_INVALID)
			reject_line(&s->rj, &s->lr, order, line, len);
		break;
	}
	default:
		out_line(&s->out, line, len);
		break;
	}
}

static bool is_late(const struct win *s, int64_t t)
{
	return s->wm.current != WM_NONE &&
	    win_last_end(&s->o->w, t) + s->o->lateness <= s->wm.current;
}

static void on_data(struct win *s, const char *line, size_t len, json_t *obj)
{
	const char *why;
	int64_t t;

	late_data(&s->late);
	fieldseen_record(&s->seen, obj);
	if (etime_get(&s->o->c.time_path, obj, &t, &why) < 0) {
		reject_line(&s->rj, &s->lr, why, line, len);
		return;
	}
	if (!win_time_ok(t)) {
		reject_line(&s->rj, &s->lr, "event time out of range", line, len);
		return;
	}
	if (is_late(s, t)) {
		late_record(&s->late, line, len, &s->out, &s->scratch);
		return;
	}
	if (s->o->w.kind == WIN_SESSION) {
		const char *missing;
		bool added;
		uint32_t id;

		buf_reset(&s->keybuf);
		if (s->ks.n > 0 &&
		    keyspec_encode(&s->ks, obj, &s->keybuf, &missing) < 0) {
			char msg[200];

			snprintf(msg, sizeof msg, "bad key field '%s'", missing);
			reject_line(&s->rj, &s->lr, msg, line, len);
			return;
		}
		id = keytab_intern(&s->keys, s->keybuf.data ? s->keybuf.data : "",
		    s->keybuf.len, &added);
		skey_for(s, id, added);
		session_add(s, id, t, line, len);
	} else {
		emit_windowed(s, line, len, t);
	}
	if (wm_event(&s->wm, t))
		watermark_moved(s, false);
}

static void on_line(struct win *s, const char *line, size_t len)
{
	char why[REC_ERR_MAX];
	struct ctl c;
	json_t *obj;

	s->in++;
	obj = recproj_read(s->proj, line, len, &c, why);
	if (obj == NULL) {
		reject_line(&s->rj, &s->lr, why, line, len);
		return;
	}
	if (c.kind == CTL_NONE) {
		stage_data(&s->st);
		on_data(s, line, len, obj);
	}
	else
		on_control(s, line, len, &c, why);
	json_decref(obj);
}

/* Waits for input; with an idle timeout, lets the clock move the
 * watermark while the input is silent.  Returns lineio_read()'s code. */
static int next_line(struct win *s, const char **line, size_t *len)
{
	while (s->o->idle > 0 && !lineio_has_line(&s->lr)) {
		int r = lineio_wait(&s->lr, (int)(s->o->idle < 1000 ?
		    s->o->idle : 1000));

		if (r == 1)
			break;
		if (r == -2)
			return -2;
		if (wm_tick(&s->wm, etime_now_ms()))
			watermark_moved(s, false);
		out_flush(&s->out);
	}
	return lineio_read(&s->lr, line, len);
}

/*
 * At the end of the stream the stages after this one fire every window
 * still open, and the end's checkpoint is taken after that.  A later run
 * on the same checkpoint directory (a grown topic) must not make a
 * second, partial result for a window already fired: its checkpoint
 * holds the watermark at the end of the last window fired, so records
 * for those windows are late there, counted and reported as such.
 */
static void ended_windows_closed(struct win *s)
{
	int64_t fired;

	if (!s->st.ended || s->o->w.kind == WIN_SESSION ||
	    s->wm.max_ts == WM_NONE)
		return;
	fired = win_last_end(&s->o->w, s->wm.max_ts);
	if (fired > s->wm.current)
		s->wm.current = fired;
}

/* Returns 0, or 1 when the input stopped short of its end. */
static int run(struct win *s)
{
	const char *line;
	size_t len;
	int r;

	/* SIGINT, SIGTERM: stop where we are, holding sessions back (a
	 * restart from the last checkpoint writes them). */
	while (!sig_stop_requested() &&
	    (r = next_line(s, &line, &len)) != 0) {
		if (r == -2)
			continue;
		if (r < 0)
			diag_fatal("read error: %s: %s", s->lr.name,
			    strerror(s->lr.err));
		on_line(s, line, len);
	}
	if (sig_stop_requested())
		return 0;
	if (!stage_input_complete(&s->st))
		return 1;
	/* End of input: the watermark is +infinity; sessions all close. */
	if (s->o->w.kind == WIN_SESSION)
		sessions_close(s, INT64_MAX);
	ended_windows_closed(s);
	stage_emit_end(&s->st, &s->out);
	return 0;
}

static void open_all(struct win *s, struct opts *o)
{
	json_t *spec;

	memset(s, 0, sizeof *s);
	s->o = o;
	out_init(&s->out, 1, "stdout");
	if (o->input == NULL || strcmp(o->input, "-") == 0)
		lineio_init_fd(&s->lr, 0, "-");
	else if (lineio_open(&s->lr, o->input) < 0)
		diag_fatal("cannot open: '%s': %s", o->input, strerror(errno));
	lineio_set_flush_hook(&s->lr, &s->out);
	rejects_init(&s->rj, &o->c, &s->out);
	late_init(&s->late, &o->late, &s->out);
	wm_init(&s->wm, o->max_ooo, o->idle);
	if (o->key != NULL && keyspec_compile(&s->ks, o->key) < 0)
		diag_usage("--key: not a key list: '%s'", o->key);
	fieldseen_init(&s->seen, o->strict);
	if (s->ks.n > 0)
		fieldseen_add_keys(&s->seen, &s->ks, "--key", o->key);
	s->proj = recproj_new();
	recproj_keep(s->proj, &o->c.time_path);
	for (size_t i = 0; i < s->ks.n; i++)
		recproj_keep(s->proj, &s->ks.paths[i]);
	keytab_init(&s->keys);
	timerheap_init(&s->timers);
	if (o->explode) {
		s->starts = xcalloc(win_max_windows(&o->w), sizeof *s->starts);
		s->ends = xcalloc(win_max_windows(&o->w), sizeof *s->ends);
	}
	o->c.ckpt_backend = &kafka_ckpt_backend;
	stage_init(&s->st, &o->c, (struct stage_hooks){ snapshot, restore, s });
	spec = winspec_to_json(&o->w, &o->f);
	rec_emit(&s->out, spec);
	json_decref(spec);
}

/* Returns 1 when more than --max-late-ratio of the records were late. */
static int finish(struct win *s)
{
	int rc;

	if (s->o->c.stats)
		fprintf(stderr, "%s: stats: %llu lines in, %llu records out, "
		    "%llu control, %llu watermarks out, %llu late, %llu "
		    "rejected, peak open sessions %zu\n", diag_progname(),
		    (unsigned long long)s->in,
		    (unsigned long long)s->out_records,
		    (unsigned long long)s->ctl, (unsigned long long)s->wms,
		    (unsigned long long)s->late.count,
		    (unsigned long long)s->rj.count, s->peak_sessions);
	stage_finish(&s->st);
	out_close(&s->out);
	rc = late_finish(&s->late);
	if (fieldseen_finish(&s->seen))
		rc = 1;
	rejects_finish(&s->rj);
	lineio_close(&s->lr);
	sessions_clear(s);
	keytab_free(&s->keys);
	recproj_free(s->proj);
	if (s->ks.n > 0)
		keyspec_free(&s->ks);
	buf_free(&s->b);
	buf_free(&s->scratch);
	buf_free(&s->keybuf);
	free(s->starts);
	free(s->ends);
	free(s->due);
	return rc;
}

int main(int argc, char **argv)
{
	static struct win s;

	parse_options(argc, argv);
	check_options(&opts);
	int rc;

	open_all(&s, &opts);
	rc = run(&s);
	if (finish(&s) != 0)
		rc = 1;
	return rc;
}
