/*
 * as_exec.c - pipelined commands with bounded in-flight (as_exec.h).
 */
#include <errno.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "as_exec.h"
#include "diag.h"
#include "xalloc.h"
#include "banned.h"

#define TEND_INTERVAL_MS 1000
#define TEND_MIN_GAP_MS 50
#define BACKOFF_MAX_MS 1000
#define READ_CHUNK 65536
#define GATHER_BYTES_MAX (4u << 20)     /* per batch or pipelined burst */

/* One request on the wire: a connection, what was sent, what came back. */
struct wire {
	bool used;
	bool batch;
	struct as_node *node;
	int fd;
	struct buf out;
	size_t sent;
	struct buf in;
	size_t parsed;          /* bytes of in already consumed */
	struct as_cmd **cmds;   /* rows; NULL once answered */
	size_t n_cmds, cap_cmds, n_left;
	size_t next_row;        /* pipelined requests: the next to answer */
	int64_t start_us, deadline_us;
};

struct queue {
	struct as_cmd *head, *tail;
	size_t n;
};

struct as_exec {
	struct as_cluster *c;
	struct as_exec_opts o;
	size_t nslen, setlen;
	as_done_fn done;
	void *ctx;
	struct wire *w;
	unsigned n_used;
	unsigned *free_w;       /* indices of unused wires (a stack) */
	int epfd;
	struct epoll_event *evs;
	int input_fd;           /* the caller's input, or -1 */
	bool input_always;      /* a regular file: always readable */
	bool input_watched;     /* in the epoll set now */
	struct queue ready, delayed;
	bool lingers;           /* batch mode with a linger */
	bool flushing;          /* as_exec_drain: no lingering */
	int64_t linger_us;
	size_t *node_ready;     /* lingering: ready rows by node idx */
	size_t n_node_ready;
	struct as_cmd *free_cmds;
	size_t outstanding;
	struct as_cmd **tab;    /* outstanding commands by key: chain heads */
	size_t tab_mask;
	struct as_exec_stats st;
};

/* --- histogram -------------------------------------------------------- */

static unsigned hist_bucket(uint64_t v)
{
	if (v < 16)
		return (unsigned)v;
	unsigned e = 63 - (unsigned)__builtin_clzll(v);   /* >= 4 */
	if (e > 43)
		return AS_HIST_BUCKETS - 1;
	unsigned sub = (unsigned)(v >> (e - 4)) & 15;
	return 16 + (e - 4) * 16 + sub;
}

static uint64_t hist_upper(unsigned b)
{
	if (b < 16)
		return b;
	unsigned e = (b - 16) / 16 + 4, sub = (b - 16) % 16;
	return ((uint64_t)(16 + sub + 1) << (e - 4)) - 1;
}

void as_hist_add(struct as_hist *h, uint64_t us)
{
	h->b[hist_bucket(us)]++;
	h->count++;
	h->sum += us;
	if (us > h->max)
		h->max = us;
}

uint64_t as_hist_quantile(const struct as_hist *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < AS_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > rank) {
			uint64_t u = hist_upper(i);
			return u < h->max ? u : h->max;
		}
	}
	return h->max;
}

/* --- commands --------------------------------------------------------- */

void as_cmd_field(struct as_cmd *c, uint8_t type, const void *p, size_t n)
{
	uint8_t h[5];
	as_put_u32(h, (uint32_t)(n + 1));
	h[4] = type;
	buf_append(&c->parts, h, 5);
	buf_append(&c->parts, p, n);
	c->n_fields++;
}

void as_cmd_field_key(struct as_cmd *c, uint8_t ptype, const void *p, size_t n)
{
	uint8_t h[6];
	as_put_u32(h, (uint32_t)(n + 2));
	h[4] = AS_FIELD_KEY;
	h[5] = ptype;
	buf_append(&c->parts, h, 6);
	buf_append(&c->parts, p, n);
	c->n_fields++;
}

void as_cmd_op(struct as_cmd *c, uint8_t op, uint8_t ptype, const char *name,
    size_t nlen, const void *val, size_t vlen)
{
	uint8_t h[8];
	as_put_u32(h, (uint32_t)(4 + nlen + vlen));
	h[4] = op;
	h[5] = ptype;
	h[6] = 0;
	h[7] = (uint8_t)nlen;
	buf_append(&c->parts, h, 8);
	buf_append(&c->parts, name, nlen);
	buf_append(&c->parts, val, vlen);
	c->n_ops++;
}

static void q_push(struct queue *q, struct as_cmd *c)
{
	c->next = NULL;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->n++;
}

static void q_push_front(struct queue *q, struct as_cmd *c)
{
	c->next = q->head;
	q->head = c;
	if (q->tail == NULL)
		q->tail = c;
	q->n++;
}

static struct as_cmd *q_pop(struct queue *q)
{
	struct as_cmd *c = q->head;
	if (c) {
		q->head = c->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		c->next = NULL;
	}
	return c;
}

/*
 * The ready queue.  While lingering, each command in it is counted for
 * the node it was routed to when counted (qnode), so that a full batch
 * is seen without a walk of the queue; a map change makes a count stale
 * until a walk of the queue (wire_gather, ready_take_full) counts the
 * command again.
 */
static void ready_count(struct as_exec *e, struct as_cmd *c,
    struct as_node *node)
{
	c->qnode = node;
	if (node == NULL)
		return;
	if (node->idx >= e->n_node_ready) {
		size_t n = (size_t)node->idx + 1;
		e->node_ready = xrealloc(e->node_ready, n * sizeof *e->node_ready);
		memset(e->node_ready + e->n_node_ready, 0,
		    (n - e->n_node_ready) * sizeof *e->node_ready);
		e->n_node_ready = n;
	}
	e->node_ready[node->idx]++;
}

static void ready_uncount(struct as_exec *e, struct as_cmd *c)
{
	if (c->qnode != NULL)
		e->node_ready[c->qnode->idx]--;
	c->qnode = NULL;
}

/*
 * Queues c ready.  While lingering, a command that has waited already
 * (a retry after its pause, a write that waited for the one before it
 * of its key, rows sent again) goes first and is due at once: a hot
 * key's writes do not wait a linger each.
 */
static void ready_push(struct as_exec *e, struct as_cmd *c, bool waited)
{
	if (e->lingers) {
		ready_count(e, c, as_cluster_route(e->c, c->digest));
		if (waited) {
			c->ready_us = 0;
			q_push_front(&e->ready, c);
			return;
		}
		c->ready_us = as_mono_us();
	}
	q_push(&e->ready, c);
}

static struct as_cmd *ready_pop(struct as_exec *e)
{
	struct as_cmd *c = q_pop(&e->ready);
	if (c != NULL)
		ready_uncount(e, c);
	return c;
}

/* A node with a full batch ready (by the counts), or NULL. */
static struct as_node *ready_full_node(const struct as_exec *e)
{
	for (size_t i = 0; i < e->n_node_ready; i++)
		if (e->node_ready[i] >= e->o.batch)
			return e->c->nodes[i];
	return NULL;
}

/* --- key table -------------------------------------------------------- */

static size_t key_slot(const struct as_exec *e, const uint8_t *d)
{
	return as_get_u32(d + 4) & e->tab_mask;
}

static struct as_cmd *key_find(struct as_exec *e, const uint8_t *d)
{
	for (struct as_cmd *c = e->tab[key_slot(e, d)]; c; c = c->hnext)
		if (memcmp(c->digest, d, AS_DIGEST_SIZE) == 0)
			return c;
	return NULL;
}

static void key_insert(struct as_exec *e, struct as_cmd *c)
{
	size_t s = key_slot(e, c->digest);
	c->hnext = e->tab[s];
	e->tab[s] = c;
}

static void key_remove(struct as_exec *e, struct as_cmd *c)
{
	struct as_cmd **pp = &e->tab[key_slot(e, c->digest)];
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	c->hnext = NULL;
}

/* --- life cycle ------------------------------------------------------- */

struct as_exec *as_exec_new(struct as_cluster *c, const struct as_exec_opts *o,
    as_done_fn done, void *ctx)
{
	struct as_exec *e = xcalloc(1, sizeof *e);
	e->c = c;
	e->o = *o;
	if (e->o.max_in_flight == 0)
		e->o.max_in_flight = 1;
	if (e->o.max_pending < e->o.max_in_flight)
		e->o.max_pending = e->o.max_in_flight;
	if (e->o.pipeline == 0)
		e->o.pipeline = 1;
	if (e->o.batch > 1 && e->o.max_pending < e->o.batch * e->o.max_in_flight)
		e->o.max_pending = e->o.batch * e->o.max_in_flight;
	if (e->o.max_pending < e->o.pipeline * e->o.max_in_flight)
		e->o.max_pending = e->o.pipeline * e->o.max_in_flight;
	e->lingers = e->o.batch > 1 && e->o.linger_ms > 0;
	e->linger_us = (int64_t)e->o.linger_ms * 1000;
	if (e->lingers) {
		/* a full batch per node ready when a connection comes free */
		unsigned nodes = c->n_nodes > 0 ? (unsigned)c->n_nodes : 1;
		unsigned want = e->o.batch * (e->o.max_in_flight + nodes);
		if (e->o.max_pending < want)
			e->o.max_pending = want;
	}
	if (e->o.timeout_ms <= 0)
		e->o.timeout_ms = 1000;
	if (e->o.backoff_ms <= 0)
		e->o.backoff_ms = 1;
	e->nslen = strlen(o->ns);
	e->setlen = o->set ? strlen(o->set) : 0;
	e->done = done;
	e->ctx = ctx;
	e->w = xcalloc(e->o.max_in_flight, sizeof *e->w);
	for (unsigned i = 0; i < e->o.max_in_flight; i++)
		e->w[i].fd = -1;
	e->free_w = xcalloc(e->o.max_in_flight, sizeof *e->free_w);
	for (unsigned i = 0; i < e->o.max_in_flight; i++)
		e->free_w[i] = e->o.max_in_flight - 1 - i;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0)
		diag_fatal("epoll_create1: %s", strerror(errno));
	e->evs = xcalloc(e->o.max_in_flight + 1, sizeof *e->evs);
	e->input_fd = -1;
	size_t n = 64;
	while (n < 2 * (size_t)e->o.max_pending)
		n *= 2;
	e->tab = xcalloc(n, sizeof *e->tab);
	e->tab_mask = n - 1;
	return e;
}

struct as_cmd *as_exec_cmd(struct as_exec *e)
{
	struct as_cmd *c = e->free_cmds;
	if (c) {
		e->free_cmds = c->next;
		struct buf keep = c->parts;
		memset(c, 0, sizeof *c);
		c->parts = keep;
		buf_reset(&c->parts);
	} else {
		c = xcalloc(1, sizeof *c);
	}
	c->ex = e;
	return c;
}

void as_exec_cmd_free(struct as_exec *e, struct as_cmd *c)
{
	c->next = e->free_cmds;
	e->free_cmds = c;
}

static void pump(struct as_exec *e);
static void run_once(struct as_exec *e, int wait_ms, int extra_fd,
    bool *extra_ready);

static void finish(struct as_exec *e, struct as_cmd *c, int rc,
    const struct as_msg *m, const char *why)
{
	if (c->first_us && rc >= 0)
		as_hist_add(&e->st.lat, (uint64_t)(as_mono_us() - c->first_us));
	e->st.done++;
	e->done(e->ctx, c, rc, m, why);
	struct as_cmd *next = c->same;
	key_remove(e, c);
	if (next != NULL) {
		next->tail = c->tail;
		key_insert(e, next);
		ready_push(e, next, true);
	}
	e->outstanding--;
	c->next = e->free_cmds;
	e->free_cmds = c;
}

/* An attempt begins: the first one starts the total deadline. */
static void attempt_begin(struct as_exec *e, struct as_cmd *c, int64_t now)
{
	if (c->attempts++ == 0 && e->o.total_timeout_ms > 0)
		c->deadline_us = now + (int64_t)e->o.total_timeout_ms * 1000;
}

/* A failed attempt: pause and retry, or give up with rc (the official
 * clients' rule: no retry that could not start before the deadline). */
static void attempt_failed(struct as_exec *e, struct as_cmd *c, int rc,
    const char *why)
{
	c->last_rc = rc;
	snprintf(c->last_why, sizeof c->last_why, "%s", why);
	if (c->attempts <= e->o.max_retries) {
		int64_t pause = (int64_t)e->o.backoff_ms << (c->attempts > 10 ?
		    10 : c->attempts - 1);
		int64_t cap = e->o.backoff_ms > BACKOFF_MAX_MS ?
		    e->o.backoff_ms : BACKOFF_MAX_MS;
		if (pause > cap)
			pause = cap;
		int64_t at = as_mono_us() + pause * 1000;
		if (c->deadline_us == 0 || at < c->deadline_us) {
			c->not_before_us = at;
			e->st.retries++;
			q_push(&e->delayed, c);
			return;
		}
		c->expired = true;
	}
	finish(e, c, rc, NULL, why);
}

void as_exec_submit(struct as_exec *e, struct as_cmd *c)
{
	e->outstanding++;
	e->st.submitted++;
	struct as_cmd *head = key_find(e, c->digest);
	if (head != NULL) {
		head->tail->same = c;
		head->tail = c;
	} else {
		c->tail = c;
		key_insert(e, c);
		ready_push(e, c, false);
	}
	pump(e);
	while (e->outstanding >= e->o.max_pending)
		run_once(e, 1000, -1, NULL);
}

/* --- encoding --------------------------------------------------------- */

static void encode_single(struct as_exec *e, struct wire *w, struct as_cmd *c)
{
	struct as_req r;
	struct as_hdr h = c->hdr;
	h.timeout_ms = (uint32_t)e->o.timeout_ms;
	as_req_begin(&r, &w->out, &h);
	as_req_field(&r, AS_FIELD_NAMESPACE, e->o.ns, e->nslen);
	if (e->setlen > 0)
		as_req_field(&r, AS_FIELD_SET, e->o.set, e->setlen);
	as_req_field(&r, AS_FIELD_DIGEST, c->digest, AS_DIGEST_SIZE);
	buf_append(&w->out, c->parts.data, c->parts.len);
	r.n_fields += c->n_fields;
	r.n_ops += c->n_ops;
	as_req_end(&r);
}

static void encode_batch(struct as_exec *e, struct wire *w)
{
	struct as_batch bt;
	as_batch_begin(&bt, &w->out, (uint32_t)e->o.timeout_ms, true);
	for (size_t i = 0; i < w->n_cmds; i++) {
		struct as_cmd *c = w->cmds[i];
		as_batch_row_begin(&bt, (uint32_t)i, c->digest, &c->hdr);
		as_batch_row_field(&bt, AS_FIELD_NAMESPACE, e->o.ns, e->nslen);
		if (e->setlen > 0)
			as_batch_row_field(&bt, AS_FIELD_SET, e->o.set,
			    e->setlen);
		buf_append(&w->out, c->parts.data, c->parts.len);
		bt.row_fields += c->n_fields;
		bt.row_ops += c->n_ops;
	}
	as_batch_end(&bt);
}

/* --- dispatch --------------------------------------------------------- */

static void wire_add(struct wire *w, struct as_cmd *c)
{
	w->cmds = xgrow(w->cmds, &w->cap_cmds, w->n_cmds + 1, sizeof *w->cmds);
	w->cmds[w->n_cmds++] = c;
	w->n_left++;
}

/*
 * An unused wire, preferably one that kept a connection to node (wires
 * keep their connection between requests, registered with epoll, so a
 * steady stream to one node costs no epoll_ctl and no pool traffic).
 */
static struct wire *free_wire(struct as_exec *e, const struct as_node *node)
{
	if (e->n_used >= e->o.max_in_flight)
		return NULL;
	unsigned top = e->o.max_in_flight - 1 - e->n_used;
	for (unsigned i = top + 1; i-- > 0;) {
		if (e->w[e->free_w[i]].node == node) {
			unsigned t = e->free_w[i];
			e->free_w[i] = e->free_w[top];
			e->free_w[top] = t;
			break;
		}
		if (top - i >= 8)
			break;  /* not worth a long search */
	}
	return &e->w[e->free_w[top]];
}

/* Drops the connection an unused wire kept. */
static void wire_drop_conn(struct as_exec *e, struct wire *w, bool to_pool)
{
	if (w->fd < 0)
		return;
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	if (to_pool && w->node->alive)
		as_node_release(w->node, w->fd);
	else
		as_node_discard(w->node, w->fd);
	w->fd = -1;
	w->node = NULL;
}

/* Watches w's connection: for writing while a request is half sent. */
static void watch(struct as_exec *e, struct wire *w, int op, uint32_t events)
{
	struct epoll_event ev = {
		.events = events,
		.data.u32 = (uint32_t)(w - e->w),
	};
	if (epoll_ctl(e->epfd, op, w->fd, &ev) < 0 && op == EPOLL_CTL_ADD &&
	    errno == EEXIST)
		epoll_ctl(e->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

static void wire_fail(struct as_exec *e, struct wire *w, int rc,
    const char *why);

static void wire_send(struct as_exec *e, struct wire *w)
{
	bool was_partial = w->sent > 0;
	while (w->sent < w->out.len) {
		ssize_t n = send(w->fd, w->out.data + w->sent,
		    w->out.len - w->sent, MSG_NOSIGNAL);
		if (n > 0) {
			w->sent += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			if (!was_partial)
				watch(e, w, EPOLL_CTL_MOD, EPOLLOUT);
			return;
		} else {
			char why[256];
			snprintf(why, sizeof why, "%s: send: %s", w->node->addr,
			    strerror(errno));
			wire_fail(e, w, AS_EXEC_ECONN, why);
			return;
		}
	}
	if (was_partial)
		watch(e, w, EPOLL_CTL_MOD, EPOLLIN);
}

/*
 * Gives w a connection to node: its own when it has one to node, else
 * a pooled or new one (*fresh: not watched yet).  -1 when none can be
 * had: first's attempt has then failed (AS_EXEC_ECONN) and a tend is
 * asked for.
 */
static int wire_connect(struct as_exec *e, struct wire *w,
    struct as_cmd *first, struct as_node *node, bool *fresh)
{
	*fresh = false;
	if (w->fd >= 0 && w->node != node)
		wire_drop_conn(e, w, true);
	if (w->fd >= 0)
		return 0;
	int fd = as_node_acquire(e->c, node);
	if (fd < 0) {
		e->st.conn_errors++;
		e->c->need_tend = true;
		attempt_begin(e, first, as_mono_us());
		attempt_failed(e, first, AS_EXEC_ECONN, e->c->err);
		return -1;
	}
	w->fd = fd;
	w->node = node;
	*fresh = true;
	return 0;
}

/* Marks w in use for a new request at now, empty, with its deadline. */
static void wire_start(struct as_exec *e, struct wire *w, int64_t now)
{
	w->used = true;
	e->n_used++;
	e->st.requests++;
	w->sent = 0;
	w->parsed = 0;
	w->n_cmds = w->n_left = 0;
	buf_reset(&w->out);
	buf_reset(&w->in);
	w->start_us = now;
	w->deadline_us = now + (int64_t)e->o.timeout_ms * 1000;
}

/*
 * Moves ready commands routed to node onto w, in queue order, until w
 * holds limit of them or their requests (bytes so far) would pass
 * GATHER_BYTES_MAX: the rows of one batch, or requests pipelined on one
 * connection.
 */
static void wire_gather(struct as_exec *e, struct wire *w,
    struct as_node *node, size_t bytes, unsigned limit)
{
	struct as_cmd **pp = &e->ready.head, *prev = NULL;
	while (*pp && w->n_cmds < limit) {
		struct as_cmd *c = *pp;
		if (bytes + c->parts.len > GATHER_BYTES_MAX)
			break;  /* keep requests well under the limit */
		struct as_node *to = as_cluster_route(e->c, c->digest);
		if (e->lingers && to != c->qnode) {
			/* the map changed: count it for its node now */
			ready_uncount(e, c);
			ready_count(e, c, to);
		}
		if (to == node) {
			bytes += c->parts.len;
			*pp = c->next;
			if (e->ready.tail == c)
				e->ready.tail = prev;
			e->ready.n--;
			c->next = NULL;
			ready_uncount(e, c);
			wire_add(w, c);
		} else {
			prev = c;
			pp = &c->next;
		}
	}
}

/* Begins an attempt for each command on w; w's deadline becomes the
 * earliest of its own and theirs. */
static void wire_begin_attempts(struct as_exec *e, struct wire *w,
    int64_t now)
{
	for (size_t i = 0; i < w->n_cmds; i++) {
		struct as_cmd *c = w->cmds[i];
		attempt_begin(e, c, now);
		if (c->first_us == 0)
			c->first_us = now;
		/* the last attempt ends with the total deadline */
		if (c->deadline_us != 0 && c->deadline_us < w->deadline_us)
			w->deadline_us = c->deadline_us;
	}
}

static void dispatch(struct as_exec *e, struct wire *w, struct as_cmd *first,
    struct as_node *node)
{
	bool fresh;
	if (wire_connect(e, w, first, node, &fresh) < 0)
		return;
	int64_t now = as_mono_us();
	wire_start(e, w, now);
	wire_add(w, first);
	/* gather more ready commands for the same node: rows of one batch,
	 * or requests queued on this connection */
	bool batch = e->o.batch > 1 && node->batch_any;
	unsigned gather = batch ? e->o.batch : e->o.pipeline;
	if (gather > 1)
		wire_gather(e, w, node, first->parts.len, gather);
	w->batch = batch && w->n_cmds > 1;
	w->next_row = 0;
	wire_begin_attempts(e, w, now);
	if (w->batch) {
		encode_batch(e, w);
	} else {
		for (size_t i = 0; i < w->n_cmds; i++)
			encode_single(e, w, w->cmds[i]);
	}
	if (fresh)
		watch(e, w, EPOLL_CTL_ADD, EPOLLIN);
	wire_send(e, w);
}

/*
 * Lingering: is the batch of the ready queue's head (the oldest ready
 * row) to go now?  Yes when it has waited linger_ms, while draining, and
 * when the caller is blocked on max_pending.
 */
static bool head_due(const struct as_exec *e, const struct as_cmd *c,
    const struct as_node *node)
{
	return !node->batch_any || e->flushing ||
	    e->outstanding >= e->o.max_pending ||
	    c->ready_us + e->linger_us <= as_mono_us();
}

/*
 * Lingering: the first ready command for a node holding a full batch
 * (by the counts), taken off the queue, or NULL when none is.  A walk
 * that finds no command for the node has counted every command again,
 * so the next call sees true counts.
 */
static struct as_cmd *ready_take_full(struct as_exec *e,
    struct as_node **nodep)
{
	struct as_node *node = ready_full_node(e);
	if (node == NULL)
		return NULL;
	struct as_cmd **pp = &e->ready.head, *prev = NULL;
	for (struct as_cmd *c = *pp; c != NULL; c = *pp) {
		struct as_node *to = as_cluster_route(e->c, c->digest);
		if (to != c->qnode) {
			ready_uncount(e, c);
			ready_count(e, c, to);
		}
		if (to == node) {
			*pp = c->next;
			if (e->ready.tail == c)
				e->ready.tail = prev;
			e->ready.n--;
			c->next = NULL;
			ready_uncount(e, c);
			*nodep = node;
			return c;
		}
		prev = c;
		pp = &c->next;
	}
	return NULL;
}

static void release_delayed(struct as_exec *e)
{
	int64_t now = as_mono_us();
	struct queue keep = { 0 };
	struct as_cmd *c;
	while ((c = q_pop(&e->delayed)) != NULL) {
		if (c->not_before_us <= now)
			ready_push(e, c, true);
		else
			q_push(&keep, c);
	}
	e->delayed = keep;
}

static void pump(struct as_exec *e)
{
	if (e->delayed.n > 0)
		release_delayed(e);
	while (e->ready.n > 0 && e->n_used < e->o.max_in_flight) {
		struct as_cmd *c = e->ready.head;
		if (c->deadline_us != 0 && c->deadline_us <= as_mono_us()) {
			/* its deadline passed while it waited for a slot */
			ready_pop(e);
			c->expired = true;
			finish(e, c, c->last_rc, NULL, c->last_why);
			continue;
		}
		struct as_node *node = as_cluster_route(e->c, c->digest);
		if (node == NULL) {
			ready_pop(e);
			e->c->need_tend = true;
			attempt_begin(e, c, as_mono_us());
			attempt_failed(e, c, AS_EXEC_ENOROUTE, e->c->err[0] ?
			    e->c->err : "no node is reachable");
			continue;
		}
		if (!e->lingers || head_due(e, c, node)) {
			ready_pop(e);
		} else {
			/* the head's batch lingers: another node's may be full */
			c = ready_take_full(e, &node);
			if (c == NULL) {
				if (ready_full_node(e) != NULL)
					continue;       /* the counts were stale */
				break;
			}
		}
		dispatch(e, free_wire(e, node), c, node);
	}
}

/* --- answers ---------------------------------------------------------- */

static void wire_release(struct as_exec *e, struct wire *w, bool keep_conn)
{
	if (!keep_conn)
		wire_drop_conn(e, w, false);
	w->used = false;
	w->n_cmds = w->n_left = 0;
	e->n_used--;
	e->free_w[e->o.max_in_flight - 1 - e->n_used] = (unsigned)(w - e->w);
}

static void wire_fail(struct as_exec *e, struct wire *w, int rc,
    const char *why)
{
	if (rc == AS_EXEC_ETIMEOUT)
		e->st.timeouts++;
	else
		e->st.conn_errors++;
	e->c->need_tend = true;
	size_t n = w->n_cmds;
	struct as_cmd **cmds = xmalloc((n ? n : 1) * sizeof *cmds);
	memcpy(cmds, w->cmds, n * sizeof *cmds);
	wire_release(e, w, false);
	for (size_t i = 0; i < n; i++)
		if (cmds[i] != NULL)
			attempt_failed(e, cmds[i], rc, why);
	free(cmds);
}

static void row_result(struct as_exec *e, struct wire *w, size_t idx,
    const struct as_msg *m)
{
	struct as_cmd *c = w->cmds[idx];
	w->cmds[idx] = NULL;
	w->n_left--;
	if (as_result_retryable(m->result)) {
		char why[96];
		snprintf(why, sizeof why, "%s (%d)", as_result_str(m->result),
		    m->result);
		attempt_failed(e, c, m->result, why);
		return;
	}
	finish(e, c, m->result, m, NULL);
}

/*
 * Consumes complete protos in w->in.  Returns 1 when the request is
 * fully answered, 0 when more is needed, -1 on a protocol error (why).
 */
static int wire_parse(struct as_exec *e, struct wire *w, char *why,
    size_t whylen)
{
	for (;;) {
		size_t avail = w->in.len - w->parsed;
		if (avail < AS_PROTO_HDR_SIZE)
			return 0;
		const uint8_t *p = (const uint8_t *)w->in.data + w->parsed;
		struct as_proto_hdr ph;
		if (as_proto_hdr_parse(p, &ph, why, whylen) < 0)
			return -1;
		if (ph.type != AS_PROTO_MSG) {
			snprintf(why, whylen, "unexpected message type %u",
			    ph.type);
			return -1;
		}
		if (avail < AS_PROTO_HDR_SIZE + ph.size)
			return 0;
		const uint8_t *body = p + AS_PROTO_HDR_SIZE;
		const uint8_t *end = body + ph.size;
		w->parsed += AS_PROTO_HDR_SIZE + ph.size;
		while (body < end) {
			struct as_msg m;
			if (as_msg_parse(body, (size_t)(end - body), &m, why,
			    whylen) < 0)
				return -1;
			body = m.end;
			if (!w->batch) {
				/* one answer per request, in request order */
				row_result(e, w, w->next_row++, &m);
				if (w->n_left == 0)
					return 1;
				break;
			}
			if (m.info3 & AS_INFO3_LAST) {
				if (m.result != AS_OK && w->n_left == w->n_cmds) {
					/* the whole batch was refused */
					snprintf(why, whylen, "batch refused: %s (%d)",
					    as_result_str(m.result), m.result);
					return -2 - m.result;
				}
				return 1;
			}
			if (m.txn_ttl >= w->n_cmds || w->cmds[m.txn_ttl] == NULL) {
				snprintf(why, whylen, "batch answer for bad row %u",
				    m.txn_ttl);
				return -1;
			}
			row_result(e, w, m.txn_ttl, &m);
		}
	}
}

/*
 * Reads what the server sent into w->in.  0: parse it.  -1: the
 * connection ended or failed, and w is released (every answer was in
 * before it did) or failed.
 */
static int wire_recv(struct as_exec *e, struct wire *w)
{
	char why[256];
	for (;;) {
		buf_reserve(&w->in, READ_CHUNK);
		ssize_t n = recv(w->fd, w->in.data + w->in.len, READ_CHUNK, 0);
		if (n > 0) {
			w->in.len += (size_t)n;
			if ((size_t)n < READ_CHUNK)
				return 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		snprintf(why, sizeof why, "%s: %s", w->node->addr,
		    n == 0 ? "connection closed by the server" :
		    strerror(errno));
		/* answers already received still count */
		char why2[256];
		if (wire_parse(e, w, why2, sizeof why2) == 1 && w->n_left == 0) {
			wire_release(e, w, false);
			return -1;
		}
		wire_fail(e, w, AS_EXEC_ECONN, why);
		return -1;
	}
}

/*
 * A batch refused as a whole with code rc: each row gets the code (to
 * retry, or final).  Over the server's batch-max-requests, the rows go
 * out again at once in batches half the size, the attempt not counted.
 */
static void wire_batch_refused(struct as_exec *e, struct wire *w, int rc,
    const char *why)
{
	size_t n = w->n_cmds;
	bool again = as_result_retryable(rc), resend = false;
	if (rc == AS_ERR_BATCH_MAX_REQUESTS && n > 1) {
		/* over the server's batch-max-requests: send the rows
		 * again, in smaller batches, without a pause */
		e->o.batch = (unsigned)(n / 2);
		resend = true;
	}
	struct as_cmd **cmds = xmalloc(n * sizeof *cmds);
	memcpy(cmds, w->cmds, n * sizeof *cmds);
	wire_release(e, w, true);
	for (size_t i = 0; i < n; i++) {
		if (cmds[i] == NULL)
			continue;
		if (resend) {
			cmds[i]->attempts--;
			ready_push(e, cmds[i], true);
		} else if (again)
			attempt_failed(e, cmds[i], rc, why);
		else
			finish(e, cmds[i], rc, NULL, why);
	}
	free(cmds);
}

static void wire_readable(struct as_exec *e, struct wire *w)
{
	char why[256];
	if (wire_recv(e, w) < 0)
		return;
	int r = wire_parse(e, w, why, sizeof why);
	if (r == 0)
		return;
	if (r == 1) {
		if (w->n_left > 0) {
			/* LAST came before every row was answered */
			wire_fail(e, w, AS_EXEC_EPROTO,
			    "batch answer is missing rows");
			return;
		}
		bool clean = w->parsed == w->in.len;
		wire_release(e, w, clean);
		return;
	}
	if (r <= -2) {
		wire_batch_refused(e, w, -2 - r, why);
		return;
	}
	char msg[512];
	snprintf(msg, sizeof msg, "%s: bad answer: %s", w->node->addr, why);
	wire_fail(e, w, AS_EXEC_EPROTO, msg);
}

/* --- the loop --------------------------------------------------------- */

static void tend_if_due(struct as_exec *e)
{
	int64_t now = as_mono_ms();
	int64_t since = now - e->c->last_tend_ms;
	if (since >= TEND_INTERVAL_MS ||
	    (e->c->need_tend && since >= TEND_MIN_GAP_MS))
		as_cluster_tend(e->c);
}

/*
 * Watches the input descriptor (fd >= 0) or stops watching it (-1).
 * Input is only watched while the caller waits for it: pending input,
 * or a closed pipe (EPOLLHUP, reported whatever the events asked), must
 * not wake a wait for a free slot, or that wait spins.  A regular file
 * cannot be watched and is always readable.
 */
static void watch_input(struct as_exec *e, int fd)
{
	if (fd >= 0 && fd != e->input_fd) {
		if (e->input_watched)
			epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->input_fd, NULL);
		e->input_fd = fd;
		e->input_always = false;
		e->input_watched = false;
	}
	bool want = fd >= 0;
	if (e->input_fd < 0 || e->input_always || want == e->input_watched)
		return;
	if (!want) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->input_fd, NULL);
		e->input_watched = false;
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN,
		.data.u32 = e->o.max_in_flight };
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->input_fd, &ev) < 0)
		e->input_always = true;
	else
		e->input_watched = true;
}

/*
 * How long run_once may wait for events (ms): wait_ms, or less to the
 * first deadline of a wire or the first delayed command; at most 1 when
 * ready work could not go out for want of a wire.
 */
static int64_t wait_left(struct as_exec *e, int wait_ms)
{
	int64_t now = as_mono_us();
	int64_t wake = now + (int64_t)wait_ms * 1000;
	for (unsigned i = 0; i < e->o.max_in_flight; i++) {
		struct wire *w = &e->w[i];
		if (w->used && w->deadline_us < wake)
			wake = w->deadline_us;
	}
	for (struct as_cmd *c = e->delayed.head; c; c = c->next)
		if (c->not_before_us < wake)
			wake = c->not_before_us;
	int64_t left = (wake - now + 999) / 1000;
	if (left < 0)
		left = 0;
	if (e->ready.n > 0 && e->n_used < e->o.max_in_flight) {
		if (e->lingers) {
			/* a batch fills until its oldest row's linger ends */
			int64_t at = e->ready.head->ready_us + e->linger_us;
			int64_t l = (at - now + 999) / 1000;
			if (l < left)
				left = l < 0 ? 0 : l;
		} else if (left > 1) {
			left = 1;       /* could not go out: retry soon */
		}
	}
	return left;
}

/* The r events epoll_wait returned: the input descriptor's (sets
 * *extra_ready), and each wire's (send the rest, or read). */
static void handle_events(struct as_exec *e, int r, int extra_fd,
    bool *extra_ready)
{
	for (int i = 0; i < r; i++) {
		uint32_t idx = e->evs[i].data.u32;
		if (idx == e->o.max_in_flight) {
			if (extra_ready && extra_fd == e->input_fd)
				*extra_ready = true;
			continue;
		}
		struct wire *w = &e->w[idx];
		if (!w->used) {
			/* a kept connection spoke: the server closed it */
			wire_drop_conn(e, w, false);
			continue;
		}
		if (w->sent < w->out.len)
			wire_send(e, w);
		else
			wire_readable(e, w);
	}
}

/* Fails the requests of every wire past its deadline (a time-out). */
static void expire_wires(struct as_exec *e)
{
	int64_t now = as_mono_us();
	for (unsigned i = 0; i < e->o.max_in_flight; i++) {
		struct wire *w = &e->w[i];
		if (w->used && w->deadline_us <= now) {
			char why[256];
			snprintf(why, sizeof why, "%s: no answer within %lld ms",
			    w->node->addr,
			    (long long)(w->deadline_us - w->start_us) / 1000);
			wire_fail(e, w, AS_EXEC_ETIMEOUT, why);
		}
	}
}

static void run_once(struct as_exec *e, int wait_ms, int extra_fd,
    bool *extra_ready)
{
	tend_if_due(e);
	pump(e);
	if (extra_ready)
		*extra_ready = false;
	watch_input(e, extra_fd);
	if (extra_fd >= 0) {
		if (e->input_always) {
			wait_ms = 0;
			if (extra_ready)
				*extra_ready = true;
		}
	}
	int64_t left = wait_left(e, wait_ms);
	int r = epoll_wait(e->epfd, e->evs, (int)e->o.max_in_flight + 1,
	    (int)left);
	handle_events(e, r, extra_fd, extra_ready);
	expire_wires(e);
	pump(e);
}

void as_exec_poll(struct as_exec *e, int wait_ms)
{
	run_once(e, wait_ms, -1, NULL);
}

int as_exec_wait(struct as_exec *e, int fd, int wait_ms)
{
	bool ready = false;
	run_once(e, wait_ms, fd, &ready);
	return ready ? 1 : 0;
}

void as_exec_drain(struct as_exec *e)
{
	e->flushing = true;
	while (e->outstanding > 0)
		run_once(e, 1000, -1, NULL);
	e->flushing = false;
}

size_t as_exec_outstanding(const struct as_exec *e)
{
	return e->outstanding;
}

const struct as_exec_stats *as_exec_stats(const struct as_exec *e)
{
	return &e->st;
}

void as_exec_free(struct as_exec *e)
{
	if (e == NULL)
		return;
	for (unsigned i = 0; i < e->o.max_in_flight; i++) {
		struct wire *w = &e->w[i];
		if (w->fd >= 0)
			as_node_discard(w->node, w->fd);
		buf_free(&w->out);
		buf_free(&w->in);
		free(w->cmds);
	}
	struct as_cmd *c;
	while ((c = e->free_cmds) != NULL) {
		e->free_cmds = c->next;
		buf_free(&c->parts);
		free(c);
	}
	free(e->w);
	free(e->free_w);
	free(e->evs);
	if (e->input_watched)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->input_fd, NULL);
	close(e->epfd);
	free(e->tab);
	free(e->node_ready);
	free(e);
}
