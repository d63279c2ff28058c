/* window_run.c - the record loop of a run, its start and end
 * (window_run.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "etime.h"
#include "rec.h"
#include "sig.h"
#include "window_ckpt.h"
#include "window_emit.h"
#include "window_run.h"
#include "window_session.h"
#include "xalloc.h"
#include "banned.h"

/* --- watermarks --------------------------------------------------------- */

/* The watermark moved: close what it closes, forward it when due. */
static void watermark_moved(struct win_run *s, bool from_input)
{
	size_t before = s->open_sessions;
	const struct winspec *w = &s->o->w;

	if (w->kind == WIN_SESSION)
		win_sessions_close(s, s->wm.current);
	/* Windows fire at end + lateness: forward on that grid. */
	if (from_input || s->open_sessions != before ||
	    wm_due(&s->wm, s->o->wm_every, w->offset + s->o->lateness)) {
		s->wm.emitted = s->wm.current;
		rec_emit_watermark(&s->out, s->wm.current);
		s->wms++;
	}
}

/* --- the record loop ----------------------------------------------------- */

/* A control record, classified as c (recproj_read). */
static void on_control(struct win_run *s, const char *line, size_t len,
    const struct ctl *c, const char *why)
{
	s->ctl++;
	switch (c->kind) {
	case CTL_INVALID:
		reject_line(&s->rj, &s->lr, why, line, len);
		break;
	case CTL_WATERMARK:
		if (wm_input(&s->wm, c->ts))
			watermark_moved(s, true);
		break;
	case CTL_BARRIER:
	case CTL_RESTORE:
	case CTL_END: {
		char order[REC_ERR_MAX];

		if (stage_control(&s->st, c, &s->out, order) == STAGE_INVALID)
			reject_line(&s->rj, &s->lr, order, line, len);
		break;
	}
	default:
		out_line(&s->out, line, len);
		break;
	}
}

static bool is_late(const struct win_run *s, int64_t t)
{
	return s->wm.current != WM_NONE &&
	    win_last_end(&s->o->w, t) + s->o->lateness <= s->wm.current;
}

static void on_data(struct win_run *s, const char *line, size_t len,
    json_t *obj)
{
	const char *why;
	int64_t t;

	late_data(&s->late);
	fieldseen_record(&s->seen, obj);
	if (etime_value(&s->o->c->time_path, recproj_at(s->proj, obj,
	    s->sl_time), &t, &why) < 0) {
		reject_line(&s->rj, &s->lr, why, line, len);
		return;
	}
	if (!win_time_ok(t)) {
		reject_line(&s->rj, &s->lr, "event time out of range", line, len);
		return;
	}
	if (is_late(s, t)) {
		late_record(&s->late, line, len, &s->out, &s->scratch);
		return;
	}
	if (s->o->w.kind == WIN_SESSION) {
		const char *missing;
		bool added;
		uint32_t id;

		buf_reset(&s->keybuf);
		for (size_t i = 0; i < s->ks.n; i++)
			s->keyvals[i] = recproj_at(s->proj, obj, s->sl_key[i]);
		if (s->ks.n > 0 && keyspec_encode_values(&s->ks, s->keyvals,
		    &s->keybuf, &missing) < 0) {
			char msg[200];

			snprintf(msg, sizeof msg, "bad key field '%s'", missing);
			reject_line(&s->rj, &s->lr, msg, line, len);
			return;
		}
		id = keytab_intern(&s->keys, s->keybuf.data ? s->keybuf.data : "",
		    s->keybuf.len, &added);
		win_skey_for(s, id, added);
		win_session_add(s, id, t, line, len);
	} else {
		win_emit_windowed(s, line, len, t);
	}
	if (wm_event(&s->wm, t))
		watermark_moved(s, false);
}

static void on_line(struct win_run *s, const char *line, size_t len)
{
	char why[REC_ERR_MAX];
	struct ctl c;
	json_t *obj;

	s->in++;
	obj = recproj_read(s->proj, line, len, &c, why);
	if (obj == NULL) {
		reject_line(&s->rj, &s->lr, why, line, len);
		return;
	}
	if (c.kind == CTL_OTHER && def_is(obj)) {
		s->ctl++;
		def_forward(&s->def, obj, &s->out);
	} else if (c.kind == CTL_NONE) {
		stage_data(&s->st);
		on_data(s, line, len, obj);
	} else {
		on_control(s, line, len, &c, why);
	}
	json_decref(obj);
}

/* Waits for input; with an idle timeout, lets the clock move the
 * watermark while the input is silent.  Returns lineio_read()'s code. */
static int next_line(struct win_run *s, const char **line, size_t *len)
{
	while (s->o->idle > 0 && !lineio_has_line(&s->lr)) {
		int r = lineio_wait(&s->lr, (int)(s->o->idle < 1000 ?
		    s->o->idle : 1000));

		if (r == 1)
			break;
		if (r == -2)
			return -2;
		if (wm_tick(&s->wm, etime_now_ms()))
			watermark_moved(s, false);
		out_flush(&s->out);
	}
	return lineio_read(&s->lr, line, len);
}

/*
 * At the end of the stream the stages after this one fire every window
 * still open, and the end's checkpoint is taken after that.  A later run
 * on the same checkpoint directory (a grown topic) must not make a
 * second, partial result for a window already fired: its checkpoint
 * holds the watermark at the end of the last window fired, so records
 * for those windows are late there, counted and reported as such.
 */
static void ended_windows_closed(struct win_run *s)
{
	int64_t fired;

	if (!s->st.ended || s->o->w.kind == WIN_SESSION ||
	    s->wm.max_ts == WM_NONE)
		return;
	fired = win_last_end(&s->o->w, s->wm.max_ts);
	if (fired > s->wm.current)
		s->wm.current = fired;
}

int win_run_loop(struct win_run *s)
{
	const char *line;
	size_t len;
	int r;

	/* SIGINT, SIGTERM: stop where we are, holding sessions back (a
	 * restart from the last checkpoint writes them). */
	while (!sig_stop_requested() &&
	    (r = next_line(s, &line, &len)) != 0) {
		if (r == -2)
			continue;
		if (r < 0)
			diag_fatal("read error: %s: %s", s->lr.name,
			    strerror(s->lr.err));
		on_line(s, line, len);
	}
	if (sig_stop_requested())
		return 0;
	if (!stage_input_complete(&s->st))
		return 1;
	/* End of input: the watermark is +infinity; sessions all close. */
	if (s->o->w.kind == WIN_SESSION)
		win_sessions_close(s, INT64_MAX);
	ended_windows_closed(s);
	stage_emit_end(&s->st, &s->out);
	return 0;
}

/* The window's part of the definition (def.h). */
static json_t *win_def_part(const struct win_conf *o)
{
	json_t *p = def_part_new("window");

	json_object_set_new(p, "kind", json_string(win_kind_name(o->w.kind)));
	if (o->w.kind == WIN_SESSION) {
		json_object_set_new(p, "gap", json_integer(o->w.gap));
	} else {
		json_object_set_new(p, "size", json_integer(o->w.size));
		json_object_set_new(p, "slide", json_integer(o->w.slide));
		json_object_set_new(p, "offset", json_integer(o->w.offset));
	}
	json_object_set_new(p, "allowed_lateness", json_integer(o->lateness));
	json_object_set_new(p, "max_out_of_orderness",
	    json_integer(o->max_ooo));
	json_object_set_new(p, "time_field", json_string(o->c->time_field));
	json_object_set_new(p, "start_field", json_string(o->f.start));
	json_object_set_new(p, "end_field", json_string(o->f.end));
	if (o->f.panes)
		json_object_set_new(p, "pane_field", json_string(o->f.pane));
	if (o->explode)
		json_object_set_new(p, "explode", json_true());
	if (o->key != NULL)
		def_part_key(p, o->key);
	return p;
}

void win_run_open(struct win_run *s, const struct win_conf *o)
{
	json_t *spec;

	memset(s, 0, sizeof *s);
	s->o = o;
	out_init(&s->out, 1, "stdout");
	if (o->input == NULL || strcmp(o->input, "-") == 0)
		lineio_init_fd(&s->lr, 0, "-");
	else if (lineio_open(&s->lr, o->input) < 0)
		diag_fatal("cannot open: '%s': %s", o->input, strerror(errno));
	lineio_set_flush_hook(&s->lr, &s->out);
	rejects_init(&s->rj, o->c, &s->out);
	late_init(&s->late, &o->late, &s->out);
	wm_init(&s->wm, o->max_ooo, o->idle);
	if (o->key != NULL && keyspec_compile(&s->ks, o->key) < 0)
		diag_usage("--key: not a key list: '%s'", o->key);
	fieldseen_init(&s->seen, o->strict);
	if (s->ks.n > 0)
		fieldseen_add_keys(&s->seen, &s->ks, "--key", o->key);
	s->proj = recproj_new();
	recproj_keep(s->proj, &o->c->time_path);
	for (size_t i = 0; i < s->ks.n; i++)
		recproj_keep(s->proj, &s->ks.paths[i]);
	s->sl_time = recproj_slot(s->proj, &o->c->time_path);
	s->sl_key = xcalloc(s->ks.n + 1, sizeof *s->sl_key);
	s->keyvals = xcalloc(s->ks.n + 1, sizeof *s->keyvals);
	for (size_t i = 0; i < s->ks.n; i++)
		s->sl_key[i] = recproj_slot(s->proj, &s->ks.paths[i]);
	keytab_init(&s->keys);
	timerheap_init(&s->timers);
	if (o->explode) {
		s->starts = xcalloc(win_max_windows(&o->w), sizeof *s->starts);
		s->ends = xcalloc(win_max_windows(&o->w), sizeof *s->ends);
	}
	stage_init(&s->st, o->c, (struct stage_hooks){ win_ckpt_snapshot,
	    win_ckpt_restore, s });
	spec = winspec_to_json(&o->w, &o->f);
	rec_emit(&s->out, spec);
	json_decref(spec);
	def_init(&s->def, win_def_part(o));
}

int win_run_finish(struct win_run *s)
{
	int rc;

	if (s->o->c->stats)
		fprintf(stderr, "%s: stats: %llu lines in, %llu records out, "
		    "%llu control, %llu watermarks out, %llu late, %llu "
		    "rejected, peak open sessions %zu\n", diag_progname(),
		    (unsigned long long)s->in,
		    (unsigned long long)s->out_records,
		    (unsigned long long)s->ctl, (unsigned long long)s->wms,
		    (unsigned long long)s->late.count,
		    (unsigned long long)s->rj.count, s->peak_sessions);
	stage_finish(&s->st);
	out_close(&s->out);
	rc = late_finish(&s->late);
	if (fieldseen_finish(&s->seen))
		rc = 1;
	rejects_finish(&s->rj);
	lineio_close(&s->lr);
	def_free(&s->def);
	win_sessions_clear(s);
	keytab_free(&s->keys);
	recproj_free(s->proj);
	free(s->sl_key);
	free(s->keyvals);
	if (s->ks.n > 0)
		keyspec_free(&s->ks);
	buf_free(&s->b);
	buf_free(&s->scratch);
	buf_free(&s->keybuf);
	buf_free(&s->tail);
	free(s->starts);
	free(s->ends);
	free(s->due);
	return rc;
}
