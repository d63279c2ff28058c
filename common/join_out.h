/*
 * join_out.h - how fs-join puts a joined row together from its two sides.
 *
 * A row holds the left record's members, then the right's, each under
 * its side's prefix, or only the members a side's field list selects
 * (PATH[:NAME]; a missing side then gives null for each, as Flink SQL's
 * outer joins do).  Without a left field list, the join key is added
 * under the left key's paths where it is not already there, so rows of
 * an unmatched right record carry it too.  A window join's window
 * members are left out (the caller writes them once).
 *
 * A name both sides fill with different values is a collision: the
 * earlier (left) value is kept, the name is warned about once, and
 * collisions counts it.  Equal values are the same fact twice, and a
 * null gives way to a value.
 */
#ifndef FS_JOIN_OUT_H
#define FS_JOIN_OUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "join.h"
#include "join_map.h"

struct join_out {
	const struct join_config *cfg;
	struct buf nb;          /* scratch: a prefixed member name */
	struct jmap warned;     /* names warned about (keys owned) */
	uint64_t collisions;
};

void join_out_init(struct join_out *jo, const struct join_config *cfg);
void join_out_free(struct join_out *jo);
/* The row of l and r (either may be NULL), a new object; key is the
 * encoded join key (path.h's keyspec_encode()). */
json_t *join_out_row(struct join_out *jo, json_t *l, json_t *r,
    const char *key, size_t keylen);

#endif
