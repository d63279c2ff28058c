/* tool.c - the common options of every fs tool (see tool.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	c->metrics_interval_ms = FS_METRICS_INTERVAL_DEFAULT_MS;
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

/* --metrics-port, --metrics-file: the registry every part of the tool
 * registers into (metrics.h); a port or file that cannot be used is
 * fatal, since a pipeline asked to be watched must not run unwatched. */
static void start_metrics(struct fs_common *c)
{
	char why[512];
	const char *dir = getenv(METRICS_DIR_ENV);

	/* Started by a supervisor that gathers its stages' metrics. */
	if (c->metrics_file == NULL && dir != NULL && *dir != '\0') {
		size_t n = strlen(dir) + strlen(fs_common_stage(c)) + 40;
		char *path = xmalloc(n);   /* lives as long as c */

		snprintf(path, n, "%s/%s.%ld.prom", dir, fs_common_stage(c),
		    (long)getpid());
		c->metrics_file = path;
		c->metrics_interval_ms = 1000;
	}
	if (c->metrics_port == NULL && c->metrics_file == NULL)
		return;
	if (c->metrics_port != NULL &&
	    metrics_check_addr(c->metrics_port, why, sizeof why) < 0)
		diag_usage("--metrics-port: %s", why);
	c->metrics = metrics_new(diag_progname(), fs_common_stage(c));
	metric_set(metrics_gauge(c->metrics, "fs_up", "1 while the tool runs.",
	    NULL), 1);
	if (c->metrics_port != NULL &&
	    metrics_serve(c->metrics, c->metrics_port, why, sizeof why) < 0)
		diag_fatal("--metrics-port: %s", why);
	if (c->metrics_file != NULL &&
	    metrics_file_start(c->metrics, c->metrics_file,
	    c->metrics_interval_ms, why, sizeof why) < 0)
		diag_fatal("--metrics-file: %s", why);
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
	start_metrics(c);
}

const char *fs_common_stage(const struct fs_common *c)
{
	return c->stage ? c->stage : diag_progname();
}
