/*
 * as_exec.h - asynchronous single-record commands against a cluster,
 * with a bounded number in flight.
 *
 * The caller takes a command (as_exec_cmd), fills its digest, header and
 * parts (the fields after the digest, then the bin operations, as
 * as_cmd_* build them) and submits it.  The executor routes it to the
 * digest's master node, sends it on a pooled connection, and calls the
 * done callback once with the final outcome:
 *
 *   rc >= 0   the server's result code; m is the record's answer
 *             (borrowed, valid during the call)
 *   rc < 0    AS_EXEC_ETIMEOUT / AS_EXEC_ECONN / AS_EXEC_EPROTO after the
 *             retries ran out; why says what happened last
 *
 * Aerospike serves one request at a time per connection, so the number
 * in flight is the number of connections in use (as the official
 * clients' async mode).  Connection loss, client time-outs and
 * retryable result codes (as_result_retryable) are retried after a
 * pause that doubles from backoff_ms up to one second (or backoff_ms
 * when that is longer), re-routing each time (the map is refreshed after
 * a connection failure, and every second).  A command gives up, as with
 * the official clients' policies (socketTimeout, totalTimeout,
 * maxRetries), when the next attempt could not start before its total
 * deadline (total_timeout_ms from its first attempt; the last attempt
 * is cut short at it) or after max_retries retries, whichever comes
 * first; c->expired says it was the deadline.  Writes must be
 * idempotent for this to be exact: a time-out leaves a write in doubt.
 *
 * Order per key: a command whose digest matches one still outstanding
 * waits until that one is done, so two writes of one record are applied
 * in submission order.  Across keys there is no order.
 *
 * Pipelining (pipeline > 1, without batches): up to that many ready
 * requests for one node are written on one connection at once and
 * answered in order.  An Aerospike node reads one request of a
 * connection, answers it, then reads the next (as/src/base/service.c:
 * one message per read, the socket re-armed at the end of the
 * transaction), so this keeps its semantics while saving system calls;
 * a request waits for those ahead of it on its connection.
 *
 * Batch mode (batch > 1): ready commands for the same node are sent
 * together as one batch request (field 41) of up to batch rows; each
 * row's result still reaches done on its own, and rows come back in
 * order of their index.  A batch counts once against max_in_flight.
 *
 * Lingering (batch mode with linger_ms > 0, as a Kafka producer's
 * linger.ms): a free connection does not take a partial batch at once.
 * A node's batch goes when it holds batch rows, when its oldest ready
 * row has waited linger_ms, when max_pending commands are outstanding
 * (the caller is blocked: waiting longer gains nothing), or during
 * as_exec_drain().  So batches fill while the input is faster than the
 * server, and a row waits at most linger_ms for company (a retry, and a
 * write that waited for the previous write of its key, do not linger:
 * they go as soon as a connection is free).  With every
 * connection busy, the loop sleeps in epoll until one answers; with a
 * partial batch lingering, until its linger ends.  max_pending is
 * raised to batch * (max_in_flight + the nodes known at as_exec_new), so
 * that a full batch per node is ready when a connection comes free and
 * no more waits (more only adds latency: measured on the fixture, twice
 * batch * max_in_flight was 15% slower with twice the median latency).
 *
 * as_exec_submit() blocks (runs the loop) while max_pending commands are
 * outstanding, so memory stays bounded.  Single-threaded.
 */
#ifndef FS_AS_EXEC_H
#define FS_AS_EXEC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "as_cluster.h"
#include "as_proto.h"
#include "buf.h"

#define AS_EXEC_ETIMEOUT  (-1)
#define AS_EXEC_ECONN     (-2)
#define AS_EXEC_EPROTO    (-3)
#define AS_EXEC_ENOROUTE  (-4)

#define AS_EXEC_RETRIES_ANY UINT_MAX

struct as_exec;

struct as_cmd {
	/* filled by the caller */
	uint8_t digest[AS_DIGEST_SIZE];
	struct as_hdr hdr;
	struct buf parts;       /* fields after the digest, then ops */
	uint16_t n_fields;      /* fields in parts */
	uint16_t n_ops;         /* ops in parts */
	void *udata;
	/* the executor's */
	unsigned attempts;
	bool expired;           /* given up at the total deadline */
	int64_t first_us;       /* first send, for latency */
	int64_t deadline_us;    /* first attempt + total time-out; 0: none */
	int64_t not_before_us;  /* retry pause */
	int64_t ready_us;       /* queued ready (lingering only) */
	struct as_node *qnode;  /* counted ready for it (lingering only) */
	int last_rc;
	char last_why[256];
	struct as_cmd *next;    /* queue link */
	struct as_cmd *same;    /* next command for the same key */
	struct as_cmd *tail;    /* the last of that chain (on its head) */
	struct as_cmd *hnext;   /* key table bucket link */
	struct as_exec *ex;
};

/* Appends a field / an op to c->parts and counts it. */
void as_cmd_field(struct as_cmd *c, uint8_t type, const void *p, size_t n);
void as_cmd_field_key(struct as_cmd *c, uint8_t ptype, const void *p,
    size_t n);
void as_cmd_op(struct as_cmd *c, uint8_t op, uint8_t ptype, const char *name,
    size_t nlen, const void *val, size_t vlen);

typedef void (*as_done_fn)(void *ctx, struct as_cmd *c, int rc,
    const struct as_msg *m, const char *why);

struct as_exec_opts {
	const char *ns;
	const char *set;        /* "" for none */
	unsigned max_in_flight; /* requests on the wire (>= 1) */
	unsigned max_pending;   /* outstanding commands (>= max_in_flight) */
	unsigned batch;         /* rows per batch request; <= 1: no batches */
	unsigned pipeline;      /* single requests queued per connection */
	int timeout_ms;         /* per attempt */
	int total_timeout_ms;   /* per command, retries included; 0: none */
	unsigned max_retries;   /* AS_EXEC_RETRIES_ANY: only the deadline */
	int backoff_ms;
	int linger_ms;          /* batch mode: wait up to this for a full
	                           batch; 0: send what is ready at once */
};

/* Latency histogram: log-linear, 1/16 relative precision, microseconds. */
#define AS_HIST_BUCKETS (16 + 40 * 16)
struct as_hist {
	uint64_t count;
	uint64_t sum;           /* of every value added */
	uint64_t max;
	uint64_t b[AS_HIST_BUCKETS];
};
void as_hist_add(struct as_hist *h, uint64_t us);
/* The value at quantile q (0..1): an upper bound of its bucket. */
uint64_t as_hist_quantile(const struct as_hist *h, double q);

struct as_exec_stats {
	uint64_t submitted, done, retries, timeouts, conn_errors, requests;
	struct as_hist lat;     /* submit-to-done of commands that reached
	                           the server, microseconds */
};

struct as_exec *as_exec_new(struct as_cluster *c, const struct as_exec_opts *o,
    as_done_fn done, void *ctx);
/* A cleared command (parts empty, hdr zero). */
struct as_cmd *as_exec_cmd(struct as_exec *e);
void as_exec_submit(struct as_exec *e, struct as_cmd *c);
/* Gives back a command that will not be submitted. */
void as_exec_cmd_free(struct as_exec *e, struct as_cmd *c);
/* Runs the loop until nothing is outstanding; lingering batches go at
 * once. */
void as_exec_drain(struct as_exec *e);
/* Runs the loop once, waiting up to wait_ms for an event. */
void as_exec_poll(struct as_exec *e, int wait_ms);
/* The same, also waking when fd (input) is readable: returns 1 then.
 * The executor watches fd only during this call: while the caller
 * waits for a free slot (as_exec_submit), pending input does not wake
 * it, so a full pipe in front of a slow server costs no CPU. */
int as_exec_wait(struct as_exec *e, int fd, int wait_ms);
/* Commands submitted and not yet done. */
size_t as_exec_outstanding(const struct as_exec *e);
const struct as_exec_stats *as_exec_stats(const struct as_exec *e);
void as_exec_free(struct as_exec *e);

#endif
