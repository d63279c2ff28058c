/*
 * fs-run - run a pipeline, restart it when it fails.  See fs-run(1).
 *
 *   fs-run [options] [--] 'SHELL PIPELINE'    bash -o pipefail -c
 *   fs-run [options] -- PROGRAM ARG...        exec'd as it is
 *
 * The pipeline runs as its own process group (common/pgroup.h).  A run
 * that ends non-zero or by a signal has what is left of its group
 * stopped (SIGTERM, SIGKILL after --stop-timeout), waits an exponential
 * backoff and starts again, resuming from its checkpoints; a run that
 * ends with status 0 ends fs-run with 0.  SIGINT or SIGTERM stop the
 * pipeline the same way and end fs-run without a restart.  More than
 * --max-restarts failures within --restart-window end it with 1.
 */
#define _GNU_SOURCE             /* sigabbrev_np */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt.h"
#include "opt.h"
#include "pgroup.h"
#include "tool.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-run [--backoff MIN[,MAX]] [--backoff-reset DURATION]\n"
"              [--grace DURATION] [--max-restarts N]\n"
"              [--restart-window DURATION] [--stop-timeout DURATION]\n"
"              [common options] [--] PIPELINE | -- PROGRAM ARG ...\n"
"Runs a pipeline (bash -o pipefail -c PIPELINE, or PROGRAM with its\n"
"arguments) as a process group and restarts it when it fails.  With\n"
"--checkpoint-dir, each start logs the checkpoint it resumes from.\n";

#define TICK_MS 250             /* how often the group is looked at */
#define MAX_STRANDED 16         /* writers reported per look */

struct opts {
	struct fs_common c;
	int64_t backoff_min, backoff_max, backoff_reset, grace;
	int64_t max_restarts, window, stop_timeout;
	const char *window_arg;
	char **cmd;                 /* argv of the pipeline's leader */
	char **cmd_alloc;           /* cmd when built here (bash -c) */
	bool shell;                 /* run by bash: status 128+N is a signal */
};

/* How one run ended. */
struct outcome {
	int status;                 /* the leader's, as waitpid(2) gives it */
	bool leader_done;
	bool stop_requested;        /* by SIGINT or SIGTERM to fs-run */
	bool clean;                 /* every exit during a stop was benign */
	int64_t ms;                 /* how long it ran */
};

/* What the supervisor remembers across runs. */
struct history {
	unsigned starts;
	unsigned streak;            /* failures since the last reset */
	int64_t *fails;             /* times of failures in the window */
	size_t nfails, fails_cap;
};

/* --- options ---------------------------------------------------------- */

/* --backoff MIN[,MAX] */
static void set_backoff(void *data, const char *name, const char *arg)
{
	struct opts *o = data;
	const char *comma = strchr(arg, ',');
	char *min = xstrndup(arg, comma ? (size_t)(comma - arg) : strlen(arg));

	(void)name;
	o->backoff_min = opt_duration("--backoff", min);
	o->backoff_max = comma ? opt_duration("--backoff", comma + 1) :
	    (o->backoff_min > 30000 ? o->backoff_min : 30000);
	free(min);
	if (o->backoff_max < o->backoff_min)
		diag_usage("--backoff: MAX is less than MIN: '%s'", arg);
}

static void set_window(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	(void)name;
	o->window = opt_duration("--restart-window", arg);
	o->window_arg = arg;
	if (o->window == 0)
		diag_usage("--restart-window: must be more than 0: '%s'", arg);
}

/* One operand is a shell pipeline; more are a program and arguments. */
static void set_command(struct opts *o, int n, char **args)
{
	if (n == 0)
		diag_usage("missing the pipeline to run");
	if (n > 1) {
		o->cmd = args;
		return;
	}
	o->shell = true;
	o->cmd_alloc = xcalloc(6, sizeof *o->cmd_alloc);
	o->cmd_alloc[0] = xstrdup("bash");
	o->cmd_alloc[1] = xstrdup("-o");
	o->cmd_alloc[2] = xstrdup("pipefail");
	o->cmd_alloc[3] = xstrdup("-c");
	o->cmd_alloc[4] = xstrdup(args[0]);
	o->cmd = o->cmd_alloc;
}

static void set_defaults(struct opts *o)
{
	o->backoff_min = 200;
	o->backoff_max = 30000;
	o->backoff_reset = 60000;
	o->grace = 2000;
	o->max_restarts = 10;
	o->window = 600000;
	o->window_arg = "10m";
	o->stop_timeout = 10000;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_CALLBACK(0, "backoff", set_backoff, o, "MIN[,MAX]",
		    "wait before a restart: MIN, doubled after each\n"
		    "failure up to MAX (default 200ms,30s)"),
		OPT_DURATION(0, "backoff-reset", &o->backoff_reset, 0,
		    INT64_MAX, "DURATION", "a run this long resets the wait "
		    "to MIN\n(default 60s)"),
		OPT_DURATION(0, "grace", &o->grace, 0, INT64_MAX, "DURATION",
		    "stop the writers to a pipe whose reader has\n"
		    "exited after DURATION (default 2s)"),
		OPT_INT(0, "max-restarts", &o->max_restarts, 0, 1000000, "N",
		    "give up (exit 1) after more than N failures\n"
		    "within the restart window (default 10)"),
		OPT_CALLBACK(0, "restart-window", set_window, o, "DURATION",
		    "the window the failures count in (default 10m)"),
		OPT_DURATION(0, "stop-timeout", &o->stop_timeout, 0,
		    INT64_MAX, "DURATION", "SIGKILL what SIGTERM has not "
		    "stopped after\nDURATION (default 10s)"),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};
	int first;

	fs_common_init(&o->c, argc, argv);
	set_defaults(o);
	/* Stop at the first operand: the pipeline's own options are not
	 * ours. */
	first = opt_parse(usage_text, opts, OPT_STOP_AT_OPERAND, argc, argv);
	fs_common_finish(&o->c);
	set_command(o, argc - first, argv + first);
}

static void free_options(struct opts *o)
{
	path_free(&o->c.time_path);
	for (size_t i = 0; o->cmd_alloc && o->cmd_alloc[i]; i++)
		free(o->cmd_alloc[i]);
	free(o->cmd_alloc);
}

/* --- messages ----------------------------------------------------------- */

/* "200ms", "1.6s", "12s", "2m5s", "1h0m3s". */
static void format_ms(int64_t ms, char *b, size_t n)
{
	int64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(b, n, "%" PRId64 "ms", ms);
	else if (ms < 60000 && ms % 1000 >= 100)
		snprintf(b, n, "%" PRId64 ".%" PRId64 "s", s, ms % 1000 / 100);
	else if (ms < 60000)
		snprintf(b, n, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(b, n, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else
		snprintf(b, n, "%" PRId64 "h%" PRId64 "m%" PRId64 "s", s / 3600,
		    s / 60 % 60, s % 60);
}

static const char *signame(int sig)
{
	const char *s = sigabbrev_np(sig);

	return s ? s : "?";
}

/* " (a stage killed by SIGKILL)" when bash reports a stage's signal as
 * status 128+N, else "". */
static void stage_note(const struct opts *o, int code, char *b, size_t n)
{
	if (o->shell && code > 128 && code < 128 + 65 &&
	    sigabbrev_np(code - 128) != NULL)
		snprintf(b, n, " (a stage killed by SIG%s)", signame(code - 128));
	else
		snprintf(b, n, "%s", "");
}

/* "status 1", "status 137 (a stage killed by SIGKILL)",
 * "killed by SIGTERM". */
static void describe(const struct opts *o, int status, char *b, size_t n)
{
	char note[64];

	if (WIFSIGNALED(status)) {
		snprintf(b, n, "killed by SIG%s", signame(WTERMSIG(status)));
		return;
	}
	stage_note(o, WEXITSTATUS(status), note, sizeof note);
	snprintf(b, n, "status %d%s", WEXITSTATUS(status), note);
}

/* --- checkpoints ---------------------------------------------------------- */

/* Is checkpoint id valid in every stage? */
static bool complete(const char *dir, char **stages, size_t ns, uint64_t id)
{
	for (size_t i = 0; i < ns; i++) {
		char *path = ckpt_path(dir, stages[i], id), why[256];
		int rc = ckpt_verify_file(path, why, sizeof why);

		free(path);
		if (rc < 0)
			return false;
	}
	return ns > 0;
}

/*
 * The newest complete checkpoint in dir, as the stages will choose it
 * (ckpt.h), or 0.  Read without ckpt_open(), which would register
 * fs-run as a stage that never completes a checkpoint.
 */
static uint64_t newest_checkpoint(const char *dir)
{
	size_t ns, nid;
	char **stages = ckpt_stage_names(dir, &ns);
	uint64_t *ids, found = 0;

	if (stages == NULL) {
		if (errno != ENOENT)
			diag_warn("cannot read checkpoint directory: '%s': %s",
			    dir, strerror(errno));
		return 0;
	}
	/* Any stage's ids will do: a complete id is in every stage. */
	ids = ns > 0 ? ckpt_stage_ids(dir, stages[0], &nid) : NULL;
	for (size_t i = 0; ns > 0 && i < nid && found == 0; i++)
		if (complete(dir, stages, ns, ids[i]))
			found = ids[i];
	free(ids);
	ckpt_free_names(stages, ns);
	return found;
}

static void log_start(const struct opts *o, const struct history *h)
{
	char restart[32] = "";
	uint64_t id;

	if (h->starts > 1)
		snprintf(restart, sizeof restart, " (restart %u)", h->starts - 1);
	if (o->c.ckpt_dir == NULL) {
		diag_warn("start %u%s", h->starts, restart);
		return;
	}
	id = newest_checkpoint(o->c.ckpt_dir);
	if (id == 0)
		diag_warn("start %u%s: no checkpoint: starting fresh", h->starts,
		    restart);
	else
		diag_warn("start %u%s: resuming from checkpoint %" PRIu64,
		    h->starts, restart, id);
}

/* --- one run ---------------------------------------------------------- */

/* FS_RUN_ATTEMPT=n in a copy of the environment (the strings are
 * borrowed, but for the last, which is the caller's to free). */
static char **run_env(unsigned attempt)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + 2, sizeof *env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "FS_RUN_ATTEMPT=", 15) != 0)
			env[k++] = environ[i];
	env[k] = xmalloc(32);
	snprintf(env[k], 32, "FS_RUN_ATTEMPT=%u", attempt);
	return env;
}

static void start(const struct opts *o, struct pgroup *g, unsigned attempt)
{
	char **env = run_env(attempt);
	size_t n = 0;
	int rc = pgroup_spawn(g, o->cmd, env);

	while (env[n] != NULL)
		n++;
	free(env[n - 1]);
	free(env);
	if (rc != 0)
		diag_fatal("cannot run '%s': %s", o->cmd[0], strerror(rc));
}

/* An exit during a stop that does not make the stop unclean. */
static bool benign(int status)
{
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGPIPE;
	return WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 128 + SIGTERM ||
	    WEXITSTATUS(status) == 128 + SIGPIPE;
}

/* Reaps every child that has exited: the leader's status goes to oc;
 * when stopping, any other failure makes the stop unclean. */
static void reap(const struct opts *o, const struct pgroup *g,
    struct outcome *oc, bool stopping)
{
	pid_t pid;
	int status;

	while ((pid = pgroup_reap(&status)) > 0) {
		if (pid == g->pgid) {
			oc->status = status;
			oc->leader_done = true;
		} else {
			char d[64];

			describe(o, status, d, sizeof d);
			diag_info("process %d left by the pipeline ended: %s",
			    (int)pid, d);
		}
		if (stopping && !benign(status))
			oc->clean = false;
	}
}

static void signal_group(const struct pgroup *g, int sig)
{
	if (pgroup_signal(g, sig) < 0)
		diag_fatal("cannot signal the pipeline (process group %d): %s",
		    (int)g->pgid, strerror(errno));
}

/*
 * Stops every process left in the group: SIGTERM, then SIGKILL after
 * --stop-timeout (which makes the stop unclean).  Returns when the group
 * is gone and its leader reaped.
 */
static void stop_group(const struct opts *o, const struct pgroup *g,
    struct outcome *oc)
{
	int64_t deadline = pgroup_now_ms() + o->stop_timeout;
	bool killed = false;

	signal_group(g, SIGTERM);
	for (;;) {
		reap(o, g, oc, true);
		if (oc->leader_done && !pgroup_alive(g))
			return;
		if (!killed && pgroup_now_ms() >= deadline) {
			diag_error("pipeline still running %" PRId64 "ms after "
			    "SIGTERM: sending SIGKILL", o->stop_timeout);
			signal_group(g, SIGKILL);
			killed = true;
			oc->clean = false;
		}
		pgroup_pause(TICK_MS);
	}
}

/* Stops the writers to pipes whose readers died (pgroup.h). */
static void stop_stranded(const struct opts *o, struct pgroup *g)
{
	struct pg_member m[MAX_STRANDED];
	size_t n = pgroup_stranded(g, pgroup_now_ms(), o->grace, m,
	    MAX_STRANDED);

	for (size_t i = 0; i < n; i++) {
		diag_warn("'%s' (pid %d) writes to a pipe whose reader has "
		    "exited: stopping it", m[i].comm, (int)m[i].pid);
		if (kill(m[i].pid, SIGTERM) < 0 && errno != ESRCH)
			diag_fatal("cannot signal pid %d: %s", (int)m[i].pid,
			    strerror(errno));
	}
}

/* Runs the pipeline once, until it ends or fs-run is asked to stop. */
static struct outcome run_once(const struct opts *o, unsigned attempt)
{
	struct outcome oc = { .clean = true };
	int64_t t0 = pgroup_now_ms();
	struct pgroup g;

	start(o, &g, attempt);
	while (!oc.leader_done && !sig_stop_requested()) {
		pgroup_pause(TICK_MS);
		reap(o, &g, &oc, false);
		if (!oc.leader_done && !sig_stop_requested())
			stop_stranded(o, &g);
	}
	oc.ms = pgroup_now_ms() - t0;
	oc.stop_requested = sig_stop_requested();
	if (oc.stop_requested || pgroup_alive(&g)) {
		if (!oc.stop_requested)
			diag_warn("the pipeline's leader ended, processes of its "
			    "group remain: stopping them");
		stop_group(o, &g, &oc);
	}
	pgroup_free(&g);
	return oc;
}

/* --- restarts --------------------------------------------------------- */

/* Records a failure; true when the restart budget is spent. */
static bool budget_spent(const struct opts *o, struct history *h,
    int64_t now)
{
	size_t kept = 0;

	for (size_t i = 0; i < h->nfails; i++)
		if (now - h->fails[i] < o->window)
			h->fails[kept++] = h->fails[i];
	h->nfails = kept;
	h->fails = xgrow(h->fails, &h->fails_cap, h->nfails + 1,
	    sizeof *h->fails);
	h->fails[h->nfails++] = now;
	return (int64_t)h->nfails > o->max_restarts;
}

/* The wait before the next start: MIN doubled per failure in a row. */
static int64_t next_backoff(const struct opts *o, struct history *h,
    const struct outcome *oc)
{
	int64_t d = o->backoff_min;

	if (oc->ms >= o->backoff_reset)
		h->streak = 0;
	for (unsigned i = 0; i < h->streak && d < o->backoff_max; i++)
		d = d > o->backoff_max / 2 ? o->backoff_max : d * 2;
	h->streak++;
	return d < o->backoff_max ? d : o->backoff_max;
}

/* Waits ms unless asked to stop; true when asked. */
static bool wait_or_stop(int64_t ms)
{
	int64_t end = pgroup_now_ms() + ms;

	while (!sig_stop_requested() && pgroup_now_ms() < end)
		pgroup_pause(end - pgroup_now_ms());
	return sig_stop_requested();
}

/* "pipeline exited 1 after 12.3s", "pipeline killed by SIGKILL after
 * 2s". */
static void log_failure(const struct opts *o, const struct outcome *oc)
{
	char note[64], t[32];

	format_ms(oc->ms, t, sizeof t);
	if (WIFSIGNALED(oc->status)) {
		diag_error("pipeline killed by SIG%s after %s",
		    signame(WTERMSIG(oc->status)), t);
		return;
	}
	stage_note(o, WEXITSTATUS(oc->status), note, sizeof note);
	diag_error("pipeline exited %d after %s%s", WEXITSTATUS(oc->status), t,
	    note);
}

static void print_stats(const struct opts *o, const struct history *h)
{
	uint64_t id;

	if (!o->c.stats)
		return;
	if (o->c.ckpt_dir == NULL) {
		diag_info("%u starts, %u restarts", h->starts, h->starts - 1);
		return;
	}
	id = newest_checkpoint(o->c.ckpt_dir);
	if (id == 0)
		diag_info("%u starts, %u restarts, no checkpoint", h->starts,
		    h->starts - 1);
	else
		diag_info("%u starts, %u restarts, last checkpoint %" PRIu64,
		    h->starts, h->starts - 1, id);
}

/* Starts the pipeline until it succeeds, is stopped or fails too often;
 * returns fs-run's exit status. */
static void metrics_dir_clear(const char *dir, bool rmdir_too);

static int supervise(const struct opts *o, struct history *h,
    const char *mdir)
{
	for (;;) {
		struct outcome oc;
		char d[64], t[32];
		int64_t delay;

		metrics_dir_clear(mdir, false);
		h->starts++;
		log_start(o, h);
		oc = run_once(o, h->starts);
		if (oc.stop_requested) {
			describe(o, oc.status, d, sizeof d);
			if (!oc.clean)
				diag_error("pipeline did not stop cleanly: %s", d);
			else
				diag_warn("pipeline stopped: %s", d);
			return oc.clean ? 0 : 1;
		}
		if (WIFEXITED(oc.status) && WEXITSTATUS(oc.status) == 0)
			return 0;
		log_failure(o, &oc);
		if (budget_spent(o, h, pgroup_now_ms())) {
			describe(o, oc.status, d, sizeof d);
			diag_error("pipeline failed %zu times in %s: giving up; "
			    "last exit: %s", h->nfails, o->window_arg, d);
			return 1;
		}
		delay = next_backoff(o, h, &oc);
		format_ms(delay, t, sizeof t);
		diag_warn("restarting in %s", t);
		if (wait_or_stop(delay))
			return 0;
	}
}

/*
 * --metrics-port: each stage writes its textfile into a directory of
 * fs-run's own (FS_METRICS_DIR, metrics.h) and fs-run serves them merged
 * with its own metrics.  Returns the directory, or NULL.
 */
static char *metrics_dir(const struct opts *o)
{
	const char *tmp = getenv("TMPDIR");
	size_t n;
	char *dir;

	if (o->c.metrics == NULL)
		return NULL;
	n = strlen(tmp ? tmp : "/tmp") + 32;
	dir = xmalloc(n);
	snprintf(dir, n, "%s/fs-run-metrics.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		diag_fatal("--metrics-port: cannot make a directory: '%s': %s",
		    dir, strerror(errno));
	if (setenv(METRICS_DIR_ENV, dir, 1) != 0)
		diag_fatal("setenv: %s", strerror(errno));
	metrics_set_dir(o->c.metrics, dir);
	return dir;
}

/* Removes the stages' textfiles (at a restart: those of the run that
 * ended are stale), and with rmdir_too the directory. */
static void metrics_dir_clear(const char *dir, bool rmdir_too)
{
	DIR *d;
	struct dirent *e;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) != 0)
			diag_warn("cannot remove '%s/%s': %s", dir, e->d_name,
			    strerror(errno));
	closedir(d);
	if (rmdir_too && rmdir(dir) != 0)
		diag_warn("cannot remove '%s': %s", dir, strerror(errno));
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct history h = { 0 };
	char *mdir;
	int rc;

	parse_options(&o, argc, argv);
	pgroup_setup();
	mdir = metrics_dir(&o);
	rc = supervise(&o, &h, mdir);
	metrics_dir_clear(mdir, true);
	free(mdir);
	print_stats(&o, &h);
	free(h.fails);
	free_options(&o);
	return rc;
}
