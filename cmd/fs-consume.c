/*
 * fs-consume - read Kafka topics as NDJSON: one envelope per message,
 * or with -V the value objects alone, for pipelines.  See fs-consume(1).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "kafka/kafka.h"
#include "reject.h"
#include "schema/schema.h"
#include "stage.h"
#include "tool.h"
#include "def.h"

#include "banned.h"

static const char usage_text[] =
"usage: fs-consume -b BROKERS -t TOPIC [-eJLQV] [-c COUNT] [-F FILE]\n"
"                  [-f FORMAT] [-G GROUP] [-K DELIM]\n"
"                  [-o OFFSET [-o STOP]] [-p PARTITIONS]\n"
"                  [-r URL -s SERDES] [-X KEY=VALUE]\n"
"                  [--checkpoint-interval DURATION]\n"
"                  [--checkpoint-records N] [--idle-timeout DURATION]\n"
"                  [--lag] [--max-out-of-orderness DURATION]\n"
"                  [--metadata-timeout DURATION] [--watermarks]\n"
"                  [common options]\n";

/*
 * --max-out-of-orderness B as Flink SQL's WATERMARK FOR rt AS rt -
 * INTERVAL B means it: a partition's watermark is its largest event
 * time T less B, plus 1 as fs watermarks count one more than Flink's
 * (fs(7), fs-window(1)), so that a record at T - B is late as Flink
 * drops it.  The default, 1ms, is Flink's ascending watermark: T.
 */
#define OOO_DEFAULT_MS 1

struct opts {
	struct fs_common c;
	struct kafka_opts k;    /* -b, -F, -X, --metadata-timeout */
	struct schema_opts sch; /* -r, -s */
	struct opt_list topics; /* -t */
	int32_t *parts;         /* -p, or NULL for all */
	size_t nparts, pcap;
	struct kafka_topics want;       /* -t and -p, as the library takes them */
	struct kafka_pos start, stop;
	int nofs;               /* -o given so many times */
	const char *group;
	const char *format, *key_delim;         /* -f, -K */
	bool exit_eof, list, query, lag, value_only, watermarks, kcat_json;
	int64_t count;          /* 0: no limit */
	int64_t ckpt_interval_ms, ckpt_records;
	int64_t idle_ms, ooo_ms;
};

struct consumer {
	struct opts *o;
	rd_kafka_t *rk;
	struct out out;
	struct rejects rej;
	struct kafka_parts ps;
	json_t *restored;       /* checkpoint state resumed from, or NULL */
	struct source_ckpt sc;
	json_t *pending;        /* [[id, offsets], ...] not yet committed */
	bool commit;            /* commit checkpoints' offsets to the group */
	bool store;             /* store emitted offsets for auto-commit */
	bool legacy;            /* without -G: librdkafka's simple consumer */
	rd_kafka_queue_t *q;    /* the simple consumer's queue */
	bool hold_unassigned;   /* a partition not assigned holds watermarks */
	uint64_t emitted;
	int64_t wm_emitted;
	struct buf line;
	struct kafka_fmt fmt;   /* -f or -K */
	bool formatted;         /* -f, -K or -J */
	struct registry *reg;   /* -s: schemas by id */
	struct buf akey, aval;  /* -s: the decoded key and value */
	bool aval_record;       /* aval is a record avsch_decode_to() wrote */
};

/* --- options ----------------------------------------------------------- */

/* -o, once for the start, and again for the stop. */
static void opt_offset(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	if (o->nofs == 2)
		diag_usage("-o: at most twice (start and stop)");
	if (o->nofs++ == 0)
		o->start = kafka_pos_parse(name, arg, false);
	else
		o->stop = kafka_pos_parse(name, arg, true);
}

static void opt_partitions(void *data, const char *name, const char *arg)
{
	struct opts *o = data;
	char *s = xstrdup(arg), *save = NULL, *tok;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		o->parts = xgrow(o->parts, &o->pcap, o->nparts + 1,
		    sizeof(*o->parts));
		o->parts[o->nparts++] = (int32_t)opt_i64(name, tok, 0, INT32_MAX);
	}
	free(s);
	if (o->nparts == 0)
		diag_usage("%s: no partition: '%s'", name, arg);
}

static void opt_ckpt_interval(void *data, const char *name, const char *arg)
{
	int64_t *ms = data;

	*ms = opt_duration(name, arg);
	if (*ms == 0)
		diag_usage("%s: must be more than 0", name);
}

/* Combinations the table cannot say. */
static void check_options(struct opts *o)
{
	char errstr[512];

	if (o->list + o->query + o->lag > 1)
		diag_usage("-L, -Q and --lag exclude each other");
	if (o->topics.n == 0 && !o->list)
		diag_usage("no topic: give -t TOPIC");
	if (o->query && o->start.kind != KAFKA_POS_TIME)
		diag_usage("-Q needs -o @TIME");
	if (o->lag && o->group == NULL)
		diag_usage("--lag needs -G GROUP");
	if (o->group != NULL && o->nparts > 0)
		diag_usage("-p conflicts with -G (the group assigns partitions)");
	if (o->group != NULL && !(o->start.kind == KAFKA_POS_NONE ||
	    o->start.kind == KAFKA_POS_BEGINNING || o->start.kind == KAFKA_POS_END ||
	    o->start.kind == KAFKA_POS_STORED))
		diag_usage("-o with -G: only beginning, end or stored (where a "
		    "partition without committed offset starts)");
	if (o->group == NULL && o->start.kind == KAFKA_POS_STORED &&
	    kafka_conf_get(o->k.conf, "group.id", errstr, sizeof(errstr)) == NULL)
		diag_usage("-o stored needs -G GROUP or -X group.id=...");
	for (size_t i = 0; i < o->topics.n; i++)
		if (o->topics.v[i][0] == '^' && o->group == NULL)
			diag_usage("-t %s: a pattern needs -G GROUP", o->topics.v[i]);
	if ((o->ooo_ms != OOO_DEFAULT_MS || o->idle_ms != 10000) &&
	    !o->watermarks)
		diag_usage("--max-out-of-orderness and --idle-timeout need --watermarks");
	if ((o->format != NULL) + (o->key_delim != NULL) + o->kcat_json +
	    o->value_only > 1)
		diag_usage("-f, -J, -K and -V exclude each other");
	if ((o->format != NULL || o->key_delim != NULL) &&
	    (o->watermarks || o->c.ckpt_dir != NULL))
		diag_usage("-f and -K write text, not records: not with "
		    "--watermarks or --checkpoint-dir");
	schema_opts_check(&o->sch);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_INT('c', NULL, &o->count, 1, INT64_MAX, "COUNT",
		    "exit after COUNT messages"),
		OPT_FLAG('e', NULL, &o->exit_eof,
		    "exit when every assigned partition reached its end"),
		OPT_STRING('f', NULL, &o->format, "FORMAT",
		    "kcat's format: %t %p %o %k %s %T %h %K %S %R"),
		OPT_STRING('G', NULL, &o->group, "GROUP",
		    "join consumer group GROUP (balanced assignment)"),
		OPT_FLAG('J', NULL, &o->kcat_json,
		    "kcat's JSON envelope (payload, ts, tstype, broker)"),
		OPT_STRING('K', NULL, &o->key_delim, "DELIM",
		    "print key DELIM value, one message a line"),
		OPT_FLAG('L', NULL, &o->list,
		    "print cluster metadata as JSON and exit"),
		OPT_CALLBACK('o', NULL, opt_offset, o, "OFFSET",
		    "start: beginning, end, stored, N, -N, @TIME;\n"
		    "given twice, the second is the stop: end, N, @TIME"),
		OPT_CALLBACK('p', NULL, opt_partitions, o, "PARTITIONS",
		    "only these partitions (comma-separated)"),
		OPT_FLAG('Q', NULL, &o->query,
		    "print the offsets for -o @TIME as JSON and exit"),
		OPT_LIST('t', NULL, &o->topics, "TOPIC",
		    "topic (repeatable; ^REGEX subscribes by pattern)"),
		OPT_FLAG('V', "value", &o->value_only,
		    "emit the value object alone, not the envelope"),
		OPT_CALLBACK(0, "checkpoint-interval", opt_ckpt_interval,
		    &o->ckpt_interval_ms, "DURATION",
		    "barrier interval (default 10s)"),
		OPT_INT(0, "checkpoint-records", &o->ckpt_records, 1, INT64_MAX,
		    "N", "a barrier every N messages"),
		OPT_DURATION(0, "idle-timeout", &o->idle_ms, 0, INT64_MAX,
		    "DURATION", "a partition silent this long does not\n"
		    "hold back watermarks (default 10s)"),
		OPT_FLAG(0, "lag", &o->lag,
		    "print the group's lag per partition and exit"),
		OPT_DURATION(0, "max-out-of-orderness", &o->ooo_ms, 0,
		    INT64_MAX, "DURATION", "watermark delay (default 1ms)"),
		OPT_FLAG(0, "watermarks", &o->watermarks,
		    "emit watermark control records"),
		OPT_GROUP_SCHEMA(&o->sch, "decode"),
		OPT_GROUP_KAFKA(&o->k),
		OPT_SORTED,
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};
	int first;

	memset(o, 0, sizeof(*o));
	fs_common_init(&o->c, argc, argv);
	kafka_opts_init(&o->k);
	o->k.registry = &o->sch.conf;
	o->ckpt_interval_ms = SOURCE_CKPT_INTERVAL_DEFAULT_MS;
	o->idle_ms = 10000;
	o->ooo_ms = OOO_DEFAULT_MS;
	first = opt_parse(usage_text, opts, OPT_WIDE_HELP(34), argc, argv);
	if (first < argc)
		diag_usage("unexpected argument: '%s'", argv[first]);
	fs_common_finish(&o->c);
	kafka_opts_finish(&o->k);
	check_options(o);
	o->want.topics = o->topics.v;
	o->want.ntopics = o->topics.n;
	o->want.parts = o->parts;
	o->want.nparts = o->nparts;
}

/* --- checkpoints and watermarks ---------------------------------------- */

/* A barrier, or with end the end of the stream (the last barrier). */
static void barrier(struct consumer *k, bool end)
{
	json_t *st = kafka_parts_state(&k->ps);

	if (end)
		source_ckpt_end(&k->sc, st, &k->out);
	else
		source_ckpt_barrier(&k->sc, st, &k->out);
	if (k->commit)
		json_array_append_new(k->pending, json_pack("[I,O]",
		    (json_int_t)source_ckpt_last(&k->sc),
		    json_object_get(st, "offsets")));
	json_decref(st);
}

/*
 * Idle as Flink and Kafka Streams mean it: nothing to read, for the
 * timeout.  A partition is idle only when it was read to its end that
 * long ago and the broker has nothing newer since (the high watermark
 * librdkafka last fetched is still its next offset).  A partition that
 * is merely not read (the pipe downstream is full, other partitions'
 * messages came first) has messages waiting and is never idle, so it
 * holds the watermark back however slow the pipeline is.
 */
static bool part_idle(const struct consumer *k, const struct kafka_part *p,
    int64_t now)
{
	int64_t lo, hi;

	if (k->o->idle_ms == 0 || !p->eof || now - p->eof_ms < k->o->idle_ms)
		return false;
	if (rd_kafka_get_watermark_offsets(k->rk, p->topic, p->partition, &lo,
	    &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	return p->next >= 0 && hi <= p->next;
}

/* --metrics-*: each partition's lag, its end as librdkafka last fetched
 * it (no request to the broker) less the next offset to emit. */
static void publish_lag(struct consumer *k)
{
	struct metrics *m = k->o->c.metrics;

	if (m == NULL)
		return;
	for (size_t i = 0; i < k->ps.n; i++) {
		struct kafka_part *p = &k->ps.v[i];
		int64_t lo, hi;
		char pn[16];

		if (!p->assigned || p->next < 0 ||
		    rd_kafka_get_watermark_offsets(k->rk, p->topic,
		    p->partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		    hi < 0)
			continue;
		if (p->m_lag == NULL) {
			snprintf(pn, sizeof pn, "%" PRId32, p->partition);
			p->m_lag = metrics_gauge(m, "fs_consumer_lag",
			    "Messages in the partition not yet read.",
			    (const char *const[]){ "topic", p->topic,
			    "partition", pn, NULL });
		}
		metric_set(p->m_lag, (double)(hi > p->next ? hi - p->next : 0));
	}
}

/*
 * A partition that was idle has messages again: the others that are idle
 * count as active again for another --idle-timeout.  Data that comes to
 * a quiet topic comes to its partitions one fetch after another (a bulk
 * load, a producer's batches): without this the first partition to
 * deliver would carry the watermark past the records the others are
 * about to deliver, and they would all be late.
 */
static void wake_idle(struct consumer *k, const struct kafka_part *p,
    int64_t now)
{
	if (k->o->idle_ms == 0 || !p->eof || now - p->eof_ms < k->o->idle_ms)
		return;
	for (size_t i = 0; i < k->ps.n; i++)
		if (k->ps.v[i].eof)
			k->ps.v[i].eof_ms = now;
}

/* A partition's watermark: T - B + 1 (OOO_DEFAULT_MS), within int64. */
static int64_t part_wm(const struct consumer *k, const struct kafka_part *p)
{
	int64_t wm;

	if (k->o->ooo_ms == 0)
		return p->wm_max == ETIME_MAX ? ETIME_MAX : p->wm_max + 1;
	if (__builtin_sub_overflow(p->wm_max, k->o->ooo_ms - 1, &wm))
		return ETIME_MIN;
	return wm;
}

/* Emits a watermark when the minimum over active partitions advanced. */
static void watermark_check(struct consumer *k, int64_t now)
{
	int64_t wm = ETIME_MAX, idle_wm = ETIME_MAX;
	bool any = false, any_idle = false;

	for (size_t i = 0; i < k->ps.n; i++) {
		const struct kafka_part *p = &k->ps.v[i];

		if (!p->assigned && k->hold_unassigned && !p->done)
			return;         /* its records are still to come */
		if (!p->assigned || p->done)
			continue;
		if (part_idle(k, p, now)) {
			/* read to its end: what it had counts when all are */
			if (p->wm_max != ETIME_MIN) {
				any_idle = true;
				if (part_wm(k, p) < idle_wm)
					idle_wm = part_wm(k, p);
			}
			continue;
		}
		if (p->wm_max == ETIME_MIN)
			return;         /* an active partition without events */
		any = true;
		if (part_wm(k, p) < wm)
			wm = part_wm(k, p);
	}
	/* Every partition read to its end: nothing unread can be late, so
	 * the watermark is where all they had puts it. */
	if (!any && any_idle) {
		any = true;
		wm = idle_wm;
	}
	if (any && wm > k->wm_emitted) {
		k->wm_emitted = wm;
		rec_emit_watermark(&k->out, wm);
	}
}

static void track_event_time(struct consumer *k, struct kafka_part *p,
    const json_t *obj, const rd_kafka_message_t *m)
{
	int64_t ms;
	const char *why;
	rd_kafka_timestamp_type_t tstype;

	if (obj == NULL || etime_get(&k->o->c.time_path, obj, &ms, &why) < 0) {
		ms = rd_kafka_message_timestamp(m, &tstype);
		if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
			return;
	}
	if (ms > p->wm_max)
		p->wm_max = ms;
}

/* --- the message loop -------------------------------------------------- */

static void where_of(char *w, size_t n, const rd_kafka_message_t *m)
{
	snprintf(w, n, "%s/%" PRId32 "@%" PRId64, rd_kafka_topic_name(m->rkt),
	    m->partition, m->offset);
}

/* Value mode: the value must be a data record. */
static void emit_value(struct consumer *k, struct kafka_part *p,
    const rd_kafka_message_t *m)
{
	char why[REC_ERR_MAX], where[300];
	struct ctl c;
	json_t *obj = NULL;

	/* The hot path: certainly a data record on one line, passed on as
	 * its own bytes without building it.  A record -s decoded is one:
	 * compact JSON, its control characters escaped, and its members
	 * are the fields of an Avro record, whose names are identifiers
	 * ([A-Za-z_][A-Za-z0-9_]*, which Avro C checks), never "@fs". */
	if (m->payload != NULL && !k->o->watermarks && (k->aval_record ||
	    (rec_quick_object(m->payload, m->len) &&
	    memchr(m->payload, '\n', m->len) == NULL &&
	    memchr(m->payload, '\r', m->len) == NULL &&
	    !rec_line_maybe_control(m->payload, m->len)))) {
		out_line(&k->out, m->payload, m->len);
		return;
	}
	if (m->payload == NULL) {
		snprintf(why, sizeof(why), "null value (tombstone)");
	} else if ((obj = rec_parse(m->payload, m->len, why)) != NULL &&
	    rec_control(obj, &c, why) != CTL_NONE) {
		snprintf(why, sizeof(why), "value is a control record ('@fs')");
		json_decref(obj);
		obj = NULL;
	}
	if (obj == NULL) {
		where_of(where, sizeof(where), m);
		reject(&k->rej, where, why, m->payload ? m->payload : "",
		    m->payload ? m->len : 0);
		return;
	}
	if (memchr(m->payload, '\n', m->len) || memchr(m->payload, '\r', m->len))
		rec_emit(&k->out, obj);
	else
		out_line(&k->out, m->payload, m->len);
	if (k->o->watermarks)
		track_event_time(k, p, obj, m);
	json_decref(obj);
}

static void emit_envelope(struct consumer *k, struct kafka_part *p,
    const rd_kafka_message_t *m)
{
	buf_reset(&k->line);
	kafka_env_encode(&k->line, m);
	out_line(&k->out, k->line.data, k->line.len);
	if (k->o->watermarks) {
		char why[REC_ERR_MAX];
		json_t *obj = m->payload ? rec_parse(m->payload, m->len, why) : NULL;

		track_event_time(k, p, obj, m);
		json_decref(obj);
	}
}

/* -f, -K or -J: the message as text, for people and kcat's scripts. */
static void emit_formatted(struct consumer *k, struct kafka_part *p,
    const rd_kafka_message_t *m)
{
	buf_reset(&k->line);
	if (k->o->kcat_json) {
		kafka_kcat_json(&k->line, m);
		out_line(&k->out, k->line.data, k->line.len);
	} else {
		kafka_fmt_render(&k->line, &k->fmt, m);
		out_write(&k->out, k->line.data, k->line.len);
	}
	if (k->o->watermarks) {
		char why[REC_ERR_MAX];
		json_t *obj = m->payload ? rec_parse(m->payload, m->len, why) : NULL;

		track_event_time(k, p, obj, m);
		json_decref(obj);
	}
}

/* why, the decoder's reason, made the message's: -1. */
static int not_matching(uint32_t id, char *why)
{
	char tmp[SCHEMA_ERR_MAX];

	snprintf(tmp, sizeof(tmp), "%s", why);
	snprintf(why, SCHEMA_ERR_MAX, "payload does not match schema id "
	    "%" PRIu32 ": %s", id, tmp);
	return -1;
}

/* An Avro record, nearly every topic's value: written as JSON text
 * without building it (the same bytes as rec_dump() of the tree). */
static int avro_record_text(const struct avro_sch *s, uint32_t id,
    const unsigned char *payload, size_t plen, struct buf *out, char *why)
{
	struct rec_writer w;

	buf_reset(out);
	rec_w_init(&w, out);
	if (avsch_decode_to(s, payload, plen, &w, why) < 0)
		return not_matching(id, why);
	return 0;
}

/*
 * -s: one Confluent-framed key or value in format fmt decoded into out
 * (its compact JSON; a string's own text, which the envelope shows as
 * that string).  A missing key or value (NULL) stays missing.  -1 with
 * why.
 */
static int avro_part(struct consumer *k, enum schema_fmt fmt, const void *p,
    size_t n, struct buf *out, bool *record, char *why)
{
	const unsigned char *payload;
	const struct proto_sch *ps;
	const struct avro_sch *s;
	size_t plen;
	uint32_t id;
	json_t *v;

	if (confluent_parse(p, n, &id, &payload, &plen, why) < 0)
		return -1;
	if (fmt == SCHEMA_PROTOBUF) {
		if ((ps = registry_proto(k->reg, id, why)) == NULL)
			return -1;
		v = protosch_decode(ps, payload, plen, why);
	} else {
		if ((s = registry_schema(k->reg, id, why)) == NULL)
			return -1;
		if (avsch_root_is_record(s)) {
			*record = true;
			return avro_record_text(s, id, payload, plen, out, why);
		}
		v = avsch_decode(s, payload, plen, why);
	}
	if (v == NULL)
		return not_matching(id, why);
	buf_reset(out);
	if (json_is_string(v))
		buf_append(out, json_string_value(v), json_string_length(v));
	else
		rec_dump(out, v);
	json_decref(v);
	return 0;
}

/* The raw bytes of a message whose key or value -s decodes. */
struct raw {
	void *payload, *key;
	size_t len, key_len;
};

/*
 * -s: points m's key and value at their decoded JSON (undone by
 * avro_undo()).  A message that cannot be decoded is rejected with its
 * topic/partition@offset and the reason: false.
 */
static bool avro_decode_msg(struct consumer *k, rd_kafka_message_t *m,
    struct raw *raw)
{
	char why[SCHEMA_ERR_MAX + 16], where[300];
	char part[SCHEMA_ERR_MAX];

	k->aval_record = false;
	raw->payload = m->payload;
	raw->len = m->len;
	raw->key = m->key;
	raw->key_len = m->key_len;
	if (k->o->sch.key && m->key != NULL) {
		bool record = false;

		if (avro_part(k, k->o->sch.key, m->key, m->key_len, &k->akey,
		    &record, part) < 0) {
			snprintf(why, sizeof(why), "key: %s", part);
			goto bad;
		}
		m->key = k->akey.data ? k->akey.data : (char *)"";
		m->key_len = k->akey.len;
	}
	if (k->o->sch.value && m->payload != NULL) {
		if (avro_part(k, k->o->sch.value, m->payload, m->len,
		    &k->aval, &k->aval_record, part) < 0) {
			snprintf(why, sizeof(why), "value: %s", part);
			goto bad;
		}
		m->payload = k->aval.data ? k->aval.data : (char *)"";
		m->len = k->aval.len;
	}
	return true;
bad:
	k->aval_record = false;
	m->key = raw->key;
	m->key_len = raw->key_len;
	where_of(where, sizeof(where), m);
	reject(&k->rej, where, why, m->payload ? m->payload : "",
	    m->payload ? m->len : 0);
	return false;
}

static void avro_undo(struct consumer *k, rd_kafka_message_t *m,
    const struct raw *raw)
{
	k->aval_record = false;
	m->payload = raw->payload;
	m->len = raw->len;
	m->key = raw->key;
	m->key_len = raw->key_len;
}

static void emit(struct consumer *k, struct kafka_part *p,
    const rd_kafka_message_t *m)
{
	if (k->o->value_only)
		emit_value(k, p, m);
	else if (k->formatted)
		emit_formatted(k, p, m);
	else
		emit_envelope(k, p, m);
}

static bool all_done(const struct consumer *k)
{
	size_t n = 0;

	for (size_t i = 0; i < k->ps.n; i++) {
		const struct kafka_part *p = &k->ps.v[i];

		if (!p->assigned)
			continue;
		n++;
		if (!(p->done || (k->o->exit_eof && p->eof)))
			return false;
	}
	return n > 0;
}

static void mark_done(struct consumer *k, struct kafka_part *p)
{
	rd_kafka_topic_partition_list_t *l;

	p->done = true;
	if (k->legacy) {
		if (p->rkt != NULL)
			rd_kafka_consume_stop(p->rkt, p->partition);
		return;
	}
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
	rd_kafka_pause_partitions(k->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
}

/* Handles one message; returns false when the consumer should stop. */
static bool on_message(struct consumer *k, rd_kafka_message_t *m)
{
	struct raw raw;
	struct kafka_part *p;
	const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		p = kafka_part_find(&k->ps, topic, m->partition, false);
		if (p != NULL && !p->eof) {
			p->eof = true;
			p->eof_ms = etime_now_ms();
			if (p->next < 0)
				p->next = m->offset;
		}
		return !all_done(k);
	}
	if (m->err) {
		if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
		    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
		    m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
		    m->err == RD_KAFKA_RESP_ERR__FATAL)
			diag_fatal("%s%s%s", m->rkt ? topic : "", m->rkt ? ": " : "",
			    rd_kafka_message_errstr(m));
		kafka_warn(rd_kafka_message_errstr(m));
		return true;
	}
	p = kafka_part_find(&k->ps, topic, m->partition, true);
	if (p->done)
		return true;
	if (p->stop_offset >= 0 && m->offset >= p->stop_offset) {
		mark_done(k, p);
		return !all_done(k);
	}
	if (k->o->stop.kind == KAFKA_POS_TIME) {
		rd_kafka_timestamp_type_t tt;
		int64_t ts = rd_kafka_message_timestamp(m, &tt);

		if (tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts >= k->o->stop.v) {
			mark_done(k, p);
			return !all_done(k);
		}
	}
	if (k->o->watermarks)
		wake_idle(k, p, etime_now_ms());
	p->eof = false;
	if (k->reg == NULL)
		emit(k, p, m);
	else if (avro_decode_msg(k, m, &raw)) {
		emit(k, p, m);
		avro_undo(k, m, &raw);
	}
	p->next = m->offset + 1;
	p->dirty = true;
	k->emitted++;
	if (k->o->watermarks)
		watermark_check(k, etime_now_ms());
	if (source_ckpt_due(&k->sc))
		barrier(k, false);
	if (p->stop_offset >= 0 && p->next >= p->stop_offset) {
		mark_done(k, p);
		if (all_done(k))
			return false;
	}
	return !(k->o->count && k->emitted >= (uint64_t)k->o->count);
}

/* Idle time: flush, time-driven barriers and watermarks, commits. */
static void on_idle(struct consumer *k)
{
	int64_t now = etime_now_ms();
	char why[256];

	out_flush(&k->out);
	if (k->legacy)
		rd_kafka_poll(k->rk, 0);        /* error callbacks */
	if (kafka_fatal_error(k->rk, why, sizeof(why)))
		diag_fatal("kafka: %s", why);
	if (k->sc.store != NULL && k->sc.interval_ms &&
	    now - k->sc.last_ms >= k->sc.interval_ms) {
		barrier(k, false);
		out_flush(&k->out);
	}
	if (k->o->watermarks)
		watermark_check(k, now);
	publish_lag(k);
	if (k->commit && json_array_size(k->pending) > 0)
		kafka_commit_complete(k->rk, k->pending, k->sc.store);
}

/* Messages come from the consumer queue in batches: one lock and one
 * wake-up per batch rather than per message. */
#define BATCH 1024
/* How long an idle wait lasts before the next round of on_idle(). */
#define IDLE_WAIT_MS 100

/*
 * Waits up to IDLE_WAIT_MS for the first message, then takes what else
 * is queued.  Not rd_kafka_consume_batch_queue() with the timeout: that
 * waits for a whole batch (or the timeout), so the last messages of a
 * burst, a live message or the end of a partition (-e) sat there for up
 * to IDLE_WAIT_MS.
 */
static ssize_t await_batch(rd_kafka_queue_t *q, rd_kafka_message_t **ms)
{
	ssize_t more;

	ms[0] = rd_kafka_consume_queue(q, IDLE_WAIT_MS);
	if (ms[0] == NULL)
		return 0;
	more = rd_kafka_consume_batch_queue(q, 0, ms + 1, BATCH - 1);
	return 1 + (more > 0 ? more : 0);
}

/*
 * -e: a partition whose next offset is the high watermark the fetch of
 * its last message reported (librdkafka keeps it from every fetched
 * batch, before it queues the batch's messages) is at its end, as of
 * that fetch.  librdkafka says so itself only when a further fetch
 * comes back empty, fetch.wait.max.ms later.  Asked when the queue is
 * empty, so once per burst, not per message.  A partition nothing was
 * read from (next unknown), or whose last offsets are not messages
 * (transaction markers: next stays below the mark), still waits for
 * librdkafka's end of partition.
 */
static void reached_ends(struct consumer *k)
{
	int64_t now = 0;

	for (size_t i = 0; i < k->ps.n; i++) {
		struct kafka_part *p = &k->ps.v[i];
		int64_t lo, hi;

		if (!p->assigned || p->done || p->eof || p->next < 0 ||
		    rd_kafka_get_watermark_offsets(k->rk, p->topic,
		    p->partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		    hi < 0 || p->next < hi)
			continue;
		if (now == 0)
			now = etime_now_ms();
		p->eof = true;
		p->eof_ms = now;
	}
}

static void consume_loop(struct consumer *k)
{
	rd_kafka_queue_t *q = k->legacy ? k->q : rd_kafka_queue_get_consumer(k->rk);
	rd_kafka_message_t **ms = xmalloc(BATCH * sizeof(*ms));
	bool go = true;

	while (go && !sig_stop_requested()) {
		ssize_t n = rd_kafka_consume_batch_queue(q, 0, ms, BATCH);

		if (n <= 0) {
			if (k->o->exit_eof) {
				reached_ends(k);
				if (all_done(k) && k->ps.ever_assigned)
					break;
			}
			on_idle(k);
			if (sig_stop_requested())
				break;
			n = await_batch(q, ms);
			if (n <= 0) {
				if (all_done(k) && k->ps.ever_assigned)
					break;
				continue;
			}
		}
		/* Before the batch too: a full pipe downstream may block
		 * its writes, and the lag is what a scrape wants then. */
		publish_lag(k);
		for (ssize_t i = 0; i < n; i++) {
			if (go)
				go = on_message(k, ms[i]);
			rd_kafka_message_destroy(ms[i]);
		}
		if (k->store)
			kafka_parts_store(&k->ps, k->rk);
		publish_lag(k);
	}
	free(ms);
	if (!k->legacy)
		rd_kafka_queue_destroy(q);
}

/* --- modes ------------------------------------------------------------- */

/*
 * A checkpointed member of a group is a static member (KIP-345), named
 * after this host and its checkpoint directory: a restart, even right
 * after a kill -9, takes over the killed member's partitions at once
 * instead of waiting out its session timeout.
 */
static void static_member_id(const struct opts *o, char *id, size_t n)
{
	char host[256], *dir = realpath(o->c.ckpt_dir, NULL);
	const char *d = dir != NULL ? dir : o->c.ckpt_dir;
	XXH64_hash_t h;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	h = XXH64(d, strlen(d), 0);
	h = XXH64(fs_common_stage(&o->c), strlen(fs_common_stage(&o->c)), h);
	snprintf(id, n, "fs-consume-%.64s-%016llx", host, (unsigned long long)h);
	free(dir);
}

static void setup_consumer(struct consumer *k)
{
	struct opts *o = k->o;
	char val[512], errstr[512];

#define SET(key, v) do { \
	if (kafka_conf_set2(o->k.conf, key, v, errstr, sizeof(errstr)) < 0) \
		diag_fatal("librdkafka: %s", errstr); \
} while (0)
	k->store = o->c.ckpt_dir == NULL && !k->legacy;
	if (o->group != NULL) {
		SET("group.id", o->group);
		if (o->c.ckpt_dir != NULL &&
		    (kafka_conf_get(o->k.conf, "group.instance.id", val,
		    sizeof(val)) == NULL || val[0] == '\0')) {
			static_member_id(o, val, sizeof(val));
			SET("group.instance.id", val);
		}
	} else if (!k->legacy && (kafka_conf_get(o->k.conf, "group.id", val,
	    sizeof(val)) == NULL || val[0] == '\0')) {
		/* The consumer queue wants one (-L, -Q); never joined, never
		 * committed to.  The simple consumer (k->legacy) goes without:
		 * a group.id costs it a coordinator lookup, a connection of
		 * its own and the group's timers, for nothing. */
		SET("group.id", "fs-consume");
		SET("enable.auto.commit", "false");
		k->store = false;
	}
	SET("enable.auto.offset.store", "false");  /* store_offsets() */
	/* The end of a partition is what makes it idle (part_idle). */
	if (o->watermarks)
		SET("enable.partition.eof", "true");
	if (o->exit_eof) {
		SET("enable.partition.eof", "true");
		/* The end is seen by a fetch that comes back empty, after
		 * fetch.wait.max.ms: 500ms by default, a long wait for -e. */
		if (kafka_conf_get(o->k.conf, "fetch.wait.max.ms", val, sizeof(val)) &&
		    strcmp(val, "500") == 0)
			SET("fetch.wait.max.ms", "50");
	}
	/*
	 * librdkafka 2.0 stops fetching a partition for fetch.error.backoff.ms
	 * (500ms) whenever more than queued.min.messages wait in its queue;
	 * small messages reach the 100,000 default within one fetch, and the
	 * consumer then sat idle for most of a backlog (an Avro topic of 60-byte
	 * values: 6.3 s for 1M messages, 0.7 s of it busy).  The bound that
	 * matters for memory, queued.max.messages.kbytes, stays as it is.
	 */
	if (kafka_conf_get(o->k.conf, "queued.min.messages", val, sizeof(val)) &&
	    strcmp(val, "100000") == 0)
		SET("queued.min.messages", "1000000");
	if (o->start.kind == KAFKA_POS_BEGINNING)
		SET("auto.offset.reset", "earliest");
	else if (o->start.kind == KAFKA_POS_END)
		SET("auto.offset.reset", "latest");
	if (o->c.ckpt_dir != NULL)
		SET("enable.auto.commit", "false");     /* commit_complete() */
#undef SET
	rd_kafka_conf_set_opaque(o->k.conf, &k->ps);
	if (o->group != NULL)
		rd_kafka_conf_set_rebalance_cb(o->k.conf, kafka_parts_rebalance_cb);
	k->rk = kafka_new(RD_KAFKA_CONSUMER, o->k.conf);
	o->k.conf = NULL;
	kafka_await_reachable(k->rk, o->k.reach_ms);
	if (!k->legacy)
		rd_kafka_poll_set_consumer(k->rk);
}

static void start_consuming(struct consumer *k)
{
	struct opts *o = k->o;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;

	if (o->group != NULL) {
		/* Fails early and clearly when no broker answers. */
		rd_kafka_metadata_destroy(kafka_metadata(k->rk, NULL,
		    o->k.md_timeout_ms));
		l = rd_kafka_topic_partition_list_new((int)o->topics.n);
		for (size_t i = 0; i < o->topics.n; i++)
			rd_kafka_topic_partition_list_add(l, o->topics.v[i],
			    RD_KAFKA_PARTITION_UA);
		err = rd_kafka_subscribe(k->rk, l);
		rd_kafka_topic_partition_list_destroy(l);
		if (err)
			diag_fatal("subscribe: %s", rd_kafka_err2str(err));
		return;
	}
	/* Without a group, librdkafka's simple consumer: each partition
	 * fetched from its resolved offset into one queue.  It reads
	 * faster than the group consumer's assign(). */
	l = kafka_wanted_partitions(k->rk, &o->want, o->k.md_timeout_ms);
	kafka_parts_resolve(&k->ps, k->rk, l);
	k->ps.ever_assigned = true;
	kafka_log_assignment("assigned", l);
	k->q = rd_kafka_queue_new(k->rk);
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		struct kafka_part *p = kafka_part_find(&k->ps, e->topic,
		    e->partition, true);

		p->rkt = rd_kafka_topic_new(k->rk, e->topic, NULL);
		if (p->rkt == NULL)
			diag_fatal("topic '%s': %s", e->topic,
			    rd_kafka_err2str(rd_kafka_last_error()));
		if (p->done)
			continue;
		if (rd_kafka_consume_start_queue(p->rkt, e->partition, e->offset,
		    k->q) == -1)
			diag_fatal("'%s' [%" PRId32 "]: %s", e->topic, e->partition,
			    rd_kafka_err2str(rd_kafka_last_error()));
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* The simple consumer's end: stop every fetcher, drop the handles. */
static void stop_legacy(struct consumer *k)
{
	for (size_t i = 0; i < k->ps.n; i++) {
		struct kafka_part *p = &k->ps.v[i];

		if (p->rkt == NULL)
			continue;
		if (!p->done)
			rd_kafka_consume_stop(p->rkt, p->partition);
		rd_kafka_topic_destroy(p->rkt);
		p->rkt = NULL;
	}
	rd_kafka_queue_destroy(k->q);
}

/* The source's part of the definition (def.h): what is read, never
 * where from (no brokers, no connection properties). */
static json_t *source_def_part(const struct opts *o)
{
	static const char *const fmts[] = { "json", "avro", "protobuf" };
	json_t *p = def_part_new("source"), *topics = json_array();

	for (size_t i = 0; i < o->topics.n; i++)
		json_array_append_new(topics, json_string(o->topics.v[i]));
	json_object_set_new(p, "topics", topics);
	json_object_set_new(p, "format", json_string(fmts[o->sch.value]));
	json_object_set_new(p, "time_field", json_string(o->c.time_field));
	json_object_set_new(p, "watermark_bound", json_integer(o->ooo_ms > 0 ?
	    o->ooo_ms : 1));
	return p;
}

static int consume(struct opts *o)
{
	struct consumer k;

	memset(&k, 0, sizeof(k));
	k.o = o;
	k.wm_emitted = ETIME_MIN;
	if (o->format != NULL) {
		char why[128];

		if (kafka_fmt_parse(&k.fmt, o->format, why, sizeof(why)) < 0)
			diag_usage("-f: %s: '%s'", why, o->format);
	} else if (o->key_delim != NULL) {
		kafka_fmt_key_delim(&k.fmt, o->key_delim);
	}
	k.formatted = o->format != NULL || o->key_delim != NULL || o->kcat_json;
	out_init(&k.out, 1, "stdout");
	rejects_init(&k.rej, &o->c, &k.out);
	if (o->sch.registry != NULL)
		k.reg = registry_new(o->sch.registry, &o->sch.conf);
	o->c.ckpt_backend = &kafka_ckpt_backend;
	/* A store in Kafka is reached as the topic is (SASL, TLS). */
	o->c.ckpt_props = kafka_conf_connection(o->k.conf);
	k.restored = source_ckpt_begin(&k.sc, &o->c, o->ckpt_interval_ms,
	    (uint64_t)o->ckpt_records, &k.out);
	if (o->ckpt_records && !o->c.ckpt_dir)
		diag_usage("--checkpoint-records needs --checkpoint-dir");
	/* The lowest watermark first: it tells the stages downstream that
	 * watermarks come from here, so they wait for them instead of
	 * deriving their own from whichever partition is read first. */
	if (o->watermarks || o->c.ckpt_dir != NULL) {
		struct defrec d;

		def_init(&d, source_def_part(o));
		def_emit(&d, &k.out);
		def_free(&d);
	}
	if (o->watermarks)
		rec_emit_watermark(&k.out, ETIME_MIN);
	if (o->ckpt_records)
		k.sc.interval_ms = 0;   /* by count only, when asked */
	k.commit = o->c.ckpt_dir != NULL && o->group != NULL;
	k.legacy = o->group == NULL;
	k.pending = json_array();
	k.ps.restored = k.restored;
	k.ps.start = o->start;
	k.ps.stop = o->stop;
	k.ps.timeout_ms = o->k.md_timeout_ms;
	kafka_parts_adopt(&k.ps);
	/* One member per checkpoint directory (fs-checkpoint(5)): every
	 * partition of the topics is this pipeline's, and one the group has
	 * not assigned yet (a restart while the killed member still holds
	 * it) must hold the watermark, or its records come late. */
	k.hold_unassigned = k.commit;
	setup_consumer(&k);
	start_consuming(&k);
	consume_loop(&k);

	/* A clean end is a barrier: what was emitted is checkpointed. */
	/* Ended on its own (-e, -c, a stop offset or time), not stopped:
	 * the stream is complete, and the stages fire what is open before
	 * the end's checkpoint.  Stopped: a last barrier. */
	if (k.sc.store != NULL && !sig_stop_requested())
		barrier(&k, true);
	else if (k.sc.store != NULL && k.sc.since > 0)
		barrier(&k, false);
	out_flush(&k.out);
	if (k.commit) {
		/* Give the sink a moment to complete the last checkpoint. */
		for (int i = 0; i < 20 && json_array_size(k.pending) > 0; i++) {
			kafka_commit_complete(k.rk, k.pending, k.sc.store);
			if (json_array_size(k.pending) > 0)
				rd_kafka_poll(k.rk, 50);
		}
	}
	if (k.legacy)
		stop_legacy(&k);
	else
		rd_kafka_consumer_close(k.rk);
	rd_kafka_destroy(k.rk);
	source_ckpt_finish(&k.sc);
	kafka_props_free(o->c.ckpt_props);
	o->c.ckpt_props = NULL;
	rejects_finish(&k.rej);
	out_close(&k.out);
	if (o->c.stats)
		diag_error("%" PRIu64 " messages", k.emitted);
	json_decref(k.restored);
	json_decref(k.pending);
	kafka_parts_free(&k.ps);
	buf_free(&k.line);
	kafka_fmt_free(&k.fmt);
	buf_free(&k.akey);
	buf_free(&k.aval);
	registry_free(k.reg);
	registry_conf_free(&o->sch.conf);
	return 0;
}

/* -L, -Q and --lag: a handle to ask with, the answers on stdout. */
static int query_mode(struct opts *o)
{
	struct consumer k;
	struct out out;
	char errstr[512];
	int status = 0;

	memset(&k, 0, sizeof(k));
	k.o = o;
	if (o->lag) {
		/* The group's offsets are read, never joined. */
		if (kafka_conf_set2(o->k.conf, "group.id", o->group, errstr,
		    sizeof(errstr)) < 0)
			diag_fatal("librdkafka: %s", errstr);
		o->group = NULL;
	}
	setup_consumer(&k);
	out_init(&out, 1, "stdout");
	if (o->list)
		status = kafka_list_metadata(k.rk, &o->want, o->k.md_timeout_ms,
		    &out);
	else if (o->query)
		kafka_query_offsets(k.rk, &o->want, o->start.v,
		    o->k.md_timeout_ms, &out);
	else
		kafka_group_lag(k.rk, &o->want, o->k.md_timeout_ms, &out);
	out_close(&out);
	rd_kafka_destroy(k.rk);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o;
	int status;

	parse_options(&o, argc, argv);
	if (o.list || o.query || o.lag)
		status = query_mode(&o);
	else
		status = consume(&o);
	opt_list_free(&o.topics);
	free(o.parts);
	path_free(&o.c.time_path);
	return status;
}
