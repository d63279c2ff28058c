/*
 * recproj.h - parse a record keeping only the members a stage reads.
 *
 * fs-window and fs-agg read a handful of members of every record (the
 * event time, the key, the aggregated fields) and pass the rest on as
 * the original bytes.  Building a whole jansson object per line was most
 * of their time, so a projection validates the line in full with
 * simdjson (UTF-8, structure, one value per line: about ten times faster
 * than jansson) and builds jansson values for the kept paths only.
 * When every kept path is one member (what fs-window and fs-agg keep),
 * one scan of the line without simdjson (rec_quick_members, twice as
 * fast on short records: no tape) validates it and finds the kept
 * values, which are read straight from the bytes; a line that scan is
 * not sure of, or a kept value that is a container or a string with an
 * escape, goes the simdjson way.  Nested paths (fs-join's bid.auction)
 * take the same scan of the line, then of each object on a kept path.
 *
 * The result is what rec_parse() would give with every other member
 * removed: the same values and types (integers stay integers), the last
 * of duplicate members, a kept member that is missing stays missing.
 * A line simdjson rejects, or that holds what jansson would reject
 * (\u0000 in a string, an integer above INT64_MAX in a kept member), is
 * handed to rec_parse(), so reasons and acceptance are rec_parse()'s.
 * One difference remains: an integer between 2^63 and 2^64 in a member
 * that is not kept is accepted here and rejected by rec_parse().
 *
 * Owns its parser and buffers; the kept paths are borrowed and must
 * outlive it.  The returned object is a new reference.
 */
#ifndef FS_RECPROJ_H
#define FS_RECPROJ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "path.h"
#include "rec.h"

#ifdef __cplusplus
extern "C" {
#endif

struct recproj;

struct recproj *recproj_new(void);
/* Keeps the member at p (borrowed). */
void recproj_keep(struct recproj *rp, const struct path *p);
/* Keeps a top-level member by name (copied). */
void recproj_keep_name(struct recproj *rp, const char *name);
/* Off: every line goes the simdjson way, also for a flat projection
 * (scripts/bench-engine's simdjson ceiling measures simdjson itself). */
void recproj_set_quick(struct recproj *rp, bool on);
/* Like rec_parse(): a new object of the kept members, or NULL and why. */
json_t *recproj_parse(struct recproj *rp, const char *line, size_t len,
    char *why);
/*
 * The top-level member name of obj, an object this rp returned last:
 * what json_object_get(obj, name) gives (borrowed), found without
 * hashing when name is kept and obj is the flat projection.
 */
json_t *recproj_member(const struct recproj *rp, const json_t *obj,
    const char *name);
void recproj_free(struct recproj *rp);

/*
 * The one read step of a record loop: a line that may be a control
 * record (rec_line_maybe_control) is parsed whole and classified into
 * *c; any other line goes through the projection and is data
 * (c->kind == CTL_NONE).  A line with "@fs" only inside a value comes
 * back whole, as data.  Returns a new reference, or NULL with why.
 * CTL_INVALID comes back with its object and the reason in why.
 */
json_t *recproj_read(struct recproj *rp, const char *line, size_t len,
    struct ctl *c, char *why);

#ifdef __cplusplus
}
#endif

#endif
