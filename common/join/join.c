/*
 * join.c - the state and matching of the three join kinds (see join.h).
 *
 * All kinds keep their records in buckets found by key in one hash
 * table: a bucket is a join key's records (interval, asof) or a key and
 * window's (window).  A timer heap says when a bucket next has something
 * to do (records to expire, a window to fire, a retention to end); a
 * bucket's live timer is the one equal to b->sched, earlier pushes that
 * were superseded are skipped when they come out.  A bucket is freed
 * when it holds nothing and no timer points at it.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "etime.h"
#include "join.h"
#include "join_map.h"
#include "join_out.h"
#include "rec.h"
#include "window/winspec.h"
#include "window/window_wm.h"
#include "xalloc.h"
#include "banned.h"

/*
 * A record held in the state is kept as its line (a copy), not as a
 * parsed object: a jansson object costs about ten times the bytes, and
 * most held records (an interval join's) are never written out.  A
 * record is parsed again when it goes into an output.
 */
struct jrec {
	char *line;             /* owned copy, NUL-terminated */
	size_t len;
	int64_t t;
	int64_t exp;            /* interval: expired when the watermark passes */
	uint64_t seq;           /* arrival number, over both sides */
	bool matched;
	unsigned char side;     /* interval join: JOIN_LEFT or JOIN_RIGHT */
};

struct jvec {
	struct jrec *v;
	size_t n, cap;
};

struct bucket {
	char *key;              /* the table's key (owned copy) */
	size_t klen, kcap;
	struct bucket *next_free;
	size_t keylen;          /* the join key's part of it */
	struct jvec side[2];
	int64_t sched;          /* the live timer, INT64_MAX: none */
	unsigned refs;          /* timers in the heap pointing here */
	int64_t ws, we;         /* window join */
};

/* An as-of left record waiting for the watermark to pass its time. */
struct pending {
	char *line;             /* owned copy */
	size_t len;
	int64_t t;
	uint64_t seq;
	char *key;
	size_t klen;
};

struct join {
	const struct join_config *cfg;
	struct out *out;
	struct jmap map;
	struct jtimers timers;  /* buckets' timers, lane = the side */
	struct jtimers pend;    /* as-of left records waiting */
	struct wmark wm[2];     /* each side's, window_wm.h */
	bool ended[2];          /* the side's input ended */
	int64_t W;              /* the join watermark, wm_min() of both */
	int64_t out_wm;         /* last output watermark written */
	uint64_t seq;
	struct join_stats st;
	struct buf kb;          /* scratch: the key being handled */
	struct buf nb;          /* scratch: a restored record's line */
	struct buf ob;          /* scratch: an output line */
	char why[256];
	struct join_out jo;     /* how rows are put together */
	struct bucket *free_buckets;    /* emptied buckets, for reuse */
	int64_t start_ms;       /* wall clock of the first tick */
	json_t *spec[2];        /* each side's fs-window spec record, or NULL */
	struct winspec win[2];  /* ... parsed, when its records carry panes */
	int64_t *wstart, *wend; /* scratch: the windows of one record */
	size_t wcap;
	struct jrec *due;       /* scratch: left-outer rows of one advance */
	size_t ndue, capdue;
};

static const char *const kind_names[] = { "interval", "asof", "window" };
static const char *const type_names[] = {
	"inner", "left", "right", "full", "semi", "anti"
};

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static char *line_copy(const char *line, size_t len)
{
	char *p = xmalloc(len + 1);

	memcpy(p, line, len);
	p[len] = '\0';
	return p;
}

/* The held record as an object again (a new reference).  It parsed when
 * it arrived, so it parses now. */
static json_t *line_parse(const char *line, size_t len)
{
	char why[REC_ERR_MAX];
	json_t *o = rec_parse(line, len, why);

	if (o == NULL)
		diag_fatal("held record no longer parses: %s", why);
	return o;
}

static json_t *jrec_parse(const struct jrec *r)
{
	return line_parse(r->line, r->len);
}

/* --- output ------------------------------------------------------------ */

/* rec_emit() with a buffer kept across records. */
static void emit(struct join *j, const json_t *o)
{
	buf_reset(&j->ob);
	rec_dump(&j->ob, o);
	out_line(j->out, j->ob.data, j->ob.len);
}

static void emit_row(struct join *j, json_t *l, json_t *r,
    const struct bucket *b)
{
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

/* Semi and anti joins emit the left record itself, as Flink does, or
 * the members --left-fields selects. */
static void emit_left_only(struct join *j, json_t *l, const struct bucket *b)
{
	json_t *o;

	if (j->cfg->side[JOIN_LEFT].fields != NULL) {
		emit_row(j, l, NULL, b);
		return;
	}
	o = json_copy(l);

	json_object_set_new(o, JOIN_WINDOW_TIME, json_integer(b->we - 1));
	emit(j, o);
	json_decref(o);
	j->st.out++;
}

/* --- buckets and timers -------------------------------------------------- */

/* Most keys hold a record or two at a time: start small. */
static void jvec_reserve(struct jvec *v, size_t need)
{
	if (need <= v->cap)
		return;
	size_t c = v->cap ? v->cap * 2 : 2;
	while (c < need)
		c *= 2;
	v->v = xrealloc(v->v, c * sizeof *v->v);
	v->cap = c;
}

static void jvec_push(struct jvec *v, struct jrec r)
{
	jvec_reserve(v, v->n + 1);
	v->v[v->n++] = r;
}

/*
 * Buckets come and go with every key that is briefly active, so emptied
 * ones are kept on a free list with their buffers instead of going back
 * to malloc (glibc consolidates its heap on such churn).
 */
static struct bucket *bucket_get(struct join *j, const char *key, size_t klen,
    bool create)
{
	struct jmap_slot *slot = create ? jmap_put(&j->map, key, klen) :
	    jmap_get(&j->map, key, klen);

	if (slot == NULL)
		return NULL;
	if (slot->val == NULL) {
		struct bucket *b = j->free_buckets;
		if (b)
			j->free_buckets = b->next_free;
		else
			b = xcalloc(1, sizeof *b);
		if (b->kcap < klen + 1) {
			b->kcap = klen + 1 > 32 ? klen + 1 : 32;
			free(b->key);
			b->key = xmalloc(b->kcap);
		}
		memcpy(b->key, key, klen);
		b->key[klen] = '\0';
		b->klen = klen;
		b->keylen = klen;
		b->sched = INT64_MAX;
		b->refs = 0;
		b->ws = b->we = 0;
		b->next_free = NULL;
		slot->val = b;
		slot->key = b->key;
	}
	return slot->val;
}

static void bucket_maybe_free(struct join *j, struct bucket *b)
{
	if (b->side[0].n || b->side[1].n || b->refs)
		return;
	jmap_del(&j->map, b->key, b->klen);
	b->next_free = j->free_buckets;
	j->free_buckets = b;
}

static void bucket_destroy(struct bucket *b)
{
	free(b->side[0].v);
	free(b->side[1].v);
	free(b->key);
	free(b);
}

static void bucket_schedule(struct join *j, struct bucket *b, int s, int64_t t,
    uint64_t seq)
{
	if (t >= b->sched)
		return;
	b->sched = t;
	b->refs++;
	jtimers_push(&j->timers, s, t, seq, b);
}

/* Has the watermark passed t?  At +infinity everything has. */
static bool passed(const struct join *j, int64_t t)
{
	return t < j->W || j->W == INT64_MAX;
}

static void held_add(struct join *j)
{
	if (++j->st.held > j->st.peak_held)
		j->st.peak_held = j->st.held;
}

/* --- interval join --------------------------------------------------------- */

static int64_t interval_exp(const struct join *j, int s, int64_t t)
{
	/* A left record can still meet rights up to l + hi, a right one
	 * lefts up to r - lo; later records are at or above the watermark. */
	return s == JOIN_LEFT ? sat_add(t, j->cfg->hi) :
	    sat_add(t, -j->cfg->lo);
}

/* Is an unmatched record of side s written alone (outer joins)? */
static bool outer_side(const struct join *j, int s)
{
	enum join_type ty = j->cfg->type;

	return ty == JT_FULL || ty == (s == JOIN_LEFT ? JT_LEFT : JT_RIGHT);
}

static void interval_store(struct join *j, struct bucket *b, int s,
    struct jrec r)
{
	r.side = (unsigned char)s;
	jvec_push(&b->side[s], r);
	held_add(j);
	bucket_schedule(j, b, s, r.exp, r.seq);
}

static void due_push(struct join *j, struct jrec r)
{
	j->due = xgrow(j->due, &j->capdue, j->ndue + 1, sizeof *j->due);
	j->due[j->ndue++] = r;
}

static void interval_add(struct join *j, int s, json_t *obj, const char *line,
    size_t len, int64_t t, uint64_t seq)
{
	struct bucket *b = bucket_get(j, j->kb.data, j->kb.len, true);
	struct jvec *other = &b->side[1 - s];
	struct jrec r = { NULL, len, t, interval_exp(j, s, t), seq, false };

	for (size_t i = 0; i < other->n; i++) {
		struct jrec *e = &other->v[i];
		int64_t l = s == JOIN_LEFT ? t : e->t;
		int64_t rt = s == JOIN_LEFT ? e->t : t;
		if (rt < sat_add(l, j->cfg->lo) || rt > sat_add(l, j->cfg->hi))
			continue;
		json_t *eo = jrec_parse(e);
		if (s == JOIN_LEFT)
			emit_row(j, obj, eo, b);
		else
			emit_row(j, eo, obj, b);
		json_decref(eo);
		e->matched = true;
		r.matched = true;
	}
	if (!passed(j, r.exp)) {
		r.line = line_copy(line, len);
		interval_store(j, b, s, r);
		return;
	}
	/* Nothing later can match it. */
	if (outer_side(j, s) && !r.matched) {
		if (s == JOIN_LEFT)
			emit_row(j, obj, NULL, b);
		else
			emit_row(j, NULL, obj, b);
	}
	bucket_maybe_free(j, b);
}

static int due_cmp(const void *a, const void *b)
{
	const struct jrec *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Drops the records of b the watermark has passed; unmatched ones of an
 * outer side go to j->due, to be written in time order. */
static void interval_clean(struct join *j, struct bucket *b)
{
	int64_t next = INT64_MAX;
	uint64_t nseq = 0;
	int nside = 0;

	for (int s = 0; s < 2; s++) {
		struct jvec *v = &b->side[s];
		size_t k = 0;
		for (size_t i = 0; i < v->n; i++) {
			struct jrec *e = &v->v[i];
			if (!passed(j, e->exp)) {
				if (e->exp < next || (e->exp == next &&
				    e->seq < nseq)) {
					next = e->exp;
					nseq = e->seq;
					nside = s;
				}
				v->v[k++] = *e;
				continue;
			}
			j->st.held--;
			if (outer_side(j, s) && !e->matched)
				due_push(j, *e);
			else
				free(e->line);
		}
		v->n = k;
	}
	if (next != INT64_MAX)
		bucket_schedule(j, b, nside, next, nseq);
}

static void interval_advance(struct join *j)
{
	const struct jheap_item *top;

	while ((top = jtimers_top(&j->timers)) && passed(j, top->t)) {
		struct bucket *b = top->p;
		int64_t t = top->t;
		jtimers_pop(&j->timers);
		b->refs--;
		if (t == b->sched) {
			b->sched = INT64_MAX;
			interval_clean(j, b);
		}
		bucket_maybe_free(j, b);
	}
	if (j->ndue == 0)
		return;
	/* Emitted in event-time order, whatever order the buckets came out
	 * in, so a restored run writes the same lines. */
	qsort(j->due, j->ndue, sizeof *j->due, due_cmp);
	for (size_t i = 0; i < j->ndue; i++) {
		struct jrec *e = &j->due[i];
		const char *missing;
		struct bucket kb = { .keylen = 0 };
		json_t *eo = jrec_parse(e);
		buf_reset(&j->kb);
		keyspec_encode(j->cfg->key[e->side], eo, &j->kb, &missing);
		kb.key = j->kb.data;
		kb.keylen = j->kb.len;
		if (e->side == JOIN_LEFT)
			emit_row(j, eo, NULL, &kb);
		else
			emit_row(j, NULL, eo, &kb);
		json_decref(eo);
		free(e->line);
	}
	j->ndue = 0;
}

/* --- as-of join -------------------------------------------------------------- */

/* The index just past the last version with time <= t. */
static size_t asof_upper(const struct jvec *v, int64_t t)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->v[mid].t <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Versions older than the newest one at or before the watermark can
 * never be chosen again: every left record to come is at or after it
 * (and so is every one waiting, see the bound). */
static void asof_prune(struct join *j, struct bucket *b)
{
	struct jvec *v = &b->side[JOIN_RIGHT];
	const struct jheap_item *top = jtimers_top(&j->pend);
	int64_t bound = j->W;

	/* While the watermark is being processed, left records below it
	 * are still waiting: the oldest of them bounds what may go. */
	if (top && top->t < bound)
		bound = top->t;
	size_t k = asof_upper(v, bound);

	if (k <= 1)
		return;
	k--;
	for (size_t i = 0; i < k; i++)
		free(v->v[i].line);
	memmove(v->v, v->v + k, (v->n - k) * sizeof *v->v);
	v->n -= k;
	j->st.held -= k;
}

static void asof_store_right(struct join *j, struct bucket *b, struct jrec r)
{
	struct jvec *v = &b->side[JOIN_RIGHT];
	size_t i = asof_upper(v, r.t);     /* after equal times: later wins */

	jvec_reserve(v, v->n + 1);
	memmove(v->v + i + 1, v->v + i, (v->n - i) * sizeof *v->v);
	v->v[i] = r;
	v->n++;
	held_add(j);
	if (j->cfg->retention >= 0)
		bucket_schedule(j, b, JOIN_RIGHT, sat_add(v->v[v->n - 1].t,
		    j->cfg->retention), r.seq);
}

static void asof_store_left(struct join *j, const char *line, size_t len,
    int64_t t, uint64_t seq, const char *key, size_t klen)
{
	struct pending *p = xmalloc(sizeof *p);

	p->line = line_copy(line, len);
	p->len = len;
	p->t = t;
	p->seq = seq;
	p->key = xmalloc(klen + 1);
	memcpy(p->key, key, klen);
	p->key[klen] = '\0';
	p->klen = klen;
	jtimers_push(&j->pend, JOIN_LEFT, t, seq, p);
	held_add(j);
}

static void asof_add(struct join *j, int s, const char *line, size_t len,
    int64_t t, uint64_t seq)
{
	if (s == JOIN_LEFT) {
		asof_store_left(j, line, len, t, seq, j->kb.data, j->kb.len);
		return;
	}
	struct bucket *b = bucket_get(j, j->kb.data, j->kb.len, true);
	asof_store_right(j, b, (struct jrec){ line_copy(line, len), len, t, 0,
	    seq, false });
	asof_prune(j, b);
}

static void asof_emit(struct join *j, struct pending *p)
{
	struct bucket *b = bucket_get(j, p->key, p->klen, false);
	json_t *match = NULL;

	if (b) {
		struct jvec *v = &b->side[JOIN_RIGHT];
		size_t k = asof_upper(v, p->t);
		if (k > 0 && (j->cfg->retention < 0 ||
		    v->v[k - 1].t >= sat_add(p->t, -j->cfg->retention)))
			match = jrec_parse(&v->v[k - 1]);
	}
	if (match || j->cfg->type == JT_LEFT) {
		struct bucket kb = { .key = p->key, .keylen = p->klen };
		json_t *lo = line_parse(p->line, p->len);
		emit_row(j, lo, match, &kb);
		json_decref(lo);
	}
	json_decref(match);
	if (b)
		asof_prune(j, b);
}

static void asof_advance(struct join *j)
{
	const struct jheap_item *top;

	while ((top = jtimers_top(&j->pend)) && passed(j, top->t)) {
		struct pending *p = top->p;
		jtimers_pop(&j->pend);
		j->st.held--;
		asof_emit(j, p);
		free(p->line);
		free(p->key);
		free(p);
	}
	/* Retention: a key whose newest version is too old for any left
	 * record still to come is forgotten. */
	while ((top = jtimers_top(&j->timers)) && passed(j, top->t)) {
		struct bucket *b = top->p;
		int64_t t = top->t;
		jtimers_pop(&j->timers);
		b->refs--;
		if (t == b->sched) {
			struct jvec *v = &b->side[JOIN_RIGHT];
			b->sched = INT64_MAX;
			int64_t end = v->n ? sat_add(v->v[v->n - 1].t,
			    j->cfg->retention) : INT64_MIN;
			if (passed(j, end)) {
				for (size_t i = 0; i < v->n; i++)
					free(v->v[i].line);
				j->st.held -= v->n;
				v->n = 0;
			} else {
				bucket_schedule(j, b, JOIN_RIGHT, end,
				    v->v[v->n - 1].seq);
			}
		}
		bucket_maybe_free(j, b);
	}
}

/* --- window join ------------------------------------------------------------- */

static void window_key(struct join *j, int64_t ws, int64_t we)
{
	buf_appendc(&j->kb, '\x1e');
	buf_append(&j->kb, &ws, sizeof ws);
	buf_append(&j->kb, &we, sizeof we);
}

static void window_store(struct join *j, int s, struct jrec r, size_t keylen,
    int64_t ws, int64_t we)
{
	window_key(j, ws, we);
	struct bucket *b = bucket_get(j, j->kb.data, j->kb.len, true);
	if (b->sched == INT64_MAX && b->side[0].n + b->side[1].n == 0) {
		b->keylen = keylen;
		b->ws = ws;
		b->we = we;
		bucket_schedule(j, b, s, we - 1, r.seq);
	}
	jvec_push(&b->side[s], r);
	held_add(j);
}

/* Parses a window's records of one side, for writing them out. */
static json_t **window_parse(const struct jvec *v)
{
	json_t **o = xmalloc((v->n ? v->n : 1) * sizeof *o);

	for (size_t i = 0; i < v->n; i++)
		o[i] = jrec_parse(&v->v[i]);
	return o;
}

static void window_emit(struct join *j, struct bucket *b)
{
	struct jvec *L = &b->side[JOIN_LEFT], *R = &b->side[JOIN_RIGHT];
	enum join_type ty = j->cfg->type;

	if (ty == JT_SEMI || ty == JT_ANTI) {
		if ((R->n > 0) != (ty == JT_SEMI))
			return;
		for (size_t i = 0; i < L->n; i++) {
			json_t *lo = jrec_parse(&L->v[i]);
			emit_left_only(j, lo, b);
			json_decref(lo);
		}
		return;
	}
	json_t **lo = window_parse(L), **ro = window_parse(R);
	if (L->n && R->n) {
		for (size_t i = 0; i < L->n; i++)
			for (size_t k = 0; k < R->n; k++)
				emit_row(j, lo[i], ro[k], b);
	} else {
		if (L->n && (ty == JT_LEFT || ty == JT_FULL))
			for (size_t i = 0; i < L->n; i++)
				emit_row(j, lo[i], NULL, b);
		if (R->n && (ty == JT_RIGHT || ty == JT_FULL))
			for (size_t k = 0; k < R->n; k++)
				emit_row(j, NULL, ro[k], b);
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

static void window_advance(struct join *j)
{
	const struct jheap_item *top;
	struct bucket **fire = NULL;
	size_t n = 0, cap = 0;

	while ((top = jtimers_top(&j->timers)) && passed(j, top->t)) {
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
		bucket_maybe_free(j, b);
	}
	free(fire);
}

/* --- the watermark ------------------------------------------------------------ */

/* wm_min() over the sides whose input is still open; +infinity when
 * both ended, or one ended and the other is idle. */
static int64_t combined_wm(const struct join *j)
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
	int64_t w = combined_wm(j);

	if (w <= j->W)
		return;
	j->W = w;
	switch (j->cfg->kind) {
	case JOIN_INTERVAL:
		interval_advance(j);
		break;
	case JOIN_ASOF:
		asof_advance(j);
		break;
	case JOIN_WINDOW:
		window_advance(j);
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
			w = sat_add(w, -hold);
	}
	if (w <= j->out_wm)
		return;
	j->out_wm = w;
	rec_emit_watermark(j->out, w);
}

/* --- records -------------------------------------------------------------------- */

/* The key into j->kb, the time, and for window joins the window. */
/* The key into j->kb and the time. */
static enum join_result extract(struct join *j, int s, const json_t *obj,
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
	if (etime_get(j->cfg->time, obj, t, &twhy) != 0) {
		*why = twhy;
		return JOIN_BAD;
	}
	return JOIN_OK;
}

/*
 * The windows of a window join's record, into j->wstart/j->wend: its
 * window members, or, when its side's fs-window spec says records carry
 * panes (HOP, CUMULATE), every window holding its time.  Returns how
 * many, or -1 with *why.
 */
static int window_bounds(struct join *j, int s, const json_t *obj, int64_t t,
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

static void store(struct join *j, int s, const char *line, size_t len,
    int64_t t, int64_t ws, int64_t we, uint64_t seq, bool matched)
{
	switch (j->cfg->kind) {
	case JOIN_INTERVAL: {
		struct bucket *b = bucket_get(j, j->kb.data, j->kb.len, true);
		interval_store(j, b, s, (struct jrec){ line_copy(line, len), len,
		    t, interval_exp(j, s, t), seq, matched });
		break;
	}
	case JOIN_ASOF:
		if (s == JOIN_LEFT) {
			asof_store_left(j, line, len, t, seq, j->kb.data,
			    j->kb.len);
		} else {
			struct bucket *b = bucket_get(j, j->kb.data,
			    j->kb.len, true);
			asof_store_right(j, b, (struct jrec){ line_copy(line,
			    len), len, t, 0, seq, false });
		}
		break;
	case JOIN_WINDOW:
		window_store(j, s, (struct jrec){ line_copy(line, len), len, t,
		    0, seq, false }, j->kb.len, ws, we);
		break;
	}
}

/* A window join's record into each of its windows still open. */
static enum join_result window_add(struct join *j, int s, const char *line,
    size_t len, int n, const char **why)
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
		j->kb.len = keylen;
		window_store(j, s, (struct jrec){ line_copy(line, len), len, 0,
		    0, seq, false }, keylen, j->wstart[i], j->wend[i]);
	}
	return JOIN_OK;
}

enum join_result join_add(struct join *j, int s, json_t *obj, const char *line,
    size_t len, const char **why)
{
	int64_t t;
	enum join_result res = extract(j, s, obj, &t, why);
	int n = 0;

	if (res != JOIN_OK)
		return res;
	if (j->cfg->kind == JOIN_WINDOW &&
	    (n = window_bounds(j, s, obj, t, why)) < 0)
		return JOIN_BAD;
	j->st.in[s]++;
	join_out_learn(&j->jo, s, obj);
	if (j->cfg->kind == JOIN_WINDOW) {
		res = window_add(j, s, line, len, n, why);
		if (res != JOIN_OK)
			return res;
	} else if (t < j->W) {
		j->st.late[s]++;
		*why = "late";
		return JOIN_LATE;
	} else if (j->cfg->kind == JOIN_INTERVAL) {
		interval_add(j, s, obj, line, len, t, ++j->seq);
	} else {
		asof_add(j, s, line, len, t, ++j->seq);
	}
	if (wm_event(&j->wm[s], t))
		advance(j);
	return JOIN_OK;
}

/* --- life cycle ----------------------------------------------------------------- */

struct join *join_new(const struct join_config *cfg, struct out *o)
{
	struct join *j = xcalloc(1, sizeof *j);

	j->cfg = cfg;
	j->out = o;
	jmap_init(&j->map);
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
	return j;
}

/* Frees every record and bucket, leaving an empty state. */
static void join_clear(struct join *j)
{
	size_t i = 0;
	struct jmap_slot *sl;

	while ((sl = jmap_next(&j->map, &i))) {
		struct bucket *b = sl->val;
		for (int s = 0; s < 2; s++)
			for (size_t k = 0; k < b->side[s].n; k++)
				free(b->side[s].v[k].line);
		bucket_destroy(b);
	}
	while (j->free_buckets) {
		struct bucket *b = j->free_buckets;
		j->free_buckets = b->next_free;
		bucket_destroy(b);
	}
	jmap_free(&j->map);
	jmap_init(&j->map);
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
	free(j->due);
	free(j);
}

void join_get_stats(const struct join *j, struct join_stats *st)
{
	*st = j->st;
	st->collisions = j->jo.collisions;
}

/* --- checkpoints ------------------------------------------------------------------ */

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
	    line_parse(line, len));
}

/* A window join's entry also says its window: a record that carries a
 * pane is held once per window. */
static json_t *snap_win_rec(int s, const struct jrec *e, const struct bucket *b)
{
	return json_pack("[iIboII]", s, (json_int_t)e->seq, e->matched,
	    line_parse(e->line, e->len), (json_int_t)b->ws, (json_int_t)b->we);
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
	struct jmap_slot *sl;

	while ((sl = jmap_next(&j->map, &i))) {
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
	j->W = combined_wm(j);
	for (int i = 0; i < 2; i++) {
		json_t *sp = json_array_get(specs, (size_t)i);
		if (json_is_object(sp) && join_window_spec(j, i, sp) != 0)
			return restore_fail("malformed window record");
	}
	j->seq = (uint64_t)seq;
	j->out_wm = owm;

	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r) {
		int s, matched;
		json_int_t rseq, ws = 0, we = 0;
		json_t *obj;
		int64_t t;
		const char *why;
		bool win = j->cfg->kind == JOIN_WINDOW;
		if ((win ? json_unpack(r, "[iIboII]", &s, &rseq, &matched, &obj,
		    &ws, &we) : json_unpack(r, "[iIbo]", &s, &rseq, &matched,
		    &obj)) != 0 || (s != 0 && s != 1) || !json_is_object(obj) ||
		    (win && ws >= we))
			return restore_fail("malformed record entry");
		if (extract(j, s, obj, &t, &why) != JOIN_OK)
			return restore_fail(why);
		buf_reset(&j->nb);
		rec_dump(&j->nb, obj);
		store(j, s, j->nb.data, j->nb.len, t, ws, we, (uint64_t)rseq,
		    matched);
	}
	return 0;
}
