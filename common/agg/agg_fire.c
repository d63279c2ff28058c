/*
 * agg_fire.c - fs-agg's window-firing engine (agg_fire.h): per key, a
 * sorted array of slots (a window, a pane or the running aggregate,
 * each followed by its state block), and the timers that fire them.
 * The engine owns the slots and their states; aggfire_free() frees
 * them.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agg_fire.h"
#include "diag.h"
#include "etime.h"
#include "mpjson.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

/* A slot: a window (start, end), a pane (start), or the running state
 * (end: wall clock of its last emission), followed by the state block,
 * full or compact (4-aligned: a compact block's size is a multiple of 4,
 * not 8). */
struct __attribute__((packed, aligned(4))) agg_slot {
	int64_t start, end;
};

/* Per key.  16 bytes: with 1M keys in open windows, every byte counts
 * (panes mode keeps the last window end fired and the time its timer is
 * set for per key apart, in s->fired and s->armed; windows mode derives
 * the latter, armed_at()). */
struct agg_kent {
	unsigned char *slots;   /* n slots, by start */
	uint32_t n;
	uint32_t cap : 31;
	uint32_t full : 1;      /* slots of full blocks, else compact ones */
};

/* Panes: the last window end fired for key k, or INT64_MIN. */
static int64_t kfired(const struct aggfire *s, const struct agg_kent *k)
{
	size_t id = (size_t)(k - s->k);

	return id < s->cap_fired ? s->fired[id] : INT64_MIN;
}

static void kfired_set(struct aggfire *s, const struct agg_kent *k,
    int64_t v)
{
	size_t id = (size_t)(k - s->k);

	if (id >= s->cap_fired) {
		size_t old = s->cap_fired;

		if (v == INT64_MIN)
			return;
		s->fired = xgrow(s->fired, &s->cap_fired, id + 1,
		    sizeof *s->fired);
		for (size_t i = old; i < s->cap_fired; i++)
			s->fired[i] = INT64_MIN;
	}
	s->fired[id] = v;
}

/* Panes: the time key id's timer is set for, or INT64_MAX. */
static int64_t karmed(const struct aggfire *s, uint32_t id)
{
	return id < s->cap_armed ? s->armed[id] : INT64_MAX;
}

static void karmed_set(struct aggfire *s, uint32_t id, int64_t v)
{
	if (id >= s->cap_armed) {
		size_t old = s->cap_armed;

		if (v == INT64_MAX)
			return;
		s->armed = xgrow(s->armed, &s->cap_armed, (size_t)id + 1,
		    sizeof *s->armed);
		for (size_t i = old; i < s->cap_armed; i++)
			s->armed[i] = INT64_MAX;
	}
	s->armed[id] = v;
}

/* --- keys and slots ------------------------------------------------------- */

/* A key's slot array of one slot (most keys hold one window) comes from
 * a pool of blocks of that size carved from large chunks, threaded on a
 * free list when given back: no allocation, and no allocator header,
 * per key.  Longer arrays are allocated. */
#define POOL_CHUNK 4096         /* blocks a chunk */

static void *pool_get(struct aggpool *pl)
{
	unsigned char *p;

	if (pl->free != NULL) {
		p = pl->free;
		memcpy(&pl->free, p, sizeof pl->free);
		return p;
	}
	if (pl->left == 0) {
		pl->chunk = xgrow(pl->chunk, &pl->cap, pl->n + 1,
		    sizeof *pl->chunk);
		pl->chunk[pl->n] = xmalloc(POOL_CHUNK * pl->size);
		pl->next = pl->chunk[pl->n++];
		pl->left = POOL_CHUNK;
	}
	p = pl->next;
	pl->next += pl->size;
	pl->left--;
	return p;
}

static void pool_put(struct aggpool *pl, void *p)
{
	memcpy(p, &pl->free, sizeof pl->free);
	pl->free = p;
}

static void pool_free_all(struct aggpool *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		free(pl->chunk[i]);
	free(pl->chunk);
}

/* Bytes of a slot of k. */
static size_t kslot_size(const struct aggfire *s, const struct agg_kent *k)
{
	return k->full ? s->slot_size : s->cslot_size;
}

/* A new key's slots are compact when the aggregate set has a compact
 * form. */
static void kent_reset(struct aggfire *s, struct agg_kent *k)
{
	memset(k, 0, sizeof *k);
	k->full = s->cslot_size == 0;
}

/* An array of cap slots, full or compact. */
static unsigned char *slots_alloc(struct aggfire *s, bool full, size_t cap)
{
	if (cap == 1)
		return pool_get(&s->pool[!full]);
	return xmalloc(cap * (full ? s->slot_size : s->cslot_size));
}

static void slots_dealloc(struct aggfire *s, bool full, size_t cap,
    unsigned char *p)
{
	if (cap == 1)
		pool_put(&s->pool[!full], p);
	else
		free(p);
}

/* Gives back k's slot array (its states already freed); the key's next
 * slots are compact again. */
static void slots_release(struct aggfire *s, struct agg_kent *k)
{
	slots_dealloc(s, k->full, k->cap, k->slots);
	k->slots = NULL;
	k->n = k->cap = 0;
	k->full = s->cslot_size == 0;
}

/* Room for one more slot in k. */
static void slots_reserve(struct aggfire *s, struct agg_kent *k)
{
	size_t sz = kslot_size(s, k);
	unsigned char *p;

	if (k->n < k->cap)
		return;
	if (k->cap == 0) {
		k->slots = slots_alloc(s, k->full, 1);
		k->cap = 1;
		return;
	}
	if (k->cap > (UINT32_MAX >> 1) / 2)
		diag_fatal("fs-agg: more than %u windows of one key", k->cap);
	if (k->cap > 1) {
		k->cap *= 2;
		k->slots = xrealloc(k->slots, k->cap * sz);
		return;
	}
	p = xmalloc(2 * sz);
	memcpy(p, k->slots, sz);
	slots_dealloc(s, k->full, 1, k->slots);
	k->slots = p;
	k->cap = 2;
}

static struct agg_slot *slot_at(const struct aggfire *s,
    const struct agg_kent *k, size_t i)
{
	return (struct agg_slot *)(void *)(k->slots + i * kslot_size(s, k));
}

static void *slot_state(struct agg_slot *sl)
{
	return (unsigned char *)sl + sizeof *sl;
}

/* The full state of k's slot sl: its block, or its compact state
 * expanded into buf (aggset_state_size() bytes). */
static void *state_of(const struct aggfire *s, const struct agg_kent *k,
    struct agg_slot *sl, void *buf)
{
	if (k->full)
		return slot_state(sl);
	aggset_expand(s->as, slot_state(sl), buf);
	return buf;
}

/* Frees what k's slot sl holds out of line (compact states hold
 * nothing). */
static void state_release(struct aggfire *s, const struct agg_kent *k,
    struct agg_slot *sl)
{
	if (k->full)
		aggset_free_state(s->as, slot_state(sl));
}

/* Makes compact key k full: each slot's state expanded, slot i's
 * replaced by st (a full block, moved in). */
static void promote(struct aggfire *s, struct agg_kent *k, size_t i,
    const void *st)
{
	size_t ss = aggset_state_size(s->as);
	unsigned char *p = slots_alloc(s, true, k->cap);

	for (size_t j = 0; j < k->n; j++) {
		struct agg_slot *src = slot_at(s, k, j);
		unsigned char *dst = p + j * s->slot_size;

		memcpy(dst, src, sizeof *src);
		if (j == i)
			memcpy(dst + sizeof *src, st, ss);
		else
			aggset_expand(s->as, slot_state(src), dst + sizeof *src);
	}
	slots_dealloc(s, false, k->cap, k->slots);
	k->slots = p;
	k->full = 1;
}

/* Stores st (a full block, moved in) as the state of k's slot i, which
 * holds nothing out of line; returns the slot, which a promotion moves. */
static struct agg_slot *state_put(struct aggfire *s, struct agg_kent *k,
    size_t i, const void *st)
{
	struct agg_slot *sl = slot_at(s, k, i);

	if (k->full)
		memcpy(slot_state(sl), st, aggset_state_size(s->as));
	else if (!aggset_compress(s->as, st, slot_state(sl)))
		promote(s, k, i, st);
	return slot_at(s, k, i);
}

/* The prepared record at t into k's slot sl; returns the slot (moved
 * when the key was promoted to full blocks). */
static struct agg_slot *slot_apply(struct aggfire *s, struct agg_kent *k,
    struct agg_slot *sl, int64_t t)
{
	if (k->full) {
		aggset_apply(s->as, slot_state(sl), t);
		return sl;
	}
	if (aggset_compact_apply(s->as, slot_state(sl)))
		return sl;
	aggset_expand(s->as, slot_state(sl), s->cst);
	aggset_apply(s->as, s->cst, t);
	return state_put(s, k,
	    (size_t)((unsigned char *)sl - k->slots) / s->cslot_size, s->cst);
}

static struct agg_kent *kent_for(struct aggfire *s, uint32_t id, bool added)
{
	if (added) {
		s->k = xgrow(s->k, &s->cap_k, (size_t)id + 1, sizeof *s->k);
		kent_reset(s, &s->k[id]);
		kfired_set(s, &s->k[id], INT64_MIN);
		if (s->keys.count > s->peak_keys)
			s->peak_keys = s->keys.count;
	}
	return &s->k[id];
}

/* The slot of (start, end) in k, created empty when absent.  Slots stay
 * sorted by (start, end); records mostly land in the newest slot, so the
 * search starts at the end. */
static struct agg_slot *slot_get(struct aggfire *s, struct agg_kent *k,
    int64_t start, int64_t end)
{
	size_t i = k->n, sz;
	struct agg_slot *sl;

	while (i > 0) {
		sl = slot_at(s, k, i - 1);
		if (sl->start == start && sl->end == end)
			return sl;
		if (sl->start < start || (sl->start == start && sl->end < end))
			break;
		i--;
	}
	slots_reserve(s, k);
	sz = kslot_size(s, k);
	memmove(k->slots + (i + 1) * sz, k->slots + i * sz, (k->n - i) * sz);
	k->n++;
	sl = slot_at(s, k, i);
	sl->start = start;
	sl->end = end;
	if (k->full)
		aggset_init(s->as, slot_state(sl));
	else
		aggset_compact_init(s->as, slot_state(sl));
	if (++s->nslots > s->peak_slots)
		s->peak_slots = s->nslots;
	return sl;
}

/* Removes the slots gone() picks, freeing their states; keeps the order. */
static void slots_remove(struct aggfire *s, struct agg_kent *k,
    bool (*gone)(const struct aggfire *, const struct agg_slot *, int64_t),
    int64_t arg)
{
	size_t w = 0, sz = kslot_size(s, k);

	for (size_t i = 0; i < k->n; i++) {
		struct agg_slot *sl = slot_at(s, k, i);

		if (gone(s, sl, arg)) {
			state_release(s, k, sl);
			s->nslots--;
			continue;
		}
		if (w != i)
			memcpy(k->slots + w * sz, sl, sz);
		w++;
	}
	k->n = (uint32_t)w;
	if (k->n == 0)
		slots_release(s, k);
}

static void key_drop(struct aggfire *s, uint32_t id)
{
	struct agg_kent *k = &s->k[id];

	if (id / 64 < s->cap_ckmark)    /* its id may be another key's next */
		s->ckmark[id / 64] &= ~((uint64_t)1 << (id % 64));
	for (size_t i = 0; i < k->n; i++) {
		state_release(s, k, slot_at(s, k, i));
		s->nslots--;
	}
	if (k->cap > 0)
		slots_release(s, k);
	kent_reset(s, k);
	kfired_set(s, k, INT64_MIN);
	karmed_set(s, id, INT64_MAX);
	keytab_remove(&s->keys, id);
}

static void mark_dirty(struct aggfire *s, uint32_t id)
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

/* Notes that key id changed since the last checkpoint: a bit per key
 * (a million keys' marks stay in 128 KB of cache while records come at
 * random keys), no list. */
static void ck_mark(struct aggfire *s, uint32_t id)
{
	size_t w = id / 64;

	if (!s->track)
		return;
	if (w >= s->cap_ckmark) {
		size_t old = s->cap_ckmark;

		s->ckmark = xgrow(s->ckmark, &s->cap_ckmark, w + 1,
		    sizeof *s->ckmark);
		memset(s->ckmark + old, 0,
		    (s->cap_ckmark - old) * sizeof *s->ckmark);
	}
	s->ckmark[w] |= (uint64_t)1 << (id % 64);
}

/* Notes that key id, about to be dropped, is gone since the last
 * checkpoint. */
static void ck_gone(struct aggfire *s, uint32_t id)
{
	size_t klen;
	const char *key;

	if (!s->track)
		return;
	key = keytab_key(&s->keys, id, &klen);
	mpb_pack_map(&s->gone, 2);
	mpb_pack_strn(&s->gone, "key", 3);
	mpb_pack_strn(&s->gone, key, klen);
	mpb_pack_strn(&s->gone, "del", 3);
	mpb_pack_true(&s->gone);
}

/* --- results -------------------------------------------------------------- */

/* True when a result's members have distinct names and the key members
 * are one part each: then writing them one by one gives the bytes of the
 * object emit_result() builds. */
static bool result_flat(const struct aggfire *s, bool win, bool update)
{
	const char *names[64];
	size_t n = 0, na = aggset_count(s->as);

	if (s->ks->n + na + 3 > sizeof names / sizeof names[0])
		return false;
	if (win) {
		names[n++] = s->f.start;
		names[n++] = s->f.end;
	}
	for (size_t i = 0; i < s->ks->n; i++) {
		if (s->ks->paths[i].n != 1)
			return false;
		names[n++] = s->ks->paths[i].parts[0];
	}
	for (size_t i = 0; i < na; i++)
		names[n++] = aggset_name(s->as, i);
	if (update)
		names[n++] = "update";
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) == 0)
				return false;
	return true;
}

/* emit_result() written member by member (habit 18): the key's parts
 * are already JSON as rec_dump() writes it (keyspec_encode()). */
static void emit_result_w(struct aggfire *s, const char *key, size_t klen,
    const struct agg_slot *win, const void *state, int update)
{
	struct rec_writer w;
	const char *p = key, *end = key + klen;

	buf_reset(&s->row);
	rec_w_init(&w, &s->row);
	rec_w_obj(&w);
	if (win != NULL) {
		rec_w_key(&w, s->f.start);
		rec_w_i64(&w, win->start);
		rec_w_key(&w, s->f.end);
		rec_w_i64(&w, win->end);
	}
	for (size_t i = 0; i < s->ks->n; i++) {
		const char *sep = memchr(p, KEYSPEC_SEP, (size_t)(end - p));
		size_t n = sep ? (size_t)(sep - p) : (size_t)(end - p);

		if (n == 0)
			diag_fatal("internal error: undecodable key");
		rec_w_key(&w, s->ks->paths[i].parts[0]);
		rec_w_raw(&w, p, n);
		p = sep ? sep + 1 : end;
	}
	aggset_result_w(s->as, state, &w);
	if (update >= 0) {
		rec_w_key(&w, "update");
		rec_w_raw(&w, update ? "true" : "false", update ? 4 : 5);
	}
	rec_w_end(&w);
	out_line(s->out, s->row.data, s->row.len);
	s->results++;
}

/* update: -1 for no marker (no --early-fire), else 0 or 1. */
static void emit_result(struct aggfire *s, uint32_t id,
    const struct agg_slot *win, const void *state, int update)
{
	json_t *obj;
	size_t klen;
	const char *key = keytab_key(&s->keys, id, &klen);

	if (result_flat(s, win != NULL, update >= 0)) {
		emit_result_w(s, key, klen, win, state, update);
		return;
	}
	obj = json_object();

	if (win != NULL) {
		json_object_set_new(obj, s->f.start, json_integer(win->start));
		json_object_set_new(obj, s->f.end, json_integer(win->end));
	}
	if (s->ks->n > 0 && keyspec_decode_into(s->ks, key, klen, obj) < 0)
		diag_fatal("internal error: undecodable key");
	aggset_result(s->as, state, obj);
	if (update >= 0)
		json_object_set_new(obj, "update", json_boolean(update));
	rec_emit(s->out, obj);
	json_decref(obj);
	s->results++;
}

/* Merges k's panes that lie in [ws, we) into s->tmp; false when none. */
static bool merge_panes(struct aggfire *s, struct agg_kent *k, int64_t ws,
    int64_t we)
{
	bool any = false;

	aggset_init(s->as, s->tmp);
	for (size_t i = 0; i < k->n; i++) {
		struct agg_slot *sl = slot_at(s, k, i);

		if (sl->start < ws)
			continue;
		if (sl->start >= we)
			break;
		aggset_merge(s->as, s->tmp, state_of(s, k, sl, s->cst));
		any = true;
	}
	return any;
}

/* --- timers: when each key fires next ------------------------------------- */

/* The earliest end of k's slots other than skip, or INT64_MAX. */
static int64_t min_end(const struct aggfire *s, const struct agg_kent *k,
    const struct agg_slot *skip)
{
	int64_t e = INT64_MAX;

	for (size_t i = 0; i < k->n; i++) {
		const struct agg_slot *sl = slot_at(s, k, i);

		if (sl != skip && sl->end < e)
			e = sl->end;
	}
	return e;
}

/*
 * The time key id's timer is set for, or INT64_MAX.  Panes mode keeps
 * it; windows mode derives it, as its earliest window end plus L: a key
 * is armed for a new window that ends before the others (aggfire_window)
 * and re-armed for its earliest one after firing (rearm()), so a timer
 * for that time is always pending, and a timer for another time is
 * stale.  (Two timers for that time may be, after a re-arm: firing
 * skips the second.)
 */
static int64_t armed_at(const struct aggfire *s, uint32_t id)
{
	int64_t e;

	if (s->mode == AGG_MODE_PANES)
		return karmed(s, id);
	e = min_end(s, &s->k[id], NULL);
	return e == INT64_MAX ? INT64_MAX : e + s->L;
}

/* Panes: arms key id for t when its timer is later. */
static void arm_at(struct aggfire *s, uint32_t id, int64_t t)
{
	if (t < karmed(s, id)) {
		karmed_set(s, id, t);
		keytimers_push(&s->timers, (struct ktimer){ t, id });
	}
}

/* The watermark at or below which windows are closed (end + L <= wm). */
static int64_t closed_upto(const struct aggfire *s)
{
	if (s->wm->current == WM_NONE)
		return INT64_MIN;
	return s->wm->current - s->L;
}

/*
 * The next window end for pane ps of key k that has not fired or closed.
 * Between records every window with end + L <= watermark has fired (so
 * a new pane cannot join it: that would be late); while
 * aggfire_fire_due() runs, windows up to the watermark are still to
 * fire, and only k->fired counts (firing says so with during_fire).
 */
static int64_t pane_next_at(const struct aggfire *s, const struct agg_kent *k,
    int64_t ps, bool during_fire)
{
	int64_t after = kfired(s, k), c = closed_upto(s);

	if (!during_fire && c > after)
		after = c;
	return win_next_end(&s->w, ps, after);
}

static int64_t pane_next(const struct aggfire *s, const struct agg_kent *k,
    int64_t ps)
{
	return pane_next_at(s, k, ps, false);
}

static void rearm(struct aggfire *s, uint32_t id, bool during_fire)
{
	struct agg_kent *k = &s->k[id];
	int64_t best = INT64_MAX;

	if (s->mode != AGG_MODE_PANES) {
		best = min_end(s, k, NULL);
		if (best != INT64_MAX)
			keytimers_push(&s->timers,
			    (struct ktimer){ best + s->L, id });
		return;
	}
	karmed_set(s, id, INT64_MAX);
	for (size_t i = 0; i < k->n; i++) {
		struct agg_slot *sl = slot_at(s, k, i);
		int64_t e = s->mode == AGG_MODE_PANES ?
		    pane_next_at(s, k, sl->start, during_fire) : sl->end;

		if (e < best)
			best = e;
	}
	if (best != INT64_MAX)
		arm_at(s, id, best + s->L);
}

static bool window_due(const struct aggfire *s, const struct agg_slot *sl,
    int64_t t)
{
	return sl->end + s->L <= t;
}

static bool pane_done(const struct aggfire *s, const struct agg_slot *sl,
    int64_t e)
{
	return win_last_end(&s->w, sl->start) <= e;
}

/*
 * Fires key id's windows due at its timer t (the earliest window end
 * plus L); later ones wait for their own timer, so that the results of
 * one watermark come out in order of window end across keys.
 */
static void fire_key(struct aggfire *s, uint32_t id, int64_t t)
{
	struct agg_kent *k = &s->k[id];
	int upd = s->early > 0 ? 0 : -1;

	if (s->mode == AGG_MODE_WINDOWS) {
		for (size_t i = 0; i < k->n; i++) {
			struct agg_slot *sl = slot_at(s, k, i);

			if (window_due(s, sl, t))
				emit_result(s, id, sl,
				    state_of(s, k, sl, s->cst), upd);
		}
		slots_remove(s, k, window_due, t);
	} else {
		int64_t e = t - s->L;
		struct agg_slot win = { win_start_for_end(&s->w, e), e };

		if (merge_panes(s, k, win.start, win.end))
			emit_result(s, id, &win, s->tmp, upd);
		aggset_free_state(s->as, s->tmp);
		kfired_set(s, k, e);
		slots_remove(s, k, pane_done, e);
	}
	if (k->n == 0) {
		ck_gone(s, id);
		key_drop(s, id);
	} else {
		ck_mark(s, id);
		rearm(s, id, true);
	}
}

/*
 * Fires every key whose timer is at or before upto, earliest time first;
 * the keys due at one time fire in order of their canonical key bytes,
 * so the output does not depend on the order state was built in (a run
 * restored from a checkpoint writes what an uninterrupted run writes).
 */
void aggfire_fire_due(struct aggfire *s, int64_t upto)
{
	int64_t t;
	uint32_t *due;
	size_t n, ndue;

	/* The ids due stay in the timer heap's spare room: fire_key()
	 * pushes at most one timer a key (timerheap_pop_time()). */
	while ((n = keytimers_pop_time(&s->timers, upto, &t, &due)) > 0) {
		ndue = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t id = due[i];

			if (id >= s->keys.nids || !keytab_live(&s->keys, id) ||
			    t != armed_at(s, id))
				continue;       /* stale: re-armed or gone */
			karmed_set(s, id, INT64_MAX);
			due[ndue++] = id;
		}
		keytab_sort_ids(&s->keys, due, ndue);
		for (size_t i = 0; i < ndue; i++)
			if (i == 0 || due[i] != due[i - 1])
				fire_key(s, due[i], t);
	}
}

/* --early-fire: the current result of every open window of every key
 * that changed since the last firing, marked as an update. */
void aggfire_early(struct aggfire *s)
{
	for (size_t d = 0; d < s->ndirty; d++) {
		uint32_t id = s->dirty[d];
		struct agg_kent *k = &s->k[id];

		s->isdirty[id] = 0;
		if (id >= s->keys.nids || !keytab_live(&s->keys, id))
			continue;
		if (s->mode == AGG_MODE_WINDOWS) {
			for (size_t i = 0; i < k->n; i++) {
				struct agg_slot *sl = slot_at(s, k, i);

				emit_result(s, id, sl,
				    state_of(s, k, sl, s->cst), 1);
			}
		} else if (s->mode == AGG_MODE_PANES && k->n > 0) {
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
				struct agg_slot win = { win_start_for_end(&s->w, e), e };

				if (merge_panes(s, k, win.start, e))
					emit_result(s, id, &win, s->tmp, 1);
				aggset_free_state(s->as, s->tmp);
			}
		}
	}
	s->ndirty = 0;
}

/* --- running aggregates --------------------------------------------------- */

static void running_emit(struct aggfire *s, uint32_t id, int64_t now)
{
	struct agg_kent *k = &s->k[id];
	struct agg_slot *sl = slot_at(s, k, 0);

	emit_result(s, id, NULL, state_of(s, k, sl, s->cst), -1);
	sl->end = now;
	sl->start = 0;          /* nothing pending */
	ck_mark(s, id);
}

/* Emits paced running aggregates whose time has come (INT64_MAX: all). */
void aggfire_pace(struct aggfire *s, int64_t now)
{
	struct timer tm;

	while (timerheap_pop(&s->pace, now, &tm)) {
		struct agg_slot *sl = slot_at(s, &s->k[tm.id], 0);

		if (sl->start != 0)
			running_emit(s, tm.id, now == INT64_MAX ? sl->end : now);
	}
}

static void running_update(struct aggfire *s, uint32_t id,
    struct agg_slot *sl)
{
	int64_t now;

	if (s->emit_every == 0) {
		emit_result(s, id, NULL, state_of(s, &s->k[id], sl, s->cst),
		    -1);
		return;
	}
	if (sl->start != 0)
		return;         /* already pending */
	now = etime_now_ms();
	if (sl->end == 0 || now - sl->end >= s->emit_every) {
		running_emit(s, id, now);
		return;
	}
	sl->start = 1;
	timerheap_push(&s->pace, sl->end + s->emit_every, id);
}

void aggfire_clear(struct aggfire *s)
{
	for (size_t i = 0; i < s->keys.nids; i++)
		if (keytab_live(&s->keys, i))
			key_drop(s, (uint32_t)i);
	keytimers_free(&s->timers);
	timerheap_free(&s->pace);
	s->ndirty = 0;
	if (s->isdirty)
		memset(s->isdirty, 0, s->cap_isdirty);
	aggfire_track_reset(s);
}

int aggfire_restore_key(struct aggfire *s, const json_t *e, const char **why)
{
	json_t *key = json_object_get(e, "key"), *slots = json_object_get(e, "slots");
	json_t *fired = json_object_get(e, "fired"), *x;
	bool added;
	uint32_t id;
	struct agg_kent *k;
	size_t i;

	if (!json_is_string(key) || !json_is_array(slots))
		return *why = "a key without slots", -1;
	id = keytab_intern(&s->keys, json_string_value(key),
	    json_string_length(key), &added);
	k = kent_for(s, id, added);
	if (json_is_integer(fired))
		kfired_set(s, k, json_integer_value(fired));
	json_array_foreach(slots, i, x) {
		struct agg_slot *sl;

		if (!json_is_array(x) || json_array_size(x) != 3)
			return *why = "a malformed slot", -1;
		sl = slot_get(s, k, json_integer_value(json_array_get(x, 0)),
		    json_integer_value(json_array_get(x, 1)));
		state_release(s, k, sl);
		if (aggset_restore(s->as, s->cst, json_array_get(x, 2),
		    why) < 0) {
			if (k->full)
				aggset_init(s->as, slot_state(sl));
			return -1;
		}
		if (k->full)
			memcpy(slot_state(sl), s->cst, aggset_state_size(s->as));
		else
			state_put(s, k, (size_t)((unsigned char *)sl - k->slots) /
			    s->cslot_size, s->cst);
	}
	if (s->mode == AGG_MODE_WINDOWS || s->mode == AGG_MODE_PANES)
		rearm(s, id, false);
	else if (s->mode == AGG_MODE_RUNNING && k->n > 0 &&
	    slot_at(s, k, 0)->start != 0)
		timerheap_push(&s->pace, 0, id);        /* a change not yet written */
	return 0;
}

/* Key id's entry in a checkpoint: {"key", "slots", "fired"?}. */
static json_t *key_entry(const struct aggfire *s, uint32_t id)
{
	const struct agg_kent *k = &s->k[id];
	json_t *slots = json_array(), *e;
	size_t klen;
	const char *key = keytab_key(&s->keys, id, &klen);

	for (size_t j = 0; j < k->n; j++) {
		struct agg_slot *sl = slot_at(s, k, j);

		json_array_append_new(slots, json_pack("[I,I,o]",
		    (json_int_t)sl->start, (json_int_t)sl->end,
		    aggset_snapshot(s->as, state_of(s, k, sl, s->cst))));
	}
	e = json_pack("{s:s%,s:o}", "key", key, klen, "slots", slots);
	if (kfired(s, k) != INT64_MIN)
		json_object_set_new(e, "fired", json_integer(kfired(s, k)));
	return e;
}

/* key_entry() of key id appended to b in msgpack. */
static void key_pack(const struct aggfire *s, struct buf *b, uint32_t id)
{
	const struct agg_kent *k = &s->k[id];
	size_t klen;
	const char *key = keytab_key(&s->keys, id, &klen);
	int64_t fired = kfired(s, k);

	mpb_pack_map(b, fired != INT64_MIN ? 3 : 2);
	mpb_pack_strn(b, "key", 3);
	mpb_pack_strn(b, key, klen);
	mpb_pack_strn(b, "slots", 5);
	mpb_pack_array(b, k->n);
	for (size_t j = 0; j < k->n; j++) {
		struct agg_slot *sl = slot_at(s, k, j);

		mpb_pack_array(b, 3);
		mpb_pack_int64(b, sl->start);
		mpb_pack_int64(b, sl->end);
		if (k->full)
			aggset_pack(s->as, b, slot_state(sl));
		else
			aggset_pack_compact(s->as, b, slot_state(sl));
	}
	if (fired != INT64_MIN) {
		mpb_pack_strn(b, "fired", 5);
		mpb_pack_int64(b, fired);
	}
}

void aggfire_pack_all(struct aggfire *s, struct buf *out)
{
	for (size_t i = 0; i < s->keys.nids; i++)
		if (keytab_live(&s->keys, i))
			key_pack(s, out, (uint32_t)i);
	aggfire_track_reset(s);
}

/* The keys' slots for a checkpoint: [{"key", "slots", "fired"?}, ...]. */
json_t *aggfire_snapshot(const struct aggfire *s)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < s->keys.nids; i++)
		if (keytab_live(&s->keys, i))
			json_array_append_new(keys, key_entry(s, (uint32_t)i));
	return keys;
}

void aggfire_track(struct aggfire *s)
{
	s->track = true;
}

void aggfire_track_reset(struct aggfire *s)
{
	if (s->ckmark != NULL)
		memset(s->ckmark, 0, s->cap_ckmark * sizeof *s->ckmark);
	s->gone.len = 0;
}

/* The ids marked changed, in order, into s->changed (their count), the
 * marks cleared: 64 keys a word, an empty word skipped at once. */
static size_t changed_in_order(struct aggfire *s)
{
	size_t m = 0, n = 0;

	for (size_t i = 0; i < s->cap_ckmark; i++)
		n += (size_t)__builtin_popcountll(s->ckmark[i]);
	s->changed = xgrow(s->changed, &s->cap_changed, n ? n : 1,
	    sizeof *s->changed);
	for (size_t i = 0; i < s->cap_ckmark; i++) {
		uint64_t w = s->ckmark[i];

		if (w == 0)
			continue;
		s->ckmark[i] = 0;
		do {
			s->changed[m++] = (uint32_t)(i * 64 +
			    (size_t)__builtin_ctzll(w));
			w &= w - 1;
		} while (w != 0);
	}
	return m;
}

/* How many keys ahead aggfire_delta() fetches a key's entries, then its
 * slots (which the entry points to). */
#define DELTA_AHEAD 16
#define DELTA_AHEAD_SLOTS 6

/* Dropped keys first: a key dropped and made again since is among the
 * changed ones, whose lines come after.  The changed keys go in id
 * order, not in the order they changed: their entries, slots and states
 * lie in memory by id, so that a delta of many keys reads the state
 * forwards rather than at random, and each key's memory is fetched a
 * few keys ahead of its packing (a delta is most of its cost waiting for
 * memory otherwise). */
void aggfire_delta(struct aggfire *s, struct buf *out)
{
	size_t m;
	const uint32_t *ids;

	if (s->gone.len > 0)
		buf_append(out, s->gone.data, s->gone.len);
	m = changed_in_order(s);
	ids = s->changed;
	for (size_t i = 0; i < m; i++) {
		if (i + DELTA_AHEAD < m) {
			uint32_t a = ids[i + DELTA_AHEAD];

			__builtin_prefetch(&s->k[a]);
			__builtin_prefetch(&s->keys.keys[a]);
		}
		if (i + DELTA_AHEAD_SLOTS < m)
			__builtin_prefetch(s->k[ids[i + DELTA_AHEAD_SLOTS]].slots);
		key_pack(s, out, ids[i]);
	}
	s->gone.len = 0;
}

int aggfire_apply_key(struct aggfire *s, const json_t *e, const char **why)
{
	json_t *key = json_object_get(e, "key");
	uint32_t id;

	if (!json_is_string(key))
		return *why = "a delta line without a key", -1;
	id = keytab_find(&s->keys, json_string_value(key),
	    json_string_length(key));
	if (id != KEYTAB_NONE)
		key_drop(s, id);
	if (json_is_true(json_object_get(e, "del")))
		return 0;
	return aggfire_restore_key(s, e, why);
}

/* Bytes of state held: keys, slots and their states (for --stats). */
size_t aggfire_bytes(const struct aggfire *s)
{
	size_t n = keytab_bytes(&s->keys) + s->cap_k * sizeof *s->k +
	    s->cap_fired * sizeof *s->fired +
	    s->cap_armed * sizeof *s->armed +
	    s->timers.cap * sizeof *s->timers.v;

	for (size_t i = 0; i < s->keys.nids; i++) {
		const struct agg_kent *k = &s->k[i];

		if (!keytab_live(&s->keys, i))
			continue;
		n += (k->cap - k->n) * kslot_size(s, k);  /* pooled or not */
		for (size_t j = 0; j < k->n; j++)
			n += k->full ? sizeof(struct agg_slot) +
			    aggset_state_bytes(s->as, slot_state(slot_at(s, k, j))) :
			    s->cslot_size;
	}
	return n;
}

/* --- the engine's interface ----------------------------------------------- */

void aggfire_init(struct aggfire *s, struct aggset *as,
    const struct keyspec *ks, struct out *out, const struct wmark *wm,
    int64_t early, int64_t emit_every)
{
	size_t ssize = aggset_state_size(as);

	memset(s, 0, sizeof *s);
	s->as = as;
	s->ks = ks;
	s->out = out;
	s->wm = wm;
	s->early = early;
	s->emit_every = emit_every;
	s->slot_size = sizeof(struct agg_slot) + ssize;
	if (aggset_compact_size(as) > 0)
		s->cslot_size = sizeof(struct agg_slot) + aggset_compact_size(as);
	s->pool[0].size = s->slot_size;
	s->pool[1].size = s->cslot_size;
	s->tmp = xmalloc(ssize ? ssize : 8);
	s->cst = xmalloc(ssize ? ssize : 8);
	keytab_init(&s->keys);
	keytimers_init(&s->timers);
	timerheap_init(&s->pace);
}

void aggfire_free(struct aggfire *s)
{
	aggfire_clear(s);
	pool_free_all(&s->pool[0]);
	pool_free_all(&s->pool[1]);
	free(s->cst);
	free(s->fired);
	free(s->armed);
	keytab_free(&s->keys);
	free(s->k);
	free(s->tmp);
	buf_free(&s->row);
	free(s->dirty);
	free(s->isdirty);
	free(s->ckmark);
	free(s->changed);
	buf_free(&s->gone);
}

uint32_t aggfire_key(struct aggfire *s, const char *key, size_t klen)
{
	bool added;
	uint32_t id = keytab_intern(&s->keys, key, klen, &added);

	kent_for(s, id, added);
	return id;
}

void aggfire_release(struct aggfire *s, uint32_t id)
{
	if (s->k[id].n == 0)
		key_drop(s, id);
}

static bool late_window(const struct aggfire *s, int64_t end)
{
	return s->wm->current != WM_NONE && end + s->L <= s->wm->current;
}

int aggfire_window(struct aggfire *s, uint32_t id, int64_t start,
    int64_t end, int64_t t)
{
	struct agg_kent *k = &s->k[id];
	struct agg_slot *sl;
	uint32_t n = k->n;

	if (late_window(s, end))
		return 1;
	sl = slot_get(s, k, start, end);
	/* A new window ending before the others: armed_at() moves. */
	if (k->n != n && end < min_end(s, k, sl))
		keytimers_push(&s->timers, (struct ktimer){ end + s->L, id });
	slot_apply(s, k, sl, t);
	ck_mark(s, id);
	if (s->early > 0)
		mark_dirty(s, id);
	return 0;
}

int aggfire_pane(struct aggfire *s, uint32_t id, int64_t start, int64_t t)
{
	struct agg_kent *k = &s->k[id];
	struct agg_slot *sl;

	if (late_window(s, win_last_end(&s->w, start)) ||
	    pane_next(s, k, start) == INT64_MAX)
		return 1;
	sl = slot_get(s, k, start, 0);
	slot_apply(s, k, sl, t);
	arm_at(s, id, pane_next(s, k, start) + s->L);
	ck_mark(s, id);
	if (s->early > 0)
		mark_dirty(s, id);
	return 0;
}

void aggfire_running(struct aggfire *s, uint32_t id, int64_t t)
{
	struct agg_kent *k = &s->k[id];
	struct agg_slot *sl = k->n ? slot_at(s, k, 0) : slot_get(s, k, 0, 0);

	sl = slot_apply(s, k, sl, t);
	ck_mark(s, id);
	running_update(s, id, sl);
}
