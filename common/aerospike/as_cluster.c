/*
 * as_cluster.c - nodes, partition map, connections, login (as_cluster.h).
 */
#define _GNU_SOURCE 1
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "as_cluster.h"
#include "as_proto.h"
#include "as_value.h"
#include "base64.h"
#include "num.h"
#include "xalloc.h"
#include "banned.h"

#define AS_DEFAULT_PORT 3000
#define AS_TEND_FAILURES_MAX 3
/* The salt every official client hashes passwords with. */
#define AS_BCRYPT_SALT "$2a$10$7EqJtq98hPqEX7fNZaFWoO"

#define ADMIN_AUTHENTICATE 0
#define ADMIN_LOGIN 20
#define ADMIN_FIELD_USER 0
#define ADMIN_FIELD_CREDENTIAL 3
#define ADMIN_FIELD_SESSION_TOKEN 5
#define ADMIN_HDR_SIZE 16

int64_t as_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t as_mono_ms(void)
{
	return as_mono_us() / 1000;
}

static int wait_fd(int fd, short ev, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - as_mono_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = ev };
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int as_io_write(int fd, const void *p, size_t n, int64_t deadline_ms)
{
	const char *q = p;
	while (n > 0) {
		ssize_t w = send(fd, q, n, MSG_NOSIGNAL);
		if (w > 0) {
			q += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline_ms) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

int as_io_read(int fd, void *p, size_t n, int64_t deadline_ms)
{
	char *q = p;
	while (n > 0) {
		ssize_t r = recv(fd, q, n, 0);
		if (r > 0) {
			q += r;
			n -= (size_t)r;
		} else if (r == 0) {
			errno = ECONNRESET;
			return -1;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(fd, POLLIN, deadline_ms) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

static int connect_to(const struct sockaddr_storage *sa, socklen_t salen,
    int timeout_ms)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)sa, salen) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, as_mono_ms() + timeout_ms) < 0)
			goto fail;
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	return fd;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* --- login ------------------------------------------------------------ */

char *as_password_hash(const char *password)
{
	/* crypt_rn, not crypt_r: sanitizers intercept crypt_r, and their
	 * copy makes the linker drop libcrypt (--as-needed) */
	struct crypt_data cd;
	memset(&cd, 0, sizeof cd);
	const char *h = crypt_rn(password, AS_BCRYPT_SALT, &cd, sizeof cd);
	if (h == NULL || h[0] == '*')
		return NULL;
	return xstrdup(h);
}

static void admin_field(struct buf *b, uint8_t id, const void *p, size_t n)
{
	uint8_t h[5];
	as_put_u32(h, (uint32_t)(n + 1));
	h[4] = id;
	buf_append(b, h, 5);
	buf_append(b, p, n);
}

static void admin_begin(struct buf *b, uint8_t cmd, uint8_t nfields)
{
	uint8_t h[AS_PROTO_HDR_SIZE + ADMIN_HDR_SIZE] = { 0 };
	h[AS_PROTO_HDR_SIZE + 2] = cmd;
	h[AS_PROTO_HDR_SIZE + 3] = nfields;
	buf_append(b, h, sizeof h);
}

static void admin_end(struct buf *b)
{
	uint64_t sz = b->len - AS_PROTO_HDR_SIZE;
	uint8_t *d = (uint8_t *)b->data;
	d[0] = AS_PROTO_VERSION;
	d[1] = AS_PROTO_ADMIN;
	d[2] = (uint8_t)(sz >> 40);
	d[3] = (uint8_t)(sz >> 32);
	as_put_u32(d + 4, (uint32_t)sz);
}

/* Sends an admin request, reads the answer into ans; returns the result
 * code, or -1 on an I/O error. */
static int admin_call(struct as_cluster *c, int fd, const struct buf *req,
    struct buf *ans)
{
	int64_t dl = as_mono_ms() + c->o.timeout_ms;
	uint8_t h[AS_PROTO_HDR_SIZE];
	struct as_proto_hdr ph;
	char why[96];
	if (as_io_write(fd, req->data, req->len, dl) < 0 ||
	    as_io_read(fd, h, sizeof h, dl) < 0) {
		snprintf(c->err, sizeof c->err, "login: %s", strerror(errno));
		return -1;
	}
	if (as_proto_hdr_parse(h, &ph, why, sizeof why) < 0 ||
	    ph.type != AS_PROTO_ADMIN || ph.size < ADMIN_HDR_SIZE) {
		snprintf(c->err, sizeof c->err, "login: bad answer");
		return -1;
	}
	buf_reset(ans);
	buf_reserve(ans, ph.size);
	if (as_io_read(fd, ans->data, ph.size, dl) < 0) {
		snprintf(c->err, sizeof c->err, "login: %s", strerror(errno));
		return -1;
	}
	ans->len = ph.size;
	return (uint8_t)ans->data[1];
}

static int login(struct as_cluster *c, int fd)
{
	struct buf req = BUF_INIT, ans = BUF_INIT;
	admin_begin(&req, ADMIN_LOGIN, 2);
	admin_field(&req, ADMIN_FIELD_USER, c->o.user, strlen(c->o.user));
	admin_field(&req, ADMIN_FIELD_CREDENTIAL, c->cred, strlen(c->cred));
	admin_end(&req);
	int rc = admin_call(c, fd, &req, &ans);
	int ret = -1;
	if (rc == AS_SEC_ERR_NOT_CONFIGURED) {
		/* security is off: nothing to do, now or later (as the
		 * official clients do; "not supported", 51, is an error) */
		c->security_off = true;
		ret = 0;
	} else if (rc == 0) {
		const uint8_t *p = (const uint8_t *)ans.data + ADMIN_HDR_SIZE;
		const uint8_t *end = (const uint8_t *)ans.data + ans.len;
		unsigned nf = (uint8_t)ans.data[3];
		for (unsigned i = 0; i < nf && end - p >= 5; i++) {
			uint32_t sz = as_get_u32(p);
			if (sz < 1 || (size_t)(end - p - 4) < sz)
				break;
			if (p[4] == ADMIN_FIELD_SESSION_TOKEN) {
				free(c->token);
				c->token_len = sz - 1;
				c->token = xmalloc(c->token_len + 1);
				memcpy(c->token, p + 5, c->token_len);
			}
			p += 4 + sz;
		}
		ret = 0;
	} else if (rc == AS_SEC_ERR_NOT_SUPPORTED) {
		snprintf(c->err, sizeof c->err, "login as '%s': %s (%d): the "
		    "server has no security (Community Edition?); drop --user",
		    c->o.user, as_result_str(rc), rc);
	} else if (rc > 0) {
		snprintf(c->err, sizeof c->err, "login as '%s': %s (%d)",
		    c->o.user, as_result_str(rc), rc);
	}
	buf_free(&req);
	buf_free(&ans);
	return ret;
}

static int authenticate(struct as_cluster *c, int fd)
{
	if (c->o.user == NULL || c->security_off)
		return 0;
	if (c->token == NULL)
		return login(c, fd);
	struct buf req = BUF_INIT, ans = BUF_INIT;
	admin_begin(&req, ADMIN_AUTHENTICATE, 2);
	admin_field(&req, ADMIN_FIELD_USER, c->o.user, strlen(c->o.user));
	admin_field(&req, ADMIN_FIELD_SESSION_TOKEN, c->token, c->token_len);
	admin_end(&req);
	int rc = admin_call(c, fd, &req, &ans);
	buf_free(&req);
	buf_free(&ans);
	if (rc > 0) {
		/* an expired session: log in again on this connection */
		free(c->token);
		c->token = NULL;
		return login(c, fd);
	}
	return rc;
}

/* --- nodes ------------------------------------------------------------ */

static int resolve(const char *host, int port, struct sockaddr_storage *sa,
    socklen_t *salen, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	int r = getaddrinfo(host, ps, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host,
		    gai_strerror(r));
		return -1;
	}
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Splits "host:port", "[v6]:port" or "host"; host is copied to h. */
static int split_hostport(const char *s, size_t n, char *h, size_t hlen,
    int *port)
{
	const char *colon = NULL;
	*port = AS_DEFAULT_PORT;
	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (rb == NULL)
			return -1;
		if ((size_t)(rb - s - 1) >= hlen)
			return -1;
		memcpy(h, s + 1, (size_t)(rb - s - 1));
		h[rb - s - 1] = '\0';
		if (rb + 1 < s + n && rb[1] == ':')
			colon = rb + 1;
	} else {
		for (size_t i = 0; i < n; i++)
			if (s[i] == ':')
				colon = s + i;
		size_t hl = colon ? (size_t)(colon - s) : n;
		if (hl == 0 || hl >= hlen)
			return -1;
		memcpy(h, s, hl);
		h[hl] = '\0';
	}
	if (colon != NULL) {
		char ps[16];
		size_t pl = (size_t)(s + n - colon - 1);
		int64_t p;
		if (pl == 0 || pl >= sizeof ps)
			return -1;
		memcpy(ps, colon + 1, pl);
		ps[pl] = '\0';
		if (num_parse_i64(ps, 1, 65535, &p) < 0)
			return -1;
		*port = (int)p;
	}
	return 0;
}

static int info_fd_call(struct as_cluster *c, int fd, const char *names,
    struct buf *out, const char *addr)
{
	struct buf req = BUF_INIT;
	as_info_req(&req, names);
	int64_t dl = as_mono_ms() + c->o.timeout_ms;
	uint8_t h[AS_PROTO_HDR_SIZE];
	struct as_proto_hdr ph;
	char why[96];
	int ok = as_io_write(fd, req.data, req.len, dl) == 0 &&
	    as_io_read(fd, h, sizeof h, dl) == 0;
	buf_free(&req);
	if (!ok) {
		snprintf(c->err, sizeof c->err, "%s: info: %s", addr,
		    strerror(errno));
		return -1;
	}
	if (as_proto_hdr_parse(h, &ph, why, sizeof why) < 0 ||
	    ph.type != AS_PROTO_INFO) {
		snprintf(c->err, sizeof c->err, "%s: info: %s", addr,
		    ph.type != AS_PROTO_INFO ? "not an info answer" : why);
		return -1;
	}
	buf_reset(out);
	buf_reserve(out, ph.size + 1);
	if (as_io_read(fd, out->data, ph.size, dl) < 0) {
		snprintf(c->err, sizeof c->err, "%s: info: %s", addr,
		    strerror(errno));
		return -1;
	}
	out->len = ph.size;
	out->data[out->len] = '\0';
	return 0;
}

int as_node_info(struct as_cluster *c, struct as_node *n, const char *names,
    struct buf *out)
{
	if (n->info_fd < 0) {
		n->info_fd = connect_to(&n->sa, n->salen, c->o.timeout_ms);
		if (n->info_fd < 0) {
			snprintf(c->err, sizeof c->err, "%s: connect: %s",
			    n->addr, strerror(errno));
			return -1;
		}
		if (authenticate(c, n->info_fd) < 0) {
			close(n->info_fd);
			n->info_fd = -1;
			return -1;
		}
	}
	if (info_fd_call(c, n->info_fd, names, out, n->addr) < 0) {
		close(n->info_fd);
		n->info_fd = -1;
		return -1;
	}
	return 0;
}

static struct as_node *node_by_name(struct as_cluster *c, const char *name)
{
	for (size_t i = 0; i < c->n_nodes; i++)
		if (strcmp(c->nodes[i]->name, name) == 0)
			return c->nodes[i];
	return NULL;
}

static void copy_value(const char *resp, size_t len, const char *name,
    char *dst, size_t dstlen)
{
	const char *v;
	long n = as_info_value(resp, len, name, &v);
	dst[0] = '\0';
	if (n >= 0 && (size_t)n < dstlen) {
		memcpy(dst, v, (size_t)n);
		dst[n] = '\0';
	}
}

/*
 * Connects to host:port, asks for its node id and features, and adds it
 * (or refreshes the node of that id).  Returns the node or NULL.
 */
static struct as_node *add_node(struct as_cluster *c, const char *host,
    int port)
{
	struct as_node *n = xcalloc(1, sizeof *n);
	n->info_fd = -1;
	n->partition_gen = -1;
	n->peers_gen = -1;
	if (strchr(host, ':') != NULL)
		snprintf(n->addr, sizeof n->addr, "[%s]:%d", host, port);
	else
		snprintf(n->addr, sizeof n->addr, "%s:%d", host, port);
	if (resolve(host, port, &n->sa, &n->salen, c->err, sizeof c->err) < 0)
		goto fail;
	struct buf out = BUF_INIT;
	if (as_node_info(c, n, "node\nfeatures", &out) < 0) {
		buf_free(&out);
		goto fail;
	}
	copy_value(out.data, out.len, "node", n->name, sizeof n->name);
	if (strncmp(n->name, "ERROR:", 6) == 0) {
		/* e.g. "ERROR:80:not authenticated" */
		snprintf(c->err, sizeof c->err, "%s: info: %s", n->addr, n->name);
		buf_free(&out);
		goto fail;
	}
	const char *feat;
	long fl = as_info_value(out.data, out.len, "features", &feat);
	n->batch_any = fl > 0 && memmem(feat, (size_t)fl, "batch-any", 9);
	buf_free(&out);
	if (n->name[0] == '\0') {
		snprintf(c->err, sizeof c->err, "%s: no node id in the info answer",
		    n->addr);
		goto fail;
	}
	struct as_node *old = node_by_name(c, n->name);
	if (old != NULL) {
		if (n->info_fd >= 0)
			close(n->info_fd);
		free(n);
		old->alive = true;
		return old;
	}
	n->alive = true;
	c->nodes = xgrow(c->nodes, &c->cap_nodes, c->n_nodes + 1,
	    sizeof *c->nodes);
	n->idx = (unsigned)c->n_nodes;
	c->nodes[c->n_nodes++] = n;
	return n;
fail:
	if (n->info_fd >= 0)
		close(n->info_fd);
	free(n);
	return NULL;
}

/*
 * The head of a "peers-clear-std" answer, "gen,default_port,": 0 with
 * *dport (AS_DEFAULT_PORT when empty) and *list at what follows it, or
 * -1 when malformed.
 */
static int peers_head(const char *v, size_t len, int64_t *dport,
    const char **list)
{
	const char *end = v + len;
	const char *comma1 = memchr(v, ',', len);
	if (comma1 == NULL)
		return -1;
	const char *comma2 = memchr(comma1 + 1, ',', (size_t)(end - comma1 - 1));
	if (comma2 == NULL)
		return -1;
	char ps[16];
	size_t pl = (size_t)(comma2 - comma1 - 1);
	*dport = AS_DEFAULT_PORT;
	if (pl > 0) {
		if (pl >= sizeof ps)
			return -1;
		memcpy(ps, comma1 + 1, pl);
		ps[pl] = '\0';
		if (num_parse_i64(ps, 1, 65535, dport) < 0)
			return -1;
	}
	*list = comma2 + 1;
	return 0;
}

/* The first c before end outside brackets nested in [p, end), or end;
 * with c ']' and p just past a '[', the ']' that closes it. */
static const char *skip_nested(const char *p, const char *end, char c)
{
	int depth = 0;
	while (p < end && (*p != c || depth > 0)) {
		depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
		p++;
	}
	return p;
}

/* Adds the address a[0..ae) to pe (past AS_PEER_ADDRS, ignored): one
 * without a port gets dport.  -1 when malformed. */
static int peer_add_addr(struct as_peer *pe, const char *a, const char *ae,
    int64_t dport)
{
	if (pe->n_addrs >= AS_PEER_ADDRS)
		return 0;
	int port;
	char *h = pe->hosts[pe->n_addrs];
	if (split_hostport(a, (size_t)(ae - a), h, sizeof pe->hosts[0],
	    &port) < 0)
		return -1;
	const char *rbr = memchr(a, ']', (size_t)(ae - a));
	bool has_port = a[0] == '[' ? rbr != NULL && rbr + 1 < ae :
	    memchr(a, ':', (size_t)(ae - a)) != NULL;
	pe->ports[pe->n_addrs++] = has_port ? port : (int)dport;
	return 0;
}

/*
 * One peer, "[id,tls_name,[addr,...]]" at p (its '['), into pe, or
 * with pe NULL (past max) only checked for its brackets.  Returns the
 * ']' that closes its address list, or NULL when malformed.
 */
static const char *peer_parse(const char *p, const char *end,
    struct as_peer *pe, int64_t dport)
{
	const char *q = p + 1;
	const char *c1 = memchr(q, ',', (size_t)(end - q));
	if (c1 == NULL)
		return NULL;
	const char *lb = memchr(c1, '[', (size_t)(end - c1));
	if (lb == NULL)
		return NULL;
	const char *rb = skip_nested(lb + 1, end, ']');
	if (rb >= end)
		return NULL;
	size_t il = (size_t)(c1 - q);
	if (pe != NULL) {
		memset(pe, 0, sizeof *pe);
		if (il >= sizeof pe->id)
			return NULL;
		memcpy(pe->id, q, il);
	}
	for (const char *a = lb + 1; a < rb; ) {
		const char *ae = skip_nested(a, rb, ',');
		if (pe != NULL && peer_add_addr(pe, a, ae, dport) < 0)
			return NULL;
		a = ae + 1;
	}
	return rb;
}

/*
 * "peers-clear-std": gen,default_port,[[id,tls_name,[addr,...]],...],
 * an address being host, host:port, [v6] or [v6]:port.
 */
int as_peers_parse(const char *v, size_t len, struct as_peer *out, size_t max)
{
	const char *p, *end = v + len;
	int64_t dport;
	if (peers_head(v, len, &dport, &p) < 0)
		return -1;
	if (p >= end || *p != '[')
		return -1;
	p++;
	size_t n = 0;
	while (p < end && *p == '[') {
		const char *rb = peer_parse(p, end, n < max ? &out[n] : NULL,
		    dport);
		if (rb == NULL)
			return -1;
		n++;
		/* past "]]" and an optional ',' */
		p = rb + 1;
		if (p < end && *p == ']')
			p++;
		if (p < end && *p == ',')
			p++;
	}
	return (int)(n < max ? n : max);
}

/* Adds every peer not known yet (its first address that answers). */
static void add_peers(struct as_cluster *c, const char *v, size_t len)
{
	struct as_peer peers[64];
	int n = as_peers_parse(v, len, peers, 64);
	for (int i = 0; i < n; i++) {
		if (node_by_name(c, peers[i].id) != NULL)
			continue;
		for (int j = 0; j < peers[i].n_addrs; j++)
			if (add_node(c, peers[i].hosts[j], peers[i].ports[j]))
				break;
	}
}

/*
 * "replicas": ns:regime,n_replicas,bitmap0,bitmap1,...;ns2:...
 * Takes the master bitmap (replica 0) of namespace ns.
 */
int as_replicas_parse(const char *v, size_t len, const char *ns,
    uint8_t bits[AS_PARTITIONS / 8], int64_t *regime)
{
	size_t nslen = strlen(ns);
	const char *p = v, *end = v + len;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *e = semi ? semi : end;
		const char *colon = memchr(p, ':', (size_t)(e - p));
		if (colon == NULL)
			return -1;
		if ((size_t)(colon - p) == nslen && memcmp(p, ns, nslen) == 0) {
			const char *f = colon + 1;
			const char *c1 = memchr(f, ',', (size_t)(e - f));
			if (c1 == NULL)
				return -1;
			const char *c2 = memchr(c1 + 1, ',', (size_t)(e - c1 - 1));
			if (c2 == NULL)
				return -1;
			char num[24];
			size_t rl = (size_t)(c1 - f);
			if (rl >= sizeof num)
				return -1;
			memcpy(num, f, rl);
			num[rl] = '\0';
			if (num_parse_i64(num, 0, INT64_MAX, regime) < 0)
				return -1;
			const char *b = c2 + 1;
			const char *be = memchr(b, ',', (size_t)(e - b));
			if (be == NULL)
				be = e;
			struct buf dec = BUF_INIT;
			int ok = base64_decode(&dec, b, (size_t)(be - b)) == 0 &&
			    dec.len == AS_PARTITIONS / 8;
			if (ok)
				memcpy(bits, dec.data, AS_PARTITIONS / 8);
			buf_free(&dec);
			return ok ? 1 : -1;
		}
		p = e + 1;
	}
	return 0;
}

static int parse_replicas(struct as_cluster *c, struct as_node *n,
    const char *v, size_t len, int64_t *regimes)
{
	uint8_t bits[AS_PARTITIONS / 8];
	int64_t regime;
	int r = as_replicas_parse(v, len, c->o.ns, bits, &regime);
	if (r != 1)
		return r;
	for (unsigned pid = 0; pid < AS_PARTITIONS; pid++) {
		if ((bits[pid >> 3] & (0x80 >> (pid & 7))) &&
		    regime >= regimes[pid]) {
			regimes[pid] = regime;
			c->master[pid] = n;
		}
	}
	return 1;
}

/* Rebuilds the partition map from every live node. */
static int refresh_map(struct as_cluster *c)
{
	int64_t *regimes = xcalloc(AS_PARTITIONS, sizeof *regimes);
	struct buf out = BUF_INIT;
	int found = 0;
	memset(c->master, 0, sizeof c->master);
	for (size_t i = 0; i < c->n_nodes; i++) {
		struct as_node *n = c->nodes[i];
		if (!n->alive)
			continue;
		if (as_node_info(c, n, "partition-generation\nreplicas",
		    &out) < 0) {
			n->alive = false;
			continue;
		}
		char gen[24];
		copy_value(out.data, out.len, "partition-generation", gen,
		    sizeof gen);
		if (num_parse_i64(gen, INT64_MIN, INT64_MAX,
		    &n->partition_gen) < 0)
			n->partition_gen = -1;
		const char *v;
		long vl = as_info_value(out.data, out.len, "replicas", &v);
		int r = vl >= 0 ? parse_replicas(c, n, v, (size_t)vl, regimes) : -1;
		if (r < 0) {
			snprintf(c->err, sizeof c->err,
			    "%s: malformed replicas answer", n->addr);
		} else {
			found += r;
		}
	}
	buf_free(&out);
	free(regimes);
	return found;
}

int as_cluster_open(struct as_cluster *c, const struct as_cluster_opts *o)
{
	memset(c, 0, sizeof *c);
	c->o = *o;
	if (c->o.timeout_ms <= 0)
		c->o.timeout_ms = 1000;
	if (c->o.max_conns == 0)
		c->o.max_conns = 256;
	if (o->user != NULL) {
		c->cred = as_password_hash(o->password ? o->password : "");
		if (c->cred == NULL) {
			snprintf(c->err, sizeof c->err,
			    "cannot hash the password with bcrypt");
			return -1;
		}
	}
	const char *s = o->hosts;
	char firsterr[sizeof c->err] = "";
	while (*s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		char host[80];
		int port;
		if (split_hostport(s, len, host, sizeof host, &port) < 0) {
			snprintf(c->err, sizeof c->err, "bad host '%.*s'",
			    (int)len, s);
			return -1;
		}
		if (add_node(c, host, port) == NULL &&
		    firsterr[0] == '\0')
			memcpy(firsterr, c->err, sizeof firsterr);
		s += len;
		if (*s == ',')
			s++;
	}
	if (c->n_nodes == 0) {
		memcpy(c->err, firsterr, sizeof c->err);
		return -1;
	}
	if (as_cluster_tend(c) < 0)
		return -1;
	return 0;
}

/*
 * A node that did not answer a tend: a busy node may miss a tend or
 * two, as with the official clients; the third miss takes it out, with
 * its pooled connections.  True while it still counts as alive; sets
 * *remap when it has just died.
 */
static bool tend_missed(struct as_node *n, bool *remap)
{
	if (++n->failures < AS_TEND_FAILURES_MAX && n->alive)
		return true;
	if (n->alive)
		*remap = true;
	n->alive = false;
	/* its pooled connections are as dead as it is */
	for (size_t j = 0; j < n->n_idle; j++)
		as_node_discard(n, n->idle[j]);
	n->n_idle = 0;
	return false;
}

/* Asks n for its peers and adds those not known yet. */
static void tend_peers(struct as_cluster *c, struct as_node *n)
{
	struct buf peers = BUF_INIT;
	if (as_node_info(c, n, "peers-clear-std", &peers) == 0) {
		const char *v;
		long vl = as_info_value(peers.data, peers.len,
		    "peers-clear-std", &v);
		if (vl > 0)
			add_peers(c, v, (size_t)vl);
	}
	buf_free(&peers);
}

/*
 * A node's answer to a tend (out: its id and generations): the node is
 * alive, its peers are fetched when they changed.  True when the
 * partition map must be fetched again: another server at the address,
 * a new partition generation, the node back, or peers changed.
 */
static bool tend_answered(struct as_cluster *c, struct as_node *n,
    const struct buf *out)
{
	bool remap = false;
	char name[64], gen[24], pgen[24];
	copy_value(out->data, out->len, "node", name, sizeof name);
	copy_value(out->data, out->len, "partition-generation", gen,
	    sizeof gen);
	copy_value(out->data, out->len, "peers-generation", pgen,
	    sizeof pgen);
	int64_t g = -1, pg = -1;
	num_parse_i64(gen, INT64_MIN, INT64_MAX, &g);
	num_parse_i64(pgen, INT64_MIN, INT64_MAX, &pg);
	if (strcmp(name, n->name) != 0) {
		/* another server took this address: a restart */
		snprintf(n->name, sizeof n->name, "%s", name);
		remap = true;
	}
	if (!n->alive || g != n->partition_gen || g < 0)
		remap = true;
	n->alive = true;
	n->failures = 0;
	if (pg != n->peers_gen) {
		n->peers_gen = pg;
		tend_peers(c, n);
		remap = true;
	}
	return remap;
}

int as_cluster_tend(struct as_cluster *c)
{
	struct buf out = BUF_INIT;
	bool remap = false;
	size_t alive = 0;
	c->last_tend_ms = as_mono_ms();
	c->need_tend = false;
	for (size_t i = 0; i < c->n_nodes; i++) {
		struct as_node *n = c->nodes[i];
		if (as_node_info(c, n, "node\npartition-generation\n"
		    "peers-generation", &out) < 0) {
			if (tend_missed(n, &remap))
				alive++;
			continue;
		}
		if (tend_answered(c, n, &out))
			remap = true;
		alive++;
	}
	buf_free(&out);
	if (alive == 0) {
		if (c->err[0] == '\0')
			snprintf(c->err, sizeof c->err, "no node answers");
		return -1;
	}
	if (remap && c->o.ns != NULL) {
		int found = refresh_map(c);
		if (found == 0) {
			snprintf(c->err, sizeof c->err,
			    "namespace '%s' not found on any node", c->o.ns);
			return -1;
		}
	}
	return 0;
}

struct as_node *as_cluster_route(struct as_cluster *c,
    const uint8_t digest[AS_DIGEST_SIZE])
{
	struct as_node *n = c->master[as_partition_id(digest)];
	if (n != NULL && n->alive)
		return n;
	for (size_t i = 0; i < c->n_nodes; i++) {
		size_t j = (as_partition_id(digest) + i) % c->n_nodes;
		if (c->nodes[j]->alive)
			return c->nodes[j];
	}
	return NULL;
}

int as_node_acquire(struct as_cluster *c, struct as_node *n)
{
	if (n->n_idle > 0)
		return n->idle[--n->n_idle];
	if (n->n_open >= c->o.max_conns) {
		snprintf(c->err, sizeof c->err, "%s: all %u connections in use",
		    n->addr, c->o.max_conns);
		return -1;
	}
	int fd = connect_to(&n->sa, n->salen, c->o.timeout_ms);
	if (fd < 0) {
		snprintf(c->err, sizeof c->err, "%s: connect: %s", n->addr,
		    strerror(errno));
		return -1;
	}
	if (authenticate(c, fd) < 0) {
		close(fd);
		return -1;
	}
	n->n_open++;
	c->conns_opened++;
	return fd;
}

void as_node_release(struct as_node *n, int fd)
{
	n->idle = xgrow(n->idle, &n->cap_idle, n->n_idle + 1, sizeof *n->idle);
	n->idle[n->n_idle++] = fd;
}

void as_node_discard(struct as_node *n, int fd)
{
	close(fd);
	if (n->n_open > 0)
		n->n_open--;
}

void as_cluster_close(struct as_cluster *c)
{
	for (size_t i = 0; i < c->n_nodes; i++) {
		struct as_node *n = c->nodes[i];
		for (size_t j = 0; j < n->n_idle; j++)
			close(n->idle[j]);
		if (n->info_fd >= 0)
			close(n->info_fd);
		free(n->idle);
		free(n);
	}
	free(c->nodes);
	free(c->cred);
	free(c->token);
	memset(c, 0, sizeof *c);
}
