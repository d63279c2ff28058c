/* winspec.c - window assignment and panes (see winspec.h). */
#include <string.h>

#include "diag.h"
#include "etime.h"
#include "winspec.h"
#include "banned.h"

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b != 0) {
		int64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static int64_t mod_pos(int64_t a, int64_t m)
{
	int64_t r = a % m;

	return r < 0 ? r + m : r;
}

const char *win_kind_name(enum win_kind k)
{
	switch (k) {
	case WIN_TUMBLE:
		return "tumble";
	case WIN_HOP:
		return "hop";
	case WIN_CUMULATE:
		return "cumulate";
	case WIN_SESSION:
		return "session";
	default:
		return "none";
	}
}

int winspec_finish(struct winspec *w, const char **why)
{
	if (w->size > WIN_TIME_LIMIT || w->slide > WIN_TIME_LIMIT ||
	    w->gap > WIN_TIME_LIMIT || !win_time_ok(w->offset))
		return *why = "window durations must be within 2^53 ms", -1;
	switch (w->kind) {
	case WIN_TUMBLE:
		if (w->size <= 0)
			return *why = "window size must be positive", -1;
		w->slide = w->size;
		w->pane = w->size;
		w->offset = mod_pos(w->offset, w->size);
		return 0;
	case WIN_HOP:
		if (w->size <= 0 || w->slide <= 0)
			return *why = "window size and slide must be positive", -1;
		if (w->slide > w->size)
			return *why = "slide must not exceed the window size", -1;
		w->pane = gcd64(w->size, w->slide);
		w->offset = mod_pos(w->offset, w->slide);
		return 0;
	case WIN_CUMULATE:
		if (w->size <= 0 || w->slide <= 0)
			return *why = "cumulate step and max size must be positive", -1;
		if (w->size % w->slide != 0)
			return *why = "cumulate max size must be a multiple of the step", -1;
		w->pane = w->slide;
		w->offset = mod_pos(w->offset, w->size);
		return 0;
	case WIN_SESSION:
		if (w->gap <= 0)
			return *why = "session gap must be positive", -1;
		w->pane = 0;
		w->offset = 0;
		return 0;
	default:
		return *why = "no window kind", -1;
	}
}

int64_t win_align(int64_t t, int64_t unit, int64_t off)
{
	return etime_floor_div(t - off, unit) * unit + off;
}

int64_t win_pane_start(const struct winspec *w, int64_t t)
{
	return win_align(t, w->pane, w->offset);
}

int64_t win_last_end(const struct winspec *w, int64_t t)
{
	switch (w->kind) {
	case WIN_TUMBLE:
	case WIN_CUMULATE:
		return win_align(t, w->size, w->offset) + w->size;
	case WIN_HOP:
		return win_align(t, w->slide, w->offset) + w->size;
	case WIN_SESSION:
		return t + w->gap;
	default:
		return t;
	}
}

size_t win_max_windows(const struct winspec *w)
{
	switch (w->kind) {
	case WIN_HOP:
		return (size_t)((w->size + w->slide - 1) / w->slide);
	case WIN_CUMULATE:
		return (size_t)(w->size / w->slide);
	default:
		return 1;
	}
}

size_t win_assign(const struct winspec *w, int64_t t, int64_t *starts,
    int64_t *ends)
{
	size_t n = 0;

	switch (w->kind) {
	case WIN_TUMBLE:
		starts[0] = win_align(t, w->size, w->offset);
		ends[0] = starts[0] + w->size;
		return 1;
	case WIN_HOP: {
		/* Starts s aligned to slide with t - size < s <= t. */
		int64_t s = win_align(t - w->size, w->slide, w->offset) + w->slide;

		for (; s <= t; s += w->slide) {
			starts[n] = s;
			ends[n] = s + w->size;
			n++;
		}
		return n;
	}
	case WIN_CUMULATE: {
		int64_t s = win_align(t, w->size, w->offset);
		int64_t e = win_align(t, w->slide, w->offset) + w->slide;

		for (; e <= s + w->size; e += w->slide) {
			starts[n] = s;
			ends[n] = e;
			n++;
		}
		return n;
	}
	default:
		return 0;
	}
}

int64_t win_next_end(const struct winspec *w, int64_t ps, int64_t after)
{
	int64_t first, last, step, e;

	switch (w->kind) {
	case WIN_TUMBLE:
		e = win_align(ps, w->size, w->offset) + w->size;
		return e > after ? e : INT64_MAX;
	case WIN_HOP:
		first = win_align(ps - w->size, w->slide, w->offset) + w->slide +
		    w->size;
		last = win_align(ps, w->slide, w->offset) + w->size;
		step = w->slide;
		break;
	case WIN_CUMULATE:
		first = ps + w->pane;
		last = win_align(ps, w->size, w->offset) + w->size;
		step = w->slide;
		break;
	default:
		return INT64_MAX;
	}
	if (first > after)
		return first;
	e = first + (etime_floor_div(after - first, step) + 1) * step;
	return e <= last ? e : INT64_MAX;
}

int64_t win_start_for_end(const struct winspec *w, int64_t end)
{
	switch (w->kind) {
	case WIN_CUMULATE:
		return win_align(end - 1, w->size, w->offset);
	default:
		return end - w->size;
	}
}

json_t *winspec_to_json(const struct winspec *w, const struct winfields *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "@fs", json_string(WIN_CONTROL));
	json_object_set_new(o, "kind", json_string(win_kind_name(w->kind)));
	if (w->kind == WIN_SESSION) {
		json_object_set_new(o, "gap", json_integer(w->gap));
	} else {
		json_object_set_new(o, "size", json_integer(w->size));
		json_object_set_new(o, "slide", json_integer(w->slide));
		json_object_set_new(o, "offset", json_integer(w->offset));
		json_object_set_new(o, "pane", json_integer(w->pane));
	}
	json_object_set_new(o, "start_field", json_string(f->start));
	json_object_set_new(o, "end_field", json_string(f->end));
	if (f->panes)
		json_object_set_new(o, "pane_field", json_string(f->pane));
	json_object_set_new(o, "allowed_lateness", json_integer(f->lateness));
	return o;
}

static int get_ms(const json_t *obj, const char *name, int64_t *v)
{
	json_t *x = json_object_get(obj, name);

	if (!json_is_integer(x))
		return -1;
	*v = json_integer_value(x);
	return 0;
}

static const char *get_str(const json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

int winspec_from_json(const json_t *obj, struct winspec *w,
    struct winfields *f, const char **why)
{
	const char *kind = get_str(obj, "kind");

	memset(w, 0, sizeof *w);
	memset(f, 0, sizeof *f);
	if (!kind)
		return *why = "window record without kind", -1;
	if (strcmp(kind, "tumble") == 0)
		w->kind = WIN_TUMBLE;
	else if (strcmp(kind, "hop") == 0)
		w->kind = WIN_HOP;
	else if (strcmp(kind, "cumulate") == 0)
		w->kind = WIN_CUMULATE;
	else if (strcmp(kind, "session") == 0)
		w->kind = WIN_SESSION;
	else
		return *why = "window record of unknown kind", -1;
	if (w->kind == WIN_SESSION) {
		if (get_ms(obj, "gap", &w->gap) < 0)
			return *why = "session window record without gap", -1;
	} else if (get_ms(obj, "size", &w->size) < 0 ||
	    get_ms(obj, "slide", &w->slide) < 0 ||
	    get_ms(obj, "offset", &w->offset) < 0) {
		return *why = "window record without size, slide or offset", -1;
	}
	if (winspec_finish(w, why) < 0)
		return -1;
	f->start = get_str(obj, "start_field");
	f->end = get_str(obj, "end_field");
	f->pane = get_str(obj, "pane_field");
	f->panes = f->pane != NULL;
	if (!f->start || !f->end)
		return *why = "window record without field names", -1;
	if (get_ms(obj, "allowed_lateness", &f->lateness) < 0)
		f->lateness = 0;
	return 0;
}

int win_parse_offset(const char *s, int64_t *ms)
{
	int neg = 0;

	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (dur_parse(s, ms) < 0 || *ms > WIN_TIME_LIMIT)
		return -1;
	if (neg)
		*ms = -*ms;
	return 0;
}

int64_t win_opt_duration(const char *opt, const char *arg)
{
	int64_t v = opt_duration(opt, arg);

	if (v > WIN_TIME_LIMIT)
		diag_usage("%s: at most 2^53 ms: '%s'", opt, arg);
	return v;
}

/* OPT_WIN_DURATION's macro stores p as .to.i64: the compiler checks its
 * type; opt_set() hands it over as .to.data. */
void win_duration_option(void *data, const char *name, const char *arg)
{
	int64_t *to = data;

	*to = win_opt_duration(name, arg);
}
