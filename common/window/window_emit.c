/* window_emit.c - records with their window bounds (window_emit.h). */
#include "rec.h"
#include "window_emit.h"
#include "banned.h"

void win_emit_spliced(struct win_run *s, const char *line, size_t len,
    int64_t start, int64_t end)
{
	size_t keep = rec_splice_keep(line, len);

	/* The bounds are the same for every record of a window: spliced
	 * once (",\"window_start\":S,\"window_end\":E}"), not per record. */
	if (s->tail.len == 0 || start != s->tail_start || end != s->tail_end) {
		rec_splice_begin(&s->tail, "{}", 2);
		rec_splice_i64(&s->tail, s->o->f.start, start);
		rec_splice_i64(&s->tail, s->o->f.end, end);
		rec_splice_end(&s->tail);
		s->tail.data[0] = ',';
		s->tail_start = start;
		s->tail_end = end;
	}
	/* No ',' after the '{' of an empty record. */
	if (keep > 0 && line[keep - 1] == '{')
		out_line_join(&s->out, line, keep, s->tail.data + 1,
		    s->tail.len - 1);
	else
		out_line_join(&s->out, line, keep, s->tail.data, s->tail.len);
	s->out_records++;
}

void win_emit_windowed(struct win_run *s, const char *line, size_t len,
    int64_t t)
{
	const struct winspec *w = &s->o->w;

	if (w->kind == WIN_TUMBLE) {
		int64_t st = win_align(t, w->size, w->offset);

		win_emit_spliced(s, line, len, st, st + w->size);
	} else if (s->o->f.panes) {
		rec_splice_begin(&s->b, line, len);
		rec_splice_i64(&s->b, s->o->f.pane, win_pane_start(w, t));
		rec_splice_end(&s->b);
		out_line(&s->out, s->b.data, s->b.len);
		s->out_records++;
	} else {
		size_t n = win_assign(w, t, s->starts, s->ends);

		for (size_t i = 0; i < n; i++)
			win_emit_spliced(s, line, len, s->starts[i],
			    s->ends[i]);
	}
}
