/* agg_over.c - over aggregation: exact (agg_over_exact.c) or from
 * bucketed state (see agg_over.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_over.h"
#include "agg_over_exact.h"
#include "buf.h"
#include "diag.h"
#include "etime.h"
#include "rec.h"
#include "window/winspec.h"
#include "window/window_state.h"
#include "xalloc.h"
#include "banned.h"

/* Ahead of each ring in a key's block. */
struct ring {
	int64_t head;           /* newest bucket index, or INT64_MIN */
	int64_t cache_for;      /* head the cache was built for, or INT64_MIN */
	/* then: nb bucket indexes, the cache state, nb bucket states */
};

struct over {
	struct over_range *r;
	size_t nr;
	int64_t nb;
	struct aggset *as;
	struct overx *x;                /* exact mode (no buckets) */
	size_t ssize, ring_size;
	const struct keyspec *ks;
	struct out *out;
	struct rejects *rj;
	const struct lineio *lr;
	struct late *late;
	struct keytab keys;
	unsigned char **blocks;         /* by key id */
	size_t cap_blocks;
	void *tmp;
	json_t *res;
	struct buf b, keybuf, scratch;
	int64_t swept;                  /* watermark of the last sweep */
};

/* A ring: its header, the bucket indexes (together, so scans over them
 * stay in a few cache lines), the cache state, then the bucket states. */
static int64_t *bucket_idx(const struct over *ov, struct ring *rg, int64_t slot)
{
	(void)ov;
	return (int64_t *)(void *)((unsigned char *)rg + sizeof *rg) + slot;
}

static void *cache_of(const struct over *ov, struct ring *rg)
{
	return bucket_idx(ov, rg, ov->nb);
}

static void *bucket_state(const struct over *ov, struct ring *rg,
    int64_t slot)
{
	return (unsigned char *)cache_of(ov, rg) + ov->ssize +
	    (size_t)slot * ov->ssize;
}

static struct ring *ring_of(const struct over *ov, unsigned char *block,
    size_t r)
{
	return (struct ring *)(void *)(block + r * ov->ring_size);
}

static int parse_ranges(struct over *ov, const char *text, const char **why)
{
	char *copy = xstrdup(text), *save = NULL;

	for (char *p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		struct over_range rg;
		size_t n = aggset_count(ov->as);

		if (dur_parse(p, &rg.len) < 0 || rg.len <= 0 ||
		    rg.len > WIN_TIME_LIMIT) {
			free(copy);
			return *why = "not a list of positive durations", -1;
		}
		if (ov->nb > 0 && rg.len % ov->nb != 0) {
			free(copy);
			return *why = "each range must be a multiple of "
			    "--over-buckets milliseconds", -1;
		}
		rg.width = ov->nb > 0 ? rg.len / ov->nb : 0;
		rg.names = xcalloc(n, sizeof *rg.names);
		for (size_t i = 0; i < n; i++) {
			const char *nm = aggset_name(ov->as, i);
			size_t len = strlen(nm) + strlen(p) + 2;

			rg.names[i] = xmalloc(len);
			snprintf(rg.names[i], len, "%s_%s", nm, p);
		}
		ov->r = xrealloc(ov->r, (ov->nr + 1) * sizeof *ov->r);
		ov->r[ov->nr++] = rg;
	}
	free(copy);
	if (ov->nr == 0)
		return *why = "no ranges", -1;
	return 0;
}

struct over *over_new(const char *ranges, int64_t buckets, struct aggset *as,
    const struct keyspec *ks, struct out *out, struct rejects *rj,
    const struct lineio *lr, struct late *late, const char **why)
{
	struct over *ov = xcalloc(1, sizeof *ov);

	ov->nb = buckets;
	ov->as = as;
	ov->ssize = aggset_state_size(as);
	ov->ring_size = sizeof(struct ring) + (size_t)buckets * sizeof(int64_t) +
	    ov->ssize + (size_t)buckets * ov->ssize;
	ov->ks = ks;
	ov->out = out;
	ov->rj = rj;
	ov->lr = lr;
	ov->late = late;
	ov->swept = INT64_MIN;
	keytab_init(&ov->keys);
	if (parse_ranges(ov, ranges, why) < 0) {
		over_free(ov);
		return NULL;
	}
	if (buckets == 0) {
		if (aggset_large(as) != NULL) {
			over_free(ov);
			return *why = "exact ranges take count, sum, sum0, avg, "
			    "min, max, first, last and the variances; give "
			    "--over-buckets N for the others", NULL;
		}
		ov->x = overx_new(ov->r, ov->nr, as, ks, out, rj, lr, late);
	}
	ov->tmp = xmalloc(ov->ssize ? ov->ssize : 8);
	ov->res = json_object();
	return ov;
}

static void block_free(struct over *ov, unsigned char *block)
{
	for (size_t r = 0; r < ov->nr; r++) {
		struct ring *rg = ring_of(ov, block, r);

		aggset_free_state(ov->as, cache_of(ov, rg));
		for (int64_t i = 0; i < ov->nb; i++)
			aggset_free_state(ov->as, bucket_state(ov, rg, i));
	}
	free(block);
}

static unsigned char *block_new(struct over *ov)
{
	unsigned char *block = xmalloc(ov->nr * ov->ring_size);

	for (size_t r = 0; r < ov->nr; r++) {
		struct ring *rg = ring_of(ov, block, r);

		rg->head = INT64_MIN;
		rg->cache_for = INT64_MIN;
		aggset_init(ov->as, cache_of(ov, rg));
		for (int64_t i = 0; i < ov->nb; i++) {
			*bucket_idx(ov, rg, i) = INT64_MIN;
			aggset_init(ov->as, bucket_state(ov, rg, i));
		}
	}
	return block;
}

void over_free(struct over *ov)
{
	if (ov == NULL)
		return;
	overx_free(ov->x);
	for (size_t i = 0; i < ov->keys.nids; i++)
		if (keytab_live(&ov->keys, i))
			block_free(ov, ov->blocks[i]);
	keytab_free(&ov->keys);
	for (size_t r = 0; r < ov->nr; r++) {
		for (size_t i = 0; i < aggset_count(ov->as); i++)
			free(ov->r[r].names[i]);
		free(ov->r[r].names);
	}
	free(ov->r);
	free(ov->blocks);
	free(ov->tmp);
	json_decref(ov->res);
	buf_free(&ov->b);
	buf_free(&ov->keybuf);
	buf_free(&ov->scratch);
	free(ov);
}

static int64_t slot_of(const struct over *ov, int64_t bi)
{
	int64_t m = bi % ov->nb;

	return m < 0 ? m + ov->nb : m;
}

/* Merges the buckets with index in [lo, hi] into dst (initialised). */
static void merge_range(struct over *ov, struct ring *rg, int64_t lo,
    int64_t hi, void *dst)
{
	if (hi < lo)
		return;
	if (hi - lo < ov->nb) {
		/* Few indexes: look each up in its slot. */
		for (int64_t x = lo; x <= hi; x++) {
			int64_t slot = slot_of(ov, x);

			if (*bucket_idx(ov, rg, slot) == x)
				aggset_merge(ov->as, dst, bucket_state(ov, rg, slot));
		}
		return;
	}
	for (int64_t i = 0; i < ov->nb; i++) {
		int64_t idx = *bucket_idx(ov, rg, i);

		if (idx != INT64_MIN && idx >= lo && idx <= hi)
			aggset_merge(ov->as, dst, bucket_state(ov, rg, i));
	}
}

/* True when a bucket with index in [lo, hi] holds data. */
static bool any_in(const struct over *ov, struct ring *rg, int64_t lo,
    int64_t hi)
{
	if (hi < lo)
		return false;
	if (hi - lo < ov->nb) {
		for (int64_t x = lo; x <= hi; x++)
			if (*bucket_idx(ov, rg, slot_of(ov, x)) == x)
				return true;
		return false;
	}
	for (int64_t i = 0; i < ov->nb; i++) {
		int64_t idx = *bucket_idx(ov, rg, i);

		if (idx != INT64_MIN && idx >= lo && idx <= hi)
			return true;
	}
	return false;
}

/* True when t is too old for the smallest range of this key. */
static bool too_old(const struct over *ov, unsigned char *block, int64_t t)
{
	for (size_t r = 0; r < ov->nr; r++) {
		struct ring *rg = ring_of(ov, block, r);
		int64_t bi = etime_floor_div(t, ov->r[r].width);

		if (rg->head != INT64_MIN && bi <= rg->head - ov->nb)
			return true;
	}
	return false;
}

/*
 * The newest bucket moves from the ring's head to nh.  The cache (the
 * merge of the buckets before the head) is carried over instead of
 * rebuilt when no bucket holding data leaves the range: then the new
 * cache is the old one plus the old head's bucket.  Otherwise it is
 * dropped and rebuilt on demand.
 */
static void advance_head(struct over *ov, struct ring *rg, int64_t nh)
{
	int64_t oh = rg->head, lo = oh - ov->nb + 1, gone = nh - ov->nb;
	void *cache = cache_of(ov, rg);

	if (rg->cache_for == oh && any_in(ov, rg, lo, gone))
		rg->cache_for = INT64_MIN;
	if (rg->cache_for == oh) {
		merge_range(ov, rg, oh > gone ? oh : gone + 1, nh - 1, cache);
		rg->cache_for = nh;
	}
	rg->head = nh;
}

/* Adds the prepared record at t to ring r; leaves its result in tmp. */
static void ring_add(struct over *ov, struct ring *rg, const struct over_range *R,
    int64_t t)
{
	int64_t bi = etime_floor_div(t, R->width);
	int64_t slot = slot_of(ov, bi);
	int64_t *idx = bucket_idx(ov, rg, slot);
	void *st = bucket_state(ov, rg, slot);

	if (rg->head == INT64_MIN)
		rg->head = bi;
	else if (bi > rg->head)
		advance_head(ov, rg, bi);
	if (*idx != bi) {
		aggset_free_state(ov->as, st);
		aggset_init(ov->as, st);
		*idx = bi;
	}
	aggset_apply(ov->as, st, t);
	if (bi < rg->head)
		rg->cache_for = INT64_MIN;      /* an older bucket changed */
	aggset_init(ov->as, ov->tmp);
	if (bi == rg->head) {
		void *cache = cache_of(ov, rg);

		if (rg->cache_for != rg->head) {
			aggset_free_state(ov->as, cache);
			aggset_init(ov->as, cache);
			merge_range(ov, rg, bi - ov->nb + 1, bi - 1, cache);
			rg->cache_for = rg->head;
		}
		aggset_merge(ov->as, ov->tmp, cache);
		aggset_merge(ov->as, ov->tmp, st);
	} else {
		merge_range(ov, rg, bi - ov->nb + 1, bi, ov->tmp);
	}
}

void over_record(struct over *ov, const json_t *obj, int64_t t,
    const char *line, size_t len)
{
	unsigned char *block;
	uint32_t id;
	bool added;

	if (ov->x != NULL) {
		overx_record(ov->x, obj, t, line, len);
		return;
	}
	if (!over_key_prepare(ov->ks, ov->as, obj, &ov->keybuf, ov->rj, ov->lr,
	    line, len))
		return;
	id = keytab_intern(&ov->keys, ov->keybuf.data ? ov->keybuf.data : "",
	    ov->keybuf.len, &added);
	if (added) {
		ov->blocks = xgrow(ov->blocks, &ov->cap_blocks, (size_t)id + 1,
		    sizeof *ov->blocks);
		ov->blocks[id] = block_new(ov);
	}
	block = ov->blocks[id];
	if (too_old(ov, block, t)) {
		late_record(ov->late, line, len, ov->out, &ov->scratch);
		return;
	}
	rec_splice_begin(&ov->b, line, len);
	for (size_t r = 0; r < ov->nr; r++) {
		ring_add(ov, ring_of(ov, block, r), &ov->r[r], t);
		aggset_result(ov->as, ov->tmp, ov->res);
		aggset_free_state(ov->as, ov->tmp);
		for (size_t i = 0; i < aggset_count(ov->as); i++)
			rec_splice_value(&ov->b, ov->r[r].names[i],
			    json_object_get(ov->res, aggset_name(ov->as, i)));
		json_object_clear(ov->res);
	}
	rec_splice_end(&ov->b);
	out_line(ov->out, ov->b.data, ov->b.len);
}

void over_watermark(struct over *ov, int64_t wm)
{
	size_t big = 0;

	if (ov->x != NULL) {
		overx_watermark(ov->x, wm);
		return;
	}
	for (size_t r = 1; r < ov->nr; r++)
		if (ov->r[r].len > ov->r[big].len)
			big = r;
	/* Sweep at most once per bucket of the largest range. */
	if (ov->swept != INT64_MIN && wm >= ov->swept &&
	    (uint64_t)wm - (uint64_t)ov->swept < (uint64_t)ov->r[big].width)
		return;
	ov->swept = wm;
	for (size_t i = 0; i < ov->keys.nids; i++) {
		struct ring *rg;

		if (!keytab_live(&ov->keys, i))
			continue;
		rg = ring_of(ov, ov->blocks[i], big);
		if (rg->head != INT64_MIN &&
		    (rg->head + 1) * ov->r[big].width + ov->r[big].len <= wm) {
			block_free(ov, ov->blocks[i]);
			keytab_remove(&ov->keys, (uint32_t)i);
		}
	}
}

json_t *over_snapshot(const struct over *ov)
{
	json_t *keys;

	if (ov->x != NULL)
		return overx_snapshot(ov->x);
	keys = json_array();
	for (size_t i = 0; i < ov->keys.nids; i++) {
		json_t *rings = json_array();
		size_t klen;
		const char *key;

		if (!keytab_live(&ov->keys, i))
			continue;
		key = keytab_key(&ov->keys, (uint32_t)i, &klen);
		for (size_t r = 0; r < ov->nr; r++) {
			struct ring *rg = ring_of(ov, ov->blocks[i], r);
			json_t *bk = json_array();

			for (int64_t b = 0; b < ov->nb; b++) {
				int64_t idx = *bucket_idx(ov, rg, b);

				if (idx == INT64_MIN)
					continue;
				json_array_append_new(bk, json_pack("[I,o]",
				    (json_int_t)idx, aggset_snapshot(ov->as,
				    bucket_state(ov, rg, b))));
			}
			json_array_append_new(rings, json_pack("{s:o,s:o}",
			    "head", rg->head == INT64_MIN ? json_null() :
			    json_integer(rg->head), "buckets", bk));
		}
		json_array_append_new(keys, json_pack("{s:s%,s:o}", "key", key,
		    klen, "ranges", rings));
	}
	return keys;
}

int over_restore(struct over *ov, const json_t *st, const char **why)
{
	json_t *e;
	size_t i;

	if (ov->x != NULL)
		return overx_restore(ov->x, st, why);
	if (!json_is_array(st))
		return *why = "over state is not a list (was the checkpoint "
		    "taken without --over-buckets?)", -1;
	for (i = 0; i < ov->keys.nids; i++)
		if (keytab_live(&ov->keys, i)) {
			block_free(ov, ov->blocks[i]);
			keytab_remove(&ov->keys, (uint32_t)i);
		}
	json_array_foreach(st, i, e) {
		json_t *key = json_object_get(e, "key");
		json_t *rings = json_object_get(e, "ranges");
		unsigned char *block;
		bool added;
		uint32_t id;

		if (!json_is_string(key) || json_array_size(rings) != ov->nr)
			return *why = "over state has other ranges", -1;
		id = keytab_intern(&ov->keys, json_string_value(key),
		    json_string_length(key), &added);
		ov->blocks = xgrow(ov->blocks, &ov->cap_blocks, (size_t)id + 1,
		    sizeof *ov->blocks);
		block = ov->blocks[id] = block_new(ov);
		for (size_t r = 0; r < ov->nr; r++) {
			struct ring *rg = ring_of(ov, block, r);
			json_t *x = json_array_get(rings, r), *bk, *b;
			size_t j;

			rg->head = json_is_integer(json_object_get(x, "head")) ?
			    json_integer_value(json_object_get(x, "head")) :
			    INT64_MIN;
			bk = json_object_get(x, "buckets");
			json_array_foreach(bk, j, b) {
				int64_t idx = json_integer_value(json_array_get(b, 0));
				int64_t slot = slot_of(ov, idx);

				*bucket_idx(ov, rg, slot) = idx;
				aggset_free_state(ov->as, bucket_state(ov, rg, slot));
				if (aggset_restore(ov->as, bucket_state(ov, rg, slot),
				    json_array_get(b, 1), why) < 0)
					return -1;
			}
		}
	}
	return 0;
}

size_t over_bytes(const struct over *ov)
{
	size_t n = keytab_bytes(&ov->keys) + ov->cap_blocks * sizeof *ov->blocks;

	if (ov->x != NULL)
		return n + overx_bytes(ov->x);

	for (size_t i = 0; i < ov->keys.nids; i++) {
		if (!keytab_live(&ov->keys, i))
			continue;
		for (size_t r = 0; r < ov->nr; r++) {
			struct ring *rg = ring_of(ov, ov->blocks[i], r);

			n += sizeof *rg + aggset_state_bytes(ov->as,
			    cache_of(ov, rg));
			for (int64_t b = 0; b < ov->nb; b++)
				n += sizeof(int64_t) + aggset_state_bytes(ov->as,
				    bucket_state(ov, rg, b));
		}
	}
	return n;
}
