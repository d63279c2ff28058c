/*
 * fs-agg - aggregate NDJSON records per key: per window (on fs-window's
 * output), as a running aggregate, or over trailing ranges per event.
 * See fs-agg(1).
 *
 * This file holds main(), the options and the wiring: reading records,
 * their keys and window members, the window spec record, checkpoints and
 * --stats.  The engine is in common/agg: the windows, panes and running
 * aggregates and the timers that fire them (agg_fire.h), the aggregate
 * functions (aggfn.h), over aggregation (agg_over.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tool.h"
#include "def.h"
#include "agg/agg.h"
#include "fieldseen.h"
#include "opt.h"
#include "recproj.h"
#include "kafka/kafka.h"
#include "mpjson.h"
#include "reject.h"
#include "stage.h"
#include "window/window.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-agg --agg SPEC [--agg SPEC ...] [--key KEYS] [options] [FILE]\n"
"Aggregates NDJSON records per key: per window (fs-window's output),\n"
"as running aggregates, or over trailing ranges for each event.\n";

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

/* The modes by name (enum agg_mode, agg_fire.h): checkpoints, --stats. */
static const char *const mode_names[] = { "unset", "windows", "panes",
    "running", "over" };

struct agg {
	struct opts *o;
	struct aggset *as;
	struct aggfire fe;      /* the windows, panes and timers */
	json_t *spec;           /* keeps fe.f's strings alive */
	struct keyspec ks;
	struct over *over;
	struct recproj *proj;   /* parses only the members read here */
	/* The kept members' slots in proj (recproj_slot()), found again
	 * when it is rebuilt: time, key parts, fields, window members. */
	int sl_time, sl_late, *sl_key, *sl_field;
	struct mslot { const char *name; int slot; unsigned gen; }
	    sl_start, sl_end, sl_pane;
	unsigned proj_gen;
	json_t **vals;          /* key or field values of a record */
	/* The fields aggset_set_lazy() reads on demand (max_by's FIELD),
	 * parsed from the record's line only when it reaches the extreme:
	 * their projection, its slots, and the line's result (NULL: not
	 * parsed yet). */
	struct recproj *lazy;
	int *sl_lazy;
	const char *line;
	size_t len;
	json_t *lazy_obj;
	bool lazy_done;
	int64_t next_early;     /* wall clock of the next early firing */
	struct out out;
	struct lineio lr;
	struct rejects rj;
	struct late late;
	struct fieldseen seen;  /* the fields the options name */
	struct stage st;
	struct defrec def;      /* the aggregates' part of the definition */
	struct wmark wm;
	struct buf keybuf, scratch;
	char why[REC_ERR_MAX + 64];
	/* --stats */
	uint64_t in, ctl;
	/* --metrics-*: NULL without */
	struct metric *m_keys, *m_windows, *m_bytes;
	int64_t m_bytes_ms;     /* when the bytes were last counted */
	size_t m_bytes_keys;    /* and the keys there were then */
};

/* --- options ------------------------------------------------------------ */

/* --agg's help: SPEC, then FUNC's names (from aggfn.h) wrapped under it
 * (each line of a help starts at column 24). */
static char *agg_help(void)
{
	struct buf b = BUF_INIT;
	const char *f;
	size_t col = 0;

	buf_appends(&b, "NAME=FUNC[:FIELD[:PARAM]][:if:COND] (repeatable)");
	for (size_t i = 0; (f = aggset_function(i)) != NULL; i++) {
		if (col == 0 || col + strlen(f) + 2 > 78) {
			buf_appends(&b, i == 0 ? "\nFUNC: " : ",\n");
			col = i == 0 ? 30 : 24;
		} else {
			buf_appends(&b, ", ");
			col += 2;
		}
		buf_appends(&b, f);
		col += strlen(f);
	}
	return b.data;
}

static void agg_option(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	(void)name;
	o->aggs = xgrow(o->aggs, &o->cap_aggs, o->naggs + 1, sizeof *o->aggs);
	o->aggs[o->naggs++] = arg;
}

static void lateness_option(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	o->lateness = win_opt_duration(name, arg);
	o->lateness_set = true;
}

/* The operand and the combinations of options. */
static void check_options(struct opts *o, int argc, char **argv, int i)
{
	if (i < argc)
		o->input = argv[i++];
	if (i < argc)
		diag_usage("one input file at most: '%s'", argv[i]);
	if (o->naggs == 0)
		diag_usage("give at least one --agg");
	if (o->over != NULL && (o->early > 0 || o->emit_every > 0))
		diag_usage("--over goes with neither --early-fire nor --emit-every");
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	char *agg = agg_help();
	const struct opt opts[] = {
		OPT_CALLBACK(0, "agg", agg_option, o, "SPEC", agg),
		OPT_STRING(0, "key", &o->key, "KEYS",
		    "group by these fields (comma-separated paths)"),
		OPT_STRING(0, "start-field", &o->start_field, "NAME",
		    "window start member (default window_start)"),
		OPT_STRING(0, "end-field", &o->end_field, "NAME",
		    "window end member (default window_end)"),
		OPT_WIN_DURATION("max-out-of-orderness", &o->max_ooo,
		    "DURATION", "derive watermarks when the input has none,\n"
		    "as Flink SQL's t - DURATION (default 1ms)"),
		OPT_CALLBACK(0, "allowed-lateness", lateness_option, o,
		    "DURATION", "fire windows this long after their end\n"
		    "(default: what fs-window used)"),
		OPT_WIN_DURATION("early-fire", &o->early, "DURATION",
		    "emit partial window results this often (wall\n"
		    "clock), marked \"update\":true"),
		OPT_WIN_DURATION("emit-every", &o->emit_every, "DURATION",
		    "running aggregates: at most this often per key"),
		OPT_STRING(0, "over", &o->over, "RANGES",
		    "per event, aggregates over trailing ranges\n"
		    "(comma-separated durations, e.g. 5m,1h,24h),\n"
		    "exact, each event once the watermark passes it"),
		OPT_INT(0, "over-buckets", &o->over_buckets, 1, 100000, "N",
		    "instead, approximate each range by N buckets,\n"
		    "each event at once"),
		OPT_GROUP_FIELDSEEN(&o->strict),
		OPT_GROUP_LATE(&o->late),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};
	int first;

	fs_common_init(&o->c, argc, argv);
	o->start_field = "window_start";
	o->end_field = "window_end";
	o->max_ooo = WM_DEFAULT_OOO;
	late_opts_init(&o->late, "raise --max-out-of-orderness or "
	    "--allowed-lateness (here or in fs-window), or replay in "
	    "event-time order with fs-backfill --sort");
	first = opt_parse(usage_text, opts, 0, argc, argv);
	free(agg);
	fs_common_finish(&o->c);
	check_options(o, argc, argv, first);
}

/* --- the window spec and the mode ------------------------------------------ */

static void set_lateness(struct agg *s)
{
	s->fe.L = s->o->lateness_set ? s->o->lateness : s->fe.f.lateness;
}

/* The fields read on demand of the current line, parsed once per
 * record. */
static json_t *lazy_parse(struct agg *s)
{
	char why[REC_ERR_MAX];

	if (!s->lazy_done) {
		/* The line parsed already, the same way: it cannot be
		 * refused here (NULL would count as missing). */
		s->lazy_obj = recproj_parse(s->lazy, s->line, s->len, why);
		s->lazy_done = true;
	}
	return s->lazy_obj;
}

/* aggset_get_fn for the fields read on demand: field i of the current
 * line. */
static json_t *lazy_get(void *ctx, size_t i)
{
	struct agg *s = ctx;

	return lazy_parse(s) != NULL ? recproj_at(s->lazy, s->lazy_obj,
	    s->sl_lazy[i]) : NULL;
}

/* The fields read on demand (aggset_field_lazy_ok()), without --over
 * (it reads records whole): kept in their own projection, not in
 * s->proj. */
static void build_lazy(struct agg *s)
{
	size_t n;
	const struct path *fields = aggset_fields(s->as, &n);

	if (s->lazy != NULL || s->o->over != NULL)
		return;
	s->sl_lazy = xcalloc(n ? n : 1, sizeof *s->sl_lazy);
	for (size_t i = 0; i < n; i++) {
		if (!aggset_field_lazy_ok(s->as, i))
			continue;
		if (s->lazy == NULL)
			s->lazy = recproj_new();
		recproj_keep(s->lazy, &fields[i]);
		aggset_set_lazy(s->as, i, lazy_get, s);
	}
	for (size_t i = 0; s->lazy != NULL && i < n; i++)
		s->sl_lazy[i] = recproj_slot(s->lazy, &fields[i]);
}

/* The members fs-agg reads: time, key, aggregated and condition
 * fields, the late mark and the window members.  Rebuilt when a window
 * spec names the window members. */
static void build_projection(struct agg *s)
{
	size_t n;
	const struct path *fields = aggset_fields(s->as, &n);

	build_lazy(s);
	recproj_free(s->proj);
	s->proj = recproj_new();
	recproj_keep(s->proj, &s->o->c.time_path);
	for (size_t i = 0; i < s->ks.n; i++)
		recproj_keep(s->proj, &s->ks.paths[i]);
	for (size_t i = 0; i < n; i++)
		if (s->lazy == NULL || !aggset_field_lazy_ok(s->as, i))
			recproj_keep(s->proj, &fields[i]);
	recproj_keep_name(s->proj, s->late.field);
	recproj_keep_name(s->proj, s->o->start_field);
	recproj_keep_name(s->proj, s->o->end_field);
	if (s->fe.f.start != NULL)
		recproj_keep_name(s->proj, s->fe.f.start);
	if (s->fe.f.end != NULL)
		recproj_keep_name(s->proj, s->fe.f.end);
	if (s->fe.f.pane != NULL)
		recproj_keep_name(s->proj, s->fe.f.pane);
	s->proj_gen++;
	s->sl_time = recproj_slot(s->proj, &s->o->c.time_path);
	s->sl_late = recproj_slot_name(s->proj, s->late.field);
	s->sl_key = xrealloc(s->sl_key, (s->ks.n + 1) * sizeof *s->sl_key);
	for (size_t i = 0; i < s->ks.n; i++)
		s->sl_key[i] = recproj_slot(s->proj, &s->ks.paths[i]);
	s->sl_field = xrealloc(s->sl_field, (n + 1) * sizeof *s->sl_field);
	for (size_t i = 0; i < n; i++)
		s->sl_field[i] = recproj_slot(s->proj, &fields[i]);
	s->vals = xrealloc(s->vals, (s->ks.n + n + 1) * sizeof *s->vals);
}

/* The member at p of obj, through its slot i in the projection (-1:
 * looked up). */
static json_t *member_at(const struct agg *s, const json_t *obj, int i,
    const struct path *p)
{
	return i >= 0 ? recproj_at(s->proj, obj, i) : path_get(p, obj);
}

/* The slot of window member name, found again when the name or the
 * projection changed. */
static int member_slot(struct agg *s, struct mslot *m, const char *name)
{
	if (m->name != name || m->gen != s->proj_gen) {
		m->name = name;
		m->gen = s->proj_gen;
		m->slot = name != NULL ? recproj_slot_name(s->proj, name) : -1;
	}
	return m->slot;
}

static void on_spec(struct agg *s, json_t *obj)
{
	const char *why;

	if (s->fe.mode == AGG_MODE_OVER)
		diag_fatal("%s:%llu: --over takes unwindowed records, not "
		    "fs-window's output", s->lr.name,
		    (unsigned long long)s->lr.lineno);
	if (s->fe.mode == AGG_MODE_RUNNING)
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
	if (winspec_from_json(obj, &s->fe.w, &s->fe.f, &why) < 0)
		diag_fatal("%s:%llu: %s", s->lr.name,
		    (unsigned long long)s->lr.lineno, why);
	s->fe.mode = s->fe.f.panes ? AGG_MODE_PANES : AGG_MODE_WINDOWS;
	set_lateness(s);
	wm_use_input(&s->wm);
	build_projection(s);
}

/* The first data record decides the mode when no spec came first. */
static void decide_mode(struct agg *s, const json_t *obj)
{
	if (s->o->over != NULL) {
		s->fe.mode = AGG_MODE_OVER;
		return;
	}
	if (json_object_get(obj, s->o->end_field) != NULL) {
		s->fe.mode = AGG_MODE_WINDOWS;
		s->fe.f.start = s->o->start_field;
		s->fe.f.end = s->o->end_field;
		set_lateness(s);
		return;
	}
	s->fe.mode = AGG_MODE_RUNNING;
}

/* --- checkpoints ------------------------------------------------------------- */

static json_t *snapshot(void *ctx, uint64_t id)
{
	struct agg *s = ctx;
	json_t *st = json_object();

	(void)id;
	json_object_set_new(st, "mode", json_string(mode_names[s->fe.mode]));
	json_object_set_new(st, "aggs", json_string(aggset_signature(s->as)));
	json_object_set_new(st, "watermark", wm_snapshot(&s->wm));
	if (s->fe.mode == AGG_MODE_OVER) {
		json_object_set_new(st, "over", over_snapshot(s->over));
		return st;
	}
	json_object_set_new(st, "keys", aggfire_snapshot(&s->fe));
	aggfire_track_reset(&s->fe);
	return st;
}

/* The header of a piece in msgpack: {"mode", "aggs", "watermark"}. */
static void pack_head(struct agg *s, struct buf *out)
{
	msgpack_packer pk;
	json_t *h = json_object();

	json_object_set_new(h, "mode", json_string(mode_names[s->fe.mode]));
	json_object_set_new(h, "aggs", json_string(aggset_signature(s->as)));
	json_object_set_new(h, "watermark", wm_snapshot(&s->wm));
	mpj_packer(&pk, out);
	mpj_pack(&pk, h);
	json_decref(h);
}

/* A delta (agg_fire.h), in msgpack: the header, then a value per key
 * dropped or changed.  over mode takes full snapshots only. */
static int delta(void *ctx, uint64_t id, struct buf *out)
{
	struct agg *s = ctx;

	(void)id;
	if (s->fe.mode == AGG_MODE_OVER)
		return -1;
	pack_head(s, out);
	aggfire_delta(&s->fe, out);
	return 0;
}

/* A full piece in msgpack: the header, then a value per key; over mode
 * writes snapshot()'s JSON. */
static int full(void *ctx, uint64_t id, struct buf *out)
{
	struct agg *s = ctx;

	(void)id;
	if (s->fe.mode == AGG_MODE_OVER)
		return -1;
	pack_head(s, out);
	aggfire_pack_all(&s->fe, out);
	return 0;
}

/* Takes in a full piece's header (snapshot()'s object, or a msgpack full
 * piece's first value): the mode, the aggregates and the watermark, on
 * an emptied state; -1 with why. */
static int restore_head(struct agg *s, const json_t *state, const char **why)
{
	const char *mode = json_string_value(json_object_get(state, "mode"));
	const char *sig = json_string_value(json_object_get(state, "aggs"));
	size_t i;

	if (mode == NULL || sig == NULL)
		return -1;
	if (strcmp(sig, aggset_signature(s->as)) != 0)
		return *why = "the checkpoint has other aggregates", -1;
	aggfire_clear(&s->fe);
	for (i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
		if (strcmp(mode, mode_names[i]) == 0)
			break;
	if (i == sizeof mode_names / sizeof *mode_names)
		return -1;
	if (i != AGG_MODE_UNSET && s->fe.mode != AGG_MODE_UNSET &&
	    (enum agg_mode)i != s->fe.mode)
		return *why = "the checkpoint was taken in another mode", -1;
	if (i != AGG_MODE_UNSET)
		s->fe.mode = (enum agg_mode)i;
	if (s->fe.mode == AGG_MODE_WINDOWS && s->fe.f.end == NULL) {
		s->fe.f.start = s->o->start_field;
		s->fe.f.end = s->o->end_field;
		set_lateness(s);
	}
	return wm_restore(&s->wm, json_object_get(state, "watermark"));
}

/* A delta's header: the same mode, aggregates, and its watermark. */
static int delta_head(struct agg *s, const json_t *e)
{
	const char *mode = json_string_value(json_object_get(e, "mode"));
	const char *sig = json_string_value(json_object_get(e, "aggs"));

	if (mode == NULL || sig == NULL ||
	    strcmp(mode, mode_names[s->fe.mode]) != 0 ||
	    strcmp(sig, aggset_signature(s->as)) != 0)
		return -1;
	return wm_restore(&s->wm, json_object_get(e, "watermark"));
}

/* The next value of piece p at *off: a JSON line (a delta of version 2)
 * or a msgpack value; NULL at the end, or with *why when not valid. */
static json_t *next_value(const struct ckpt_piece *p, size_t *off,
    const char **why)
{
	const char *at = p->payload + *off, *nl;
	size_t n;
	json_error_t err;
	json_t *e;

	if (p->h.enc == CKPT_ENC_MSGPACK)
		return mpj_next(p->payload, p->len, off, why);
	*why = NULL;
	if (*off >= p->len)
		return NULL;
	nl = memchr(at, '\n', p->len - *off);
	n = nl != NULL ? (size_t)(nl - at) : p->len - *off;
	*off += n + 1;
	e = json_loadb(at, n, 0, &err);
	if (e == NULL)
		*why = "not an fs-agg delta";
	return e;
}

/* Applies a piece: a delta on the state restored so far, or a full
 * piece in msgpack (its header, then its keys) on an empty one. */
static int apply(void *ctx, const struct ckpt_piece *p)
{
	struct agg *s = ctx;
	const char *why = NULL;
	bool full_piece = p->h.kind == CKPT_FULL;
	json_t *e = NULL;
	size_t off = 0;
	bool first = true;

	while ((e = next_value(p, &off, &why)) != NULL) {
		if (first) {
			if ((full_piece ? restore_head(s, e, &why) :
			    delta_head(s, e)) < 0)
				goto bad;
			first = false;
		} else if (aggfire_apply_key(&s->fe, e, &why) < 0) {
			goto bad;
		}
		json_decref(e);
	}
	if (why != NULL)
		goto bad;
	aggfire_track_reset(&s->fe);
	return first ? (diag_error("checkpoint %s %" PRIu64 ": empty",
	    full_piece ? "piece" : "delta", p->h.id), -1) : 0;
bad:
	json_decref(e);
	diag_error("cannot apply checkpoint %s %" PRIu64 ": %s",
	    full_piece ? "piece" : "delta", p->h.id,
	    why != NULL ? why : full_piece ? "not fs-agg state" :
	    "not an fs-agg delta");
	return -1;
}

static int restore(void *ctx, const json_t *state, uint64_t id)
{
	struct agg *s = ctx;
	const char *why = "not fs-agg state";
	json_t *keys = json_object_get(state, "keys"), *e;
	size_t i;

	(void)id;
	if (restore_head(s, state, &why) < 0)
		goto bad;
	if (s->fe.mode == AGG_MODE_OVER)
		return over_restore(s->over, json_object_get(state, "over"), &why) < 0 ?
		    (diag_error("checkpoint: %s", why), -1) : 0;
	if (keys != NULL && !json_is_array(keys))
		goto bad;
	json_array_foreach(keys, i, e)
		if (aggfire_restore_key(&s->fe, e, &why) < 0)
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
			aggfire_fire_due(&s->fe, s->wm.current);
			if (s->fe.mode == AGG_MODE_OVER)
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

/* A window member of obj, read through the projection (no hashing). */
static int get_i64(struct agg *s, const json_t *obj, struct mslot *m,
    const char *name, int64_t *v)
{
	int i = member_slot(s, m, name);
	json_t *x = i >= 0 ? recproj_at(s->proj, obj, i) :
	    recproj_member(s->proj, obj, name);

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

/* A windowed or paned record: into its slot, or late. */
static void on_windowed(struct agg *s, uint32_t id, int64_t t, json_t *obj,
    const char *line, size_t len)
{
	int64_t start, end;
	int late;

	/* Passed on marked late by fs-window (--late pass): late here too. */
	if (json_is_true(s->sl_late >= 0 ? recproj_at(s->proj, obj,
	    s->sl_late) : recproj_member(s->proj, obj, s->late.field))) {
		late_record_marked(&s->late, line, len, &s->out);
		goto unused;
	}
	if (s->fe.mode == AGG_MODE_PANES) {
		if (get_i64(s, obj, &s->sl_pane, s->fe.f.pane, &start) < 0) {
			reject_field(s, "missing or non-integer pane field",
			    s->fe.f.pane, line, len);
			goto unused;
		}
		late = aggfire_pane(&s->fe, id, start, t);
	} else {
		if (get_i64(s, obj, &s->sl_start, s->fe.f.start, &start) < 0 ||
		    get_i64(s, obj, &s->sl_end, s->fe.f.end, &end) < 0) {
			reject_field(s, "missing or non-integer window field",
			    get_i64(s, obj, &s->sl_start, s->fe.f.start,
			    &start) < 0 ?
			    s->fe.f.start : s->fe.f.end, line, len);
			goto unused;
		}
		late = aggfire_window(&s->fe, id, start, end, t);
	}
	if (!late)
		return;
	late_record(&s->late, line, len, &s->out, &s->scratch);
unused:
	aggfire_release(&s->fe, id);
}

/* aggset_prepare() through the projection's slots. */
static int prepare_fields(struct agg *s, const json_t *obj, const char **why)
{
	size_t n;
	const struct path *fields = aggset_fields(s->as, &n);

	for (size_t i = 0; i < n; i++)
		s->vals[i] = member_at(s, obj, s->sl_field[i], &fields[i]);
	return aggset_prepare_values(s->as, s->vals, why);
}

static void on_data(struct agg *s, const char *line, size_t len, json_t *obj)
{
	const char *why, *missing;
	int64_t t;
	uint32_t id;

	json_decref(s->lazy_obj);
	s->lazy_obj = NULL;
	s->lazy_done = false;
	s->line = line;
	s->len = len;
	late_data(&s->late);
	fieldseen_record(&s->seen, obj);
	/* The fields read on demand are not in obj: looked up in the line
	 * while a named field is still unseen. */
	if (s->lazy != NULL && s->seen.nunseen > 0 && lazy_parse(s) != NULL)
		fieldseen_look(&s->seen, s->lazy_obj);
	if (s->fe.mode == AGG_MODE_UNSET)
		decide_mode(s, obj);
	if (etime_value(&s->o->c.time_path, member_at(s, obj, s->sl_time,
	    &s->o->c.time_path), &t, &why) < 0) {
		reject_line(&s->rj, &s->lr, why, line, len);
		return;
	}
	if (!win_time_ok(t)) {
		reject_line(&s->rj, &s->lr, "event time out of range", line, len);
		return;
	}
	if (s->fe.mode == AGG_MODE_OVER) {
		over_record(s->over, obj, t, line, len);
		if (wm_event(&s->wm, t))
			over_watermark(s->over, s->wm.current);
		return;
	}
	buf_reset(&s->keybuf);
	for (size_t i = 0; i < s->ks.n; i++)
		s->vals[i] = member_at(s, obj, s->sl_key[i], &s->ks.paths[i]);
	if (s->ks.n > 0 && keyspec_encode_values(&s->ks, s->vals, &s->keybuf,
	    &missing) < 0) {
		reject_field(s, "missing or non-scalar key field", missing, line,
		    len);
		return;
	}
	if (prepare_fields(s, obj, &why) < 0) {
		reject_line(&s->rj, &s->lr, why, line, len);
		return;
	}
	id = aggfire_key(&s->fe, s->keybuf.data ? s->keybuf.data : "",
	    s->keybuf.len);
	if (s->fe.mode == AGG_MODE_RUNNING)
		aggfire_running(&s->fe, id, t);
	else
		on_windowed(s, id, t, obj, line, len);
	/* Derived watermarks, when the input brings none. */
	if (wm_event(&s->wm, t))
		aggfire_fire_due(&s->fe, s->wm.current);
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
	if (c.kind == CTL_OTHER && def_is(obj)) {
		s->ctl++;
		def_forward(&s->def, obj, &s->out);
	} else if (c.kind == CTL_NONE) {
		stage_data(&s->st);
		on_data(s, line, len, obj);
	} else {
		on_control(s, line, len, obj, &c, why);
	}
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
		aggfire_early(&s->fe);
		s->next_early = now + s->o->early;
	}
	if (s->o->emit_every > 0)
		aggfire_pace(&s->fe, now);
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
	metric_set(s->m_keys, (double)s->fe.keys.count);
	metric_set(s->m_windows, (double)s->fe.nslots);
	now = etime_now_ms();
	/* An empty state is counted again at once: nothing to walk, and the
	 * first keys should not show as 0 bytes for a second. */
	if (s->m_bytes_ms == 0 || now - s->m_bytes_ms >= 1000 ||
	    s->m_bytes_keys == 0) {
		metric_set(s->m_bytes, (double)state_bytes(s));
		s->m_bytes_ms = now;
		s->m_bytes_keys = s->fe.keys.count;
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
	if (s->fe.mode == AGG_MODE_WINDOWS || s->fe.mode == AGG_MODE_PANES)
		aggfire_fire_due(&s->fe, INT64_MAX);
	else if (s->fe.mode == AGG_MODE_RUNNING)
		aggfire_pace(&s->fe, INT64_MAX);
	else if (s->fe.mode == AGG_MODE_OVER)
		over_watermark(s->over, INT64_MAX);
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

/* --- the definition (def.h) ---------------------------------------------- */

/* Splits text at its first ':' not escaped with '\\': the rest after it
 * in *rest (NULL when there is none). */
static char *cut_colon(char *text, char **rest)
{
	for (char *p = text; *p; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
		} else if (*p == ':') {
			*p = '\0';
			*rest = p + 1;
			return text;
		}
	}
	*rest = NULL;
	return text;
}

/* One --agg spec, NAME=FUNC[:FIELD[:PARAM]][:if:COND], as its parts. */
static json_t *agg_def(const char *spec)
{
	char *copy = xstrdup(spec), *eq = strchr(copy, '='), *rest, *cond;
	json_t *a = json_pack("{s:s}", "spec", spec);

	if (eq == NULL) {
		free(copy);
		return a;
	}
	*eq = '\0';
	json_object_set_new(a, "name", json_string(copy));
	cond = strstr(eq + 1, ":if:");
	if (cond != NULL) {
		*cond = '\0';
		json_object_set_new(a, "where", json_string(cond + 4));
	}
	json_object_set_new(a, "fn", json_string(cut_colon(eq + 1, &rest)));
	if (rest != NULL) {
		char *param;

		json_object_set_new(a, "field", json_string(cut_colon(rest,
		    &param)));
		if (param != NULL)
			json_object_set_new(a, "param", json_string(param));
	}
	free(copy);
	return a;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* --over's ranges, in milliseconds, sorted. */
static json_t *over_def(const char *ranges)
{
	char *copy = xstrdup(ranges), *save = NULL;
	int64_t *v = NULL;
	size_t n = 0;
	json_t *a = json_array();

	for (char *t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		if (dur_parse(t, &v[n]) == 0)
			n++;
	}
	qsort(v, n, sizeof *v, cmp_i64);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	free(v);
	free(copy);
	return a;
}

static json_t *agg_def_part(const struct opts *o)
{
	json_t *p = def_part_new("agg"), *aggs = json_array();

	for (size_t i = 0; i < o->naggs; i++)
		json_array_append_new(aggs, agg_def(o->aggs[i]));
	json_object_set_new(p, "aggs", aggs);
	if (o->key != NULL)
		def_part_key(p, o->key);
	if (o->over != NULL) {
		json_object_set_new(p, "over", over_def(o->over));
		/* as given: it names the output members (NAME_RANGE) */
		json_object_set_new(p, "over_spec", json_string(o->over));
		if (o->over_buckets > 0)
			json_object_set_new(p, "over_buckets",
			    json_integer(o->over_buckets));
	}
	json_object_set_new(p, "time_field", json_string(o->c.time_field));
	json_object_set_new(p, "max_out_of_orderness",
	    json_integer(o->max_ooo));
	if (o->lateness_set)
		json_object_set_new(p, "allowed_lateness",
		    json_integer(o->lateness));
	if (o->early > 0)
		json_object_set_new(p, "early_fire", json_integer(o->early));
	if (o->emit_every > 0)
		json_object_set_new(p, "emit_every",
		    json_integer(o->emit_every));
	return p;
}

static void open_all(struct agg *s, struct opts *o)
{
	char why[AGG_WHY_MAX];

	memset(s, 0, sizeof *s);
	s->o = o;
	s->as = aggset_compile(o->aggs, o->naggs, why);
	if (s->as == NULL)
		diag_usage("--agg %s", why);
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
	aggfire_init(&s->fe, s->as, &s->ks, &s->out, &s->wm, o->early,
	    o->emit_every);
	if (o->over != NULL) {
		const char *err;

		s->over = over_new(o->over, o->over_buckets, s->as, &s->ks,
		    &s->out, &s->rj, &s->lr, &s->late, &err);
		if (s->over == NULL)
			diag_usage("--over: %s: '%s'", err, o->over);
		s->fe.mode = AGG_MODE_OVER;
	}
	s->fe.f.start = NULL;
	build_projection(s);
	s->next_early = etime_now_ms() + o->early;
	o->c.ckpt_backend = &kafka_ckpt_backend;
	stage_init(&s->st, &o->c, (struct stage_hooks){ snapshot, restore, s,
	    delta, apply, full });
	if (s->st.store != NULL)
		aggfire_track(&s->fe);
	def_init(&s->def, agg_def_part(o));
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static size_t state_bytes(const struct agg *s)
{
	size_t n = aggfire_bytes(&s->fe);

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
		    (unsigned long long)s->fe.results,
		    (unsigned long long)s->ctl,
		    (unsigned long long)s->late.count,
		    (unsigned long long)s->rj.count, mode_names[s->fe.mode],
		    s->fe.peak_keys, s->fe.peak_slots, s->fe.keys.count,
		    state_bytes(s),
		    peak_rss_kib());
	stage_finish(&s->st);
	out_close(&s->out);
	rc = late_finish(&s->late);
	if (fieldseen_finish(&s->seen) != 0)
		rc = 1;
	rejects_finish(&s->rj);
	lineio_close(&s->lr);
	aggfire_free(&s->fe);
	if (s->over != NULL)
		over_free(s->over);
	recproj_free(s->proj);
	json_decref(s->lazy_obj);
	recproj_free(s->lazy);
	free(s->sl_lazy);
	free(s->sl_key);
	free(s->sl_field);
	free(s->vals);
	if (s->ks.n > 0)
		keyspec_free(&s->ks);
	aggset_free(s->as);
	def_free(&s->def);
	json_decref(s->spec);
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

