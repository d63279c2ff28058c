/*
 * path.h - dotted field paths and compound keys.
 *
 * A path names a member of a record, descending into nested objects:
 * "user.id" is obj["user"]["id"].  A member whose name itself contains a
 * dot is written with a backslash: "a\.b".  A key spec is a
 * comma-separated list of paths ("user_id,country").
 *
 * Paths and key specs are compiled once from option text and freed with
 * path_free()/keyspec_free().  Lookups borrow from the record.
 */
#ifndef FS_PATH_H
#define FS_PATH_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

struct path {
	char *text;     /* as given, for messages */
	char **parts;
	size_t n;
	/* Ready-made reasons for etime_get(), naming the field. */
	char *why_missing;      /* "missing time field 'ts'" */
	char *why_unparsable;   /* "unparsable time field 'ts'" */
};

struct keyspec {
	struct path *paths;
	size_t n;
};

/* Returns 0, or -1 when text is empty or has an empty part ("a..b"). */
int path_compile(struct path *p, const char *text);
void path_free(struct path *p);
/* The value at p, or NULL when any step is missing or not an object. */
json_t *path_get(const struct path *p, const json_t *obj);
/* Sets the value at p (steals v), creating intermediate objects.
 * Returns -1 when an intermediate member exists and is not an object. */
int path_set(const struct path *p, json_t *obj, json_t *v);

int keyspec_compile(struct keyspec *k, const char *text);
void keyspec_free(struct keyspec *k);

/*
 * Appends the canonical key of obj to out: the compact JSON of each key
 * value, separated by 0x1f.  Two records have equal keys exactly when
 * their canonical keys are equal bytes.  Returns 0, or -1 when a key
 * path is missing (missing receives the path's text) or its value is an
 * object or array.
 */
#define KEYSPEC_SEP '\x1f'
int keyspec_encode(const struct keyspec *k, const json_t *obj,
    struct buf *out, const char **missing);
/* The same from the key values already found: v[i] at k's path i
 * (NULL: missing). */
int keyspec_encode_values(const struct keyspec *k, json_t *const *v,
    struct buf *out, const char **missing);

/* Sets the key members of a result record from an encoded key, so an
 * aggregate or join output carries the key fields under their paths. */
int keyspec_decode_into(const struct keyspec *k, const char *key,
    size_t len, json_t *obj);

#endif
