/* pgroup.c - a pipeline as a process group, watched (see pgroup.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "num.h"
#include "pgroup.h"
#include "xalloc.h"
#include "banned.h"

struct pg_pipe {
	uint64_t ino;
	int64_t stranded_since;     /* 0: it has a reader */
	bool seen;                  /* in this scan */
};

/* One pipe write end a member holds, from one scan. */
struct pg_fd {
	uint64_t ino;
	int fd;
	struct pg_member who;
};

struct pg_scan {
	struct pg_fd *fds;
	size_t n, cap;
};

/* Wakes pgroup_pause(); the state is read with waitpid(). */
static void on_child(int signo)
{
	(void)signo;
}

void pgroup_setup(void)
{
	struct sigaction sa;
	sigset_t set;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		diag_fatal("cannot become a subreaper: %s", strerror(errno));
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		diag_fatal("cannot handle SIGCHLD: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		diag_fatal("cannot block signals: %s", strerror(errno));
}

/* The child's attributes: own group, empty mask, SIGPIPE default. */
static int spawn_attr(posix_spawnattr_t *a)
{
	sigset_t none, def;
	int rc;

	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	if ((rc = posix_spawnattr_init(a)) != 0)
		return rc;
	if ((rc = posix_spawnattr_setflags(a, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(a, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(a, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(a, &def)) != 0)
		posix_spawnattr_destroy(a);
	return rc;
}

static void note_own_pipes(struct pgroup *g);

int pgroup_spawn(struct pgroup *g, char *const argv[], char *const envp[])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid;
	int rc;

	memset(g, 0, sizeof *g);
	note_own_pipes(g);
	if ((rc = spawn_attr(&attr)) != 0)
		return rc;
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		posix_spawnattr_destroy(&attr);
		return rc;
	}
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc == 0)
		g->pgid = pid;
	return rc;
}

void pgroup_free(struct pgroup *g)
{
	free(g->own);
	free(g->pipes);
	free(g->stopped);
	memset(g, 0, sizeof *g);
}

bool pgroup_alive(const struct pgroup *g)
{
	return g->pgid > 0 && (kill(-g->pgid, 0) == 0 || errno != ESRCH);
}

int pgroup_signal(const struct pgroup *g, int sig)
{
	if (kill(-g->pgid, sig) < 0 && errno != ESRCH)
		return -1;
	return 0;
}

pid_t pgroup_reap(int *status)
{
	pid_t pid;

	do
		pid = waitpid(-1, status, WNOHANG);
	while (pid < 0 && errno == EINTR);
	if (pid < 0 && errno != ECHILD)
		diag_fatal("waitpid: %s", strerror(errno));
	return pid;
}

void pgroup_pause(int64_t ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	sigset_t none;

	sigemptyset(&none);
	if (ppoll(NULL, 0, &ts, &none) < 0 && errno != EINTR)
		diag_fatal("ppoll: %s", strerror(errno));
}

int64_t pgroup_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the scan of /proc --------------------------------------------------- */

/* Reads a small /proc file whole; -1 when it is gone or unreadable. */
static ssize_t read_small(const char *path, char *b, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	do
		r = read(fd, b, n - 1);
	while (r < 0 && errno == EINTR);
	close(fd);
	if (r >= 0)
		b[r] = '\0';
	return r;
}

/* Is pid a live member of pgid?  Fills who (pid and name). */
static bool member(const char *pid, pid_t pgid, struct pg_member *who)
{
	char path[64], b[512], *open, *close_;
	long long ppid, pgrp;
	char state;
	size_t n;

	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	if (read_small(path, b, sizeof b) <= 0)
		return false;
	open = strchr(b, '(');
	close_ = strrchr(b, ')');
	if (open == NULL || close_ == NULL || close_ < open ||
	    sscanf(close_ + 1, " %c %lld %lld", &state, &ppid, &pgrp) != 3)
		return false;
	if (pgrp != pgid || state == 'Z' || state == 'X')
		return false;
	n = (size_t)(close_ - open - 1);
	if (n >= sizeof who->comm)
		n = sizeof who->comm - 1;
	memcpy(who->comm, open + 1, n);
	who->comm[n] = '\0';
	who->pid = (pid_t)strtol(pid, NULL, 10);
	return true;
}

/* Is descriptor fd of pid the write end of a pipe?  Sets *ino. */
static bool pipe_write_end(pid_t pid, const char *fd, uint64_t *ino)
{
	char path[96], link[64], b[256], *flags;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)pid, fd);
	n = readlink(path, link, sizeof link - 1);
	if (n < 7)
		return false;
	link[n] = '\0';
	if (strncmp(link, "pipe:[", 6) != 0 || link[n - 1] != ']')
		return false;
	link[n - 1] = '\0';
	if (num_parse_u64_strict(link + 6, ino) < 0)
		return false;
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%s", (int)pid, fd);
	if (read_small(path, b, sizeof b) <= 0 ||
	    (flags = strstr(b, "flags:")) == NULL)
		return false;
	return (strtoul(flags + 6, NULL, 8) & O_ACCMODE) == O_WRONLY;
}

/*
 * Has the pipe that fd of pid writes to lost all its readers?  A write
 * end opened anew through /proc polls POLLERR when no reader is left
 * (poll(2)); it is closed at once, so the pipe is left as it was.
 */
static bool readerless(pid_t pid, int fd)
{
	char path[64];
	struct pollfd p;
	int w;

	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	if ((w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return false;   /* gone, or not ours to open */
	p.fd = w;
	p.events = POLLOUT;
	p.revents = 0;
	if (poll(&p, 1, 0) < 0)
		p.revents = 0;
	close(w);
	return (p.revents & POLLERR) != 0;
}

/* Adds the pipe write ends member who holds to s. */
static void scan_fds(const struct pg_member *who, struct pg_scan *s)
{
	char path[64];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)who->pid);
	if ((d = opendir(path)) == NULL)
		return;         /* gone, or not ours to read */
	while ((e = readdir(d)) != NULL) {
		struct pg_fd f = { .who = *who };

		if (e->d_name[0] == '.' ||
		    !pipe_write_end(who->pid, e->d_name, &f.ino))
			continue;
		f.fd = (int)strtol(e->d_name, NULL, 10);
		s->fds = xgrow(s->fds, &s->cap, s->n + 1, sizeof *s->fds);
		s->fds[s->n++] = f;
	}
	closedir(d);
}

/* Every pipe write end held by a live member of the group. */
static void scan_group(pid_t pgid, struct pg_scan *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (d == NULL)
		diag_fatal("cannot read /proc: %s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		struct pg_member who;

		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
		    member(e->d_name, pgid, &who))
			scan_fds(&who, s);
	}
	closedir(d);
}

/* --- stranded writers ----------------------------------------------------- */

/* The pipe write ends this process holds beyond stdout and stderr:
 * inherited, not the pipeline's (pgroup.h). */
static void note_own_pipes(struct pgroup *g)
{
	struct pg_scan s = { 0 };
	struct pg_member self = { .pid = getpid() };

	scan_fds(&self, &s);
	for (size_t i = 0; i < s.n; i++) {
		if (s.fds[i].fd <= STDERR_FILENO)
			continue;
		g->own = xgrow(g->own, &g->own_cap, g->nown + 1, sizeof *g->own);
		g->own[g->nown++] = s.fds[i].ino;
	}
	free(s.fds);
}

static bool own_pipe(const struct pgroup *g, uint64_t ino)
{
	for (size_t i = 0; i < g->nown; i++)
		if (g->own[i] == ino)
			return true;
	return false;
}

static struct pg_pipe *find_pipe(struct pgroup *g, uint64_t ino)
{
	for (size_t i = 0; i < g->npipes; i++)
		if (g->pipes[i].ino == ino)
			return &g->pipes[i];
	g->pipes = xgrow(g->pipes, &g->pipes_cap, g->npipes + 1,
	    sizeof *g->pipes);
	memset(&g->pipes[g->npipes], 0, sizeof *g->pipes);
	g->pipes[g->npipes].ino = ino;
	return &g->pipes[g->npipes++];
}

/* Folds one scan into the pipe table: when each pipe written to was
 * first seen without a reader; pipes nobody writes to are forgotten. */
static void update_pipes(struct pgroup *g, const struct pg_scan *s,
    int64_t now)
{
	size_t kept = 0;

	for (size_t i = 0; i < g->npipes; i++)
		g->pipes[i].seen = false;
	for (size_t i = 0; i < s->n; i++) {
		struct pg_pipe *p = find_pipe(g, s->fds[i].ino);

		if (p->seen)
			continue;       /* one look per pipe */
		p->seen = true;
		if (!readerless(s->fds[i].who.pid, s->fds[i].fd))
			p->stranded_since = 0;
		else if (p->stranded_since == 0)
			p->stranded_since = now;
	}
	for (size_t i = 0; i < g->npipes; i++)
		if (g->pipes[i].seen)
			g->pipes[kept++] = g->pipes[i];
	g->npipes = kept;
}

static bool reported(const struct pgroup *g, pid_t pid)
{
	for (size_t i = 0; i < g->nstopped; i++)
		if (g->stopped[i] == pid)
			return true;
	return false;
}

size_t pgroup_stranded(struct pgroup *g, int64_t now_ms, int64_t grace_ms,
    struct pg_member *out, size_t max)
{
	struct pg_scan s = { 0 };
	size_t n = 0;

	scan_group(g->pgid, &s);
	update_pipes(g, &s, now_ms);
	/* Once one writer was stranded the pipeline is going down: the
	 * writers upstream of it need no second grace period. */
	if (g->nstopped > 0)
		grace_ms = 0;
	for (size_t i = 0; i < s.n && n < max; i++) {
		const struct pg_fd *f = &s.fds[i];
		struct pg_pipe *p = find_pipe(g, f->ino);

		if (p->stranded_since == 0 || own_pipe(g, f->ino) ||
		    now_ms - p->stranded_since < grace_ms ||
		    reported(g, f->who.pid))
			continue;
		g->stopped = xgrow(g->stopped, &g->stopped_cap, g->nstopped + 1,
		    sizeof *g->stopped);
		g->stopped[g->nstopped++] = f->who.pid;
		out[n] = f->who;
		out[n++].pipe = f->ino;
	}
	free(s.fds);
	return n;
}
