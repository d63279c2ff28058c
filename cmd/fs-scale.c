/*
 * fs-scale - one pipeline per partition the consumer group assigns.
 * See fs-scale(1); the design is fs-checkpoint(5), "Scale-out".
 *
 *   fs-scale -b BROKERS -G GROUP -t TOPIC --checkpoint-dir STORE
 *            [fs-run options] [--] 'PIPELINE'
 *
 * fs-scale joins GROUP as a consumer of TOPIC only to be given
 * partitions: it pauses each one it is assigned and never reads a
 * record.  For each assigned partition P it starts `fs-run [fs-run
 * options] -- PIPELINE` with FS_PARTITION=P and FS_CHECKPOINT_DIR set to
 * STORE narrowed to the partition (kafka://B/T?ns=GROUP.pP, or
 * DIR/GROUP.pP), so that the partition's stages keep their state apart
 * from every other partition's and the instance that is given P next
 * resumes from P's newest complete checkpoint.  On a revocation it stops
 * those fs-runs (SIGTERM) and waits for them before the callback
 * returns, so two instances never run one partition at once.  Every
 * --commit-interval it commits to GROUP, for each partition it runs, the
 * source offsets of the partition's newest complete checkpoint, read
 * from the store; never those of a checkpoint that is not complete.
 *
 * Those commits are transactional offset commits of a producer of its
 * own, not the group member's: a member's commit carries its generation,
 * and one that crosses a rebalance (every cooperative rebalance has a
 * second round) is answered ILLEGAL_GENERATION, which librdkafka before
 * 2.10 takes for a lost assignment (librdkafka #4059): every partition
 * the member ran was stopped and started again while the group settled.
 * A transactional commit names the group alone and is taken in any
 * state of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"
#include "ckpt.h"
#include "opt.h"
#include "kafka/kafka.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-scale -b BROKERS -G GROUP -t TOPIC --checkpoint-dir STORE\n"
"                [-F FILE] [-X KEY=VALUE] [--commit-interval DURATION]\n"
"                [fs-run options] [common options] [--] PIPELINE\n"
"Joins consumer group GROUP on TOPIC and runs PIPELINE under fs-run once\n"
"for each partition the group assigns, with FS_PARTITION and\n"
"FS_CHECKPOINT_DIR (STORE narrowed to the partition) in its environment.\n";

#define POLL_MS 250
#define STOP_WAIT_MS 50
#define TXN_TIMEOUT_MS 30000
#define LEAVE_MS 30000

struct opts {
	struct fs_common c;
	struct kafka_opts k;
	const char *group, *topic, *pipeline;
	int64_t commit_interval;
	struct opt_list run_args;       /* fs-run's options, as given */
};

/* One assigned partition: a task, as Kafka Streams calls it. */
struct task {
	int32_t partition;
	pid_t pid;                  /* its fs-run; 0 when none runs */
	char *store_url;            /* FS_CHECKPOINT_DIR */
	struct ckpt_store *store;   /* opened at the first commit */
	uint64_t committed;         /* checkpoint whose offsets were committed */
};

struct scale {
	const struct opts *o;
	const struct ckpt_backend *be;
	rd_kafka_t *rk;
	rd_kafka_t *txp;            /* commits the offsets (commit_offsets()) */
	rd_kafka_consumer_group_metadata_t *cgmd;   /* GROUP, no generation */
	struct task *t;
	size_t nt, cap;
	bool failed;                /* an fs-run gave up: leave the group */
	bool assigned_once;         /* a first assignment came (leave()) */
};

/* --- options ---------------------------------------------------------- */

/* An fs-run option, checked here so that a bad value is a usage error
 * of fs-scale's rather than of every fs-run it starts. */
static void run_option(void *data, const char *name, const char *arg)
{
	struct opts *o = data;
	const char *comma = strchr(arg, ',');
	uint64_t n;

	if (strcmp(name, "--max-restarts") == 0) {
		if (num_parse_u64_strict(arg, &n) < 0 || n > 1000000)
			diag_usage("--max-restarts: expected an integer from 0 "
			    "to 1000000: '%s'", arg);
	} else if (strcmp(name, "--backoff") == 0 && comma != NULL) {
		char *min = xstrndup(arg, (size_t)(comma - arg));

		opt_duration(name, min);
		opt_duration(name, comma + 1);
		free(min);
	} else {
		opt_duration(name, arg);
	}
	o->run_args.v = xgrow(o->run_args.v, &o->run_args.cap,
	    o->run_args.n + 2, sizeof *o->run_args.v);
	o->run_args.v[o->run_args.n++] = name;
	o->run_args.v[o->run_args.n++] = arg;
}

/* GROUP becomes part of a namespace: the characters a stage name has. */
static void check_group(const char *g)
{
	if (g[0] == '\0' || strlen(g) > 180 ||
	    strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") != strlen(g))
		diag_usage("-G: letters, digits, '-', '_' and '.' only: '%s'", g);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	char buf[256];
	const struct opt opts[] = {
		OPT_GROUP_KAFKA(&o->k),
		OPT_STRING('G', NULL, &o->group, "GROUP",
		    "the consumer group the instances share"),
		OPT_STRING('t', NULL, &o->topic, "TOPIC",
		    "the input topic whose partitions are split"),
		OPT_DURATION(0, "commit-interval", &o->commit_interval, 100,
		    INT64_C(3600000), "DURATION", "how often complete "
		    "checkpoints' offsets are\ncommitted (default 5s)"),
		OPT_CALLBACK(0, "backoff", run_option, o, "MIN[,MAX]",
		    "fs-run's (fs-run(1))"),
		OPT_CALLBACK(0, "backoff-reset", run_option, o, "DURATION",
		    "fs-run's"),
		OPT_CALLBACK(0, "grace", run_option, o, "DURATION", "fs-run's"),
		OPT_CALLBACK(0, "max-restarts", run_option, o, "N", "fs-run's"),
		OPT_CALLBACK(0, "restart-window", run_option, o, "DURATION",
		    "fs-run's"),
		OPT_CALLBACK(0, "stop-timeout", run_option, o, "DURATION",
		    "fs-run's"),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};
	int first;

	fs_common_init(&o->c, argc, argv);
	kafka_opts_init(&o->k);
	/* Incremental rebalances: a member keeps running the partitions
	 * it keeps (-X partition.assignment.strategy changes it). */
	if (kafka_conf_set2(o->k.conf, "partition.assignment.strategy",
	    "cooperative-sticky", buf, sizeof buf) < 0)
		diag_fatal("librdkafka: %s", buf);
	o->commit_interval = 5000;
	first = opt_parse(usage_text, opts, OPT_STOP_AT_OPERAND, argc, argv);
	kafka_opts_finish(&o->k);
	fs_common_finish(&o->c);
	if (kafka_conf_get(o->k.conf, "bootstrap.servers", buf,
	    sizeof buf) == NULL || buf[0] == '\0')
		diag_usage("-b BROKERS is required");
	if (o->group == NULL)
		diag_usage("-G GROUP is required");
	check_group(o->group);
	if (o->topic == NULL)
		diag_usage("-t TOPIC is required");
	if (o->c.ckpt_dir == NULL)
		diag_usage("--checkpoint-dir is required: the store the "
		    "instances share");
	if (o->c.stage != NULL)
		diag_usage("--stage: fs-scale is no stage; the pipeline's "
		    "stages take it");
	if (strstr(o->c.ckpt_dir, "://") != NULL &&
	    strstr(o->c.ckpt_dir, "ns=") != NULL)
		diag_usage("--checkpoint-dir: fs-scale sets ns= itself: '%s'",
		    o->c.ckpt_dir);
	if (argc - first != 1)
		diag_usage(argc == first ? "missing the pipeline to run" :
		    "one pipeline, quoted: '%s ...'", argv[first]);
	o->pipeline = argv[first];
}

/* --- tasks ------------------------------------------------------------ */

/* The store narrowed to partition p: STORE?ns=GROUP.pP (or &ns=), or
 * DIR/GROUP.pP. */
static char *narrow(const struct opts *o, int32_t p)
{
	const char *s = o->c.ckpt_dir;
	size_t n = strlen(s) + strlen(o->group) + 32;
	char *u = xmalloc(n);

	if (strstr(s, "://") != NULL)
		snprintf(u, n, "%s%sns=%s.p%" PRId32, s,
		    strchr(s, '?') != NULL ? "&" : "?", o->group, p);
	else
		snprintf(u, n, "%s/%s.p%" PRId32, s, o->group, p);
	return u;
}

static struct task *task_find(struct scale *sc, int32_t p)
{
	for (size_t i = 0; i < sc->nt; i++)
		if (sc->t[i].partition == p)
			return &sc->t[i];
	return NULL;
}

static void task_drop(struct scale *sc, struct task *t)
{
	ckpt_close(t->store);
	free(t->store_url);
	*t = sc->t[--sc->nt];
}

/*
 * The child: dies with fs-scale (an fs-scale killed without a chance to
 * stop its pipelines must not leave them running a partition another
 * instance is about to be given), then becomes fs-run.
 */
static void exec_run(const struct opts *o, const struct task *t,
    pid_t parent)
{
	char part[16];
	char **argv = xcalloc(o->run_args.n + 4, sizeof *argv);
	size_t a = 0;
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(part, sizeof part, "%" PRId32, t->partition);
	if (setenv("FS_PARTITION", part, 1) < 0 ||
	    setenv("FS_CHECKPOINT_DIR", t->store_url, 1) < 0)
		_exit(127);
	argv[a++] = (char *)"fs-run";
	for (size_t i = 0; i < o->run_args.n; i++)
		argv[a++] = (char *)o->run_args.v[i];
	argv[a++] = (char *)"--";
	argv[a++] = (char *)o->pipeline;
	execvp(argv[0], argv);
	fprintf(stderr, "%s: cannot run 'fs-run': %s\n", diag_progname(),
	    strerror(errno));
	_exit(127);
}

static void task_start(struct scale *sc, int32_t p)
{
	struct task *t = task_find(sc, p);
	pid_t parent = getpid(), pid;

	if (t != NULL && t->pid > 0)
		return;
	if (t == NULL) {
		sc->t = xgrow(sc->t, &sc->cap, sc->nt + 1, sizeof *sc->t);
		t = &sc->t[sc->nt++];
		memset(t, 0, sizeof *t);
		t->partition = p;
		t->store_url = narrow(sc->o, p);
	}
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		diag_fatal("cannot start the pipeline of partition %" PRId32
		    ": fork: %s", p, strerror(errno));
	if (pid == 0)
		exec_run(sc->o, t, parent);
	t->pid = pid;
	diag_warn("partition %" PRId32 ": started (fs-run pid %d, "
	    "checkpoints '%s')", p, (int)pid, t->store_url);
}

/* What became of an fs-run that ended; a failure ends fs-scale. */
static void task_ended(struct scale *sc, struct task *t, int status,
    bool stopping)
{
	t->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		diag_info("partition %" PRId32 ": %s", t->partition,
		    stopping ? "stopped" : "the pipeline ended");
		return;
	}
	if (WIFSIGNALED(status))
		diag_error("partition %" PRId32 ": fs-run killed by signal %d",
		    t->partition, WTERMSIG(status));
	else
		diag_error("partition %" PRId32 ": fs-run exited %d",
		    t->partition, WEXITSTATUS(status));
	sc->failed = true;
}

/* Reaps fs-runs that have ended, waiting for none. */
static void reap(struct scale *sc)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < sc->nt; i++)
			if (sc->t[i].pid == pid)
				task_ended(sc, &sc->t[i], status, false);
}

static bool in_list(const rd_kafka_topic_partition_list_t *l, int32_t p)
{
	for (int i = 0; l != NULL && i < l->cnt; i++)
		if (l->elems[i].partition == p)
			return true;
	return false;
}

/*
 * Stops the fs-runs of the partitions in l (all with l NULL): SIGTERM to
 * each, then waits for every one.  fs-run stops its pipeline (SIGKILL
 * after its --stop-timeout), so the wait ends.
 */
static void tasks_stop(struct scale *sc,
    const rd_kafka_topic_partition_list_t *l)
{
	bool left;

	for (size_t i = 0; i < sc->nt; i++)
		if (sc->t[i].pid > 0 && (l == NULL ||
		    in_list(l, sc->t[i].partition)) &&
		    kill(sc->t[i].pid, SIGTERM) < 0 && errno != ESRCH)
			diag_fatal("cannot stop fs-run (pid %d): %s",
			    (int)sc->t[i].pid, strerror(errno));
	do {
		left = false;
		for (size_t i = 0; i < sc->nt; i++) {
			struct task *t = &sc->t[i];
			int status;

			if (t->pid <= 0 || (l != NULL && !in_list(l, t->partition)))
				continue;
			if (waitpid(t->pid, &status, WNOHANG) == t->pid)
				task_ended(sc, t, status, true);
			else
				left = true;
		}
		if (left)
			usleep(STOP_WAIT_MS * 1000);
	} while (left);
}

/* --- offsets ---------------------------------------------------------- */

/* The offset the source's checkpoint holds for (topic, p), or -1. */
static int64_t source_offset(const char *payload, const char *topic,
    int32_t p)
{
	json_t *st = json_loads(payload, 0, NULL), *e;
	int64_t off = -1;
	size_t i;

	json_array_foreach(json_object_get(st, "offsets"), i, e) {
		const char *tp = json_string_value(json_object_get(e, "topic"));

		if (tp != NULL && strcmp(tp, topic) == 0 &&
		    json_integer_value(json_object_get(e, "partition")) == p &&
		    json_is_integer(json_object_get(e, "offset")))
			off = json_integer_value(json_object_get(e, "offset"));
	}
	json_decref(st);
	return off;
}

/* The offset of t's partition in its checkpoint id: the stage whose
 * state holds one is the source. */
static int64_t checkpoint_offset(struct scale *sc, struct task *t,
    uint64_t id)
{
	size_t n;
	char **stages = ckpt_store_stage_names(t->store, &n);
	int64_t off = -1;

	for (size_t i = 0; i < n && off < 0; i++) {
		char *payload;
		size_t len;

		struct ckpt_head h;
		char why[256];

		/* The source's piece holds the offsets; an incremental stage's
		 * delta (fs-agg) holds none and is not read whole. */
		if (ckpt_store_head(t->store, stages[i], id, &h, why,
		    sizeof why) < 0 || h.kind != CKPT_FULL ||
		    ckpt_store_read(t->store, stages[i], id, &payload, &len) < 0)
			continue;
		off = source_offset(payload, sc->o->topic, t->partition);
		free(payload);
	}
	ckpt_free_names(stages, n);
	return off;
}

/*
 * Commits offsets l to GROUP in a transaction of their own, without the
 * member's generation (see the top of the file).  0, or -1 with the
 * reason in why[len]; a producer librdkafka has fenced or failed for good
 * ends fs-scale.
 */
static int commit_offsets(struct scale *sc,
    const rd_kafka_topic_partition_list_t *l, char *why, size_t len)
{
	rd_kafka_error_t *e = rd_kafka_begin_transaction(sc->txp);

	if (e == NULL)
		e = rd_kafka_send_offsets_to_transaction(sc->txp, l, sc->cgmd,
		    TXN_TIMEOUT_MS);
	if (e == NULL)
		e = rd_kafka_commit_transaction(sc->txp, TXN_TIMEOUT_MS);
	if (e == NULL)
		return 0;
	snprintf(why, len, "%s", rd_kafka_error_string(e));
	if (rd_kafka_error_is_fatal(e))
		diag_fatal("offset commits: %s", why);
	if (rd_kafka_error_txn_requires_abort(e)) {
		rd_kafka_error_t *a = rd_kafka_abort_transaction(sc->txp,
		    TXN_TIMEOUT_MS);

		if (a != NULL) {
			diag_fatal("offset commits: cannot abort after '%s': %s",
			    why, rd_kafka_error_string(a));
			rd_kafka_error_destroy(a);
		}
	}
	rd_kafka_error_destroy(e);
	return -1;
}

/* Commits the offsets of t's newest complete checkpoint, if newer than
 * the last committed. */
static void commit_task(struct scale *sc, struct task *t)
{
	rd_kafka_topic_partition_list_t *l;
	char why[256];
	uint64_t id;
	int err;
	int64_t off;

	if (t->store == NULL)
		t->store = ckpt_store_open(sc->be, t->store_url, NULL,
		    sc->o->c.ckpt_props);
	id = ckpt_latest_complete(t->store);
	if (id == 0) {
		/* Nothing complete yet, perhaps no checkpoint topic yet: a
		 * Kafka store opened before its topic exists stays empty (its
		 * partitions are found at open), so open it again next time. */
		ckpt_close(t->store);
		t->store = NULL;
		return;
	}
	if (id <= t->committed)
		return;
	off = checkpoint_offset(sc, t, id);
	if (off < 0) {
		diag_warn("partition %" PRId32 ": checkpoint %" PRIu64 " holds "
		    "no offset of '%s' [%" PRId32 "]: nothing committed",
		    t->partition, id, sc->o->topic, t->partition);
		t->committed = id;
		return;
	}
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, sc->o->topic, t->partition)
	    ->offset = off;
	err = commit_offsets(sc, l, why, sizeof why);
	rd_kafka_topic_partition_list_destroy(l);
	if (err < 0) {
		diag_warn("partition %" PRId32 ": commit of checkpoint %" PRIu64
		    "'s offset %" PRId64 ": %s", t->partition, id, off, why);
		return;
	}
	t->committed = id;
	diag_info("partition %" PRId32 ": committed offset %" PRId64 " of "
	    "checkpoint %" PRIu64, t->partition, off, id);
}

static void commit_all(struct scale *sc,
    const rd_kafka_topic_partition_list_t *l)
{
	for (size_t i = 0; i < sc->nt; i++)
		if (l == NULL || in_list(l, sc->t[i].partition))
			commit_task(sc, &sc->t[i]);
}

/* --- the group -------------------------------------------------------- */

static void assignment_error(const char *what, rd_kafka_error_t *e,
    rd_kafka_resp_err_t err)
{
	if (e != NULL) {
		diag_fatal("%s: %s", what, rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
	if (err)
		diag_fatal("%s: %s", what, rd_kafka_err2str(err));
}

/* Given partitions: take them, pause them (fs-scale reads nothing),
 * start their pipelines. */
static void assigned(struct scale *sc, rd_kafka_topic_partition_list_t *l,
    bool coop)
{
	if (coop)
		assignment_error("incremental assign",
		    rd_kafka_incremental_assign(sc->rk, l), 0);
	else
		assignment_error("assign", NULL, rd_kafka_assign(sc->rk, l));
	rd_kafka_pause_partitions(sc->rk, l);
	for (int i = 0; i < l->cnt && !sig_stop_requested() && !sc->failed;
	    i++)
		task_start(sc, l->elems[i].partition);
}

/*
 * Partitions taken away: their pipelines stop before the callback
 * returns, their last complete checkpoints' offsets are committed
 * (unless the partitions were lost, and so may be another member's
 * already), then they are forgotten.
 */
static void revoked(struct scale *sc, rd_kafka_topic_partition_list_t *l,
    bool coop)
{
	bool lost = rd_kafka_assignment_lost(sc->rk);

	tasks_stop(sc, l);
	if (!lost)
		commit_all(sc, l);
	for (size_t i = sc->nt; i-- > 0;)
		if (in_list(l, sc->t[i].partition)) {
			diag_warn("partition %" PRId32 ": %s", sc->t[i].partition,
			    lost ? "lost" : "revoked");
			task_drop(sc, &sc->t[i]);
		}
	if (coop)
		assignment_error("incremental unassign",
		    rd_kafka_incremental_unassign(sc->rk, l), 0);
	else
		assignment_error("unassign", NULL, rd_kafka_assign(sc->rk, NULL));
}

/* librdkafka's rebalance callback, for both protocols: cooperative
 * (incremental, the default here) and eager. */
static void rebalanced(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *l, void *opaque)
{
	struct scale *sc = opaque;
	bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;

	sc->assigned_once = true;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		assigned(sc, l, coop);
	} else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		revoked(sc, l, coop);
	} else {
		rd_kafka_topic_partition_list_t *all = NULL;

		diag_warn("rebalance failed: %s: stopping every pipeline",
		    rd_kafka_err2str(err));
		if (rd_kafka_assignment(rk, &all) == 0 && all != NULL) {
			revoked(sc, all, coop);
			rd_kafka_topic_partition_list_destroy(all);
		}
	}
}

/*
 * The producer of the offset commits: the group's connection properties,
 * and a transactional id of this instance's own (GROUP, host, pid), since
 * it fences nothing: what stops a partition's pipeline is the group.
 */
static void offsets_producer(struct scale *sc, struct opts *o)
{
	rd_kafka_conf_t *conf = kafka_conf_new();
	char brokers[1024], host[HOST_NAME_MAX + 1], id[512], errstr[256];
	rd_kafka_error_t *e;

	if (kafka_conf_get(o->k.conf, "bootstrap.servers", brokers,
	    sizeof brokers) == NULL)
		diag_fatal("no bootstrap.servers");
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(id, sizeof id, "fs-scale.%s.%s.%ld", o->group, host,
	    (long)getpid());
	if (kafka_conf_set2(conf, "bootstrap.servers", brokers, errstr,
	    sizeof errstr) < 0 ||
	    kafka_conf_set2(conf, "transactional.id", id, errstr,
	    sizeof errstr) < 0)
		diag_fatal("librdkafka: %s", errstr);
	for (size_t i = 0; o->c.ckpt_props != NULL &&
	    o->c.ckpt_props[i] != NULL; i++)
		kafka_conf_set(conf, o->c.ckpt_props[i], "-X");
	sc->txp = kafka_new(RD_KAFKA_PRODUCER, conf);
	e = rd_kafka_init_transactions(sc->txp, TXN_TIMEOUT_MS);
	if (e != NULL) {
		diag_fatal("offset commits: cannot start the producer "
		    "('%s'): %s", id, rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
	sc->cgmd = rd_kafka_consumer_group_metadata_new(o->group);
}

static rd_kafka_t *join(struct scale *sc, struct opts *o)
{
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t err;
	char errstr[256];
	rd_kafka_t *rk;

	/* The store's connections are made as the group's are (SASL, TLS). */
	o->c.ckpt_props = kafka_conf_connection(o->k.conf);
	offsets_producer(sc, o);
	if (kafka_conf_set2(o->k.conf, "group.id", o->group, errstr,
	    sizeof errstr) < 0 ||
	    kafka_conf_set2(o->k.conf, "enable.auto.commit", "false", errstr,
	    sizeof errstr) < 0)
		diag_fatal("librdkafka: %s", errstr);
	rd_kafka_conf_set_rebalance_cb(o->k.conf, rebalanced);
	rd_kafka_conf_set_opaque(o->k.conf, sc);
	rk = kafka_new(RD_KAFKA_CONSUMER, o->k.conf);
	o->k.conf = NULL;
	kafka_await_broker(rk, o->k.md_timeout_ms);
	rd_kafka_poll_set_consumer(rk);
	sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (err)
		diag_fatal("cannot join group '%s' on '%s': %s", o->group,
		    o->topic, rd_kafka_err2str(err));
	return rk;
}

/* Serves the group (rebalances arrive in the poll), reaps fs-runs and
 * commits, until asked to stop or a pipeline fails for good. */
static void serve(struct scale *sc)
{
	int64_t next_commit = etime_now_ms() + sc->o->commit_interval;
	char why[256];

	while (!sig_stop_requested() && !sc->failed) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(sc->rk, POLL_MS);

		if (m != NULL) {
			if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				kafka_warn(rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
		}
		if (kafka_fatal_error(sc->rk, why, sizeof why))
			diag_fatal("kafka: %s", why);
		reap(sc);
		if (etime_now_ms() >= next_commit) {
			commit_all(sc, NULL);
			next_commit = etime_now_ms() + sc->o->commit_interval;
		}
	}
}

/* Serves the group for up to ms, for callbacks only. */
static void serve_group(struct scale *sc, int ms)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(sc->rk, ms);

	if (m != NULL)
		rd_kafka_message_destroy(m);
}

/*
 * Leaves the group before closing the consumer, within LEAVE_MS: waits
 * for the member's first assignment if none came yet, unsubscribes, and
 * serves the group until this member holds nothing (a rebalance under
 * way is finished first, its assignment taken and given back).
 * librdkafka 2.0's cooperative-sticky assignor aborts when a consumer
 * that never had an assignment is closed (librdkafka #4312: instances
 * stopped while they join), and its close has crashed when it met a
 * rebalance half done (SIGSEGV at exit, instances stopped together).
 */
static void leave(struct scale *sc)
{
	int64_t until = etime_now_ms() + LEAVE_MS;
	rd_kafka_resp_err_t err;

	while (!sc->assigned_once && etime_now_ms() < until)
		serve_group(sc, 100);
	err = rd_kafka_unsubscribe(sc->rk);
	if (err) {
		diag_warn("unsubscribe: %s", rd_kafka_err2str(err));
		return;
	}
	while (etime_now_ms() < until) {
		rd_kafka_topic_partition_list_t *held = NULL;
		bool none;

		serve_group(sc, 100);
		if (rd_kafka_assignment(sc->rk, &held) != 0)
			return;
		none = held->cnt == 0;
		rd_kafka_topic_partition_list_destroy(held);
		if (none)
			return;
	}
	diag_warn("the group still assigns partitions after %ds: closing",
	    LEAVE_MS / 1000);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct scale sc = { 0 };

	parse_options(&o, argc, argv);
	sc.o = &o;
	sc.be = ckpt_backend_for(o.c.ckpt_dir, &kafka_ckpt_backend);
	sc.rk = join(&sc, &o);
	serve(&sc);
	/* Every pipeline stops, its last complete checkpoint is committed,
	 * and the group is left (its revocation finds nothing running). */
	tasks_stop(&sc, NULL);
	commit_all(&sc, NULL);
	leave(&sc);
	rd_kafka_consumer_close(sc.rk);
	rd_kafka_destroy(sc.rk);
	rd_kafka_consumer_group_metadata_destroy(sc.cgmd);
	rd_kafka_destroy(sc.txp);
	while (sc.nt > 0)
		task_drop(&sc, &sc.t[0]);
	free(sc.t);
	free(o.run_args.v);
	kafka_props_free(o.c.ckpt_props);
	path_free(&o.c.time_path);
	return sc.failed ? 1 : 0;
}
