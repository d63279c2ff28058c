/*
 * agg_over.h - over aggregation for fs-agg: for each event, the
 * aggregates of its key over trailing ranges (5m, 1h, 24h at once),
 * emitted with the event itself, as a live feature store wants them.
 *
 * Two modes.  Exact (buckets 0, the default): Flink SQL's RANGE BETWEEN
 * INTERVAL R PRECEDING AND CURRENT ROW, each event held until the
 * watermark passes its time and then written with the aggregates of
 * its key's events in [t - R, t] (agg_over_exact.h).  Bucketed (fs-agg
 * --over-buckets N), an approximation written at once, below.
 *
 * Bucketed state holds no raw events: each range R is cut into N
 * buckets of R/N (fs-agg --over-buckets N), held in a ring per key.  An
 * event at t updates the bucket holding t in every ring, and its result
 * for R merges the N buckets ending with that bucket: they start up to
 * one bucket (R/N) after t - R, so the oldest events of the range are
 * left out and results run low.
 * Merging N buckets per event is avoided: each ring caches the merge of
 * its buckets before the newest, so an in-order event costs one merge
 * per range; an out-of-order event invalidates the cache.
 *
 * An event older than the smallest ring's reach (its bucket has left the
 * ring) is late: it goes to the late policy, and updates nothing.  A key
 * whose newest bucket has fallen out of its largest range, behind the
 * watermark, is freed.
 *
 * Output: the event's own bytes with NAME_RANGE members spliced in, in
 * range order, then aggregate order (e.g. clicks_5m, clicks_1h).
 */
#ifndef FS_AGG_OVER_H
#define FS_AGG_OVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "aggfn.h"
#include "lineio.h"
#include "out.h"
#include "path.h"
#include "reject.h"
#include "window/window_late.h"

struct over;

/*
 * ranges is the option text ("5m,1h,24h"); buckets is N, or 0 for exact
 * ranges.  The other arguments are borrowed for the life of the over.
 * Returns NULL with *why on a bad range list, or on an aggregate exact
 * ranges do not take (aggset_large()).
 */
struct over *over_new(const char *ranges, int64_t buckets, struct aggset *as,
    const struct keyspec *ks, struct out *out, struct rejects *rj,
    const struct lineio *lr, struct late *late, const char **why);
void over_free(struct over *ov);

/* One data record with event time t; line/len are its bytes. */
void over_record(struct over *ov, const json_t *obj, int64_t t,
    const char *line, size_t len);

/* The watermark moved to wm: exact ranges write the events before it;
 * both modes free keys whose state the watermark has expired. */
void over_watermark(struct over *ov, int64_t wm);

json_t *over_snapshot(const struct over *ov);
int over_restore(struct over *ov, const json_t *st, const char **why);

/* Bytes of state held (for --stats). */
size_t over_bytes(const struct over *ov);

#endif
