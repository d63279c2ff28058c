/*
 * join_run.h - the engine of fs-join around the join itself (join.h):
 * its inputs read and fed to it, and the checkpoint protocol.
 *
 * The inputs are one interleaved stream split by selectors (--left-
 * where, --right-where), or two inputs polled together: each turn takes
 * one line from every input that has one, so neither side runs ahead
 * while both have data, and a quiet side never stalls a busy one.  A
 * barrier is acted on (the state saved, the barrier written once) when
 * every input still open holds it; an input holding one is not read
 * until the others reach it.  The end of the stream goes out last, once.
 * Unknown control records are forwarded in order, once when both inputs
 * carry the same one; fs-window's spec record is rewritten for what a
 * window join writes (bounds, never panes).
 *
 * The caller fills a struct join_run_conf (its cfg complete, its key
 * specs compiled, cfg.key pointing at them) and keeps it, and its
 * struct fs_common, alive until join_run_finish().  Rows go to standard
 * output; bad input is rejected as the common options say; a read error
 * or barriers out of step exit 1.
 */
#ifndef FS_JOIN_RUN_H
#define FS_JOIN_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "def.h"
#include "fieldseen.h"
#include "join.h"
#include "lineio.h"
#include "out.h"
#include "path.h"
#include "reject.h"
#include "stage.h"
#include "tool.h"
#include "window/window_late.h"
#include "window/winspec.h"

/* --left-where / --right-where: PATH=VALUE. */
struct join_selector {
	bool set;
	struct path path;
	char *value;
};

struct join_run_conf {
	struct fs_common *c;    /* time path, rejects, checkpoints, --stats */
	struct join_config cfg;
	struct keyspec keys[2];         /* cfg.key[s] is &keys[s] */
	const char *key, *key_side[2];  /* as given: --key, --left-key... */
	const char *fields[2];          /* as given: --left-fields... */
	const char *input[2];   /* left (or interleaved), right or NULL */
	struct join_selector where[2];  /* interleaved: which side is which */
	struct late_opts late;
	bool strict;            /* fieldseen.h: a named field no record had */
};

/* One input: the interleaved stream (side -1) or one side's. */
struct join_input {
	struct lineio lr;
	int side;
	bool eof;
	bool checkpointed;              /* a barrier or restore came */
	bool ended;                     /* {"@fs":"end"} came */
	uint64_t end_id;
	bool blocked;                   /* holds a barrier not yet aligned */
	uint64_t barrier;
	struct buf last_other;          /* last unknown control record sent */
};

struct join_run {
	const struct join_run_conf *o;
	struct join *j;
	struct out out;
	struct rejects rj;
	struct stage st;
	struct join_input in[2];
	int nin;
	uint64_t restored;              /* restore id already acted on */
	bool cut;                       /* an input stopped short of its end */
	struct fieldseen seen[2];       /* each side's named fields */
	struct late late;
	struct buf vb;                  /* scratch */
	struct defrec def;              /* the join's part (def.h) */
	json_t *def_in[2];              /* each input's lineage, until both */
	struct recproj *proj;           /* data records' members, or NULL */
	char why[REC_ERR_MAX];          /* scratch: a reason */
};

/* Sets r up over conf: standard output, rejects, late records, the
 * join, the checkpoints (restoring what they hold), and opens the
 * inputs (exits 1 when one cannot be opened). */
void join_run_open(struct join_run *r, const struct join_run_conf *conf);

/* Reads all inputs to their end (or until a signal asks to stop, or an
 * input is cut short), then writes the end of the stream when every
 * input ended with one. */
void join_run_loop(struct join_run *r);

/* The --stats line; closes the checkpoints, standard output and the
 * inputs, frees r.  1 when an input stopped short of its end, more than
 * --max-late-ratio of the records were late, or with --strict a named
 * field no record had; else 0. */
int join_run_finish(struct join_run *r);

#endif
