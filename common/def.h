/*
 * def.h - the definition control record: what a pipeline computes,
 * carried downstream ahead of the data (fs(7), fs-registry(5)).
 *
 *   {"@fs":"def","lineage":[PART,...]}
 *
 * Each stage adds its part, an object with "stage" (source, window,
 * agg, join) and "tool" and the members that define what it does.  A
 * stage holds its part (def_init) and, for every definition record that
 * comes, appends the part and forwards the record (def_forward).  A
 * source sends its part right after its restore (def_emit), when it
 * sends control records at all; a pipeline whose source sends none
 * carries no definition, and its stages' output stays as it was.
 *
 * def_canonical() is the definition a version is the hash of: the
 * lineage without what does not change the values (where the data came
 * from, the tool, the sink's namespace and set or topic), aggregates
 * sorted by
 * name.  def_version() hashes it (XXH64 of its sorted compact JSON, 16
 * hex digits).
 *
 * Ownership: def_init() steals the part; def_free() releases it.
 */
#ifndef FS_DEF_H
#define FS_DEF_H

#include <jansson.h>
#include <stdbool.h>

#include "out.h"

#define DEF_CONTROL "def"       /* the "@fs" value of the record */
#define DEF_VERSION_LEN 16

struct defrec {
	json_t *part;           /* this stage's part */
};

/* A new part {"stage":stage,"tool":the program's name}. */
json_t *def_part_new(const char *stage);
/* Adds "key": the fields of a --key list ("a,b"), as an array. */
void def_part_key(json_t *part, const char *keys);

void def_init(struct defrec *d, json_t *part);
/* True when obj is a definition record. */
bool def_is(const json_t *obj);
/* Appends the part to obj's lineage and writes it to o. */
void def_forward(struct defrec *d, const json_t *obj, struct out *o);
/* A source's: sends {"@fs":"def","lineage":[part]}. */
void def_emit(struct defrec *d, struct out *o);
void def_free(struct defrec *d);

/* The canonical definition of a lineage (a new array). */
json_t *def_canonical(const json_t *lineage);
/* Its version: DEF_VERSION_LEN hex digits and a NUL into out. */
void def_version(const json_t *lineage, char out[DEF_VERSION_LEN + 1]);
/* The version of the lineage less its sink parts: what the stages
 * before the sinks compute, the same for every sink of one pipeline
 * (an offline store finds the online view's version by it). */
void def_version_upstream(const json_t *lineage,
    char out[DEF_VERSION_LEN + 1]);

#endif
