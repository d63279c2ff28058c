/* tool.c - the common options of every fs tool (see tool.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "banned.h"

void fs_common_init(struct fs_common *c, int argc, char **argv)
{
	(void)argc;
	memset(c, 0, sizeof *c);
	diag_init(argv[0]);
	/* getopt_long names the program by argv[0] in its messages. */
	argv[0] = (char *)diag_progname();
	c->time_field = "ts";
	c->on_error = ON_ERROR_FAIL;
	sig_install();
}

static enum on_error parse_policy(const char *arg)
{
	if (strcmp(arg, "fail") == 0)
		return ON_ERROR_FAIL;
	if (strcmp(arg, "skip") == 0)
		return ON_ERROR_SKIP;
	if (strcmp(arg, "dead-letter") == 0)
		return ON_ERROR_DEAD_LETTER;
	diag_usage("--on-error: expected fail, skip or dead-letter: '%s'", arg);
}

bool fs_common_option(struct fs_common *c, int opt, const char *arg,
    const char *usage)
{
	switch (opt) {
	case 'h':
	case OPT_HELP:
		fputs(usage, stdout);
		fputs(FS_COMMON_USAGE, stdout);
		if (fflush(stdout) != 0 || ferror(stdout))
			diag_fatal("write error: stdout");
		exit(0);
	case OPT_VERSION:
		printf("%s (fs) %s\n", diag_progname(), FS_VERSION);
		if (fflush(stdout) != 0 || ferror(stdout))
			diag_fatal("write error: stdout");
		exit(0);
	case OPT_TIME_FIELD:
		c->time_field = arg;
		return true;
	case OPT_ON_ERROR:
		c->on_error = parse_policy(arg);
		return true;
	case OPT_DEAD_LETTER:
		c->dead_letter = arg;
		return true;
	case OPT_CHECKPOINT_DIR:
		c->ckpt_dir = arg;
		return true;
	case OPT_STAGE:
		c->stage = arg;
		return true;
	case OPT_STATS:
		c->stats = true;
		return true;
	case OPT_DATA_ONLY:
		c->data_only = true;
		return true;
	case 'q':
		diag_set_verbosity(DIAG_QUIET);
		return true;
	case 'v':
		/* Above --stats's DIAG_VERBOSE: also the progress line. */
		diag_set_verbosity(DIAG_PROGRESS);
		return true;
	case '?':
		/* getopt_long has already said what was wrong. */
		fprintf(stderr, "Try '%s --help' for more information.\n",
		    diag_progname());
		exit(2);
	default:
		return false;
	}
}

static bool valid_stage(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return false;
	return true;
}

void fs_common_finish(struct fs_common *c)
{
	if (path_compile(&c->time_path, c->time_field) < 0)
		diag_usage("--time-field: not a field path: '%s'", c->time_field);
	if (c->dead_letter != NULL) {
		if (c->on_error == ON_ERROR_SKIP)
			diag_usage("--dead-letter conflicts with --on-error skip");
		c->on_error = ON_ERROR_DEAD_LETTER;
	}
	if (c->on_error == ON_ERROR_DEAD_LETTER && c->dead_letter == NULL)
		diag_usage("--on-error dead-letter needs --dead-letter FILE");
	if (c->stage != NULL && !valid_stage(c->stage))
		diag_usage("--stage: letters, digits, '-', '_' and '.' only: '%s'",
		    c->stage);
	if (c->stage != NULL && c->ckpt_dir == NULL)
		diag_usage("--stage needs --checkpoint-dir");
	/* Statistics are diag_info() lines (diag.h): --stats shows them. */
	if (c->stats && diag_verbosity() < DIAG_VERBOSE)
		diag_set_verbosity(DIAG_VERBOSE);
	out_set_data_only(c->data_only);
}

const char *fs_common_stage(const struct fs_common *c)
{
	return c->stage ? c->stage : diag_progname();
}
