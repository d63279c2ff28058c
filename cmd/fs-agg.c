/*
 * fs-agg - aggregate NDJSON records per key: per window (on fs-window's
 * output), as a running aggregate, or over trailing ranges per event.
 * See fs-agg(1).
 *
 * State is one block of aggregate states (aggfn.h) per key and window,
 * pane or bucket, held in a per-key array of slots:
 *
 *   windowed   a slot per window (TUMBLE, SESSION, exploded HOP or
 *              CUMULATE, or any input carrying window_start/window_end);
 *              a timer per key fires its windows once the watermark
 *              passes their end plus the allowed lateness
 *   panes      a slot per pane (HOP and CUMULATE from fs-window): a
 *              record updates one pane; at each window end the key's
 *              panes inside the window are merged and emitted, and panes
 *              no later window needs are freed
 *   running    one slot per key, emitted on every change or at most
 *              every --emit-every
 *   over       per key and range, a ring of buckets; each event gets the
 *              merged buckets of the last RANGE (agg_over.c)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tool.h"
#include "agg/agg.h"
#include "fieldseen.h"
#include "recproj.h"
#include "reject.h"
#include "stage.h"
#include "window/window.h"
#include "banned.h"

/* The usage text: the head, FUNC's names (from aggfn.h), the rest. */
static const char usage_head[] =
"usage: fs-agg --agg SPEC [--agg SPEC ...] [--key KEYS] [options] [FILE]\n"
"Aggregates NDJSON records per key: per window (fs-window's output),\n"
"as running aggregates, or over trailing ranges for each event.\n"
"  --agg SPEC            NAME=FUNC[:FIELD[:PARAM]][:if:COND] (repeatable)\n";

static const char usage_rest[] =
"  --key KEYS            group by these fields (comma-separated paths)\n"
"  --start-field NAME    window start member (default window_start)\n"
"  --end-field NAME      window end member (default window_end)\n"
"  --max-out-of-orderness DURATION\n"
"                        derive watermarks when the input has none\n"
"  --allowed-lateness DURATION\n"
"                        fire windows this long after their end\n"
"                        (default: what fs-window used)\n"
"  --early-fire DURATION emit partial window results this often (wall\n"
"                        clock), marked \"update\":true\n"
"  --emit-every DURATION running aggregates: at most this often per key\n"
"  --over RANGES         per event, aggregates over trailing ranges\n"
"                        (comma-separated durations, e.g. 5m,1h,24h)\n"
"  --over-buckets N      buckets per range (default 60)\n"
FIELDSEEN_USAGE
LATE_USAGE;

enum {
	OPT_AGG = OPT_TOOL_BASE,
	OPT_ALLOWED_LATENESS,
	OPT_EARLY_FIRE,
	OPT_EMIT_EVERY,
	OPT_END_FIELD,
	OPT_KEY,
	OPT_MAX_OOO,
	OPT_OVER,
	OPT_OVER_BUCKETS,
	OPT_START_FIELD
};

static const struct option longopts[] = {
	{ "agg", required_argument, NULL, OPT_AGG },
	{ "allowed-lateness", required_argument, NULL, OPT_ALLOWED_LATENESS },
	{ "early-fire", required_argument, NULL, OPT_EARLY_FIRE },
	{ "emit-every", required_argument, NULL, OPT_EMIT_EVERY },
	{ "end-field", required_argument, NULL, OPT_END_FIELD },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "max-out-of-orderness", required_argument, NULL, OPT_MAX_OOO },
	{ "over", required_argument, NULL, OPT_OVER },
	{ "over-buckets", required_argument, NULL, OPT_OVER_BUCKETS },
	{ "start-field", required_argument, NULL, OPT_START_FIELD },
	FIELDSEEN_LONGOPTS,
	LATE_LONGOPTS,
	FS_COMMON_LONGOPTS
};

struct opts {
	struct fs_common c;
	const char **aggs;
	size_t naggs, cap_aggs;
	const char *key;
	const char *start_field, *end_field;
	int64_t max_ooo, lateness, early, emit_every;
	bool lateness_set;
	const char *over;
	int64_t over_buckets;
	struct late_opts late;
	bool strict;
	const char *input;
};

enum mode { MODE_UNSET, MODE_WINDOWS, MODE_PANES, MODE_RUNNING, MODE_OVER };

static const char *const mode_names[] = { "unset", "windows", "panes",
    "running", "over" };

/* A slot: a window (start, end), a pane (start), or the running state
 * (end: wall clock of its last emission), followed by the state block. */
struct slot {
	int64_t start, end;
};

/* Per key.  32 bytes: with 1M keys in open windows, every byte counts. */
struct kent {
	unsigned char *slots;   /* n slots of slot_size bytes, by start */
	uint32_t n, cap;
	int64_t armed;          /* timer time set, or INT64_MAX */
	int64_t fired;          /* panes: the last window end fired */
};

struct agg {
	struct opts *o;
	enum mode mode;
	struct aggset *as;
	size_t ssize;           /* state block bytes */
	size_t slot_size;
	struct winspec w;       /* from fs-window's spec record */
	struct winfields f;
	json_t *spec;           /* keeps f's strings alive */
	int64_t L;              /* allowed lateness in effect */
	struct keyspec ks;
	struct keytab keys;
	struct kent *k;
	size_t cap_k;
	struct timerheap timers;
	uint32_t *due;          /* keys due at one time, being fired */
	size_t ndue, cap_due;
	struct over *over;
	struct recproj *proj;   /* parses only the members read here */
	/* early firing and paced running emission */
	uint32_t *dirty;
	size_t ndirty, cap_dirty;
	unsigned char *isdirty; /* by key id */
	size_t cap_isdirty;
	int64_t next_early;
	struct timerheap pace;  /* running: wall-clock emission timers */
	void *tmp;              /* a scratch state block */
	struct out out;
	struct lineio lr;
	struct rejects rj;
	struct late late;
	struct fieldseen seen;  /* the fields the options name */
	struct stage st;
	struct wmark wm;
	struct buf keybuf, scratch;
	char why[REC_ERR_MAX + 64];
	/* --stats */
	uint64_t in, results, ctl;
	size_t nslots, peak_slots, peak_keys;
	/* --metrics-*: NULL without */
	struct metric *m_keys, *m_windows, *m_bytes;
	int64_t m_bytes_ms;     /* when the bytes were last counted */
};

/* --- options ------------------------------------------------------------ */

/* The usage text with FUNC's names, wrapped under the --agg line. */
static char *usage_text(void)
{
	struct buf b = BUF_INIT;
	const char *f;
	size_t col = 0;

	buf_appends(&b, usage_head);
	for (size_t i = 0; (f = aggset_function(i)) != NULL; i++) {
		if (col == 0 || col + strlen(f) + 2 > 78) {
			buf_appends(&b, i == 0 ? "" : ",\n");
			buf_appends(&b, "                        ");
			col = 24;
			if (i == 0) {
				buf_appends(&b, "FUNC: ");
				col += 6;
			}
		} else {
			buf_appends(&b, ", ");
			col += 2;
		}
		buf_appends(&b, f);
		col += strlen(f);
	}
	buf_appends(&b, "\n");
	buf_appends(&b, usage_rest);
	return b.data;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	char *usage = usage_text();
	int c;

	fs_common_init(&o->c, argc, argv);
	o->start_field = "window_start";
	o->end_field = "window_end";
	late_opts_init(&o->late, "raise --max-out-of-orderness or "
	    "--allowed-lateness (here or in fs-window), or replay in "
	    "event-time order with fs-backfill --sort");
	o->over_buckets = 60;
	while ((c = getopt_long(argc, argv, FS_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (fs_common_option(&o->c, c, optarg, usage) ||
		    late_option(&o->late, c, optarg) ||
		    fieldseen_option(&o->strict, c))
			continue;
		switch (c) {
		case OPT_AGG:
			o->aggs = xgrow(o->aggs, &o->cap_aggs, o->naggs + 1,
			    sizeof *o->aggs);
			o->aggs[o->naggs++] = optarg;
			break;
		case OPT_ALLOWED_LATENESS:
			o->lateness = win_opt_duration("--allowed-lateness", optarg);
			o->lateness_set = true;
			break;
		case OPT_EARLY_FIRE:
			o->early = win_opt_duration("--early-fire", optarg);
			break;
		case OPT_EMIT_EVERY:
			o->emit_every = win_opt_duration("--emit-every", optarg);
			break;
		case OPT_END_FIELD:
			o->end_field = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_MAX_OOO:
			o->max_ooo = win_opt_duration("--max-out-of-orderness", optarg);
			break;
		case OPT_OVER:
			o->over = optarg;
			break;
		case OPT_OVER_BUCKETS:
			o->over_buckets = opt_i64("--over-buckets", optarg, 1, 100000);
			break;
		case OPT_START_FIELD:
			o->start_field = optarg;
			break;
		default:
			diag_usage("unknown option");
		}
	}
	free(usage);
	fs_common_finish(&o->c);
	if (optind < argc)
		o->input = argv[optind++];
	if (optind < argc)
		diag_usage("one input file at most: '%s'", argv[optind]);
	if (o->naggs == 0)
		diag_usage("give at least one --agg");
	if (o->over != NULL && (o->early > 0 || o->emit_every > 0))
		diag_usage("--over goes with neither --early-fire nor --emit-every");
}

/* --- keys and slots ------------------------------------------------------ */

static struct slot *slot_at(const struct agg *s, const struct kent *k,
    size_t i)
{
	return (struct slot *)(void *)(k->slots + i * s->slot_size);
}

static void *slot_state(struct slot *sl)
{
	return (unsigned char *)sl + sizeof *sl;
}

static struct kent *kent_for(struct agg *s, uint32_t id, bool added)
{
	if (added) {
		s->k = xgrow(s->k, &s->cap_k, (size_t)id + 1, sizeof *s->k);
		memset(&s->k[id], 0, sizeof s->k[id]);
		s->k[id].armed = INT64_MAX;
		s->k[id].fired = INT64_MIN;
		if (s->keys.count > s->peak_keys)
			s->peak_keys = s->keys.count;
	}
	return &s->k[id];
}

/* The slot of (start, end) in k, created empty when absent.  Slots stay
 * sorted by (start, end); records mostly land in the newest slot, so the
 * search starts at the end. */
static struct slot *slot_get(struct agg *s, struct kent *k, int64_t start,
    int64_t end)
{
	size_t i = k->n;
	struct slot *sl;

	while (i > 0) {
		sl = slot_at(s, k, i - 1);
		if (sl->start == start && sl->end == end)
			return sl;
		if (sl->start < start || (sl->start == start && sl->end < end))
			break;
		i--;
	}
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 1;
		k->slots = xrealloc(k->slots, k->cap * s->slot_size);
	}
	memmove(k->slots + (i + 1) * s->slot_size, k->slots + i * s->slot_size,
	    (k->n - i) * s->slot_size);
	k->n++;
	sl = slot_at(s, k, i);
	sl->start = start;
	sl->end = end;
	aggset_init(s->as, slot_state(sl));
	if (++s->nslots > s->peak_slots)
		s->peak_slots = s->nslots;
	return sl;
}

/* Removes the slots gone() picks, freeing their states; keeps the order. */
static void slots_remove(struct agg *s, struct kent *k,
    bool (*gone)(const struct agg *, const struct slot *, int64_t),
    int64_t arg)
{
	size_t w = 0;

	for (size_t i = 0; i < k->n; i++) {
		struct slot *sl = slot_at(s, k, i);

		if (gone(s, sl, arg)) {
			aggset_free_state(s->as, slot_state(sl));
			s->nslots--;
			continue;
		}
		if (w != i)
			memcpy(k->slots + w * s->slot_size, sl, s->slot_size);
		w++;
	}
	k->n = (uint32_t)w;
	if (k->n == 0) {
		free(k->slots);
		k->slots = NULL;
		k->cap = 0;
	}
}

static void key_drop(struct agg *s, uint32_t id)
{
	struct kent *k = &s->k[id];

	for (size_t i = 0; i < k->n; i++) {
		aggset_free_state(s->as, slot_state(slot_at(s, k, i)));
		s->nslots--;
	}
	free(k->slots);
	memset(k, 0, sizeof *k);
	k->armed = INT64_MAX;
	k->fired = INT64_MIN;
	keytab_remove(&s->keys, id);
}

static void mark_dirty(struct agg *s, uint32_t id)
{
	if (id >= s->cap_isdirty) {
		size_t old = s->cap_isdirty;

		s->isdirty = xgrow(s->isdirty, &s->cap_isdirty, (size_t)id + 1, 1);
		memset(s->isdirty + old, 0, s->cap_isdirty - old);
	}
	if (s->isdirty[id])
		return;
	s->isdirty[id] = 1;
	s->dirty = xgrow(s->dirty, &s->cap_dirty, s->ndirty + 1,
	    sizeof *s->dirty);
	s->dirty[s->ndirty++] = id;
}

/* --- results -------------------------------------------------------------- */

/* update: -1 for no marker (no --early-fire), else 0 or 1. */
static void emit_result(struct agg *s, uint32_t id, const struct slot *win,
    const void *state, int update)
{
	json_t *obj = json_object();
	size_t klen;
	const char *key = keytab_key(&s->keys, id, &klen);

	if (win != NULL) {
		json_object_set_new(obj, s->f.start, json_integer(win->start));
		json_object_set_new(obj, s->f.end, json_integer(win->end));
	}
	if (s->ks.n > 0 && keyspec_decode_into(&s->ks, key, klen, obj) < 0)
		diag_fatal("internal error: undecodable key");
	aggset_result(s->as, state, obj);
	if (update >= 0)
		json_object_set_new(obj, "update", json_boolean(update));
	rec_emit(&s->out, obj);
	json_decref(obj);
	s->results++;
}

/* Merges k's panes that lie in [ws, we) into s->tmp; false when none. */
static bool merge_panes(struct agg *s, struct kent *k, int64_t ws,
    int64_t we)
{
	bool any = false;

	aggset_init(s->as, s->tmp);
	for (size_t i = 0; i < k->n; i++) {
		struct slot *sl = slot_at(s, k, i);

		if (sl->start < ws)
			continue;
		if (sl->start >= we)
			break;
		aggset_merge(s->as, s->tmp, slot_state(sl));
		any = true;
	}
	return any;
}

/* --- timers: when each key fires next --------------------------------------- */

static void arm_at(struct agg *s, uint32_t id, int64_t t)
{
	struct kent *k = &s->k[id];

	if (t < k->armed) {
		k->armed = t;
		timerheap_push(&s->timers, t, id);
	}
}

/* The watermark at or below which windows are closed (end + L <= wm). */
static int64_t closed_upto(const struct agg *s)
{
	if (s->wm.current == WM_NONE)
		return INT64_MIN;
	return s->wm.current - s->L;
}

/*
 * The next window end for pane ps of key k that has not fired or closed.
 * Between records every window with end + L <= watermark has fired (so
 * a new pane cannot join it: that would be late); while fire_due() runs,
 * windows up to the watermark are still to fire, and only k->fired
 * counts (firing says so with during_fire).
 */
static int64_t pane_next_at(const struct agg *s, const struct kent *k,
    int64_t ps, bool during_fire)
{
	int64_t after = k->fired, c = closed_upto(s);

	if (!during_fire && c > after)
		after = c;
	return win_next_end(&s->w, ps, after);
}

static int64_t pane_next(const struct agg *s, const struct kent *k,
    int64_t ps)
{
	return pane_next_at(s, k, ps, false);
}

static void rearm(struct agg *s, uint32_t id, bool during_fire)
{
	struct kent *k = &s->k[id];
	int64_t best = INT64_MAX;

	k->armed = INT64_MAX;
	for (size_t i = 0; i < k->n; i++) {
		struct slot *sl = slot_at(s, k, i);
		int64_t e = s->mode == MODE_PANES ?
		    pane_next_at(s, k, sl->start, during_fire) : sl->end;

		if (e < best)
			best = e;
	}
	if (best != INT64_MAX)
		arm_at(s, id, best + s->L);
}

static bool window_due(const struct agg *s, const struct slot *sl,
    int64_t t)
{
	return sl->end + s->L <= t;
}

static bool pane_done(const struct agg *s, const struct slot *sl, int64_t e)
{
	return win_last_end(&s->w, sl->start) <= e;
}

/*
 * Fires key id's windows due at its timer t (the earliest window end
 * plus L); later ones wait for their own timer, so that the results of
 * one watermark come out in order of window end across keys.
 */
static void fire_key(struct agg *s, uint32_t id, int64_t t)
{
	struct kent *k = &s->k[id];
	int upd = s->o->early > 0 ? 0 : -1;

	if (s->mode == MODE_WINDOWS) {
		for (size_t i = 0; i < k->n; i++) {
			struct slot *sl = slot_at(s, k, i);

			if (window_due(s, sl, t))
				emit_result(s, id, sl, slot_state(sl), upd);
		}
		slots_remove(s, k, window_due, t);
	} else {
		int64_t e = t - s->L;
		struct slot win = { win_start_for_end(&s->w, e), e };

		if (merge_panes(s, k, win.start, win.end))
			emit_result(s, id, &win, s->tmp, upd);
		aggset_free_state(s->as, s->tmp);
		k->fired = e;
		slots_remove(s, k, pane_done, e);
	}
	if (k->n == 0)
		key_drop(s, id);
	else
		rearm(s, id, true);
}

/*
 * Fires every key whose timer is at or before upto, earliest time first;
 * the keys due at one time fire in order of their canonical key bytes,
 * so the output does not depend on the order state was built in (a run
 * restored from a checkpoint writes what an uninterrupted run writes).
 */
static void fire_due(struct agg *s, int64_t upto)
{
	struct timer tm;

	while (timerheap_pop(&s->timers, upto, &tm)) {
		int64_t t = tm.t;

		s->ndue = 0;
		do {
			if (tm.id >= s->keys.nids ||
			    s->keys.keys[tm.id].p == NULL ||
			    tm.t != s->k[tm.id].armed)
				continue;       /* stale: re-armed or gone */
			s->k[tm.id].armed = INT64_MAX;
			s->due = xgrow(s->due, &s->cap_due, s->ndue + 1,
			    sizeof *s->due);
			s->due[s->ndue++] = tm.id;
		} while (timerheap_pop(&s->timers, t, &tm));
		keytab_sort_ids(&s->keys, s->due, s->ndue);
		for (size_t i = 0; i < s->ndue; i++)
			fire_key(s, s->due[i], t);
	}
}

/* --early-fire: the current result of every open window of every key
 * that changed since the last firing, marked as an update. */
static void early_fire(struct agg *s)
{
	for (size_t d = 0; d < s->ndirty; d++) {
		uint32_t id = s->dirty[d];
		struct kent *k = &s->k[id];

		s->isdirty[id] = 0;
		if (id >= s->keys.nids || s->keys.keys[id].p == NULL)
			continue;
		if (s->mode == MODE_WINDOWS) {
			for (size_t i = 0; i < k->n; i++) {
				struct slot *sl = slot_at(s, k, i);

				emit_result(s, id, sl, slot_state(sl), 1);
			}
		} else if (s->mode == MODE_PANES && k->n > 0) {
			int64_t e = INT64_MAX, last = INT64_MIN;

			for (size_t i = 0; i < k->n; i++) {
				int64_t ps = slot_at(s, k, i)->start;
				int64_t ne = pane_next(s, k, ps);
				int64_t le = win_last_end(&s->w, ps);

				if (ne < e)
					e = ne;
				if (le > last)
					last = le;
			}
			for (; e != INT64_MAX && e <= last; e += s->w.slide) {
				struct slot win = { win_start_for_end(&s->w, e), e };

				if (merge_panes(s, k, win.start, e))
					emit_result(s, id, &win, s->tmp, 1);
				aggset_free_state(s->as, s->tmp);
			}
		}
	}
	s->ndirty = 0;
}

/* --- running aggregates ---------------------------------------------------- */

static void running_emit(struct agg *s, uint32_t id, int64_t now)
{
	struct kent *k = &s->k[id];
	struct slot *sl = slot_at(s, k, 0);

	emit_result(s, id, NULL, slot_state(sl), -1);
	sl->end = now;
	sl->start = 0;          /* nothing pending */
}

/* Emits paced running aggregates whose time has come (INT64_MAX: all). */
static void running_pace(struct agg *s, int64_t now)
{
	struct timer tm;

	while (timerheap_pop(&s->pace, now, &tm)) {
		struct slot *sl = slot_at(s, &s->k[tm.id], 0);

		if (sl->start != 0)
			running_emit(s, tm.id, now == INT64_MAX ? sl->end : now);
	}
}

static void running_update(struct agg *s, uint32_t id, struct slot *sl)
{
	int64_t now;

	if (s->o->emit_every == 0) {
		emit_result(s, id, NULL, slot_state(sl), -1);
		return;
	}
	if (sl->start != 0)
		return;         /* already pending */
	now = etime_now_ms();
	if (sl->end == 0 || now - sl->end >= s->o->emit_every) {
		running_emit(s, id, now);
		return;
	}
	sl->start = 1;
	timerheap_push(&s->pace, sl->end + s->o->emit_every, id);
}

/* --- the window spec and the mode ------------------------------------------ */

static void set_lateness(struct agg *s)
{
	s->L = s->o->lateness_set ? s->o->lateness : s->f.lateness;
}

/* The members fs-agg reads: time, key, aggregated and condition
 * fields, the late mark and the window members.  Rebuilt when a window
 * spec names the window members. */
static void build_projection(struct agg *s)
{
	size_t n;
	const struct path *fields = aggset_fields(s->as, &n);

	recproj_free(s->proj);
	s->proj = recproj_new();
	recproj_keep(s->proj, &s->o->c.time_path);
	for (size_t i = 0; i < s->ks.n; i++)
		recproj_keep(s->proj, &s->ks.paths[i]);
	for (size_t i = 0; i < n; i++)
		recproj_keep(s->proj, &fields[i]);
	recproj_keep_name(s->proj, s->late.field);
	recproj_keep_name(s->proj, s->o->start_field);
	recproj_keep_name(s->proj, s->o->end_field);
	if (s->f.start != NULL)
		recproj_keep_name(s->proj, s->f.start);
	if (s->f.end != NULL)
		recproj_keep_name(s->proj, s->f.end);
	if (s->f.pane != NULL)
		recproj_keep_name(s->proj, s->f.pane);
}

static void on_spec(struct agg *s, json_t *obj)
{
	const char *why;

	if (s->mode == MODE_OVER)
		diag_fatal("%s:%llu: --over takes unwindowed records, not "
		    "fs-window's output", s->lr.name,
		    (unsigned long long)s->lr.lineno);
	if (s->mode == MODE_RUNNING)
		diag_fatal("%s:%llu: window spec record after unwindowed records",
		    s->lr.name, (unsigned long long)s->lr.lineno);
	if (s->spec != NULL) {
		/* A restarted fs-window sends its spec again: it must agree. */
		if (!json_equal(s->spec, obj))
			diag_fatal("%s:%llu: a second, different window spec",
			    s->lr.name, (unsigned long long)s->lr.lineno);
		return;
	}
	s->spec = json_incref(obj);
	if (winspec_from_json(obj, &s->w, &s->f, &why) < 0)
		diag_fatal("%s:%llu: %s", s->lr.name,
		    (unsigned long long)s->lr.lineno, why);
	s->mode = s->f.panes ? MODE_PANES : MODE_WINDOWS;
	set_lateness(s);
	wm_use_input(&s->wm);
	build_projection(s);
}

/* The first data record decides the mode when no spec came first. */
static void decide_mode(struct agg *s, const json_t *obj)
{
	if (s->o->over != NULL) {
		s->mode = MODE_OVER;
		return;
	}
	if (json_object_get(obj, s->o->end_field) != NULL) {
		s->mode = MODE_WINDOWS;
		s->f.start = s->o->start_field;
		s->f.end = s->o->end_field;
		set_lateness(s);
		return;
	}
	s->mode = MODE_RUNNING;
}

/* --- checkpoints ------------------------------------------------------------- */

static json_t *snapshot(void *ctx, uint64_t id)
{
	struct agg *s = ctx;
	json_t *st = json_object(), *keys = json_array();

	(void)id;
	json_object_set_new(st, "mode", json_string(mode_names[s->mode]));
	json_object_set_new(st, "aggs", json_string(aggset_signature(s->as)));
	json_object_set_new(st, "watermark", wm_snapshot(&s->wm));
	if (s->mode == MODE_OVER) {
		json_object_set_new(st, "over", over_snapshot(s->over));
		json_decref(keys);
		return st;
	}
	for (size_t i = 0; i < s->keys.nids; i++) {
		struct kent *k = &s->k[i];
		json_t *slots, *e;
		size_t klen;
		const char *key;

		if (s->keys.keys[i].p == NULL)
			continue;
		slots = json_array();
		key = keytab_key(&s->keys, (uint32_t)i, &klen);
		for (size_t j = 0; j < k->n; j++) {
			struct slot *sl = slot_at(s, k, j);

			json_array_append_new(slots, json_pack("[I,I,o]",
			    (json_int_t)sl->start, (json_int_t)sl->end,
			    aggset_snapshot(s->as, slot_state(sl))));
		}
		e = json_pack("{s:s%,s:o}", "key", key, klen, "slots", slots);
		if (k->fired != INT64_MIN)
			json_object_set_new(e, "fired", json_integer(k->fired));
		json_array_append_new(keys, e);
	}
	json_object_set_new(st, "keys", keys);
	return st;
}

static void state_clear(struct agg *s)
{
	for (size_t i = 0; i < s->keys.nids; i++)
		if (s->keys.keys[i].p != NULL)
			key_drop(s, (uint32_t)i);
	timerheap_free(&s->timers);
	timerheap_free(&s->pace);
	s->ndirty = 0;
	if (s->isdirty)
		memset(s->isdirty, 0, s->cap_isdirty);
}

static int restore_key(struct agg *s, const json_t *e, const char **why)
{
	json_t *key = json_object_get(e, "key"), *slots = json_object_get(e, "slots");
	json_t *fired = json_object_get(e, "fired"), *x;
	bool added;
	uint32_t id;
	struct kent *k;
	size_t i;

	if (!json_is_string(key) || !json_is_array(slots))
		return *why = "a key without slots", -1;
	id = keytab_intern(&s->keys, json_string_value(key),
	    json_string_length(key), &added);
	k = kent_for(s, id, added);
	if (json_is_integer(fired))
		k->fired = json_integer_value(fired);
	json_array_foreach(slots, i, x) {
		struct slot *sl;

		if (!json_is_array(x) || json_array_size(x) != 3)
			return *why = "a malformed slot", -1;
		sl = slot_get(s, k, json_integer_value(json_array_get(x, 0)),
		    json_integer_value(json_array_get(x, 1)));
		aggset_free_state(s->as, slot_state(sl));
		if (aggset_restore(s->as, slot_state(sl), json_array_get(x, 2),
		    why) < 0)
			return -1;
	}
	if (s->mode == MODE_WINDOWS || s->mode == MODE_PANES)
		rearm(s, id, false);
	else if (s->mode == MODE_RUNNING && k->n > 0 &&
	    slot_at(s, k, 0)->start != 0)
		timerheap_push(&s->pace, 0, id);        /* a change not yet written */
	return 0;
}

static int restore(void *ctx, const json_t *state, uint64_t id)
{
	struct agg *s = ctx;
	const char *mode = json_string_value(json_object_get(state, "mode"));
	const char *sig = json_string_value(json_object_get(state, "aggs"));
	const char *why = "not fs-agg state";
	json_t *keys = json_object_get(state, "keys"), *e;
	size_t i;

	(void)id;
	if (mode == NULL || sig == NULL)
		goto bad;
	if (strcmp(sig, aggset_signature(s->as)) != 0) {
		why = "the checkpoint has other aggregates";
		goto bad;
	}
	state_clear(s);
	for (i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
		if (strcmp(mode, mode_names[i]) == 0)
			break;
	if (i == sizeof mode_names / sizeof *mode_names)
		goto bad;
	if (i != MODE_UNSET && s->mode != MODE_UNSET && (enum mode)i != s->mode) {
		why = "the checkpoint was taken in another mode";
		goto bad;
	}
	if (i != MODE_UNSET)
		s->mode = (enum mode)i;
	if (s->mode == MODE_WINDOWS && s->f.end == NULL) {
		s->f.start = s->o->start_field;
		s->f.end = s->o->end_field;
		set_lateness(s);
	}
	if (wm_restore(&s->wm, json_object_get(state, "watermark")) < 0)
		goto bad;
	if (s->mode == MODE_OVER)
		return over_restore(s->over, json_object_get(state, "over"), &why) < 0 ?
		    (diag_error("checkpoint: %s", why), -1) : 0;
	if (keys != NULL && !json_is_array(keys))
		goto bad;
	json_array_foreach(keys, i, e)
		if (restore_key(s, e, &why) < 0)
			goto bad;
	return 0;
bad:
	diag_error("cannot restore checkpoint state: %s", why);
	return -1;
}

/* --- the record loop ----------------------------------------------------------- */

/* A control record, classified as c (recproj_read). */
static void on_control(struct agg *s, const char *line, size_t len,
    json_t *obj, const struct ctl *c, const char *why)
{
	s->ctl++;
	switch (c->kind) {
	case CTL_INVALID:
		reject_line(&s->rj, &s->lr, why, line, len);
		break;
	case CTL_WATERMARK:
		if (wm_input(&s->wm, c->ts)) {
			fire_due(s, s->wm.current);
			if (s->mode == MODE_OVER)
				over_watermark(s->over, s->wm.current);
			rec_emit_watermark(&s->out, s->wm.current);
		}
		break;
	case CTL_BARRIER:
	case CTL_RESTORE:
	case CTL_END:
		if (stage_control(&s->st, c, &s->out, s->why) == STAGE_INVALID)
			reject_line(&s->rj, &s->lr, s->why, line, len);
		break;
	default: {
		const char *t = json_string_value(json_object_get(obj,
		    REC_CONTROL_KEY));

		if (t != NULL && strcmp(t, WIN_CONTROL) == 0)
			on_spec(s, obj);
		else
			out_line(&s->out, line, len);
		break;
	}
	}
}

static int get_i64(const json_t *obj, const char *name, int64_t *v)
{
	json_t *x = json_object_get(obj, name);

	if (!json_is_integer(x))
		return -1;
	*v = json_integer_value(x);
	return 0;
}

/* Reject with "what 'name'". */
static void reject_field(struct agg *s, const char *what, const char *name,
    const char *line, size_t len)
{
	snprintf(s->why, sizeof s->why, "%s '%s'", what, name);
	reject_line(&s->rj, &s->lr, s->why, line, len);
}

static bool late_window(const struct agg *s, int64_t end)
{
	return s->wm.current != WM_NONE && end + s->L <= s->wm.current;
}

/* A windowed or paned record: find its slot, late or not. */
static void on_windowed(struct agg *s, uint32_t id, int64_t t, json_t *obj,
    const char *line, size_t len)
{
	struct kent *k = &s->k[id];
	struct slot *sl;
	int64_t start, end;

	/* Passed on marked late by fs-window (--late pass): late here too. */
	if (json_is_true(json_object_get(obj, s->late.field))) {
		late_record_marked(&s->late, line, len, &s->out);
		goto unused;
	}
	if (s->mode == MODE_PANES) {
		if (get_i64(obj, s->f.pane, &start) < 0) {
			reject_field(s, "missing or non-integer pane field",
			    s->f.pane, line, len);
			goto unused;
		}
		end = start + s->w.pane;
		if (late_window(s, win_last_end(&s->w, start)) ||
		    pane_next(s, k, start) == INT64_MAX)
			goto late;
	} else {
		if (get_i64(obj, s->f.start, &start) < 0 ||
		    get_i64(obj, s->f.end, &end) < 0) {
			reject_field(s, "missing or non-integer window field",
			    get_i64(obj, s->f.start, &start) < 0 ? s->f.start :
			    s->f.end, line, len);
			goto unused;
		}
		if (late_window(s, end))
			goto late;
	}
	sl = slot_get(s, k, start, s->mode == MODE_PANES ? 0 : end);
	aggset_apply(s->as, slot_state(sl), t);
	if (s->mode == MODE_PANES)
		arm_at(s, id, pane_next(s, k, start) + s->L);
	else
		arm_at(s, id, end + s->L);
	if (s->o->early > 0)
		mark_dirty(s, id);
	return;
late:
	late_record(&s->late, line, len, &s->out, &s->scratch);
unused:
	if (k->n == 0)
		key_drop(s, id);
}

static void on_data(struct agg *s, const char *line, size_t len, json_t *obj)
{
	const char *why, *missing;
	int64_t t;
	uint32_t id;
	bool added;

	late_data(&s->late);
	fieldseen_record(&s->seen, obj);
	if (s->mode == MODE_UNSET)
		decide_mode(s, obj);
	if (etime_get(&s->o->c.time_path, obj, &t, &why) < 0) {
		reject_line(&s->rj, &s->lr, why, line, len);
		return;
	}
	if (!win_time_ok(t)) {
		reject_line(&s->rj, &s->lr, "event time out of range", line, len);
		return;
	}
	if (s->mode == MODE_OVER) {
		over_record(s->over, obj, t, line, len);
		if (wm_event(&s->wm, t))
			over_watermark(s->over, s->wm.current);
		return;
	}
	buf_reset(&s->keybuf);
	if (s->ks.n > 0 && keyspec_encode(&s->ks, obj, &s->keybuf, &missing) < 0) {
		reject_field(s, "missing or non-scalar key field", missing, line,
		    len);
		return;
	}
	if (aggset_prepare(s->as, obj, &why) < 0) {
		reject_line(&s->rj, &s->lr, why, line, len);
		return;
	}
	id = keytab_intern(&s->keys, s->keybuf.data ? s->keybuf.data : "",
	    s->keybuf.len, &added);
	kent_for(s, id, added);
	if (s->mode == MODE_RUNNING) {
		struct kent *k = &s->k[id];
		struct slot *sl = k->n ? slot_at(s, k, 0) : slot_get(s, k, 0, 0);

		aggset_apply(s->as, slot_state(sl), t);
		running_update(s, id, sl);
	} else {
		on_windowed(s, id, t, obj, line, len);
	}
	/* Derived watermarks, when the input brings none. */
	if (wm_event(&s->wm, t))
		fire_due(s, s->wm.current);
}

static void on_line(struct agg *s, const char *line, size_t len)
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
	} else
		on_control(s, line, len, obj, &c, why);
	json_decref(obj);
}

/* Wall-clock work: early firings and paced running emissions. */
static void clock_work(struct agg *s)
{
	int64_t now;

	if (s->o->early <= 0 && s->o->emit_every <= 0)
		return;
	now = etime_now_ms();
	if (s->o->early > 0 && now >= s->next_early) {
		early_fire(s);
		s->next_early = now + s->o->early;
	}
	if (s->o->emit_every > 0)
		running_pace(s, now);
}

static size_t state_bytes(const struct agg *s);

/* --metrics-*: the state's keys and windows, before each read that may
 * block; its bytes at most once a second (counting walks every key). */
static void publish_state(struct agg *s)
{
	struct metrics *m = s->o->c.metrics;
	int64_t now;

	if (m == NULL)
		return;
	if (s->m_keys == NULL) {
		s->m_keys = metrics_gauge(m, "fs_state_keys",
		    "Keys held in state.", NULL);
		s->m_windows = metrics_gauge(m, "fs_state_windows",
		    "Windows (or panes) open in state.", NULL);
		s->m_bytes = metrics_gauge(m, "fs_state_bytes",
		    "Bytes of state, as --stats counts them.", NULL);
	}
	metric_set(s->m_keys, (double)s->keys.count);
	metric_set(s->m_windows, (double)s->nslots);
	now = etime_now_ms();
	if (s->m_bytes_ms == 0 || now - s->m_bytes_ms >= 1000) {
		metric_set(s->m_bytes, (double)state_bytes(s));
		s->m_bytes_ms = now;
	}
}

static int next_line(struct agg *s, const char **line, size_t *len)
{
	int64_t tick = s->o->early > 0 ? s->o->early : s->o->emit_every;

	if (!lineio_has_line(&s->lr))
		publish_state(s);
	while (tick > 0 && !lineio_has_line(&s->lr)) {
		int r = lineio_wait(&s->lr, (int)(tick < 1000 ? tick : 1000));

		if (r == -2)
			return -2;
		clock_work(s);
		out_flush(&s->out);
		if (r == 1)
			break;
	}
	return lineio_read(&s->lr, line, len);
}

/* Returns 0, or 1 when the input stopped short of its end. */
static int run(struct agg *s)
{
	const char *line;
	size_t len;
	int r;

	/* SIGINT, SIGTERM: stop where we are, without firing open windows
	 * (a restart from the last checkpoint fires them), even when the
	 * input also ends. */
	while (!sig_stop_requested() &&
	    (r = next_line(s, &line, &len)) != 0) {
		if (r == -2)
			continue;
		if (r < 0)
			diag_fatal("read error: %s: %s", s->lr.name,
			    strerror(s->lr.err));
		on_line(s, line, len);
		if ((s->in & 1023) == 0)
			clock_work(s);
	}
	if (sig_stop_requested())
		return 0;
	if (!stage_input_complete(&s->st))
		return 1;
	/* End of input: the watermark is +infinity. */
	if (s->mode == MODE_WINDOWS || s->mode == MODE_PANES)
		fire_due(s, INT64_MAX);
	else if (s->mode == MODE_RUNNING)
		running_pace(s, INT64_MAX);
	stage_emit_end(&s->st, &s->out);
	return 0;
}

/* Every field the options name, for a warning when no record had one
 * (fieldseen.h): the aggregated and condition fields, the key. */
static void watch_fields(struct agg *s)
{
	const struct path *f;
	size_t n;

	fieldseen_init(&s->seen, s->o->strict);
	f = aggset_fields(s->as, &n);
	for (size_t i = 0; i < n; i++)
		fieldseen_add(&s->seen, &f[i], "--agg",
		    s->o->aggs[aggset_field_spec(s->as, i)]);
	if (s->ks.n > 0)
		fieldseen_add_keys(&s->seen, &s->ks, "--key", s->o->key);
}

static void open_all(struct agg *s, struct opts *o)
{
	char why[AGG_WHY_MAX];

	memset(s, 0, sizeof *s);
	s->o = o;
	s->as = aggset_compile(o->aggs, o->naggs, why);
	if (s->as == NULL)
		diag_usage("--agg %s", why);
	s->ssize = aggset_state_size(s->as);
	s->slot_size = sizeof(struct slot) + s->ssize;
	s->tmp = xmalloc(s->ssize ? s->ssize : 8);
	if (o->key != NULL && keyspec_compile(&s->ks, o->key) < 0)
		diag_usage("--key: not a key list: '%s'", o->key);
	watch_fields(s);
	out_init(&s->out, 1, "stdout");
	if (o->input == NULL || strcmp(o->input, "-") == 0)
		lineio_init_fd(&s->lr, 0, "-");
	else if (lineio_open(&s->lr, o->input) < 0)
		diag_fatal("cannot open: '%s': %s", o->input, strerror(errno));
	lineio_set_flush_hook(&s->lr, &s->out);
	rejects_init(&s->rj, &o->c, &s->out);
	late_init(&s->late, &o->late, &s->out);
	wm_init(&s->wm, o->max_ooo, 0);
	keytab_init(&s->keys);
	timerheap_init(&s->timers);
	timerheap_init(&s->pace);
	if (o->over != NULL) {
		const char *err;

		s->over = over_new(o->over, o->over_buckets, s->as, &s->ks,
		    &s->out, &s->rj, &s->lr, &s->late, &err);
		if (s->over == NULL)
			diag_usage("--over: %s: '%s'", err, o->over);
		s->mode = MODE_OVER;
	}
	s->f.start = NULL;
	build_projection(s);
	s->next_early = etime_now_ms() + o->early;
	stage_init(&s->st, &o->c, (struct stage_hooks){ snapshot, restore, s });
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static size_t state_bytes(const struct agg *s)
{
	size_t n = keytab_bytes(&s->keys) + s->cap_k * sizeof *s->k +
	    s->timers.cap * sizeof *s->timers.v;

	for (size_t i = 0; i < s->keys.nids; i++) {
		const struct kent *k = &s->k[i];

		if (s->keys.keys[i].p == NULL)
			continue;
		n += (k->cap - k->n) * s->slot_size;
		for (size_t j = 0; j < k->n; j++)
			n += sizeof(struct slot) + aggset_state_bytes(s->as,
			    slot_state(slot_at(s, k, j)));
	}
	if (s->over != NULL)
		n += over_bytes(s->over);
	return n;
}

/* Returns 1 when more than --max-late-ratio of the records were late,
 * or when a named field was absent from every record under --strict. */
static int finish(struct agg *s)
{
	int rc;

	if (s->o->c.stats)
		fprintf(stderr, "%s: stats: %llu lines in, %llu results, "
		    "%llu control, %llu late, %llu rejected; mode %s; peak keys "
		    "%zu, peak slots %zu; state now %zu keys in %zu bytes allocated; peak "
		    "RSS %ld KiB\n", diag_progname(), (unsigned long long)s->in,
		    (unsigned long long)s->results, (unsigned long long)s->ctl,
		    (unsigned long long)s->late.count,
		    (unsigned long long)s->rj.count, mode_names[s->mode],
		    s->peak_keys, s->peak_slots, s->keys.count, state_bytes(s),
		    peak_rss_kib());
	stage_finish(&s->st);
	out_close(&s->out);
	rc = late_finish(&s->late);
	if (fieldseen_finish(&s->seen) != 0)
		rc = 1;
	rejects_finish(&s->rj);
	lineio_close(&s->lr);
	state_clear(s);
	keytab_free(&s->keys);
	if (s->over != NULL)
		over_free(s->over);
	recproj_free(s->proj);
	if (s->ks.n > 0)
		keyspec_free(&s->ks);
	aggset_free(s->as);
	json_decref(s->spec);
	free(s->k);
	free(s->due);
	free(s->tmp);
	free(s->dirty);
	free(s->isdirty);
	buf_free(&s->keybuf);
	buf_free(&s->scratch);
	free(s->o->aggs);
	return rc;
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct agg s;

	parse_options(&o, argc, argv);
	int rc;

	open_all(&s, &o);
	rc = run(&s);
	if (finish(&s) != 0)
		rc = 1;
	return rc;
}
