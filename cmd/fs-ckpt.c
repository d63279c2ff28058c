/*
 * fs-ckpt - inspect a pipeline's checkpoint store.
 *
 *   fs-ckpt latest STORE           the checkpoint a restart resumes from
 *   fs-ckpt list STORE             one line per checkpoint id, newest first
 *   fs-ckpt verify FILE|STORE...   check headers and checksums
 *   fs-ckpt show STORE STAGE ID    print a stage's state at a checkpoint
 *
 * STORE is what --checkpoint-dir names: a directory or
 * kafka://BROKERS/TOPIC.  It is opened without registering a stage
 * (ckpt_store_open() with no stage), so inspecting changes nothing.  The
 * format is fs-checkpoint(5); the store is common/ckpt.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt.h"
#include "kafka/kafka.h"
#include "mpjson.h"
#include "opt.h"
#include "tool.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-ckpt latest STORE\n"
"       fs-ckpt list STORE\n"
"       fs-ckpt verify FILE|STORE ...\n"
"       fs-ckpt show STORE STAGE ID\n"
"Inspect the checkpoint store of an fs pipeline (fs-checkpoint(5)): a\n"
"directory or kafka://BROKERS/TOPIC, as --checkpoint-dir names it.\n"
"  latest  the newest complete checkpoint id, the one a restart resumes\n"
"          from (as fs-run names it); 0 when there is none\n"
"  list    one JSON line per checkpoint id, newest first: whether it is\n"
"          complete and the state of each stage's checkpoint\n"
"  verify  check the header, length and checksum of each file, or of\n"
"          every checkpoint in each store; exit 1 if any is not valid\n"
"  show    print one stage's state (the payload) at checkpoint ID\n";

struct opts {
	struct fs_common common;
	const char *command;
	char **args;
	int nargs;
};

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_GROUP_COMMON(&o->common),
		OPT_END
	};
	int first;

	fs_common_init(&o->common, argc, argv);
	/* The command's arguments are not options: "show DIR -x ID". */
	first = opt_parse(usage_text, opts, OPT_STOP_AT_OPERAND, argc, argv);
	fs_common_finish(&o->common);
	if (first >= argc)
		diag_usage("missing command: latest, list, verify or show");
	o->command = argv[first];
	o->args = argv + first + 1;
	o->nargs = argc - first - 1;
}

/* Every id any stage holds, newest first, without repeats. */
static uint64_t *all_ids(struct ckpt_store *st, char **stages, size_t ns,
    size_t *n)
{
	uint64_t *ids = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < ns; i++) {
		size_t k;
		uint64_t *s = ckpt_store_stage_ids(st, stages[i], &k);

		for (size_t j = 0; j < k; j++) {
			size_t x = 0;

			while (x < *n && ids[x] != s[j])
				x++;
			if (x == *n) {
				ids = xgrow(ids, &cap, *n + 1, sizeof *ids);
				ids[(*n)++] = s[j];
			}
		}
		free(s);
	}
	for (size_t i = 1; i < *n; i++)        /* few ids: insertion sort */
		for (size_t j = i; j > 0 && ids[j] > ids[j - 1]; j--) {
			uint64_t t = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	return ids;
}

/* The store where names; fatal when it cannot be opened. */
static struct ckpt_store *open_store(const char *where)
{
	return ckpt_store_open(ckpt_backend_for(where, &kafka_ckpt_backend),
	    where, NULL, NULL);
}

static char **stage_names_or_die(struct ckpt_store *s, const char *where,
    size_t *ns)
{
	char **stages = ckpt_store_stage_names(s, ns);

	if (stages == NULL)
		diag_fatal("cannot read checkpoint store: '%s'", where);
	return stages;
}

static json_t *describe(struct ckpt_store *s, char **stages, size_t ns,
    uint64_t id)
{
	json_t *line = json_object(), *st = json_object();
	bool complete = ns > 0;

	for (size_t i = 0; i < ns; i++) {
		char why[256];

		if (ckpt_store_verify(s, stages[i], id, why, sizeof why) == 0) {
			json_object_set_new(st, stages[i], json_string("ok"));
		} else {
			complete = false;
			json_object_set_new(st, stages[i], json_string(why));
		}
	}
	json_object_set_new(line, "id", json_integer((json_int_t)id));
	json_object_set_new(line, "complete", json_boolean(complete));
	json_object_set_new(line, "stages", st);
	return line;
}

static int cmd_latest(struct opts *o, struct out *out)
{
	struct ckpt_store *s;
	size_t ns;
	char line[32], **stages;

	if (o->nargs != 1)
		diag_usage("latest takes one store");
	s = open_store(o->args[0]);
	/* An unreadable store is an error, not "no checkpoint". */
	stages = stage_names_or_die(s, o->args[0], &ns);
	ckpt_free_names(stages, ns);
	snprintf(line, sizeof line, "%" PRIu64, ckpt_latest_complete(s));
	out_line(out, line, strlen(line));
	ckpt_close(s);
	return 0;
}

static int cmd_list(struct opts *o, struct out *out)
{
	size_t ns, nid;
	struct ckpt_store *s;
	char **stages;
	uint64_t *ids;

	if (o->nargs != 1)
		diag_usage("list takes one store");
	s = open_store(o->args[0]);
	stages = stage_names_or_die(s, o->args[0], &ns);
	ids = all_ids(s, stages, ns, &nid);
	for (size_t i = 0; i < nid; i++) {
		json_t *line = describe(s, stages, ns, ids[i]);

		rec_emit(out, line);
		json_decref(line);
	}
	free(ids);
	ckpt_free_names(stages, ns);
	ckpt_close(s);
	return 0;
}

/* "NAME: ok" for a valid checkpoint, else an error; 1 when not valid. */
static int report(struct out *out, const char *name, int rc,
    const char *why)
{
	if (rc == 0) {
		out_write(out, name, strlen(name));
		out_line(out, ": ok", 4);
		return 0;
	}
	diag_error("'%s': %s", name, why);
	return 1;
}

/* Every checkpoint of every stage of the store where, oldest stage
 * name first, newest id first. */
static int verify_store(struct out *out, const char *where)
{
	struct ckpt_store *s = open_store(where);
	size_t ns;
	char **stages = stage_names_or_die(s, where, &ns);
	int bad = 0;

	for (size_t i = 0; i < ns; i++) {
		size_t nid;
		uint64_t *ids = ckpt_store_stage_ids(s, stages[i], &nid);

		for (size_t j = 0; j < nid; j++) {
			char why[256], *name = ckpt_store_name(s, stages[i],
			    ids[j]);

			bad |= report(out, name, ckpt_store_verify(s, stages[i],
			    ids[j], why, sizeof why), why);
			free(name);
		}
		free(ids);
	}
	ckpt_free_names(stages, ns);
	ckpt_close(s);
	return bad;
}

static bool is_store(const char *arg)
{
	struct stat st;

	return strstr(arg, "://") != NULL ||
	    (stat(arg, &st) == 0 && S_ISDIR(st.st_mode));
}

static int cmd_verify(struct opts *o, struct out *out)
{
	int bad = 0;

	if (o->nargs < 1)
		diag_usage("verify takes one or more files or stores");
	for (int i = 0; i < o->nargs; i++) {
		char why[256];

		if (is_store(o->args[i]))
			bad |= verify_store(out, o->args[i]);
		else
			bad |= report(out, o->args[i], ckpt_verify_file(
			    o->args[i], why, sizeof why), why);
	}
	return bad;
}

/* A piece's payload: JSON as it is, msgpack as a line of JSON per
 * value (mpjson.h); 1 when that cannot be read. */
static int show_piece(struct out *out, const struct ckpt_piece *p)
{
	struct buf b = BUF_INIT;
	const char *why;

	if (p->h.enc == CKPT_ENC_JSON) {
		out_write(out, p->payload, p->len);
		if (p->len == 0 || p->payload[p->len - 1] != '\n')
			out_write(out, "\n", 1);
		return 0;
	}
	if (mpj_lines(&b, p->payload, p->len, &why) < 0) {
		diag_error("piece %" PRIu64 ": its msgpack payload: %s",
		    p->h.id, why);
		buf_free(&b);
		return 1;
	}
	out_write(out, b.data, b.len);
	buf_free(&b);
	return 0;
}

static int cmd_show(struct opts *o, struct out *out)
{
	struct ckpt_store *s;
	uint64_t id;
	struct ckpt_piece *p;
	size_t n;
	int rc = 0;

	if (o->nargs != 3)
		diag_usage("show takes STORE STAGE ID");
	if (num_parse_u64(o->args[2], UINT64_MAX, &id) < 0 || id == 0)
		diag_usage("show: ID must be a positive integer: '%s'", o->args[2]);
	s = open_store(o->args[0]);
	/* An incremental stage's checkpoint is its chain: the full piece,
	 * then each delta in order, as a restore reads them. */
	if (ckpt_store_read_chain(s, o->args[1], id, &p, &n) < 0) {
		diag_error("no valid checkpoint %" PRIu64 " for stage '%s'", id,
		    o->args[1]);
		rc = 1;
	} else {
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = show_piece(out, &p[i]);
		ckpt_free_chain(p, n);
	}
	ckpt_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct out out;
	int rc;

	parse_options(&o, argc, argv);
	out_init(&out, 1, "stdout");
	if (strcmp(o.command, "latest") == 0)
		rc = cmd_latest(&o, &out);
	else if (strcmp(o.command, "list") == 0)
		rc = cmd_list(&o, &out);
	else if (strcmp(o.command, "verify") == 0)
		rc = cmd_verify(&o, &out);
	else if (strcmp(o.command, "show") == 0)
		rc = cmd_show(&o, &out);
	else
		diag_usage("unknown command: '%s'", o.command);
	out_close(&out);
	path_free(&o.common.time_path);
	return rc;
}
