/*
 * join_state.h - the state of a join (struct join), shared by the files
 * of common/join; not an interface: tools include join.h.
 *
 * All kinds keep their records in buckets found by key in one hash
 * table: a bucket is a join key's records (interval, asof) or a key and
 * window's (window).  A timer heap says when a bucket next has something
 * to do (records to expire, a window to fire, a retention to end); a
 * bucket's live timer is the one equal to b->sched, earlier pushes that
 * were superseded are skipped when they come out.  A bucket is freed
 * when it holds nothing and no timer points at it.
 *
 * The files: join.c the life cycle, adding records, the watermark and
 * writing rows; join_bucket.c held records and buckets; join_interval.c,
 * join_asof.c and join_window.c the three kinds; join_snap.c snapshot
 * and restore.  join_out.c puts rows together, join_map.c holds the
 * hash table and the timer heap.
 */
#ifndef FS_JOIN_STATE_H
#define FS_JOIN_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "hashtab.h"
#include "join.h"
#include "join_timers.h"
#include "join_out.h"
#include "recproj.h"
#include "window/winspec.h"
#include "window/window_wm.h"

/*
 * A record held in the state is kept as its line (a copy), not as a
 * parsed object: a jansson object costs about ten times the bytes, and
 * most held records (an interval join's) are never written out.  A
 * record is parsed again when it goes into an output (only for the
 * members its side's field list names), unless its part of a row was
 * kept with it (jfrag: rows of field lists) or the row is spliced from
 * the lines (join_emit_lines()).
 */
struct jrec {
	char *line;             /* owned copy, NUL-terminated */
	size_t len;
	int64_t t;
	int64_t exp;            /* interval: expired when the watermark passes */
	uint64_t seq;           /* arrival number, over both sides */
	bool matched;
	unsigned char side;     /* interval join: JOIN_LEFT or JOIN_RIGHT */
	/* Fast rows (struct join's fast): the length of the record's part
	 * of a row (jfrag), kept after the line's NUL; 0: not kept. */
	uint32_t flen;
};

/* A side's part of a fast row: its members, as a row writes them,
 * without braces ("id":1,"name":"x"); n 0: the side writes none. */
struct jfrag {
	const char *p;
	size_t n;
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
	struct hashtab map;
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
	/* join_set_projected(): the records join_add() is given hold only
	 * the members the config names. */
	bool projected;
	/* A held record of a side with a field list is parsed again keeping
	 * those fields and its key only (NULL: parsed whole). */
	struct recproj *hp[2];
	/* Rows whose members are all named by field lists, with no name
	 * twice, are written member by member (fast_row(), jfrag): the keys
	 * as rec_key_make() writes them, end[i] where the i-th ends. */
	bool fast;
	struct buf made;
	size_t *made_end;
	struct buf fa, fh;      /* scratch: an arriving and a held jfrag */
	struct buf nullfrag[2]; /* each side's jfrag when it is missing */
	struct buf wkey[3];     /* the window members' keys, made */
	/* Inner interval rows of whole records may be spliced from the two
	 * lines (join_emit_lines()); scratch for their members. */
	bool whole;
	struct jmember *mem;
	size_t capmem;
};

/* A top-level member of a line in rec_dump()'s bytes: the key's bytes
 * between its quotes, and the value's. */
struct jmember {
	const char *k, *v;
	size_t kn, vn;
};

/* --- held records and buckets (join_bucket.c) ------------------------- */

/* a + b, clamped to the int64_t range. */
int64_t join_sat_add(int64_t a, int64_t b);
/* A NUL-terminated copy of line, for the caller to free. */
char *jline_copy(const char *line, size_t len);
/* A held record as an object again (a new reference); dies if it no
 * longer parses. */
json_t *jline_parse(const char *line, size_t len);
/* The same for a held record of side s that goes into a row: only the
 * members of the side's field list and key when it has a list. */
json_t *jside_parse(struct join *j, int s, const char *line, size_t len);
json_t *jrec_parse(struct join *j, int s, const struct jrec *r);
void jvec_reserve(struct jvec *v, size_t need);
void jvec_push(struct jvec *v, struct jrec r);
/* The bucket of key (copied), made when create; NULL when absent. */
struct bucket *jbucket_get(struct join *j, const char *key, size_t klen,
    bool create);
/* Puts b on the free list when it holds nothing and no timer points at
 * it. */
void jbucket_maybe_free(struct join *j, struct bucket *b);
void jbucket_destroy(struct bucket *b);
/* Makes t b's live timer when it is earlier than the one it has. */
void jbucket_schedule(struct join *j, struct bucket *b, int s, int64_t t,
    uint64_t seq);
/* Has the watermark passed t?  At +infinity everything has. */
bool join_passed(const struct join *j, int64_t t);
/* One more record held (st.held, st.peak_held). */
void join_held_add(struct join *j);

/* --- rows, records and the life cycle (join.c) -------------------------- */

/* The part of a fast row side s's record obj makes, written into b. */
void jfrag_of_obj(struct join *j, int s, const json_t *obj, struct buf *b,
    struct jfrag *f);
/* The same for a held record: the part kept with it, or one made from
 * its line into b (a record restored from a checkpoint keeps none). */
void jfrag_of_rec(struct join *j, int s, const struct jrec *r, struct buf *b,
    struct jfrag *f);
/* A copy of line to hold, with f kept after it (*flen its length) when
 * f holds one that fits, else 0. */
char *jline_hold(const char *line, size_t len, const struct jfrag *f,
    uint32_t *flen);
/*
 * The row of an inner interval join of two whole records written from
 * their lines, when both are in the bytes rec_dump() writes and no
 * member name comes from both sides: what join_emit_row() writes for
 * their parses.  False, and nothing written, otherwise.
 */
bool join_emit_lines(struct join *j, const char *l, size_t ln, const char *r,
    size_t rn);
/* A fast row of the parts l and r (NULL: that side is missing). */
void join_emit_frags(struct join *j, const struct jfrag *l,
    const struct jfrag *r, const struct bucket *b);

/* Writes the row of l and r (either may be NULL) of bucket b. */
void join_emit_row(struct join *j, json_t *l, json_t *r,
    const struct bucket *b);
/* A semi or anti join's row: the held left record l alone. */
void join_emit_left_only(struct join *j, const struct jrec *l,
    const struct bucket *b);
/* The join watermark the sides' watermarks make now. */
int64_t join_combined_wm(const struct join *j);
/* The key of obj into j->kb and its time into *t; JOIN_BAD with *why. */
enum join_result join_extract(struct join *j, int s, const json_t *obj,
    int64_t *t, const char **why);
/* Frees every record and bucket, leaving an empty state. */
void join_clear(struct join *j);

/* --- the interval join (join_interval.c) -------------------------------- */

/* When a record of side s at time t can match nothing more. */
int64_t join_interval_exp(const struct join *j, int s, int64_t t);
void join_interval_store(struct join *j, struct bucket *b, int s,
    struct jrec r);
/* Matches a record against the other side, then holds it (key in
 * j->kb) while it can still match. */
void join_interval_add(struct join *j, int s, json_t *obj, const char *line,
    size_t len, int64_t t, uint64_t seq, const struct jfrag *f);
void join_interval_advance(struct join *j);

/* --- the as-of join (join_asof.c) --------------------------------------- */

void join_asof_store_right(struct join *j, struct bucket *b, struct jrec r);
void join_asof_store_left(struct join *j, const char *line, size_t len,
    int64_t t, uint64_t seq, const char *key, size_t klen);
/* Holds a record (key in j->kb): a left one until the watermark passes
 * its time, a right one as a version of its key. */
void join_asof_add(struct join *j, int s, const char *line, size_t len,
    int64_t t, uint64_t seq);
void join_asof_advance(struct join *j);

/* --- the window join (join_window.c) ------------------------------------ */

/* Holds r in its key (the first keylen bytes of j->kb) and window. */
void join_window_store(struct join *j, int s, struct jrec r, size_t keylen,
    int64_t ws, int64_t we);
/* The windows of a record into j->wstart/j->wend: how many, or -1. */
int join_window_bounds(struct join *j, int s, const json_t *obj, int64_t t,
    const char **why);
/* Holds a record in each of its n windows still open; JOIN_LATE when
 * none is. */
enum join_result join_window_add(struct join *j, int s, const char *line,
    size_t len, int n, const struct jfrag *f, const char **why);
void join_window_advance(struct join *j);

#endif
