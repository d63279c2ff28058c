/*
 * ckpt.h - the checkpoint store shared by the stages of one pipeline.
 * The format and the barrier protocol are fs-checkpoint(5); in short:
 *
 *   DIR/STAGE/ID.ckpt    one file per stage and checkpoint id, written
 *                        atomically (temporary file, fsync, rename,
 *                        fsync of the directory)
 *
 * A file is a header line (JSON: format, version, stage, id, kind,
 * created, payload length and XXH64 checksum) followed by the payload.
 * A piece of kind "full" holds the stage's whole state as JSON; one of
 * kind "delta" (incremental stages, version 2) holds what changed since
 * the piece "prev" and names the full piece "base" its chain rests on:
 * the stage's state at N is base, then each delta up to N, in order.
 * A checkpoint whose chain has a missing or corrupt piece is not
 * complete, and pruning keeps every piece a retained checkpoint needs.  Checkpoint N is complete when every stage
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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CKPT_FORMAT "fs-checkpoint"
#define CKPT_VERSION 1           /* a full piece */
#define CKPT_VERSION_DELTA 2     /* a delta piece (kind, base, prev) */
#define CKPT_VERSION_ENC 3       /* either kind, with its "encoding" */
#define CKPT_KEEP_DEFAULT 3

struct ckpt_store;

enum ckpt_kind { CKPT_FULL, CKPT_DELTA };

/* A payload's encoding: JSON (versions 1 and 2, and 3 saying "json"), or
 * a stream of msgpack values, JSON's binary form (mpjson.h; version 3,
 * "encoding":"msgpack"). */
enum ckpt_enc { CKPT_ENC_JSON, CKPT_ENC_MSGPACK };

/* What a piece's header says.  A full piece has base == prev == id. */
struct ckpt_head {
	enum ckpt_kind kind;
	uint64_t id, base, prev;
	enum ckpt_enc enc;
};

/* One piece of a chain read back (ckpt_read_chain()). */
struct ckpt_piece {
	struct ckpt_head h;
	char *payload;          /* malloc'd, NUL-terminated */
	size_t len;
};

/*
 * Where checkpoints live.  The directory store above is built in; a
 * store named SCHEME://REST (kafka://BROKERS/TOPIC, fs-checkpoint(5)) is
 * a backend the tool hands over in struct fs_common (tool.h), so that
 * the core does not depend on the library that implements it.  A backend
 * moves whole checkpoint files (header line and payload, the bytes a
 * directory store would write): the format, its checksum, completeness,
 * restore, discard and prune are the same code for every store (ckpt.c).
 *
 * open() gets where without "SCHEME://" (the directory store: DIR),
 * registers the stage (none when stage is NULL), sets *known to whether
 * the stage was registered before (an earlier run used the store) and
 * returns the backend's handle, or exits 1 saying why (2 when where or
 * props are not valid); props are the tool's settings for the
 * backend's connections (KEY=VALUE, NULL-terminated, or NULL), which
 * where's own take precedence over; put() stores the bytes of (stage, id) and returns only
 * once they are durable (fatal otherwise); put2(), when the backend has
 * it (else NULL), does the same for bytes given in two parts, the
 * header line and the payload, so that a large payload is not copied
 * behind its header first; get() fills out with them,
 * or returns -1 with why (missing, or the store's own integrity check
 * failed); has() is a cheap presence test for polling; remove() drops
 * (stage, id), warning on failure; stages() lists the registered stage
 * names, sorted (free with ckpt_free_names()); ids() lists the ids a
 * stage holds, newest first (malloc'd); refresh() takes in what other
 * processes wrote since: with catch_up all of it, waiting for it as
 * needed, otherwise what has arrived (cheap, for polling; NULL in the
 * directory store, which needs none); name()
 * says where (stage, id) is, for messages (malloc'd).
 */
struct ckpt_backend {
	const char *scheme;
	void *(*open)(const char *where, const char *stage, char *const *props,
	    bool *known);
	void (*close)(void *h);
	void (*put)(void *h, const char *stage, uint64_t id, const char *bytes,
	    size_t len);
	void (*put2)(void *h, const char *stage, uint64_t id, const char *head,
	    size_t hlen, const char *payload, size_t len);
	int (*get)(void *h, const char *stage, uint64_t id, struct buf *out,
	    char *why, size_t wl);
	bool (*has)(void *h, const char *stage, uint64_t id);
	void (*remove)(void *h, const char *stage, uint64_t id);
	char **(*stages)(void *h, size_t *n);
	uint64_t *(*ids)(void *h, const char *stage, size_t *n);
	void (*refresh)(void *h, bool catch_up);
	char *(*name)(void *h, const char *stage, uint64_t id);
};

/* The directory store's backend (where is DIR). */
extern const struct ckpt_backend ckpt_dir_backend;

/* The backend for where: other when where begins with other->scheme
 * followed by "://", the directory store when where has no "://";
 * exits 1 naming where when its scheme has no backend here. */
const struct ckpt_backend *ckpt_backend_for(const char *where,
    const struct ckpt_backend *other);

/* Opens the store where with backend be (ckpt_backend_for()),
 * registering stage (none when NULL: inspection), its connections set
 * with props (struct fs_common's ckpt_props; NULL: none).  Fatal when it
 * cannot be opened. */
struct ckpt_store *ckpt_store_open(const struct ckpt_backend *be,
    const char *where, const char *stage, char *const *props);
/* Opens DIR, creating DIR/STAGE (this registers the stage).  Fatal when
 * the directory cannot be created. */
struct ckpt_store *ckpt_open(const char *dir, const char *stage);
void ckpt_close(struct ckpt_store *s);
/* True when the store held this stage before ckpt_store_open()
 * registered it: an earlier run used the store (a directory store: DIR/
 * STAGE existed; Kafka: the topic holds STAGE/stage). */
bool ckpt_stage_known(const struct ckpt_store *s);

/* Writes this stage's state for checkpoint id.  Fatal on failure. */
void ckpt_write(struct ckpt_store *s, uint64_t id, const char *payload,
    size_t len);
void ckpt_write_json(struct ckpt_store *s, uint64_t id, const json_t *state);

/* Writes this stage's piece h->id of kind h->kind, base h->base, prev
 * h->prev, its payload in encoding h->enc (a header of version 3 when
 * not JSON).  Fatal on failure. */
void ckpt_write_piece(struct ckpt_store *s, const struct ckpt_head *h,
    const char *payload, size_t len);
/* Writes this stage's checkpoint id as a delta: the changes since its
 * checkpoint prev, on the chain whose full piece is base.  Fatal on
 * failure. */
void ckpt_write_delta(struct ckpt_store *s, uint64_t id, uint64_t base,
    uint64_t prev, const char *payload, size_t len);
/* True when a forked child may write to s (the directory store: plain
 * files; not a store whose client library runs threads). */
bool ckpt_store_forkable(const struct ckpt_store *s);
/* Notes that this stage's piece id is now a full one (a child process
 * rewrote the delta as a full piece of the same checkpoint). */
void ckpt_note_full(struct ckpt_store *s, uint64_t id);
/* Reads and verifies the chain of this stage's checkpoint id: the full
 * piece first, then each delta up to id (*pieces malloc'd, *n set; free
 * with ckpt_free_chain()).  0, or -1 with a warning when a piece is
 * missing, corrupt or does not link. */
int ckpt_read_chain(struct ckpt_store *s, uint64_t id,
    struct ckpt_piece **pieces, size_t *n);
/* ckpt_read_chain() of stage's checkpoint id (fs-ckpt show). */
int ckpt_store_read_chain(struct ckpt_store *s, const char *stage,
    uint64_t id, struct ckpt_piece **pieces, size_t *n);
void ckpt_free_chain(struct ckpt_piece *pieces, size_t n);

/* Reads and verifies this stage's file for id (a full piece).  Returns 0 with a
 * malloc'd payload, or -1 (missing or corrupt, with a warning). */
int ckpt_read(struct ckpt_store *s, uint64_t id, char **payload,
    size_t *len);
/* The same, parsed; *state is a new reference. */
int ckpt_read_json(struct ckpt_store *s, uint64_t id, json_t **state);

/* The newest complete checkpoint id (valid in every stage), or 0 when
 * there is none: what a restart resumes from, for the stages and for
 * fs-run.  A stage's store warns about each newer one it passes over; a
 * store opened without a stage (inspection) does not. */
uint64_t ckpt_latest_complete(struct ckpt_store *s);
/* True when checkpoint id is complete (every stage holds it). */
int ckpt_is_complete(struct ckpt_store *s, uint64_t id);

/* Removes this stage's files newer than id (left by a run that died
 * before they completed), so they cannot be mistaken for new ones. */
void ckpt_discard_after(struct ckpt_store *s, uint64_t id);
/* Keeps the newest keep complete checkpoints; removes this stage's
 * files older than the base (full piece) of the oldest of them. */
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

/* The same for any store, opened without registering a stage
 * (ckpt_store_open() with stage NULL). */
char **ckpt_store_stage_names(struct ckpt_store *s, size_t *n);
uint64_t *ckpt_store_stage_ids(struct ckpt_store *s, const char *stage,
    size_t *n);
/* Verifies stage's checkpoint id in s, and the chain it rests on; 0 when
 * valid, else why. */
int ckpt_store_verify(struct ckpt_store *s, const char *stage, uint64_t id,
    char *why, size_t whylen);
/* The header of stage's piece id in s (verified, but not its chain); 0,
 * or -1 with why. */
int ckpt_store_head(struct ckpt_store *s, const char *stage, uint64_t id,
    struct ckpt_head *h, char *why, size_t whylen);
/* Where stage's checkpoint id is, for messages (malloc'd). */
char *ckpt_store_name(struct ckpt_store *s, const char *stage, uint64_t id);
/* ckpt_read() of stage's checkpoint id. */
int ckpt_store_read(struct ckpt_store *s, const char *stage, uint64_t id,
    char **payload, size_t *len);

/* Verifies one checkpoint file; 0 when valid.  For tests and tools. */
int ckpt_verify_file(const char *path, char *why, size_t whylen);
/* The same for the bytes of one, in memory; *payload_at is where the
 * payload starts.  expect_id 0 accepts any id. */
int ckpt_verify_bytes(const char *p, size_t len, uint64_t expect_id,
    size_t *payload_at, char *why, size_t whylen);
/* The same, with what its header says (h may be NULL). */
int ckpt_verify_head(const char *p, size_t len, uint64_t expect_id,
    size_t *payload_at, struct ckpt_head *h, char *why, size_t whylen);
/* The bytes of a checkpoint (header line and payload) of stage's id:
 * what ckpt_write() stores, for backends and tests. */
void ckpt_format(struct buf *out, const char *stage, uint64_t id,
    const char *payload, size_t len);
/* The same for a piece of kind h->kind (a delta names base and prev). */
void ckpt_format_head(struct buf *out, const char *stage,
    const struct ckpt_head *h, const char *payload, size_t len);

#endif
