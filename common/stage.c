/* stage.c - tools' part in the checkpoint protocol (see stage.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string.h>
#include <time.h>

#include "diag.h"
#include "etime.h"
#include "metrics.h"
#include "stage.h"
#include "xalloc.h"
#include "banned.h"

/* The store --checkpoint-dir names, with this stage registered. */
static struct ckpt_store *open_store(const struct fs_common *c)
{
	return ckpt_store_open(ckpt_backend_for(c->ckpt_dir, c->ckpt_backend),
	    c->ckpt_dir, fs_common_stage(c), c->ckpt_props);
}

static void ckpt_metrics_init(struct ckpt_metrics *cm, struct metrics *m)
{
	cm->id = metrics_gauge(m, "fs_checkpoint_id",
	    "The id of the last checkpoint written.", NULL);
	cm->age = metrics_age(m, "fs_checkpoint_age_seconds",
	    "Seconds since the last checkpoint was written.", NULL);
	cm->duration = metrics_gauge(m, "fs_checkpoint_duration_seconds",
	    "How long writing the last checkpoint took, seconds.", NULL);
	cm->total = metrics_counter(m, "fs_checkpoints_total",
	    "Checkpoints written.", NULL);
}

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Checkpoint id was written, from start (mono_s()) until now. */
static void ckpt_metrics_note(struct ckpt_metrics *cm, uint64_t id,
    double start)
{
	metric_set(cm->duration, mono_s() - start);
	metric_set(cm->id, (double)id);
	metric_set_time(cm->age, etime_now_ms());
	metric_add(cm->total, 1);
}

void stage_init(struct stage *st, const struct fs_common *c,
    struct stage_hooks hooks)
{
	st->store = c->ckpt_dir ? open_store(c) : NULL;
	memset(&st->cm, 0, sizeof st->cm);
	if (st->store != NULL)
		ckpt_metrics_init(&st->cm, c->metrics);
	st->hooks = hooks;
	st->last_id = 0;
	st->started = st->checkpointed = st->ended = false;
	st->base = st->prev = 0;
	st->base_bytes = st->delta_bytes = 0;
	st->delta = (struct buf)BUF_INIT;
	st->child = 0;
	st->child_fd = -1;
	st->w = NULL;
	st->gated = NULL;
}

/* The state as a full piece's payload: in msgpack when the stage writes
 * it so (full()), else its snapshot() in JSON; the encoding. */
static enum ckpt_enc full_payload(struct stage *st, uint64_t id,
    struct buf *b)
{
	json_t *state;

	if (st->hooks.full != NULL && st->hooks.full(st->hooks.ctx, id, b) == 0)
		return CKPT_ENC_MSGPACK;
	b->len = 0;
	state = st->hooks.snapshot(st->hooks.ctx, id);
	rec_dump(b, state);
	buf_appendc(b, '\n');
	json_decref(state);
	return CKPT_ENC_JSON;
}

/* Writes the state as the full piece of checkpoint id; its size. */
static size_t write_full(struct stage *st, uint64_t id)
{
	struct buf b = BUF_INIT;
	struct ckpt_head h = { CKPT_FULL, id, id, id, CKPT_ENC_JSON };
	size_t len;

	h.enc = full_payload(st, id, &b);
	ckpt_write_piece(st->store, &h, b.data, b.len);
	len = b.len;
	buf_free(&b);
	return len;
}

/*
 * Compaction in the background: a child rewrites this stage's delta id
 * as a full piece of checkpoint id (the same state: the child's image is
 * the state at the barrier) and passes its size through a pipe.  It dies
 * with the stage (PR_SET_PDEATHSIG), so that it cannot write into a run
 * restarted after the stage died.  False when it cannot start.
 */
static bool compact_start(struct stage *st, uint64_t id)
{
	pid_t parent = getpid(), pid;
	int fd[2];

	if (pipe2(fd, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid < 0) {
		diag_warn("cannot start compaction: %s", strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return false;
	}
	if (pid == 0) {
		uint64_t len;

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		close(fd[0]);
		len = write_full(st, id);
		_exit(write(fd[1], &len, sizeof len) == sizeof len ? 0 : 1);
	}
	close(fd[1]);
	st->child = pid;
	st->child_fd = fd[0];
	st->child_id = id;
	st->child_delta_bytes = st->delta_bytes;
	return true;
}

/* Takes in the background compaction's result: when it is done (or, with
 * wait, once it is), the chain rests on its full piece. */
static void compact_reap(struct stage *st, bool wait)
{
	int status;
	pid_t r;
	uint64_t len = 0;

	if (st->child == 0)
		return;
	while ((r = waitpid(st->child, &status, wait ? 0 : WNOHANG)) < 0 &&
	    errno == EINTR)
		;
	if (r == 0)
		return;
	if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    read(st->child_fd, &len, sizeof len) == sizeof len) {
		ckpt_note_full(st->store, st->child_id);
		/* A restore since (none: it comes first) aside, the chain
		 * now rests on the child's piece. */
		if (st->base != 0 && st->base < st->child_id) {
			st->base = st->child_id;
			st->base_bytes = (size_t)len;
			st->delta_bytes -= st->child_delta_bytes;
		}
		diag_info("checkpoint %" PRIu64 " compacted: full piece of %"
		    PRIu64 " bytes", st->child_id, len);
	} else {
		diag_warn("compaction of checkpoint %" PRIu64 " failed; the "
		    "deltas go on", st->child_id);
	}
	close(st->child_fd);
	st->child = 0;
	st->child_fd = -1;
}

/* The most a stage keeps of its delta buffer between checkpoints. */
#define STAGE_BUF_KEEP ((size_t)16 << 20)

/*
 * The writer thread: it writes the piece it is handed (ckpt_write_piece(),
 * durable when it returns; fatal on failure, as in the stage itself) and
 * prunes, while the stage goes on.  The stage touches neither its store
 * nor the piece's bytes until settle() has waited for it: the store is
 * the writer's while a piece is pending, and the stage's again after.
 */
struct stage_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool job, quit;                 /* under mu */
	struct ckpt_store *store;
	struct ckpt_head h;
	const char *payload;
	size_t len;
	double start;                   /* when its barrier came (mono_s()) */
};

static void *writer_main(void *arg)
{
	struct stage_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->job && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->job)
			break;
		pthread_mutex_unlock(&w->mu);
		ckpt_write_piece(w->store, &w->h, w->payload, w->len);
		ckpt_prune(w->store, CKPT_KEEP_DEFAULT);
		pthread_mutex_lock(&w->mu);
		w->job = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The stage's writer, started when first needed; NULL (with a warning,
 * once) when no thread can be started: the stage then writes itself. */
static struct stage_writer *writer(struct stage *st)
{
	struct stage_writer *w = st->w;
	int e;

	if (w != NULL)
		return w->store != NULL ? w : NULL;
	w = st->w = xcalloc(1, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	e = pthread_create(&w->thread, NULL, writer_main, w);
	if (e != 0) {
		diag_warn("cannot start the checkpoint writer thread: %s; "
		    "checkpoints are written in line", strerror(e));
		return NULL;
	}
	w->store = st->store;
	return w;
}

/* Waits until the pending delta, if any, is durable, then lets the
 * gated output go (the barrier first) and notes the checkpoint. */
static void settle(struct stage *st)
{
	struct stage_writer *w = st->w;

	if (st->gated == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->job)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	out_set_gate(st->gated, NULL, NULL);
	st->gated = NULL;
	if (st->delta.cap > STAGE_BUF_KEEP)
		buf_free(&st->delta);
	diag_info("checkpoint %" PRIu64 " written: delta of %zu bytes on %"
	    PRIu64, w->h.id, w->len, w->h.base);
	ckpt_metrics_note(&st->cm, w->h.id, w->start);
}

/* The out's gate: its next write waits for the pending delta. */
static void gate(void *ctx)
{
	settle(ctx);
}

/* Hands the delta in st->delta, checkpoint h, to the writer and gates
 * out until it is durable; false when there is no writer. */
static bool write_behind(struct stage *st, const struct ckpt_head *h,
    struct out *out, double start)
{
	struct stage_writer *w = writer(st);

	if (w == NULL)
		return false;
	pthread_mutex_lock(&w->mu);
	w->h = *h;
	w->payload = st->delta.data;
	w->len = st->delta.len;
	w->start = start;
	w->job = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	st->gated = out;
	out_set_gate(out, gate, st);
	return true;
}

/* Stops the writer (nothing pending: settle() came first). */
static void writer_stop(struct stage *st)
{
	struct stage_writer *w = st->w;

	if (w == NULL)
		return;
	if (w->store != NULL) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	st->w = NULL;
}

/*
 * An incremental stage's checkpoint id as a delta on its chain: 2 when
 * written, 1 when handed to the writer, 0 when it must be a full one (no
 * chain, or the stage asks for one).  It is handed to the writer
 * (write_behind()) when there is an out to gate, in the directory store,
 * unless a compaction starts from this checkpoint (its child must find
 * the delta durable, and its image is the state at the barrier).
 */
static int snapshot_delta(struct stage *st, uint64_t id, struct out *out,
    double start)
{
	struct buf *b = &st->delta;
	struct ckpt_head h = { CKPT_DELTA, id, st->base, st->prev,
	    CKPT_ENC_MSGPACK };
	bool due, compact;

	if (st->hooks.delta == NULL || st->base == 0)
		return 0;
	b->len = 0;
	if (st->hooks.delta(st->hooks.ctx, id, b) < 0)
		return 0;
	due = (st->delta_bytes + b->len) * 100 >
	    st->base_bytes * STAGE_COMPACT_PERCENT;
	/* Without a background compaction, the full piece is written
	 * instead of this delta. */
	if (due && st->child == 0 && !ckpt_store_forkable(st->store))
		return 0;
	compact = due && st->child == 0;
	st->delta_bytes += b->len;
	st->prev = id;
	if (!compact && out != NULL && ckpt_store_forkable(st->store) &&
	    write_behind(st, &h, out, start))
		return 1;
	ckpt_write_piece(st->store, &h, b->data, b->len);
	diag_info("checkpoint %" PRIu64 " written: delta of %zu bytes on %"
	    PRIu64, id, b->len, h.base);
	if (b->cap > STAGE_BUF_KEEP)
		buf_free(b);
	if (compact)
		compact_start(st, id);
	return 2;
}

/* Takes checkpoint id; out: where the barrier goes next (NULL: at the
 * end, or a sink), which a delta written behind gates. */
static void snapshot(struct stage *st, uint64_t id, struct out *out)
{
	double start = mono_s();
	int r;

	settle(st);
	compact_reap(st, false);
	r = snapshot_delta(st, id, out, start);
	if (r == 1)
		return;         /* the writer prunes and settle() notes it */
	if (r == 0) {
		st->base_bytes = write_full(st, id);
		st->base = st->prev = id;
		st->delta_bytes = 0;
		diag_info("checkpoint %" PRIu64 " written", id);
	}
	ckpt_prune(st->store, CKPT_KEEP_DEFAULT);
	ckpt_metrics_note(&st->cm, id, start);
}

/* Restores the chain of checkpoint id: the full piece, then each delta;
 * -1 (with a warning) when the chain cannot be read. */
static int restore_chain(struct stage *st, uint64_t id)
{
	struct ckpt_piece *p;
	size_t n;
	json_t *state;
	json_error_t err;

	if (ckpt_read_chain(st->store, id, &p, &n) < 0)
		return -1;
	if (p[0].h.enc != CKPT_ENC_JSON) {
		if (st->hooks.apply == NULL)
			diag_fatal("cannot restore checkpoint %" PRIu64 ": its "
			    "full piece is in msgpack, and this stage reads "
			    "JSON only", id);
		if (st->hooks.apply(st->hooks.ctx, &p[0]) < 0)
			diag_fatal("cannot restore checkpoint %" PRIu64
			    ": the stage rejected its state", id);
	} else {
		state = json_loadb(p[0].payload, p[0].len, JSON_DECODE_ANY,
		    &err);
		if (state == NULL) {
			diag_warn("checkpoint %" PRIu64 ": bad payload in piece %"
			    PRIu64 ": %s", id, p[0].h.id, err.text);
			ckpt_free_chain(p, n);
			return -1;
		}
		if (st->hooks.restore(st->hooks.ctx, state, id) < 0)
			diag_fatal("cannot restore checkpoint %" PRIu64
			    ": the stage rejected its state", id);
		json_decref(state);
	}
	st->delta_bytes = 0;
	for (size_t i = 1; i < n; i++) {
		if (st->hooks.apply == NULL)
			diag_fatal("cannot restore checkpoint %" PRIu64 ": a "
			    "delta, and this stage takes full ones only", id);
		if (st->hooks.apply(st->hooks.ctx, &p[i]) < 0)
			diag_fatal("cannot restore checkpoint %" PRIu64
			    ": the stage rejected its delta %" PRIu64, id,
			    p[i].h.id);
		st->delta_bytes += p[i].len;
	}
	st->base = p[0].h.id;
	st->base_bytes = p[0].len;
	st->prev = id;
	if (n > 1)
		diag_info("checkpoint %" PRIu64 ": full piece %" PRIu64
		    " and %zu deltas", id, p[0].h.id, n - 1);
	ckpt_free_chain(p, n);
	return 0;
}

static void restore(struct stage *st, uint64_t id)
{
	/* Restore 0: the source found no complete checkpoint.  This stage
	 * starts empty; files a killed run left belong to none. */
	st->base = 0;
	if (id == 0) {
		ckpt_discard_after(st->store, 0);
		return;
	}

	if (restore_chain(st, id) < 0) {
		/* A stage added since the checkpoint has nothing to restore:
		 * it starts empty.  A stage whose file went bad must not run
		 * on a guess. */
		if (ckpt_latest_complete(st->store) != id) {
			diag_warn("no state of checkpoint %" PRIu64
			    " for this stage: starting empty", id);
			ckpt_discard_after(st->store, id);
			return;
		}
		diag_fatal("cannot restore checkpoint %" PRIu64, id);
	}
	ckpt_discard_after(st->store, id);
	diag_info("restored checkpoint %" PRIu64, id);
}

/* Why c may not come now, or NULL. */
static const char *out_of_order(const struct stage *st, const struct ctl *c,
    char *why)
{
	if (st->ended) {
		snprintf(why, REC_ERR_MAX, "control record after the end of "
		    "the stream ({\"@fs\":\"end\"})");
		return why;
	}
	if (c->kind == CTL_RESTORE && st->started) {
		snprintf(why, REC_ERR_MAX, "restore %" PRIu64 " after the first "
		    "record: a restore is only valid as the first record", c->id);
		return why;
	}
	if (c->kind != CTL_RESTORE && c->id <= st->last_id) {
		snprintf(why, REC_ERR_MAX, "%s %" PRIu64 " after %s %" PRIu64
		    ": barrier ids must increase", c->kind == CTL_END ? "end" :
		    "barrier", c->id, st->started ? "barrier" : "restore",
		    st->last_id);
		return why;
	}
	return NULL;
}

enum stage_verdict stage_control(struct stage *st, const struct ctl *c,
    struct out *out, char *why)
{
	if (c->kind != CTL_BARRIER && c->kind != CTL_RESTORE &&
	    c->kind != CTL_END)
		return STAGE_PASS;
	if (out_of_order(st, c, why) != NULL)
		return STAGE_INVALID;
	if (c->kind == CTL_END) {
		/* Its checkpoint is taken after what it fires. */
		st->ended = true;
		st->last_id = c->id;
		st->checkpointed = st->started = true;
		return STAGE_HANDLED;
	}
	if (st->store != NULL) {
		if (c->kind == CTL_BARRIER)
			snapshot(st, c->id, out);
		else
			restore(st, c->id);
	}
	st->last_id = c->id;
	st->checkpointed = true;
	/* A barrier starts the stream as a record does; a restore may be
	 * followed by a barrier of a higher id only. */
	st->started = true;
	if (out != NULL) {
		if (c->kind == CTL_BARRIER)
			rec_emit_barrier(out, c->id);
		else
			rec_emit_restore(out, c->id);
	}
	return STAGE_HANDLED;
}

bool stage_input_complete(const struct stage *st)
{
	if (!st->checkpointed || st->ended)
		return true;
	diag_error("input ended without the end of the stream after "
	    "checkpoint %" PRIu64 ": a stage upstream stopped or died; nothing "
	    "fired (a restart resumes from the checkpoint)", st->last_id);
	return false;
}

void stage_emit_end(struct stage *st, struct out *out)
{
	if (!st->ended)
		return;
	if (st->store != NULL)
		snapshot(st, st->last_id, NULL);
	if (out != NULL)
		rec_emit_end(out, st->last_id);
}

void stage_finish(struct stage *st)
{
	settle(st);
	writer_stop(st);
	compact_reap(st, true);
	buf_free(&st->delta);
	ckpt_close(st->store);
	st->store = NULL;
}

/* --- sources ------------------------------------------------------------ */

json_t *source_ckpt_begin(struct source_ckpt *sc, const struct fs_common *c,
    int64_t interval_ms, uint64_t interval_records, struct out *out)
{
	uint64_t n;
	json_t *state = NULL;

	sc->store = NULL;
	sc->next_id = 1;
	sc->interval_ms = interval_ms;
	sc->interval_records = interval_records;
	sc->last_ms = etime_now_ms();
	sc->since = 0;
	memset(&sc->cm, 0, sizeof sc->cm);
	if (c->ckpt_dir == NULL)
		return NULL;
	sc->store = open_store(c);
	ckpt_metrics_init(&sc->cm, c->metrics);
	n = ckpt_latest_complete(sc->store);
	ckpt_discard_after(sc->store, n);
	/* Fresh: still say so first, so every stage knows from the start
	 * that this stream is checkpointed and ends with its end (stage.h):
	 * a stage whose input stops before the first barrier must not take
	 * that for the end of the stream. */
	if (n == 0) {
		rec_emit_restore(out, 0);
		return NULL;
	}
	if (ckpt_read_json(sc->store, n, &state) < 0)
		diag_fatal("cannot read this source's checkpoint %" PRIu64, n);
	sc->next_id = n + 1;
	rec_emit_restore(out, n);
	diag_info("resuming from checkpoint %" PRIu64, n);
	return state;
}

bool source_ckpt_due(struct source_ckpt *sc)
{
	if (sc->store == NULL)
		return false;
	sc->since++;
	if (sc->interval_records && sc->since >= sc->interval_records)
		return true;
	return sc->interval_ms && etime_now_ms() - sc->last_ms >= sc->interval_ms;
}

/* Writes state as checkpoint next_id, then emits the barrier or, with
 * end, the end of the stream that carries that id. */
static void source_checkpoint(struct source_ckpt *sc, const json_t *state,
    struct out *out, bool end)
{
	double start;

	if (sc->store == NULL)
		return;
	start = mono_s();
	ckpt_write_json(sc->store, sc->next_id, state);
	ckpt_prune(sc->store, CKPT_KEEP_DEFAULT);
	ckpt_metrics_note(&sc->cm, sc->next_id, start);
	if (end)
		rec_emit_end(out, sc->next_id);
	else
		rec_emit_barrier(out, sc->next_id);
	sc->next_id++;
	sc->since = 0;
	sc->last_ms = etime_now_ms();
}

void source_ckpt_barrier(struct source_ckpt *sc, const json_t *state,
    struct out *out)
{
	source_checkpoint(sc, state, out, false);
}

void source_ckpt_end(struct source_ckpt *sc, const json_t *state,
    struct out *out)
{
	source_checkpoint(sc, state, out, true);
}

uint64_t source_ckpt_last(const struct source_ckpt *sc)
{
	return sc->next_id - 1;
}

void source_ckpt_finish(struct source_ckpt *sc)
{
	ckpt_close(sc->store);
	sc->store = NULL;
}
