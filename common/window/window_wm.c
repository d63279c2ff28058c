/* window_wm.c - watermark tracking (see window_wm.h). */
#include "etime.h"
#include "window_wm.h"
#include "banned.h"

void wm_init(struct wmark *w, int64_t max_ooo, int64_t idle_ms)
{
	w->max_ooo = max_ooo;
	w->idle_ms = idle_ms;
	w->max_ts = WM_NONE;
	w->current = WM_NONE;
	w->emitted = WM_NONE;
	w->last_arrival = 0;
	w->from_input = false;
	w->told = false;
	w->idle = false;
}

void wm_use_input(struct wmark *w)
{
	w->from_input = true;
}

static bool advance(struct wmark *w, int64_t to)
{
	if (to <= w->current)
		return false;
	w->current = to;
	return true;
}

bool wm_event(struct wmark *w, int64_t ts)
{
	if (w->idle_ms > 0)
		w->last_arrival = etime_now_ms();
	w->idle = false;
	if (ts > w->max_ts)
		w->max_ts = ts;
	if (w->from_input || w->max_ts == WM_NONE)
		return false;
	return advance(w, w->max_ts - w->max_ooo + 1);
}

bool wm_input(struct wmark *w, int64_t ts)
{
	/* Nothing forwarded yet: the stages after this one are deriving. */
	bool first = !w->told && w->emitted == WM_NONE;

	w->from_input = w->told = true;
	return advance(w, ts) || first;
}

bool wm_tick(struct wmark *w, int64_t now)
{
	if (w->idle_ms <= 0 || w->from_input || w->max_ts == WM_NONE)
		return false;
	if (now - w->last_arrival < w->idle_ms)
		return false;
	w->idle = true;
	return advance(w, w->max_ts - w->max_ooo + 1 +
	    (now - w->last_arrival));
}

bool wm_due(struct wmark *w, int64_t every, int64_t offset)
{
	if (w->current == WM_NONE || w->current == w->emitted)
		return false;
	if (w->emitted != WM_NONE && every > 0 &&
	    etime_floor_div(w->current - offset, every) ==
	    etime_floor_div(w->emitted - offset, every))
		return false;
	w->emitted = w->current;
	return true;
}

int64_t wm_min(const struct wmark *ws, int n)
{
	int64_t lo = INT64_MAX, hi = WM_NONE;
	bool active = false;

	for (int i = 0; i < n; i++) {
		if (ws[i].current > hi)
			hi = ws[i].current;
		if (ws[i].idle)
			continue;
		active = true;
		if (ws[i].current < lo)
			lo = ws[i].current;
	}
	return active ? lo : hi;
}

static json_t *ms_or_null(int64_t v)
{
	return v == WM_NONE ? json_null() : json_integer(v);
}

static int64_t ms_from(const json_t *v)
{
	return json_is_integer(v) ? json_integer_value(v) : WM_NONE;
}

json_t *wm_snapshot(const struct wmark *w)
{
	json_t *o = json_object();

	json_object_set_new(o, "max_ts", ms_or_null(w->max_ts));
	json_object_set_new(o, "watermark", ms_or_null(w->current));
	json_object_set_new(o, "emitted", ms_or_null(w->emitted));
	json_object_set_new(o, "from_input", json_boolean(w->from_input));
	return o;
}

int wm_restore(struct wmark *w, const json_t *state)
{
	if (!json_is_object(state))
		return -1;
	w->max_ts = ms_from(json_object_get(state, "max_ts"));
	w->current = ms_from(json_object_get(state, "watermark"));
	w->emitted = ms_from(json_object_get(state, "emitted"));
	w->from_input = json_is_true(json_object_get(state, "from_input"));
	w->told = false;
	w->idle = false;
	if (w->idle_ms > 0)
		w->last_arrival = etime_now_ms();
	return 0;
}
