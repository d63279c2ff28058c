/*
 * fs-ckpt - inspect a pipeline's checkpoint directory.
 *
 *   fs-ckpt list DIR             one line per checkpoint id, newest first
 *   fs-ckpt verify FILE...       check files' headers and checksums
 *   fs-ckpt show DIR STAGE ID    print a stage's state at a checkpoint
 *
 * The format is fs-checkpoint(5); the store is common/ckpt.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "opt.h"
#include "tool.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-ckpt list DIR\n"
"       fs-ckpt verify FILE...\n"
"       fs-ckpt show DIR STAGE ID\n"
"Inspect the checkpoint directory of an fs pipeline (fs-checkpoint(5)).\n"
"  list    one JSON line per checkpoint id, newest first: whether it is\n"
"          complete and the state of each stage's file\n"
"  verify  check each file's header, length and checksum; exit 1 if any\n"
"          is not valid\n"
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
		diag_usage("missing command: list, verify or show");
	o->command = argv[first];
	o->args = argv + first + 1;
	o->nargs = argc - first - 1;
}

/* Every id any stage holds, newest first, without repeats. */
static uint64_t *all_ids(const char *dir, char **stages, size_t ns,
    size_t *n)
{
	uint64_t *ids = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < ns; i++) {
		size_t k;
		uint64_t *s = ckpt_stage_ids(dir, stages[i], &k);

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

static json_t *describe(const char *dir, char **stages, size_t ns,
    uint64_t id)
{
	json_t *line = json_object(), *st = json_object();
	bool complete = ns > 0;

	for (size_t i = 0; i < ns; i++) {
		char *path = ckpt_path(dir, stages[i], id), why[256];

		if (ckpt_verify_file(path, why, sizeof why) == 0) {
			json_object_set_new(st, stages[i], json_string("ok"));
		} else {
			complete = false;
			json_object_set_new(st, stages[i], json_string(
			    strcmp(why, strerror(ENOENT)) == 0 ? "missing" : why));
		}
		free(path);
	}
	json_object_set_new(line, "id", json_integer((json_int_t)id));
	json_object_set_new(line, "complete", json_boolean(complete));
	json_object_set_new(line, "stages", st);
	return line;
}

static int cmd_list(struct opts *o, struct out *out)
{
	size_t ns, nid;
	char **stages;
	uint64_t *ids;

	if (o->nargs != 1)
		diag_usage("list takes one directory");
	stages = ckpt_stage_names(o->args[0], &ns);
	if (stages == NULL)
		diag_fatal("cannot read checkpoint directory: '%s'", o->args[0]);
	ids = all_ids(o->args[0], stages, ns, &nid);
	for (size_t i = 0; i < nid; i++) {
		json_t *line = describe(o->args[0], stages, ns, ids[i]);

		rec_emit(out, line);
		json_decref(line);
	}
	free(ids);
	ckpt_free_names(stages, ns);
	return 0;
}

static int cmd_verify(struct opts *o, struct out *out)
{
	int bad = 0;

	if (o->nargs < 1)
		diag_usage("verify takes one or more files");
	for (int i = 0; i < o->nargs; i++) {
		char why[256];

		if (ckpt_verify_file(o->args[i], why, sizeof why) == 0) {
			out_write(out, o->args[i], strlen(o->args[i]));
			out_line(out, ": ok", 4);
		} else {
			diag_error("'%s': %s", o->args[i], why);
			bad = 1;
		}
	}
	return bad;
}

static int cmd_show(struct opts *o, struct out *out)
{
	struct ckpt_store *s;
	uint64_t id;
	char *payload;
	size_t len;
	int rc = 0;

	if (o->nargs != 3)
		diag_usage("show takes DIR STAGE ID");
	if (num_parse_u64(o->args[2], UINT64_MAX, &id) < 0 || id == 0)
		diag_usage("show: ID must be a positive integer: '%s'", o->args[2]);
	s = ckpt_open(o->args[0], o->args[1]);
	if (ckpt_read(s, id, &payload, &len) < 0) {
		diag_error("no valid checkpoint %" PRIu64 " for stage '%s'", id,
		    o->args[1]);
		rc = 1;
	} else {
		out_write(out, payload, len);
		free(payload);
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
	if (strcmp(o.command, "list") == 0)
		rc = cmd_list(&o, &out);
	else if (strcmp(o.command, "verify") == 0)
		rc = cmd_verify(&o, &out);
	else if (strcmp(o.command, "show") == 0)
		rc = cmd_show(&o, &out);
	else
		diag_usage("unknown command: '%s'", o.command);
	out_close(&out);
	return rc;
}
