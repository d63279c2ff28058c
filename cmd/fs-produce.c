/*
 * fs-produce - write NDJSON records (or fs-consume envelopes) to Kafka.
 * Idempotent by default; every delivery is acknowledged or reported.
 * See fs-produce(1).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aerospike/aerospike.h"
#include "base64.h"
#include "def.h"
#include "fieldseen.h"
#include "hashtab.h"
#include "kafka/kafka.h"
#include "reject.h"
#include "schema/schema.h"
#include "stage.h"
#include "tool.h"

#include "banned.h"

static const char usage_text[] =
"usage: fs-produce -b BROKERS [-E] [-F FILE] [-H NAME=PATH] [-k FIELDS]\n"
"                  [-p PARTITION] [-r URL -s SERDES] [-t TOPIC]\n"
"                  [-X KEY=VALUE] [--key-message NAME] [--key-schema FILE]\n"
"                  [--key-subject NAME] [--metadata-timeout DURATION]\n"
"                  [--strict] [--timestamp] [--transactional-id ID]\n"
"                  [--value-field PATH] [--value-message NAME]\n"
"                  [--value-schema FILE] [--value-subject NAME]\n"
"                  [--view NAME -n NAMESPACE [--hosts HOSTS]]\n"
"                  [common options]\n";

/* -p not given: the envelope's partition, or the partitioner's choice. */
#define PARTITION_NONE (-2)

struct opts {
	struct fs_common c;
	struct kafka_opts k;    /* -b, -F, -X, --metadata-timeout */
	const char *topic;
	bool envelope, timestamp, strict;
	int64_t partition;      /* -p: -1 (RD_KAFKA_PARTITION_UA): the
				 * partitioner's; PARTITION_NONE: not given */
	const char *txn_id;
	struct kafka_recmap map;        /* -k, -H, --value-field, --timestamp */
	struct schema_opts sch;         /* -r, -s */
	const char *key_schema, *key_subject, *value_schema, *value_subject;
	const char *key_message, *value_message;
	struct as_opts as;      /* --view: the registry's store */
	const char *view;
};

/* -s: the schema a key or value is written with. */
struct avro_out {
	const struct avro_sch *s;       /* Avro, */
	const struct proto_sch *ps;     /* or Protobuf; neither: as is */
	const char *message;            /* Protobuf: the message type */
	uint32_t id;
	char *subject;
};

/*
 * What a delivery report needs to say which input line failed: the line
 * number travels as the message's opaque pointer, except with
 * --on-error dead-letter, where the opaque is a struct origin holding a
 * copy of the line for the dead-letter file.
 */
struct origin {
	uint64_t lineno;
	size_t len;
	char line[];
};

/*
 * Exactly once across a restart (see fs-produce(1)).  Every message of
 * the transaction that ends at barrier N carries the header
 * "fs-barrier: TXID/N", TXID the --transactional-id, so pipelines that
 * share a topic never take each other's messages for their own.  The
 * transaction of barrier N is committed before the checkpoint file for
 * N is written, so a run killed between the two has committed the
 * transaction of R+1, R being the checkpoint it restarts from.  When
 * fs-produce is one of several sinks (tee), checkpoint N is complete
 * only once every sink wrote N, and fs-produce may have committed
 * R+2 and more ahead of a slower sink.  The restart reads the
 * transactions after R back (the committed messages after this
 * producer's last message of a transaction up to R) and drops each
 * record that would make one of them again, wherever it comes: the
 * replay brings the same records, but its barriers need not fall where
 * the killed run's did (a time-driven barrier, several partitions read
 * in another order), so "what comes before barrier R+1" is not what was
 * committed.  What is still to be dropped at a barrier is part of the
 * checkpoint: a replay whose barrier R+1 came before the last of those
 * records, killed in turn, restarts from R+1, and the transactions the
 * log holds after R+1 are not where they are.
 */
#define BARRIER_HEADER "fs-barrier"
#define RESUME_TAIL 256         /* messages first read back per partition */
#define RESUME_WAIT_MS 30000    /* for one partition's messages */

/* A message committed before the restart, not to be produced again:
 * its key and value as resume_ident() writes them, n times. */
struct resume_msg {
	uint64_t n;
	size_t len;
	char ident[];
};

struct resume {
	rd_kafka_conf_t *conf;  /* for the consumer; NULL: no check */
	uint64_t checked;       /* the barrier id looked for (0: none yet) */
	uint64_t txn;           /* the first barrier whose messages are
				 * dropped (0: none) */
	uint64_t txn_last;      /* the last one */
	struct hashtab done;    /* ident -> struct resume_msg */
	uint64_t pending;       /* messages in done still to come */
	uint64_t dropped;       /* records dropped so far */
	struct buf ident;
	bool fresh;             /* no earlier run in this checkpoint store */
};

/* --view: the view's entry in the feature registry (fs-registry(5)). */
struct view_reg {
	struct as_cluster cl;
	struct as_registry reg;
	char *password;
	bool defined;
	json_t *keys;           /* the -k fields: the key, not features */
	bool has_wm;
	int64_t wm;             /* a watermark that passed, */
	uint64_t wm_at;         /* after this many messages */
	uint64_t delivered;     /* at the last update */
	int64_t tick_ms;
};

struct producer {
	struct opts *o;
	rd_kafka_t *rk;
	struct lineio lr;
	struct rejects rej;
	struct stage st;
	struct fieldseen seen;  /* the fields -k, -H and --value-field name */
	rd_kafka_topic_t *rkt;  /* of the last topic produced to */
	struct kafka_msg msg;
	bool in_txn;
	bool aborting;          /* purged deliveries are the abort's doing */
	uint64_t produced, delivered, failed, txn_msgs;
	uint64_t failed_at_barrier;
	struct resume rs;
	struct registry *reg;           /* -s */
	struct avro_out akey, aval;
	struct view_reg *view;          /* --view; NULL without */
};

/* --- options ----------------------------------------------------------- */

/* -s's combinations the table cannot say. */
static void check_schema_options(struct opts *o)
{
	schema_opts_check(&o->sch);
	if (!o->sch.key && (o->key_schema || o->key_subject))
		diag_usage("--key-schema and --key-subject need -s key=avro");
	if (!o->sch.value && (o->value_schema || o->value_subject))
		diag_usage("--value-schema and --value-subject need -s value=avro");
	if (o->sch.key != SCHEMA_PROTOBUF && o->key_message)
		diag_usage("--key-message needs -s key=protobuf");
	if (o->sch.value != SCHEMA_PROTOBUF && o->value_message)
		diag_usage("--value-message needs -s value=protobuf");
	if (o->sch.key && !o->key_subject && !o->topic)
		diag_usage("-s key=avro without -t needs --key-subject");
	if (o->sch.value && !o->value_subject && !o->topic)
		diag_usage("-s value=avro without -t needs --value-subject");
}

/* --view's, with -n and -t. */
static void check_view_options(struct opts *o)
{
	if ((o->view == NULL) != (o->as.ns == NULL))
		diag_usage("--view and -n go together: the registry of "
		    "NAMESPACE records view NAME");
	if (o->view == NULL)
		return;
	if (o->view[0] == '\0' || o->view[0] == '@')
		diag_usage("--view: a name, not starting with '@' (reserved): "
		    "'%s'", o->view);
	if (o->envelope || o->topic == NULL)
		diag_usage("--view registers the records written to one topic: "
		    "give -t, not -E");
	as_opts_check(&o->as);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_FLAG('E', "envelope", &o->envelope,
		    "input is fs-consume envelopes (topic, partition,\n"
		    "timestamp, key, headers, value), replayed as is"),
		OPT_CALLBACK('H', NULL, kafka_opt_header, &o->map, "NAME=PATH",
		    "header NAME from the record's field PATH (repeatable)"),
		OPT_STRING('k', "key", &o->map.key_text, "FIELDS",
		    "message key from these fields (comma-separated)"),
		OPT_INT('p', NULL, &o->partition, -1, INT32_MAX, "PARTITION",
		    "this partition (-1: the partitioner chooses)"),
		OPT_STRING('t', NULL, &o->topic, "TOPIC",
		    "topic (overrides an envelope's topic)"),
		OPT_STRING(0, "key-message", &o->key_message, "NAME",
		    "the key's Protobuf message type (default: the first)"),
		OPT_STRING(0, "key-schema", &o->key_schema, "FILE",
		    "register this Avro schema or .proto for the key's subject"),
		OPT_STRING(0, "key-subject", &o->key_subject, "NAME",
		    "the key's subject (default TOPIC-key)"),
		OPT_FLAG(0, "timestamp", &o->timestamp,
		    "message timestamp from --time-field"),
		OPT_STRING(0, "transactional-id", &o->txn_id, "ID",
		    "one transaction per checkpoint interval"),
		OPT_STRING(0, "value-field", &o->map.value_field_text, "PATH",
		    "the value is this field, not the whole record"),
		OPT_STRING(0, "value-message", &o->value_message, "NAME",
		    "the value's Protobuf message type (default: the first)"),
		OPT_STRING(0, "value-schema", &o->value_schema, "FILE",
		    "register this Avro schema or .proto for the value's subject\n"
		    "(default: the subject's latest version)"),
		OPT_STRING(0, "value-subject", &o->value_subject, "NAME",
		    "the value's subject (default TOPIC-value)"),
		OPT_STRING(0, "view", &o->view, "NAME",
		    "register the records as feature view NAME in the\n"
		    "registry of -n (fs-registry(5))"),
		OPT_STRING(0, "hosts", &o->as.hosts, "HOSTS",
		    "--view: the registry's Aerospike seed hosts\n"
		    "(default 127.0.0.1:3000)"),
		OPT_STRING('n', "namespace", &o->as.ns, "NS",
		    "--view: the namespace of the registry"),
		OPT_GROUP_AEROSPIKE_LOGIN(&o->as),
		OPT_GROUP_SCHEMA(&o->sch, "write"),
		OPT_GROUP_KAFKA(&o->k),
		OPT_SORTED,
		OPT_GROUP_FIELDSEEN(&o->strict),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};
	char errstr[512];
	int first;

	memset(o, 0, sizeof(*o));
	fs_common_init(&o->c, argc, argv);
	as_opts_init(&o->as);
	kafka_opts_init(&o->k);
	o->k.registry = &o->sch.conf;
	o->partition = PARTITION_NONE;
	/* fs's producer defaults, before -X and -F can change them:
	 * idempotence (no duplicates or reordering on retries) and larger
	 * batches than librdkafka's latency-oriented 5ms. */
	if (kafka_conf_set2(o->k.conf, "enable.idempotence", "true", errstr,
	    sizeof(errstr)) < 0 || kafka_conf_set2(o->k.conf, "linger.ms", "20",
	    errstr, sizeof(errstr)) < 0)
		diag_fatal("librdkafka: %s", errstr);
	first = opt_parse(usage_text, opts, 0, argc, argv);
	if (first < argc)
		diag_usage("unexpected argument: '%s'", argv[first]);
	fs_common_finish(&o->c);
	kafka_opts_finish(&o->k);
	if (o->topic == NULL && !o->envelope)
		diag_usage("no topic: give -t TOPIC");
	if (o->timestamp)
		o->map.time_path = &o->c.time_path;
	if (o->envelope && !kafka_recmap_plain(&o->map))
		diag_usage("-E takes key, value, headers and timestamp from the "
		    "envelope: -k, -H, --value-field and --timestamp do not apply");
	kafka_recmap_compile(&o->map);
	if (o->txn_id && kafka_conf_set2(o->k.conf, "transactional.id",
	    o->txn_id, errstr, sizeof(errstr)) < 0)
		diag_usage("--transactional-id: %s", errstr);
	check_schema_options(o);
	check_view_options(o);
}

static void opts_free(struct opts *o)
{
	kafka_recmap_free(&o->map);
	path_free(&o->c.time_path);
	registry_conf_free(&o->sch.conf);
}

/* --- delivery ------------------------------------------------------------ */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct producer *p = opaque;
	bool dl = p->rej.policy == ON_ERROR_DEAD_LETTER;
	struct origin *org = dl ? m->_private : NULL;
	uint64_t lineno = dl ? org->lineno : (uint64_t)(uintptr_t)m->_private;

	(void)rk;
	if (!m->err) {
		p->delivered++;
	} else if (p->aborting && (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
	    m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)) {
		/* not written on purpose: txn_abort() said so */
	} else {
		char where[512], why[512];

		p->failed++;
		snprintf(where, sizeof(where), "%s:%" PRIu64, p->lr.name, lineno);
		snprintf(why, sizeof(why), "delivery to %s failed: %s",
		    rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		if (p->rej.policy == ON_ERROR_FAIL)
			diag_error("%s: %s", where, why);
		else
			reject(&p->rej, where, why, org ? org->line : "",
			    org ? org->len : 0);
	}
	free(org);
}

/* Waits until every message produced so far is acknowledged or failed. */
static void flush_all(struct producer *p)
{
	while (rd_kafka_outq_len(p->rk) > 0) {
		char why[256];

		rd_kafka_flush(p->rk, 500);
		if (kafka_fatal_error(p->rk, why, sizeof(why)))
			diag_fatal("kafka: %s", why);
	}
}

/* A failed delivery under --on-error fail ends the run: a checkpoint
 * must not be acknowledged past a lost message. */
static void check_failures(struct producer *p)
{
	if (p->failed > p->failed_at_barrier && p->rej.policy == ON_ERROR_FAIL)
		diag_fatal("%" PRIu64 " message%s not delivered", p->failed,
		    p->failed == 1 ? "" : "s");
}

static void txn_check(rd_kafka_error_t *e, const char *what)
{
	if (e == NULL)
		return;
	diag_fatal("%s: %s", what, rd_kafka_error_string(e));
}

static void txn_begin(struct producer *p)
{
	if (p->o->txn_id == NULL || p->in_txn)
		return;
	txn_check(rd_kafka_begin_transaction(p->rk), "begin transaction");
	p->in_txn = true;
	p->txn_msgs = 0;
}

static void txn_commit(struct producer *p)
{
	rd_kafka_error_t *e;

	if (!p->in_txn)
		return;
	e = rd_kafka_commit_transaction(p->rk, -1);
	if (e != NULL && rd_kafka_error_txn_requires_abort(e)) {
		diag_error("commit transaction: %s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		txn_check(rd_kafka_abort_transaction(p->rk, -1), "abort transaction");
		diag_fatal("transaction aborted: %" PRIu64 " messages not written",
		    p->txn_msgs);
	}
	txn_check(e, "commit transaction");
	p->in_txn = false;
}

static void txn_abort(struct producer *p, const char *why)
{
	if (!p->in_txn)
		return;
	if (p->txn_msgs > 0)
		diag_warn("%s: aborting the open transaction (%" PRIu64
		    " message%s)", why, p->txn_msgs, p->txn_msgs == 1 ? "" : "s");
	p->aborting = true;
	txn_check(rd_kafka_abort_transaction(p->rk, -1), "abort transaction");
	p->in_txn = false;
}

/* --- resuming after a restart ------------------------------------------- */

/* True when the messages carry the barrier header: the transactions
 * line up with checkpoints. */
static bool tagging(const struct producer *p)
{
	return p->o->txn_id != NULL && p->st.store != NULL;
}

/* The header value naming barrier id of this producer: "TXID/N". */
static void barrier_tag(const struct producer *p, uint64_t id, struct buf *b)
{
	buf_reset(b);
	buf_appends(b, p->o->txn_id);
	buf_appendc(b, '/');
	buf_append_u64(b, id);
}

/* Adds "fs-barrier: TXID/N" to p->msg, N the barrier that ends the open
 * transaction. */
static void tag_barrier(struct producer *p)
{
	struct buf tag = BUF_INIT;

	barrier_tag(p, p->st.last_id + 1, &tag);
	if (p->msg.headers == NULL)
		p->msg.headers = rd_kafka_headers_new(1);
	rd_kafka_header_add(p->msg.headers, BARRIER_HEADER, -1, tag.data,
	    (ssize_t)tag.len);
	buf_free(&tag);
}

/* The barrier id m's last barrier header names, when that header is
 * this producer's ("TXID/N"); 0 otherwise. */
static uint64_t message_barrier(const struct producer *p,
    rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h;
	const void *v;
	size_t n, tl = strlen(p->o->txn_id);
	uint64_t id = 0;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, BARRIER_HEADER, &v, &n) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL || n <= tl + 1 ||
	    memcmp(v, p->o->txn_id, tl) != 0 || ((const char *)v)[tl] != '/')
		return 0;
	for (size_t i = tl + 1; i < n; i++) {
		char c = ((const char *)v)[i];

		if (c < '0' || c > '9' || id > (UINT64_MAX - 9) / 10)
			return 0;
		id = id * 10 + (uint64_t)(c - '0');
	}
	return id;
}

/* What identifies a message for the drop: its key and value (absent
 * ones told apart from empty ones), in p->rs.ident. */
static void resume_ident(struct producer *p, bool has_key, const void *key,
    size_t klen, bool has_value, const void *value, size_t vlen)
{
	struct buf *b = &p->rs.ident;
	uint64_t kl = has_key ? klen : 0;

	buf_reset(b);
	buf_appendc(b, has_key ? 'k' : '-');
	buf_append(b, &kl, sizeof(kl));
	if (has_key)
		buf_append(b, key, klen);
	buf_appendc(b, has_value ? 'v' : '-');
	if (has_value)
		buf_append(b, value, vlen);
}

/* Adds p->rs.ident to the messages to drop, n times. */
static void resume_add(struct producer *p, uint64_t n)
{
	struct hashtab_slot *sl = hashtab_put(&p->rs.done, p->rs.ident.data,
	    p->rs.ident.len);
	struct resume_msg *r = sl->val;

	if (r == NULL) {
		r = xmalloc(sizeof(*r) + p->rs.ident.len);
		r->n = 0;
		r->len = p->rs.ident.len;
		memcpy(r->ident, p->rs.ident.data, r->len);
		sl->key = r->ident;
		sl->val = r;
	}
	r->n += n;
	p->rs.pending += n;
}

/* Widens the barriers whose messages are dropped to [from, to]. */
static void resume_span(struct producer *p, uint64_t from, uint64_t to)
{
	if (p->rs.txn == 0 || from < p->rs.txn)
		p->rs.txn = from;
	if (to > p->rs.txn_last)
		p->rs.txn_last = to;
}

/*
 * Reads the committed messages of one partition in [from, to): those of
 * the transactions of barrier want and after are added to the messages
 * to drop, *last the highest such barrier.  True when one of an earlier
 * transaction of this producer was among them (no message of the killed
 * run's later transactions comes before it).
 */
static bool partition_collect(struct producer *p, rd_kafka_topic_t *rkt,
    int32_t part, int64_t from, int64_t to, uint64_t want, uint64_t *last)
{
	const char *topic = rd_kafka_topic_name(rkt);
	bool earlier = false;
	int waited = 0;

	if (rd_kafka_consume_start(rkt, part, from) < 0)
		diag_fatal("resume: cannot read '%s' [%" PRId32 "]: %s", topic,
		    part, rd_kafka_err2str(rd_kafka_last_error()));
	for (;;) {
		rd_kafka_message_t *m = rd_kafka_consume(rkt, part, 500);
		uint64_t id;

		if (m == NULL) {
			if ((waited += 500) >= RESUME_WAIT_MS)
				diag_fatal("resume: no messages from '%s' [%"
				    PRId32 "] in %ds", topic, part,
				    RESUME_WAIT_MS / 1000);
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
		    (!m->err && m->offset >= to)) {
			rd_kafka_message_destroy(m);
			break;
		}
		if (m->err)
			diag_fatal("resume: cannot read '%s' [%" PRId32 "]: %s",
			    topic, part, rd_kafka_message_errstr(m));
		id = message_barrier(p, m);
		if (id >= want) {
			resume_ident(p, m->key != NULL, m->key, m->key_len,
			    m->payload != NULL, m->payload, m->len);
			resume_add(p, 1);
			if (id > *last)
				*last = id;
		} else if (id != 0) {
			earlier = true;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consume_stop(rkt, part);
	return earlier;
}

/*
 * The committed messages of the transactions of barrier id and after,
 * from every partition of the topic (read_committed: aborted ones are
 * not seen), into the messages to drop.  Each partition is read back
 * from its end in growing steps until a message of an earlier
 * transaction of this producer shows where that transaction began, or
 * to its start.
 * *last is the highest barrier found.
 */
static void txn_collect(struct producer *p, uint64_t id, uint64_t *last)
{
	const char *topic = p->o->topic;
	rd_kafka_t *rk = kafka_new(RD_KAFKA_CONSUMER,
	    rd_kafka_conf_dup(p->rs.conf));
	int ms = p->o->k.md_timeout_ms;
	const rd_kafka_metadata_t *md = kafka_metadata(rk, topic, ms);
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);

	for (int i = 0; md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
	    i < md->topics[0].partition_cnt; i++) {
		int32_t part = md->topics[0].partitions[i].id;
		int64_t lo, hi, from, to, step = RESUME_TAIL;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk,
		    topic, part, &lo, &hi, ms);

		if (err)
			diag_fatal("resume: offsets of '%s' [%" PRId32 "]: %s",
			    topic, part, rd_kafka_err2str(err));
		for (to = hi; to > lo; to = from, step *= 2) {
			from = to - step > lo ? to - step : lo;
			if (partition_collect(p, rkt, part, from, to, id, last))
				break;
		}
	}
	rd_kafka_topic_destroy(rkt);
	rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(rk);
}

/* The consumer's configuration: the producer's, for a read_committed
 * reader that stops at the end of each partition.  Only with -t: with
 * envelopes the topics are not known in advance. */
static void resume_init(struct producer *p)
{
	static const char *producer_only[] = { "transactional.id",
	    "enable.idempotence", "linger.ms", "queue.buffering.max.ms" };
	char errstr[512];

	if (!tagging(p) || p->o->topic == NULL)
		return;
	p->rs.conf = rd_kafka_conf_dup_filter(p->o->k.conf,
	    sizeof(producer_only) / sizeof(*producer_only), producer_only);
	if (kafka_conf_set2(p->rs.conf, "enable.partition.eof", "true", errstr,
	    sizeof(errstr)) < 0 || kafka_conf_set2(p->rs.conf,
	    "isolation.level", "read_committed", errstr, sizeof(errstr)) < 0 ||
	    kafka_conf_set2(p->rs.conf, "enable.auto.commit", "false", errstr,
	    sizeof(errstr)) < 0)
		diag_fatal("librdkafka: %s", errstr);
}

/* The pipeline resumes from checkpoint restored: when the killed run
 * committed the transaction of the next barrier (or of later ones, ahead
 * of another sink), their messages are dropped when the replay makes
 * them again. */
static void resume_check(struct producer *p, uint64_t restored)
{
	uint64_t next = restored + 1, last = 0, n = p->rs.pending;

	if (p->rs.conf == NULL || p->rs.checked == next)
		return;
	p->rs.checked = next;
	txn_collect(p, next, &last);
	if (p->rs.pending == n)
		return;
	n = p->rs.pending - n;
	resume_span(p, next, last);
	if (last == next)
		diag_info("the transaction of barrier %" PRIu64 " was committed "
		    "before the restart: its %" PRIu64 " message%s not "
		    "produced again", next, n, n == 1 ? " is" : "s are");
	else
		diag_info("the transactions of barriers %" PRIu64 " to %" PRIu64
		    " were committed before the restart: their %" PRIu64
		    " message%s not produced again", next, last, n,
		    n == 1 ? " is" : "s are");
}

/* The messages still to drop, for the checkpoint: the barriers they
 * were committed with, and each one's key and value (as resume_ident()
 * writes them, in base64) with how many times it is still to come. */
static json_t *resume_save(const struct producer *p)
{
	json_t *msgs = json_array();
	struct buf b = BUF_INIT;
	struct hashtab_slot *sl;
	size_t i = 0;

	while ((sl = hashtab_next(&p->rs.done, &i)) != NULL) {
		const struct resume_msg *r = sl->val;

		if (r->n == 0)
			continue;
		buf_reset(&b);
		base64_encode(&b, r->ident, r->len);
		json_array_append_new(msgs, json_pack("{s:s%,s:I}", "ident",
		    b.data, b.len, "n", (json_int_t)r->n));
	}
	buf_free(&b);
	return json_pack("{s:I,s:I,s:o}", "from", (json_int_t)p->rs.txn,
	    "to", (json_int_t)p->rs.txn_last, "messages", msgs);
}

/* The messages a checkpoint says are still to drop (resume_save()),
 * added to those of the transactions committed after it.  -1 when the
 * state is not such. */
static int resume_load(struct producer *p, const json_t *pend, uint64_t id)
{
	json_int_t from, to, n;
	json_t *msgs, *m;
	const char *ident;
	size_t i, len, before = p->rs.pending;

	if (json_unpack((json_t *)pend, "{s:I,s:I,s:o}", "from", &from, "to",
	    &to, "messages", &msgs) != 0 || !json_is_array(msgs) || from < 1 ||
	    to < from)
		return -1;
	json_array_foreach(msgs, i, m) {
		if (json_unpack(m, "{s:s%,s:I}", "ident", &ident, &len, "n",
		    &n) != 0 || n < 1)
			return -1;
		buf_reset(&p->rs.ident);
		if (base64_decode(&p->rs.ident, ident, len) != 0)
			return -1;
		resume_add(p, (uint64_t)n);
	}
	resume_span(p, (uint64_t)from, (uint64_t)to);
	diag_info("%" PRIu64 " message%s committed before checkpoint %" PRIu64
	    " still to come: not produced again", p->rs.pending - before,
	    p->rs.pending - before == 1 ? "" : "s", id);
	return 0;
}

/* True when the message in p->msg was committed before the restart:
 * it is dropped (and counted). */
static bool resume_drop(struct producer *p)
{
	struct kafka_msg *m = &p->msg;
	struct hashtab_slot *sl;
	struct resume_msg *r;

	if (p->rs.pending == 0)
		return false;
	resume_ident(p, m->has_key, m->key.data, m->key.len, m->has_value,
	    m->value_ptr, m->value_len);
	sl = hashtab_get(&p->rs.done, p->rs.ident.data, p->rs.ident.len);
	if (sl == NULL || (r = sl->val)->n == 0)
		return false;
	r->n--;
	p->rs.dropped++;
	if (--p->rs.pending > 0)
		return true;
	if (p->rs.txn_last == p->rs.txn)
		diag_info("%" PRIu64 " record%s of the transaction of barrier %"
		    PRIu64 " dropped: committed before the restart",
		    p->rs.dropped, p->rs.dropped == 1 ? "" : "s", p->rs.txn);
	else
		diag_info("%" PRIu64 " record%s of the transactions of barriers %"
		    PRIu64 " to %" PRIu64 " dropped: committed before the "
		    "restart", p->rs.dropped, p->rs.dropped == 1 ? "" : "s",
		    p->rs.txn, p->rs.txn_last);
	return true;
}

static void resume_free(struct resume *rs)
{
	size_t i = 0;
	struct hashtab_slot *sl;

	while ((sl = hashtab_next(&rs->done, &i)) != NULL)
		free(sl->val);
	hashtab_free(&rs->done);
	buf_free(&rs->ident);
	if (rs->conf != NULL)
		rd_kafka_conf_destroy(rs->conf);
}

/* --- the feature registry (--view) -------------------------------------- */

/* Every few seconds, while records flow, as fs-sink-aerospike does. */
#define VIEW_EVERY_MS 5000

static struct view_reg *view_open(const struct opts *o)
{
	struct view_reg *v = xcalloc(1, sizeof *v);
	const char *keys = o->map.key_text ? o->map.key_text : "";

	v->password = as_opts_password(&o->as);
	struct as_exec_opts eo;

	as_opts_connect_registry(&o->as, v->password, 2, &v->cl, &eo);
	/* several key fields make a JSON array key: no separator */
	as_registry_open(&v->reg, &v->cl, &eo, o->view, "", keys, "");
	v->reg.topic = o->topic;
	v->reg.refusal = "write to a new topic (-t) or view (--view)";
	v->keys = json_array();
	if (*keys != '\0') {
		json_t *part = json_object();

		def_part_key(part, keys);
		json_array_extend(v->keys, json_object_get(part, "key"));
		json_decref(part);
	}
	v->tick_ms = etime_now_ms();
	return v;
}

static void view_close(struct view_reg *v)
{
	if (v == NULL)
		return;
	as_registry_close(&v->reg);
	as_cluster_close(&v->cl);
	json_decref(v->keys);
	free(v->password);
	free(v);
}

/* Registers lineage (stolen; NULL: no definition came) and the
 * producer's part; a definition that changes mid-stream, or one the
 * view refuses, ends the run (exit 1). */
static void view_define(struct producer *p, json_t *lineage)
{
	struct view_reg *v = p->view;
	char why[AS_REGISTRY_WHY_MAX], version[DEF_VERSION_LEN + 1];
	json_t *part = def_part_new("sink");

	json_object_set_new(part, "topic", json_string(p->o->topic));
	json_object_set(part, "key", v->keys);
	if (lineage == NULL)
		lineage = json_array();
	json_array_append_new(lineage, part);
	if (v->defined) {
		def_version(lineage, version);
		if (strcmp(version, v->reg.version) != 0)
			diag_fatal("view '%s': the definition changed from "
			    "version %s to %s mid-stream", v->reg.view,
			    v->reg.version, version);
		json_decref(lineage);
		return;
	}
	if (as_registry_define(&v->reg, lineage, false, why) < 0)
		diag_fatal("%s", why);
	v->defined = true;
}

/* The members of a record written: the view's features. */
static void view_note(struct producer *p, const json_t *obj)
{
	const char *k;
	size_t kn;
	json_t *x;

	json_object_keylen_foreach((json_t *)obj, k, kn, x) {
		size_t i;
		json_t *key;
		bool is_key = false;

		json_array_foreach(p->view->keys, i, key)
			if (strcmp(json_string_value(key), k) == 0)
				is_key = true;
		if (!is_key)
			as_registry_note(&p->view->reg, k, kn, x);
	}
}

/* Tells the registry what is acknowledged: deliveries since the last
 * update, and the newest watermark whose messages before it all are. */
static void view_update(struct producer *p)
{
	struct view_reg *v = p->view;
	char why[AS_REGISTRY_WHY_MAX];

	if (v == NULL || !v->defined)
		return;
	if (p->delivered > v->delivered) {
		as_registry_wrote(&v->reg);
		v->delivered = p->delivered;
	}
	if (v->has_wm && p->delivered + p->failed >= v->wm_at) {
		as_registry_watermark(&v->reg, v->wm);
		v->has_wm = false;
	}
	if (as_registry_update(&v->reg, why) < 0)
		diag_error("%s", why);
	v->tick_ms = etime_now_ms();
}

static void view_tick(struct producer *p)
{
	if (p->view != NULL && etime_now_ms() - p->view->tick_ms >=
	    VIEW_EVERY_MS)
		view_update(p);
}

/* --- checkpoints ------------------------------------------------------- */

/* The sink's part of a checkpoint: everything before the barrier is
 * acknowledged (or committed) before the stage writes its file. */
static json_t *snapshot_hook(void *ctx, uint64_t id)
{
	struct producer *p = ctx;
	json_t *state;

	(void)id;
	if (p->o->txn_id != NULL)
		txn_commit(p);
	else
		flush_all(p);
	check_failures(p);
	p->failed_at_barrier = p->failed;
	view_update(p);
	state = json_pack("{s:I}", "delivered", (json_int_t)p->delivered);
	if (p->rs.pending > 0)
		json_object_set_new(state, "pending", resume_save(p));
	return state;
}

/* A sink holds no state of its own but the messages committed before a
 * restart still to drop (see Exactly once above). */
static int restore_hook(void *ctx, const json_t *state, uint64_t id)
{
	struct producer *p = ctx;
	const json_t *pend = json_object_get(state, "pending");

	if (pend == NULL || p->rs.conf == NULL)
		return 0;
	if (resume_load(p, pend, id) == 0)
		return 0;
	diag_error("checkpoint %" PRIu64 ": 'pending' is not a list of "
	    "messages to drop", id);
	return -1;
}

/* --- records to messages ------------------------------------------------- */

static rd_kafka_topic_t *topic_handle(struct producer *p, const char *name)
{
	if (p->rkt == NULL || strcmp(rd_kafka_topic_name(p->rkt), name) != 0) {
		if (p->rkt != NULL)
			rd_kafka_topic_destroy(p->rkt);
		p->rkt = rd_kafka_topic_new(p->rk, name, NULL);
		if (p->rkt == NULL)
			diag_fatal("topic '%s': %s", name,
			    rd_kafka_err2str(rd_kafka_last_error()));
	}
	return p->rkt;
}

/* Hands p->msg to librdkafka, waiting while its queue is full. */
static void send_msg(struct producer *p, const char *line, size_t len)
{
	struct kafka_msg *m = &p->msg;
	struct origin *org = NULL;
	void *opaque = (void *)(uintptr_t)p->lr.lineno;
	const char *topic = p->o->topic ? p->o->topic : m->topic;
	int32_t part = p->o->partition != PARTITION_NONE ?
	    (int32_t)p->o->partition : m->partition;
	rd_kafka_resp_err_t err;

	if (p->rej.policy == ON_ERROR_DEAD_LETTER) {
		org = xmalloc(sizeof(*org) + len);
		org->lineno = p->lr.lineno;
		org->len = len;
		memcpy(org->line, line, len);
		opaque = org;
	}
	if (m->has_value && m->value_ptr == NULL) {
		m->value_ptr = m->value.data;
		m->value_len = m->value.len;
	}
	if (resume_drop(p)) {
		free(org);
		return;
	}
	txn_begin(p);
	if (tagging(p))
		tag_barrier(p);
	for (;;) {
		rd_kafka_topic_t *rkt = topic_handle(p, topic);

		if (m->headers == NULL && m->timestamp == 0) {
			/* the common case, without producev's argument list */
			err = rd_kafka_produce(rkt, part, RD_KAFKA_MSG_F_COPY,
			    (void *)m->value_ptr, m->value_len,
			    m->has_key ? m->key.data : NULL,
			    m->has_key ? m->key.len : 0, opaque) == 0 ?
			    RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_last_error();
		} else {
			err = rd_kafka_producev(p->rk,
			    RD_KAFKA_V_RKT(rkt),
			    RD_KAFKA_V_PARTITION(part),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_VALUE((void *)m->value_ptr, m->value_len),
			    RD_KAFKA_V_KEY(m->has_key ? m->key.data : NULL,
				m->has_key ? m->key.len : 0),
			    RD_KAFKA_V_TIMESTAMP(m->timestamp),
			    RD_KAFKA_V_HEADERS(m->headers),
			    RD_KAFKA_V_OPAQUE(opaque),
			    RD_KAFKA_V_END);
		}
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(p->rk, 100);
	}
	if (err) {
		char where[512], why[512];

		free(org);
		snprintf(where, sizeof(where), "%s:%" PRIu64, p->lr.name,
		    p->lr.lineno);
		snprintf(why, sizeof(why), "cannot produce to %s: %s", topic,
		    rd_kafka_err2str(err));
		reject(&p->rej, where, why, line, len);
		return;         /* the headers are still ours: reset frees them */
	}
	m->headers = NULL;      /* librdkafka owns them now */
	p->produced++;
	p->txn_msgs++;
}

/* Rejects the current line.  Under --on-error fail that ends the run,
 * so what was produced before it is delivered first (and an open
 * transaction is aborted: what it held was not checkpointed). */
static void reject_here(struct producer *p, const char *why,
    const char *line, size_t len)
{
	if (p->rej.policy == ON_ERROR_FAIL) {
		/* an open transaction would hold back read_committed
		 * consumers until the broker times it out */
		txn_abort(p, "bad input");
		flush_all(p);
	}
	reject_line(&p->rej, &p->lr, why, line, len);
}

/* True when a record becomes a message as is: no field to look up. */
static bool plain_value(const struct opts *o)
{
	return !o->envelope && kafka_recmap_plain(&o->map) &&
	    o->sch.registry == NULL;
}

/* --- -s: Confluent-framed Avro or Protobuf ------------------------------ */

static char *read_file(const char *path)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		diag_fatal("cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(f))
		diag_fatal("cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	if (b.data == NULL)
		buf_appends(&b, "");
	return b.data;
}

/*
 * A .proto file as fs-produce registers it: a base64 FileDescriptorProto,
 * the form the official Confluent serializers register.  Apicurio keeps
 * a schema as it was given, and the official deserializers read only
 * this form from it.
 */
static char *proto_registered(char *text, const char *file)
{
	char why[SCHEMA_ERR_MAX];
	struct proto_sch *s = protosch_new(text, strlen(text), why);
	char *desc;

	if (s == NULL)
		diag_fatal("%s: %s", file, why);
	if ((desc = protosch_descriptor(s)) == NULL)
		diag_fatal("%s: cannot serialize its descriptor", file);
	protosch_free(s);
	free(text);
	return desc;
}

/* The schema a key or value is written with: file registered under the
 * subject, or without file the subject's latest version; exits 1 when
 * the registry says no or cannot be reached. */
static void avro_out_setup(struct producer *p, struct avro_out *a,
    enum schema_fmt fmt, const char *subject, const char *suffix,
    const char *file)
{
	char why[SCHEMA_ERR_MAX];
	int64_t id;

	if (subject != NULL) {
		a->subject = xstrdup(subject);
	} else {
		a->subject = xmalloc(strlen(p->o->topic) + strlen(suffix) + 1);
		memcpy(a->subject, p->o->topic, strlen(p->o->topic));
		memcpy(a->subject + strlen(p->o->topic), suffix,
		    strlen(suffix) + 1);
	}
	if (file != NULL) {
		char *text = read_file(file);

		if (fmt == SCHEMA_PROTOBUF)
			text = proto_registered(text, file);
		id = registry_register(p->reg, a->subject, text, fmt, why);
		free(text);
	} else {
		id = registry_latest(p->reg, a->subject, why);
	}
	if (id < 0)
		diag_fatal("subject '%s': %s", a->subject, why);
	a->id = (uint32_t)id;
	if (fmt == SCHEMA_PROTOBUF ?
	    (a->ps = registry_proto(p->reg, a->id, why)) == NULL :
	    (a->s = registry_schema(p->reg, a->id, why)) == NULL)
		diag_fatal("subject '%s': %s", a->subject, why);
}

static void avro_setup(struct producer *p)
{
	const struct opts *o = p->o;

	if (o->sch.registry == NULL)
		return;
	p->reg = registry_new(o->sch.registry, &o->sch.conf);
	p->akey.message = o->key_message;
	p->aval.message = o->value_message;
	if (o->sch.key)
		avro_out_setup(p, &p->akey, o->sch.key, o->key_subject, "-key",
		    o->key_schema);
	if (o->sch.value)
		avro_out_setup(p, &p->aval, o->sch.value, o->value_subject,
		    "-value", o->value_schema);
}

/* Replaces the bytes in b with v written as a's schema; -1 with why. */
static int avro_out_encode(const struct avro_out *a, const char *what,
    const json_t *v, struct buf *b, char *why)
{
	char reason[SCHEMA_ERR_MAX];

	buf_reset(b);
	confluent_header(b, a->id);
	if (a->ps ? protosch_encode(a->ps, a->message, v, b, reason) == 0 :
	    avsch_encode(a->s, v, b, reason) == 0)
		return 0;
	snprintf(why, REC_ERR_MAX, "%s does not fit schema id %" PRIu32
	    " (subject '%s'): %s", what, a->id, a->subject, reason);
	return -1;
}

/* -s: p->msg's key and value (mapped from obj) written as Avro or
 * Protobuf. */
static int avro_msg(struct producer *p, const json_t *obj, char *why)
{
	const struct opts *o = p->o;
	struct kafka_msg *m = &p->msg;
	const json_t *v;
	json_t *key;
	int rc = 0;

	if ((p->aval.s || p->aval.ps) && m->has_value) {
		v = o->envelope ? json_object_get(obj, "value") :
		    kafka_recmap_value_json(&o->map, obj);
		if (avro_out_encode(&p->aval, "value", v, &m->value, why) < 0)
			return -1;
		m->value_ptr = NULL;
	}
	if ((p->akey.s || p->akey.ps) && m->has_key) {
		key = o->envelope ? json_incref(json_object_get(obj, "key")) :
		    kafka_recmap_key_json(&o->map, obj);
		rc = avro_out_encode(&p->akey, "key", key, &m->key, why);
		json_decref(key);
	}
	return rc;
}

/*
 * -s value=avro's hot path: a data record that is the whole value is
 * written as Avro straight from its text (avsch_encode_text()), as the
 * tree path would write it; false when the line needs that path.
 */
static bool avro_text_value(struct producer *p, const char *line, size_t len)
{
	const struct opts *o = p->o;
	struct kafka_msg *m = &p->msg;

	if (p->aval.s == NULL || o->envelope || !kafka_recmap_plain(&o->map) ||
	    rec_line_maybe_control(line, len))
		return false;
	kafka_msg_reset(m);
	confluent_header(&m->value, p->aval.id);
	if (avsch_encode_text(p->aval.s, line, len, &m->value) != 0)
		return false;   /* the tree path resets m */
	stage_data(&p->st);
	m->has_value = true;
	send_msg(p, line, len);
	return true;
}

/* After stage_control() handled c (the checkpoint file is written). */
static void on_barrier_or_restore(struct producer *p, const struct ctl *c)
{
	if (c->kind == CTL_RESTORE) {
		/* restore 0 (fresh): setup's resume_check() did what applies */
		if (c->id > 0)
			resume_check(p, c->id);
		return;
	}
	txn_begin(p);
}

static void on_record(struct producer *p, const char *line, size_t len)
{
	char why[REC_ERR_MAX];
	struct ctl c;
	json_t *obj;
	int rc;

	/* The hot path: a line that is certainly a data record is sent as
	 * its bytes, without building it. */
	if (plain_value(p->o) && p->view == NULL &&
	    rec_quick_object(line, len) && !rec_line_maybe_control(line, len)) {
		stage_data(&p->st);
		kafka_msg_reset(&p->msg);
		p->msg.has_value = true;
		p->msg.value_ptr = line;        /* librdkafka copies it */
		p->msg.value_len = len;
		send_msg(p, line, len);
		return;
	}
	if (avro_text_value(p, line, len))
		return;
	obj = rec_parse(line, len, why);

	if (obj == NULL) {
		reject_here(p, why, line, len);
		return;
	}
	if (rec_line_maybe_control(line, len) &&
	    rec_control(obj, &c, why) != CTL_NONE) {
		if (c.kind == CTL_INVALID)
			reject_here(p, why, line, len);
		else switch (stage_control(&p->st, &c, NULL, why)) {
		case STAGE_INVALID:
			reject_here(p, why, line, len);
			break;
		case STAGE_HANDLED:
			if (c.kind != CTL_END)
				on_barrier_or_restore(p, &c);
			break;
		case STAGE_PASS:
			break;
		}
		if (p->view != NULL && c.kind == CTL_OTHER && def_is(obj)) {
			const json_t *l = json_object_get(obj, "lineage");

			view_define(p, json_is_array(l) ? json_deep_copy(l) :
			    json_array());
		}
		if (p->view != NULL && c.kind == CTL_WATERMARK &&
		    c.ts > INT64_MIN) {
			p->view->has_wm = true;
			p->view->wm = c.ts;
			p->view->wm_at = p->produced;
		}
		/* watermarks and unknown control records end here: a sink */
		json_decref(obj);
		return;
	}
	stage_data(&p->st);
	if (p->view != NULL) {
		if (!p->view->defined)
			view_define(p, NULL);
		view_note(p, obj);
	}
	if (p->o->envelope)
		rc = kafka_env_decode(obj, &p->msg, why);
	else {
		fieldseen_record(&p->seen, obj);
		rc = kafka_recmap_msg(&p->o->map, obj, line, len, &p->msg, why);
	}
	if (rc == 0 && p->o->topic == NULL && p->msg.topic == NULL) {
		snprintf(why, sizeof(why), "envelope without 'topic' (and no -t)");
		rc = -1;
	}
	if (rc == 0 && p->reg != NULL)
		rc = avro_msg(p, obj, why);
	if (rc < 0)
		reject_here(p, why, line, len);
	else
		send_msg(p, line, len);
	json_decref(obj);
}

/* --- main ---------------------------------------------------------------- */

/* Every field the options name, for a warning when no record had one
 * (fieldseen.h). */
static void watch_fields(struct producer *p)
{
	const struct opts *o = p->o;

	fieldseen_init(&p->seen, o->strict);
	if (o->map.key_text)
		fieldseen_add_keys(&p->seen, &o->map.key, "-k", o->map.key_text);
	for (size_t i = 0; i < o->map.nheaders; i++)
		fieldseen_add(&p->seen, &o->map.headers[i].path, "-H",
		    o->map.headers[i].arg);
	if (o->map.value_field_text)
		fieldseen_add(&p->seen, &o->map.value_field, "--value-field",
		    o->map.value_field_text);
}

static void setup_producer(struct producer *p)
{
	struct opts *o = p->o;

	resume_init(p);
	rd_kafka_conf_set_opaque(o->k.conf, p);
	rd_kafka_conf_set_dr_msg_cb(o->k.conf, dr_cb);
	p->rk = kafka_new(RD_KAFKA_PRODUCER, o->k.conf);
	o->k.conf = NULL;
	/* A wrong or unreachable address fails now, not when the first
	 * message times out (or init_transactions() does). */
	kafka_await_reachable(p->rk, o->k.reach_ms);
	kafka_await_broker(p->rk, o->k.md_timeout_ms);
	if (o->txn_id != NULL)
		txn_check(rd_kafka_init_transactions(p->rk, 60000),
		    "init transactions");
	/* After init_transactions: the killed run's open transaction is
	 * aborted.  A restore record, if any, comes with the same id.  In
	 * a new checkpoint directory, no transaction was ours: whatever
	 * the topic holds is another pipeline's. */
	if (p->rs.conf != NULL && !p->rs.fresh)
		resume_check(p, ckpt_latest_complete(p->st.store));
}

static void produce_loop(struct producer *p)
{
	const char *line;
	size_t len;
	int rc;

	for (;;) {
		if (sig_stop_requested())
			break;
		/* Serve delivery reports while the input is quiet. */
		while (!lineio_has_line(&p->lr) && !p->lr.eof) {
			rd_kafka_poll(p->rk, 0);
			view_tick(p);
			if (lineio_wait(&p->lr, 100) != 0 || sig_stop_requested())
				break;
		}
		if (sig_stop_requested())
			break;
		rc = lineio_read(&p->lr, &line, &len);
		if (rc == 0)
			break;
		if (rc == -2)
			continue;
		if (rc < 0)
			diag_fatal("read error: '%s': %s", p->lr.name,
			    strerror(p->lr.err));
		on_record(p, line, len);
		if ((p->produced & 1023) == 0) {
			rd_kafka_poll(p->rk, 0);
			view_tick(p);
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct producer p;
	bool cut;
	int absent;

	parse_options(&o, argc, argv);
	memset(&p, 0, sizeof(p));
	p.o = &o;
	watch_fields(&p);
	kafka_msg_init(&p.msg);
	lineio_init_fd(&p.lr, 0, "-");
	lineio_set_metrics(&p.lr, o.c.metrics);
	rejects_init(&p.rej, &o.c, NULL);
	hashtab_init(&p.rs.done);
	o.c.ckpt_backend = &kafka_ckpt_backend;
	/* A store in Kafka is reached as the topic is (SASL, TLS). */
	o.c.ckpt_props = kafka_conf_connection(o.k.conf);
	stage_init(&p.st, &o.c, (struct stage_hooks){ snapshot_hook,
	    restore_hook, &p });
	avro_setup(&p);
	if (o.view != NULL)
		p.view = view_open(&o);
	/* No earlier run in this store: its transactions are none of ours. */
	p.rs.fresh = p.st.store != NULL && !ckpt_stage_known(p.st.store);
	setup_producer(&p);
	produce_loop(&p);

	/* The end of the stream (see stage.h): its checkpoint commits what
	 * came before it.  Without barriers, the end of input commits.  A
	 * signal does not, nor an input cut short. */
	cut = !sig_stop_requested() && !stage_input_complete(&p.st);
	if (!cut && !sig_stop_requested() && p.st.ended)
		stage_emit_end(&p.st, NULL);
	if (p.in_txn) {
		if (sig_stop_requested())
			txn_abort(&p, "stopped by a signal");
		else if (cut)
			txn_abort(&p, "input cut short");
		else
			txn_commit(&p);
	}
	flush_all(&p);
	if (!sig_stop_requested() && !cut)
		view_update(&p);
	view_close(p.view);
	if (o.c.stats)
		diag_error("%" PRIu64 " produced, %" PRIu64 " delivered, %" PRIu64
		    " failed", p.produced, p.delivered, p.failed);
	if (o.c.stats && p.rs.dropped > 0)
		diag_error("%" PRIu64 " dropped: committed before the restart",
		    p.rs.dropped);
	if (p.rkt != NULL)
		rd_kafka_topic_destroy(p.rkt);
	rd_kafka_destroy(p.rk);
	resume_free(&p.rs);
	stage_finish(&p.st);
	kafka_props_free(o.c.ckpt_props);
	kafka_msg_free(&p.msg);
	free(p.akey.subject);
	free(p.aval.subject);
	registry_free(p.reg);
	lineio_close(&p.lr);
	absent = fieldseen_finish(&p.seen);
	rejects_finish(&p.rej);
	opts_free(&o);
	if (p.failed > 0 && p.rej.policy == ON_ERROR_FAIL) {
		diag_error("%" PRIu64 " message%s not delivered", p.failed,
		    p.failed == 1 ? "" : "s");
		return 1;
	}
	if (cut || absent)
		return 1;
	return p.rej.count > 0 && p.rej.policy == ON_ERROR_FAIL ? 1 : 0;
}
