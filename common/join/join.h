/*
 * join.h - event-time stream joins with Flink SQL's semantics: the
 * state and the matching of fs-join(1), apart from reading its inputs.
 *
 * Three kinds:
 *
 *   interval  left l and right r with equal keys match when
 *             l + lo <= r <= l + hi.  Inner: each match is emitted as
 *             soon as its second record arrives.  Left (right, full)
 *             outer: a left record without any match is emitted alone
 *             once the watermark passes l + hi (a right one r - lo).
 *   asof      each left record is emitted, once the watermark passes its
 *             time, with the latest right record of its key whose time
 *             is <= the left's (and >= left - retention when a retention
 *             is set): never a right record from after the left's time.
 *             Inner drops left records without such a version, left
 *             outer emits them alone.
 *   window    records annotated by fs-window (window_start, window_end,
 *             or the names in the config; or panes, see
 *             join_window_spec()) match on key and window; each
 *             window's result is emitted when the watermark reaches
 *             window_end: inner, left, right, full, semi, anti.
 *
 * The join watermark is the minimum of the two sides' watermarks, each
 * kept by a window_wm.h tracker: from the side's watermark records when
 * it has sent any, else derived as (largest event time seen - max
 * out-of-orderness); an idle side (idle timeout) does not hold the
 * other back; a side at end of input has watermark +infinity.  A record
 * is late when its event time is below the join watermark when it
 * arrives (window join: when every window of it ends at or below it):
 * it is not joined, and join_add() says so, for the caller to count and
 * keep.
 *
 * Output rows are put together by join_out.h and written to the struct
 * out given to join_new().  State is freed as the watermark passes;
 * join_snapshot()/join_restore() carry it across a restart as JSON (the
 * records themselves, in arrival order).
 */
#ifndef FS_JOIN_H
#define FS_JOIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "out.h"
#include "path.h"

enum join_kind { JOIN_INTERVAL, JOIN_ASOF, JOIN_WINDOW };
enum join_type { JT_INNER, JT_LEFT, JT_RIGHT, JT_FULL, JT_SEMI, JT_ANTI };
enum { JOIN_LEFT = 0, JOIN_RIGHT = 1 };

#define JOIN_WINDOW_START "window_start"
#define JOIN_WINDOW_END "window_end"
#define JOIN_WINDOW_TIME "window_time"

/* One projected member: the value at path, written as name. */
struct join_field {
	struct path path;
	char *name;             /* owned */
	bool renamed;           /* name given explicitly: no prefix */
};

/* How one side's members go into an output record. */
struct join_side_out {
	const char *prefix;     /* before every member name */
	struct join_field *fields;      /* NULL: every member */
	size_t nfields;
};

struct join_config {
	enum join_kind kind;
	enum join_type type;
	int64_t lo, hi;         /* interval bounds, ms */
	int64_t retention;      /* asof lookback, ms; < 0: unlimited */
	int64_t max_ooo;        /* for derived watermarks, ms */
	int64_t idle;           /* idle timeout, ms; 0: none (window_wm.h) */
	const struct keyspec *key[2];
	const struct path *time[2];     /* each side's event time */
	const char *start_field;        /* window bounds, JOIN_WINDOW_* */
	const char *end_field;
	struct join_side_out side[2];
};

enum join_result { JOIN_OK, JOIN_LATE, JOIN_BAD };

struct join_stats {
	uint64_t in[2], late[2], out, held, peak_held, collisions;
};

struct join;

/* Parses "path[:name],..." into fields; -1 on an empty or bad part. */
int join_fields_parse(const char *text, struct join_field **fields,
    size_t *n);
void join_fields_free(struct join_field *fields, size_t n);

/* cfg and what it points to must outlive the join. */
struct join *join_new(const struct join_config *cfg, struct out *o);
void join_free(struct join *j);

/*
 * May join_add() be given records parsed keeping only the members the
 * config names (the keys, times, field lists and window bounds, as
 * recproj.h parses them)?  Not when the member names of a side without
 * a field list are learned for outer rows (join_out.h).
 */
bool join_projects(const struct join *j);
/* Says that join_add() is given such projections from now on: a record
 * of a side without a field list is then parsed whole from its line
 * when it goes into a row. */
void join_set_projected(struct join *j, bool on);

/*
 * Adds a data record of side s: obj is its parse (borrowed), line its
 * bytes (copied when the record is held).  JOIN_BAD: missing key, time
 * or window members, *why says which; JOIN_LATE: see above.  Matches and
 * the results of the watermark it moves are written out.
 */
enum join_result join_add(struct join *j, int s, json_t *obj,
    const char *line, size_t len, const char **why);
/* A watermark control record on side s (the interleaved input gives
 * s = -1: both sides). */
void join_watermark(struct join *j, int s, int64_t ts);
/*
 * An fs-window spec record ({"@fs":"window",...}) on side s (-1: both).
 * When it says records carry panes (HOP, CUMULATE without --explode), a
 * window join assigns each record to every window holding its time, as
 * Flink's window join of those TVFs does.  Returns 0, or -1 with a
 * warning when the record is not understood (it is then ignored).
 */
int join_window_spec(struct join *j, int s, const json_t *spec);
/* Side s reached end of input: its watermark becomes +infinity. */
void join_end(struct join *j, int s);
/* The wall clock reads now: idle sides stop holding the watermark. */
void join_tick(struct join *j, int64_t now);

/* Writes {"@fs":"watermark"} for the output watermark when it moved
 * since the last one written (interval joins hold it back by the bound,
 * so that both sides' times stay on time downstream). */
void join_flush_watermark(struct join *j);

json_t *join_snapshot(struct join *j);
/* Replaces the state with st; -1 with a message on a malformed state. */
int join_restore(struct join *j, const json_t *st);

void join_get_stats(const struct join *j, struct join_stats *st);

/* fs-join's inputs and checkpoints around the join (after the above:
 * it uses them). */
#include "join_run.h"

#endif
