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
