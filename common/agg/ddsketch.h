/*
 * ddsketch.h - DDSketch quantiles with a relative error guarantee
 * (Masson, Rim, Lee: "DDSketch: a fast and fully-mergeable quantile
 * sketch with relative-error guarantees", VLDB 2019).
 *
 * With relative accuracy alpha, gamma = (1 + alpha) / (1 - alpha) and a
 * value v > 0 falls in bucket ceil(log_gamma(v)); negative values go to
 * a mirrored store by -v, zero to a counter of its own.  A bucket i is
 * answered by 2 gamma^i / (gamma + 1), which is within alpha * v of every
 * v in the bucket.  So the q-quantile x is returned as x' with
 * |x' - x| <= alpha |x|, for any input distribution, merged or not.
 * The q-quantile is SQL's PERCENTILE_DISC: the smallest value with at
 * least q n of the n values at or below it, the value of 1-based rank
 * ceil(q n) in the sorted input (the median of 1,2,3,4 is 2; the 0.95
 * quantile of 20 values is the 19th).  Answers are clamped to the exact
 * minimum and maximum, so q = 0 and q = 1 are exact.
 *
 * The first DDS_EXACT values are kept as they are, so a sketch of up to
 * 32 values (most keys in most windows) answers exactly and takes at
 * most 256 bytes for them; the next value moves them into buckets.
 *
 * The guarantee holds while each store spans at most DDS_MAX_BINS
 * buckets: the ratio of the largest to the smallest nonzero |value| of
 * one sign may be up to gamma^DDS_MAX_BINS (about 10^35 at alpha 0.01).
 * Beyond that the lowest buckets (the values nearest zero) are folded
 * together, and only the quantiles that land there lose accuracy.
 * Memory is 8 bytes per bucket between the smallest and largest bucket
 * seen: about 700 buckets (5.5 KiB) for values spanning 1 to 10^6 at
 * alpha 0.01.
 *
 * The caller owns the sketch and frees it with dds_free().
 */
#ifndef FS_DDSKETCH_H
#define FS_DDSKETCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define DDS_ALPHA_DEFAULT 0.01
#define DDS_ALPHA_MIN 0.0001
#define DDS_ALPHA_MAX 0.5
#define DDS_MAX_BINS 4096
#define DDS_EXACT 32

struct ddsketch;

struct ddsketch *dds_new(double alpha);
void dds_free(struct ddsketch *s);

/* v must be finite. */
void dds_add(struct ddsketch *s, double v);
/* Adds src into dst; both must have the same alpha. */
void dds_merge(struct ddsketch *dst, const struct ddsketch *src);

uint64_t dds_count(const struct ddsketch *s);
/* The q-quantile (q in [0,1]) of a sketch holding at least one value. */
double dds_quantile(const struct ddsketch *s, double q);
double dds_alpha(const struct ddsketch *s);
/* Bytes allocated for s. */
size_t dds_bytes(const struct ddsketch *s);

/*
 * As JSON for checkpoints: {"alpha":A,"n":N,"raw":[V,...]} while the
 * values are kept exactly, then {"alpha":A,"n":N,"min":X,"max":Y,
 * "zero":Z,"pos":[FIRST_INDEX,[COUNT,...]],"neg":[FIRST_INDEX,[COUNT,...]]}.
 * dds_from_json() returns NULL with *why when j is not such an object or
 * its alpha differs from alpha.
 */
json_t *dds_to_json(const struct ddsketch *s);
struct ddsketch *dds_from_json(const json_t *j, double alpha,
    const char **why);

#endif
