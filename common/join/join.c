/*
 * join.c - a join's life cycle, adding records, the join watermark and
 * writing rows out (join.h); the kinds' matching is in join_interval.c,
 * join_asof.c and join_window.c, the state in join_state.h.
 *
 * join_new() allocates the join, join_free() frees it and everything it
 * holds; the config and the output stay the caller's.
 */
#define _GNU_SOURCE /* memmem */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "etime.h"
#include "join_state.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

/* --- output --------------------------------------------------------------- */

/* rec_emit() with a buffer kept across records. */
static void emit(struct join *j, const json_t *o)
{
	buf_reset(&j->ob);
	rec_dump(&j->ob, o);
	out_line(j->out, j->ob.data, j->ob.len);
}

/* Is name one of a window join's own members? */
static bool window_name(const struct join *j, const char *name)
{
	return j->cfg->kind == JOIN_WINDOW &&
	    (strcmp(name, j->cfg->start_field) == 0 ||
	    strcmp(name, j->cfg->end_field) == 0 ||
	    strcmp(name, JOIN_WINDOW_TIME) == 0);
}

/*
 * Can rows be written member by member?  When every member of a row
 * comes from a field list (the left side has one, and so has the right
 * unless a semi or anti join never writes it) and no name comes twice,
 * a row holds each field once, in order, and nothing else but the
 * window members: join_out_row() and rec_dump() write the same bytes.
 * The names are made once, into j->made.
 */
static void fast_prepare(struct join *j)
{
	const struct join_config *c = j->cfg;
	struct hashtab seen;
	size_t n = 0, total = c->side[0].nfields + c->side[1].nfields;
	bool ok = c->side[JOIN_LEFT].fields != NULL &&
	    (c->side[JOIN_RIGHT].fields != NULL || c->type == JT_SEMI ||
	    c->type == JT_ANTI);
	char **names = xcalloc(total ? total : 1, sizeof *names);
	struct jfrag nf;

	hashtab_init(&seen);
	j->made_end = xmalloc((total ? total : 1) * sizeof *j->made_end);
	for (int s = 0; ok && s < 2; s++) {
		const struct join_side_out *so = &c->side[s];
		for (size_t i = 0; ok && i < so->nfields; i++) {
			const struct join_field *f = &so->fields[i];
			struct buf nm = BUF_INIT;
			struct hashtab_slot *sl;

			if (!f->renamed)
				buf_appends(&nm, so->prefix ? so->prefix : "");
			buf_appends(&nm, f->name);
			names[n] = nm.data;
			sl = hashtab_put(&seen, names[n], nm.len);
			n++;
			if (sl->val != NULL || window_name(j, nm.data)) {
				ok = false;
				break;
			}
			sl->val = names[n - 1];
			rec_key_make(&j->made, nm.data);
			j->made_end[n - 1] = j->made.len;
		}
	}
	j->fast = ok;
	if (ok) {
		for (int s = 0; s < 2; s++) {
			jfrag_of_obj(j, s, NULL, &j->fh, &nf);
			buf_append(&j->nullfrag[s], nf.p, nf.n);
		}
		rec_key_make(&j->wkey[0], c->start_field);
		rec_key_make(&j->wkey[1], c->end_field);
		rec_key_make(&j->wkey[2], JOIN_WINDOW_TIME);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	hashtab_free(&seen);
}

/* The fields of side s of rec (NULL: nulls) into w, from made key k. */
static size_t fast_side(struct join *j, struct rec_writer *w, int s,
    const json_t *rec, size_t k)
{
	const struct join_side_out *so = &j->cfg->side[s];

	for (size_t i = 0; i < so->nfields; i++, k++) {
		size_t from = k ? j->made_end[k - 1] : 0;
		json_t *v = rec ? path_get(&so->fields[i].path, rec) : NULL;

		rec_w_key_made(w, j->made.data + from, j->made_end[k] - from);
		if (v)
			rec_w_value(w, v);
		else
			rec_w_null(w);
	}
	return k;
}

static void fast_row(struct join *j, const json_t *l, const json_t *r,
    const struct bucket *b)
{
	struct rec_writer w;
	size_t k;

	buf_reset(&j->ob);
	rec_w_init(&w, &j->ob);
	rec_w_obj(&w);
	k = fast_side(j, &w, JOIN_LEFT, l, 0);
	if (j->cfg->side[JOIN_RIGHT].fields != NULL)
		fast_side(j, &w, JOIN_RIGHT, r, k);
	if (j->cfg->kind == JOIN_WINDOW) {
		rec_w_key(&w, j->cfg->start_field);
		rec_w_i64(&w, b->ws);
		rec_w_key(&w, j->cfg->end_field);
		rec_w_i64(&w, b->we);
		rec_w_key(&w, JOIN_WINDOW_TIME);
		rec_w_i64(&w, b->we - 1);
	}
	rec_w_end(&w);
	out_line(j->out, j->ob.data, j->ob.len);
	j->st.out++;
}

void jfrag_of_obj(struct join *j, int s, const json_t *obj, struct buf *b,
    struct jfrag *f)
{
	struct rec_writer w;

	f->p = NULL;
	f->n = 0;
	if (j->cfg->side[s].fields == NULL)
		return;
	buf_reset(b);
	rec_w_init(&w, b);
	rec_w_obj(&w);
	fast_side(j, &w, s, obj, s == JOIN_LEFT ? 0 :
	    j->cfg->side[JOIN_LEFT].nfields);
	rec_w_end(&w);
	f->p = b->data + 1;
	f->n = b->len - 2;
}

void jfrag_of_rec(struct join *j, int s, const struct jrec *r, struct buf *b,
    struct jfrag *f)
{
	json_t *o;

	if (r->flen > 0) {
		f->p = r->line + r->len + 1;
		f->n = r->flen;
		return;
	}
	if (j->cfg->side[s].fields == NULL) {
		f->p = NULL;
		f->n = 0;
		return;
	}
	o = jrec_parse(j, s, r);
	jfrag_of_obj(j, s, o, b, f);
	json_decref(o);
}

char *jline_hold(const char *line, size_t len, const struct jfrag *f,
    uint32_t *flen)
{
	size_t n = f && f->n <= UINT32_MAX ? f->n : 0;
	char *p = xmalloc(len + 1 + n + 1);

	memcpy(p, line, len);
	p[len] = '\0';
	if (n > 0)
		memcpy(p + len + 1, f->p, n);
	p[len + 1 + n] = '\0';
	*flen = (uint32_t)n;
	return p;
}

void join_emit_frags(struct join *j, const struct jfrag *l,
    const struct jfrag *r, const struct bucket *b)
{
	struct buf *o = &j->ob;
	struct jfrag nl, nr;

	if (l == NULL) {
		nl = (struct jfrag){ j->nullfrag[0].data, j->nullfrag[0].len };
		l = &nl;
	}
	if (r == NULL) {
		nr = (struct jfrag){ j->nullfrag[1].data, j->nullfrag[1].len };
		r = &nr;
	}
	buf_reset(o);
	buf_reserve(o, l->n + r->n + 96);
	buf_appendc(o, '{');
	buf_append(o, l->p, l->n);
	if (r->n > 0) {
		buf_appendc(o, ',');
		buf_append(o, r->p, r->n);
	}
	if (j->cfg->kind == JOIN_WINDOW) {
		int64_t v[3] = { b->ws, b->we, b->we - 1 };

		for (int i = 0; i < 3; i++) {
			buf_appendc(o, ',');
			buf_append(o, j->wkey[i].data, j->wkey[i].len);
			buf_append_i64(o, v[i]);
		}
	}
	buf_appendc(o, '}');
	out_line(j->out, o->data, o->len);
	j->st.out++;
}

/* The end of the string whose opening quote is at p (canonical bytes:
 * it is there). */
static const char *string_end(const char *p)
{
	for (p++; *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p + 1;
}

/* The end of the value at p, in canonical bytes. */
static const char *value_end(const char *p)
{
	int depth = 0;

	for (;;) {
		switch (*p) {
		case '"':
			p = string_end(p);
			if (depth == 0)
				return p;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
			break;
		case ',':
			if (depth == 0)
				return p;
			break;
		default:
			break;
		}
		p++;
	}
}

/* The top-level members of the canonical object line[0, len) from
 * j->mem[*n] on. */
static void members(struct join *j, const char *line, size_t len, size_t *n)
{
	const char *p = line + 1, *e = line + len - 1;

	while (p < e) {
		struct jmember m;

		m.k = p + 1;
		p = string_end(p);
		m.kn = (size_t)(p - 1 - m.k);
		m.v = ++p;              /* past the ':' */
		p = value_end(p);
		m.vn = (size_t)(p - m.v);
		j->mem = xgrow(j->mem, &j->capmem, *n + 1, sizeof *j->mem);
		j->mem[(*n)++] = m;
		if (*p == ',')
			p++;
	}
}

/* Is prefix + name (p, pn; k, kn) equal to the other? */
static bool same_name(const char *p1, size_t n1, const struct jmember *a,
    const char *p2, size_t n2, const struct jmember *b)
{
	if (n1 + a->kn != n2 + b->kn)
		return false;
	/* The shorter prefix is compared, then the rest of both. */
	if (n1 > n2)
		return same_name(p2, n2, b, p1, n1, a);
	return memcmp(p1, p2, n1) == 0 && memcmp(p2 + n1, a->k, n2 - n1) == 0 &&
	    memcmp(a->k + (n2 - n1), b->k, b->kn) == 0;
}

bool join_emit_lines(struct join *j, const char *l, size_t ln, const char *r,
    size_t rn)
{
	const char *lp = j->cfg->side[JOIN_LEFT].prefix;
	const char *rp = j->cfg->side[JOIN_RIGHT].prefix;
	size_t nl = 0, n = 0, lpn, rpn;
	struct buf *o = &j->ob;

	if (!j->whole || !rec_quick_canonical(l, ln) ||
	    !rec_quick_canonical(r, rn))
		return false;
	lp = lp ? lp : "";
	rp = rp ? rp : "";
	lpn = strlen(lp);
	rpn = strlen(rp);
	members(j, l, ln, &nl);
	n = nl;
	members(j, r, rn, &n);
	for (size_t i = 0; i < nl; i++)
		for (size_t k = nl; k < n; k++)
			if (same_name(lp, lpn, &j->mem[i], rp, rpn, &j->mem[k]))
				return false;
	buf_reset(o);
	buf_reserve(o, ln + rn + (nl * lpn) + (n - nl) * rpn + 2);
	buf_appendc(o, '{');
	for (size_t i = 0; i < n; i++) {
		const struct jmember *m = &j->mem[i];

		if (i > 0)
			buf_appendc(o, ',');
		buf_appendc(o, '"');
		if (i < nl)
			buf_append(o, lp, lpn);
		else
			buf_append(o, rp, rpn);
		buf_append(o, m->k, m->kn);
		buf_append(o, "\":", 2);
		buf_append(o, m->v, m->vn);
	}
	buf_appendc(o, '}');
	out_line(j->out, o->data, o->len);
	j->st.out++;
	return true;
}

void join_emit_row(struct join *j, json_t *l, json_t *r,
    const struct bucket *b)
{
	if (j->fast) {
		fast_row(j, l, r, b);
		return;
	}
	json_t *o = join_out_row(&j->jo, l, r, b->key, b->keylen);

	if (j->cfg->kind == JOIN_WINDOW) {
		json_object_set_new(o, j->cfg->start_field,
		    json_integer(b->ws));
		json_object_set_new(o, j->cfg->end_field, json_integer(b->we));
		json_object_set_new(o, JOIN_WINDOW_TIME,
		    json_integer(b->we - 1));
	}
	emit(j, o);
	json_decref(o);
	j->st.out++;
}

/*
 * Semi and anti joins emit the left record itself, as Flink does, or
 * the members --left-fields selects.  A record in the bytes rec_dump()
 * writes (rec_quick_canonical()) without a window_time member goes out
 * as its line with window_time spliced on: the bytes its parse, with
 * the member set, dumps to.
 */
void join_emit_left_only(struct join *j, const struct jrec *r,
    const struct bucket *b)
{
	json_t *l, *o;

	if (j->fast) {
		struct jfrag f;

		jfrag_of_rec(j, JOIN_LEFT, r, &j->fh, &f);
		join_emit_frags(j, &f, NULL, b);
		return;
	}
	if (j->cfg->side[JOIN_LEFT].fields != NULL) {
		l = jrec_parse(j, JOIN_LEFT, r);
		join_emit_row(j, l, NULL, b);
		json_decref(l);
		return;
	}
	if (memmem(r->line, r->len, "\"" JOIN_WINDOW_TIME "\"",
	    sizeof JOIN_WINDOW_TIME + 1) == NULL &&
	    rec_quick_canonical(r->line, r->len)) {
		rec_splice_begin(&j->ob, r->line, r->len);
		rec_splice_i64(&j->ob, JOIN_WINDOW_TIME, b->we - 1);
		rec_splice_end(&j->ob);
		out_line(j->out, j->ob.data, j->ob.len);
		j->st.out++;
		return;
	}
	l = jrec_parse(j, JOIN_LEFT, r);
	o = json_copy(l);
	json_decref(l);
	json_object_set_new(o, JOIN_WINDOW_TIME, json_integer(b->we - 1));
	emit(j, o);
	json_decref(o);
	j->st.out++;
}

/* --- the watermark -------------------------------------------------------- */

/* wm_min() over the sides whose input is still open; +infinity when
 * both ended, or one ended and the other is idle. */
int64_t join_combined_wm(const struct join *j)
{
	if (j->ended[0] && j->ended[1])
		return INT64_MAX;
	for (int i = 0; i < 2; i++) {
		if (!j->ended[i])
			continue;
		/* As wm_min(): with every open side idle, the largest. */
		const struct wmark *o = &j->wm[1 - i];
		return o->idle ? INT64_MAX : o->current;
	}
	return wm_min(j->wm, 2);
}

static void advance(struct join *j)
{
	int64_t w = join_combined_wm(j);

	if (w <= j->W)
		return;
	j->W = w;
	switch (j->cfg->kind) {
	case JOIN_INTERVAL:
		join_interval_advance(j);
		break;
	case JOIN_ASOF:
		join_asof_advance(j);
		break;
	case JOIN_WINDOW:
		join_window_advance(j);
		break;
	}
}

void join_watermark(struct join *j, int s, int64_t ts)
{
	for (int i = 0; i < 2; i++)
		if (s < 0 || s == i)
			wm_input(&j->wm[i], ts);
	advance(j);
}

void join_end(struct join *j, int s)
{
	for (int i = 0; i < 2; i++)
		if (s < 0 || s == i)
			j->ended[i] = true;
	join_watermark(j, s, INT64_MAX);
}

void join_tick(struct join *j, int64_t now)
{
	bool moved = false;

	for (int i = 0; i < 2; i++) {
		struct wmark *w = &j->wm[i];
		moved |= wm_tick(w, now);
		/* A side that has sent nothing at all for the idle time
		 * must not hold the other back either. */
		if (w->idle_ms > 0 && w->max_ts == WM_NONE && !w->from_input &&
		    !w->idle && now - j->start_ms >= w->idle_ms) {
			w->idle = true;
			moved = true;
		}
	}
	if (moved)
		advance(j);
}

void join_flush_watermark(struct join *j)
{
	int64_t w = j->W;

	if (w == INT64_MIN || w == INT64_MAX)
		return;
	if (j->cfg->kind == JOIN_INTERVAL) {
		int64_t hold = j->cfg->hi;
		if (-j->cfg->lo > hold)
			hold = -j->cfg->lo;
		if (hold > 0)
			w = join_sat_add(w, -hold);
	}
	if (w <= j->out_wm)
		return;
	j->out_wm = w;
	rec_emit_watermark(j->out, w);
}

/* --- records -------------------------------------------------------------- */

/* The key into j->kb and the time. */
enum join_result join_extract(struct join *j, int s, const json_t *obj,
    int64_t *t, const char **why)
{
	const char *missing = NULL, *twhy = NULL;

	buf_reset(&j->kb);
	if (keyspec_encode(j->cfg->key[s], obj, &j->kb, &missing) != 0) {
		snprintf(j->why, sizeof j->why,
		    "missing or non-scalar key field '%s'",
		    missing ? missing : "?");
		*why = j->why;
		return JOIN_BAD;
	}
	if (etime_get(j->cfg->time[s], obj, t, &twhy) != 0) {
		*why = twhy;
		return JOIN_BAD;
	}
	return JOIN_OK;
}

enum join_result join_add(struct join *j, int s, json_t *obj, const char *line,
    size_t len, const char **why)
{
	int64_t t;
	enum join_result res = join_extract(j, s, obj, &t, why);
	int n = 0;
	struct jfrag f = { NULL, 0 }, *fp = NULL;

	if (res != JOIN_OK)
		return res;
	if (j->cfg->kind == JOIN_WINDOW &&
	    (n = join_window_bounds(j, s, obj, t, why)) < 0)
		return JOIN_BAD;
	j->st.in[s]++;
	join_out_learn(&j->jo, s, obj);
	/* Fast rows: the record's part, made once for its rows and kept
	 * with it when it is held. */
	if (j->fast && j->cfg->kind != JOIN_ASOF) {
		jfrag_of_obj(j, s, obj, &j->fa, &f);
		fp = &f;
	}
	if (j->cfg->kind == JOIN_WINDOW) {
		res = join_window_add(j, s, line, len, n, fp, why);
		if (res != JOIN_OK)
			return res;
	} else if (t < j->W) {
		j->st.late[s]++;
		*why = "late";
		return JOIN_LATE;
	} else if (j->cfg->kind == JOIN_INTERVAL) {
		join_interval_add(j, s, obj, line, len, t, ++j->seq, fp);
	} else {
		join_asof_add(j, s, line, len, t, ++j->seq);
	}
	if (wm_event(&j->wm[s], t))
		advance(j);
	return JOIN_OK;
}

/* --- life cycle ----------------------------------------------------------- */

/* Prefixes that go into a name as they are (no escape in rec_dump()). */
static bool plain_prefix(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '"' || *p == '\\')
			return false;
	return true;
}

/*
 * Can inner interval rows of whole records be spliced (join_emit_lines)?
 * Without field lists a row is every member of the left record, then
 * every member of the right one, each under its side's prefix; the
 * join key is added only where the left record lacks it, which cannot
 * be with no left prefix (the key was read from the record; a null key
 * is not one).
 */
static void whole_prepare(struct join *j)
{
	const struct join_config *c = j->cfg;

	j->whole = c->kind == JOIN_INTERVAL && c->type == JT_INNER &&
	    c->side[JOIN_LEFT].fields == NULL &&
	    c->side[JOIN_RIGHT].fields == NULL &&
	    (c->side[JOIN_LEFT].prefix == NULL ||
	    c->side[JOIN_LEFT].prefix[0] == '\0') &&
	    (c->side[JOIN_RIGHT].prefix == NULL ||
	    plain_prefix(c->side[JOIN_RIGHT].prefix));
}

bool join_projects(const struct join *j)
{
	return !j->jo.learn[JOIN_LEFT] && !j->jo.learn[JOIN_RIGHT];
}

void join_set_projected(struct join *j, bool on)
{
	j->projected = on;
}

/* The parse of a held record of side s for its rows: its fields and
 * key when it has a field list (join_interval's unmatched records are
 * keyed again from it). */
static void held_projection(struct join *j, int s)
{
	const struct join_config *c = j->cfg;

	if (c->side[s].fields == NULL)
		return;
	j->hp[s] = recproj_new();
	for (size_t i = 0; i < c->side[s].nfields; i++)
		recproj_keep(j->hp[s], &c->side[s].fields[i].path);
	for (size_t i = 0; i < c->key[s]->n; i++)
		recproj_keep(j->hp[s], &c->key[s]->paths[i]);
}

struct join *join_new(const struct join_config *cfg, struct out *o)
{
	struct join *j = xcalloc(1, sizeof *j);

	j->cfg = cfg;
	j->out = o;
	hashtab_init(&j->map);
	join_out_init(&j->jo, cfg);
	jtimers_init(&j->timers);
	jtimers_init(&j->pend);
	for (int s = 0; s < 2; s++)
		wm_init(&j->wm[s], cfg->max_ooo, cfg->idle);
	j->W = INT64_MIN;
	j->out_wm = INT64_MIN;
	if (cfg->idle > 0)
		j->start_ms = etime_now_ms();
	j->wcap = 1;
	j->wstart = xmalloc(sizeof *j->wstart);
	j->wend = xmalloc(sizeof *j->wend);
	for (int s = 0; s < 2; s++)
		held_projection(j, s);
	fast_prepare(j);
	whole_prepare(j);
	return j;
}

/* Frees every record and bucket, leaving an empty state. */
void join_clear(struct join *j)
{
	size_t i = 0;
	struct hashtab_slot *sl;

	while ((sl = hashtab_next(&j->map, &i))) {
		struct bucket *b = sl->val;
		for (int s = 0; s < 2; s++)
			for (size_t k = 0; k < b->side[s].n; k++)
				free(b->side[s].v[k].line);
		jbucket_destroy(b);
	}
	while (j->free_buckets) {
		struct bucket *b = j->free_buckets;
		j->free_buckets = b->next_free;
		jbucket_destroy(b);
	}
	hashtab_free(&j->map);
	hashtab_init(&j->map);
	jtimers_free(&j->timers);
	for (size_t k = 0; k < jtimers_count(&j->pend); k++) {
		struct pending *p = jtimers_at(&j->pend, k)->p;
		free(p->line);
		free(p->key);
		free(p);
	}
	jtimers_free(&j->pend);
	j->st.held = 0;
}

void join_free(struct join *j)
{
	if (j == NULL)
		return;
	join_clear(j);
	join_out_free(&j->jo);
	json_decref(j->spec[0]);
	json_decref(j->spec[1]);
	free(j->wstart);
	free(j->wend);
	buf_free(&j->kb);
	buf_free(&j->nb);
	buf_free(&j->ob);
	buf_free(&j->made);
	free(j->made_end);
	free(j->mem);
	buf_free(&j->fa);
	buf_free(&j->fh);
	for (int s = 0; s < 2; s++)
		buf_free(&j->nullfrag[s]);
	for (int i = 0; i < 3; i++)
		buf_free(&j->wkey[i]);
	for (int s = 0; s < 2; s++)
		recproj_free(j->hp[s]);
	free(j->due);
	free(j);
}

void join_get_stats(const struct join *j, struct join_stats *st)
{
	*st = j->st;
	st->collisions = j->jo.collisions;
}
