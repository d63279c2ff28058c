/* agg_over_exact.c - exact over aggregation (see agg_over_exact.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_over_exact.h"
#include "buf.h"
#include "rec.h"
#include "window/window_state.h"
#include "xalloc.h"
#include "banned.h"

struct xrow {
	int64_t t;
	char *line;             /* its bytes until written, then NULL */
	size_t len;
};

/*
 * A range's queue over the key's rows [lo, done): rows [lo, f) are in
 * the suffix merges S (S[i - fbase] is the merge of rows i..f-1), rows
 * [f, done) in the key's back state for the range.
 */
struct xwin {
	size_t lo, f, fbase, cap_s;
	unsigned char *s;
};

struct xkey {
	struct xrow *rows;      /* in time order; [done, n) still held */
	unsigned char *st;      /* one state per row */
	size_t n, cap, done;
	int64_t armed;          /* time of its heap entry, or INT64_MAX */
	unsigned char *back;    /* one state per range */
	struct xwin w[];        /* one per range */
};

struct overx {
	const struct over_range *r;
	size_t nr;
	int64_t rmax;
	struct aggset *as;
	size_t ssize;
	const struct keyspec *ks;
	struct out *out;
	struct rejects *rj;
	const struct lineio *lr;
	struct late *late;
	struct keytab keys;
	struct xkey **k;                /* by key id */
	size_t cap_k;
	struct timerheap heap;          /* (earliest held time, key) */
	int64_t wm, swept;
	void *tmp;
	json_t **res;                   /* one result object per range */
	struct buf b, keybuf, scratch;
};

static void *row_state(const struct overx *x, const struct xkey *k, size_t i)
{
	return k->st + i * x->ssize;
}

static void *suffix(const struct overx *x, const struct xwin *w, size_t i)
{
	return w->s + (i - w->fbase) * x->ssize;
}

static void *back_of(const struct overx *x, const struct xkey *k, size_t r)
{
	return k->back + r * x->ssize;
}

struct overx *overx_new(const struct over_range *r, size_t nr,
    struct aggset *as, const struct keyspec *ks, struct out *out,
    struct rejects *rj, const struct lineio *lr, struct late *late)
{
	struct overx *x = xcalloc(1, sizeof *x);

	x->r = r;
	x->nr = nr;
	for (size_t i = 0; i < nr; i++)
		if (r[i].len > x->rmax)
			x->rmax = r[i].len;
	x->as = as;
	x->ssize = aggset_state_size(as);
	x->ks = ks;
	x->out = out;
	x->rj = rj;
	x->lr = lr;
	x->late = late;
	keytab_init(&x->keys);
	timerheap_init(&x->heap);
	x->wm = INT64_MIN;
	x->swept = INT64_MIN;
	x->tmp = xmalloc(x->ssize ? x->ssize : 8);
	x->res = xcalloc(nr, sizeof *x->res);
	for (size_t i = 0; i < nr; i++)
		x->res[i] = json_object();
	return x;
}

static struct xkey *key_new(struct overx *x)
{
	struct xkey *k = xcalloc(1, sizeof *k + x->nr * sizeof k->w[0]);

	k->armed = INT64_MAX;
	k->back = xmalloc(x->nr * x->ssize + 8);
	for (size_t r = 0; r < x->nr; r++)
		aggset_init(x->as, back_of(x, k, r));
	return k;
}

static void key_free(struct overx *x, struct xkey *k)
{
	for (size_t i = 0; i < k->n; i++) {
		aggset_free_state(x->as, row_state(x, k, i));
		free(k->rows[i].line);
	}
	for (size_t r = 0; r < x->nr; r++) {
		struct xwin *w = &k->w[r];

		for (size_t i = w->lo; i < w->f; i++)
			aggset_free_state(x->as, suffix(x, w, i));
		free(w->s);
		aggset_free_state(x->as, back_of(x, k, r));
	}
	free(k->rows);
	free(k->st);
	free(k->back);
	free(k);
}

static void drop_key(struct overx *x, uint32_t id)
{
	key_free(x, x->k[id]);
	x->k[id] = NULL;
	keytab_remove(&x->keys, id);
}

static void drop_all(struct overx *x)
{
	for (size_t i = 0; i < x->keys.nids; i++)
		if (keytab_live(&x->keys, i))
			drop_key(x, (uint32_t)i);
	timerheap_free(&x->heap);
	timerheap_init(&x->heap);
}

void overx_free(struct overx *x)
{
	if (x == NULL)
		return;
	drop_all(x);
	keytab_free(&x->keys);
	timerheap_free(&x->heap);
	for (size_t i = 0; i < x->nr; i++)
		json_decref(x->res[i]);
	free(x->res);
	free(x->k);
	free(x->tmp);
	buf_free(&x->b);
	buf_free(&x->keybuf);
	buf_free(&x->scratch);
	free(x);
}

static void grow_rows(struct overx *x, struct xkey *k)
{
	if (k->n < k->cap)
		return;
	k->cap = k->cap ? 2 * k->cap : 8;
	k->rows = xrealloc(k->rows, k->cap * sizeof *k->rows);
	k->st = xrealloc(k->st, k->cap * x->ssize);
}

static void arm(struct overx *x, uint32_t id, struct xkey *k, int64_t t)
{
	if (t < k->armed) {
		k->armed = t;
		timerheap_push(&x->heap, t, id);
	}
}

/* Holds the prepared record at t, after the held rows of time <= t. */
static void hold(struct overx *x, uint32_t id, struct xkey *k, int64_t t,
    const char *line, size_t len)
{
	size_t p;

	grow_rows(x, k);
	for (p = k->n; p > k->done && k->rows[p - 1].t > t; p--)
		;
	if (p < k->n) {
		memmove(k->rows + p + 1, k->rows + p,
		    (k->n - p) * sizeof *k->rows);
		memmove(row_state(x, k, p + 1), row_state(x, k, p),
		    (k->n - p) * x->ssize);
	}
	k->rows[p].t = t;
	k->rows[p].line = xmalloc(len ? len : 1);
	memcpy(k->rows[p].line, line, len);
	k->rows[p].len = len;
	aggset_init(x->as, row_state(x, k, p));
	aggset_apply(x->as, row_state(x, k, p), t);
	k->n++;
	arm(x, id, k, t);
}

bool over_key_prepare(const struct keyspec *ks, struct aggset *as,
    const json_t *obj, struct buf *keybuf, struct rejects *rj,
    const struct lineio *lr, const char *line, size_t len)
{
	const char *why, *missing;

	buf_reset(keybuf);
	if (ks->n > 0 && keyspec_encode(ks, obj, keybuf, &missing) < 0) {
		char msg[200];

		snprintf(msg, sizeof msg, "missing or non-scalar key field '%s'",
		    missing);
		reject_line(rj, lr, msg, line, len);
		return false;
	}
	if (aggset_prepare(as, obj, &why) < 0) {
		reject_line(rj, lr, why, line, len);
		return false;
	}
	return true;
}

void overx_record(struct overx *x, const json_t *obj, int64_t t,
    const char *line, size_t len)
{
	uint32_t id;
	bool added;

	if (!over_key_prepare(x->ks, x->as, obj, &x->keybuf, x->rj, x->lr,
	    line, len))
		return;
	/* Flink's rule: a row at or behind its watermark (ours - 1) is late. */
	if (t < x->wm) {
		late_record(x->late, line, len, x->out, &x->scratch);
		return;
	}
	id = keytab_intern(&x->keys, x->keybuf.data ? x->keybuf.data : "",
	    x->keybuf.len, &added);
	if (added) {
		x->k = xgrow(x->k, &x->cap_k, (size_t)id + 1, sizeof *x->k);
		x->k[id] = key_new(x);
	}
	hold(x, id, x->k[id], t, line, len);
}

/* The range's queue is out of suffixes: all its rows, [lo, e), become
 * suffix merges, and the back state starts empty. */
static void flip(struct overx *x, struct xkey *k, size_t r, size_t e)
{
	struct xwin *w = &k->w[r];
	void *back = back_of(x, k, r);
	size_t need = e - w->lo;

	if (need > w->cap_s) {
		w->cap_s = need < 16 ? 16 : need + need / 2;
		w->s = xrealloc(w->s, w->cap_s * x->ssize);
	}
	w->fbase = w->lo;
	for (size_t i = e; i-- > w->lo;) {
		void *s = suffix(x, w, i);

		aggset_init(x->as, s);
		aggset_merge(x->as, s, row_state(x, k, i));
		if (i + 1 < e)
			aggset_merge(x->as, s, suffix(x, w, i + 1));
	}
	aggset_free_state(x->as, back);
	aggset_init(x->as, back);
	w->f = e;
}

/* Range r takes rows [done, e) (time t) and lets go of rows before t - R;
 * its result goes to x->res[r]. */
static void range_step(struct overx *x, struct xkey *k, size_t r, size_t e,
    int64_t t)
{
	struct xwin *w = &k->w[r];
	void *back = back_of(x, k, r);
	int64_t from = t - x->r[r].len;

	for (size_t i = k->done; i < e; i++)
		aggset_merge(x->as, back, row_state(x, k, i));
	while (w->lo < e && k->rows[w->lo].t < from) {
		if (w->lo == w->f)
			flip(x, k, r, e);
		aggset_free_state(x->as, suffix(x, w, w->lo));
		w->lo++;
	}
	aggset_init(x->as, x->tmp);
	if (w->lo < w->f)
		aggset_merge(x->as, x->tmp, suffix(x, w, w->lo));
	aggset_merge(x->as, x->tmp, back);
	aggset_result(x->as, x->tmp, x->res[r]);
	aggset_free_state(x->as, x->tmp);
}

/* Frees the rows every range has let go of, once they are half the key's
 * rows (so each row moves O(1) times). */
static void compact(struct overx *x, struct xkey *k)
{
	size_t m = k->done;

	for (size_t r = 0; r < x->nr; r++)
		if (k->w[r].lo < m)
			m = k->w[r].lo;
	if (m == 0 || (m < k->n && (m < 16 || 2 * m < k->n)))
		return;
	for (size_t i = 0; i < m; i++)
		aggset_free_state(x->as, row_state(x, k, i));
	memmove(k->rows, k->rows + m, (k->n - m) * sizeof *k->rows);
	memmove(k->st, row_state(x, k, m), (k->n - m) * x->ssize);
	k->n -= m;
	k->done -= m;
	for (size_t r = 0; r < x->nr; r++) {
		k->w[r].lo -= m;
		k->w[r].f -= m;
		k->w[r].fbase -= m;
	}
}

/* Writes the key's held rows at its earliest held time t, each with the
 * aggregates of the rows in [t - R, t] for every range. */
static void emit_time(struct overx *x, struct xkey *k)
{
	int64_t t = k->rows[k->done].t;
	size_t e = k->done;
	size_t na = aggset_count(x->as);

	while (e < k->n && k->rows[e].t == t)
		e++;
	for (size_t r = 0; r < x->nr; r++)
		range_step(x, k, r, e, t);
	for (size_t i = k->done; i < e; i++) {
		struct xrow *row = &k->rows[i];

		rec_splice_begin(&x->b, row->line, row->len);
		for (size_t r = 0; r < x->nr; r++)
			for (size_t a = 0; a < na; a++)
				rec_splice_value(&x->b, x->r[r].names[a],
				    json_object_get(x->res[r],
				    aggset_name(x->as, a)));
		rec_splice_end(&x->b);
		out_line(x->out, x->b.data, x->b.len);
		free(row->line);
		row->line = NULL;
	}
	for (size_t r = 0; r < x->nr; r++)
		json_object_clear(x->res[r]);
	k->done = e;
	compact(x, k);
}

/* Frees keys with nothing held whose rows are all behind every range a
 * row to come (time >= wm) can reach. */
static void sweep(struct overx *x, int64_t wm)
{
	int64_t every = x->rmax / 64 > 0 ? x->rmax / 64 : 1;

	/* Unsigned: wm may be +infinity (INT64_MAX) at the end. */
	if (x->swept != INT64_MIN && wm >= x->swept &&
	    (uint64_t)wm - (uint64_t)x->swept < (uint64_t)every)
		return;
	x->swept = wm;
	for (size_t i = 0; i < x->keys.nids; i++) {
		struct xkey *k;

		if (!keytab_live(&x->keys, i))
			continue;
		k = x->k[i];
		if (k->done == k->n &&
		    (k->n == 0 || k->rows[k->n - 1].t + x->rmax < wm))
			drop_key(x, (uint32_t)i);
	}
}

void overx_watermark(struct overx *x, int64_t wm)
{
	struct timer tm;

	if (wm == INT64_MIN)
		return;
	if (wm > x->wm)
		x->wm = wm;
	while (timerheap_pop(&x->heap, wm - 1, &tm)) {
		struct xkey *k;

		if (tm.id >= x->keys.nids || !keytab_live(&x->keys, tm.id))
			continue;
		k = x->k[tm.id];
		/* A stale entry: that time was written already. */
		if (k->done == k->n || k->rows[k->done].t != tm.t)
			continue;
		emit_time(x, k);
		k->armed = INT64_MAX;
		if (k->done < k->n)
			arm(x, tm.id, k, k->rows[k->done].t);
	}
	sweep(x, wm);
}

json_t *overx_snapshot(const struct overx *x)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < x->keys.nids; i++) {
		const struct xkey *k;
		json_t *rows;
		size_t klen, m;
		const char *key;

		if (!keytab_live(&x->keys, i))
			continue;
		k = x->k[i];
		key = keytab_key(&x->keys, (uint32_t)i, &klen);
		m = k->done;
		for (size_t r = 0; r < x->nr; r++)
			if (k->w[r].lo < m)
				m = k->w[r].lo;
		rows = json_array();
		for (size_t j = m; j < k->n; j++) {
			const struct xrow *row = &k->rows[j];

			json_array_append_new(rows, json_pack("[I,o,o]",
			    (json_int_t)row->t,
			    aggset_snapshot(x->as, row_state(x, k, j)),
			    row->line ? json_stringn_nocheck(row->line, row->len) :
			    json_null()));
		}
		json_array_append_new(keys, json_pack("{s:s%,s:I,s:o}", "key",
		    key, klen, "written", (json_int_t)(k->done - m), "rows", rows));
	}
	return json_pack("{s:o,s:o}", "watermark", x->wm == INT64_MIN ?
	    json_null() : json_integer(x->wm), "keys", keys);
}

/* The ranges of a restored key: each holds the written rows within its
 * reach of the last written time. */
static void restore_ranges(struct overx *x, struct xkey *k)
{
	for (size_t r = 0; r < x->nr; r++) {
		struct xwin *w = &k->w[r];
		void *back = back_of(x, k, r);
		size_t lo = 0;

		if (k->done > 0) {
			int64_t from = k->rows[k->done - 1].t - x->r[r].len;

			while (lo < k->done && k->rows[lo].t < from)
				lo++;
		}
		w->lo = w->f = w->fbase = lo;
		for (size_t i = lo; i < k->done; i++)
			aggset_merge(x->as, back, row_state(x, k, i));
	}
}

static int restore_key(struct overx *x, const json_t *e, const char **why)
{
	json_t *key = json_object_get(e, "key"), *rows = json_object_get(e, "rows");
	json_t *written = json_object_get(e, "written"), *row;
	struct xkey *k;
	uint32_t id;
	bool added;
	size_t j;

	if (!json_is_string(key) || !json_is_array(rows) ||
	    !json_is_integer(written) || json_integer_value(written) < 0 ||
	    (size_t)json_integer_value(written) > json_array_size(rows))
		return *why = "a malformed over key", -1;
	id = keytab_intern(&x->keys, json_string_value(key),
	    json_string_length(key), &added);
	if (!added)
		return *why = "a key twice in the over state", -1;
	x->k = xgrow(x->k, &x->cap_k, (size_t)id + 1, sizeof *x->k);
	k = x->k[id] = key_new(x);
	json_array_foreach(rows, j, row) {
		json_t *t = json_array_get(row, 0), *line = json_array_get(row, 2);
		struct xrow *xr;

		if (!json_is_integer(t) || (j > 0 &&
		    json_integer_value(t) < k->rows[j - 1].t) ||
		    !(json_is_string(line) || json_is_null(line)))
			return *why = "a malformed over row", -1;
		grow_rows(x, k);
		xr = &k->rows[k->n];
		xr->t = json_integer_value(t);
		xr->line = NULL;
		xr->len = 0;
		if (aggset_restore(x->as, row_state(x, k, k->n),
		    json_array_get(row, 1), why) < 0)
			return -1;
		k->n++;
		if (json_is_string(line)) {
			xr->len = json_string_length(line);
			xr->line = xmalloc(xr->len ? xr->len : 1);
			memcpy(xr->line, json_string_value(line), xr->len);
		}
		if ((j < (size_t)json_integer_value(written)) != (xr->line == NULL))
			return *why = "a malformed over row", -1;
	}
	k->done = (size_t)json_integer_value(written);
	restore_ranges(x, k);
	if (k->done < k->n)
		arm(x, id, k, k->rows[k->done].t);
	return 0;
}

int overx_restore(struct overx *x, const json_t *st, const char **why)
{
	json_t *keys = json_object_get(st, "keys"), *wm, *e;
	size_t i;

	if (!json_is_object(st) || !json_is_array(keys))
		return *why = "the checkpoint's over state is not exact "
		    "(was it taken with --over-buckets?)", -1;
	drop_all(x);
	wm = json_object_get(st, "watermark");
	x->wm = json_is_integer(wm) ? json_integer_value(wm) : INT64_MIN;
	x->swept = INT64_MIN;
	json_array_foreach(keys, i, e)
		if (restore_key(x, e, why) < 0)
			return -1;
	return 0;
}

size_t overx_bytes(const struct overx *x)
{
	size_t n = keytab_bytes(&x->keys) + x->cap_k * sizeof *x->k +
	    x->heap.q.cap * sizeof *x->heap.q.v;

	for (size_t i = 0; i < x->keys.nids; i++) {
		const struct xkey *k;

		if (!keytab_live(&x->keys, i))
			continue;
		k = x->k[i];
		n += sizeof *k + x->nr * (sizeof k->w[0] + x->ssize) +
		    k->cap * (sizeof *k->rows + x->ssize);
		for (size_t j = k->done; j < k->n; j++)
			n += k->rows[j].len;
		for (size_t r = 0; r < x->nr; r++)
			n += k->w[r].cap_s * x->ssize;
	}
	return n;
}
