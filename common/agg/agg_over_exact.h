/*
 * agg_over_exact.h - exact over aggregation (private to agg/; fs-agg
 * reaches it through agg_over.h without --over-buckets).
 *
 * Flink SQL's RANGE BETWEEN INTERVAL 'R' PRECEDING AND CURRENT ROW on
 * event time: each row is held per key until the watermark passes its
 * time t (t < watermark), then written with the aggregates of its key's
 * rows with time in [t - R, t], its peers at t included, so rows with
 * the same time get the same result.  Rows are written in event-time
 * order (ties in arrival order); a row whose time is behind the
 * watermark when it arrives is late and changes nothing.
 *
 * Each key keeps its rows in time order, one aggregate state per row
 * (fixed-size aggregates only: aggset_large()), and per range a
 * two-stack queue over the rows in range: a back state (the merge of the
 * rows added since the last flip) and, for the older rows, suffix
 * merges built at a flip.  A result is two merges; each row is merged
 * three times per range over its life (into the back state, and twice
 * when a flip builds the suffixes).  Rows behind every range are freed.
 */
#ifndef FS_AGG_OVER_EXACT_H
#define FS_AGG_OVER_EXACT_H

#include "agg_over.h"

/* One range: its length (ms), the bucket width (bucketed mode only),
 * and its output names, NAME_RANGE by aggregate. */
struct over_range {
	int64_t len, width;
	char **names;
};

struct overx;

/* r (nr ranges) and the other arguments are borrowed for the life of
 * the overx. */
struct overx *overx_new(const struct over_range *r, size_t nr,
    struct aggset *as, const struct keyspec *ks, struct out *out,
    struct rejects *rj, const struct lineio *lr, struct late *late);
void overx_free(struct overx *x);
void overx_record(struct overx *x, const json_t *obj, int64_t t,
    const char *line, size_t len);
/* Writes every held row with time < wm, then frees idle keys. */
void overx_watermark(struct overx *x, int64_t wm);
json_t *overx_snapshot(const struct overx *x);
int overx_restore(struct overx *x, const json_t *st, const char **why);
size_t overx_bytes(const struct overx *x);

/* What both OVER modes do first with a row: its key encoded into
 * keybuf (emptied first) and the aggregates' inputs prepared; false,
 * the line rejected with the reason, when a key field or an input is
 * missing. */
bool over_key_prepare(const struct keyspec *ks, struct aggset *as,
    const json_t *obj, struct buf *keybuf, struct rejects *rj,
    const struct lineio *lr, const char *line, size_t len);

#endif
