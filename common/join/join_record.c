/* join_record.c - each record of a run's inputs (join_record.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "join_record.h"
#include "rec.h"
#include "banned.h"

/* --- data records -------------------------------------------------------- */

static bool where_match(struct join_run *r,
    const struct join_selector *w, const json_t *obj)
{
	json_t *v = path_get(&w->path, obj);

	if (v == NULL)
		return false;
	if (json_is_string(v))
		return strcmp(json_string_value(v), w->value) == 0;
	buf_reset(&r->vb);
	rec_dump(&r->vb, v);
	return strcmp(r->vb.data, w->value) == 0;
}

/* The side of a record of the interleaved input, or -1. */
static int pick_side(struct join_run *r, const json_t *obj)
{
	const struct join_selector *w = r->o->where;

	if (w[0].set && where_match(r, &w[0], obj))
		return JOIN_LEFT;
	if (w[1].set && where_match(r, &w[1], obj))
		return JOIN_RIGHT;
	if (!w[0].set)
		return JOIN_LEFT;
	if (!w[1].set)
		return JOIN_RIGHT;
	return -1;
}

/*
 * A record of a side without a field list goes into rows whole, parsed
 * from its line then: a projection accepted it (recproj.h), and the
 * whole parse must too.  They differ on one thing, an integer above
 * INT64_MAX in a member not kept, refused here as rec_parse() refuses
 * it; a line the quick scan is sure of needs no parse.
 */
static bool whole_parses(struct join_run *r, int s, const char *line,
    size_t len, const char **why)
{
	json_t *o;

	if (r->proj == NULL || r->o->cfg.side[s].fields != NULL ||
	    rec_quick_object(line, len))
		return true;
	o = rec_parse(line, len, r->why);
	if (o == NULL) {
		*why = r->why;
		return false;
	}
	json_decref(o);
	return true;
}

void join_data_record(struct join_run *r, struct join_input *in,
    json_t *obj, const char *line, size_t len)
{
	int s = in->side >= 0 ? in->side : pick_side(r, obj);
	const char *why = NULL;

	late_data(&r->late);
	if (s < 0) {
		reject_line(&r->rj, &in->lr, "record matches neither "
		    "--left-where nor --right-where", line, len);
		return;
	}
	if (!whole_parses(r, s, line, len, &why)) {
		reject_line(&r->rj, &in->lr, why, line, len);
		return;
	}
	fieldseen_record(&r->seen[s], obj);
	switch (join_add(r->j, s, obj, line, len, &why)) {
	case JOIN_OK:
		break;
	case JOIN_LATE: {
		char where[512];

		snprintf(where, sizeof where, "%s:%" PRIu64, in->lr.name,
		    in->lr.lineno);
		late_record_from(&r->late, s, where, line, len, &r->out,
		    &r->vb);
		break;
	}
	case JOIN_BAD:
		reject_line(&r->rj, &in->lr, why, line, len);
		break;
	}
}

/* --- control records ----------------------------------------------------- */

void join_try_align(struct join_run *r)
{
	struct join_input *held = NULL;

	for (int i = 0; i < r->nin; i++) {
		struct join_input *in = &r->in[i];
		/* after its end nothing comes: it holds up nothing */
		if (in->eof || in->ended)
			continue;
		if (!in->blocked)
			return;
		if (held && held->barrier != in->barrier)
			diag_fatal("barriers out of step: %llu on '%s', "
			    "%llu on '%s'",
			    (unsigned long long)held->barrier, held->lr.name,
			    (unsigned long long)in->barrier, in->lr.name);
		held = in;
	}
	if (held == NULL)
		return;
	struct ctl c = { .kind = CTL_BARRIER, .id = held->barrier };
	char why[REC_ERR_MAX];

	join_flush_watermark(r->j);
	if (stage_control(&r->st, &c, &r->out, why) == STAGE_INVALID)
		diag_fatal("'%s': %s", held->lr.name, why);
	for (int i = 0; i < r->nin; i++)
		r->in[i].blocked = false;
}

static void barrier(struct join_run *r, struct join_input *in,
    const struct ctl *c)
{
	in->blocked = true;
	in->barrier = c->id;
	join_try_align(r);
}

/*
 * Unknown control records are forwarded in order; when both inputs of a
 * two-input join carry the same one (both fs-window stages describe
 * their windows), it goes out once.
 */
static void forward_other(struct join_run *r, struct join_input *in,
    const char *line, size_t len)
{
	if (r->nin == 2) {
		struct buf *other = &r->in[1 - in->side].last_other;
		if (other->len == len && memcmp(other->data, line, len) == 0)
			return;
		buf_reset(&in->last_other);
		buf_append(&in->last_other, line, len);
	}
	out_line(&r->out, line, len);
}

/*
 * A definition record: the interleaved input's gets the join's part
 * appended; with two inputs the part holds both lineages, and goes out
 * once both came.
 */
static void join_def(struct join_run *r, struct join_input *in,
    const json_t *obj)
{
	const json_t *l = json_object_get(obj, "lineage");
	json_t *part, *lineage;

	if (r->nin != 2) {
		def_forward(&r->def, obj, &r->out);
		return;
	}
	json_decref(r->def_in[in->side]);
	r->def_in[in->side] = json_is_array(l) ? json_deep_copy(l) :
	    json_array();
	if (r->def_in[0] == NULL || r->def_in[1] == NULL)
		return;
	part = json_deep_copy(r->def.part);
	json_object_set_new(part, "inputs", json_pack("{s:o,s:o}", "left",
	    r->def_in[0], "right", r->def_in[1]));
	r->def_in[0] = r->def_in[1] = NULL;
	lineage = json_array();
	json_array_append_new(lineage, part);
	part = json_pack("{s:s,s:o}", REC_CONTROL_KEY, DEF_CONTROL, "lineage",
	    lineage);
	rec_emit(&r->out, part);
	json_decref(part);
}

static bool is_window_spec(const json_t *obj)
{
	const char *v = json_string_value(json_object_get(obj,
	    REC_CONTROL_KEY));

	return v && strcmp(v, WIN_CONTROL) == 0;
}

/*
 * fs-window's spec record: the join learns from it whether records carry
 * panes, and passes it on saying what its own output carries: a window
 * join's rows have the window bounds, never panes.
 */
static void window_spec(struct join_run *r, struct join_input *in,
    json_t *obj)
{
	json_t *out = json_copy(obj);

	join_window_spec(r->j, in->side, obj);
	json_object_del(out, "pane_field");
	json_object_set_new(out, "start_field",
	    json_string(r->o->cfg.start_field));
	json_object_set_new(out, "end_field", json_string(r->o->cfg.end_field));
	buf_reset(&r->vb);
	rec_dump(&r->vb, out);
	json_decref(out);
	forward_other(r, in, r->vb.data, r->vb.len);
}

void join_control_record(struct join_run *r, struct join_input *in,
    json_t *obj, const char *line, size_t len)
{
	struct ctl c;
	char why[REC_ERR_MAX];

	switch (rec_control(obj, &c, why)) {
	case CTL_WATERMARK:
		join_watermark(r->j, in->side, c.ts);
		join_flush_watermark(r->j);
		break;
	case CTL_BARRIER:
		in->checkpointed = true;
		barrier(r, in, &c);
		break;
	case CTL_RESTORE:
		in->checkpointed = true;
		/* Both sources of a two-input join announce the same
		 * checkpoint; the state is restored and forwarded once. */
		if (c.id != r->restored) {
			r->restored = c.id;
			if (stage_control(&r->st, &c, &r->out, why) ==
			    STAGE_INVALID)
				reject_line(&r->rj, &in->lr, why, line, len);
		}
		break;
	case CTL_END:
		/* Held until every input ends: it goes out last, once. */
		in->checkpointed = true;
		in->ended = true;
		in->end_id = c.id;
		join_try_align(r);
		break;
	case CTL_INVALID:
		reject_line(&r->rj, &in->lr, why, line, len);
		break;
	default:
		if (def_is(obj))
			join_def(r, in, obj);
		else if (r->o->cfg.kind == JOIN_WINDOW && is_window_spec(obj))
			window_spec(r, in, obj);
		else
			forward_other(r, in, line, len);
		break;
	}
}

/*
 * Two sources may end at different ids (one sent fewer barriers): the
 * end is the later one, as the barriers after the first end went on
 * with the other input alone.
 */
void join_end_of_stream(struct join_run *r)
{
	struct ctl c = { .kind = CTL_END };
	char why[REC_ERR_MAX];

	for (int i = 0; i < r->nin; i++)
		if (r->in[i].ended && r->in[i].end_id > c.id)
			c.id = r->in[i].end_id;
	if (c.id == 0)
		return;
	if (stage_control(&r->st, &c, NULL, why) == STAGE_INVALID)
		diag_fatal("%s", why);
	stage_emit_end(&r->st, &r->out);
}
