/*
 * window_wm.h - watermark tracking for event-time stages (fs-window,
 * fs-agg, fs-join).
 *
 * A watermark W promises that no later data record has event time < W
 * (fs(7)).  A stage takes it from its input's watermark records when
 * there are any; otherwise it derives it from the event times it sees:
 * W = (largest event time so far) - max out-of-orderness + 1.  The first
 * watermark record switches the tracker to the input's watermarks for
 * good, so the two sources never mix.  Watermarks never go back.
 *
 * The + 1: an fs watermark W means what a Flink watermark W - 1 means
 * (Flink's says no later record has time <= W - 1), and Flink SQL's
 * WATERMARK FOR rt AS rt - INTERVAL 'B' is max_ts - B, so a bound B
 * gives the late records Flink SQL gives with the same B: a window is
 * late once window_end - 1 <= max_ts - B, an OVER row once its time
 * <= max_ts - B.  A bound of 0 is Flink's strictly ascending watermark
 * (WATERMARK FOR rt AS rt: a second record at the largest time is
 * late); the tools' default, WM_DEFAULT_OOO, is 1 ms, Flink's ascending
 * watermark (rt - INTERVAL '0.001' SECOND: ties are not late).
 *
 * Idle input: a live source that falls silent would hold every window
 * open.  With an idle timeout T, once no record has arrived for T of
 * wall-clock time, the derived watermark moves on with the wall clock:
 * W = max event time - out-of-orderness + 1 + (now - arrival of the
 * last record).  Data that arrives afterwards is judged against that W.
 *
 * Several inputs (fs-join): keep one tracker per input and combine them
 * with wm_min(); an input that is idle does not hold the others back.
 *
 * Emission: wm_due() says when the watermark has crossed a boundary of
 * the grid `every` (shifted by offset; a stage passes its pane length)
 * since the last one forwarded: a watermark record is then forwarded.
 * Windows end on that grid, so downstream fires them without delay,
 * and watermark records stay a small fraction of the stream.
 */
#ifndef FS_WINDOW_WM_H
#define FS_WINDOW_WM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define WM_NONE INT64_MIN       /* no watermark yet */
#define WM_DEFAULT_OOO 1        /* --max-out-of-orderness default, ms */

struct wmark {
	int64_t max_ooo;        /* out-of-orderness allowed when deriving */
	int64_t idle_ms;        /* 0: never idle */
	int64_t max_ts;         /* largest event time seen, or WM_NONE */
	int64_t current;        /* the watermark, or WM_NONE */
	int64_t emitted;        /* last forwarded, or WM_NONE */
	int64_t last_arrival;   /* wall clock of the last record, ms */
	bool from_input;        /* the input carries watermark records */
	bool told;              /* this run forwarded an input watermark */
	bool idle;              /* advanced by the idle rule */
};

void wm_init(struct wmark *w, int64_t max_ooo, int64_t idle_ms);

/* Commits to the input's watermark records before any arrives (a stage
 * that knows its input is fs-window's output does this). */
void wm_use_input(struct wmark *w);

/* A data record with event time ts arrived.  Returns true when the
 * watermark moved. */
bool wm_event(struct wmark *w, int64_t ts);

/* A watermark record arrived.  Returns true when the watermark moved,
 * and for the first one of a run even when it did not, if no watermark
 * was forwarded yet: the stage must forward it, so the stages after it
 * also wait for the input's
 * watermarks instead of deriving their own (fs-consume --watermarks
 * starts with the lowest, which moves nothing). */
bool wm_input(struct wmark *w, int64_t ts);

/* The wall clock says now: applies the idle rule.  Returns true when the
 * watermark moved. */
bool wm_tick(struct wmark *w, int64_t now);

/* True when a watermark record should be forwarded now (every 0: on
 * any advance); marks it sent. */
bool wm_due(struct wmark *w, int64_t every, int64_t offset);

/* The smallest watermark among the inputs that are not idle (all idle:
 * the largest).  WM_NONE when an active input has none yet. */
int64_t wm_min(const struct wmark *ws, int n);

/* Checkpoint state, a new reference, and its restore (0 or -1). */
json_t *wm_snapshot(const struct wmark *w);
int wm_restore(struct wmark *w, const json_t *state);

#endif
