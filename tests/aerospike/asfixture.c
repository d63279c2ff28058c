/*
 * asfixture - a single-node, in-memory server speaking Aerospike's binary
 * wire protocol, for the tests and benchmarks of fs-sink-aerospike and fs-get.
 *
 * What it is: one process, one thread, one epoll loop on a loopback port.
 * It answers the info protocol (proto type 1) the clients use for discovery
 * and tend, and single-record and batch-index transactions (proto type 3,
 * and type 4 = zlib-compressed type 3) on the namespaces it was started with.
 * Records live in a hash table keyed by namespace and RIPEMD-160 digest.
 *
 * The rule it follows: where a real Aerospike 7/8 server accepts a request,
 * the fixture accepts it and answers the same; where a real server rejects
 * it, the fixture rejects it with the same result code.  The checks below
 * follow the order of the server's write_master(), read_local() and
 * delete_master(), so that a request breaking two rules gets the code the
 * server gives.  What the fixture does not implement (CDT, bit and HLL
 * operations, UDFs, scans and queries, multi-record transactions, most of
 * the expression language) is answered with result code 16 (unsupported
 * feature), never silently accepted; see tests/aerospike/README for the
 * list.  Security is off (a community server) unless --user and
 * --password turn on logins as the clients see an enterprise server.
 *
 * Faults for tests are driven through info commands the fixture adds
 * (fixture-set, fixture-restart, fixture-reset, fixture-stats,
 * fixture-truncate); `asfixture --ctl HOST:PORT COMMAND...` sends them,
 * and `asfixture --load HOST:PORT` is a raw write load for benchmarks.
 *
 * Sections: protocol constants, configuration, helpers, the store, msgpack,
 * filter expressions, requests and replies, particles, writes, deletes,
 * reads, batches, info, security, connections and the event loop, --ctl,
 * --load, main.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nettle/base64.h>
#include <nettle/ripemd160.h>
#include <zlib.h>

#include "diag.h"
#include "xalloc.h"

/* ---- protocol constants (as/include/base/proto.h of the server) ---- */

enum {
	PROTO_VERSION = 2,
	PROTO_TYPE_INFO = 1,
	PROTO_TYPE_SECURITY = 2,
	PROTO_TYPE_AS_MSG = 3,
	PROTO_TYPE_AS_MSG_COMPRESSED = 4,
	MSG_HEADER_SZ = 22,
	PROTO_HEADER_SZ = 8,
	FIELD_HEADER_SZ = 5,
	OP_HEADER_SZ = 8
};
#define PROTO_SIZE_MAX (128u * 1024 * 1024)

enum {
	INFO1_READ = 1 << 0,
	INFO1_GET_ALL = 1 << 1,
	INFO1_BATCH = 1 << 3,
	INFO1_XDR = 1 << 4,
	INFO1_GET_NO_BINS = 1 << 5,
	INFO1_COMPRESS_RESPONSE = 1 << 7,
	INFO2_WRITE = 1 << 0,
	INFO2_DELETE = 1 << 1,
	INFO2_GENERATION = 1 << 2,
	INFO2_GENERATION_GT = 1 << 3,
	INFO2_DURABLE_DELETE = 1 << 4,
	INFO2_CREATE_ONLY = 1 << 5,
	INFO2_RESPOND_ALL_OPS = 1 << 7,
	INFO3_LAST = 1 << 0,
	INFO3_UPDATE_ONLY = 1 << 3,
	INFO3_CREATE_OR_REPLACE = 1 << 4,
	INFO3_REPLACE_ONLY = 1 << 5
};

enum {
	FIELD_NAMESPACE = 0,
	FIELD_SET = 1,
	FIELD_KEY = 2,
	FIELD_DIGEST = 4,
	FIELD_MRT_ID = 5,
	FIELD_BATCH = 41,
	FIELD_BATCH_WITH_SET = 42,
	FIELD_FILTER = 43
};

enum {
	OP_READ = 1,
	OP_WRITE = 2,
	OP_CDT_READ = 3,
	OP_CDT_MODIFY = 4,
	OP_INCR = 5,
	OP_EXP_READ = 7,
	OP_EXP_MODIFY = 8,
	OP_APPEND = 9,
	OP_PREPEND = 10,
	OP_TOUCH = 11,
	OP_BITS_READ = 12,
	OP_BITS_MODIFY = 13,
	OP_DELETE_ALL = 14,
	OP_HLL_READ = 15,
	OP_HLL_MODIFY = 16
};

enum {
	PT_NULL = 0,
	PT_INTEGER = 1,
	PT_FLOAT = 2,
	PT_STRING = 3,
	PT_BLOB = 4,
	PT_JAVA_BLOB = 7,
	PT_ERLANG_BLOB = 12,
	PT_VECTOR = 16,
	PT_BOOL = 17,
	PT_HLL = 18,
	PT_MAP = 19,
	PT_LIST = 20,
	PT_GEOJSON = 23
};

enum {
	AS_OK = 0,
	ERR_UNKNOWN = 1,
	ERR_NOT_FOUND = 2,
	ERR_GENERATION = 3,
	ERR_PARAMETER = 4,
	ERR_RECORD_EXISTS = 5,
	ERR_INCOMPATIBLE_TYPE = 12,
	ERR_RECORD_TOO_BIG = 13,
	ERR_UNSUPPORTED_FEATURE = 16,
	ERR_KEY_MISMATCH = 19,
	ERR_NAMESPACE = 20,
	ERR_BIN_NAME = 21,
	ERR_FORBIDDEN = 22,
	ERR_ENTERPRISE_ONLY = 25,
	ERR_FILTERED_OUT = 27,
	ERR_BATCH_MAX_REQUESTS = 151,
	SEC_ERR_NOT_SUPPORTED = 51
};

/* Batch parent flags and row flags (as/src/base/batch.c). */
enum {
	BATCH_REPORT_ALL_ERRORS = 0x4,
	BATCH_REPEAT = 0x1,
	BATCH_HAS_EXTRA_INFO = 0x2,
	BATCH_HAS_GENERATION = 0x4,
	BATCH_HAS_RECORD_TTL = 0x8,
	BATCH_HAS_INFO4 = 0x10,
	BATCH_ROW_FIXED_SZ = 25
};

#define TTL_USE_DEFAULT 0u
#define TTL_NEVER_EXPIRE 0xFFFFFFFFu
#define TTL_DONT_UPDATE 0xFFFFFFFEu
#define MAX_ALLOWED_TTL (3600u * 24 * 365 * 10)
#define CITRUSLEAF_EPOCH 1262304000u
#define BIN_NAME_MAX 15
#define SET_NAME_MAX 63
#define NS_NAME_MAX 31
#define MAX_NAMESPACES 8
#define MAX_SETS 1023
#define N_PARTITIONS 4096
#define BUILD_ID "8.0.0.0"

/* ---- configuration and fault state ---- */

struct config {
	const char *host;
	int port;
	const char *port_file;
	const char *ns[MAX_NAMESPACES];
	int n_ns;
	uint32_t nsup_period;
	uint32_t default_ttl;
	uint32_t max_record_size;
	uint32_t batch_max_requests;
	const char *cluster_name;
	unsigned part_index;	/* owns partitions p with p % part_count == */
	unsigned part_count;	/* part_index; 1: all of them */
	int peer_ports[16];	/* other fixtures of this "cluster" */
	int n_peers;
	bool solo;		/* the peers are gone: own everything */
	const char *user;	/* security enabled when set */
	const char *password;
	uint32_t session_ttl;
};

struct faults {
	uint64_t close_after;	/* countdown of data requests; 0 = off */
	uint64_t close_every;	/* close on every Nth data request; 0 = off */
	int fail_code;		/* result code to return ... */
	uint64_t fail_count;	/* ... for this many records */
	uint32_t delay_ms;	/* every data reply waits this long */
	bool batch_reverse;	/* batch rows answered last first */
};

struct stats {
	uint64_t requests, info, reads, writes, deletes, batches,
		batch_rows, closed_by_fault, failed_by_fault, connections,
		misrouted;
};

static struct config cfg = {
	.host = "127.0.0.1",
	.nsup_period = 120,
	.max_record_size = 1024 * 1024,
	.batch_max_requests = 0,	/* the server's default: no limit */
	.session_ttl = 86400,
	.part_count = 1,
};
static struct faults faults;
static struct stats stats;
static uint32_t partition_generation = 1;
static uint32_t peers_generation = 1;
static volatile sig_atomic_t stop_requested;

/* ---- byte order ---- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}
static void put16(uint8_t *p,
    uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; } static void put32(uint8_t *p,
    uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* ---- a byte vector for replies ---- */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static uint8_t *bytes_add(struct bytes *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	uint8_t *at = b->p + b->len;
	b->len += n;
	return at;
}

static void bytes_put(struct bytes *b, const void *p, size_t n)
{
	if (n)
		memcpy(bytes_add(b, n), p, n);
}

static void bytes_puts(struct bytes *b, const char *s) { bytes_put(b, s,
    strlen(s)); } static void bytes_printf(struct bytes *b, const char *fmt,
    ...)
	__attribute__((format(printf, 2, 3)));
static void bytes_printf(struct bytes *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		bytes_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- time ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Seconds since 2010-01-01, the server's clock for void-times. */
static uint32_t now_cl(void)
{
	return (uint32_t)(now_ms() / 1000 - CITRUSLEAF_EPOCH);
}

/* ---- scratch memory, freed after each transaction ---- */

static void **scratch;
static size_t n_scratch, cap_scratch;

static uint8_t *scratch_alloc(size_t n)
{
	scratch = xgrow(scratch, &cap_scratch, n_scratch + 1, sizeof *scratch);
	scratch[n_scratch] = xmalloc(n ? n : 1);
	return scratch[n_scratch++];
}

static void scratch_reset(void)
{
	for (size_t i = 0; i < n_scratch; i++)
		free(scratch[i]);
	n_scratch = 0;
}

/* ---- the store ---- */

struct bin {
	uint8_t name_len;
	char name[BIN_NAME_MAX + 1];
	uint8_t type;
	uint32_t len;
	const uint8_t *val;	/* owned by the record once committed */
};

struct record {
	struct record *next;
	uint8_t digest[20];
	uint16_t ns;
	uint16_t gen;
	uint32_t void_time;	/* server clock; 0 = never expires */
	uint64_t lut;		/* last update, ms since 1970 */
	int set;		/* index into set_names, -1 = no set */
	uint8_t key_type;
	uint32_t key_len;
	uint8_t *key;		/* stored user key (send-key), or NULL */
	uint16_t n_bins;
	struct bin *bins;
};

static struct record **slots;
static size_t slot_mask;
static size_t n_records;
static char *set_names[MAX_SETS];
static int n_sets;

/* Digests from clients are uniform, but tests send made-up ones: mix all
 * 20 bytes (splitmix64's finalizer) so that any digests spread. */
static size_t slot_of(int ns, const uint8_t *digest)
{
	uint64_t h = get64(digest) ^ get64(digest + 8) * 0x9E3779B97F4A7C15ull ^
	    (uint64_t)get32(digest + 16) << 17 ^ (uint64_t)ns << 59;
	h ^= h >> 30;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 27;
	h *= 0x94D049BB133111EBull;
	h ^= h >> 31;
	return (size_t)h & slot_mask;
}

static void store_init(void)
{
	slot_mask = (1u << 16) - 1;
	slots = xcalloc(slot_mask + 1, sizeof *slots);
}

static void store_grow(void)
{
	size_t n = (slot_mask + 1) * 2;
	struct record **ns = xcalloc(n, sizeof *ns);
	size_t old = slot_mask + 1;
	slot_mask = n - 1;
	for (size_t i = 0; i < old; i++) {
		struct record *r = slots[i], *next;
		for (; r; r = next) {
			next = r->next;
			size_t s = slot_of(r->ns, r->digest);
			r->next = ns[s];
			ns[s] = r;
		}
	}
	free(slots);
	slots = ns;
}

static struct record **store_find(int ns, const uint8_t *digest)
{
	struct record **pp = &slots[slot_of(ns, digest)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->ns == ns && memcmp((*pp)->digest, digest, 20) == 0)
			return pp;
	return pp;
}

static void free_bins(struct bin *bins, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		free((void *)bins[i].val);
	free(bins);
}

static void record_free(struct record *r)
{
	free_bins(r->bins, r->n_bins);
	free(r->key);
	free(r);
}

static void store_remove(struct record **pp)
{
	struct record *r = *pp;
	*pp = r->next;
	record_free(r);
	n_records--;
}

static void store_clear(void)
{
	for (size_t i = 0; i <= slot_mask; i++) {
		struct record *r = slots[i], *next;
		for (; r; r = next) {
			next = r->next;
			record_free(r);
		}
		slots[i] = NULL;
	}
	n_records = 0;
}

/* The partition of a digest, as the clients compute it. */
static unsigned
partition_of(const uint8_t *digest)
{
	return (unsigned)(digest[0] | digest[1] << 8) & (N_PARTITIONS - 1);
}

/* Whether this node is the master of partition p. */
static bool owns_partition(unsigned p)
{
	return cfg.solo || cfg.part_count <= 1 ||
	    p % cfg.part_count == cfg.part_index;
}

static bool record_live(const struct record *r)
{
	return r->void_time == 0 || r->void_time > now_cl();
}

/* The set index for a name, created on first use; -1 on overflow. */
static int set_intern(const uint8_t *name, uint32_t len)
{
	for (int i = 0; i < n_sets; i++)
		if (strlen(set_names[i]) == len && memcmp(set_names[i], name, len) == 0)
			return i;
	if (n_sets == MAX_SETS)
		return -1;
	set_names[n_sets] = xstrndup((const char *)name, len);
	return n_sets++;
}

static const struct bin *bin_find(const struct bin *bins, uint16_t n,
    const uint8_t *name, uint8_t len)
{
	for (uint16_t i = 0; i < n; i++)
		if (bins[i].name_len == len && memcmp(bins[i].name, name, len) == 0)
			return &bins[i];
	return NULL;
}

static int ns_index(const uint8_t *name, uint32_t len)
{
	for (int i = 0; i < cfg.n_ns; i++)
		if (strlen(cfg.ns[i]) == len && memcmp(cfg.ns[i], name, len) == 0)
			return i;
	return -1;
}

/* ---- msgpack reading (validation and expressions only) ---- */

struct mp {
	const uint8_t *p, *end;
};

enum mp_kind {
	MP_BAD, MP_NIL, MP_BOOL, MP_INT, MP_UINT, MP_FLOAT, MP_STR, MP_BIN,
	MP_ARRAY, MP_MAP, MP_EXT
};

static bool mp_need(struct mp *m, size_t n)
{
	return (size_t)(m->end - m->p) >= n;
}

static enum mp_kind mp_kind(const struct mp *m)
{
	if (m->p >= m->end)
		return MP_BAD;
	uint8_t c = *m->p;
	if (c <= 0x7f || (c >= 0xcc && c <= 0xcf))
		return MP_UINT;
	if (c >= 0xe0 || (c >= 0xd0 && c <= 0xd3))
		return MP_INT;
	if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf)
		return MP_MAP;
	if ((c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd)
		return MP_ARRAY;
	if ((c & 0xe0) == 0xa0 || (c >= 0xd9 && c <= 0xdb))
		return MP_STR;
	switch (c) {
	case 0xc0: return MP_NIL;
	case 0xc2: case 0xc3: return MP_BOOL;
	case 0xc4: case 0xc5: case 0xc6: return MP_BIN;
	case 0xca: case 0xcb: return MP_FLOAT;
	case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6:
	case 0xd7: case 0xd8: return MP_EXT;
	default: return MP_BAD;
	}
}

static bool mp_int(struct mp *m, int64_t *v)
{
	if (!mp_need(m, 1))
		return false;
	uint8_t c = *m->p++;
	if (c <= 0x7f) { *v = c; return true; }
	if (c >= 0xe0) { *v = (int8_t)c; return true; }
	size_t n = 0;
	switch (c) {
	case 0xcc: case 0xd0: n = 1; break;
	case 0xcd: case 0xd1: n = 2; break;
	case 0xce: case 0xd2: n = 4; break;
	case 0xcf: case 0xd3: n = 8; break;
	default: return false;
	}
	if (!mp_need(m, n))
		return false;
	uint64_t u = 0;
	for (size_t i = 0; i < n; i++)
		u = u << 8 | m->p[i];
	m->p += n;
	if (c >= 0xd0) {	/* signed: sign-extend */
		if (n < 8 && (u >> (n * 8 - 1)) & 1)
			u |= ~0ull << (n * 8);
	}
	*v = (int64_t)u;
	return true;
}

static bool mp_len(struct mp *m, size_t n, uint32_t *len)
{
	if (!mp_need(m, n))
		return false;
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | m->p[i];
	m->p += n;
	*len = v;
	return true;
}

/* Reads a str or bin; *p points at its bytes. */
static bool mp_bytes(struct mp *m, const uint8_t **p, uint32_t *len)
{
	if (!mp_need(m, 1))
		return false;
	uint8_t c = *m->p++;
	bool ok;
	if ((c & 0xe0) == 0xa0) { *len = c & 0x1f; ok = true; }
	else if (c == 0xd9 || c == 0xc4) ok = mp_len(m, 1, len);
	else if (c == 0xda || c == 0xc5) ok = mp_len(m, 2, len);
	else if (c == 0xdb || c == 0xc6) ok = mp_len(m, 4, len);
	else return false;
	if (!ok || !mp_need(m, *len))
		return false;
	*p = m->p;
	m->p += *len;
	return true;
}

static bool mp_array(struct mp *m, uint32_t *n)
{
	if (!mp_need(m, 1))
		return false;
	uint8_t c = *m->p++;
	if ((c & 0xf0) == 0x90) { *n = c & 0x0f; return true; }
	if (c == 0xdc) return mp_len(m, 2, n);
	if (c == 0xdd) return mp_len(m, 4, n);
	return false;
}

static bool mp_double(struct mp *m, double *d)
{
	if (!mp_need(m, 1))
		return false;
	uint8_t c = *m->p++;
	if (c == 0xca && mp_need(m, 4)) {
		uint32_t u = get32(m->p);
		float f;
		memcpy(&f, &u, 4);
		*d = f;
		m->p += 4;
		return true;
	}
	if (c == 0xcb && mp_need(m, 8)) {
		uint64_t u = get64(m->p);
		memcpy(d, &u, 8);
		m->p += 8;
		return true;
	}
	return false;
}

/* Skips one complete object; false if it is malformed or truncated. */
static bool mp_skip(struct mp *m, int depth)
{
	if (depth > 256 || !mp_need(m, 1))
		return false;
	const uint8_t *p;
	uint32_t n;
	int64_t i;
	double d;
	switch (mp_kind(m)) {
	case MP_NIL: case MP_BOOL:
		m->p++;
		return true;
	case MP_INT: case MP_UINT:
		return mp_int(m, &i);
	case MP_FLOAT:
		return mp_double(m, &d);
	case MP_STR: case MP_BIN:
		return mp_bytes(m, &p, &n);
	case MP_ARRAY:
		if (!mp_array(m, &n))
			return false;
		for (uint32_t k = 0; k < n; k++)
			if (!mp_skip(m, depth + 1))
				return false;
		return true;
	case MP_MAP: {
		uint8_t c = *m->p++;
		if ((c & 0xf0) == 0x80)
			n = c & 0x0f;
		else if (!mp_len(m, c == 0xde ? 2 : 4, &n))
			return false;
		for (uint32_t k = 0; k < n; k++)
			if (!mp_skip(m, depth + 1) || !mp_skip(m, depth + 1))
				return false;
		return true;
	}
	case MP_EXT: {
		uint8_t c = *m->p++;
		uint32_t len;
		switch (c) {
		case 0xd4: len = 1; break;
		case 0xd5: len = 2; break;
		case 0xd6: len = 4; break;
		case 0xd7: len = 8; break;
		case 0xd8: len = 16; break;
		default:
			if (!mp_len(m, c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4, &len))
				return false;
		}
		if (!mp_need(m, (size_t)len + 1))
			return false;
		m->p += len + 1;
		return true;
	}
	default:
		return false;
	}
}

/* ---- msgpack as the server stores it ----
 *
 * The server does not keep a list or map particle as sent: it rewrites it
 * (cdt_untrusted_rewrite(), msgpack_compactify_element()) with every
 * integer, string/bytes length, list, map and ext header in its shortest
 * form, and refuses one that is malformed, has trailing bytes, or holds
 * the wildcard/infinity ext values only CDT operations may carry (result
 * code 1).  The fixture does the same, so a client reads back the bytes a
 * real server would give.  A map without the ext header of an ordered one
 * is stored sorted by key (the server's map_order_index_sort(), keys
 * compared as msgpack_cmp() does: negative integers, integers, strings,
 * blobs; within a type by value or bytes, then length), and one with a
 * duplicate key or a key of another type is refused.  (One difference:
 * lists and maps flagged ordered are kept in the order sent; the server
 * would sort them.)
 */

static void pack_uint(struct bytes *b, uint64_t v)
{
	uint8_t *p;
	if (v < 128) {
		*bytes_add(b, 1) = (uint8_t)v;
	} else if (v < 256) {
		p = bytes_add(b, 2); p[0] = 0xcc; p[1] = (uint8_t)v;
	} else if (v < 65536) {
		p = bytes_add(b, 3); p[0] = 0xcd; put16(p + 1, (uint16_t)v);
	} else if (v < 4294967296ull) {
		p = bytes_add(b, 5); p[0] = 0xce; put32(p + 1, (uint32_t)v);
	} else {
		p = bytes_add(b, 9); p[0] = 0xcf; put64(p + 1, v);
	}
}

static void pack_int(struct bytes *b, int64_t v)
{
	uint8_t *p;
	if (v >= 0) {
		pack_uint(b, (uint64_t)v);
	} else if (v >= -32) {
		*bytes_add(b, 1) = (uint8_t)v;
	} else if (v >= INT8_MIN) {
		p = bytes_add(b, 2); p[0] = 0xd0; p[1] = (uint8_t)v;
	} else if (v >= INT16_MIN) {
		p = bytes_add(b, 3); p[0] = 0xd1; put16(p + 1, (uint16_t)v);
	} else if (v >= INT32_MIN) {
		p = bytes_add(b, 5); p[0] = 0xd2; put32(p + 1, (uint32_t)v);
	} else {
		p = bytes_add(b, 9); p[0] = 0xd3; put64(p + 1, (uint64_t)v);
	}
}

/* A header of the shortest form: fix (if n < fixmax), then 8, 16, 32 bit. */
static void pack_header(struct bytes *b, uint32_t n, uint8_t fix,
    uint32_t fixmax, int c8, uint8_t c16, uint8_t c32)
{
	uint8_t *p;
	if (n < fixmax) {
		*bytes_add(b, 1) = (uint8_t)(fix | n);
	} else if (c8 >= 0 && n < 256) {
		p = bytes_add(b, 2); p[0] = (uint8_t)c8; p[1] = (uint8_t)n;
	} else if (n < 65536) {
		p = bytes_add(b, 3); p[0] = c16; put16(p + 1, (uint16_t)n);
	} else {
		p = bytes_add(b, 5); p[0] = c32; put32(p + 1, n);
	}
}

static void pack_ext_header(struct bytes *b, uint32_t size, uint8_t type)
{
	static const uint8_t fixext[17] = { [1] = 0xd4, [2] = 0xd5, [4] = 0xd6,
	    [8] = 0xd7, [16] = 0xd8 };
	if (size <= 16 && fixext[size]) {
		*bytes_add(b, 1) = fixext[size];
	} else {
		pack_header(b, size, 0, 0, 0xc7, 0xc8, 0xc9);
	}
	*bytes_add(b, 1) = type;
}

static bool mp_compact(struct mp *m, struct bytes *out, int depth);

/* A map key in compact form, ranked as the server's msgpack_type orders
 * them: 0 negative integer, 1 integer, 2 string, 3 blob. */
struct map_key {
	int rank;
	uint64_t u;             /* integers: the value, two's complement */
	const uint8_t *s;       /* strings and blobs: the particle bytes */
	uint32_t n;
};

/* The key at p (compact msgpack), false if a map may not have it as key
 * (the server's map_is_key(): an integer, a string, a non-empty blob). */
static bool map_key_read(const uint8_t *p, const uint8_t *end,
    struct map_key *k)
{
	struct mp m = { p, end };
	int64_t i;
	switch (mp_kind(&m)) {
	case MP_UINT:
		if (*p == 0xcf) {
			if (!mp_need(&m, 9))
				return false;
			k->rank = 1;
			k->u = get64(p + 1);
			return true;
		}
		/* fall through */
	case MP_INT:
		if (!mp_int(&m, &i))
			return false;
		k->rank = i < 0 ? 0 : 1;
		k->u = (uint64_t)i;
		return true;
	case MP_STR: case MP_BIN:
		if (!mp_bytes(&m, &k->s, &k->n) || k->n == 0)
			return false;
		if (k->s[0] == PT_STRING) {
			k->rank = 2;
			return true;
		}
		k->rank = 3;
		return k->s[0] == PT_BLOB;
	default:
		return false;
	}
}

static int map_key_cmp(const struct map_key *a, const struct map_key *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->rank == 0)
		return (int64_t)a->u < (int64_t)b->u ? -1 :
		    (int64_t)a->u > (int64_t)b->u;
	if (a->rank == 1)
		return a->u < b->u ? -1 : a->u > b->u;
	int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
	if (c != 0)
		return c;
	return a->n < b->n ? -1 : a->n > b->n;
}

/* A key-value pair of a map being sorted, in a scratch vector. */
struct map_pair {
	struct map_key key;
	size_t at, len;
};

static int map_pair_cmp(const void *a, const void *b)
{
	return map_key_cmp(&((const struct map_pair *)a)->key,
	    &((const struct map_pair *)b)->key);
}

/* The n pairs of an unordered map from m to out, compact and sorted by
 * key; false if one is malformed, a key is not one, or two are equal. */
static bool mp_compact_map_sorted(struct mp *m, struct bytes *out,
    uint32_t n, int depth)
{
	struct bytes tmp = { 0 };
	struct map_pair *pairs = xcalloc(n, sizeof *pairs);
	bool ok = true;
	for (uint32_t k = 0; k < n && ok; k++) {
		pairs[k].at = tmp.len;
		ok = mp_compact(m, &tmp, depth + 1) &&
		    mp_compact(m, &tmp, depth + 1);
		pairs[k].len = tmp.len - pairs[k].at;
	}
	for (uint32_t k = 0; k < n && ok; k++)
		ok = map_key_read(tmp.p + pairs[k].at,
		    tmp.p + pairs[k].at + pairs[k].len, &pairs[k].key);
	if (ok) {
		qsort(pairs, n, sizeof *pairs, map_pair_cmp);
		for (uint32_t k = 1; k < n && ok; k++)
			ok = map_key_cmp(&pairs[k - 1].key, &pairs[k].key) != 0;
	}
	for (uint32_t k = 0; k < n && ok; k++)
		bytes_put(out, tmp.p + pairs[k].at, pairs[k].len);
	free(pairs);
	free(tmp.p);
	return ok;
}

/* Copies one element of m to out in the server's compact form; false if
 * it is malformed or may not be stored. */
static bool mp_compact(struct mp *m, struct bytes *out, int depth)
{
	if (depth > 256 || !mp_need(m, 1))
		return false;
	const uint8_t *start = m->p;
	uint8_t c = *m->p;
	uint32_t n, len;
	int64_t i;
	double d;
	const uint8_t *s;
	switch (mp_kind(m)) {
	case MP_NIL: case MP_BOOL:
		bytes_put(out, m->p++, 1);
		return true;
	case MP_UINT:
		if (c == 0xcf) {	/* may exceed INT64_MAX */
			if (!mp_need(m, 9))
				return false;
			pack_uint(out, get64(m->p + 1));
			m->p += 9;
			return true;
		}
		if (!mp_int(m, &i))
			return false;
		pack_uint(out, (uint64_t)i);
		return true;
	case MP_INT:
		if (!mp_int(m, &i))
			return false;
		pack_int(out, i);
		return true;
	case MP_FLOAT:
		if (!mp_double(m, &d))
			return false;
		bytes_put(out, start, (size_t)(m->p - start));
		return true;
	case MP_STR: case MP_BIN: {
		if (!mp_bytes(m, &s, &n))
			return false;
		/* The server rewrites a string or bytes whose length would fit
		 * the next smaller header, always as a string. */
		bool small = (c == 0xd9 || c == 0xc4) ? n <= 0x1f :
		    (c == 0xda || c == 0xc5) ? n <= 0xff :
		    (c == 0xdb || c == 0xc6) ? n <= 0xffff : false;
		if (small)
			pack_header(out, n, 0xa0, 32, 0xd9, 0xda, 0xdb);
		else
			bytes_put(out, start, (size_t)(s - start));
		bytes_put(out, s, n);
		return true;
	}
	case MP_ARRAY:
		if (!mp_array(m, &n))
			return false;
		pack_header(out, n, 0x90, 16, -1, 0xdc, 0xdd);
		for (uint32_t k = 0; k < n; k++)
			if (!mp_compact(m, out, depth + 1))
				return false;
		return true;
	case MP_MAP:
		m->p++;
		if ((c & 0xf0) == 0x80)
			n = c & 0x0f;
		else if (!mp_len(m, c == 0xde ? 2 : 4, &n))
			return false;
		pack_header(out, n, 0x80, 16, -1, 0xde, 0xdf);
		if (n > 0 && mp_kind(m) != MP_EXT)
			return mp_compact_map_sorted(m, out, n, depth);
		for (uint32_t k = 0; k < 2 * n; k++)
			if (!mp_compact(m, out, depth + 1))
				return false;
		return true;
	case MP_EXT: {
		m->p++;
		switch (c) {
		case 0xd4: len = 1; break;
		case 0xd5: len = 2; break;
		case 0xd6: len = 4; break;
		case 0xd7: len = 8; break;
		case 0xd8: len = 16; break;
		default:
			if (!mp_len(m, c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4, &len))
				return false;
		}
		if (!mp_need(m, (size_t)len + 1))
			return false;
		uint8_t type = *m->p;
		if (type == 0xff && len > 0 && len < 4)
			return false;	/* wildcard or infinity */
		pack_ext_header(out, len, type);
		bytes_put(out, m->p + 1, len);
		m->p += len + 1;
		return true;
	}
	default:
		return false;
	}
}

/* The stored form of a list or map particle, in scratch memory; false if
 * the server would refuse it. */
static bool msgpack_particle_store(const uint8_t *p, uint32_t len,
    enum mp_kind want, const uint8_t **val, uint32_t *vlen)
{
	static struct bytes out;
	struct mp m = { p, p + len };
	out.len = 0;
	if (mp_kind(&m) != want || !mp_compact(&m, &out, 0) || m.p != m.end)
		return false;
	uint8_t *copy = scratch_alloc(out.len);
	memcpy(copy, out.p, out.len);
	*val = copy;
	*vlen = (uint32_t)out.len;
	return true;
}

/* ---- filter expressions (field 43) ----
 *
 * A subset of the server's expression language (as/src/base/exp.c): the
 * comparisons, and/or/not/exclusive, bin and bin_type, the record metadata
 * (last_update, since_update, void_time, ttl, set_name, key_exists,
 * is_tombstone, digest_modulo) and literal values.  Checking follows the
 * server's build step (argument counts, matching types: a mismatch is
 * result code 4); evaluation follows its three-valued logic, where a missing
 * bin or a bin of another type is "unknown" and only "true" lets the
 * transaction through (otherwise result code 27).  Other operations are
 * answered with 16: the fixture does not implement them.
 */

enum xtype {
	X_NIL = 0, X_TRI = 1, X_INT = 2, X_STR = 3, X_LIST = 4, X_MAP = 5,
	X_BLOB = 6, X_FLOAT = 7, X_GEO = 8, X_HLL = 9
};

enum {
	EXP_EQ = 1, EXP_NE, EXP_GT, EXP_GE, EXP_LT, EXP_LE,
	EXP_AND = 16, EXP_OR = 17, EXP_NOT = 18, EXP_EXCLUSIVE = 19,
	EXP_DIGEST_MOD = 64, EXP_LAST_UPDATE = 66, EXP_SINCE_UPDATE = 67,
	EXP_VOID_TIME = 68, EXP_TTL = 69, EXP_SET_NAME = 70,
	EXP_KEY_EXISTS = 71, EXP_IS_TOMBSTONE = 72,
	EXP_BIN = 81, EXP_BIN_TYPE = 82, EXP_QUOTE = 126
};

struct xval {
	bool unknown;
	enum xtype type;
	int64_t i;	/* X_INT; X_TRI: 0 false, 1 true */
	double f;
	const uint8_t *s;	/* X_STR, X_BLOB, X_LIST, X_MAP */
	uint32_t len;
};

struct xctx {
	const struct record *r;
	int status;	/* first error met while checking */
};

static bool bin_name_ok(const uint8_t *name, uint32_t len)
{
	if (len > BIN_NAME_MAX)
		return false;
	return memchr(name, 0, len) == NULL;
}

/* Type-checks one expression like the server's build step; returns its
 * result type, or -1 with x->status set. */
static int exp_check(struct mp *m, struct xctx *x, int depth)
{
	if (depth > 64) {
		x->status = ERR_PARAMETER;
		return -1;
	}
	const uint8_t *s;
	uint32_t n;
	double d;
	int64_t i;
	switch (mp_kind(m)) {
	case MP_INT: case MP_UINT:
		return mp_int(m, &i) ? X_INT : (x->status = ERR_PARAMETER, -1);
	case MP_FLOAT:
		return mp_double(m, &d) ? X_FLOAT : (x->status = ERR_PARAMETER, -1);
	case MP_BOOL:
		m->p++;
		return X_TRI;
	case MP_NIL:
		m->p++;
		return X_NIL;
	case MP_STR: case MP_BIN:
		if (!mp_bytes(m, &s, &n) || n == 0) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		if (s[0] == PT_STRING)
			return X_STR;
		if (s[0] == PT_BLOB)
			return X_BLOB;
		if (s[0] == PT_GEOJSON)
			return X_GEO;
		x->status = ERR_PARAMETER;
		return -1;
	case MP_ARRAY:
		break;
	default:
		x->status = ERR_PARAMETER;
		return -1;
	}
	if (!mp_array(m, &n) || n == 0) {
		x->status = ERR_PARAMETER;
		return -1;
	}
	if (mp_kind(m) != MP_INT && mp_kind(m) != MP_UINT) {
		x->status = ERR_PARAMETER;
		return -1;
	}
	int64_t op;
	mp_int(m, &op);
	uint32_t args = n - 1;
	switch (op) {
	case EXP_EQ: case EXP_NE: case EXP_GT: case EXP_GE: case EXP_LT:
	case EXP_LE: {
		if (args != 2) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		int l = exp_check(m, x, depth + 1);
		if (l < 0)
			return -1;
		int r = exp_check(m, x, depth + 1);
		if (r < 0)
			return -1;
		if (l != r || l == X_GEO || l == X_HLL) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		if (l == X_LIST || l == X_MAP) {
			x->status = ERR_UNSUPPORTED_FEATURE;
			return -1;
		}
		return X_TRI;
	}
	case EXP_AND: case EXP_OR: case EXP_EXCLUSIVE:
		if (args < 2) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		for (uint32_t k = 0; k < args; k++) {
			int t = exp_check(m, x, depth + 1);
			if (t < 0)
				return -1;
			if (t != X_TRI) {
				x->status = ERR_PARAMETER;
				return -1;
			}
		}
		return X_TRI;
	case EXP_NOT: {
		if (args != 1) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		int t = exp_check(m, x, depth + 1);
		if (t < 0)
			return -1;
		if (t != X_TRI) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		return X_TRI;
	}
	case EXP_BIN: {
		int64_t type;
		if (args != 2 || !mp_int(m, &type) || type < 0 || type > X_HLL ||
		    !mp_bytes(m, &s, &n) || !bin_name_ok(s, n)) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		if (type == X_NIL) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		return (int)type;
	}
	case EXP_BIN_TYPE:
		if (args != 1 || !mp_bytes(m, &s, &n) || !bin_name_ok(s, n)) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		return X_INT;
	case EXP_DIGEST_MOD:
		if (args != 1 || !mp_int(m, &i) || i <= 0) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		return X_INT;
	case EXP_LAST_UPDATE: case EXP_SINCE_UPDATE: case EXP_VOID_TIME:
	case EXP_TTL:
		if (args != 0) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		return X_INT;
	case EXP_SET_NAME:
		if (args != 0) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		return X_STR;
	case EXP_KEY_EXISTS: case EXP_IS_TOMBSTONE:
		if (args != 0) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		return X_TRI;
	case EXP_QUOTE:
		if (args != 1 || mp_kind(m) != MP_ARRAY || !mp_skip(m, 0)) {
			x->status = ERR_PARAMETER;
			return -1;
		}
		return X_LIST;
	default:
		/* A real server knows these (arithmetic, cond, let, CDT calls,
		 * ...); the fixture does not implement them. */
		x->status = op >= 0 && op < 256 ? ERR_UNSUPPORTED_FEATURE
		    : ERR_PARAMETER;
		return -1;
	}
}

static int cmp_bytes(const uint8_t *a, uint32_t al, const uint8_t *b,
    uint32_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static void exp_eval(struct mp *m, struct xctx *x, struct xval *out);

static void eval_literal_bytes(const uint8_t *s, uint32_t n, struct xval *out)
{
	out->type = s[0] == PT_STRING ? X_STR : s[0] == PT_BLOB ? X_BLOB : X_GEO;
	out->s = s + 1;
	out->len = n - 1;
}

static void eval_bin(const struct record *r, int64_t type, const uint8_t *name,
    uint32_t len, struct xval *out)
{
	const struct bin *b = bin_find(r->bins, r->n_bins, name, (uint8_t)len);
	out->type = (enum xtype)type;
	if (!b) {
		out->unknown = true;
		return;
	}
	switch (type) {
	case X_INT:
		if (b->type != PT_INTEGER) break;
		out->i = (int64_t)get64(b->val);
		return;
	case X_FLOAT:
		if (b->type != PT_FLOAT) break;
		{
			uint64_t u = get64(b->val);
			memcpy(&out->f, &u, 8);
		}
		return;
	case X_TRI:
		if (b->type != PT_BOOL) break;
		out->i = b->val[0] != 0;
		return;
	case X_STR:
		if (b->type != PT_STRING) break;
		out->s = b->val; out->len = b->len;
		return;
	case X_BLOB:
		if (b->type != PT_BLOB && !(b->type >= PT_JAVA_BLOB &&
		    b->type <= PT_ERLANG_BLOB)) break;
		out->s = b->val; out->len = b->len;
		return;
	case X_LIST:
		if (b->type != PT_LIST) break;
		out->s = b->val; out->len = b->len;
		return;
	case X_MAP:
		if (b->type != PT_MAP) break;
		out->s = b->val; out->len = b->len;
		return;
	case X_GEO:
		if (b->type != PT_GEOJSON) break;
		out->s = b->val; out->len = b->len;
		return;
	case X_HLL:
		if (b->type != PT_HLL) break;
		out->s = b->val; out->len = b->len;
		return;
	default:
		break;
	}
	out->unknown = true;
}

static int eval_compare(int64_t op, const struct xval *l, const struct xval *r)
{
	int c;
	switch (l->type) {
	case X_INT: case X_TRI:
		c = l->i < r->i ? -1 : l->i > r->i;
		break;
	case X_FLOAT:
		c = l->f < r->f ? -1 : l->f > r->f;
		break;
	case X_NIL:
		c = 0;
		break;
	default:
		c = cmp_bytes(l->s, l->len, r->s, r->len);
		break;
	}
	switch (op) {
	case EXP_EQ: return c == 0;
	case EXP_NE: return c != 0;
	case EXP_GT: return c > 0;
	case EXP_GE: return c >= 0;
	case EXP_LT: return c < 0;
	default: return c <= 0;
	}
}

/* Evaluates an expression already accepted by exp_check(). */
static void exp_eval(struct mp *m, struct xctx *x, struct xval *out)
{
	memset(out, 0, sizeof *out);
	const uint8_t *s;
	uint32_t n;
	switch (mp_kind(m)) {
	case MP_INT: case MP_UINT:
		out->type = X_INT;
		mp_int(m, &out->i);
		return;
	case MP_FLOAT:
		out->type = X_FLOAT;
		mp_double(m, &out->f);
		return;
	case MP_BOOL:
		out->type = X_TRI;
		out->i = *m->p++ == 0xc3;
		return;
	case MP_NIL:
		m->p++;
		out->type = X_NIL;
		return;
	case MP_STR: case MP_BIN:
		mp_bytes(m, &s, &n);
		eval_literal_bytes(s, n, out);
		return;
	default:
		break;
	}
	mp_array(m, &n);
	int64_t op;
	mp_int(m, &op);
	uint32_t args = n - 1;
	const struct record *r = x->r;
	switch (op) {
	case EXP_EQ: case EXP_NE: case EXP_GT: case EXP_GE: case EXP_LT:
	case EXP_LE: {
		struct xval l, rv;
		exp_eval(m, x, &l);
		exp_eval(m, x, &rv);
		out->type = X_TRI;
		if (l.unknown || rv.unknown)
			out->unknown = true;
		else
			out->i = eval_compare(op, &l, &rv);
		return;
	}
	case EXP_AND: case EXP_OR: case EXP_EXCLUSIVE: {
		int n_true = 0, n_false = 0, n_unknown = 0;
		/* exclusive stops at the first unknown or the second true,
		 * whichever comes first (eval_exclusive()). */
		bool xor_decided = false, xor_unknown = false;
		for (uint32_t k = 0; k < args; k++) {
			struct xval v;
			exp_eval(m, x, &v);
			if (v.unknown)
				n_unknown++;
			else if (v.i)
				n_true++;
			else
				n_false++;
			if (!xor_decided && (v.unknown || n_true == 2)) {
				xor_decided = true;
				xor_unknown = v.unknown;
			}
		}
		out->type = X_TRI;
		if (op == EXP_AND) {
			if (n_false) out->i = 0;
			else if (n_unknown) out->unknown = true;
			else out->i = 1;
		} else if (op == EXP_OR) {
			if (n_true) out->i = 1;
			else if (n_unknown) out->unknown = true;
			else out->i = 0;
		} else if (xor_decided) {
			out->unknown = xor_unknown;
			out->i = 0;
		} else {
			out->i = n_true == 1;
		}
		return;
	}
	case EXP_NOT:
		exp_eval(m, x, out);
		if (!out->unknown)
			out->i = !out->i;
		return;
	case EXP_BIN: {
		int64_t type;
		mp_int(m, &type);
		mp_bytes(m, &s, &n);
		eval_bin(r, type, s, n, out);
		return;
	}
	case EXP_BIN_TYPE: {
		mp_bytes(m, &s, &n);
		const struct bin *b = bin_find(r->bins, r->n_bins, s, (uint8_t)n);
		out->type = X_INT;
		out->i = b ? b->type : PT_NULL;
		return;
	}
	case EXP_DIGEST_MOD: {
		int64_t mod;
		mp_int(m, &mod);
		out->type = X_INT;
		out->i = (int64_t)(get32(r->digest + 16) % (uint64_t)mod);
		return;
	}
	case EXP_LAST_UPDATE:
		out->type = X_INT;
		out->i = (int64_t)r->lut * 1000000;
		return;
	case EXP_SINCE_UPDATE:
		out->type = X_INT;
		out->i = (int64_t)(now_ms() - r->lut);
		return;
	case EXP_VOID_TIME:
		out->type = X_INT;
		out->i = r->void_time == 0 ? -1 :
		    ((int64_t)r->void_time + CITRUSLEAF_EPOCH) * 1000000000;
		return;
	case EXP_TTL:
		out->type = X_INT;
		out->i = r->void_time == 0 ? -1 :
		    (int64_t)r->void_time - (int64_t)now_cl();
		return;
	case EXP_SET_NAME:
		out->type = X_STR;
		if (r->set < 0) {
			out->s = (const uint8_t *)"";
			out->len = 0;
		} else {
			out->s = (const uint8_t *)set_names[r->set];
			out->len = (uint32_t)strlen(set_names[r->set]);
		}
		return;
	case EXP_KEY_EXISTS:
		out->type = X_TRI;
		out->i = r->key != NULL;
		return;
	case EXP_IS_TOMBSTONE:
		out->type = X_TRI;
		out->i = 0;
		return;
	case EXP_QUOTE:
		out->type = X_LIST;
		out->s = m->p;
		mp_skip(m, 0);
		out->len = (uint32_t)(m->p - out->s);
		return;
	default:
		out->unknown = true;
		return;
	}
}

/* Applies a filter expression to a live record: AS_OK, 27 or a build
 * error code. */
static int filter_record(const uint8_t *exp, uint32_t len,
    const struct record *r)
{
	struct xctx x = { r, ERR_PARAMETER };
	struct mp m = { exp, exp + len };
	int t = exp_check(&m, &x, 0);
	if (t < 0)
		return x.status;
	if (m.p != m.end || t != X_TRI)
		return ERR_PARAMETER;
	m.p = exp;
	struct xval v;
	exp_eval(&m, &x, &v);
	return !v.unknown && v.i ? AS_OK : ERR_FILTERED_OUT;
}

/* ---- requests ---- */

struct req {
	uint8_t info1, info2, info3, info4;
	uint32_t gen, ttl, txn_ttl;
	uint16_t n_ops;
	int ns;
	bool has_set, has_key, has_digest, has_filter, has_mrt, unsupported;
	const uint8_t *set, *key, *filter;
	uint32_t set_len, key_len, filter_len;
	uint8_t digest[20];
	const uint8_t *ops, *ops_end;
	const uint8_t *batch;
	uint32_t batch_len;
	bool is_batch_row;
	uint32_t batch_index;
};

struct op {
	uint8_t op, type, flags, name_len;
	const uint8_t *name;
	const uint8_t *val;
	uint32_t len;
};

/* Parses the op at *p; false if it overruns end. */
static bool op_next(const uint8_t **p, const uint8_t *end, struct op *o)
{
	if (end - *p < OP_HEADER_SZ)
		return false;
	uint32_t sz = get32(*p);
	if (sz < 4 || (uint64_t)(end - *p) - 4 < sz)
		return false;
	o->op = (*p)[4];
	o->type = (*p)[5];
	o->flags = (*p)[6];
	o->name_len = (*p)[7];
	if (o->name_len > sz - 4)
		return false;
	o->name = *p + OP_HEADER_SZ;
	o->val = o->name + o->name_len;
	o->len = sz - 4 - o->name_len;
	*p += 4 + sz;
	return true;
}

/* Parses fields and checks the ops' framing, like as_transaction_prepare(). */
static bool parse_fields(struct req *q, const uint8_t *p, const uint8_t *end,
    uint16_t n_fields, uint16_t n_ops, int *ns_status)
{
	bool has_ns = false;
	q->ns = -1;
	*ns_status = AS_OK;
	for (uint16_t i = 0; i < n_fields; i++) {
		if (end - p < FIELD_HEADER_SZ)
			return false;
		uint32_t sz = get32(p);
		if (sz < 1 || (uint64_t)(end - p) - 4 < sz)
			return false;
		uint8_t type = p[4];
		const uint8_t *data = p + FIELD_HEADER_SZ;
		uint32_t len = sz - 1;
		switch (type) {
		case FIELD_NAMESPACE:
			has_ns = true;
			q->ns = ns_index(data, len);
			break;
		case FIELD_SET:
			q->has_set = true;
			q->set = data;
			q->set_len = len;
			break;
		case FIELD_KEY:
			q->has_key = true;
			q->key = data;
			q->key_len = len;
			break;
		case FIELD_DIGEST:
			if (len != 20)
				return false;
			q->has_digest = true;
			memcpy(q->digest, data, 20);
			break;
		case FIELD_MRT_ID:
			q->has_mrt = true;
			break;
		case FIELD_FILTER:
			q->has_filter = true;
			q->filter = data;
			q->filter_len = len;
			break;
		case FIELD_BATCH: case FIELD_BATCH_WITH_SET:
			q->batch = data;
			q->batch_len = len;
			break;
		case 11: case 12: case 21: case 22: case 23: case 24: case 26:
		case 30: case 31: case 32: case 33: case 40:
			/* Scans, queries and UDFs: not implemented. */
			q->unsupported = true;
			break;
		default:
			break;	/* the server skips fields it does not use */
		}
		p += 4 + sz;
	}
	q->ops = p;
	struct op o;
	for (uint16_t i = 0; i < n_ops; i++)
		if (!op_next(&p, end, &o))
			return false;
	q->ops_end = p;
	q->n_ops = n_ops;
	if (!has_ns)
		*ns_status = ERR_NAMESPACE;
	else if (q->ns < 0)
		*ns_status = ERR_NAMESPACE;
	return true;
}

/* The server computes the digest itself when only the key is sent. */
static bool compute_digest(struct req *q)
{
	if (q->has_digest)
		return true;
	if (!q->has_key || q->key_len < 1)
		return false;
	struct ripemd160_ctx c;
	ripemd160_init(&c);
	if (q->has_set)
		ripemd160_update(&c, q->set_len, q->set);
	ripemd160_update(&c, q->key_len, q->key);
	ripemd160_digest(&c, 20, q->digest);
	q->has_digest = true;
	return true;
}

/* ---- replies ---- */

static struct bytes reply;	/* the reply being built */

static void proto_header(uint8_t *h, uint8_t type, uint64_t sz)
{
	h[0] = PROTO_VERSION;
	h[1] = type;
	for (int i = 0; i < 6; i++)
		h[2 + i] = (uint8_t)(sz >> (8 * (5 - i)));
}

static void msg_header(uint8_t *h, int result, uint32_t gen, uint32_t void_time,
    uint32_t txn_ttl, uint16_t n_fields, uint16_t n_ops, uint8_t info3)
{
	h[0] = MSG_HEADER_SZ;
	h[1] = 0;
	h[2] = 0;
	h[3] = info3;
	h[4] = 0;
	h[5] = (uint8_t)result;
	put32(h + 6, gen);
	put32(h + 10, void_time);
	put32(h + 14, txn_ttl);
	put16(h + 18, n_fields);
	put16(h + 20, n_ops);
}

static void op_out(struct bytes *b, const uint8_t *name, uint8_t name_len,
    uint8_t type, const uint8_t *val, uint32_t len)
{
	uint8_t *h = bytes_add(b, OP_HEADER_SZ);
	put32(h, 4 + name_len + len);
	h[4] = OP_READ;
	h[5] = type;
	h[6] = 0;
	h[7] = name_len;
	bytes_put(b, name, name_len);
	bytes_put(b, val, len);
}

/* Response ops of the current transaction, and their count. */
static struct bytes resp_ops;
static uint16_t n_resp_ops;

static void resp_bin(const struct bin *b)
{
	op_out(&resp_ops, (const uint8_t *)b->name, b->name_len, b->type,
	    b->val, b->len);
	n_resp_ops++;
}

static void resp_null(const uint8_t *name, uint8_t len)
{
	op_out(&resp_ops, name, len, PT_NULL, NULL, 0);
	n_resp_ops++;
}

/* Appends one as_msg (no proto header) with the collected ops. */
/* A batch read row's answer as the server writes it (batch.c): a found
 * record as as_batch_add_result() (the bins, generation and void time; no
 * digest field: a server of 8.1 sends a field only for a record version),
 * one filtered out the same with no bins, anything else as
 * as_batch_add_error() (the code alone: no generation, void time, fields
 * or bins). */
static void batch_read_out(const struct req *q, int result, uint32_t gen,
    uint32_t void_time)
{
	uint8_t *h = bytes_add(&reply, MSG_HEADER_SZ);
	if (result != AS_OK) {
		if (result == ERR_FILTERED_OUT)
			msg_header(h, result, gen, void_time, q->batch_index, 0,
			    0, 0);
		else
			msg_header(h, result, 0, 0, q->batch_index, 0, 0, 0);
		resp_ops.len = 0;
		n_resp_ops = 0;
		return;
	}
	msg_header(h, result, gen, void_time, q->batch_index, 0, n_resp_ops, 0);
	bytes_put(&reply, resp_ops.p, resp_ops.len);
	resp_ops.len = 0;
	n_resp_ops = 0;
}

static void result_out(const struct req *q, int result, uint32_t gen,
    uint32_t void_time)
{
	if (q->is_batch_row && !(q->info2 & (INFO2_WRITE | INFO2_DELETE))) {
		batch_read_out(q, result, gen, void_time);
		return;
	}
	uint8_t *h = bytes_add(&reply, MSG_HEADER_SZ);
	msg_header(h, result, gen, void_time,
	    q->is_batch_row ? q->batch_index : 0, 0, n_resp_ops, 0);
	bytes_put(&reply, resp_ops.p, resp_ops.len);
	resp_ops.len = 0;
	n_resp_ops = 0;
}

static void result_rec(const struct req *q, int result, const struct record *r)
{
	if (r && record_live(r))
		result_out(q, result, r->gen, r->void_time);
	else
		result_out(q, result, 0, 0);
}

/* ---- particles ---- */

/* Checks a value written by a client and gives its stored form
 * (integers are kept as 8 bytes, as the server does). */
static int particle_in(const struct op *o, const uint8_t **val, uint32_t *len)
{
	*val = o->val;
	*len = o->len;
	switch (o->type) {
	case PT_INTEGER: {
		uint64_t v;
		switch (o->len) {
		case 8: v = get64(o->val); break;
		case 4: v = get32(o->val); break;
		case 2: v = get16(o->val); break;
		case 1: v = o->val[0]; break;
		default: return ERR_PARAMETER;
		}
		if (o->len != 8) {
			uint8_t *p = scratch_alloc(8);
			put64(p, v);
			*val = p;
			*len = 8;
		}
		return AS_OK;
	}
	case PT_FLOAT:
		return o->len == 8 ? AS_OK : ERR_PARAMETER;
	case PT_BOOL:
		return o->len == 1 ? AS_OK : ERR_PARAMETER;
	case PT_STRING: case PT_BLOB:
	case PT_JAVA_BLOB: case 8: case 9: case 10: case 11: case PT_ERLANG_BLOB:
		return AS_OK;
	case PT_LIST:
		return msgpack_particle_store(o->val, o->len, MP_ARRAY, val, len)
		    ? AS_OK : ERR_UNKNOWN;
	case PT_MAP:
		return msgpack_particle_store(o->val, o->len, MP_MAP, val, len)
		    ? AS_OK : ERR_UNKNOWN;
	case PT_GEOJSON: case PT_HLL: case PT_VECTOR:
		/* The server parses and indexes these; the fixture does not. */
		return ERR_UNSUPPORTED_FEATURE;
	default:
		return ERR_PARAMETER;
	}
}

/* ---- the working copy of a record's bins during a write ---- */

struct work {
	struct bin *b;
	size_t n, cap;
};

static struct work work;

static struct bin *work_find(const uint8_t *name, uint8_t len)
{
	return (struct bin *)bin_find(work.b, (uint16_t)work.n, name, len);
}

static void work_set(const uint8_t *name, uint8_t len, uint8_t type,
    const uint8_t *val, uint32_t vlen)
{
	struct bin *b = work_find(name, len);
	if (!b) {
		work.b = xgrow(work.b, &work.cap, work.n + 1, sizeof *work.b);
		b = &work.b[work.n++];
		b->name_len = len;
		memcpy(b->name, name, len);
		b->name[len] = 0;
	}
	b->type = type;
	b->val = val;
	b->len = vlen;
}

static void work_delete(const uint8_t *name, uint8_t len)
{
	/* As the server's as_bin_remove(): the last bin takes the place of
	 * the one removed, so a read after it lists the bins in that order. */
	struct bin *b = work_find(name, len);
	if (b) {
		work.n--;
		*b = work.b[work.n];
	}
}

static int apply_incr(const struct op *o)
{
	const uint8_t *v;
	uint32_t len;
	if (o->type != PT_INTEGER && o->type != PT_FLOAT)
		return ERR_PARAMETER;
	int rc = particle_in(o, &v, &len);
	if (rc)
		return rc;
	struct bin *b = work_find(o->name, o->name_len);
	if (!b) {
		work_set(o->name, o->name_len, o->type, v, len);
		return AS_OK;
	}
	if (b->type != o->type)
		return ERR_INCOMPATIBLE_TYPE;
	uint8_t *sum = scratch_alloc(8);
	if (o->type == PT_INTEGER) {
		put64(sum, get64(b->val) + get64(v));
	} else {
		double a, c;
		uint64_t u = get64(b->val), w = get64(v);
		memcpy(&a, &u, 8);
		memcpy(&c, &w, 8);
		a += c;
		memcpy(&u, &a, 8);
		put64(sum, u);
	}
	b->val = sum;
	return AS_OK;
}

static int apply_concat(const struct op *o)
{
	if (o->type != PT_STRING && o->type != PT_BLOB)
		return ERR_PARAMETER;
	struct bin *b = work_find(o->name, o->name_len);
	if (!b) {
		work_set(o->name, o->name_len, o->type, o->val, o->len);
		return AS_OK;
	}
	if (b->type != o->type)
		return ERR_INCOMPATIBLE_TYPE;
	uint8_t *p = scratch_alloc((size_t)b->len + o->len);
	if (o->op == OP_APPEND) {
		memcpy(p, b->val, b->len);
		memcpy(p + b->len, o->val, o->len);
	} else {
		memcpy(p, o->val, o->len);
		memcpy(p + o->len, b->val, b->len);
	}
	b->val = p;
	b->len += o->len;
	return AS_OK;
}

/* Applies one op to the working bins, collecting read results. */
static int apply_op(const struct op *o, bool respond_all, bool get_all)
{
	const uint8_t *v;
	uint32_t len;
	int rc;
	switch (o->op) {
	case OP_WRITE:
		if (o->type == PT_NULL) {
			work_delete(o->name, o->name_len);
		} else {
			if ((rc = particle_in(o, &v, &len)) != AS_OK)
				return rc;
			work_set(o->name, o->name_len, o->type, v, len);
		}
		break;
	case OP_INCR:
		if ((rc = apply_incr(o)) != AS_OK)
			return rc;
		break;
	case OP_APPEND: case OP_PREPEND:
		if ((rc = apply_concat(o)) != AS_OK)
			return rc;
		break;
	case OP_TOUCH:
		return AS_OK;	/* the server answers no bin for a touch */
	case OP_DELETE_ALL:
		work.n = 0;
		break;
	case OP_READ:
		if (o->name_len == 0 && get_all) {	/* op_is_read_all() */
			for (size_t i = 0; i < work.n; i++)
				resp_bin(&work.b[i]);
			return AS_OK;
		} else {
			const struct bin *b = work_find(o->name, o->name_len);
			if (b)
				resp_bin(b);
			else if (respond_all)
				resp_null(o->name, o->name_len);
			return AS_OK;
		}
	case OP_CDT_READ: case OP_CDT_MODIFY: case OP_EXP_READ:
	case OP_EXP_MODIFY: case OP_BITS_READ: case OP_BITS_MODIFY:
	case OP_HLL_READ: case OP_HLL_MODIFY:
		return ERR_UNSUPPORTED_FEATURE;
	default:
		return ERR_PARAMETER;
	}
	if (respond_all)
		resp_null(o->name, o->name_len);
	return AS_OK;
}

/* The record's stored size, estimated like the server's flat format:
 * a fixed header, the set name and key, and per bin its name, a type
 * byte, a length and the value. */
static uint64_t record_size(const struct record *r, uint32_t key_len)
{
	uint64_t sz = 36 + key_len;
	if (r->set >= 0)
		sz += strlen(set_names[r->set]) + 1;
	for (size_t i = 0; i < work.n; i++)
		sz += 1 + work.b[i].name_len + 1 + 4 + work.b[i].len;
	return sz;
}

static void commit_bins(struct record *r)
{
	struct bin *nb = work.n ? xmalloc(work.n * sizeof *nb) : NULL;
	for (size_t i = 0; i < work.n; i++) {
		nb[i] = work.b[i];
		uint8_t *copy = xmalloc(work.b[i].len ? work.b[i].len : 1);
		memcpy(copy, work.b[i].val, work.b[i].len);
		nb[i].val = copy;
	}
	free_bins(r->bins, r->n_bins);
	r->bins = nb;
	r->n_bins = (uint16_t)work.n;
}

static uint16_t next_gen(uint16_t gen)
{
	return gen == 0xFFFF ? 1 : (uint16_t)(gen + 1);
}

static uint32_t new_void_time(uint32_t ttl, uint32_t old)
{
	switch (ttl) {
	case TTL_USE_DEFAULT:
		return cfg.default_ttl ? now_cl() + cfg.default_ttl : 0;
	case TTL_NEVER_EXPIRE:
		return 0;
	case TTL_DONT_UPDATE:
		return old;
	default:
		return now_cl() + ttl;
	}
}

static bool ttl_disallowed(uint32_t ttl)
{
	return ((int32_t)ttl > 0 || (ttl == TTL_USE_DEFAULT &&
	    cfg.default_ttl != 0)) && cfg.nsup_period == 0;
}

static bool generation_ok(const struct req *q, uint16_t gen)
{
	if (q->info2 & INFO2_GENERATION)
		return q->gen == gen;
	if (q->info2 & INFO2_GENERATION_GT)
		return q->gen > gen;
	return true;
}

/* The set in the message must match the record's (set_name_check). */
static bool set_matches(const struct req *q, const struct record *r)
{
	if (!q->has_set || q->set_len == 0)
		return true;
	if (r->set < 0)
		return false;
	const char *s = set_names[r->set];
	return strlen(s) == q->set_len && memcmp(s, q->set, q->set_len) == 0;
}

/* On update, a record in a set needs the same set in the message. */
static bool set_matches_on_update(const struct req *q, const struct record *r)
{
	if (!q->has_set || q->set_len == 0)
		return r->set < 0;
	return set_matches(q, r);
}

static bool key_matches(const struct req *q, const struct record *r)
{
	return r->key_type == q->key[0] && r->key_len == q->key_len - 1 &&
	    memcmp(r->key, q->key + 1, r->key_len) == 0;
}

/* Checks the ops of a write like write_master_policies(). */
static int write_policies(const struct req *q, bool *must_not_create,
    bool *is_replace)
{
	if (q->n_ops == 0)
		return ERR_PARAMETER;
	bool respond_all = q->info2 & INFO2_RESPOND_ALL_OPS;
	*must_not_create = q->info3 & (INFO3_UPDATE_ONLY | INFO3_REPLACE_ONLY);
	*is_replace = q->info3 & (INFO3_CREATE_OR_REPLACE | INFO3_REPLACE_ONLY);
	bool has_read = false, has_read_all = false, response_bin = false;
	const uint8_t *p = q->ops;
	struct op o;
	for (uint16_t i = 0; i < q->n_ops; i++) {
		op_next(&p, q->ops_end, &o);
		if (o.op == OP_TOUCH) {
			if (*is_replace)
				return ERR_PARAMETER;
			*must_not_create = true;
			continue;
		}
		if (!bin_name_ok(o.name, o.name_len))
			return ERR_BIN_NAME;
		switch (o.op) {
		case OP_WRITE:
			if (o.type == PT_NULL && *is_replace)
				return ERR_PARAMETER;
			break;
		case OP_INCR: case OP_APPEND: case OP_PREPEND:
		case OP_DELETE_ALL: case OP_BITS_MODIFY:
			if (*is_replace)
				return ERR_PARAMETER;
			break;
		case OP_HLL_MODIFY: case OP_CDT_MODIFY:
			if (*is_replace)
				return ERR_PARAMETER;
			response_bin = true;
			break;
		case OP_READ:
			if (o.name_len == 0 && (q->info1 & INFO1_GET_ALL)) {
				if (respond_all || has_read_all)
					return ERR_PARAMETER;
				has_read = has_read_all = true;
			} else {
				has_read = response_bin = true;
			}
			break;
		case OP_BITS_READ: case OP_HLL_READ: case OP_CDT_READ:
		case OP_EXP_READ:
			has_read = response_bin = true;
			break;
		default:
			break;
		}
	}
	if (has_read && !(q->info1 & INFO1_READ))
		return ERR_PARAMETER;
	if (has_read_all && response_bin)
		return ERR_PARAMETER;
	if ((q->info1 & INFO1_GET_ALL) && !has_read_all)
		return ERR_PARAMETER;
	return AS_OK;
}

/* Ends a write that fails after its ops ran: their results are dropped,
 * the reply carries the existing record's metadata (r live, or NULL). */
static int write_fail(const struct req *q, int rc, const struct record *r)
{
	resp_ops.len = 0;
	n_resp_ops = 0;
	result_rec(q, rc, r);
	return rc;
}

/* Stores the working bins as the record's (creating it, or deleting it if
 * no bin is left) and answers the write. */
static int write_commit(const struct req *q, struct record **pp, bool live,
    uint32_t ttl)
{
	struct record *r = *pp;
	bool created = !live;

	if (work.n == 0) {
		/* A write that leaves no bins deletes the record; if there was
		 * no record, the server answers "not found". */
		if (!live)
			return write_fail(q, ERR_NOT_FOUND, NULL);
		if (q->info2 & INFO2_DURABLE_DELETE)
			return write_fail(q, ERR_ENTERPRISE_ONLY, r);
		store_remove(pp);
		result_out(q, AS_OK, 0, 0);
		return AS_OK;
	}

	struct record tmp = { .set = -1 };
	int set = -1;
	if (created && q->has_set && q->set_len > 0) {
		set = set_intern(q->set, q->set_len);
		if (set < 0)	/* the namespace's 1023 sets are taken */
			return write_fail(q, ERR_FORBIDDEN, NULL);
	}
	tmp.set = created ? set : r->set;
	uint32_t key_len = live && r->key ? r->key_len :
	    q->has_key ? q->key_len : 0;
	if (record_size(&tmp, key_len) > cfg.max_record_size)
		return write_fail(q, ERR_RECORD_TOO_BIG, live ? r : NULL);

	if (!r) {
		r = xcalloc(1, sizeof *r);
		memcpy(r->digest, q->digest, 20);
		r->ns = (uint16_t)q->ns;
		r->next = NULL;
		*pp = r;
		if (++n_records > slot_mask)
			store_grow();
	}
	if (created) {
		/* A fresh record, or an expired one brought back. */
		free_bins(r->bins, r->n_bins);
		r->bins = NULL;
		r->n_bins = 0;
		free(r->key);
		r->key = NULL;
		r->gen = 0;
		r->void_time = 0;
		r->set = set;
	}
	if (!r->key && q->has_key && q->key_len >= 1) {
		r->key_type = q->key[0];
		r->key_len = q->key_len - 1;
		r->key = xmalloc(r->key_len ? r->key_len : 1);
		memcpy(r->key, q->key + 1, r->key_len);
	}
	commit_bins(r);
	r->gen = next_gen(r->gen);
	r->void_time = new_void_time(ttl, r->void_time);
	r->lut = now_ms();
	result_out(q, AS_OK, r->gen, r->void_time);
	return AS_OK;
}

static int do_write(const struct req *q)
{
	bool must_not_create, is_replace;
	int rc = write_policies(q, &must_not_create, &is_replace);
	if (rc) {
		result_out(q, rc, 0, 0);
		return rc;
	}
	struct record **pp = store_find(q->ns, q->digest);
	struct record *r = *pp;
	bool live = r && record_live(r);
	if (must_not_create && !live) {
		result_out(q, ERR_NOT_FOUND, 0, 0);
		return ERR_NOT_FOUND;
	}
	bool created = !live;
	/* Checks against the existing record, in write_master()'s order. */
	if ((q->info2 & INFO2_CREATE_ONLY) && live)
		rc = ERR_RECORD_EXISTS;
	else if (!generation_ok(q, live ? r->gen : 0))
		rc = ERR_GENERATION;
	else if (created && q->has_set && q->set_len > SET_NAME_MAX)
		rc = ERR_PARAMETER;
	else if (live && !set_matches_on_update(q, r))
		rc = ERR_PARAMETER;
	else if (live && q->has_filter)
		rc = filter_record(q->filter, q->filter_len, r);
	if (!rc && live && r->key && q->has_key && !key_matches(q, r))
		rc = ERR_KEY_MISMATCH;
	else if (!rc && !(live && r->key) && q->has_key && (q->key_len == 0 ||
	    (q->key[0] == PT_INTEGER && q->key_len != 9)))
		rc = ERR_UNSUPPORTED_FEATURE;	/* get_msg_key() refuses it */
	if (rc) {
		result_rec(q, rc, live ? r : NULL);
		return rc;
	}
	uint32_t ttl = q->ttl;
	if (ttl == TTL_DONT_UPDATE && created)
		ttl = TTL_USE_DEFAULT;
	if (!(ttl <= MAX_ALLOWED_TTL || ttl == TTL_NEVER_EXPIRE ||
	    ttl == TTL_DONT_UPDATE))
		rc = ERR_PARAMETER;
	else if (ttl_disallowed(ttl))
		rc = ERR_FORBIDDEN;
	if (rc) {
		result_rec(q, rc, live ? r : NULL);
		return rc;
	}

	/* Apply the ops to a working copy of the bins. */
	work.n = 0;
	if (live && !is_replace) {
		work.b = xgrow(work.b, &work.cap, r->n_bins, sizeof *work.b);
		memcpy(work.b, r->bins, r->n_bins * sizeof *work.b);
		work.n = r->n_bins;
	}
	bool respond_all = q->info2 & INFO2_RESPOND_ALL_OPS;
	const uint8_t *p = q->ops;
	struct op o;
	for (uint16_t i = 0; i < q->n_ops; i++) {
		op_next(&p, q->ops_end, &o);
		if ((rc = apply_op(&o, respond_all,
		    q->info1 & INFO1_GET_ALL)) != AS_OK)
			return write_fail(q, rc, live ? r : NULL);
	}
	return write_commit(q, pp, live, ttl);
}


static int do_delete(const struct req *q)
{
	struct record **pp = store_find(q->ns, q->digest);
	struct record *r = *pp;
	int rc = AS_OK;
	if (q->info2 & INFO2_DURABLE_DELETE)
		rc = ERR_ENTERPRISE_ONLY;	/* community edition */
	else if (!r || !record_live(r))
		rc = ERR_NOT_FOUND;
	else if (!set_matches(q, r))
		rc = ERR_PARAMETER;
	else if (!generation_ok(q, r->gen))
		rc = ERR_GENERATION;
	else if (q->has_filter)
		rc = filter_record(q->filter, q->filter_len, r);
	if (!rc && r->key && q->has_key && !key_matches(q, r))
		rc = ERR_KEY_MISMATCH;
	if (rc) {
		result_rec(q, rc, rc == ERR_NOT_FOUND ? NULL : r);
		return rc;
	}
	store_remove(pp);
	result_out(q, AS_OK, 0, 0);
	return AS_OK;
}

static int do_read(const struct req *q)
{
	struct record *r = *store_find(q->ns, q->digest);
	int rc = AS_OK;
	if (!r || !record_live(r))
		rc = ERR_NOT_FOUND;
	else if (!set_matches(q, r))
		rc = ERR_PARAMETER;
	else if (q->has_filter)
		rc = filter_record(q->filter, q->filter_len, r);
	if (rc) {
		result_rec(q, rc, rc == ERR_NOT_FOUND ? NULL : r);
		return rc;
	}
	if (q->info1 & INFO1_GET_NO_BINS) {
		result_out(q, AS_OK, r->gen, r->void_time);
		return AS_OK;
	}
	if (q->info1 & INFO1_GET_ALL) {
		for (uint16_t i = 0; i < r->n_bins; i++)
			resp_bin(&r->bins[i]);
		result_out(q, AS_OK, r->gen, r->void_time);
		return AS_OK;
	}
	if (q->n_ops == 0) {
		result_out(q, ERR_PARAMETER, r->gen, r->void_time);
		return ERR_PARAMETER;
	}
	bool respond_all = q->info2 & INFO2_RESPOND_ALL_OPS;
	const uint8_t *p = q->ops;
	struct op o;
	for (uint16_t i = 0; i < q->n_ops; i++) {
		op_next(&p, q->ops_end, &o);
		if (!bin_name_ok(o.name, o.name_len))
			rc = ERR_BIN_NAME;
		else if (o.op != OP_READ)
			rc = o.op == OP_CDT_READ || o.op == OP_EXP_READ ||
			    o.op == OP_BITS_READ || o.op == OP_HLL_READ ?
			    ERR_UNSUPPORTED_FEATURE : ERR_PARAMETER;
		if (rc) {
			resp_ops.len = 0;
			n_resp_ops = 0;
			result_out(q, rc, r->gen, r->void_time);
			return rc;
		}
		const struct bin *b = bin_find(r->bins, r->n_bins, o.name,
		    o.name_len);
		if (b)
			resp_bin(b);
		else if (respond_all)
			resp_null(o.name, o.name_len);
	}
	result_out(q, AS_OK, r->gen, r->void_time);
	return AS_OK;
}

/* Runs one single-record transaction (or batch row); appends its as_msg. */
static int transact(struct req *q, int ns_status)
{
	int rc;
	if (ns_status) {
		result_out(q, ns_status, 0, 0);
		return ns_status;
	}
	if (q->has_mrt || q->unsupported) {
		/* Multi-record transactions, scans, queries and UDFs are not
		 * implemented by the fixture. */
		result_out(q, ERR_UNSUPPORTED_FEATURE, 0, 0);
		return ERR_UNSUPPORTED_FEATURE;
	}
	if (!compute_digest(q)) {
		result_out(q, ERR_PARAMETER, 0, 0);
		return ERR_PARAMETER;
	}
	/* A real server proxies a request for a partition it does not own;
	 * the fixture serves it from its own store and counts it, so a test
	 * can see a client routing by a wrong map. */
	if (!owns_partition(partition_of(q->digest)))
		stats.misrouted++;
	if (faults.fail_count > 0) {
		faults.fail_count--;
		stats.failed_by_fault++;
		result_out(q, faults.fail_code, 0, 0);
		return faults.fail_code;
	}
	if (q->info2 & INFO2_DELETE) {
		stats.deletes++;
		rc = do_delete(q);
	} else if (q->info2 & INFO2_WRITE) {
		stats.writes++;
		rc = do_write(q);
	} else {
		stats.reads++;
		rc = do_read(q);
	}
	scratch_reset();
	return rc;
}

/* Parses a batch row that is not a repeat (after index, digest and flags)
 * as as_batch_queue_task() does; advances *pp past it.  False if the row
 * is truncated or names an unknown namespace: the batch ends there. */
static bool batch_row_parse(const uint8_t **pp, const uint8_t *end,
    uint8_t rflags, struct req *q)
{
	const uint8_t *p = *pp;
	memset(q, 0, sizeof *q);
	size_t meta = 1 + ((rflags & BATCH_HAS_EXTRA_INFO) ? 2 : 0) +
	    ((rflags & BATCH_HAS_INFO4) ? 1 : 0) +
	    ((rflags & BATCH_HAS_GENERATION) ? 2 : 0) +
	    ((rflags & BATCH_HAS_RECORD_TTL) ? 4 : 0) + 4;
	if ((size_t)(end - p) < meta)
		return false;
	q->info1 = *p++ & (uint8_t)~(INFO1_COMPRESS_RESPONSE | INFO1_XDR);
	if (rflags & BATCH_HAS_EXTRA_INFO) {
		q->info2 = *p++;
		q->info3 = *p++;
	}
	if (rflags & BATCH_HAS_INFO4)
		q->info4 = *p++;
	if (rflags & BATCH_HAS_GENERATION) {
		q->gen = get16(p);
		p += 2;
	}
	if (rflags & BATCH_HAS_RECORD_TTL) {
		q->ttl = get32(p);
		p += 4;
	}
	uint16_t n_fields = get16(p), n_ops = get16(p + 2);
	p += 4;
	if (n_fields == 0)
		n_fields = 1;	/* older clients sent 0 with a namespace */
	/* The first field is the namespace, whatever its type. */
	if (end - p < FIELD_HEADER_SZ)
		return false;
	uint32_t nsz = get32(p);
	if (nsz < 1 || (uint64_t)(end - p) - 4 < nsz)
		return false;
	int ns = ns_index(p + FIELD_HEADER_SZ, nsz - 1);
	if (ns < 0)
		return false;
	/* Find where this row's fields and ops end. */
	const uint8_t *scan = p;
	for (uint16_t i = 0; i < n_fields; i++) {
		if (end - scan < FIELD_HEADER_SZ)
			return false;
		uint32_t sz = get32(scan);
		if (sz < 1 || (uint64_t)(end - scan) - 4 < sz)
			return false;
		scan += 4 + sz;
	}
	struct op o;
	for (uint16_t i = 0; i < n_ops; i++)
		if (!op_next(&scan, end, &o))
			return false;
	int ns_status;
	if (!parse_fields(q, p, scan, n_fields, n_ops, &ns_status))
		return false;
	q->ns = ns;
	*pp = scan;
	return true;
}

/* The size of the as_msg at p (at most len bytes, all of them written by
 * the fixture). */
static size_t msg_size(const uint8_t *p, size_t len)
{
	size_t at = MSG_HEADER_SZ;
	uint32_t n = (uint32_t)get16(p + 18) + get16(p + 20);
	for (uint32_t i = 0; i < n && at + 4 <= len; i++)
		at += 4 + get32(p + at);
	return at;
}

/* Turns the as_msgs of len bytes at p around, last first: the order in
 * which a server may answer the rows of a batch that its transaction
 * threads run (rows of a namespace on a device; batch.c queues them with
 * as_service_enqueue_internal() unless allowed inline), so that a client
 * must match each answer to its row by the batch index. */
static void msgs_reverse(uint8_t *p, size_t len)
{
	uint8_t *tmp = xmalloc(len ? len : 1);
	size_t out = len;
	for (size_t at = 0; at < len; ) {
		size_t n = msg_size(p + at, len - at);
		if (n > len - at)
			n = len - at;
		out -= n;
		memcpy(tmp + out, p + at, n);
		at += n;
	}
	memcpy(p, tmp, len);
	free(tmp);
}

/* Parses the batch-index field (41/42) like as_batch_queue_task() and runs
 * each row; appends one as_msg per row. Returns the trailer's code. */
static int do_batch(const struct req *parent)
{
	const uint8_t *p = parent->batch, *end = p + parent->batch_len;
	if (!p || end - p < 5)
		return -ERR_PARAMETER;
	uint32_t count = get32(p);
	uint8_t flags = p[4];
	p += 5;
	if (count == 0)
		return -ERR_PARAMETER;
	if (cfg.batch_max_requests && count > cfg.batch_max_requests)
		return -ERR_BATCH_MAX_REQUESTS;
	stats.batches++;
	bool report_all = flags & BATCH_REPORT_ALL_ERRORS;
	int trailer = AS_OK;
	struct req prev;
	bool have_prev = false;
	uint32_t row = 0;
	for (; row < count && end - p >= BATCH_ROW_FIXED_SZ; row++) {
		uint32_t index = get32(p);
		const uint8_t *digest = p + 4;
		uint8_t rflags = p[24];
		p += BATCH_ROW_FIXED_SZ;
		struct req q;
		if (rflags & BATCH_REPEAT) {
			/* Repeating the first row, or a row with a key, ends the
			 * batch as on the server ("batch must not repeat key"). */
			if (!have_prev || prev.has_key)
				break;
			q = prev;
		} else {
			if (!batch_row_parse(&p, end, rflags, &q))
				break;
			if (!q.has_filter && parent->has_filter) {
				q.has_filter = true;
				q.filter = parent->filter;
				q.filter_len = parent->filter_len;
			}
			q.txn_ttl = parent->txn_ttl;
			prev = q;
			have_prev = true;
		}
		memcpy(q.digest, digest, 20);
		q.has_digest = true;
		q.is_batch_row = true;
		q.batch_index = index;
		stats.batch_rows++;
		int rc = transact(&q, AS_OK);
		if (!report_all && rc != AS_OK && rc != ERR_NOT_FOUND &&
		    rc != ERR_FILTERED_OUT)
			trailer = rc;
	}
	/* Rows missing or malformed: the server fails the rest with 4. */
	if (row < count) {
		if (!have_prev || row == 0)
			return -ERR_PARAMETER;
		trailer = ERR_PARAMETER;
	}
	return trailer;
}

/* ---- info ---- */

static char node_name[32];

/* A fixture's node name follows from its port (the fixtures of a test
 * cluster know each other's ports). */
static void node_name_of(int port, char *out, size_t n)
{
	snprintf(out, n, "BB9%04X7F000001", (unsigned)port);
}

static void info_peers(struct bytes *b)
{
	bytes_printf(b, "%u,%d,[", peers_generation, cfg.port);
	for (int i = 0; !cfg.solo && i < cfg.n_peers; i++) {
		char name[32];
		node_name_of(cfg.peer_ports[i], name, sizeof name);
		bytes_printf(b, "%s[%s,,[%s:%d]]", i ? "," : "", name, cfg.host,
		    cfg.peer_ports[i]);
	}
	bytes_puts(b, "]");
}

/* The base64 bitmap of the partitions this node is master of (bit p is
 * byte p/8, most significant bit first). */
static void b64_partitions(struct bytes *b)
{
	uint8_t bitmap[N_PARTITIONS / 8];
	memset(bitmap, 0, sizeof bitmap);
	for (unsigned p = 0; p < N_PARTITIONS; p++)
		if (owns_partition(p))
			bitmap[p >> 3] |= (uint8_t)(0x80 >> (p & 7));
	char out[BASE64_ENCODE_RAW_LENGTH(sizeof bitmap) + 1];
	base64_encode_raw(out, sizeof bitmap, bitmap);
	bytes_put(b, out, BASE64_ENCODE_RAW_LENGTH(sizeof bitmap));
}

static void info_replicas(struct bytes *b, int with_regime, bool with_count)
{
	for (int i = 0; i < cfg.n_ns; i++) {
		if (i)
			bytes_puts(b, ";");
		bytes_puts(b, cfg.ns[i]);
		bytes_puts(b, ":");
		if (with_regime)
			bytes_puts(b, "0,");
		if (with_count)
			bytes_puts(b, "1,");
		b64_partitions(b);
	}
}

static void info_namespace(struct bytes *b, const char *ns)
{
	int i = ns_index((const uint8_t *)ns, (uint32_t)strlen(ns));
	if (i < 0) {
		bytes_puts(b, "ERROR:20:namespace not found on node");
		return;
	}
	size_t objects = 0;
	for (size_t s = 0; s <= slot_mask; s++)
		for (struct record *r = slots[s]; r; r = r->next)
			if (r->ns == i && record_live(r))
				objects++;
	bytes_printf(b, "objects=%zu;replication-factor=1;nsup-period=%u;"
	    "default-ttl=%u;max-record-size=%u;storage-engine=memory",
	    objects, cfg.nsup_period, cfg.default_ttl, cfg.max_record_size);
}

static bool restart_requested;
static uint32_t restart_down_ms;
static bool restart_wipe;

static void session_rotate(void);

/* Reads "k=v;k=v" parameters of a fixture command into the fault state. */
static bool fixture_set(const char *params, struct bytes *b)
{
	char *copy = xstrdup(params), *next;
	bool ok = true;
	for (char *kv = copy; kv && *kv; kv = next) {
		next = strchr(kv, ';');
		if (next)
			*next++ = 0;
		char *eq = strchr(kv, '=');
		if (!eq) { ok = false; break; }
		*eq = 0;
		char *endp;
		errno = 0;
		unsigned long long v = strtoull(eq + 1, &endp, 10);
		if (errno || *endp || endp == eq + 1) { ok = false; break; }
		if (strcmp(kv, "close-after") == 0)
			faults.close_after = v;
		else if (strcmp(kv, "close-every") == 0)
			faults.close_every = v;
		else if (strcmp(kv, "fail-code") == 0 && v <= 255)
			faults.fail_code = (int)v;
		else if (strcmp(kv, "fail-count") == 0)
			faults.fail_count = v;
		else if (strcmp(kv, "delay-ms") == 0 && v <= 600000)
			faults.delay_ms = (uint32_t)v;
		else if (strcmp(kv, "batch-reverse") == 0 && v <= 1)
			faults.batch_reverse = v == 1;
		else if (strcmp(kv, "nsup-period") == 0 && v <= UINT32_MAX)
			cfg.nsup_period = (uint32_t)v;
		else if (strcmp(kv, "default-ttl") == 0 && v <= MAX_ALLOWED_TTL)
			cfg.default_ttl = (uint32_t)v;
		else if (strcmp(kv, "max-record-size") == 0 && v <= UINT32_MAX)
			cfg.max_record_size = (uint32_t)v;
		else if (strcmp(kv, "batch-max-requests") == 0 && v <= UINT32_MAX)
			cfg.batch_max_requests = (uint32_t)v;
		else if (strcmp(kv, "expire-sessions") == 0 && v == 1)
			session_rotate();
		else if (strcmp(kv, "solo") == 0 && v <= 1) {
			/* The rest of the cluster is gone: this node takes
			 * every partition, as after a rebalance. */
			if (cfg.solo != (v == 1)) {
				cfg.solo = v == 1;
				partition_generation++;
				peers_generation++;
			}
		}
		else { ok = false; break; }
	}
	free(copy);
	bytes_puts(b, ok ? "ok" : "ERROR:4:bad parameter");
	return ok;
}

/* Answers one info command (name and optional ":params") into b. */
static void info_one(const char *cmd, struct bytes *b)
{
	char name[128];
	const char *params = "";
	const char *colon = strchr(cmd, ':');
	const char *slash = strchr(cmd, '/');
	size_t n = strlen(cmd);
	if (colon && (!slash || colon < slash)) {
		n = (size_t)(colon - cmd);
		params = colon + 1;
	}
	if (slash && (!colon || slash < colon))
		n = (size_t)(slash - cmd);
	if (n >= sizeof name)
		n = sizeof name - 1;
	memcpy(name, cmd, n);
	name[n] = 0;

	if (strcmp(name, "node") == 0)
		bytes_puts(b, node_name);
	else if (strcmp(name, "features") == 0)
		bytes_puts(b, "batch-any;batch-index;blob-bits;cdt-index;cdt-list;"
		    "cdt-map;cluster-stable;float;geo;sindex-exists;peers;"
		    "pipelining;pquery;pscans;query-show;relaxed-sc;replicas;"
		    "replicas-all;replicas-master;replicas-max;"
		    "truncate-namespace;udf");
	else if (strcmp(name, "build") == 0)
		bytes_puts(b, BUILD_ID);
	else if (strcmp(name, "version") == 0)
		bytes_puts(b, "Aerospike Community Edition build " BUILD_ID);
	else if (strcmp(name, "edition") == 0)
		bytes_puts(b, "Aerospike Community Edition");
	else if (strcmp(name, "partition-generation") == 0)
		bytes_printf(b, "%u", partition_generation);
	else if (strcmp(name, "peers-generation") == 0)
		bytes_printf(b, "%u", peers_generation);
	else if (strcmp(name, "rebalance-generation") == 0)
		bytes_printf(b, "%u", partition_generation);
	else if (strcmp(name, "cluster-name") == 0)
		bytes_puts(b, cfg.cluster_name ? cfg.cluster_name : "null");
	else if (strcmp(name, "namespaces") == 0) {
		for (int i = 0; i < cfg.n_ns; i++) {
			if (i)
				bytes_puts(b, ";");
			bytes_puts(b, cfg.ns[i]);
		}
	} else if (strcmp(name, "partitions") == 0)
		bytes_printf(b, "%d", N_PARTITIONS);
	else if (strcmp(name, "replicas") == 0)
		info_replicas(b, 1, true);
	else if (strcmp(name, "replicas-all") == 0)
		info_replicas(b, 0, true);
	else if (strcmp(name, "replicas-master") == 0)
		info_replicas(b, 0, false);
	else if (strcmp(name, "rack-ids") == 0) {
		for (int i = 0; i < cfg.n_ns; i++)
			bytes_printf(b, "%s%s:0", i ? ";" : "", cfg.ns[i]);
	} else if (strcmp(name, "peers-clear-std") == 0 ||
	    strcmp(name, "peers-clear-alt") == 0)
		info_peers(b);
	else if (strcmp(name, "peers-tls-std") == 0 ||
	    strcmp(name, "peers-tls-alt") == 0)
		bytes_printf(b, "%u,,[]", peers_generation);
	else if (strcmp(name, "service-clear-std") == 0 ||
	    strcmp(name, "service-clear-alt") == 0 ||
	    strcmp(name, "service") == 0)
		bytes_printf(b, "%s:%d", cfg.host, cfg.port);
	else if (strcmp(name, "services") == 0 ||
	    strcmp(name, "services-alumni") == 0 ||
	    strcmp(name, "service-tls-std") == 0 ||
	    strcmp(name, "service-tls-alt") == 0)
		;
	else if (strcmp(name, "cluster-stable") == 0)
		bytes_puts(b, "0000000000000001");
	else if (strcmp(name, "user-agent-set") == 0)
		bytes_puts(b, "ok");
	else if (strcmp(name, "namespace") == 0 && slash)
		info_namespace(b, slash + 1);
	else if (strcmp(name, "fixture-set") == 0)
		fixture_set(params, b);
	else if (strcmp(name, "fixture-reset") == 0) {
		memset(&faults, 0, sizeof faults);
		bytes_puts(b, "ok");
	} else if (strcmp(name, "fixture-truncate") == 0) {
		store_clear();
		bytes_puts(b, "ok");
	} else if (strcmp(name, "fixture-stats") == 0) {
		bytes_printf(b, "records=%zu;requests=%" PRIu64 ";info=%" PRIu64
		    ";reads=%" PRIu64 ";writes=%" PRIu64 ";deletes=%" PRIu64
		    ";batches=%" PRIu64 ";batch-rows=%" PRIu64
		    ";connections=%" PRIu64 ";closed-by-fault=%" PRIu64
		    ";failed-by-fault=%" PRIu64 ";misrouted=%" PRIu64, n_records,
		    stats.requests, stats.info, stats.reads, stats.writes,
		    stats.deletes, stats.batches, stats.batch_rows,
		    stats.connections, stats.closed_by_fault,
		    stats.failed_by_fault, stats.misrouted);
	} else if (strcmp(name, "fixture-restart") == 0) {
		restart_requested = true;
		restart_down_ms = 200;
		restart_wipe = false;
		const char *d = strstr(params, "down-ms=");
		if (d)
			restart_down_ms = (uint32_t)strtoul(d + 8, NULL, 10);
		if (strstr(params, "wipe=1"))
			restart_wipe = true;
		bytes_puts(b, "ok");
	} else
		bytes_puts(b, "ERROR:4:unrecognized command");
}

/* Builds the reply to an info request body: "cmd\tvalue\n" per command;
 * an empty request gets the summary the server gives. */
static void info_reply(const uint8_t *body, size_t len, struct bytes *b)
{
	stats.info++;
	if (len == 0) {
		static const char *summary[] = { "features", "node", "edition",
		    "build", "version" };
		for (size_t i = 0; i < sizeof summary / sizeof *summary; i++) {
			bytes_puts(b, summary[i]);
			bytes_puts(b, "\t");
			info_one(summary[i], b);
			bytes_puts(b, "\n");
		}
		return;
	}
	const uint8_t *at = body, *end = body + len;
	while (at < end) {
		const uint8_t *nl = memchr(at, '\n', (size_t)(end - at));
		if (!nl)
			break;	/* the server ignores text after the last newline */
		char *cmd = xstrndup((const char *)at, (size_t)(nl - at));
		bytes_put(b, at, (size_t)(nl - at));
		bytes_puts(b, "\t");
		info_one(cmd, b);
		bytes_puts(b, "\n");
		free(cmd);
		at = nl + 1;
	}
}

/* ---- security (opt-in: --user and --password) ----
 *
 * Without --user the fixture is a community-edition server: security
 * messages are answered 51 (not supported).  With --user NAME --password
 * PW it behaves as an enterprise server with security enabled, as the
 * clients (the C client's as_admin.c) see one: a connection must LOGIN
 * (command 20: user and the bcrypt credential of the password, salt
 * $2a$10$7EqJtq98hPqEX7fNZaFWoO) or AUTHENTICATE (command 0: user and a
 * session token from a login) before anything else; LOGIN answers a
 * session token and its TTL.  The enterprise server's source is not
 * public, so the failure codes are those the clients document: unknown
 * user 60, wrong password 62, unknown session token 65, expired session
 * 66, a request before authentication 80 (info: "ERROR:80:...").
 */

enum {
	ADMIN_AUTHENTICATE = 0,
	ADMIN_LOGIN = 20,
	ADMIN_FIELD_USER = 0,
	ADMIN_FIELD_CREDENTIAL = 3,
	ADMIN_FIELD_SESSION_TOKEN = 5,
	ADMIN_FIELD_SESSION_TTL = 6,
	ADMIN_HEADER_SZ = 16,
	SEC_ERR_USER = 60,
	SEC_ERR_PASSWORD = 62,
	SEC_ERR_CREDENTIAL = 65,
	SEC_ERR_EXPIRED_SESSION = 66,
	SEC_ERR_NOT_AUTHENTICATED = 80
};

#define BCRYPT_SALT "$2a$10$7EqJtq98hPqEX7fNZaFWoO"

static char *credential;	/* bcrypt of --password */
static char session_token[33];
static unsigned session_serial;

/* Hashes a password the way the clients do; NULL if crypt fails. */
static char *bcrypt_credential(const char *password)
{
	struct crypt_data cd;
	memset(&cd, 0, sizeof cd);
	const char *h = crypt_r(password, BCRYPT_SALT, &cd);
	if (h == NULL || h[0] == '*')
		return NULL;
	return xstrdup(h);
}

/* A new session token; the ones given before stop working (expired). */
static void session_rotate(void)
{
	snprintf(session_token, sizeof session_token, "%08x%08x%08x%08x",
	    (unsigned)getpid(), ++session_serial, (unsigned)now_ms(),
	    (unsigned)(mono_ms() * 2654435761u));
}

struct admin_fields {
	const uint8_t *user, *cred, *token;
	uint32_t user_len, cred_len, token_len;
};

static bool admin_parse(const uint8_t *body, size_t len, uint8_t *command,
    struct admin_fields *f)
{
	memset(f, 0, sizeof *f);
	if (len < ADMIN_HEADER_SZ)
		return false;
	*command = body[2];
	unsigned n = body[3];
	const uint8_t *p = body + ADMIN_HEADER_SZ, *end = body + len;
	for (unsigned i = 0; i < n; i++) {
		if (end - p < 5)
			return false;
		uint32_t sz = get32(p);
		if (sz < 1 || (uint64_t)(end - p) - 4 < sz)
			return false;
		const uint8_t *d = p + 5;
		uint32_t dl = sz - 1;
		switch (p[4]) {
		case ADMIN_FIELD_USER: f->user = d; f->user_len = dl; break;
		case ADMIN_FIELD_CREDENTIAL: f->cred = d; f->cred_len = dl; break;
		case ADMIN_FIELD_SESSION_TOKEN: f->token = d; f->token_len = dl; break;
		default: break;
		}
		p += 4 + sz;
	}
	return true;
}

static bool bytes_is(const uint8_t *p, uint32_t len, const char *s)
{
	return p && strlen(s) == len && memcmp(p, s, len) == 0;
}

/* Answers one security message; sets *authed on success. */
static void admin_reply(const uint8_t *body, size_t len, bool *authed,
    struct bytes *b)
{
	b->len = 0;
	uint8_t *h = bytes_add(b, PROTO_HEADER_SZ + ADMIN_HEADER_SZ);
	memset(h, 0, PROTO_HEADER_SZ + ADMIN_HEADER_SZ);
	uint8_t *ah = h + PROTO_HEADER_SZ;
	uint8_t command = 0;
	struct admin_fields f;
	int rc;
	if (!cfg.user)
		rc = SEC_ERR_NOT_SUPPORTED;	/* community edition */
	else if (!admin_parse(body, len, &command, &f))
		rc = 55;			/* can't parse field */
	else if (command == ADMIN_LOGIN) {
		if (!bytes_is(f.user, f.user_len, cfg.user))
			rc = SEC_ERR_USER;
		else if (!bytes_is(f.cred, f.cred_len, credential))
			rc = SEC_ERR_PASSWORD;
		else
			rc = AS_OK;
	} else if (command == ADMIN_AUTHENTICATE) {
		if (!bytes_is(f.user, f.user_len, cfg.user))
			rc = SEC_ERR_USER;
		else if (!f.token)
			rc = SEC_ERR_CREDENTIAL;
		else if (!bytes_is(f.token, f.token_len, session_token))
			rc = SEC_ERR_EXPIRED_SESSION;
		else
			rc = AS_OK;
	} else
		rc = SEC_ERR_NOT_SUPPORTED;	/* user administration */
	ah[1] = (uint8_t)rc;
	ah[2] = command;
	if (rc == AS_OK) {
		*authed = true;
		if (command == ADMIN_LOGIN) {
			ah[3] = 2;
			size_t tl = strlen(session_token);
			uint8_t *fh = bytes_add(b, 5);
			put32(fh, (uint32_t)tl + 1);
			fh[4] = ADMIN_FIELD_SESSION_TOKEN;
			bytes_put(b, session_token, tl);
			fh = bytes_add(b, 9);
			put32(fh, 5);
			fh[4] = ADMIN_FIELD_SESSION_TTL;
			put32(fh + 5, cfg.session_ttl);
		}
	}
	proto_header(b->p, PROTO_TYPE_SECURITY, b->len - PROTO_HEADER_SZ);
}

/* The reply to an info request on a connection not yet authenticated. */
static void info_unauthenticated(const uint8_t *body, size_t len,
    struct bytes *b)
{
	const uint8_t *at = body, *end = body + len;
	while (at < end) {
		const uint8_t *nl = memchr(at, '\n', (size_t)(end - at));
		if (!nl)
			break;
		bytes_put(b, at, (size_t)(nl - at));
		bytes_puts(b, "\tERROR:80:not authenticated\n");
		at = nl + 1;
	}
}

/* ---- connections ---- */

struct pending {
	struct pending *next;
	uint64_t due;
	size_t len;
	uint8_t data[];
};

struct conn {
	int fd;
	struct conn *prev, *next;
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	struct pending *pend_head, *pend_tail;
	bool want_write;
	bool dead;
	bool authed;	/* logged in, when security is enabled */
};

static int epfd = -1;
static size_t n_pending;	/* delayed replies held, over all connections */
static size_t n_dead;		/* connections marked for closing */
static int listen_fd = -1;
static struct conn *conns;
static uint64_t reopen_at;	/* monotonic ms when a restart ends */

static void conn_close(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	while (c->pend_head) {
		struct pending *p = c->pend_head;
		c->pend_head = p->next;
		free(p);
		n_pending--;
	}
	free(c->in);
	free(c->out);
	free(c);
}

static void conn_kill(struct conn *c)
{
	if (!c->dead) {
		c->dead = true;
		n_dead++;
	}
}

static void conn_queue(struct conn *c, const uint8_t *p, size_t n)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		if (c->out_len + n > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 16384;
			while (cap < c->out_len + n)
				cap *= 2;
			c->out = xrealloc(c->out, cap);
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

/* Sends what is queued; false if the connection failed. */
static bool conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return false;
		}
		c->out_off += (size_t)w;
	}
	bool want = c->out_off < c->out_len;
	if (want != c->want_write) {
		struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0),
		    .data.ptr = c };
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_write = want;
	}
	return true;
}

/* Hands a complete reply (proto header included) to the connection, now
 * or after the configured delay; replies keep their order. */
static void conn_reply(struct conn *c, const uint8_t *p, size_t n,
    bool data_path)
{
	if ((data_path && faults.delay_ms > 0) || c->pend_head) {
		struct pending *pd = xmalloc(sizeof *pd + n);
		pd->next = NULL;
		pd->due = mono_ms() + (data_path ? faults.delay_ms : 0);
		pd->len = n;
		memcpy(pd->data, p, n);
		if (c->pend_tail)
			c->pend_tail->next = pd;
		else
			c->pend_head = pd;
		c->pend_tail = pd;
		n_pending++;
		return;
	}
	conn_queue(c, p, n);
}

/* Handles one AS_MSG body (already decompressed). */
static void handle_msg(struct conn *c, const uint8_t *body, size_t len)
{
	reply.len = 0;
	bytes_add(&reply, PROTO_HEADER_SZ);
	struct req q;
	memset(&q, 0, sizeof q);
	if (len < MSG_HEADER_SZ) {
		/* as_transaction_prepare() fails: a parameter error. */
		result_out(&q, ERR_PARAMETER, 0, 0);
		goto send;
	}
	q.info1 = body[1];
	q.info2 = body[2];
	q.info3 = body[3];
	q.info4 = body[4];
	q.gen = get32(body + 6);
	q.ttl = get32(body + 10);
	q.txn_ttl = get32(body + 14);
	uint16_t n_fields = get16(body + 18), n_ops = get16(body + 20);
	/* Fields start right after the 22-byte header: the server does not
	 * read header_sz. */
	const uint8_t *p = body + MSG_HEADER_SZ, *end = body + len;
	int ns_status;
	if (q.info1 & INFO1_BATCH) {
		bool ok = parse_fields(&q, p, end, n_fields, 0, &ns_status);
		int trailer = ok ? do_batch(&q) : -ERR_PARAMETER;
		scratch_reset();
		if (trailer < 0) {
			/* Failed before any row ran: one LAST message. */
			reply.len = PROTO_HEADER_SZ;
			msg_header(bytes_add(&reply, MSG_HEADER_SZ), -trailer, 0, 0,
			    0, 0, 0, INFO3_LAST);
			goto send;
		}
		/* The rows in one proto, then the trailer in its own. */
		size_t rows = reply.len - PROTO_HEADER_SZ;
		if (faults.batch_reverse)
			msgs_reverse(reply.p + PROTO_HEADER_SZ, rows);
		proto_header(reply.p, PROTO_TYPE_AS_MSG, rows);
		if (rows == 0)
			reply.len = 0;
		uint8_t *t = bytes_add(&reply, PROTO_HEADER_SZ + MSG_HEADER_SZ);
		proto_header(t, PROTO_TYPE_AS_MSG, MSG_HEADER_SZ);
		msg_header(t + PROTO_HEADER_SZ, trailer, 0, 0, 0, 0, 0, INFO3_LAST);
		conn_reply(c, reply.p, reply.len, true);
		return;
	}
	if (!parse_fields(&q, p, end, n_fields, n_ops, &ns_status)) {
		result_out(&q, ERR_PARAMETER, 0, 0);
		goto send;
	}
	transact(&q, ns_status);
send:
	proto_header(reply.p, PROTO_TYPE_AS_MSG, reply.len - PROTO_HEADER_SZ);
	conn_reply(c, reply.p, reply.len, true);
}

static bool decompress(const uint8_t *body, size_t len, uint8_t **out,
    size_t *out_len)
{
	if (len < 8)
		return false;
	uint64_t orig = get64(body);
	if (orig < PROTO_HEADER_SZ + MSG_HEADER_SZ || orig > PROTO_SIZE_MAX)
		return false;
	uint8_t *buf = xmalloc(orig);
	uLongf dlen = (uLongf)orig;
	if (uncompress(buf, &dlen, body + 8, (uLong)(len - 8)) != Z_OK ||
	    dlen != orig || buf[0] != PROTO_VERSION ||
	    buf[1] != PROTO_TYPE_AS_MSG) {
		free(buf);
		return false;
	}
	uint64_t sz = 0;
	for (int i = 0; i < 6; i++)
		sz = sz << 8 | buf[2 + i];
	if (sz != orig - PROTO_HEADER_SZ) {
		free(buf);
		return false;
	}
	*out = buf;
	*out_len = (size_t)orig;
	return true;
}

/* Counts a data request against the close-connection faults; true when
 * this connection is to be closed instead of answered. */
static bool fault_close_now(void)
{
	stats.requests++;
	if (faults.close_after > 0 && --faults.close_after == 0)
		return true;
	if (faults.close_every > 0 && stats.requests % faults.close_every == 0)
		return true;
	return false;
}

/* Processes every complete message in c's input; false to close c. */
static bool conn_process(struct conn *c)
{
	size_t off = 0;
	bool keep = true;
	while (c->in_len - off >= PROTO_HEADER_SZ) {
		const uint8_t *h = c->in + off;
		uint8_t version = h[0], type = h[1];
		uint64_t sz = 0;
		for (int i = 0; i < 6; i++)
			sz = sz << 8 | h[2 + i];
		if (version != PROTO_VERSION && !(version == 0 &&
		    type == PROTO_TYPE_SECURITY)) {
			keep = false;	/* the server drops the connection */
			break;
		}
		if (type < PROTO_TYPE_INFO || type > 5 || sz > PROTO_SIZE_MAX) {
			keep = false;
			break;
		}
		if (c->in_len - off - PROTO_HEADER_SZ < sz) {
			size_t need = PROTO_HEADER_SZ + (size_t)sz;
			if (need > c->in_cap) {
				/* Make room for the whole message. */
				memmove(c->in, c->in + off, c->in_len - off);
				c->in_len -= off;
				off = 0;
				c->in = xrealloc(c->in, need);
				c->in_cap = need;
			}
			break;
		}
		const uint8_t *body = h + PROTO_HEADER_SZ;
		off += PROTO_HEADER_SZ + (size_t)sz;
		if (cfg.user && !c->authed && type != PROTO_TYPE_SECURITY) {
			/* Security enabled: nothing before authentication. */
			reply.len = 0;
			bytes_add(&reply, PROTO_HEADER_SZ);
			if (type == PROTO_TYPE_INFO) {
				info_unauthenticated(body, (size_t)sz, &reply);
			} else {
				bool batch = type == PROTO_TYPE_AS_MSG && sz > 1 &&
				    (body[1] & INFO1_BATCH);
				msg_header(bytes_add(&reply, MSG_HEADER_SZ),
				    SEC_ERR_NOT_AUTHENTICATED, 0, 0, 0, 0, 0,
				    batch ? INFO3_LAST : 0);
			}
			proto_header(reply.p, type == PROTO_TYPE_INFO ?
			    PROTO_TYPE_INFO : PROTO_TYPE_AS_MSG,
			    reply.len - PROTO_HEADER_SZ);
			conn_reply(c, reply.p, reply.len, false);
		} else if (type == PROTO_TYPE_INFO) {
			reply.len = 0;
			bytes_add(&reply, PROTO_HEADER_SZ);
			info_reply(body, (size_t)sz, &reply);
			proto_header(reply.p, PROTO_TYPE_INFO,
			    reply.len - PROTO_HEADER_SZ);
			conn_reply(c, reply.p, reply.len, false);
		} else if (type == PROTO_TYPE_SECURITY) {
			admin_reply(body, (size_t)sz, &c->authed, &reply);
			conn_reply(c, reply.p, reply.len, false);
		} else if (type == PROTO_TYPE_AS_MSG) {
			if (fault_close_now()) {
				stats.closed_by_fault++;
				keep = false;
				break;
			}
			handle_msg(c, body, (size_t)sz);
		} else if (type == PROTO_TYPE_AS_MSG_COMPRESSED) {
			if (fault_close_now()) {
				stats.closed_by_fault++;
				keep = false;
				break;
			}
			uint8_t *plain;
			size_t plain_len;
			if (!decompress(body, (size_t)sz, &plain, &plain_len)) {
				reply.len = 0;
				bytes_add(&reply, PROTO_HEADER_SZ);
				struct req q;
				memset(&q, 0, sizeof q);
				result_out(&q, ERR_PARAMETER, 0, 0);
				proto_header(reply.p, PROTO_TYPE_AS_MSG,
				    reply.len - PROTO_HEADER_SZ);
				conn_reply(c, reply.p, reply.len, true);
			} else {
				handle_msg(c, plain + PROTO_HEADER_SZ,
				    plain_len - PROTO_HEADER_SZ);
				free(plain);
			}
		} else {
			keep = false;	/* internal XDR type: not for clients */
			break;
		}
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return keep;
}

static void conn_read(struct conn *c)
{
	for (;;) {
		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
			c->in = xrealloc(c->in, cap);
			c->in_cap = cap;
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_kill(c);
			return;
		}
		if (r == 0) {
			conn_kill(c);
			break;
		}
		c->in_len += (size_t)r;
		if ((size_t)r < 4096)
			break;
	}
	bool keep = conn_process(c);
	if (!conn_flush(c) || !keep)
		conn_kill(c);
}

static void listen_open(void)
{
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		diag_fatal("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)cfg.port) };
	if (inet_pton(AF_INET, cfg.host, &a.sin_addr) != 1)
		diag_fatal("not an IPv4 address: '%s'", cfg.host);
	if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0)
		diag_fatal("bind %s:%d: %s", cfg.host, cfg.port, strerror(errno));
	if (listen(listen_fd, 512) < 0)
		diag_fatal("listen: %s", strerror(errno));
	socklen_t alen = sizeof a;
	getsockname(listen_fd, (struct sockaddr *)&a, &alen);
	cfg.port = ntohs(a.sin_port);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev);
}

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = xcalloc(1, sizeof *c);
		c->fd = fd;
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
		stats.connections++;
	}
}

/* A restart: every connection drops, the port refuses connections for a
 * while, the generations start again as on a fresh node; the records stay
 * (as with persistent storage) unless wipe=1 was asked. */
static void restart_begin(void)
{
	restart_requested = false;
	for (struct conn *c = conns; c; c = c->next)
		conn_flush(c);
	while (conns)
		conn_close(conns);
	n_dead = 0;
	epoll_ctl(epfd, EPOLL_CTL_DEL, listen_fd, NULL);
	close(listen_fd);
	listen_fd = -1;
	if (restart_wipe)
		store_clear();
	partition_generation = 1;
	peers_generation = 1;
	reopen_at = mono_ms() + restart_down_ms;
}

/* Moves delayed replies that are due into the output; returns the time
 * to wait for the next one (-1 if none). */
static int release_pending(void)
{
	if (n_pending == 0 && reopen_at == 0)
		return -1;	/* the common case: nothing held back */
	uint64_t now = mono_ms();
	int64_t wait = -1;
	for (struct conn *c = conns, *next; c; c = next) {
		next = c->next;
		bool moved = false;
		while (c->pend_head && c->pend_head->due <= now) {
			struct pending *p = c->pend_head;
			c->pend_head = p->next;
			if (!c->pend_head)
				c->pend_tail = NULL;
			conn_queue(c, p->data, p->len);
			free(p);
			n_pending--;
			moved = true;
		}
		if (moved && !conn_flush(c)) {
			conn_close(c);
			continue;
		}
		if (c->pend_head) {
			int64_t w = (int64_t)(c->pend_head->due - now);
			if (wait < 0 || w < wait)
				wait = w;
		}
	}
	if (reopen_at) {
		int64_t w = reopen_at > now ? (int64_t)(reopen_at - now) : 0;
		if (wait < 0 || w < wait)
			wait = w;
	}
	return (int)wait;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void serve(void)
{
	struct epoll_event events[256];
	while (!stop_requested) {
		int timeout = release_pending();
		if (reopen_at && mono_ms() >= reopen_at) {
			reopen_at = 0;
			listen_open();
			continue;
		}
		int n = epoll_wait(epfd, events, 256, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			diag_fatal("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			if (!c) {
				if (listen_fd >= 0)
					accept_all();
				continue;
			}
			if (c->dead)
				continue;
			if (events[i].events & (EPOLLERR | EPOLLHUP) &&
			    !(events[i].events & EPOLLIN)) {
				conn_kill(c);
				continue;
			}
			if (events[i].events & EPOLLIN)
				conn_read(c);
			if (!c->dead && (events[i].events & EPOLLOUT) &&
			    !conn_flush(c))
				conn_kill(c);
		}
		for (struct conn *c = conns, *next; n_dead > 0 && c; c = next) {
			next = c->next;
			if (c->dead) {
				conn_flush(c);
				conn_close(c);
				n_dead--;
			}
		}
		if (restart_requested)
			restart_begin();
	}
}

/* ---- --ctl: a minimal info client for scripts and tests ---- */

static bool read_full(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (uint8_t *)p + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* Logs in on fd as --user with --password; false (said) on failure. */
static bool ctl_login(int fd, const char *hostport)
{
	struct bytes req = { 0 };
	uint8_t *h = bytes_add(&req, PROTO_HEADER_SZ + ADMIN_HEADER_SZ);
	memset(h, 0, PROTO_HEADER_SZ + ADMIN_HEADER_SZ);
	h[PROTO_HEADER_SZ + 2] = ADMIN_LOGIN;
	h[PROTO_HEADER_SZ + 3] = 2;
	const char *vals[2] = { cfg.user, credential };
	const uint8_t ids[2] = { ADMIN_FIELD_USER, ADMIN_FIELD_CREDENTIAL };
	for (int i = 0; i < 2; i++) {
		uint8_t *fh = bytes_add(&req, 5);
		put32(fh, (uint32_t)strlen(vals[i]) + 1);
		fh[4] = ids[i];
		bytes_puts(&req, vals[i]);
	}
	proto_header(req.p, PROTO_TYPE_SECURITY, req.len - PROTO_HEADER_SZ);
	bool ok = write(fd, req.p, req.len) == (ssize_t)req.len;
	free(req.p);
	uint8_t ans[PROTO_HEADER_SZ + ADMIN_HEADER_SZ];
	if (!ok || !read_full(fd, ans, sizeof ans)) {
		diag_error("login to %s: no answer", hostport);
		return false;
	}
	uint64_t sz = 0;
	for (int i = 0; i < 6; i++)
		sz = sz << 8 | ans[2 + i];
	if (sz < ADMIN_HEADER_SZ || sz > 65536) {
		diag_error("login to %s: bad answer", hostport);
		return false;
	}
	uint8_t rest[65536];
	if (!read_full(fd, rest, sz - ADMIN_HEADER_SZ)) {
		diag_error("login to %s: short answer", hostport);
		return false;
	}
	if (ans[PROTO_HEADER_SZ + 1] != AS_OK) {
		diag_error("login to %s as '%s': result code %d", hostport,
		    cfg.user, ans[PROTO_HEADER_SZ + 1]);
		return false;
	}
	return true;
}

static int ctl(const char *hostport, int argc, char **argv)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof host)
		diag_usage("expected HOST:PORT: '%s'", hostport);
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = 0;
	char *endp;
	long port = strtol(colon + 1, &endp, 10);
	if (*endp || port < 1 || port > 65535)
		diag_usage("port must be 1..65535: '%s'", colon + 1);
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		diag_usage("not an IPv4 address: '%s'", host);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		diag_error("connect %s: %s", hostport, strerror(errno));
		return 1;
	}
	if (cfg.user && !ctl_login(fd, hostport)) {
		close(fd);
		return 1;
	}
	struct bytes req = { 0 };
	bytes_add(&req, PROTO_HEADER_SZ);
	for (int i = 0; i < argc; i++) {
		bytes_puts(&req, argv[i]);
		bytes_puts(&req, "\n");
	}
	proto_header(req.p, PROTO_TYPE_INFO, req.len - PROTO_HEADER_SZ);
	if (write(fd, req.p, req.len) != (ssize_t)req.len) {
		diag_error("write: %s", strerror(errno));
		return 1;
	}
	uint8_t h[PROTO_HEADER_SZ];
	size_t got = 0;
	while (got < sizeof h) {
		ssize_t r = read(fd, h + got, sizeof h - got);
		if (r <= 0) {
			diag_error("no reply from %s", hostport);
			return 1;
		}
		got += (size_t)r;
	}
	uint64_t sz = 0;
	for (int i = 0; i < 6; i++)
		sz = sz << 8 | h[2 + i];
	char *body = xmalloc(sz + 1);
	for (got = 0; got < sz;) {
		ssize_t r = read(fd, body + got, sz - got);
		if (r <= 0) {
			diag_error("short reply from %s", hostport);
			return 1;
		}
		got += (size_t)r;
	}
	body[sz] = 0;
	close(fd);
	/* Print each value on its own line; fail if any is an error. */
	int rc = 0;
	for (char *line = body, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line) - 1;
		*nl = 0;
		char *tab = strchr(line, '\t');
		const char *val = tab ? tab + 1 : line;
		if (strncmp(val, "ERROR", 5) == 0)
			rc = 1;
		printf("%s\n", val);
	}
	free(body);
	free(req.p);
	return rc;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: asfixture [--batch-max-requests N] [--cluster-name NAME]\n"
	    "                 [--default-ttl SECONDS] [--host ADDR]\n"
	    "                 [--max-record-size BYTES] [-n NAMESPACE]...\n"
	    "                 [--nsup-period SECONDS] [--port PORT]\n"
	    "                 [--port-file FILE] [--partitions I/N]\n"
	    "                 [--peer PORT]... [--session-ttl SECONDS]\n"
	    "                 [--user NAME --password PASSWORD]\n"
	    "       asfixture [--user NAME --password PASSWORD]\n"
	    "                 --ctl HOST:PORT COMMAND...\n"
	    "       asfixture --load HOST:PORT [--connections N] [--depth N]\n"
	    "                 [--count N]\n");
}

static uint32_t opt_u32(const char *name, const char *s, uint32_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-' || v > max)
		diag_usage("%s must be 0..%u: '%s'", name, max, s);
	return (uint32_t)v;
}

/* ---- --load: a raw write load, the fixture's own throughput ceiling ----
 *
 * Opens CONNS connections and keeps DEPTH single-record writes in flight
 * on each (pipelined), COUNT writes in all, each of one integer and one
 * 20-byte string bin into namespace "test", set "load".  Prints
 * "writes=N seconds=S writes_per_second=R" on stdout.  A benchmark can
 * set a client's figures against this peer measured in the same run.
 */

struct load_conn {
	int fd;
	uint8_t *in;
	size_t in_len;
	unsigned in_flight;
};

static size_t load_request(uint8_t *b, uint64_t i)
{
	uint8_t *p = b + PROTO_HEADER_SZ;
	msg_header(p, 0, 0, 0, 0, 3, 2, 0);
	p[2] = INFO2_WRITE;
	p += MSG_HEADER_SZ;
	put32(p, 5); p[4] = FIELD_NAMESPACE; memcpy(p + 5, "test", 4); p += 9;
	put32(p, 5); p[4] = FIELD_SET; memcpy(p + 5, "load", 4); p += 9;
	put32(p, 21); p[4] = FIELD_DIGEST; memset(p + 5, 0, 20);
	put64(p + 5, i); p += 25;
	put32(p, 4 + 1 + 8); p[4] = OP_WRITE; p[5] = PT_INTEGER; p[6] = 0;
	p[7] = 1; p[8] = 'i'; put64(p + 9, i); p += 17;
	put32(p, 4 + 1 + 20); p[4] = OP_WRITE; p[5] = PT_STRING; p[6] = 0;
	p[7] = 1; p[8] = 's'; memset(p + 9, 'x', 20); p += 29;
	proto_header(b, PROTO_TYPE_AS_MSG, (uint64_t)(p - b - PROTO_HEADER_SZ));
	return (size_t)(p - b);
}

static bool load_send(struct load_conn *c, uint64_t *next, uint64_t count,
    unsigned n)
{
	uint8_t buf[64 * 128];
	size_t len = 0;
	while (n-- > 0 && *next < count && len + 128 <= sizeof buf) {
		len += load_request(buf + len, (*next)++);
		c->in_flight++;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	return true;
}

static int load(const char *hostport, unsigned n_conns, unsigned depth,
    uint64_t count)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof host)
		diag_usage("expected HOST:PORT: '%s'", hostport);
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = 0;
	a.sin_port = htons((uint16_t)opt_u32("port", colon + 1, 65535));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		diag_usage("not an IPv4 address: '%s'", host);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct load_conn *lc = xcalloc(n_conns, sizeof *lc);
	uint64_t next = 0, done = 0;
	uint64_t start = mono_ms();
	for (unsigned i = 0; i < n_conns; i++) {
		lc[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lc[i].fd < 0 || connect(lc[i].fd, (struct sockaddr *)&a,
		    sizeof a) < 0)
			diag_fatal("connect %s: %s", hostport, strerror(errno));
		int one = 1;
		setsockopt(lc[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		lc[i].in = xmalloc(65536);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		epoll_ctl(ep, EPOLL_CTL_ADD, lc[i].fd, &ev);
		if (!load_send(&lc[i], &next, count, depth))
			diag_fatal("send: %s", strerror(errno));
	}
	struct epoll_event evs[64];
	while (done < count) {
		int n = epoll_wait(ep, evs, 64, 10000);
		if (n <= 0)
			diag_fatal("no reply within 10s (%" PRIu64 " of %" PRIu64 ")",
			    done, count);
		for (int e = 0; e < n; e++) {
			struct load_conn *c = &lc[evs[e].data.u32];
			ssize_t r = recv(c->fd, c->in + c->in_len,
			    65536 - c->in_len, 0);
			if (r <= 0)
				diag_fatal("connection closed by the server");
			c->in_len += (size_t)r;
			size_t off = 0;
			unsigned replies = 0;
			while (c->in_len - off >= PROTO_HEADER_SZ + MSG_HEADER_SZ) {
				uint64_t sz = 0;
				for (int k = 0; k < 6; k++)
					sz = sz << 8 | c->in[off + 2 + k];
				if (c->in_len - off < PROTO_HEADER_SZ + sz)
					break;
				int rc = c->in[off + PROTO_HEADER_SZ + 5];
				if (rc != AS_OK)
					diag_fatal("write failed with result code %d", rc);
				off += PROTO_HEADER_SZ + (size_t)sz;
				replies++;
			}
			memmove(c->in, c->in + off, c->in_len - off);
			c->in_len -= off;
			c->in_flight -= replies;
			done += replies;
			if (!load_send(c, &next, count, replies))
				diag_fatal("send: %s", strerror(errno));
		}
	}
	double secs = (double)(mono_ms() - start) / 1000.0;
	printf("writes=%" PRIu64 " seconds=%.3f writes_per_second=%.0f\n", done,
	    secs, secs > 0 ? (double)done / secs : 0.0);
	for (unsigned i = 0; i < n_conns; i++) {
		close(lc[i].fd);
		free(lc[i].in);
	}
	free(lc);
	close(ep);
	return 0;
}

/* --partitions I/N: master of the partitions p with p % N == I. */
static void opt_partitions(const char *s)
{
	char *end;
	unsigned long i = strtoul(s, &end, 10), n;
	if (end == s || *end != '/')
		diag_usage("--partitions must be I/N: '%s'", s);
	const char *ns = end + 1;
	n = strtoul(ns, &end, 10);
	if (end == ns || *end || n < 1 || n > 64 || i >= n)
		diag_usage("--partitions must be I/N with 0 <= I < N <= 64: '%s'", s);
	cfg.part_index = (unsigned)i;
	cfg.part_count = (unsigned)n;
}

int main(int argc, char **argv)
{
	diag_init(argv[0]);
	static const struct option longopts[] = {
		{ "batch-max-requests", required_argument, NULL, 'B' },
		{ "cluster-name", required_argument, NULL, 'C' },
		{ "connections", required_argument, NULL, 'K' },
		{ "count", required_argument, NULL, 'U' },
		{ "ctl", required_argument, NULL, 'c' },
		{ "default-ttl", required_argument, NULL, 'T' },
		{ "depth", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "host", required_argument, NULL, 'H' },
		{ "load", required_argument, NULL, 'L' },
		{ "max-record-size", required_argument, NULL, 'M' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "nsup-period", required_argument, NULL, 'N' },
		{ "partitions", required_argument, NULL, 'A' },
		{ "password", required_argument, NULL, 'W' },
		{ "peer", required_argument, NULL, 'R' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "session-ttl", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ctl_target = NULL, *load_target = NULL;
	unsigned load_conns = 32, load_depth = 1;
	uint64_t load_count = 200000;
	int ch;
	while ((ch = getopt_long(argc, argv, "+hn:p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'B':
			cfg.batch_max_requests = opt_u32("--batch-max-requests",
			    optarg, UINT32_MAX);
			break;
		case 'C': cfg.cluster_name = optarg; break;
		case 'c': ctl_target = optarg; break;
		case 'D': load_depth = opt_u32("--depth", optarg, 64); break;
		case 'K':
			load_conns = opt_u32("--connections", optarg, 1024);
			break;
		case 'L': load_target = optarg; break;
		case 'U':
			load_count = opt_u32("--count", optarg, UINT32_MAX);
			break;
		case 'T':
			cfg.default_ttl = opt_u32("--default-ttl", optarg,
			    MAX_ALLOWED_TTL);
			break;
		case 'h': usage(stdout); return 0;
		case 'H': cfg.host = optarg; break;
		case 'M':
			cfg.max_record_size = opt_u32("--max-record-size", optarg,
			    128u * 1024 * 1024);
			break;
		case 'n':
			if (cfg.n_ns == MAX_NAMESPACES)
				diag_usage("at most %d namespaces", MAX_NAMESPACES);
			if (strlen(optarg) < 1 || strlen(optarg) > NS_NAME_MAX)
				diag_usage("namespace must be 1..%d bytes: '%s'",
				    NS_NAME_MAX, optarg);
			cfg.ns[cfg.n_ns++] = optarg;
			break;
		case 'N':
			cfg.nsup_period = opt_u32("--nsup-period", optarg,
			    UINT32_MAX);
			break;
		case 'p': cfg.port = (int)opt_u32("--port", optarg, 65535); break;
		case 'P': cfg.port_file = optarg; break;
		case 'S':
			cfg.session_ttl = opt_u32("--session-ttl", optarg,
			    UINT32_MAX);
			break;
		case 'u': cfg.user = optarg; break;
		case 'A': opt_partitions(optarg); break;
		case 'R':
			if (cfg.n_peers == 16)
				diag_usage("at most 16 peers");
			cfg.peer_ports[cfg.n_peers++] = (int)opt_u32("--peer",
			    optarg, 65535);
			break;
		case 'W': cfg.password = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (!cfg.user != !cfg.password)
		diag_usage("--user and --password go together");
	if (cfg.user) {
		if ((credential = bcrypt_credential(cfg.password)) == NULL)
			diag_fatal("cannot hash the password with bcrypt");
		session_rotate();
	}
	if (ctl_target) {
		if (optind >= argc)
			diag_usage("--ctl needs at least one command");
		return ctl(ctl_target, argc - optind, argv + optind);
	}
	if (optind != argc)
		diag_usage("unexpected argument: '%s'", argv[optind]);
	if (load_target) {
		if (load_conns == 0 || load_depth == 0)
			diag_usage("--connections and --depth must be at least 1");
		return load(load_target, load_conns, load_depth, load_count);
	}
	if (cfg.n_ns == 0)
		cfg.ns[cfg.n_ns++] = "test";

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	store_init();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		diag_fatal("epoll_create1: %s", strerror(errno));
	listen_open();
	node_name_of(cfg.port, node_name, sizeof node_name);
	if (cfg.port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", cfg.port_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", cfg.port) < 0 || fclose(f) != 0 ||
		    rename(tmp, cfg.port_file) != 0)
			diag_fatal("cannot write port file: '%s'", cfg.port_file);
	}
	serve();
	return 0;
}
