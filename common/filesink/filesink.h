/*
 * filesink.h - the offline store of fs-sink-file(1): rows into files
 * under a directory, partitioned by event time, committed exactly once
 * at checkpoints.
 *
 * Layout.  A row with event time T goes to DIR/PART/NAME, PART being
 * strftime(3) of the partition pattern at T in UTC (default
 * "dt=%Y-%m-%d/hour=%H"; "" puts every file in DIR).  A file is written
 * as DIR/PART/.NAME.inprogress and becomes DIR/PART/NAME only by a
 * rename (renameat2 RENAME_NOREPLACE: a commit never replaces a file),
 * so a reader listing DIR never sees a partial file: tools that read
 * such trees (Spark, Hive, Flink, pandas) skip names beginning with '.'.
 * NAME is PREFIX-TOKEN-SEG-SEQ.EXT: TOKEN is fixed when a run starts
 * fresh and kept in its checkpoints (restarts of one run write the same
 * names; another run never clashes), SEG the checkpoint the file belongs
 * to (the one after the barrier before it was opened; 0 without
 * checkpoints), SEQ counts the files of that checkpoint.
 *
 * Formats (fsk_out.c): NDJSON, the input lines as they came, plain,
 * gzip or zstd; Avro object container files, codec null or deflate,
 * rows encoded by the schema library (schema.h) under a schema given or
 * inferred from the first row (fsk_schema.c says how).
 *
 * Exactly once (filesink.c).  A file is closed when it reaches the
 * size limit, when more partitions are open than allowed (the one used
 * least recently), and at every checkpoint barrier; a closed file
 * stays in progress, pending, until a checkpoint that covers it is
 * complete.  The snapshot at barrier N closes every open file and
 * records every pending file in the checkpoint's state; once N is
 * complete (the caller asks the store) they are renamed into place.
 * A restore from N renames what N's state lists (a run that died
 * between the checkpoint and the renames) and removes every other
 * in-progress file of this prefix under DIR: what they held comes again
 * from the replay after N.  So after any kill and a restart from the
 * newest complete checkpoint, the committed files hold every row
 * exactly once.  One writer per DIR and PREFIX.
 *
 * Without checkpoints a file is committed as soon as it is closed, and
 * at the end of input every open file is closed and committed.
 *
 * Errors: a row that cannot be written (no schema inferred from it, or
 * it does not fit the schema) returns -1 with why, for the caller's
 * --on-error; an I/O error on the store is fatal (exit 1 with the
 * path), since a checkpoint must never cover rows that are not on disk.
 */
#ifndef FS_FILESINK_H
#define FS_FILESINK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FSK_ERR_MAX 512
#define FSK_PARTITION_DEFAULT "dt=%Y-%m-%d/hour=%H"
#define FSK_PREFIX_DEFAULT "part"

enum fsk_format { FSK_NDJSON, FSK_AVRO };
/* The words of --format and --compress, in enum order. */
extern const char *const fsk_format_words[];
enum fsk_codec { FSK_NONE, FSK_GZIP, FSK_ZSTD, FSK_DEFLATE };
extern const char *const fsk_codec_words[];

/* --- partitions (fsk_part.c) --------------------------------------------- */

/* 0 when pattern makes relative paths of plain components (no "..",
 * no empty component, not absolute) for times in 1970-9999; else -1
 * with why. */
int fsk_part_check(const char *pattern, char *why, size_t wl);
/* The partition of event time ms (UTC) into out[n]. */
void fsk_part_path(const char *pattern, int64_t ms, char *out, size_t n);

/* --- one file being written (fsk_out.c) ---------------------------------- */

struct fsk_out;

/* Creates path (O_EXCL) and writes the format's header: for Avro the
 * schema text and a sync marker derived from path.  NULL with why. */
struct fsk_out *fsk_out_open(const char *path, enum fsk_format f,
    enum fsk_codec c, const char *schema_text, char *why, size_t wl);
/* Appends one row: an NDJSON line (its '\n' is added) or one
 * Avro-encoded datum.  -1 with why on a write error. */
int fsk_out_write(struct fsk_out *o, const void *p, size_t n, char *why,
    size_t wl);
/* Bytes on disk so far (a compressor's buffer aside). */
uint64_t fsk_out_size(const struct fsk_out *o);
uint64_t fsk_out_rows(const struct fsk_out *o);
/* Finishes the format, fsyncs and closes, and frees o; -1 with why
 * (o freed all the same). */
int fsk_out_close(struct fsk_out *o, char *why, size_t wl);
/* Closes without finishing (the file is to be removed); frees o. */
void fsk_out_abort(struct fsk_out *o);

/* --- Avro schema inference (fsk_schema.c) -------------------------------- */

/* The schema (JSON, a new reference) inferred from row, or NULL with
 * why (a member name Avro does not allow). */
json_t *fsk_schema_infer(const json_t *row, char *why, size_t wl);

/* --- the store (filesink.c) ---------------------------------------------- */

struct filesink_opts {
	const char *dir;                /* the store's root */
	const char *partition;          /* strftime pattern, "" for none */
	const char *prefix;             /* of file names */
	enum fsk_format format;
	enum fsk_codec codec;
	const char *schema_text;        /* Avro: given; NULL: inferred */
	uint64_t max_bytes;             /* roll a file at this size */
	size_t max_open;                /* open files at most */
	bool checkpointed;              /* commit at complete checkpoints */
};

struct filesink;

/* Checks the options (schema text included): NULL with why. */
struct filesink *filesink_new(const struct filesink_opts *o, char *why,
    size_t wl);
/* Writes row (event time ms; line[0..len) its NDJSON text).  -1 with
 * why when the row cannot be written (it is not). */
int filesink_write(struct filesink *fs, int64_t ms, const json_t *row,
    const char *line, size_t len, char *why, size_t wl);
/* At barrier id: closes every open file and returns the state (a new
 * reference): token, inferred schema, every pending file and its
 * checkpoint. */
json_t *filesink_snapshot(struct filesink *fs, uint64_t id);
/* Takes a checkpoint's state (borrowed) of checkpoint id; 0, or -1 with
 * why.  filesink_recover() then finishes the restore. */
int filesink_restore(struct filesink *fs, const json_t *state, uint64_t id,
    char *why, size_t wl);
/* After the restore record (of any id, 0 too): commits what the
 * restored state lists as pending and removes every other in-progress
 * file of this prefix under the directory. */
void filesink_recover(struct filesink *fs);
/* The oldest checkpoint with pending files, 0 when none. */
uint64_t filesink_pending_oldest(const struct filesink *fs);
/* The pending checkpoints, oldest first (*n set; malloc'd). */
uint64_t *filesink_pending_ids(const struct filesink *fs, size_t *n);
/* Commits the files of every checkpoint up to id (complete). */
void filesink_commit(struct filesink *fs, uint64_t id);
/* Without checkpoints, at the end: closes and commits every file. */
void filesink_close_all(struct filesink *fs);
/* Stopping before a checkpoint: removes the open (uncommitted) files of
 * the checkpoint in progress; pending ones stay for a restart. */
void filesink_abandon(struct filesink *fs);
void filesink_free(struct filesink *fs);

/* Counts for --stats. */
struct filesink_stats {
	uint64_t rows, files_opened, files_committed, bytes_committed;
	uint64_t removed;       /* in-progress files removed at a restore */
};
const struct filesink_stats *filesink_stats(const struct filesink *fs);

/*
 * The hook for the feature registry (issue 14): where and how this
 * store keeps a view's rows, as the registry records a view's offline
 * location (a new reference):
 *   {"uri":"file:///ABS/DIR", "layout":PATTERN, "format":"ndjson"|"avro",
 *    "compression":CODEC, "prefix":PREFIX, "schema":AVRO-SCHEMA-TEXT}
 * "schema" only once known (given, or inferred from the first row).
 * The caller adds what is its own (the time field, the view's name);
 * nothing here depends on the registry.
 */
json_t *filesink_location(const struct filesink *fs);

#endif
