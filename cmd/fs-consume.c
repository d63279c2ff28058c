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
#include "stage.h"
#include "tool.h"

#include "banned.h"

static const char usage_text[] =
"usage: fs-consume -b BROKERS -t TOPIC [-eLQV] [-c COUNT] [-F FILE]\n"
"                  [-G GROUP] [-o OFFSET [-o STOP]] [-p PARTITIONS]\n"
"                  [-X KEY=VALUE] [--checkpoint-interval DURATION]\n"
"                  [--checkpoint-records N] [--idle-timeout DURATION]\n"
"                  [--lag] [--max-out-of-orderness DURATION]\n"
"                  [--metadata-timeout DURATION] [--watermarks]\n"
"                  [common options]\n"
"  -b BROKERS            bootstrap brokers, host:port[,host:port...]\n"
"  -c COUNT              exit after COUNT messages\n"
"  -e                    exit when every assigned partition reached its end\n"
"  -F FILE               librdkafka properties file (key=value lines)\n"
"  -G GROUP              join consumer group GROUP (balanced assignment)\n"
"  -L                    print cluster metadata as JSON and exit\n"
"  -o OFFSET             start: beginning, end, stored, N, -N, @TIME;\n"
"                        given twice, the second is the stop: end, N, @TIME\n"
"  -p PARTITIONS         only these partitions (comma-separated)\n"
"  -Q                    print the offsets for -o @TIME as JSON and exit\n"
"  -t TOPIC              topic (repeatable; ^REGEX subscribes by pattern)\n"
"  -V, --value           emit the value object alone, not the envelope\n"
"  -X KEY=VALUE          librdkafka property (repeatable)\n"
"  --checkpoint-interval DURATION  barrier interval (default 10s)\n"
"  --checkpoint-records N          a barrier every N messages\n"
"  --idle-timeout DURATION         a partition silent this long does not\n"
"                                  hold back watermarks (default 10s)\n"
"  --lag                 print the group's lag per partition and exit\n"
"  --max-out-of-orderness DURATION watermark delay (default 0ms)\n"
"  --metadata-timeout DURATION     wait for brokers at start (default 10s)\n"
"  --watermarks          emit watermark control records\n";

enum {
	OPT_CKPT_INTERVAL = OPT_TOOL_BASE,
	OPT_CKPT_RECORDS,
	OPT_IDLE_TIMEOUT,
	OPT_LAG,
	OPT_MAX_OOO,
	OPT_METADATA_TIMEOUT,
	OPT_WATERMARKS
};

/* A start or stop position given with -o. */
enum pos_kind { POS_NONE, POS_BEGINNING, POS_END, POS_STORED, POS_OFFSET,
	POS_TAIL, POS_TIME };

struct pos {
	enum pos_kind kind;
	int64_t v;      /* offset, tail count, or epoch ms */
};

struct opts {
	struct fs_common c;
	rd_kafka_conf_t *conf;
	const char **topics;
	size_t ntopics;
	int32_t *parts;         /* -p, or NULL for all */
	size_t nparts;
	struct pos start, stop;
	const char *group;
	bool exit_eof, list, query, lag, value_only, watermarks;
	uint64_t count;         /* 0: no limit */
	int64_t ckpt_interval_ms, ckpt_records;
	int64_t idle_ms, ooo_ms, md_timeout_ms;
};

/* One partition the consumer knows about. */
struct part {
	char *topic;
	int32_t partition;
	int64_t next;           /* next offset to emit; < 0: not known yet */
	int64_t stop_offset;    /* exclusive; -1: none */
	bool assigned, eof, done;
	bool dirty;             /* next changed since offsets were stored */
	rd_kafka_topic_t *rkt;  /* without -G: the handle it is fetched by */
	int64_t wm_max;         /* largest event time seen, ETIME_MIN: none */
	int64_t eof_ms;         /* wall clock it was last read to its end */
};

struct consumer {
	struct opts *o;
	rd_kafka_t *rk;
	struct out out;
	struct rejects rej;
	struct part *parts;
	size_t nparts, cap;
	size_t last;            /* index of the last part looked up */
	json_t *restored;       /* checkpoint state resumed from, or NULL */
	struct source_ckpt sc;
	json_t *pending;        /* [[id, offsets], ...] not yet committed */
	bool commit;            /* commit checkpoints' offsets to the group */
	bool store;             /* store emitted offsets for auto-commit */
	bool legacy;            /* without -G: librdkafka's simple consumer */
	rd_kafka_queue_t *q;    /* the simple consumer's queue */
	bool ever_assigned;
	bool hold_unassigned;   /* a partition not assigned holds watermarks */
	uint64_t emitted;
	int64_t wm_emitted;
	struct buf line;
};

/* --- options ----------------------------------------------------------- */

static struct pos parse_pos(const char *arg, bool stop)
{
	struct pos p = { POS_NONE, 0 };

	if (strcmp(arg, "beginning") == 0 && !stop)
		p.kind = POS_BEGINNING;
	else if (strcmp(arg, "end") == 0)
		p.kind = POS_END;
	else if (strcmp(arg, "stored") == 0 && !stop)
		p.kind = POS_STORED;
	else if (arg[0] == '@') {
		p.kind = POS_TIME;
		p.v = opt_timestamp("-o", arg + 1);
	} else if (arg[0] == '-' && !stop) {
		p.kind = POS_TAIL;
		p.v = opt_i64("-o", arg + 1, 1, INT64_MAX);
	} else if (num_parse_i64(arg, 0, INT64_MAX, &p.v) == 0) {
		p.kind = POS_OFFSET;
	} else if (stop) {
		diag_usage("-o: the stop must be end, an offset or @TIME: '%s'", arg);
	} else {
		diag_usage("-o: expected beginning, end, stored, N, -N or @TIME: '%s'",
		    arg);
	}
	return p;
}

static void parse_partitions(struct opts *o, const char *arg)
{
	char *s = xstrdup(arg), *save = NULL, *tok;
	size_t cap = 0;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		o->parts = xgrow(o->parts, &cap, o->nparts + 1, sizeof(*o->parts));
		o->parts[o->nparts++] = (int32_t)opt_i64("-p", tok, 0, INT32_MAX);
	}
	free(s);
	if (o->nparts == 0)
		diag_usage("-p: no partition: '%s'", arg);
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "checkpoint-interval", required_argument, NULL, OPT_CKPT_INTERVAL },
		{ "checkpoint-records", required_argument, NULL, OPT_CKPT_RECORDS },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "lag", no_argument, NULL, OPT_LAG },
		{ "max-out-of-orderness", required_argument, NULL, OPT_MAX_OOO },
		{ "metadata-timeout", required_argument, NULL, OPT_METADATA_TIMEOUT },
		{ "value", no_argument, NULL, 'V' },
		{ "watermarks", no_argument, NULL, OPT_WATERMARKS },
		FS_COMMON_LONGOPTS
	};
	size_t tcap = 0;
	int nofs = 0, ch;
	char errstr[512];

	memset(o, 0, sizeof(*o));
	fs_common_init(&o->c, argc, argv);
	o->conf = kafka_conf_new();
	o->ckpt_interval_ms = SOURCE_CKPT_INTERVAL_DEFAULT_MS;
	o->idle_ms = 10000;
	o->md_timeout_ms = 10000;
	while ((ch = getopt_long(argc, argv, "b:c:eF:G:Lo:p:Qt:VX:" FS_COMMON_SHORTOPTS,
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (kafka_conf_set2(o->conf, "bootstrap.servers", optarg,
			    errstr, sizeof(errstr)) < 0)
				diag_usage("-b: %s", errstr);
			break;
		case 'c':
			o->count = (uint64_t)opt_i64("-c", optarg, 1, INT64_MAX);
			break;
		case 'e':
			o->exit_eof = true;
			break;
		case 'F':
			kafka_conf_file(o->conf, optarg);
			break;
		case 'G':
			o->group = optarg;
			break;
		case 'L':
			o->list = true;
			break;
		case 'o':
			if (nofs == 2)
				diag_usage("-o: at most twice (start and stop)");
			if (nofs++ == 0)
				o->start = parse_pos(optarg, false);
			else
				o->stop = parse_pos(optarg, true);
			break;
		case 'p':
			parse_partitions(o, optarg);
			break;
		case 'Q':
			o->query = true;
			break;
		case 't':
			o->topics = xgrow(o->topics, &tcap, o->ntopics + 1,
			    sizeof(*o->topics));
			o->topics[o->ntopics++] = optarg;
			break;
		case 'V':
			o->value_only = true;
			break;
		case 'X':
			kafka_conf_set(o->conf, optarg, "-X");
			break;
		case OPT_CKPT_INTERVAL:
			o->ckpt_interval_ms = opt_duration("--checkpoint-interval", optarg);
			if (o->ckpt_interval_ms == 0)
				diag_usage("--checkpoint-interval: must be more than 0");
			break;
		case OPT_CKPT_RECORDS:
			o->ckpt_records = opt_i64("--checkpoint-records", optarg, 1,
			    INT64_MAX);
			break;
		case OPT_IDLE_TIMEOUT:
			o->idle_ms = opt_duration("--idle-timeout", optarg);
			break;
		case OPT_LAG:
			o->lag = true;
			break;
		case OPT_MAX_OOO:
			o->ooo_ms = opt_duration("--max-out-of-orderness", optarg);
			break;
		case OPT_METADATA_TIMEOUT:
			o->md_timeout_ms = opt_duration("--metadata-timeout", optarg);
			if (o->md_timeout_ms < 1000)
				diag_usage("--metadata-timeout: at least 1s");
			break;
		case OPT_WATERMARKS:
			o->watermarks = true;
			break;
		default:
			fs_common_option(&o->c, ch, optarg, usage_text);
			break;
		}
	}
	if (optind < argc)
		diag_usage("unexpected argument: '%s'", argv[optind]);
	fs_common_finish(&o->c);
	if (o->list + o->query + o->lag > 1)
		diag_usage("-L, -Q and --lag exclude each other");
	if (o->ntopics == 0 && !o->list)
		diag_usage("no topic: give -t TOPIC");
	if (o->query && o->start.kind != POS_TIME)
		diag_usage("-Q needs -o @TIME");
	if (o->lag && o->group == NULL)
		diag_usage("--lag needs -G GROUP");
	if (o->group != NULL && o->nparts > 0)
		diag_usage("-p conflicts with -G (the group assigns partitions)");
	if (o->group != NULL && !(o->start.kind == POS_NONE ||
	    o->start.kind == POS_BEGINNING || o->start.kind == POS_END ||
	    o->start.kind == POS_STORED))
		diag_usage("-o with -G: only beginning, end or stored (where a "
		    "partition without committed offset starts)");
	if (o->group == NULL && o->start.kind == POS_STORED &&
	    kafka_conf_get(o->conf, "group.id", errstr, sizeof(errstr)) == NULL)
		diag_usage("-o stored needs -G GROUP or -X group.id=...");
	for (size_t i = 0; i < o->ntopics; i++)
		if (o->topics[i][0] == '^' && o->group == NULL)
			diag_usage("-t %s: a pattern needs -G GROUP", o->topics[i]);
	if ((o->ooo_ms || o->idle_ms != 10000) && !o->watermarks)
		diag_usage("--max-out-of-orderness and --idle-timeout need --watermarks");
}

/* --- partitions ------------------------------------------------------ */

static struct part *part_find(struct consumer *k, const char *topic,
    int32_t partition, bool add)
{
	size_t i;

	if (k->last < k->nparts && k->parts[k->last].partition == partition &&
	    strcmp(k->parts[k->last].topic, topic) == 0)
		return &k->parts[k->last];
	for (i = 0; i < k->nparts; i++)
		if (k->parts[i].partition == partition &&
		    strcmp(k->parts[i].topic, topic) == 0) {
			k->last = i;
			return &k->parts[i];
		}
	if (!add)
		return NULL;
	k->parts = xgrow(k->parts, &k->cap, k->nparts + 1, sizeof(*k->parts));
	memset(&k->parts[k->nparts], 0, sizeof(*k->parts));
	k->parts[k->nparts].topic = xstrdup(topic);
	k->parts[k->nparts].partition = partition;
	k->parts[k->nparts].next = -1;
	k->parts[k->nparts].stop_offset = -1;
	k->parts[k->nparts].wm_max = ETIME_MIN;
	k->last = k->nparts;
	return &k->parts[k->nparts++];
}

/*
 * Every partition of the checkpoint resumed from, at its offset, before
 * any is assigned: a checkpoint taken while the group has not (yet)
 * given this member a partition still holds where that partition's
 * records resume.  A checkpoint must never lose a partition's offset
 * just because the group was rebalancing when it was taken.  Each
 * partition's largest event time comes back too: a partition read to
 * its end before the checkpoint has no record left to tell it, and
 * without it the watermark would wait for the partition to go idle, or
 * forever once every partition has (windows the killed run was about
 * to fire would not fire).
 */
static void adopt_restored(struct consumer *k)
{
	const json_t *list = json_object_get(k->restored, "offsets"), *e;
	size_t i;

	json_array_foreach(list, i, e) {
		const char *topic = json_string_value(json_object_get(e, "topic"));
		const json_t *part = json_object_get(e, "partition");
		const json_t *off = json_object_get(e, "offset");
		const json_t *ts = json_object_get(e, "max_ts");
		struct part *p;

		if (topic == NULL || !json_is_integer(part) ||
		    !json_is_integer(off) || json_integer_value(off) < 0 ||
		    (ts != NULL && !json_is_integer(ts)))
			diag_fatal("checkpoint state of this stage is not "
			    "fs-consume's: bad offset entry %zu", i);
		p = part_find(k, topic, (int32_t)json_integer_value(part), true);
		p->next = json_integer_value(off);
		if (ts != NULL)
			p->wm_max = json_integer_value(ts);
	}
}

/* The offset a checkpoint holds for a partition, or -1. */
static int64_t restored_offset(const struct consumer *k, const char *topic,
    int32_t partition)
{
	const json_t *list = json_object_get(k->restored, "offsets"), *e;
	size_t i;

	json_array_foreach(list, i, e) {
		const json_t *t = json_object_get(e, "topic");

		if (json_integer_value(json_object_get(e, "partition")) == partition &&
		    json_is_string(t) && strcmp(json_string_value(t), topic) == 0)
			return json_integer_value(json_object_get(e, "offset"));
	}
	return -1;
}

/* Every partition of the -t topics (and -p), from the cluster's metadata;
 * an unknown topic or partition is fatal. */
static rd_kafka_topic_partition_list_t *wanted_partitions(struct consumer *k)
{
	struct opts *o = k->o;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);

	for (size_t t = 0; t < o->ntopics; t++) {
		const rd_kafka_metadata_t *md = kafka_metadata(k->rk, o->topics[t],
		    (int)o->md_timeout_ms);
		const rd_kafka_metadata_topic_t *mt = &md->topics[0];

		if (md->topic_cnt != 1 || mt->err)
			diag_fatal("topic '%s': %s", o->topics[t], md->topic_cnt != 1 ?
			    "not in metadata" : rd_kafka_err2str(mt->err));
		if (o->nparts == 0) {
			for (int i = 0; i < mt->partition_cnt; i++)
				rd_kafka_topic_partition_list_add(l, o->topics[t],
				    mt->partitions[i].id);
		} else {
			for (size_t i = 0; i < o->nparts; i++) {
				if (o->parts[i] >= mt->partition_cnt)
					diag_fatal("topic '%s' has no partition %" PRId32
					    " (it has %d)", o->topics[t], o->parts[i],
					    mt->partition_cnt);
				rd_kafka_topic_partition_list_add(l, o->topics[t],
				    o->parts[i]);
			}
		}
		rd_kafka_metadata_destroy(md);
	}
	return l;
}

/* Offsets for a timestamp, in place: each element's offset is set to
 * the first offset whose timestamp is at or after ms, or -1. */
static void offsets_for_time(struct consumer *k,
    rd_kafka_topic_partition_list_t *l, int64_t ms)
{
	rd_kafka_resp_err_t err;

	for (int i = 0; i < l->cnt; i++)
		l->elems[i].offset = ms;
	err = rd_kafka_offsets_for_times(k->rk, l, (int)k->o->md_timeout_ms);
	if (err)
		diag_fatal("offsets for time: %s", rd_kafka_err2str(err));
	for (int i = 0; i < l->cnt; i++)
		if (l->elems[i].err)
			diag_fatal("offsets for time: %s [%" PRId32 "]: %s",
			    l->elems[i].topic, l->elems[i].partition,
			    rd_kafka_err2str(l->elems[i].err));
}

static void watermark_offsets(struct consumer *k, const char *topic,
    int32_t partition, int64_t *lo, int64_t *hi)
{
	rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(k->rk, topic,
	    partition, lo, hi, (int)k->o->md_timeout_ms);

	if (err)
		diag_fatal("offsets of '%s' [%" PRId32 "]: %s", topic, partition,
		    rd_kafka_err2str(err));
}

/* Resolves the -o start (and stop) of each partition in l to absolute
 * offsets where the position is relative, and applies a checkpoint. */
static void resolve_assign(struct consumer *k,
    rd_kafka_topic_partition_list_t *l)
{
	struct opts *o = k->o;

	if (o->start.kind == POS_TIME)
		offsets_for_time(k, l, o->start.v);
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		struct part *p = part_find(k, e->topic, e->partition, true);
		int64_t lo = 0, hi = 0, ck;
		bool need = o->start.kind == POS_BEGINNING ||
		    o->start.kind == POS_END || o->start.kind == POS_TAIL ||
		    o->start.kind == POS_NONE || o->start.kind == POS_TIME ||
		    o->stop.kind == POS_END;

		if (need)
			watermark_offsets(k, e->topic, e->partition, &lo, &hi);
		switch (o->start.kind) {
		case POS_NONE:
		case POS_END:
			e->offset = hi;
			break;
		case POS_BEGINNING:
			e->offset = lo;
			break;
		case POS_TAIL:
			e->offset = hi - o->start.v < lo ? lo : hi - o->start.v;
			break;
		case POS_TIME:
			if (e->offset < 0)
				e->offset = hi;
			break;
		case POS_OFFSET:
			e->offset = o->start.v;
			break;
		case POS_STORED:
			e->offset = RD_KAFKA_OFFSET_STORED;
			break;
		}
		ck = restored_offset(k, e->topic, e->partition);
		if (ck >= 0)
			e->offset = ck;
		p->next = e->offset >= 0 ? e->offset : -1;
		if (o->stop.kind == POS_END)
			p->stop_offset = hi;
		else if (o->stop.kind == POS_OFFSET)
			p->stop_offset = o->stop.v;
		p->assigned = true;
		if (p->stop_offset >= 0 && p->next >= 0 && p->next >= p->stop_offset)
			p->done = true;
	}
}

static void log_assignment(const char *what,
    const rd_kafka_topic_partition_list_t *l)
{
	struct buf b = BUF_INIT;

	if (diag_verbosity() < DIAG_VERBOSE)
		return;
	for (int i = 0; i < l->cnt; i++) {
		buf_appendc(&b, ' ');
		buf_appends(&b, l->elems[i].topic);
		buf_appendc(&b, '/');
		buf_append_i64(&b, l->elems[i].partition);
	}
	diag_info("%s %d partition%s:%s", what, l->cnt, l->cnt == 1 ? "" : "s",
	    b.data ? b.data : "");
	buf_free(&b);
}

/* With -X partition.assignment.strategy=cooperative-sticky, a
 * rebalance moves only some partitions and must be applied as such. */
static bool cooperative(rd_kafka_t *rk)
{
	const char *proto = rd_kafka_rebalance_protocol(rk);

	return proto != NULL && strcmp(proto, "COOPERATIVE") == 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *l, void *opaque)
{
	struct consumer *k = opaque;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < l->cnt; i++) {
			rd_kafka_topic_partition_t *e = &l->elems[i];
			struct part *p = part_find(k, e->topic, e->partition, true);
			int64_t ck = restored_offset(k, e->topic, e->partition);

			/* A checkpoint wins over the group's committed offset. */
			if (ck >= 0)
				e->offset = ck;
			p->assigned = true;
			p->eof = p->done = false;
			p->next = ck >= 0 ? ck : -1;
		}
		k->ever_assigned = true;
		log_assignment("assigned", l);
		if (cooperative(rk))
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, l));
		else
			rd_kafka_assign(rk, l);
	} else {
		for (int i = 0; i < l->cnt; i++) {
			struct part *p = part_find(k, l->elems[i].topic,
			    l->elems[i].partition, false);

			if (p != NULL)
				p->assigned = false;
		}
		log_assignment("revoked", l);
		if (cooperative(rk))
			rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, l));
		else
			rd_kafka_assign(rk, NULL);
	}
}

/* --- checkpoints and watermarks ---------------------------------------- */

static json_t *ckpt_state(const struct consumer *k)
{
	json_t *list = json_array();

	for (size_t i = 0; i < k->nparts; i++) {
		const struct part *p = &k->parts[i];
		json_t *e;

		if (p->next < 0)
			continue;
		e = json_pack("{s:s,s:i,s:I}", "topic", p->topic, "partition",
		    (int)p->partition, "offset", (json_int_t)p->next);
		if (p->wm_max != ETIME_MIN)
			json_object_set_new(e, "max_ts", json_integer(p->wm_max));
		json_array_append_new(list, e);
	}
	return json_pack("{s:o}", "offsets", list);
}

/* A barrier, or with end the end of the stream (the last barrier). */
static void barrier(struct consumer *k, bool end)
{
	json_t *st = ckpt_state(k);

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

/* Commits the offsets of the newest checkpoint that became complete. */
static void commit_complete(struct consumer *k)
{
	json_t *best = NULL;
	size_t i, n = 0;

	/* The newest complete one: an older one the other stages have
	 * already pruned never completes, and must not block the rest. */
	for (i = 0; i < json_array_size(k->pending); i++) {
		json_t *e = json_array_get(k->pending, i);
		uint64_t id = (uint64_t)json_integer_value(json_array_get(e, 0));

		if (ckpt_is_complete(k->sc.store, id) != 1)
			continue;
		best = e;
		n = i + 1;
	}
	if (best == NULL)
		return;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
	json_t *e;

	json_array_foreach(json_array_get(best, 1), i, e)
		rd_kafka_topic_partition_list_add(l,
		    json_string_value(json_object_get(e, "topic")),
		    (int32_t)json_integer_value(json_object_get(e, "partition")))
		    ->offset = json_integer_value(json_object_get(e, "offset"));
	if (l->cnt > 0) {
		rd_kafka_resp_err_t err = rd_kafka_commit(k->rk, l, 1);

		if (err)
			diag_warn("commit of checkpoint offsets: %s",
			    rd_kafka_err2str(err));
	}
	rd_kafka_topic_partition_list_destroy(l);
	while (n-- > 0)
		json_array_remove(k->pending, 0);
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
static bool part_idle(const struct consumer *k, const struct part *p,
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

/*
 * A partition that was idle has messages again: the others that are idle
 * count as active again for another --idle-timeout.  Data that comes to
 * a quiet topic comes to its partitions one fetch after another (a bulk
 * load, a producer's batches): without this the first partition to
 * deliver would carry the watermark past the records the others are
 * about to deliver, and they would all be late.
 */
static void wake_idle(struct consumer *k, const struct part *p, int64_t now)
{
	if (k->o->idle_ms == 0 || !p->eof || now - p->eof_ms < k->o->idle_ms)
		return;
	for (size_t i = 0; i < k->nparts; i++)
		if (k->parts[i].eof)
			k->parts[i].eof_ms = now;
}

/* Emits a watermark when the minimum over active partitions advanced. */
static void watermark_check(struct consumer *k, int64_t now)
{
	int64_t wm = ETIME_MAX, idle_wm = ETIME_MAX;
	bool any = false, any_idle = false;

	for (size_t i = 0; i < k->nparts; i++) {
		const struct part *p = &k->parts[i];

		if (!p->assigned && k->hold_unassigned && !p->done)
			return;         /* its records are still to come */
		if (!p->assigned || p->done)
			continue;
		if (part_idle(k, p, now)) {
			/* read to its end: what it had counts when all are */
			if (p->wm_max != ETIME_MIN) {
				any_idle = true;
				if (p->wm_max - k->o->ooo_ms < idle_wm)
					idle_wm = p->wm_max - k->o->ooo_ms;
			}
			continue;
		}
		if (p->wm_max == ETIME_MIN)
			return;         /* an active partition without events */
		any = true;
		if (p->wm_max - k->o->ooo_ms < wm)
			wm = p->wm_max - k->o->ooo_ms;
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

static void track_event_time(struct consumer *k, struct part *p,
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
static void emit_value(struct consumer *k, struct part *p,
    const rd_kafka_message_t *m)
{
	char why[REC_ERR_MAX], where[300];
	struct ctl c;
	json_t *obj = NULL;

	/* The hot path: certainly a data record on one line, passed on as
	 * its own bytes without building it. */
	if (m->payload != NULL && !k->o->watermarks &&
	    kafka_json_quick_object(m->payload, m->len) &&
	    !kafka_maybe_control(m->payload, m->len) &&
	    memchr(m->payload, '\n', m->len) == NULL &&
	    memchr(m->payload, '\r', m->len) == NULL) {
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

static void emit_envelope(struct consumer *k, struct part *p,
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

static bool all_done(const struct consumer *k)
{
	size_t n = 0;

	for (size_t i = 0; i < k->nparts; i++) {
		const struct part *p = &k->parts[i];

		if (!p->assigned)
			continue;
		n++;
		if (!(p->done || (k->o->exit_eof && p->eof)))
			return false;
	}
	return n > 0;
}

static void mark_done(struct consumer *k, struct part *p)
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
	struct part *p;
	const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		p = part_find(k, topic, m->partition, false);
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
	p = part_find(k, topic, m->partition, true);
	if (p->done)
		return true;
	if (p->stop_offset >= 0 && m->offset >= p->stop_offset) {
		mark_done(k, p);
		return !all_done(k);
	}
	if (k->o->stop.kind == POS_TIME) {
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
	if (k->o->value_only)
		emit_value(k, p, m);
	else
		emit_envelope(k, p, m);
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
	return !(k->o->count && k->emitted >= k->o->count);
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
	if (k->commit && json_array_size(k->pending) > 0)
		commit_complete(k);
}

/* Offsets of what was emitted, for the group's auto-commit: stored
 * after each batch, so a message dropped at -c or a stop is never
 * committed as read. */
static void store_offsets(struct consumer *k)
{
	rd_kafka_topic_partition_list_t *l = NULL;

	for (size_t i = 0; i < k->nparts; i++) {
		struct part *p = &k->parts[i];

		if (!p->dirty)
			continue;
		p->dirty = false;
		if (!p->assigned)
			continue;
		if (l == NULL)
			l = rd_kafka_topic_partition_list_new(4);
		rd_kafka_topic_partition_list_add(l, p->topic, p->partition)
		    ->offset = p->next;
	}
	if (l != NULL) {
		rd_kafka_offsets_store(k->rk, l);
		rd_kafka_topic_partition_list_destroy(l);
	}
}

/* Messages come from the consumer queue in batches: one lock and one
 * wake-up per batch rather than per message. */
#define BATCH 1024

static void consume_loop(struct consumer *k)
{
	rd_kafka_queue_t *q = k->legacy ? k->q : rd_kafka_queue_get_consumer(k->rk);
	rd_kafka_message_t **ms = xmalloc(BATCH * sizeof(*ms));
	bool go = true;

	while (go && !sig_stop_requested()) {
		ssize_t n = rd_kafka_consume_batch_queue(q, 0, ms, BATCH);

		if (n <= 0) {
			on_idle(k);
			if (sig_stop_requested())
				break;
			n = rd_kafka_consume_batch_queue(q, 100, ms, BATCH);
			if (n <= 0) {
				if (all_done(k) && k->ever_assigned)
					break;
				continue;
			}
		}
		for (ssize_t i = 0; i < n; i++) {
			if (go)
				go = on_message(k, ms[i]);
			rd_kafka_message_destroy(ms[i]);
		}
		if (k->store)
			store_offsets(k);
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
	if (kafka_conf_set2(o->conf, key, v, errstr, sizeof(errstr)) < 0) \
		diag_fatal("librdkafka: %s", errstr); \
} while (0)
	k->store = o->c.ckpt_dir == NULL && !k->legacy;
	if (o->group != NULL) {
		SET("group.id", o->group);
		if (o->c.ckpt_dir != NULL &&
		    (kafka_conf_get(o->conf, "group.instance.id", val,
		    sizeof(val)) == NULL || val[0] == '\0')) {
			static_member_id(o, val, sizeof(val));
			SET("group.instance.id", val);
		}
	} else if (kafka_conf_get(o->conf, "group.id", val, sizeof(val)) == NULL ||
	    val[0] == '\0') {
		/* librdkafka wants one; never joined, never committed to */
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
		if (kafka_conf_get(o->conf, "fetch.wait.max.ms", val, sizeof(val)) &&
		    strcmp(val, "500") == 0)
			SET("fetch.wait.max.ms", "50");
	}
	if (o->start.kind == POS_BEGINNING)
		SET("auto.offset.reset", "earliest");
	else if (o->start.kind == POS_END)
		SET("auto.offset.reset", "latest");
	if (o->c.ckpt_dir != NULL)
		SET("enable.auto.commit", "false");     /* commit_complete() */
#undef SET
	rd_kafka_conf_set_opaque(o->conf, k);
	if (o->group != NULL)
		rd_kafka_conf_set_rebalance_cb(o->conf, rebalance_cb);
	k->rk = kafka_new(RD_KAFKA_CONSUMER, o->conf);
	o->conf = NULL;
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
		    (int)o->md_timeout_ms));
		l = rd_kafka_topic_partition_list_new((int)o->ntopics);
		for (size_t i = 0; i < o->ntopics; i++)
			rd_kafka_topic_partition_list_add(l, o->topics[i],
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
	l = wanted_partitions(k);
	resolve_assign(k, l);
	k->ever_assigned = true;
	log_assignment("assigned", l);
	k->q = rd_kafka_queue_new(k->rk);
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		struct part *p = part_find(k, e->topic, e->partition, true);

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
	for (size_t i = 0; i < k->nparts; i++) {
		struct part *p = &k->parts[i];

		if (p->rkt == NULL)
			continue;
		if (!p->done)
			rd_kafka_consume_stop(p->rkt, p->partition);
		rd_kafka_topic_destroy(p->rkt);
		p->rkt = NULL;
	}
	rd_kafka_queue_destroy(k->q);
}

static int consume(struct opts *o)
{
	struct consumer k;

	memset(&k, 0, sizeof(k));
	k.o = o;
	k.wm_emitted = ETIME_MIN;
	out_init(&k.out, 1, "stdout");
	rejects_init(&k.rej, &o->c, &k.out);
	o->c.ckpt_backend = &kafka_ckpt_backend;
	/* A store in Kafka is reached as the topic is (SASL, TLS). */
	o->c.ckpt_props = kafka_conf_connection(o->conf);
	k.restored = source_ckpt_begin(&k.sc, &o->c, o->ckpt_interval_ms,
	    (uint64_t)o->ckpt_records, &k.out);
	if (o->ckpt_records && !o->c.ckpt_dir)
		diag_usage("--checkpoint-records needs --checkpoint-dir");
	/* The lowest watermark first: it tells the stages downstream that
	 * watermarks come from here, so they wait for them instead of
	 * deriving their own from whichever partition is read first. */
	if (o->watermarks)
		rec_emit_watermark(&k.out, ETIME_MIN);
	if (o->ckpt_records)
		k.sc.interval_ms = 0;   /* by count only, when asked */
	k.commit = o->c.ckpt_dir != NULL && o->group != NULL;
	k.legacy = o->group == NULL;
	k.pending = json_array();
	adopt_restored(&k);
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
			commit_complete(&k);
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
	for (size_t i = 0; i < k.nparts; i++)
		free(k.parts[i].topic);
	free(k.parts);
	buf_free(&k.line);
	return 0;
}

static json_t *int_array(const int32_t *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

/* -L: the cluster's brokers and topics, with each partition's offsets. */
static int list_metadata(struct opts *o)
{
	struct consumer k;
	const rd_kafka_metadata_t *md;
	json_t *root, *brokers = json_array(), *topics = json_array();
	struct out out;
	int status = 0;

	memset(&k, 0, sizeof(k));
	k.o = o;
	setup_consumer(&k);
	md = kafka_metadata(k.rk, o->ntopics == 1 ? o->topics[0] : NULL,
	    (int)o->md_timeout_ms);
	for (int i = 0; i < md->broker_cnt; i++)
		json_array_append_new(brokers, json_pack("{s:i,s:s,s:i}", "id",
		    (int)md->brokers[i].id, "host", md->brokers[i].host, "port",
		    md->brokers[i].port));
	for (int t = 0; t < md->topic_cnt; t++) {
		const rd_kafka_metadata_topic_t *mt = &md->topics[t];
		json_t *parts = json_array(), *to;

		if (o->ntopics > 1) {
			size_t j;

			for (j = 0; j < o->ntopics; j++)
				if (strcmp(o->topics[j], mt->topic) == 0)
					break;
			if (j == o->ntopics)
				continue;
		}
		for (int i = 0; i < mt->partition_cnt; i++) {
			const rd_kafka_metadata_partition_t *mp = &mt->partitions[i];
			int64_t lo = -1, hi = -1;

			rd_kafka_query_watermark_offsets(k.rk, mt->topic, mp->id,
			    &lo, &hi, (int)o->md_timeout_ms);
			json_array_append_new(parts, json_pack("{s:i,s:i,s:o,s:o,s:I,s:I}",
			    "partition", (int)mp->id, "leader", (int)mp->leader,
			    "replicas", int_array(mp->replicas, mp->replica_cnt),
			    "isrs", int_array(mp->isrs, mp->isr_cnt),
			    "low", (json_int_t)lo, "high", (json_int_t)hi));
		}
		to = json_pack("{s:s,s:o}", "topic", mt->topic, "partitions", parts);
		if (mt->err) {
			json_object_set_new(to, "error",
			    json_string(rd_kafka_err2str(mt->err)));
			diag_error("topic '%s': %s", mt->topic, rd_kafka_err2str(mt->err));
			status = 1;
		}
		json_array_append_new(topics, to);
	}
	root = json_pack("{s:o,s:o}", "brokers", brokers, "topics", topics);
	out_init(&out, 1, "stdout");
	rec_emit(&out, root);
	out_close(&out);
	json_decref(root);
	rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(k.rk);
	return status;
}

/* -Q: for each partition, the first offset at or after -o @TIME. */
static int query_offsets(struct opts *o)
{
	struct consumer k;
	rd_kafka_topic_partition_list_t *l;
	struct out out;

	memset(&k, 0, sizeof(k));
	k.o = o;
	setup_consumer(&k);
	l = wanted_partitions(&k);
	offsets_for_time(&k, l, o->start.v);
	out_init(&out, 1, "stdout");
	for (int i = 0; i < l->cnt; i++) {
		json_t *r = json_pack("{s:s,s:i,s:I,s:o}", "topic", l->elems[i].topic,
		    "partition", (int)l->elems[i].partition, "timestamp",
		    (json_int_t)o->start.v, "offset", l->elems[i].offset >= 0 ?
		    json_integer(l->elems[i].offset) : json_null());

		rec_emit(&out, r);
		json_decref(r);
	}
	out_close(&out);
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(k.rk);
	return 0;
}

/* --lag: the group's committed offset, the end, and the lag. */
static int group_lag(struct opts *o)
{
	struct consumer k;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;
	struct out out;

	memset(&k, 0, sizeof(k));
	k.o = o;
	o->group = NULL;        /* never join: only read its offsets */
	setup_consumer(&k);
	l = wanted_partitions(&k);
	err = rd_kafka_committed(k.rk, l, (int)o->md_timeout_ms);
	if (err)
		diag_fatal("committed offsets: %s", rd_kafka_err2str(err));
	out_init(&out, 1, "stdout");
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		int64_t lo, hi, from;
		json_t *r;

		watermark_offsets(&k, e->topic, e->partition, &lo, &hi);
		from = e->offset >= 0 ? e->offset : lo;
		r = json_pack("{s:s,s:i,s:o,s:I,s:I}", "topic", e->topic,
		    "partition", (int)e->partition, "committed", e->offset >= 0 ?
		    json_integer(e->offset) : json_null(), "end", (json_int_t)hi,
		    "lag", (json_int_t)(hi > from ? hi - from : 0));
		rec_emit(&out, r);
		json_decref(r);
	}
	out_close(&out);
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(k.rk);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int status;
	char errstr[512];

	parse_args(&o, argc, argv);
	if (o.lag) {
		if (kafka_conf_set2(o.conf, "group.id", o.group, errstr,
		    sizeof(errstr)) < 0)
			diag_fatal("librdkafka: %s", errstr);
		status = group_lag(&o);
	} else if (o.list) {
		status = list_metadata(&o);
	} else if (o.query) {
		status = query_offsets(&o);
	} else {
		status = consume(&o);
	}
	free(o.topics);
	free(o.parts);
	path_free(&o.c.time_path);
	return status;
}
