/*
 * join_out.h - how fs-join puts a joined row together from its two sides.
 *
 * A row holds the left record's members, then the right's, each under
 * its side's prefix, or only the members a side's field list selects
 * (PATH[:NAME]).  Every row of a join has the same members, as Flink
 * SQL's rows do: a side missing from an outer join's row gives null for
 * each selected member, or, without a field list, for each member that
 * side's records have had so far (join_out_learn(), at most
 * JOIN_OUT_MAX_NAMES names; a warning says when there are more).
 * Without a left field list, the join key is added under the left key's
 * paths where it is not already there, so rows of an unmatched right
 * record carry it too.  A window join's window members are left out (the
 * caller writes them once).
 *
 * A name both sides fill with different values is a collision: the
 * earlier (left) value is kept, the name is warned about once, and
 * collisions counts it.  Equal values are the same fact twice, and a
 * null gives way to a value.
 */
#ifndef FS_JOIN_OUT_H
#define FS_JOIN_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hashtab.h"
#include "join.h"
#include "join_timers.h"

/* An outer join without a field list learns this many member names of
 * a side that may be missing, at most. */
#define JOIN_OUT_MAX_NAMES 1000

struct join_out {
	const struct join_config *cfg;
	struct buf nb;          /* scratch: a prefixed member name */
	struct hashtab warned;     /* names warned about (keys owned) */
	uint64_t collisions;
	/* The member names of each side learned so far, in the order first
	 * seen (owned); learn[s]: side s may be missing and has no field
	 * list. */
	bool learn[2];
	struct hashtab known[2];
	char **names[2];
	size_t nnames[2], capnames[2];
};

void join_out_init(struct join_out *jo, const struct join_config *cfg);
void join_out_free(struct join_out *jo);
/* The row of l and r (either may be NULL), a new object; key is the
 * encoded join key (path.h's keyspec_encode()). */
json_t *join_out_row(struct join_out *jo, json_t *l, json_t *r,
    const char *key, size_t keylen);

/* Notes the members of a record of side s (when side s may be missing
 * from a row and has no field list). */
void join_out_learn(struct join_out *jo, int s, const json_t *rec);
/* The names learned, as [[left...],[right...]] for a checkpoint, and
 * back: -1 when v is not such an array. */
json_t *join_out_names(const struct join_out *jo);
int join_out_restore_names(struct join_out *jo, const json_t *v);

#endif
