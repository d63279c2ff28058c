/*
 * aggfn.h - the aggregate functions fs-agg computes, many in one pass.
 *
 * An aggregate set is compiled once from option text (one spec per
 * --agg), then used on any number of per-key (per-key-and-window) states.
 * A state is one contiguous block of aggset_state_size() bytes that the
 * caller allocates (inside its own hash table entry, say); fixed-size
 * aggregates live in it entirely, so count,sum,avg,min,max on one field
 * takes 72 bytes and no malloc.  Sketches, sets and lists keep a pointer
 * in the block and allocate on their first value.
 *
 * Spec syntax (fs-agg(1) has the user-facing text):
 *
 *   NAME=FUNC[:FIELD[:PARAM]][:if:COND[&COND]...]
 *
 *   count                     records
 *   count:F                   records where F is present and not null
 *   sum:F  sum0:F  avg:F      sum (null when no value; sum0 gives 0), mean
 *   min:F  max:F              numbers only
 *   first:F  last:F           by event time; ties by arrival; any JSON value
 *   count_distinct:F          exact; numbers equal by value (1 == 1.0)
 *   approx_count_distinct:F[:P]  HyperLogLog, 2^P registers (P 4..18,
 *                             default 14: standard error 0.81%)
 *   percentile:F:Q[:ALPHA]    DDSketch, Q in [0,1], relative accuracy
 *                             ALPHA (default 0.01); the quantile is
 *                             SQL's PERCENTILE_DISC (ddsketch.h)
 *   variance var_samp var_pop stddev stddev_samp stddev_pop  (Welford)
 *   last_n:F:N                the N latest values by event time, oldest
 *                             first (N 1..10000)
 *   max_by:F:BY  min_by:F:BY  the values of F (any JSON) in every record
 *                             whose number BY is the extreme, arrival
 *                             order (ties all kept; grows with them)
 *
 *   COND is PATH OP VALUE with OP one of = != < <= > >=.  = and != compare
 *   to the record's value by its type: a string compares bytes, a number
 *   compares numerically when VALUE is a number, true and false compare
 *   to those words.  < <= > >= need a numeric VALUE (a compile error
 *   otherwise) and a number in the record (else the record is an error).
 *   A missing or null PATH satisfies no condition, != included.  Several
 *   conditions joined by & must all hold; they are evaluated left to
 *   right, stopping at the first that fails.  COND runs to the end of the
 *   spec, so VALUE may contain ':'; write a literal & or \ in VALUE as
 *   \& or \\.  In FIELD and condition paths a literal ':' is written \:
 *   (and a literal '.' \. as in path.h).  NAME is the output member's
 *   name, used verbatim ("@fs" is refused).
 *
 * Values: a record whose FIELD is missing or null is skipped by that
 * aggregate (as SQL skips NULL).  A non-number where a number is needed
 * (sum, avg, min, max, the variances, percentile, a < comparison) makes
 * the whole record an error: aggset_prepare() returns -1 with a reason
 * and no state is touched, so fs-agg applies its --on-error policy to
 * the line.  Results: count and count_distinct are integers; sum is an
 * integer while every input was an integer and the sum fits in int64,
 * else a real; avg, the variances and percentiles are reals; min, max,
 * first and last keep the input's value; an aggregate that saw no value
 * gives null (sum0 gives 0, last_n, max_by and min_by give []).  A
 * non-finite real result (overflow) is null.
 *
 * Aggregates with the same state (sum and avg of one field under one
 * condition; percentiles of one field with one ALPHA; the variance
 * family) share it, so asking for p50, p95 and p99 costs one sketch.
 *
 * Ownership: the aggset owns its compiled specs and a scratch area used
 * by aggset_prepare(), so one aggset is used by one thread.  States are
 * the caller's memory; aggset_free_state() releases what a state
 * allocated out of line, not the block itself.  Nothing points into a
 * block, so a state may be moved with memcpy/realloc (not copied: two
 * blocks must not share out-of-line memory).  first, last and last_n keep
 * references to values of the records applied (json_incref), so a caller
 * must not modify a record's values after applying it; freeing the
 * record is fine.
 */
#ifndef FS_AGGFN_H
#define FS_AGGFN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AGG_WHY_MAX 512

struct aggset;

/*
 * Compiles n specs.  Returns the set, or NULL with a message in
 * why[AGG_WHY_MAX] that starts with the spec, such as
 * "p=percentile:x:2: Q must be a number from 0 to 1" or "n=summ:x:
 * unknown function 'summ'; one of: count, sum, ..." (fs-agg prefixes
 * "--agg " and passes it to diag_usage).  Output names must be distinct.
 */
struct aggset *aggset_compile(const char *const *specs, size_t n, char *why);
void aggset_free(struct aggset *as);

/* The aggregates, in spec order: their count and output names. */
size_t aggset_count(const struct aggset *as);
const char *aggset_name(const struct aggset *as, size_t i);

/* A string that identifies the compiled set (its specs), stored once in
 * a checkpoint and compared on restore: states of another set cannot be
 * restored. */
const char *aggset_signature(const struct aggset *as);
/* The field paths the set reads, aggregated fields and condition paths
 * alike, for a parser that keeps only what a stage needs (recproj.h). */
const struct path *aggset_fields(const struct aggset *as, size_t *n);
/* The index (in aggset_compile's specs) of the first spec that names
 * field i of aggset_fields(): where a message says the field came from. */
size_t aggset_field_spec(const struct aggset *as, size_t i);

/* The name of aggregate function i (0, 1, ...; NULL past the last), in
 * the order fs-agg(1) lists them: for help texts and messages. */
const char *aggset_function(size_t i);

/* The output name of the first aggregate whose state is large or grows
 * with its values (count_distinct, approx_count_distinct, percentile,
 * last_n), or NULL when every state is a few fixed bytes (count, sum,
 * avg, min, max, first, last, the variances): a caller that keeps a
 * state per record (exact over aggregation) can afford only those. */
const char *aggset_large(const struct aggset *as);

/* Bytes per state block (a multiple of 8; the block must be 8-aligned). */
size_t aggset_state_size(const struct aggset *as);

/* Makes state (aggset_state_size() bytes) an empty state.  No malloc. */
void aggset_init(const struct aggset *as, void *state);

/*
 * Reads the fields and conditions of one record into the aggset's
 * scratch area.  Returns 0, or -1 with *why set (valid until the next
 * call) to a reason such as "field 'amount' is not a number: string".
 * rec is borrowed and must stay alive until the last aggset_apply() for it.
 */
int aggset_prepare(struct aggset *as, const json_t *rec, const char **why);
/* The same from the field values already found: v[i] at field i of
 * aggset_fields() (NULL: missing), borrowed likewise. */
int aggset_prepare_values(struct aggset *as, json_t *const *v,
    const char **why);

/*
 * Fields read on demand.  Field i of aggset_fields() may be when only
 * max_by and min_by read it, as FIELD, and each of their BY lies inside
 * it (a record with BY has FIELD, an object): building its value for
 * every record is then most of the work, and only a record that reaches
 * the extreme of BY needs it.  After aggset_set_lazy(), such a field's
 * v[i] is ignored by aggset_prepare_values() and get(ctx, i) gives its
 * value (borrowed, alive until the next record; NULL: missing) when a
 * record reaches the extreme.  aggset_prepare() reads every field as
 * before.
 */
typedef json_t *(*aggset_get_fn)(void *ctx, size_t i);
bool aggset_field_lazy_ok(const struct aggset *as, size_t i);
/* Field i (aggset_field_lazy_ok()) read through get from now on. */
void aggset_set_lazy(struct aggset *as, size_t i, aggset_get_fn get,
    void *ctx);

/*
 * Adds the prepared record, with event time ts, to state.  May be called
 * for several states (every window or range the record falls in).
 * Calls with equal ts count as arriving in call order (first keeps the
 * earliest arrival, last the latest); a caller without event time passes
 * one constant and gets arrival order.
 */
void aggset_apply(struct aggset *as, void *state, int64_t ts);

/* aggset_prepare() then aggset_apply(): 0, or -1 with *why and state
 * untouched. */
int aggset_update(struct aggset *as, void *state, const json_t *rec,
    int64_t ts, const char **why);

/*
 * Adds src into dst (panes or slices into a window, sessions merging).
 * src is unchanged.  For first/last ties and last_n, src's values count
 * as arriving after dst's.
 */
void aggset_merge(const struct aggset *as, void *dst, const void *src);

/* Sets each aggregate's output member in out (an object). */
void aggset_result(const struct aggset *as, const void *state, json_t *out);
/* The same members written to w's open object, in the bytes rec_dump()
 * gives for them (fs-agg's results, without building an object). */
struct rec_writer;
void aggset_result_w(const struct aggset *as, const void *state,
    struct rec_writer *w);

/* The state as JSON (a new reference) for a checkpoint. */
json_t *aggset_snapshot(const struct aggset *as, const void *state);
/* The same value appended to b in msgpack (mpjson.h), without a JSON
 * tree for the plain aggregates. */
void aggset_pack(const struct aggset *as, struct buf *b, const void *state);
/*
 * Makes state (uninitialised memory) the state snap describes.  Returns
 * 0, or -1 with *why set and state left empty (initialised, nothing
 * allocated).
 */
int aggset_restore(const struct aggset *as, void *state, const json_t *snap,
    const char **why);

/* Releases the state's out-of-line memory; state is then uninitialised. */
void aggset_free_state(const struct aggset *as, void *state);

/* Bytes the state uses: the block plus its out-of-line memory (--stats). */
size_t aggset_state_bytes(const struct aggset *as, const void *state);

/*
 * Compact states (aggfn_compact.c), for a caller that keeps millions of
 * them: a set of count, sum, sum0, avg, min and max only has a compact
 * encoding of aggset_compact_size() bytes (a multiple of 4, smaller than
 * the block; 0: the set has none), about half the block, with no
 * alignment.  It holds a state while every value was an integer and every
 * count fits in 32 bits.  aggset_compress() encodes state into c, or
 * returns false (c then undefined) when the state is beyond that: the
 * caller keeps that one as a full block from then on.  aggset_expand()
 * makes state (a block) exactly the state that was compressed, bit for
 * bit, so results, merges and snapshots are those of the block.  Compact
 * states hold no out-of-line memory.
 */
size_t aggset_compact_size(const struct aggset *as);
void aggset_compact_init(const struct aggset *as, void *c);
bool aggset_compress(const struct aggset *as, const void *state, void *c);
void aggset_expand(const struct aggset *as, const void *c, void *state);
/*
 * aggset_apply() on compact state c itself, when the prepared record
 * keeps it compact (its values integers, no overflow, counts in 32
 * bits): true.  False, with c untouched, when the caller must expand,
 * apply and compress (or promote) instead.
 */
bool aggset_compact_apply(const struct aggset *as, void *c);
/* aggset_pack() of the state compact c holds, the same bytes, read from
 * c itself (a checkpoint packs a million keys: no block expanded each). */
void aggset_pack_compact(const struct aggset *as, struct buf *b,
    const void *c);

#endif
