/*
 * kafka_ckpt.c - the checkpoint store in a compacted Kafka topic
 * (kafka_ckpt_backend, --checkpoint-dir kafka://BROKERS/TOPIC; the keys,
 * values and the order of writes are in fs-checkpoint(5)).
 *
 * The bytes of a checkpoint are those of a checkpoint file (ckpt.c
 * formats and verifies them); here they are cut into chunks of at most
 * chunk bytes, each a message keyed STAGE/ID/CHUNK, and once every chunk
 * is delivered a commit marker keyed STAGE/ID/commit names their number,
 * length and XXH64 hashes.  The index of the topic (every live key's
 * latest value) is read from the beginning to the end at open and kept
 * up to date by refresh(); a checkpoint is there when its marker is, and
 * readable when every chunk the marker names is there with its hash.
 *
 * A namespace (?ns=NAME) prefixes every key with NAME/, so that the
 * pipelines of several partitions (fs-scale(1)) keep their checkpoints
 * apart in one topic: a handle sees only its own namespace's keys, with
 * the prefix taken off, and one without a namespace only keys without
 * one (a stage name never holds a '/').
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "ckpt.h"
#include "diag.h"
#include "etime.h"
#include "num.h"
#include "rec.h"
#include "xalloc.h"
#include "kafka.h"
#include "banned.h"

#define KCK_MARKER_FORMAT "fs-checkpoint-commit"
#define KCK_TIMEOUT_MS 30000

struct kck_chunk {
	bool have;
	char *bytes;
	size_t len;
};

/* One checkpoint of one stage, as the topic holds it. */
struct kck_entry {
	char *stage;
	uint64_t id;
	struct kck_chunk *chunks;
	size_t nchunks, cap;
	json_t *marker;         /* the commit marker, NULL when absent */
};

struct kck {
	char *brokers, *topic;
	char *ns;               /* "NAME/" from ?ns=NAME, or "" */
	size_t chunk;           /* largest chunk, bytes */
	char **conn;            /* the URL's X=KEY=VALUE and F=FILE, in order */
	size_t nconn, conncap;
	rd_kafka_t *prod, *cons;
	rd_kafka_topic_t *prkt, *crkt;
	rd_kafka_queue_t *queue;
	int32_t nparts;         /* 0: opened to inspect a topic that does not
	                         * exist, an empty store */
	int64_t *next;          /* per partition: the next offset to read */
	char **stages;
	size_t nstages, stcap;
	struct kck_entry *e;
	size_t ne, ecap;
	int delivery_failed;    /* deliveries failed since the last flush */
	char delivery_why[256];
};

/* --- the index --------------------------------------------------------- */

static struct kck_entry *entry(struct kck *k, const char *stage, uint64_t id,
    bool create)
{
	for (size_t i = 0; i < k->ne; i++)
		if (k->e[i].id == id && strcmp(k->e[i].stage, stage) == 0)
			return &k->e[i];
	if (!create)
		return NULL;
	k->e = xgrow(k->e, &k->ecap, k->ne + 1, sizeof *k->e);
	memset(&k->e[k->ne], 0, sizeof *k->e);
	k->e[k->ne].stage = xstrdup(stage);
	k->e[k->ne].id = id;
	return &k->e[k->ne++];
}

static void entry_drop_if_empty(struct kck *k, struct kck_entry *e)
{
	size_t i = (size_t)(e - k->e);

	if (e->marker != NULL)
		return;
	for (size_t c = 0; c < e->nchunks; c++)
		if (e->chunks[c].have)
			return;
	free(e->stage);
	free(e->chunks);
	k->e[i] = k->e[--k->ne];
}

static void register_stage(struct kck *k, const char *stage)
{
	for (size_t i = 0; i < k->nstages; i++)
		if (strcmp(k->stages[i], stage) == 0)
			return;
	k->stages = xgrow(k->stages, &k->stcap, k->nstages + 1,
	    sizeof *k->stages);
	k->stages[k->nstages++] = xstrdup(stage);
}

static void set_chunk(struct kck_entry *e, size_t c, const void *p,
    size_t len, bool have)
{
	if (c >= e->nchunks) {
		if (!have)
			return;
		e->chunks = xgrow(e->chunks, &e->cap, c + 1, sizeof *e->chunks);
		memset(e->chunks + e->nchunks, 0,
		    (c + 1 - e->nchunks) * sizeof *e->chunks);
		e->nchunks = c + 1;
	}
	free(e->chunks[c].bytes);
	e->chunks[c].have = have;
	e->chunks[c].bytes = have ? xmalloc(len ? len : 1) : NULL;
	e->chunks[c].len = have ? len : 0;
	if (have && len)
		memcpy(e->chunks[c].bytes, p, len);
}

/*
 * Splits a key: STAGE/stage (a registration), STAGE/ID/commit (*chunk
 * SIZE_MAX) or STAGE/ID/CHUNK.  Returns 1 for a registration, 0 for a
 * checkpoint's part, -1 for a key that is none of them.
 */
static int parse_key(const char *key, size_t n, char *stage, size_t sl,
    uint64_t *id, size_t *chunk)
{
	char k[512], *last, *mid;
	uint64_t c;

	if (n == 0 || n >= sizeof k)
		return -1;
	memcpy(k, key, n);
	k[n] = '\0';
	last = strrchr(k, '/');
	if (last == NULL)
		return -1;
	*last++ = '\0';
	if (strcmp(last, "stage") == 0) {
		if (strchr(k, '/') != NULL)
			return -1;      /* another namespace's */
		snprintf(stage, sl, "%s", k);
		return 1;
	}
	mid = strrchr(k, '/');
	if (mid == NULL)
		return -1;
	*mid++ = '\0';
	if (strchr(k, '/') != NULL)
		return -1;
	if (num_parse_u64_strict(mid, id) < 0 || *id == 0)
		return -1;
	if (strcmp(last, "commit") == 0)
		*chunk = SIZE_MAX;
	else if (num_parse_u64_strict(last, &c) == 0 && c < 1u << 20)
		*chunk = (size_t)c;
	else
		return -1;
	snprintf(stage, sl, "%s", k);
	return 0;
}

/* Takes one message of the topic into the index. */
static void take(struct kck *k, const rd_kafka_message_t *m)
{
	char stage[512];
	uint64_t id;
	size_t chunk;
	struct kck_entry *e;
	size_t nl = strlen(k->ns);
	int kind;

	if (m->key_len < nl || memcmp(m->key, k->ns, nl) != 0)
		return;         /* another namespace's */
	kind = parse_key((const char *)m->key + nl, m->key_len - nl, stage,
	    sizeof stage, &id, &chunk);
	if (kind < 0)
		return;         /* not ours: ignored, as a stray file is */
	if (kind == 1) {
		if (m->payload != NULL)
			register_stage(k, stage);
		return;
	}
	e = entry(k, stage, id, m->payload != NULL);
	if (e == NULL)
		return;
	if (chunk == SIZE_MAX) {
		json_decref(e->marker);
		e->marker = m->payload == NULL ? NULL :
		    json_loadb(m->payload, m->len, 0, NULL);
	} else {
		set_chunk(e, chunk, m->payload, m->len, m->payload != NULL);
	}
	entry_drop_if_empty(k, e);
}

/* --- reading the topic ------------------------------------------------- */

/* Takes in what the consumer has fetched, waiting up to wait_ms for the
 * first message; returns the number taken. */
static size_t drain(struct kck *k, int wait_ms)
{
	rd_kafka_message_t *m;
	size_t n = 0;

	while ((m = rd_kafka_consume_queue(k->queue, n ? 0 : wait_ms)) != NULL) {
		if (m->err == 0 && m->partition >= 0 &&
		    m->partition < k->nparts) {
			take(k, m);
			k->next[m->partition] = m->offset + 1;
		} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			diag_warn("checkpoint topic '%s': %s", k->topic,
			    rd_kafka_message_errstr(m));
		}
		rd_kafka_message_destroy(m);
		n++;
	}
	return n;
}

/* Reads every partition up to its end (the high watermark) as of now.
 * The end is asked for on the producer's connection: on the consumer's
 * the request waits behind the fetch the broker holds open while the
 * consumer is at the end (fetch.wait.max.ms, 500 ms a refresh).  The
 * producer may not know a topic just created yet ("Unknown partition"):
 * then the consumer, which partitions() waited for, is asked. */
static void catch_up(struct kck *k)
{
	int64_t *high = xcalloc((size_t)k->nparts, sizeof *high);
	int64_t deadline = etime_now_ms() + KCK_TIMEOUT_MS;

	for (int32_t p = 0; p < k->nparts; p++) {
		int64_t low;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
		    k->prod, k->topic, p, &low, &high[p], KCK_TIMEOUT_MS);

		if (err)
			err = rd_kafka_query_watermark_offsets(k->cons,
			    k->topic, p, &low, &high[p], KCK_TIMEOUT_MS);
		if (err)
			diag_fatal("checkpoint topic '%s': cannot find the end "
			    "of partition %" PRId32 ": %s", k->topic, p,
			    rd_kafka_err2str(err));
		if (k->next[p] < low)
			k->next[p] = low;
	}
	for (;;) {
		bool behind = false;

		for (int32_t p = 0; p < k->nparts; p++)
			behind |= k->next[p] < high[p];
		if (!behind)
			break;
		if (etime_now_ms() > deadline)
			diag_fatal("checkpoint topic '%s': not read to its end "
			    "in %ds", k->topic, KCK_TIMEOUT_MS / 1000);
		drain(k, 100);
	}
	free(high);
}

static void kck_refresh(void *h, bool full)
{
	struct kck *k = h;

	if (k->nparts == 0)
		return;
	if (full)
		catch_up(k);
	else
		drain(k, 0);
}

/* --- writing ----------------------------------------------------------- */

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m,
    void *opaque)
{
	struct kck *k = opaque;

	(void)rk;
	if (m->err) {
		k->delivery_failed++;
		snprintf(k->delivery_why, sizeof k->delivery_why, "%s",
		    rd_kafka_err2str(m->err));
	}
}

static void produce(struct kck *k, const char *key, const void *p,
    size_t len)
{
	while (rd_kafka_produce(k->prkt, RD_KAFKA_PARTITION_UA,
	    RD_KAFKA_MSG_F_COPY, (void *)p, p != NULL ? len : 0, key,
	    strlen(key), NULL) < 0) {
		rd_kafka_resp_err_t err = rd_kafka_last_error();

		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			diag_fatal("cannot write checkpoint: topic '%s': %s",
			    k->topic, rd_kafka_err2str(err));
		rd_kafka_poll(k->prod, 100);
	}
}

/* Waits until every message produced is delivered; fatal when one was
 * not: a checkpoint that is not in the topic must not count. */
static void flush_or_die(struct kck *k, const char *what)
{
	rd_kafka_resp_err_t err = rd_kafka_flush(k->prod, KCK_TIMEOUT_MS);

	if (err)
		diag_fatal("cannot write %s: topic '%s': not delivered in %ds: "
		    "%s", what, k->topic, KCK_TIMEOUT_MS / 1000,
		    rd_kafka_err2str(err));
	if (k->delivery_failed)
		diag_fatal("cannot write %s: topic '%s': %s", what, k->topic,
		    k->delivery_why);
}

static void key_of(const struct kck *k, char *key, size_t n,
    const char *stage, uint64_t id, size_t chunk)
{
	if (chunk == SIZE_MAX)
		snprintf(key, n, "%s%s/%020" PRIu64 "/commit", k->ns, stage, id);
	else
		snprintf(key, n, "%s%s/%020" PRIu64 "/%06zu", k->ns, stage, id,
		    chunk);
}

static json_t *marker_new(const char *stage, uint64_t id, const char *b,
    size_t len, size_t chunk)
{
	json_t *m = json_object(), *sums = json_array();
	char sum[17];

	for (size_t at = 0; at < len || (at == 0 && len == 0); at += chunk) {
		size_t n = len - at < chunk ? len - at : chunk;

		snprintf(sum, sizeof sum, "%016" PRIx64,
		    (uint64_t)XXH64(b + at, n, 0));
		json_array_append_new(sums, json_string(sum));
		if (len == 0)
			break;
	}
	snprintf(sum, sizeof sum, "%016" PRIx64, (uint64_t)XXH64(b, len, 0));
	json_object_set_new(m, "format", json_string(KCK_MARKER_FORMAT));
	json_object_set_new(m, "version", json_integer(CKPT_VERSION));
	json_object_set_new(m, "stage", json_string(stage));
	json_object_set_new(m, "id", json_integer((json_int_t)id));
	json_object_set_new(m, "length", json_integer((json_int_t)len));
	json_object_set_new(m, "xxh64", json_string(sum));
	json_object_set_new(m, "chunks", sums);
	return m;
}

static void kck_remove(void *h, const char *stage, uint64_t id);

/* The chunks, delivered; then the marker, delivered. */
static void kck_put(void *h, const char *stage, uint64_t id, const char *b,
    size_t len)
{
	struct kck *k = h;
	json_t *marker = marker_new(stage, id, b, len, k->chunk);
	size_t nchunks = json_array_size(json_object_get(marker, "chunks"));
	struct kck_entry *old = entry(k, stage, id, false);
	struct buf mb = BUF_INIT;
	char key[600];

	/* A rewrite of id (after a restart discarded it) must not leave
	 * an old marker standing over new chunks. */
	if (old != NULL)
		kck_remove(k, stage, id);
	k->delivery_failed = 0;
	for (size_t c = 0; c < nchunks; c++) {
		size_t at = c * k->chunk;
		size_t n = len - at < k->chunk ? len - at : k->chunk;

		key_of(k, key, sizeof key, stage, id, c);
		produce(k, key, b + at, n);
	}
	flush_or_die(k, "checkpoint chunks");
	rec_dump(&mb, marker);
	key_of(k, key, sizeof key, stage, id, SIZE_MAX);
	produce(k, key, mb.data, mb.len);
	flush_or_die(k, "checkpoint commit marker");
	/* What was written is what the topic now holds. */
	{
		struct kck_entry *e = entry(k, stage, id, true);

		for (size_t c = 0; c < nchunks; c++) {
			size_t at = c * k->chunk;

			set_chunk(e, c, b + at,
			    len - at < k->chunk ? len - at : k->chunk, true);
		}
		e->marker = marker;
	}
	buf_free(&mb);
}

/* Tombstones: the marker first, so that no reader sees a marker whose
 * chunks are gone; compaction then removes every key. */
static void kck_remove(void *h, const char *stage, uint64_t id)
{
	struct kck *k = h;
	struct kck_entry *e = entry(k, stage, id, false);
	char key[600];

	if (e == NULL)
		return;
	k->delivery_failed = 0;
	key_of(k, key, sizeof key, stage, id, SIZE_MAX);
	produce(k, key, NULL, 0);
	rd_kafka_flush(k->prod, KCK_TIMEOUT_MS);
	for (size_t c = 0; c < e->nchunks; c++) {
		key_of(k, key, sizeof key, stage, id, c);
		produce(k, key, NULL, 0);
	}
	if (rd_kafka_flush(k->prod, KCK_TIMEOUT_MS) || k->delivery_failed)
		diag_warn("cannot remove old checkpoint %" PRIu64 " of '%s': "
		    "topic '%s': %s", id, stage, k->topic,
		    k->delivery_failed ? k->delivery_why : "timed out");
	for (size_t c = 0; c < e->nchunks; c++)
		free(e->chunks[c].bytes);
	json_decref(e->marker);
	e->marker = NULL;
	e->nchunks = 0;
	entry_drop_if_empty(k, e);
}

/* --- reading a checkpoint ---------------------------------------------- */

static int kck_get(void *h, const char *stage, uint64_t id, struct buf *out,
    char *why, size_t wl)
{
	struct kck *k = h;
	struct kck_entry *e = entry(k, stage, id, false);
	json_t *sums;
	const char *whole;
	size_t len, start = out->len;
	char sum[17];

	if (e == NULL || e->marker == NULL) {
		snprintf(why, wl, e == NULL ? "missing" :
		    "no commit marker (not written to the end)");
		return -1;
	}
	sums = json_object_get(e->marker, "chunks");
	len = (size_t)json_integer_value(json_object_get(e->marker, "length"));
	if (!json_is_array(sums) || json_array_size(sums) == 0) {
		snprintf(why, wl, "commit marker without chunks");
		return -1;
	}
	for (size_t c = 0; c < json_array_size(sums); c++) {
		const char *want = json_string_value(json_array_get(sums, c));

		if (c >= e->nchunks || !e->chunks[c].have) {
			snprintf(why, wl, "chunk %zu of %zu missing", c,
			    json_array_size(sums));
			out->len = start;
			return -1;
		}
		snprintf(sum, sizeof sum, "%016" PRIx64, (uint64_t)XXH64(
		    e->chunks[c].bytes, e->chunks[c].len, 0));
		if (want == NULL || strcmp(want, sum) != 0) {
			snprintf(why, wl, "chunk %zu: checksum mismatch "
			    "(corrupted)", c);
			out->len = start;
			return -1;
		}
		buf_append(out, e->chunks[c].bytes, e->chunks[c].len);
	}
	snprintf(sum, sizeof sum, "%016" PRIx64,
	    (uint64_t)XXH64(out->data + start, out->len - start, 0));
	whole = json_string_value(json_object_get(e->marker, "xxh64"));
	if (out->len - start != len || whole == NULL ||
	    strcmp(sum, whole) != 0) {
		snprintf(why, wl, "chunks are %zu bytes, commit marker says %zu "
		    "(or its checksum differs)", out->len - start, len);
		out->len = start;
		return -1;
	}
	return 0;
}

static bool kck_has(void *h, const char *stage, uint64_t id)
{
	struct kck_entry *e = entry(h, stage, id, false);

	return e != NULL && e->marker != NULL;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids a stage has anything of: with their marker, or chunks a
 * writer left without one (readers skip them, discard removes them). */
static uint64_t *kck_ids(void *h, const char *stage, size_t *n)
{
	struct kck *k = h;
	uint64_t *ids = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < k->ne; i++) {
		if (strcmp(k->e[i].stage, stage) != 0)
			continue;
		ids = xgrow(ids, &cap, *n + 1, sizeof *ids);
		ids[(*n)++] = k->e[i].id;
	}
	if (*n > 1)
		qsort(ids, *n, sizeof *ids, cmp_desc);
	return ids;
}

/* NULL, as for a directory that cannot be read, when the topic does not
 * exist. */
static char **kck_stages(void *h, size_t *n)
{
	struct kck *k = h;
	char **v;

	*n = 0;
	if (k->nparts == 0)
		return NULL;
	v = xcalloc(k->nstages + 1, sizeof *v);

	for (size_t i = 0; i < k->nstages; i++)
		v[i] = xstrdup(k->stages[i]);
	*n = k->nstages;
	if (*n > 1)
		qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

static char *kck_name(void *h, const char *stage, uint64_t id)
{
	struct kck *k = h;
	char key[600];
	struct buf b = BUF_INIT;

	key_of(k, key, sizeof key, stage, id, SIZE_MAX);
	buf_appends(&b, "kafka://");
	buf_appends(&b, k->brokers);
	buf_appendc(&b, '/');
	buf_appends(&b, k->topic);
	buf_appends(&b, " key ");
	buf_appends(&b, key);
	return b.data;
}

/* --- opening ----------------------------------------------------------- */

/* A namespace: letters, digits, '-', '_' and '.', as a stage name. */
static bool valid_ns(const char *s, size_t n)
{
	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return false;
	return true;
}

/* One parameter of the URL: chunk=BYTES, ns=NAME, X=KEY=VALUE or
 * F=FILE. */
static void parse_param(struct kck *k, const char *p, size_t n,
    const char *where)
{
	char *v = xstrndup(p, n);
	uint64_t chunk;

	if (strncmp(v, "chunk=", 6) == 0) {
		if (num_parse_u64_strict(v + 6, &chunk) < 0 || chunk < 1024 ||
		    chunk > 64u << 20)
			diag_usage("--checkpoint-dir: kafka://BROKERS/TOPIC?chunk="
			    "BYTES, BYTES from 1024 to 67108864: 'kafka://%s'",
			    where);
		k->chunk = (size_t)chunk;
		free(v);
		return;
	}
	if (strncmp(v, "ns=", 3) == 0) {
		if (!valid_ns(v + 3, strlen(v + 3)))
			diag_usage("--checkpoint-dir: kafka://BROKERS/TOPIC?ns=NAME, "
			    "NAME of letters, digits, '-', '_' and '.': "
			    "'kafka://%s'", where);
		free(k->ns);
		k->ns = xmalloc(strlen(v + 3) + 2);
		memcpy(k->ns, v + 3, strlen(v + 3));
		memcpy(k->ns + strlen(v + 3), "/", 2);
		free(v);
		return;
	}
	if ((strncmp(v, "X=", 2) != 0 || strchr(v + 2, '=') == NULL ||
	    v[2] == '=') && (strncmp(v, "F=", 2) != 0 || v[2] == '\0'))
		diag_usage("--checkpoint-dir: kafka://BROKERS/TOPIC?PARAM&..., "
		    "PARAM chunk=BYTES, ns=NAME, X=KEY=VALUE or F=FILE: '%s' in "
		    "'kafka://%s'", v, where);
	k->conn = xgrow(k->conn, &k->conncap, k->nconn + 1, sizeof *k->conn);
	k->conn[k->nconn++] = v;
}

/* BROKERS/TOPIC[?PARAM[&PARAM...]]: exits 2 on anything else. */
static void parse_where(struct kck *k, const char *where)
{
	const char *q = strchr(where, '?');
	size_t pathlen = q ? (size_t)(q - where) : strlen(where);
	const char *slash = memrchr(where, '/', pathlen);
	char errstr[256];

	if (slash == NULL || slash == where || slash + 1 == where + pathlen)
		diag_usage("--checkpoint-dir: kafka://BROKERS/TOPIC: 'kafka://%s'",
		    where);
	k->brokers = xstrndup(where, (size_t)(slash - where));
	k->topic = xstrndup(slash + 1, pathlen - (size_t)(slash - where) - 1);
	k->chunk = KAFKA_CKPT_CHUNK_DEFAULT;
	k->ns = xstrdup("");
	for (const char *p = q; p != NULL && *p != '\0'; ) {
		size_t n = strcspn(++p, "&");

		parse_param(k, p, n, where);
		p += n;
	}
	if (kafka_brokers_check(k->brokers, errstr, sizeof errstr) < 0)
		diag_usage("--checkpoint-dir: %s", errstr);
}

/* The brokers, the tool's connection properties, then the URL's. */
static rd_kafka_conf_t *conf_for(struct kck *k, char *const *props)
{
	rd_kafka_conf_t *conf = kafka_conf_new();
	char errstr[256];

	if (kafka_conf_set2(conf, "bootstrap.servers", k->brokers, errstr,
	    sizeof errstr) < 0)
		diag_usage("--checkpoint-dir: %s", errstr);
	for (size_t i = 0; props != NULL && props[i] != NULL; i++)
		kafka_conf_set(conf, props[i], "-X");
	for (size_t i = 0; i < k->nconn; i++) {
		if (k->conn[i][0] == 'X')
			kafka_conf_set(conf, k->conn[i] + 2, "--checkpoint-dir");
		else if (access(k->conn[i] + 2, R_OK) < 0)
			diag_fatal("--checkpoint-dir: F=: cannot open: '%s': %s",
			    k->conn[i] + 2, strerror(errno));
		else
			kafka_conf_file(conf, k->conn[i] + 2);
	}
	return conf;
}

static void conf_or_die(rd_kafka_conf_t *conf, const char *key,
    const char *val)
{
	char errstr[256];

	if (kafka_conf_set2(conf, key, val, errstr, sizeof errstr) < 0)
		diag_fatal("librdkafka: %s", errstr);
}

/* Creates the topic, compacted, unless it exists. */
static void create_topic(struct kck *k)
{
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q = rd_kafka_queue_new(k->prod);
	rd_kafka_event_t *ev;
	char errstr[256];

	nt = rd_kafka_NewTopic_new(k->topic, 1, -1, errstr, sizeof errstr);
	if (nt == NULL)
		diag_fatal("checkpoint topic '%s': %s", k->topic, errstr);
	rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
	rd_kafka_CreateTopics(k->prod, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, KCK_TIMEOUT_MS);
	if (ev == NULL)
		diag_fatal("checkpoint topic '%s': not created in %ds", k->topic,
		    KCK_TIMEOUT_MS / 1000);
	if (rd_kafka_event_error(ev))
		diag_fatal("checkpoint topic '%s': %s", k->topic,
		    rd_kafka_event_error_string(ev));
	{
		const rd_kafka_CreateTopics_result_t *res =
		    rd_kafka_event_CreateTopics_result(ev);
		size_t n;
		const rd_kafka_topic_result_t **tr =
		    rd_kafka_CreateTopics_result_topics(res, &n);

		if (n == 1 && rd_kafka_topic_result_error(tr[0]) &&
		    rd_kafka_topic_result_error(tr[0]) !=
		    RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
			diag_fatal("checkpoint topic '%s': %s", k->topic,
			    rd_kafka_topic_result_error_string(tr[0]));
	}
	rd_kafka_event_destroy(ev);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
}

/* The number of partitions, once the topic's leaders are known; 0 when
 * the topic does not exist and inspect says not to wait for it. */
static int32_t partitions(struct kck *k, bool inspect)
{
	int64_t deadline = etime_now_ms() + KCK_TIMEOUT_MS;

	for (;;) {
		const rd_kafka_metadata_t *md = kafka_metadata(k->cons, k->topic,
		    KCK_TIMEOUT_MS);
		int32_t n = 0;
		bool ready = md->topic_cnt == 1 && md->topics[0].err == 0;
		bool missing = md->topic_cnt == 1 && md->topics[0].err ==
		    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;

		if (missing && inspect) {
			rd_kafka_metadata_destroy(md);
			return 0;
		}
		for (int i = 0; ready && i < md->topics[0].partition_cnt; i++)
			ready = md->topics[0].partitions[i].leader >= 0;
		if (ready)
			n = md->topics[0].partition_cnt;
		rd_kafka_metadata_destroy(md);
		if (n > 0)
			return n;
		if (etime_now_ms() > deadline)
			diag_fatal("checkpoint topic '%s': no partition ready "
			    "in %ds", k->topic, KCK_TIMEOUT_MS / 1000);
		rd_kafka_poll(k->cons, 100);
	}
}

static void *kck_open(const char *where, const char *stage,
    char *const *props, bool *known)
{
	struct kck *k = xcalloc(1, sizeof *k);
	rd_kafka_conf_t *pc, *cc;

	parse_where(k, where);
	pc = conf_for(k, props);
	conf_or_die(pc, "enable.idempotence", "true");
	conf_or_die(pc, "linger.ms", "0");
	rd_kafka_conf_set_dr_msg_cb(pc, delivered);
	rd_kafka_conf_set_opaque(pc, k);
	k->prod = kafka_new(RD_KAFKA_PRODUCER, pc);
	kafka_await_broker(k->prod, KAFKA_METADATA_TIMEOUT_MS);
	/* Inspecting (no stage) creates nothing: a topic that is not
	 * there is an empty store. */
	if (stage != NULL)
		create_topic(k);
	k->prkt = rd_kafka_topic_new(k->prod, k->topic, NULL);

	cc = conf_for(k, props);
	conf_or_die(cc, "enable.auto.commit", "false");
	conf_or_die(cc, "enable.auto.offset.store", "false");
	conf_or_die(cc, "enable.partition.eof", "false");
	k->cons = kafka_new(RD_KAFKA_CONSUMER, cc);
	k->crkt = rd_kafka_topic_new(k->cons, k->topic, NULL);
	k->queue = rd_kafka_queue_new(k->cons);
	k->nparts = partitions(k, stage == NULL);
	k->next = xcalloc((size_t)k->nparts + 1, sizeof *k->next);
	for (int32_t p = 0; p < k->nparts; p++)
		if (rd_kafka_consume_start_queue(k->crkt, p,
		    RD_KAFKA_OFFSET_BEGINNING, k->queue) < 0)
			diag_fatal("checkpoint topic '%s': cannot read partition "
			    "%" PRId32 ": %s", k->topic, p,
			    rd_kafka_err2str(rd_kafka_last_error()));
	if (k->nparts > 0)
		catch_up(k);
	*known = false;
	for (size_t i = 0; stage != NULL && i < k->nstages; i++)
		*known |= strcmp(k->stages[i], stage) == 0;
	if (stage != NULL) {
		char key[600];

		snprintf(key, sizeof key, "%s%s/stage", k->ns, stage);
		k->delivery_failed = 0;
		produce(k, key, "{}", 2);
		flush_or_die(k, "stage registration");
		register_stage(k, stage);
	}
	return k;
}

static void kck_close(void *h)
{
	struct kck *k = h;

	for (int32_t p = 0; p < k->nparts; p++)
		rd_kafka_consume_stop(k->crkt, p);
	rd_kafka_queue_destroy(k->queue);
	rd_kafka_topic_destroy(k->crkt);
	rd_kafka_destroy(k->cons);
	rd_kafka_flush(k->prod, KCK_TIMEOUT_MS);
	rd_kafka_topic_destroy(k->prkt);
	rd_kafka_destroy(k->prod);
	for (size_t i = 0; i < k->ne; i++) {
		for (size_t c = 0; c < k->e[i].nchunks; c++)
			free(k->e[i].chunks[c].bytes);
		free(k->e[i].chunks);
		free(k->e[i].stage);
		json_decref(k->e[i].marker);
	}
	free(k->e);
	for (size_t i = 0; i < k->nstages; i++)
		free(k->stages[i]);
	free(k->stages);
	free(k->next);
	for (size_t i = 0; i < k->nconn; i++)
		free(k->conn[i]);
	free(k->conn);
	free(k->brokers);
	free(k->topic);
	free(k->ns);
	free(k);
}

const struct ckpt_backend kafka_ckpt_backend = {
	.scheme = "kafka",
	.open = kck_open,
	.close = kck_close,
	.put = kck_put,
	.get = kck_get,
	.has = kck_has,
	.remove = kck_remove,
	.stages = kck_stages,
	.ids = kck_ids,
	.refresh = kck_refresh,
	.name = kck_name,
};
