/*
 * as_registry.h - a feature view's entry in the registry that lives in
 * the online store: set fs_registry of the view's namespace, one record
 * per view, plain bins and maps (fs-registry(5) is the format).
 *
 * fs-sink-aerospike opens one (as_registry_open), defines its version
 * from the lineage it received (as_registry_define: refuses a version
 * that is not the one in the plain bins unless version_bins), notes
 * what it writes (as_registry_note) and the watermarks it passes, and
 * updates the entry (as_registry_update) after every write so far is
 * acknowledged.  Every change is read, merged and written back with a
 * generation check, so writers of one view lose nothing of each other.
 *
 * Commands run on an executor of their own on the caller's cluster, one
 * at a time, waited for.  Errors come back as -1 with a reason in why;
 * nothing here exits.
 */
#ifndef FS_AS_REGISTRY_H
#define FS_AS_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "as_cluster.h"
#include "as_exec.h"
#include "as_key.h"

#define AS_REGISTRY_SET "fs_registry"
/* The index record: bin "views", a map from each view to its set.
 * View names starting with '@' are reserved. */
#define AS_REGISTRY_INDEX "@views"
#define AS_REGISTRY_WHY_MAX 512

struct as_registry {
	struct as_exec *ex;
	struct as_key key;      /* the view's record */
	char *view, *set, *key_sep;
	/* Set by the caller after as_registry_open(), borrowed: */
	const char *topic;      /* a view written to Kafka: its topic */
	const char *refusal;    /* what to do about a refused version
				 * (default: the sink's --version-bins, -s,
				 * --view) */
	json_t *keys;           /* the --key fields */
	json_t *lineage;        /* NULL until defined */
	char version[17];
	int64_t n;              /* the version's number */
	bool suffixed;          /* its bins are NAME_vN */
	char suffix[24];        /* "_vN", or "" */
	json_t *seen;           /* feature -> {"bin":..,"types":{type:true}} */
	bool dirty;             /* something to tell since the last update */
	bool wrote;             /* writes acknowledged since then */
	bool has_wm;
	int64_t wm;             /* the newest watermark passed */
	/* the answer of the command in flight */
	int rc;
	uint32_t gen;
	json_t *bins;
	char why[320];
};

/* Prepares r for view (namespace.set by default) on cluster c. */
void as_registry_open(struct as_registry *r, struct as_cluster *c,
    const struct as_exec_opts *eo, const char *view, const char *set,
    const char *keys, const char *key_sep);
void as_registry_close(struct as_registry *r);

/* Registers the lineage (stolen) as this writer's version: 0, or -1
 * with why (the store failed, or the plain bins hold another version
 * and version_bins is false). */
int as_registry_define(struct as_registry *r, json_t *lineage,
    bool version_bins, char *why);

/* A value of feature name (a record member) is being written.  Cheap:
 * called for every bin of every record. */
void as_registry_note(struct as_registry *r, const char *name, size_t nlen,
    const json_t *v);
/* The same for a value of type t, a name of fs-registry(5) ("integer",
 * "float", "string", "boolean", ...; NULL: null, nothing noted). */
void as_registry_note_type(struct as_registry *r, const char *name,
    size_t nlen, const char *t);
/* Watermark ts passed the sink (its results are written before it). */
void as_registry_watermark(struct as_registry *r, int64_t ts);
/* Writes were acknowledged: the next update sets last_written. */
void as_registry_wrote(struct as_registry *r);

/* Merges what was noted into the version's entry, once the caller has
 * every write so far acknowledged.  Nothing to tell: 0 at once. */
int as_registry_update(struct as_registry *r, char *why);

/*
 * An offline store of the view (fs-sink-file): records location
 * (borrowed; its "uri" names it) as versions[V].offline[uri] of the
 * version V whose lineage, less its sink parts, computes what lineage
 * (borrowed, the offline sink's) does (def_version_upstream).  1 with
 * V's id in version, 0 when the view has no such version (yet), -1 with
 * why.  r opened with the view's name.
 */
int as_registry_offline(struct as_registry *r, const json_t *lineage,
    const json_t *location, char version[17], char *why);

/* Reads the registry record name (a view, or AS_REGISTRY_INDEX): 1 with
 * its bins in *out (a new reference), 0 when there is none, -1 with
 * why.  For readers: r opened with any view name. */
int as_registry_get(struct as_registry *r, const char *name, json_t **out,
    char *why);

#endif
