/*
 * aggfn_state.h - the compiled aggregate set (struct aggset) and the
 * slot states it lays out in a state block, shared by the files of
 * aggfn; not an interface: tools include agg.h.
 *
 * Compilation turns each spec into an aggregate (name, function) bound
 * to a slot: a piece of state at a fixed offset in the state block.
 * Aggregates that need the same state (same kind, field, condition and
 * parameter) share one slot.  Fields and condition sets are also shared,
 * so aggset_prepare() looks each field up once per record.
 *
 * Per record: aggset_prepare() reads every field, evaluates every
 * condition set and decides which slots the record reaches, checking
 * all values first so that an error leaves every state untouched; then
 * aggset_apply() adds the prepared values to a state, slot by slot.
 *
 * The files: aggfn_spec.c compiles specs (and frees the set);
 * aggfn_prepare.c reads a record; aggfn_slot.c the operations on one
 * slot's state; aggfn_ops.c applies, merges, sizes, frees and reads out
 * whole states; aggfn_snap.c snapshots and restores them.
 */
#ifndef FS_AGGFN_STATE_H
#define FS_AGGFN_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aggfn.h"
#include "buf.h"
#include "path.h"


enum fn {
	FN_COUNT, FN_SUM, FN_SUM0, FN_AVG, FN_MIN, FN_MAX, FN_FIRST, FN_LAST,
	FN_COUNT_DISTINCT, FN_APPROX_DISTINCT, FN_PERCENTILE, FN_VAR_SAMP,
	FN_VAR_POP, FN_STDDEV_SAMP, FN_STDDEV_POP, FN_LAST_N, FN_MAX_BY,
	FN_MIN_BY
};

/* Kinds of slot state.  Numeric kinds need numbers. */
enum kind {
	K_COUNT, K_SUM, K_MIN, K_MAX, K_MOMENTS, K_FIRST, K_LAST, K_DISTINCT,
	K_HLL, K_DDS, K_LASTN, K_MAXBY, K_MINBY
};

/* --- slot states ---------------------------------------------------- */

/* Integers add exactly in i until int64 would overflow; reals (and the
 * overflowed part) add in d with Neumaier's compensation c. */
struct s_sum {
	int64_t i;
	double d;
	double c;
	uint64_t n;             /* count, with the two flags below */
};
#define SUM_REAL (UINT64_C(1) << 63)    /* a real was added */
#define SUM_OVF  (UINT64_C(1) << 62)    /* integers overflowed int64 */
#define SUM_FLAGS (SUM_REAL | SUM_OVF)

enum { EXT_NONE, EXT_INT, EXT_REAL };

/* 12 bytes, 4-aligned: the state block lays slots of 8-byte alignment
 * out first and these after them (aggfn_spec.c), so a min and a max
 * cost 24 bytes, not 32. */
struct __attribute__((packed, aligned(4))) s_ext {      /* min or max */
	union {
		int64_t i;
		double d;
	} u;
	uint32_t tag;
};

struct s_mom {                  /* Welford; merged as Chan et al. */
	uint64_t n;
	double mean;
	double m2;
};

struct s_pick {                 /* first or last */
	int64_t ts;
	json_t *v;              /* NULL: no value yet */
};

struct lastn_item {
	int64_t ts;
	json_t *v;
};

struct lastn {
	uint32_t n, cap;
	struct lastn_item it[];  /* oldest first */
};

/* max_by, min_by: the extreme of BY and the FIELD values of every
 * record that reached it, in the order they came (ties all kept). */
struct byset {
	struct s_ext best;
	uint32_t n, cap;
	json_t *v[];
};

struct dent {
	uint64_t h;
	char *b;                /* NULL: empty entry */
	size_t len;
};

struct dset {                   /* exact distinct values, open addressing */
	size_t n, cap;
	size_t bytes;           /* value bytes held */
	struct dent *t;
};

/* --- the compiled set ----------------------------------------------- */

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct cond {
	size_t field;
	enum op op;
	char *text;             /* as written, for messages */
	char *lit;              /* the value, unescaped */
	size_t litlen;
	bool lit_num, lit_int;
	double lit_d;
	int64_t lit_i;
};

struct condset {
	char *text;
	struct cond *c;
	size_t n;
};

struct slot {
	enum kind kind;
	long field;             /* -1: none; max_by, min_by: BY */
	long vfield;            /* max_by, min_by: FIELD; else -1 */
	long cset;              /* -1: unconditional */
	double param;           /* HLL p, DDSketch alpha, last_n N */
	size_t off;
};

struct agg {
	char *name;
	enum fn fn;
	size_t slot;
	double q;               /* percentile */
};

enum vtype { V_NONE, V_INT, V_REAL, V_OTHER };

/* One field of the prepared record. */
struct fval {
	const json_t *v;
	enum vtype type;
	int64_t i;
	double d;               /* the number, for V_INT too */
	bool canon_done;
	struct buf canon;       /* canonical bytes (distinct counting) */
	uint64_t hash;
};

struct aggset {
	struct agg *aggs;
	size_t naggs;
	struct slot *slots;
	size_t nslots;
	struct path *fields;
	size_t nfields;
	size_t *field_spec;     /* the first spec naming each field */
	struct condset *csets;
	size_t ncsets;
	size_t size;
	char *signature;
	/* aggset_prepare()'s scratch */
	struct fval *fv;
	bool *cs_ok;
	bool *active;
	/* aggset_set_lazy(): the fields read on demand, and how */
	bool *lazy;
	aggset_get_fn get;
	void *get_ctx;
	char why[AGG_WHY_MAX];
};

/* The pointer a pointer-holding slot keeps (the distinct set, last-N,
 * max_by/min_by).  Read before the slot's kind is known, so it may be
 * any slot's first bytes: a min or max slot is only 4-aligned, hence the
 * copy. */
static inline const void *slot_ptr(const void *p)
{
	const void *v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* --- one slot's state (aggfn_slot.c) ------------------------------------ */

void aggfn_sum_add(struct s_sum *s, const struct fval *f);
void aggfn_sum_merge(struct s_sum *d, const struct s_sum *s);
/* The real total (overflowed integers included). */
double aggfn_sum_total(const struct s_sum *s);
/* Keeps v in e when e is empty or v is beyond it (dir 1: max, -1: min). */
void aggfn_ext_take(struct s_ext *e, const struct s_ext *v, int dir);
void aggfn_ext_add(struct s_ext *e, const struct fval *f, int dir);
void aggfn_mom_add(struct s_mom *m, double x);
void aggfn_mom_merge(struct s_mom *d, const struct s_mom *s);
/* first (last false) keeps the earliest, last the latest by ts; on equal
 * ts the later call wins for last and loses for first. */
void aggfn_pick(struct s_pick *p, int64_t ts, const json_t *v, bool last);
/* Inserts v (a new reference taken) at ts into *pp (allocated on first
 * use), keeping the max latest. */
void aggfn_lastn_insert(struct lastn **pp, uint32_t max, int64_t ts,
    const json_t *v);
void aggfn_lastn_free(struct lastn *l);
/* Offers v (a new reference taken when kept) with BY value by to *pp
 * (allocated on first use): a value beyond the extreme (dir 1: max, -1:
 * min) replaces the kept ones, an equal one joins them. */
void aggfn_by_add(struct byset **pp, const struct s_ext *by, const json_t *v,
    int dir);
/* Would aggfn_by_add() keep a value with BY value by in b? */
bool aggfn_by_reaches(const struct byset *b, const struct s_ext *by, int dir);
/* The number in f as an extreme. */
void aggfn_ext_of(struct s_ext *e, const struct fval *f);
void aggfn_by_free(struct byset *b);
/* An empty set of cap entries (a power of two); freed by
 * aggfn_dset_free(). */
struct dset *aggfn_dset_new(size_t cap);
void aggfn_dset_free(struct dset *s);
/* Adds the value of canonical bytes b (hash h) unless already there. */
void aggfn_dset_insert(struct dset *s, uint64_t h, const char *b, size_t len);
/* Adds src's values into *dp (made when NULL). */
void aggfn_dset_merge(struct dset **dp, const struct dset *src);

/* --- records and results (aggfn_prepare.c, aggfn_ops.c) ----------------- */

/* Computes f's canonical bytes and hash, once per field and record. */
void aggfn_canon(struct fval *f);
/* A min or max as JSON: null when empty (a new reference). */
json_t *aggfn_ext_json(const struct s_ext *e);

#endif
