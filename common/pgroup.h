/*
 * pgroup.h - a pipeline run as its own process group, for a supervisor
 * (fs-run).
 *
 * pgroup_spawn() starts a command as the leader of a new process group,
 * with stdin from /dev/null, the signal mask empty and SIGPIPE back to
 * its default (fs tools ignore it; other programs rely on it).  The
 * supervisor first calls pgroup_setup(): it becomes a child subreaper,
 * so every process the pipeline leaves behind is reparented to it and
 * reaped by pgroup_reap(), and it blocks SIGINT, SIGTERM and SIGCHLD
 * except inside pgroup_pause(), so that a signal can never arrive
 * between a check and a sleep.
 *
 * Stranded writers.  A stage that dies makes the rest of the pipeline
 * collapse: its upstream gets EPIPE at its next write, its downstream
 * reads an input that ends without the end-of-stream mark.  The second
 * is immediate; the first waits for the upstream's next write, which an
 * idle live source may not make before its next checkpoint barrier.
 * pgroup_stranded() finds those writers: the members that hold the
 * write end of a pipe (/proc/PID/fd and fdinfo) that no process holds
 * the read end of any more (a write end opened anew through /proc polls
 * POLLERR).  Such a writer can only ever get EPIPE from that pipe;
 * stopping it early changes when it stops, not what it writes.  Pipes
 * the supervisor itself holds above stderr when it starts the group
 * (inherited from whatever started it, a shell's job pipe) are not the
 * pipeline's and never strand anyone: a member writing to one learns
 * of a lost reader at its next write, as without a supervisor.  Its
 * stdout and stderr do count (fs-run(1)).
 *
 * The struct owns its tables; pgroup_free() releases them.  Functions
 * returning int return 0, or -1 with errno set.
 */
#ifndef FS_PGROUP_H
#define FS_PGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct pg_pipe;

struct pgroup {
	pid_t pgid;                 /* the leader's pid */
	uint64_t *own;              /* inherited pipes, not the pipeline's */
	size_t nown, own_cap;
	struct pg_pipe *pipes;      /* pipes seen held by members */
	size_t npipes, pipes_cap;
	pid_t *stopped;             /* writers already reported */
	size_t nstopped, stopped_cap;
};

/* A member reported by pgroup_stranded(). */
struct pg_member {
	pid_t pid;
	char comm[32];              /* its name, from /proc/PID/stat */
	uint64_t pipe;              /* the inode of the pipe nobody reads */
};

/* Becomes a child subreaper and blocks the signals pgroup_pause()
 * waits for.  Fatal on failure. */
void pgroup_setup(void);

/* Starts argv (searched in PATH) with environment envp as the leader of
 * a new process group.  Returns 0, or an errno value when it could not
 * be started (as posix_spawnp(3)). */
int pgroup_spawn(struct pgroup *g, char *const argv[], char *const envp[]);
void pgroup_free(struct pgroup *g);

/* True while any process of the group exists (zombies included). */
bool pgroup_alive(const struct pgroup *g);
/* Sends sig to every member.  ESRCH (none left) is not an error. */
int pgroup_signal(const struct pgroup *g, int sig);

/*
 * One child reaped without waiting: returns its pid and status, 0 when
 * no child has exited yet, -1 when there are no children (ECHILD).
 */
pid_t pgroup_reap(int *status);

/* Sleeps up to ms, returning early when a signal arrives (a child
 * exits, SIGINT or SIGTERM). */
void pgroup_pause(int64_t ms);

/*
 * Members that have held the write end of a pipe without a reader for
 * grace_ms or more (now_ms and grace_ms on one monotonic clock), each
 * reported once per group; up to max of them in out.  Returns how many.
 */
size_t pgroup_stranded(struct pgroup *g, int64_t now_ms, int64_t grace_ms,
    struct pg_member *out, size_t max);

/* Milliseconds on the monotonic clock. */
int64_t pgroup_now_ms(void);

#endif
