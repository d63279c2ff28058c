/*
 * join_snap.c - join_snapshot() and join_restore() (join.h): the state
 * as JSON, every held record in arrival order, replayed into the same
 * buckets and timers on restore.  The snapshot is a new reference for
 * the caller; restore copies what it keeps from st.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "join_state.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

static const char *const kind_names[] = { "interval", "asof", "window" };
static const char *const type_names[] = {
	"inner", "left", "right", "full", "semi", "anti"
};

static void store(struct join *j, int s, const char *line, size_t len,
    int64_t t, int64_t ws, int64_t we, uint64_t seq, bool matched)
{
	switch (j->cfg->kind) {
	case JOIN_INTERVAL: {
		struct bucket *b = jbucket_get(j, j->kb.data, j->kb.len, true);
		join_interval_store(j, b, s, (struct jrec){ jline_copy(line,
		    len), len, t, join_interval_exp(j, s, t), seq, matched });
		break;
	}
	case JOIN_ASOF:
		if (s == JOIN_LEFT) {
			join_asof_store_left(j, line, len, t, seq, j->kb.data,
			    j->kb.len);
		} else {
			struct bucket *b = jbucket_get(j, j->kb.data,
			    j->kb.len, true);
			join_asof_store_right(j, b, (struct jrec){
			    jline_copy(line, len), len, t, 0, seq, false });
		}
		break;
	case JOIN_WINDOW:
		join_window_store(j, s, (struct jrec){ jline_copy(line, len),
		    len, t, 0, seq, false }, j->kb.len, ws, we);
		break;
	}
}

static int snap_cmp(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_array_get(*(json_t *const *)a,
	    1));
	json_int_t y = json_integer_value(json_array_get(*(json_t *const *)b,
	    1));

	return x < y ? -1 : x > y;
}

static json_t *snap_rec(int s, uint64_t seq, bool matched, const char *line,
    size_t len)
{
	return json_pack("[iIbo]", s, (json_int_t)seq, matched,
	    jline_parse(line, len));
}

/* A window join's entry also says its window: a record that carries a
 * pane is held once per window. */
static json_t *snap_win_rec(int s, const struct jrec *e, const struct bucket *b)
{
	return json_pack("[iIboII]", s, (json_int_t)e->seq, e->matched,
	    jline_parse(e->line, e->len), (json_int_t)b->ws, (json_int_t)b->we);
}

/*
 * The state: the watermark bookkeeping and every record held, as
 * [side, seq, matched, record] in arrival order, so that restoring
 * replays them into the same buckets and timers.
 */
json_t *join_snapshot(struct join *j)
{
	json_t **v = NULL;
	size_t n = 0, cap = 0, i = 0;
	struct hashtab_slot *sl;

	while ((sl = hashtab_next(&j->map, &i))) {
		struct bucket *b = sl->val;
		for (int s = 0; s < 2; s++)
			for (size_t k = 0; k < b->side[s].n; k++) {
				struct jrec *e = &b->side[s].v[k];
				v = xgrow(v, &cap, n + 1, sizeof *v);
				v[n++] = j->cfg->kind == JOIN_WINDOW ?
				    snap_win_rec(s, e, b) :
				    snap_rec(s, e->seq, e->matched, e->line,
				    e->len);
			}
	}
	for (size_t k = 0; k < jtimers_count(&j->pend); k++) {
		struct pending *p = jtimers_at(&j->pend, k)->p;
		v = xgrow(v, &cap, n + 1, sizeof *v);
		v[n++] = snap_rec(JOIN_LEFT, p->seq, false, p->line, p->len);
	}
	if (n)
		qsort(v, n, sizeof *v, snap_cmp);
	json_t *recs = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(recs, v[k]);
	free(v);

	return json_pack("{sisssss[oo]s[OO]sIsIsoso}",
	    "version", 1,
	    "kind", kind_names[j->cfg->kind],
	    "type", type_names[j->cfg->type],
	    "watermarks", wm_snapshot(&j->wm[0]), wm_snapshot(&j->wm[1]),
	    "window_specs", j->spec[0] ? j->spec[0] : json_null(),
	    j->spec[1] ? j->spec[1] : json_null(),
	    "seq", (json_int_t)j->seq,
	    "out_watermark", (json_int_t)j->out_wm,
	    "records", recs,
	    "members", join_out_names(&j->jo));
}

static int restore_fail(const char *what)
{
	diag_error("checkpoint state: %s", what);
	return -1;
}

/* Replays one [side, seq, matched, record(, ws, we)] entry into the
 * state. */
static int restore_rec(struct join *j, json_t *r)
{
	int s, matched;
	json_int_t rseq, ws = 0, we = 0;
	json_t *obj;
	int64_t t;
	const char *why;
	bool win = j->cfg->kind == JOIN_WINDOW;

	if ((win ? json_unpack(r, "[iIboII]", &s, &rseq, &matched, &obj, &ws,
	    &we) : json_unpack(r, "[iIbo]", &s, &rseq, &matched, &obj)) != 0 ||
	    (s != 0 && s != 1) || !json_is_object(obj) || (win && ws >= we))
		return restore_fail("malformed record entry");
	if (join_extract(j, s, obj, &t, &why) != JOIN_OK)
		return restore_fail(why);
	buf_reset(&j->nb);
	rec_dump(&j->nb, obj);
	store(j, s, j->nb.data, j->nb.len, t, ws, we, (uint64_t)rseq, matched);
	return 0;
}

int join_restore(struct join *j, const json_t *st)
{
	const char *kind, *type;
	json_int_t seq, owm;
	json_t *w0, *w1, *recs, *specs = NULL, *members = NULL;
	json_error_t err;

	if (json_unpack_ex((json_t *)st, &err, 0,
	    "{s:s,s:s,s:[oo],s:I,s:I,s:o,s?o,s?o}",
	    "kind", &kind, "type", &type, "watermarks", &w0, &w1,
	    "seq", &seq, "out_watermark", &owm, "records", &recs,
	    "window_specs", &specs, "members", &members) != 0 ||
	    !json_is_array(recs))
		return restore_fail(err.text);
	if (strcmp(kind, kind_names[j->cfg->kind]) != 0 ||
	    strcmp(type, type_names[j->cfg->type]) != 0)
		return restore_fail("taken by a different kind of join");

	join_clear(j);
	if (wm_restore(&j->wm[0], w0) != 0 || wm_restore(&j->wm[1], w1) != 0)
		return restore_fail("malformed watermarks");
	/* Checkpoints from before rows had the same members have none. */
	if (members != NULL && join_out_restore_names(&j->jo, members) != 0)
		return restore_fail("malformed member names");
	j->ended[0] = j->ended[1] = false;
	j->W = join_combined_wm(j);
	for (int i = 0; i < 2; i++) {
		json_t *sp = json_array_get(specs, (size_t)i);
		if (json_is_object(sp) && join_window_spec(j, i, sp) != 0)
			return restore_fail("malformed window record");
	}
	j->seq = (uint64_t)seq;
	j->out_wm = owm;

	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
		if (restore_rec(j, r) != 0)
			return -1;
	return 0;
}
