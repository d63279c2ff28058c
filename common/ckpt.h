/*
 * ckpt.h - the checkpoint store shared by the stages of one pipeline.
 * The format and the barrier protocol are fs-checkpoint(5); in short:
 *
 *   DIR/STAGE/ID.ckpt    one file per stage and checkpoint id, written
 *                        atomically (temporary file, fsync, rename,
 *                        fsync of the directory)
 *
 * A file is a header line (JSON: format, version, stage, id, created,
 * payload length and XXH64 checksum) followed by the payload, the
 * stage's state as JSON.  Checkpoint N is complete when every stage
 * directory in DIR holds a valid file for N: barriers travel in order
 * from the source to the last stage, so the last stage to write N is the
 * pipeline's last stage.  A file that is truncated or fails its checksum
 * does not count, so the previous complete checkpoint is used, with a
 * warning.
 *
 * Every function reports its own errors on stderr with the path; write
 * failures are fatal (a checkpoint that cannot be written must not be
 * acknowledged), read problems return -1 and the caller falls back.
 */
#ifndef FS_CKPT_H
#define FS_CKPT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CKPT_FORMAT "fs-checkpoint"
#define CKPT_VERSION 1
#define CKPT_KEEP_DEFAULT 3

struct ckpt_store;

/* Opens DIR, creating DIR/STAGE (this registers the stage).  Fatal when
 * the directory cannot be created. */
struct ckpt_store *ckpt_open(const char *dir, const char *stage);
void ckpt_close(struct ckpt_store *s);

/* Writes this stage's state for checkpoint id.  Fatal on failure. */
void ckpt_write(struct ckpt_store *s, uint64_t id, const char *payload,
    size_t len);
void ckpt_write_json(struct ckpt_store *s, uint64_t id, const json_t *state);

/* Reads and verifies this stage's file for id.  Returns 0 with a
 * malloc'd payload, or -1 (missing or corrupt, with a warning). */
int ckpt_read(struct ckpt_store *s, uint64_t id, char **payload,
    size_t *len);
/* The same, parsed; *state is a new reference. */
int ckpt_read_json(struct ckpt_store *s, uint64_t id, json_t **state);

/* The newest complete checkpoint id, or 0 when there is none. */
uint64_t ckpt_latest_complete(struct ckpt_store *s);
/* True when checkpoint id is complete (every stage holds it). */
int ckpt_is_complete(struct ckpt_store *s, uint64_t id);

/* Removes this stage's files newer than id (left by a run that died
 * before they completed), so they cannot be mistaken for new ones. */
void ckpt_discard_after(struct ckpt_store *s, uint64_t id);
/* Keeps the newest keep complete checkpoints; removes this stage's
 * files older than the oldest of them. */
void ckpt_prune(struct ckpt_store *s, unsigned keep);

/* --- inspection (fs-ckpt) ---------------------------------------------- */

/* The stage names registered in dir, sorted; *n set.  Free with
 * ckpt_free_names().  NULL with *n = 0 when dir cannot be read. */
char **ckpt_stage_names(const char *dir, size_t *n);
void ckpt_free_names(char **names, size_t n);
/* The checkpoint ids a stage holds, newest first (malloc'd). */
uint64_t *ckpt_stage_ids(const char *dir, const char *stage, size_t *n);
/* DIR/STAGE/ID.ckpt (malloc'd). */
char *ckpt_path(const char *dir, const char *stage, uint64_t id);

/* Verifies one checkpoint file; 0 when valid.  For tests and tools. */
int ckpt_verify_file(const char *path, char *why, size_t whylen);

#endif
