/*
 * window_session.h - the open session windows of a run, per key (the
 * run's keytab id): disjoint, sorted by start, each holding its records'
 * bytes until the watermark closes it; a timer per key (the run's
 * timerheap) at the first session's end plus the allowed lateness.
 * Private to the library.
 */
#ifndef FS_WINDOW_SESSION_H
#define FS_WINDOW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "window_run.h"

/* One open session of one key: its bounds and its records so far. */
struct win_session {
	int64_t start, end;
	struct buf lines;       /* each record's bytes followed by '\n' */
	uint64_t n;
};

struct win_skey {
	struct win_session *s;  /* sorted by start, disjoint */
	size_t n, cap;
	int64_t armed;          /* the timer set for this key, or INT64_MAX */
};

/* Sets key id's timer to its first session's close, when earlier than
 * the one set (a later one stays, and is found stale when it pops). */
void win_session_arm(struct win_run *s, uint32_t id);

/* Key id's sessions, made empty when the keytab has just added it. */
struct win_skey *win_skey_for(struct win_run *s, uint32_t id,
    bool added);

/* Adds a record at t to key id's sessions, merging every session the
 * new one [t, t+gap) touches (Flink merges windows that intersect). */
void win_session_add(struct win_run *s, uint32_t id, int64_t t,
    const char *line, size_t len);

/*
 * Closes the sessions the watermark upto closes, in order of end; keys
 * whose sessions end together go in order of their key bytes, so output
 * does not depend on the order state was built in.
 */
void win_sessions_close(struct win_run *s, int64_t upto);

/* Drops every session (not written) and every key and timer. */
void win_sessions_clear(struct win_run *s);

#endif
