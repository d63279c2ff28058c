/*
 * window_run.h - the engine of fs-window: NDJSON records in, the same
 * records out with their event-time windows (winspec.h), the watermark
 * tracked and forwarded, late records dealt with (window_late.h).
 *
 * The first output line is the window spec control record.  TUMBLE
 * records get window_start and window_end; HOP and CUMULATE records
 * the start of their pane (or, with explode, one copy per window);
 * SESSION records are held per key until their session closes (the
 * watermark passes its end plus the allowed lateness) and then go out
 * together, each with the session's bounds.  Session output does not
 * depend on the order state was built in: a restored run writes what an
 * uninterrupted one writes.  Checkpoints (stage.h) hold the watermark
 * and the open sessions.
 *
 * The caller fills a struct win_conf (winspec_finish() done) and keeps
 * it, and its struct fs_common, alive until win_run_finish().  Records
 * go to standard output; bad input is rejected as the common options
 * say; a read error exits 1.
 */
#ifndef FS_WINDOW_RUN_H
#define FS_WINDOW_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "def.h"
#include "fieldseen.h"
#include "lineio.h"
#include "out.h"
#include "path.h"
#include "recproj.h"
#include "reject.h"
#include "stage.h"
#include "tool.h"
#include "window_late.h"
#include "window_state.h"
#include "window_wm.h"
#include "winspec.h"

struct win_conf {
	struct fs_common *c;    /* time path, rejects, checkpoints, --stats */
	struct winspec w;
	struct winfields f;
	const char *key;        /* session keys (a key list), or NULL */
	bool explode;           /* HOP, CUMULATE: a copy per window */
	bool strict;            /* fieldseen.h: a key no record had fails */
	int64_t max_ooo, idle, lateness, wm_every;     /* window_wm.h */
	struct late_opts late;
	const char *input;      /* the input file; NULL or "-": stdin */
};

struct win_skey;

struct win_run {
	const struct win_conf *o;
	struct out out;
	struct lineio lr;
	struct rejects rj;
	struct late late;
	struct fieldseen seen;          /* --key fields no record had */
	struct stage st;
	struct defrec def;        /* the window's part of the definition */
	struct wmark wm;
	struct keyspec ks;
	struct recproj *proj;   /* parses only the time and session key */
	int sl_time, *sl_key;   /* their slots in proj (recproj_slot()) */
	json_t **keyvals;       /* a record's key values */
	struct buf b, scratch, keybuf;
	/* The window bounds spliced last, ready to append to the next
	 * record of the same window (win_emit_spliced). */
	struct buf tail;
	int64_t tail_start, tail_end;
	int64_t *starts, *ends;
	/* sessions */
	struct keytab keys;
	struct win_skey *sk;
	size_t cap_sk;
	struct timerheap timers;
	uint32_t *due;          /* keys due at one time, being closed */
	size_t ndue, cap_due;
	size_t open_sessions, peak_sessions;
	/* --stats */
	uint64_t in, out_records, ctl, wms;
};

/*
 * Opens the input (exits 1 when it cannot) and standard output, joins
 * the checkpoints (restoring the state they hold), and writes the
 * window spec.  A key list that does not compile exits 2.
 */
void win_run_open(struct win_run *s, const struct win_conf *conf);

/* Reads the input to its end, or until a signal asks to stop.  0, or 1
 * when the input stopped short of its end. */
int win_run_loop(struct win_run *s);

/* The --stats line; closes the checkpoints, standard output and the
 * input, frees s.  1 when more than --max-late-ratio of the records
 * were late, or --strict found a key field no record had; else 0. */
int win_run_finish(struct win_run *s);

#endif
