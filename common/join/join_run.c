/* join_run.c - a run's inputs read and fed to the join, its start and
 * end (join_run.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "etime.h"
#include "join_record.h"
#include "rec.h"
#include "recproj.h"
#include "sig.h"
#include "banned.h"

/* How many reading turns (a line from each input) between watermarks
 * written while input keeps coming without a pause. */
#define WATERMARK_EVERY_TURNS 4096

/* --- inputs --------------------------------------------------------------- */

static void open_inputs(struct join_run *r)
{
	const struct join_run_conf *o = r->o;

	r->nin = o->input[JOIN_RIGHT] ? 2 : 1;
	for (int i = 0; i < r->nin; i++) {
		struct join_input *in = &r->in[i];
		if (lineio_open(&in->lr, o->input[i]) != 0)
			diag_fatal("cannot open: '%s': %s", o->input[i],
			    strerror(errno));
		lineio_set_flush_hook(&in->lr, &r->out);
		in->side = r->nin == 2 ? i : -1;
	}
}

static void handle_line(struct join_run *r, struct join_input *in,
    const char *line, size_t len)
{
	char why[REC_ERR_MAX];
	struct ctl c;
	json_t *obj = r->proj ? recproj_read(r->proj, line, len, &c, why) :
	    rec_parse(line, len, why);

	if (obj == NULL) {
		reject_line(&r->rj, &in->lr, why, line, len);
		return;
	}
	if (rec_line_maybe_control(line, len) &&
	    json_object_get(obj, REC_CONTROL_KEY))
		join_control_record(r, in, obj, line, len);
	else {
		stage_data(&r->st);
		join_data_record(r, in, obj, line, len);
	}
	json_decref(obj);
}

/*
 * Takes the next line of in when one is buffered or can be read without
 * blocking.  Returns true when it handled a line or the input's end.
 */
static bool read_one(struct join_run *r, struct join_input *in)
{
	const char *line;
	size_t len;
	int rc = lineio_fill(&in->lr);

	if (rc == -1)
		diag_fatal("read error: '%s': %s", in->lr.name,
		    strerror(in->lr.err));
	if (rc != 1)
		return false;
	/* A whole line or the end is buffered: this does not block. */
	rc = lineio_read(&in->lr, &line, &len);
	if (rc == 1) {
		handle_line(r, in, line, len);
		return true;
	}
	if (rc == -1)
		diag_fatal("read error: '%s': %s", in->lr.name,
		    strerror(in->lr.err));
	if (rc == 0) {
		in->eof = true;
		/* Cut short (see stage.h): fire nothing of either side. */
		if (in->checkpointed && !in->ended) {
			diag_error("'%s' ended without the end of the stream: "
			    "a stage upstream stopped or died; nothing fired (a "
			    "restart resumes from the checkpoint)", in->lr.name);
			r->cut = true;
			return true;
		}
		join_end(r->j, in->side);
		join_try_align(r);
		return true;
	}
	return false;
}

/* How long a wait may block: forever, unless idle time matters. */
static int wait_ms(const struct join_run *r)
{
	int64_t idle = r->o->cfg.idle;

	if (idle <= 0)
		return -1;
	return idle < 1000 ? (int)idle : 1000;
}

/*
 * Waits until an input that may be read has input, or the idle wait
 * ends (then the clock moves idle sides' watermarks on).  Returns false
 * when a stop was asked.
 */
static bool wait_inputs(struct join_run *r)
{
	struct pollfd pfd[2];
	int n = 0, rc;

	for (int i = 0; i < r->nin; i++) {
		struct join_input *in = &r->in[i];
		if (in->eof || in->blocked)
			continue;
		pfd[n].fd = in->lr.fd;
		pfd[n].events = POLLIN;
		n++;
	}
	if (n == 0)
		return true;
	out_flush(&r->out);
	while ((rc = poll(pfd, (nfds_t)n, wait_ms(r))) < 0) {
		if (errno != EINTR)
			diag_fatal("poll: %s", strerror(errno));
		if (sig_stop_requested())
			return false;
	}
	if (rc == 0) {
		join_tick(r->j, etime_now_ms());
		join_flush_watermark(r->j);
	}
	return true;
}

/*
 * Reads all inputs to their end.  Each turn takes one line from every
 * input that has one (buffered, or readable without blocking), so neither
 * side runs ahead of the other while both have data; when none has, it
 * waits for either (poll), so a quiet side never stalls a busy one.  An
 * input holding an unaligned barrier is not read until the others reach
 * it.
 */
static void run_inputs(struct join_run *r)
{
	unsigned turns = 0;

	for (;;) {
		int open = 0;
		bool progressed = false;

		for (int i = 0; i < r->nin; i++) {
			struct join_input *in = &r->in[i];
			if (in->eof)
				continue;
			open++;
			if (!in->blocked && read_one(r, in))
				progressed = true;
		}
		if (sig_stop_requested() || open == 0 || r->cut)
			return;
		/* Input that never pauses still lets the watermark out now
		 * and then, so downstream can free its state. */
		if (++turns % WATERMARK_EVERY_TURNS == 0)
			join_flush_watermark(r->j);
		if (progressed)
			continue;
		/* About to wait: what the watermark released goes out. */
		join_flush_watermark(r->j);
		if (!wait_inputs(r))
			return;
	}
}

/* --- start and end -------------------------------------------------------- */

static json_t *snapshot_hook(void *ctx, uint64_t id)
{
	(void)id;
	return join_snapshot(((struct join_run *)ctx)->j);
}

static int restore_hook(void *ctx, const json_t *state, uint64_t id)
{
	(void)id;
	return join_restore(((struct join_run *)ctx)->j, state);
}

static void print_stats(struct join_run *r)
{
	struct join_stats s;

	join_get_stats(r->j, &s);
	if (r->o->c->stats)
		fprintf(stderr, "%s: left %llu, right %llu, late %llu+%llu, "
		    "output %llu, state peak %llu records, collisions %llu\n",
		    diag_progname(), (unsigned long long)s.in[0],
		    (unsigned long long)s.in[1], (unsigned long long)s.late[0],
		    (unsigned long long)s.late[1], (unsigned long long)s.out,
		    (unsigned long long)s.peak_held,
		    (unsigned long long)s.collisions);
}

/*
 * The fields each side's options name, checked against that side's
 * records only: a typo'd key or field is said at exit (fieldseen.h).
 */
static void watch_fields(struct join_run *r)
{
	static const char *const key_opt[2] = { "--left-key", "--right-key" };
	static const char *const fields_opt[2] = { "--left-fields",
	    "--right-fields" };
	const struct join_run_conf *o = r->o;

	for (int s = 0; s < 2; s++) {
		const struct join_side_out *side = &o->cfg.side[s];

		fieldseen_init(&r->seen[s], o->strict);
		if (o->key_side[s] != NULL)
			fieldseen_add_keys(&r->seen[s], &o->keys[s], key_opt[s],
			    o->key_side[s]);
		else
			fieldseen_add_keys(&r->seen[s], &o->keys[s], "--key",
			    o->key);
		for (size_t i = 0; i < side->nfields; i++)
			fieldseen_add(&r->seen[s], &side->fields[i].path,
			    fields_opt[s], o->fields[s]);
	}
}

int join_run_finish(struct join_run *r)
{
	int rc;

	print_stats(r);
	rc = late_finish(&r->late);
	for (int s = 0; s < 2; s++)
		if (fieldseen_finish(&r->seen[s]))
			rc = 1;
	stage_finish(&r->st);
	rejects_finish(&r->rj);
	out_close(&r->out);
	for (int i = 0; i < r->nin; i++) {
		lineio_close(&r->in[i].lr);
		buf_free(&r->in[i].last_other);
	}
	join_free(r->j);
	recproj_free(r->proj);
	def_free(&r->def);
	for (int s = 0; s < 2; s++)
		json_decref(r->def_in[s]);
	buf_free(&r->vb);
	return r->cut || rc ? 1 : 0;
}


static const char *const kind_names[] = { "interval", "asof", "window" };
static const char *const type_names[] = { "inner", "left", "right", "full",
	"semi", "anti" };

/* The join's part of the definition (def.h). */
static json_t *join_def_part(const struct join_run_conf *o)
{
	static const char *const side[2] = { "left", "right" };
	json_t *p = def_part_new("join");

	json_object_set_new(p, "kind", json_string(kind_names[o->cfg.kind]));
	json_object_set_new(p, "type", json_string(type_names[o->cfg.type]));
	if (o->cfg.kind == JOIN_INTERVAL) {
		json_object_set_new(p, "lower", json_integer(o->cfg.lo));
		json_object_set_new(p, "upper", json_integer(o->cfg.hi));
	}
	if (o->cfg.kind == JOIN_ASOF)
		json_object_set_new(p, "retention",
		    json_integer(o->cfg.retention));
	if (o->cfg.kind == JOIN_WINDOW) {
		json_object_set_new(p, "start_field",
		    json_string(o->cfg.start_field));
		json_object_set_new(p, "end_field",
		    json_string(o->cfg.end_field));
	}
	if (o->key != NULL)
		def_part_key(p, o->key);
	for (int s = 0; s < 2; s++) {
		json_t *d = json_object();

		if (o->key_side[s] != NULL)
			def_part_key(d, o->key_side[s]);
		if (o->fields[s] != NULL)
			json_object_set_new(d, "fields", json_string(o->fields[s]));
		if (o->cfg.side[s].prefix != NULL)
			json_object_set_new(d, "prefix",
			    json_string(o->cfg.side[s].prefix));
		if (o->where[s].set) {
			struct buf w = BUF_INIT;

			for (size_t i = 0; i < o->where[s].path.n; i++) {
				if (i > 0)
					buf_appendc(&w, '.');
				buf_appends(&w, o->where[s].path.parts[i]);
			}
			buf_appendc(&w, '=');
			buf_appends(&w, o->where[s].value);
			json_object_set_new(d, "where", json_stringn(w.data,
			    w.len));
			buf_free(&w);
		}
		json_object_set_new(p, side[s], d);
	}
	json_object_set_new(p, "time_field", json_string(o->c->time_field));
	json_object_set_new(p, "max_out_of_orderness",
	    json_integer(o->cfg.max_ooo));
	return p;
}

/*
 * Data records are parsed keeping only the members the join reads (the
 * selectors, keys, times, field lists and window bounds: recproj.h),
 * unless a side's records go out whole or their member names are
 * learned: then the join parses a held line again when it writes it.
 */
static void projection(struct join_run *r)
{
	const struct join_run_conf *o = r->o;

	if (!join_projects(r->j))
		return;
	r->proj = recproj_new();
	for (int s = 0; s < 2; s++) {
		if (o->where[s].set)
			recproj_keep(r->proj, &o->where[s].path);
		for (size_t i = 0; i < o->keys[s].n; i++)
			recproj_keep(r->proj, &o->keys[s].paths[i]);
		recproj_keep(r->proj, o->cfg.time[s]);
		for (size_t i = 0; i < o->cfg.side[s].nfields; i++)
			recproj_keep(r->proj, &o->cfg.side[s].fields[i].path);
	}
	if (o->cfg.kind == JOIN_WINDOW) {
		recproj_keep_name(r->proj, o->cfg.start_field);
		recproj_keep_name(r->proj, o->cfg.end_field);
	}
	join_set_projected(r->j, true);
}

void join_run_open(struct join_run *r, const struct join_run_conf *conf)
{
	r->o = conf;
	out_init(&r->out, STDOUT_FILENO, "stdout");
	rejects_init(&r->rj, conf->c, &r->out);
	late_init(&r->late, &conf->late, &r->out);
	late_sources(&r->late, "left", "right");
	r->j = join_new(&conf->cfg, &r->out);
	watch_fields(r);
	stage_init(&r->st, conf->c,
	    (struct stage_hooks){ snapshot_hook, restore_hook, r });
	def_init(&r->def, join_def_part(conf));
	projection(r);
	open_inputs(r);
}

void join_run_loop(struct join_run *r)
{
	run_inputs(r);
	if (!r->cut && !sig_stop_requested())
		join_end_of_stream(r);
}
