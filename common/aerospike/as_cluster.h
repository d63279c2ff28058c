/*
 * as_cluster.h - an Aerospike cluster as the official clients see it:
 * seed hosts, nodes found through the info protocol, the partition map
 * of one namespace, a connection pool per node, optional login.
 *
 * as_cluster_open() connects to the seeds, asks each for "node",
 * "features", "partition-generation" and "peers-clear-std", adds the
 * peers, then builds the map of master nodes for the namespace from each
 * node's "replicas" answer (base64 bitmaps of 4096 partitions).
 * as_cluster_tend() repeats the cheap part ("node",
 * "partition-generation", "peers-generation") and rebuilds the map when
 * a generation changed or a node stopped answering; the executor calls
 * it every second and after connection failures, so writes are
 * re-routed when a node goes away.
 *
 * With a user, the password is hashed with bcrypt (crypt(3), the fixed
 * salt the official clients use), a session token is fetched with LOGIN
 * and every new connection is authenticated with it.
 *
 * Sockets are blocking-free: connections are non-blocking with
 * TCP_NODELAY; info calls wait with poll(2) up to the time-out.  Errors
 * come back as -1 with a message in c->err; nothing here exits.
 * Single-threaded: one cluster per thread.
 */
#ifndef FS_AS_CLUSTER_H
#define FS_AS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "as_digest.h"
#include "as_proto.h"
#include "buf.h"

struct as_node {
	char name[64];          /* the node id from "node" */
	char addr[96];          /* host:port, for messages */
	struct sockaddr_storage sa;
	socklen_t salen;
	int info_fd;            /* the tend connection, or -1 */
	int *idle;              /* pooled connections */
	size_t n_idle, cap_idle;
	unsigned n_open;        /* pooled plus in use */
	int64_t partition_gen;  /* -1: map not read yet */
	int64_t peers_gen;
	bool alive;
	unsigned failures;      /* consecutive tend failures */
	bool batch_any;         /* "features" lists batch-any (writes) */
	unsigned idx;           /* its place in the cluster's nodes[] */
};

/* The least time-out the tools give connects, logins and info calls:
 * a busy node answers tend requests late, and a missed tend costs more
 * than a slow one. */
#define AS_INFO_TIMEOUT_MS 3000

struct as_cluster_opts {
	const char *hosts;      /* "host[:port][,host[:port]...]" */
	const char *ns;         /* NULL: nodes only, no partition map */
	const char *user;       /* NULL: no login */
	const char *password;
	int timeout_ms;         /* connect, login, info */
	unsigned max_conns;     /* per node */
};

struct as_cluster {
	struct as_cluster_opts o;
	struct as_node **nodes;
	size_t n_nodes, cap_nodes;
	struct as_node *master[AS_PARTITIONS];
	char *cred;             /* bcrypt hash of the password */
	uint8_t *token;
	size_t token_len;
	bool security_off;      /* the server said it has no security */
	bool need_tend;
	int64_t last_tend_ms;
	uint64_t conns_opened;
	char err[320];
};

int as_cluster_open(struct as_cluster *c, const struct as_cluster_opts *o);
void as_cluster_close(struct as_cluster *c);
/* Refreshes nodes and the partition map; 0, or -1 when no node answers. */
int as_cluster_tend(struct as_cluster *c);
/* The master node for a digest, or any live node when the map has none
 * (the server proxies); NULL when no node is alive. */
struct as_node *as_cluster_route(struct as_cluster *c,
    const uint8_t digest[AS_DIGEST_SIZE]);

/* A connection to n (pooled or new, authenticated), or -1. */
int as_node_acquire(struct as_cluster *c, struct as_node *n);
/* Back to the pool after a complete answer. */
void as_node_release(struct as_node *n, int fd);
/* Closed: its state is unknown (error, time-out). */
void as_node_discard(struct as_node *n, int fd);

/* Sends an info request on n's tend connection and reads the answer
 * (text, NUL terminated in out).  0, or -1 with c->err. */
int as_node_info(struct as_cluster *c, struct as_node *n, const char *names,
    struct buf *out);

/* One peer of a "peers-clear-std" answer. */
#define AS_PEER_ADDRS 4
struct as_peer {
	char id[64];
	char hosts[AS_PEER_ADDRS][80];
	int ports[AS_PEER_ADDRS];
	int n_addrs;
};
/* Parses a "peers-clear-std" value into out[max]; the number of peers,
 * or -1 when malformed.  Addresses without a port get the default one
 * the answer gives. */
int as_peers_parse(const char *v, size_t len, struct as_peer *out,
    size_t max);
/* Finds namespace ns in a "replicas" value (ns:regime,count,bitmaps;...)
 * and copies its master bitmap (bit i, from the high bit of byte 0, is
 * partition i).  1 found, 0 absent, -1 malformed. */
int as_replicas_parse(const char *v, size_t len, const char *ns,
    uint8_t bits[AS_PARTITIONS / 8], int64_t *regime);

/* The credential the server checks: bcrypt of the password with the
 * clients' fixed salt (a new string), or NULL when crypt(3) fails. */
char *as_password_hash(const char *password);

/* Blocking helpers with a deadline (monotonic ms), used by the above and
 * by tools that need a single request. */
int as_io_write(int fd, const void *p, size_t n, int64_t deadline_ms);
int as_io_read(int fd, void *p, size_t n, int64_t deadline_ms);
int64_t as_mono_ms(void);
int64_t as_mono_us(void);

#endif
