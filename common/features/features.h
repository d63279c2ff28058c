/*
 * features.h - feature views of the registry (fs-registry(5)) turned
 * into what fs-features(1) prints: the shell pipeline that computes a
 * version again over archives, the as-of join of labels to its rows
 * (fs-training-set --view), and where two versions' definitions
 * differ.  Nothing here reads the store: the caller passes a view's
 * record (its bins, as JSON) and the version's entry, borrowed.
 *
 *   feat_strings.c   lists of strings: sorted, joined
 *   feat_shell.c     shell words, quoted when they need to be
 *   feat_pipeline.c  the pipeline of a version's lineage
 *   feat_asof.c      the as-of join of records to a version's rows
 *   feat_diff.c      the differences of two JSON values
 *
 * Errors come back as -1 with why; nothing here exits.
 */
#ifndef FS_FEATURES_H
#define FS_FEATURES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define FEAT_WHY_MAX 512

/* Sorts an array of strings in place. */
void feat_sort_strings(json_t *a);
/* The strings of a joined by sep ("?" for a member that is not one);
 * malloc'd. */
char *feat_join_strings(const json_t *a, const char *sep);

/* Appends ' ' and w as one shell word, single-quoted when it holds
 * anything but letters, digits and _./:=,@%+- (or is empty). */
void feat_word(struct buf *b, const char *w);

struct feat_pipeline_opts {
	const char *hosts, *ns;         /* the store the sink writes */
	const char *to_set;             /* NULL: the view's own set */
	bool training;                  /* no sink: the rows */
	char *const *files;             /* the archives; none: the files */
	int n_files;                    /* the lineage names */
};

/*
 * The pipeline that computes version id (entry e) of view name again: fs-backfill --watermarks over the archives, each stage of
 * the lineage with the options that define it, and fs-sink-aerospike
 * into the view's set or o->to_set (o->training: none).  Appended to b,
 * without a newline.  -1 with why when it cannot be one pipeline (no
 * source, a join, a Kafka source without files, a Kafka view without
 * to_set).
 */
int feat_pipeline(struct buf *b, const struct feat_pipeline_opts *o,
    const char *name, const char *id, const json_t *e, char *why,
    size_t wl);

/*
 * The fs-join stage that gives each record of its standard input the
 * row of version e of view that has the record's key and the latest
 * time at or before the record's (the rows come with --right, the
 * records' time field with --time-field, both the caller's): the row's
 * time as feature_ts, every other feature but the key under its own
 * name.  A row's time is its window's end when a window made it, else
 * the time field of the lineage's last stage.  Appended to b.
 */
void feat_asof(struct buf *b, const json_t *view, const json_t *e);

/* Called for each value where two JSON values differ: a or b is NULL
 * when only the other has it. */
typedef void feat_diff_fn(void *ctx, const char *path, const json_t *a,
    const json_t *b);

/* Calls row for where a and b (either may be NULL) differ, members in
 * a's order then b's, arrays element by element; path names the root
 * (members added as .NAME, elements as [I]). */
void feat_diff(const char *path, const json_t *a, const json_t *b,
    feat_diff_fn *row, void *ctx);

#endif
