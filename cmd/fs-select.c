/*
 * fs-select - Flink SQL's SELECT ... WHERE over NDJSON records: keep
 * the records a condition holds for, and write each as the members and
 * expressions asked for, or whole.  See fs-select(1); the language and
 * the reading are select.h's.
 *
 * A stateless stage: control records pass through in their place,
 * barriers and the end are taken part in as stage.h says (the
 * checkpoint holds only the counts), a definition record gets this
 * stage's part (def.h: what it keeps is part of what a view computes),
 * and a record an expression cannot be computed for is rejected as
 * --on-error says.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "def.h"
#include "kafka/kafka.h"
#include "opt.h"
#include "reject.h"
#include "select/select.h"
#include "stage.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-select [--where EXPR] [--fields LIST] [options] [FILE]\n"
"Keeps the NDJSON records EXPR holds for, as SQL's SELECT ... WHERE.\n";

struct opts {
	struct fs_common c;
	const char *where, *fields;
	const char *input;
};

struct run {
	const struct opts *o;
	struct sel *sel;
	struct out out;
	struct lineio lr;
	struct rejects rj;
	struct stage st;
	struct defrec def;
	struct buf b;
	uint64_t in, kept, dropped, ctl;
};

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_STRING(0, "fields", &o->fields, "LIST",
		    "output members, comma-separated: PATH,\n"
		    "PATH:NAME, NAME=EXPR, EXPR AS NAME; '*' first\n"
		    "for all (default: the record whole)"),
		OPT_STRING(0, "where", &o->where, "EXPR",
		    "keep the records EXPR is TRUE for (SQL:\n"
		    "a.b > 1 AND s = 'x', IS NULL, IN (...))"),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};
	int i;

	fs_common_init(&o->c, argc, argv);
	i = opt_parse(usage_text, opts, 0, argc, argv);
	fs_common_finish(&o->c);
	if (i < argc)
		o->input = argv[i++];
	if (i < argc)
		diag_usage("one input file at most: '%s'", argv[i]);
}

/* The expressions compiled; a bad one is a usage error naming the
 * option and the column. */
static struct sel *compile(const struct opts *o)
{
	struct sel *s = sel_new();
	char why[256];

	if (o->where != NULL && sel_where(s, o->where, why, sizeof why) < 0)
		diag_usage("--where: %s: '%s'", why, o->where);
	if (o->fields != NULL && sel_fields(s, o->fields, why, sizeof why) < 0)
		diag_usage("--fields: %s: '%s'", why, o->fields);
	return s;
}

/* --- checkpoints: nothing but the counts ------------------------------- */

static json_t *snapshot(void *ctx, uint64_t id)
{
	struct run *r = ctx;

	(void)id;
	return json_pack("{s:I,s:I}", "records", (json_int_t)r->in,
	    "kept", (json_int_t)r->kept);
}

static int restore(void *ctx, const json_t *state, uint64_t id)
{
	(void)ctx, (void)state, (void)id;
	return 0;
}

/* --- the record loop ------------------------------------------------------ */

static void on_control(struct run *r, const char *line, size_t len,
    const json_t *obj, const struct ctl *c, const char *why)
{
	char order[REC_ERR_MAX];

	r->ctl++;
	if (c->kind == CTL_OTHER && def_is(obj)) {
		def_forward(&r->def, obj, &r->out);
		return;
	}
	if (c->kind == CTL_INVALID) {
		reject_line(&r->rj, &r->lr, why, line, len);
		return;
	}
	switch (stage_control(&r->st, c, &r->out, order)) {
	case STAGE_HANDLED:
		break;
	case STAGE_INVALID:
		reject_line(&r->rj, &r->lr, order, line, len);
		break;
	case STAGE_PASS:
		out_control_line(&r->out, line, len);
		break;
	}
}

static void on_line(struct run *r, const char *line, size_t len)
{
	char why[REC_ERR_MAX];
	json_t *obj = NULL;
	struct ctl c = { .kind = CTL_NONE };

	r->in++;
	if (rec_line_maybe_control(line, len)) {
		obj = rec_parse(line, len, why);
		if (obj == NULL) {
			reject_line(&r->rj, &r->lr, why, line, len);
			return;
		}
		rec_control(obj, &c, why);
		if (c.kind != CTL_NONE) {
			on_control(r, line, len, obj, &c, why);
			json_decref(obj);
			return;
		}
	}
	stage_data(&r->st);
	switch (sel_record(r->sel, line, len, obj, &r->b, why)) {
	case SEL_KEEP:
		r->kept++;
		if (r->b.len > 0)
			out_line(&r->out, r->b.data, r->b.len);
		else
			out_line(&r->out, line, len);
		break;
	case SEL_DROP:
		r->dropped++;
		break;
	case SEL_ERROR:
		reject_line(&r->rj, &r->lr, why, line, len);
		break;
	}
	json_decref(obj);
}

/* Reads to the end; 1 when a checkpointed input stopped short. */
static int run_loop(struct run *r)
{
	const char *line;
	size_t len;
	int n;

	while (!sig_stop_requested() &&
	    (n = lineio_read(&r->lr, &line, &len)) != 0) {
		if (n == -2)
			continue;
		if (n < 0)
			diag_fatal("read error: %s: %s", r->lr.name,
			    strerror(r->lr.err));
		on_line(r, line, len);
	}
	if (sig_stop_requested())
		return 0;
	if (!stage_input_complete(&r->st))
		return 1;
	stage_emit_end(&r->st, &r->out);
	return 0;
}

static void run_open(struct run *r, const struct opts *o)
{
	memset(r, 0, sizeof *r);
	r->o = o;
	r->sel = compile(o);
	out_init(&r->out, 1, "stdout");
	if (lineio_open(&r->lr, o->input ? o->input : "-") < 0)
		diag_fatal("cannot open: '%s': %s", o->input, strerror(errno));
	lineio_set_flush_hook(&r->lr, &r->out);
	rejects_init(&r->rj, &o->c, &r->out);
	stage_init(&r->st, &o->c, (struct stage_hooks){ snapshot, restore, r });
	json_t *part = def_part_new("select");
	if (o->where != NULL)
		json_object_set_new(part, "where", json_string(o->where));
	if (o->fields != NULL)
		json_object_set_new(part, "fields", json_string(o->fields));
	def_init(&r->def, part);
}

static void run_finish(struct run *r)
{
	if (r->o->c.stats)
		diag_warn("stats: %" PRIu64 " lines in, %" PRIu64 " kept, %"
		    PRIu64 " dropped, %" PRIu64 " control, %" PRIu64
		    " rejected", r->in, r->kept, r->dropped, r->ctl,
		    r->rj.count);
	stage_finish(&r->st);
	out_close(&r->out);
	rejects_finish(&r->rj);
	lineio_close(&r->lr);
	sel_free(r->sel);
	def_free(&r->def);
	buf_free(&r->b);
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct run r;
	int rc;

	parse_options(&o, argc, argv);
	o.c.ckpt_backend = &kafka_ckpt_backend;
	run_open(&r, &o);
	rc = run_loop(&r);
	run_finish(&r);
	return rc;
}
