/*
 * join_window.c - the window join (join.h): a bucket is a key and a
 * window, fired when the watermark reaches the window's end; a record's
 * windows are its window members, or, when its side's fs-window spec
 * says records carry panes, every window holding its time.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "join_state.h"
#include "xalloc.h"
#include "banned.h"

static void window_key(struct join *j, int64_t ws, int64_t we)
{
	buf_appendc(&j->kb, '\x1e');
	buf_append(&j->kb, &ws, sizeof ws);
	buf_append(&j->kb, &we, sizeof we);
}

void join_window_store(struct join *j, int s, struct jrec r, size_t keylen,
    int64_t ws, int64_t we)
{
	window_key(j, ws, we);
	struct bucket *b = jbucket_get(j, j->kb.data, j->kb.len, true);
	if (b->sched == INT64_MAX && b->side[0].n + b->side[1].n == 0) {
		b->keylen = keylen;
		b->ws = ws;
		b->we = we;
		jbucket_schedule(j, b, s, we - 1, r.seq);
	}
	jvec_push(&b->side[s], r);
	join_held_add(j);
}

/* Parses a window's records of one side, for writing them out. */
static json_t **window_parse(struct join *j, int s, const struct jvec *v)
{
	json_t **o = xmalloc((v->n ? v->n : 1) * sizeof *o);

	for (size_t i = 0; i < v->n; i++)
		o[i] = jrec_parse(j, s, &v->v[i]);
	return o;
}

/* A jfrag for each of a window's records of one side. */
static struct jfrag *window_frags(struct join *j, int s, const struct jvec *v,
    struct buf *store)
{
	struct jfrag *f = xmalloc((v->n ? v->n : 1) * sizeof *f);

	/* Records without a part kept (restored ones) are made into store,
	 * one after another; their pointers are set once it stops moving. */
	buf_reset(store);
	for (size_t i = 0; i < v->n; i++) {
		if (v->v[i].flen > 0 || j->cfg->side[s].fields == NULL) {
			jfrag_of_rec(j, s, &v->v[i], NULL, &f[i]);
			continue;
		}
		jfrag_of_rec(j, s, &v->v[i], &j->fh, &f[i]);
		f[i].p = (const char *)(uintptr_t)store->len;
		buf_append(store, j->fh.data + 1, f[i].n);
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].flen == 0 && j->cfg->side[s].fields != NULL)
			f[i].p = store->data + (uintptr_t)f[i].p;
	return f;
}

/* window_emit() of fast rows: each record's part made once. */
static void window_emit_frags(struct join *j, struct bucket *b)
{
	struct jvec *L = &b->side[JOIN_LEFT], *R = &b->side[JOIN_RIGHT];
	enum join_type ty = j->cfg->type;
	struct buf ls = BUF_INIT, rs = BUF_INIT;
	struct jfrag *lf = window_frags(j, JOIN_LEFT, L, &ls);
	struct jfrag *rf = window_frags(j, JOIN_RIGHT, R, &rs);

	if (L->n && R->n) {
		for (size_t i = 0; i < L->n; i++)
			for (size_t k = 0; k < R->n; k++)
				join_emit_frags(j, &lf[i], &rf[k], b);
	} else {
		if (L->n && (ty == JT_LEFT || ty == JT_FULL))
			for (size_t i = 0; i < L->n; i++)
				join_emit_frags(j, &lf[i], NULL, b);
		if (R->n && (ty == JT_RIGHT || ty == JT_FULL))
			for (size_t k = 0; k < R->n; k++)
				join_emit_frags(j, NULL, &rf[k], b);
	}
	free(lf);
	free(rf);
	buf_free(&ls);
	buf_free(&rs);
}

static void window_emit(struct join *j, struct bucket *b)
{
	struct jvec *L = &b->side[JOIN_LEFT], *R = &b->side[JOIN_RIGHT];
	enum join_type ty = j->cfg->type;

	if (ty == JT_SEMI || ty == JT_ANTI) {
		if ((R->n > 0) != (ty == JT_SEMI))
			return;
		for (size_t i = 0; i < L->n; i++)
			join_emit_left_only(j, &L->v[i], b);
		return;
	}
	if (j->fast) {
		window_emit_frags(j, b);
		return;
	}
	json_t **lo = window_parse(j, JOIN_LEFT, L);
	json_t **ro = window_parse(j, JOIN_RIGHT, R);
	if (L->n && R->n) {
		for (size_t i = 0; i < L->n; i++)
			for (size_t k = 0; k < R->n; k++)
				join_emit_row(j, lo[i], ro[k], b);
	} else {
		if (L->n && (ty == JT_LEFT || ty == JT_FULL))
			for (size_t i = 0; i < L->n; i++)
				join_emit_row(j, lo[i], NULL, b);
		if (R->n && (ty == JT_RIGHT || ty == JT_FULL))
			for (size_t k = 0; k < R->n; k++)
				join_emit_row(j, NULL, ro[k], b);
	}
	for (size_t i = 0; i < L->n; i++)
		json_decref(lo[i]);
	for (size_t k = 0; k < R->n; k++)
		json_decref(ro[k]);
	free(lo);
	free(ro);
}

static int window_cmp(const void *a, const void *b)
{
	const struct bucket *x = *(struct bucket *const *)a;
	const struct bucket *y = *(struct bucket *const *)b;

	if (x->we != y->we)
		return x->we < y->we ? -1 : 1;
	if (x->ws != y->ws)
		return x->ws < y->ws ? -1 : 1;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

void join_window_advance(struct join *j)
{
	const struct jheap_item *top;
	struct bucket **fire = NULL;
	size_t n = 0, cap = 0;

	while ((top = jtimers_top(&j->timers)) && join_passed(j, top->t)) {
		fire = xgrow(fire, &cap, n + 1, sizeof *fire);
		fire[n++] = top->p;
		jtimers_pop(&j->timers);
	}
	/* Windows in end order, then keys in byte order: the output does
	 * not depend on how the two inputs interleaved. */
	if (n > 1)
		qsort(fire, n, sizeof *fire, window_cmp);
	for (size_t i = 0; i < n; i++) {
		struct bucket *b = fire[i];
		window_emit(j, b);
		for (int s = 0; s < 2; s++) {
			for (size_t k = 0; k < b->side[s].n; k++)
				free(b->side[s].v[k].line);
			j->st.held -= b->side[s].n;
			b->side[s].n = 0;
		}
		b->refs = 0;
		jbucket_maybe_free(j, b);
	}
	free(fire);
}

/*
 * The windows of a window join's record, into j->wstart/j->wend: its
 * window members, or, when its side's fs-window spec says records carry
 * panes (HOP, CUMULATE), every window holding its time.  Returns how
 * many, or -1 with *why.
 */
int join_window_bounds(struct join *j, int s, const json_t *obj, int64_t t,
    const char **why)
{
	json_t *a = json_object_get(obj, j->cfg->start_field);
	json_t *b = json_object_get(obj, j->cfg->end_field);

	if (json_is_integer(a) && json_is_integer(b) &&
	    json_integer_value(a) < json_integer_value(b)) {
		j->wstart[0] = json_integer_value(a);
		j->wend[0] = json_integer_value(b);
		return 1;
	}
	if (a == NULL && b == NULL && j->win[s].kind != WIN_NONE)
		return (int)win_assign(&j->win[s], t, j->wstart, j->wend);
	snprintf(j->why, sizeof j->why, "missing or invalid %s/%s "
	    "(is the input windowed by fs-window?)",
	    j->cfg->start_field, j->cfg->end_field);
	*why = j->why;
	return -1;
}

int join_window_spec(struct join *j, int s, const json_t *spec)
{
	struct winspec w;
	struct winfields f;
	const char *why;

	if (winspec_from_json(spec, &w, &f, &why) != 0) {
		diag_warn("window record not understood: %s", why);
		return -1;
	}
	size_t need = w.kind == WIN_SESSION ? 1 : win_max_windows(&w);
	if (need > j->wcap) {
		j->wcap = need;
		j->wstart = xrealloc(j->wstart, need * sizeof *j->wstart);
		j->wend = xrealloc(j->wend, need * sizeof *j->wend);
	}
	for (int i = 0; i < 2; i++) {
		if (s >= 0 && s != i)
			continue;
		json_decref(j->spec[i]);
		j->spec[i] = json_deep_copy(spec);
		/* Only records that carry panes need windows assigned. */
		j->win[i] = w;
		if (!f.panes || w.kind == WIN_SESSION)
			j->win[i].kind = WIN_NONE;
	}
	return 0;
}

/* A window join's record into each of its windows still open. */
enum join_result join_window_add(struct join *j, int s, const char *line,
    size_t len, int n, const struct jfrag *f, const char **why)
{
	size_t keylen = j->kb.len;
	int live = 0;

	for (int i = 0; i < n; i++)
		live += j->wend[i] > j->W;
	if (live == 0) {
		j->st.late[s]++;
		*why = "late";
		return JOIN_LATE;
	}
	uint64_t seq = ++j->seq;
	for (int i = 0; i < n; i++) {
		if (j->wend[i] <= j->W)
			continue;
		struct jrec r = { NULL, len, 0, 0, seq, false };

		j->kb.len = keylen;
		r.line = f ? jline_hold(line, len, f, &r.flen) :
		    jline_copy(line, len);
		join_window_store(j, s, r, keylen, j->wstart[i], j->wend[i]);
	}
	return JOIN_OK;
}
