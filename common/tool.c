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

void fs_common_old_short(int argc, char **argv, char letter,
    const char *longname)
{
	size_t n = strlen(longname) + 4;
	int i;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return;
		if (a[0] != '-' || a[1] != letter)
			continue;
		if (a[2] == '\0' && i + 1 < argc && argv[i + 1][0] != '-') {
			char *l = xmalloc(n);
			snprintf(l, n, "--%s", longname);
			argv[i++] = l;          /* lives as long as argv */
		} else if (a[2] != '\0') {
			size_t m = n + strlen(a + 2);
			char *l = xmalloc(m);
			snprintf(l, m, "--%s=%s", longname, a + 2);
			argv[i] = l;
		}
	}
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
	case OPT_METRICS_PORT:
		c->metrics_port = arg;
		return true;
	case OPT_METRICS_FILE:
		c->metrics_file = arg;
		return true;
	case OPT_METRICS_INTERVAL:
		c->metrics_interval_ms = opt_duration("--metrics-interval", arg);
		if (c->metrics_interval_ms < 1)
			diag_usage("--metrics-interval: expected a duration of at least 1ms: '%s'",
			    arg);
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
