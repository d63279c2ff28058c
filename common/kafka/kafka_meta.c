/*
 * kafka_meta.c - metadata and offset queries: the partitions a consumer
 * asks for, offsets by time and a partition's low and high offsets, and
 * fs-consume's modes built on them, -L (the cluster's metadata) and -Q
 * (offsets by time).  See kafka.h.
 */
#include <inttypes.h>
#include <string.h>

#include "diag.h"
#include "kafka.h"
#include "rec.h"

#include "banned.h"

rd_kafka_topic_partition_list_t *kafka_wanted_partitions(rd_kafka_t *rk,
    const struct kafka_topics *t, int timeout_ms)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);

	for (size_t i = 0; i < t->ntopics; i++) {
		const char *topic = t->topics[i];
		const rd_kafka_metadata_t *md = kafka_metadata(rk, topic,
		    timeout_ms);
		const rd_kafka_metadata_topic_t *mt = &md->topics[0];

		if (md->topic_cnt != 1 || mt->err)
			diag_fatal("topic '%s': %s", topic, md->topic_cnt != 1 ?
			    "not in metadata" : rd_kafka_err2str(mt->err));
		if (t->nparts == 0) {
			for (int p = 0; p < mt->partition_cnt; p++)
				rd_kafka_topic_partition_list_add(l, topic,
				    mt->partitions[p].id);
		} else {
			for (size_t p = 0; p < t->nparts; p++) {
				if (t->parts[p] >= mt->partition_cnt)
					diag_fatal("topic '%s' has no partition %"
					    PRId32 " (it has %d)", topic, t->parts[p],
					    mt->partition_cnt);
				rd_kafka_topic_partition_list_add(l, topic,
				    t->parts[p]);
			}
		}
		rd_kafka_metadata_destroy(md);
	}
	return l;
}

void kafka_offsets_for_time(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l,
    int64_t ms, int timeout_ms)
{
	rd_kafka_resp_err_t err;

	for (int i = 0; i < l->cnt; i++)
		l->elems[i].offset = ms;
	err = rd_kafka_offsets_for_times(rk, l, timeout_ms);
	if (err)
		diag_fatal("offsets for time: %s", rd_kafka_err2str(err));
	for (int i = 0; i < l->cnt; i++)
		if (l->elems[i].err)
			diag_fatal("offsets for time: %s [%" PRId32 "]: %s",
			    l->elems[i].topic, l->elems[i].partition,
			    rd_kafka_err2str(l->elems[i].err));
}

void kafka_watermark_offsets(rd_kafka_t *rk, const char *topic,
    int32_t partition, int64_t *lo, int64_t *hi, int timeout_ms)
{
	rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, topic,
	    partition, lo, hi, timeout_ms);

	if (err)
		diag_fatal("offsets of '%s' [%" PRId32 "]: %s", topic, partition,
		    rd_kafka_err2str(err));
}

static json_t *int_array(const int32_t *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

/* One topic of -L, or NULL when the topics asked for leave it out. */
static json_t *topic_metadata(rd_kafka_t *rk, const struct kafka_topics *t,
    const rd_kafka_metadata_topic_t *mt, int timeout_ms)
{
	json_t *parts, *to;

	if (t->ntopics > 1) {
		size_t j;

		for (j = 0; j < t->ntopics; j++)
			if (strcmp(t->topics[j], mt->topic) == 0)
				break;
		if (j == t->ntopics)
			return NULL;
	}
	parts = json_array();
	for (int i = 0; i < mt->partition_cnt; i++) {
		const rd_kafka_metadata_partition_t *mp = &mt->partitions[i];
		int64_t lo = -1, hi = -1;

		rd_kafka_query_watermark_offsets(rk, mt->topic, mp->id, &lo, &hi,
		    timeout_ms);
		json_array_append_new(parts, json_pack("{s:i,s:i,s:o,s:o,s:I,s:I}",
		    "partition", (int)mp->id, "leader", (int)mp->leader,
		    "replicas", int_array(mp->replicas, mp->replica_cnt),
		    "isrs", int_array(mp->isrs, mp->isr_cnt),
		    "low", (json_int_t)lo, "high", (json_int_t)hi));
	}
	to = json_pack("{s:s,s:o}", "topic", mt->topic, "partitions", parts);
	if (mt->err)
		json_object_set_new(to, "error",
		    json_string(rd_kafka_err2str(mt->err)));
	return to;
}

int kafka_list_metadata(rd_kafka_t *rk, const struct kafka_topics *t,
    int timeout_ms, struct out *out)
{
	const rd_kafka_metadata_t *md;
	json_t *root, *brokers = json_array(), *topics = json_array();
	int status = 0;

	md = kafka_metadata(rk, t->ntopics == 1 ? t->topics[0] : NULL,
	    timeout_ms);
	for (int i = 0; i < md->broker_cnt; i++)
		json_array_append_new(brokers, json_pack("{s:i,s:s,s:i}", "id",
		    (int)md->brokers[i].id, "host", md->brokers[i].host, "port",
		    md->brokers[i].port));
	for (int i = 0; i < md->topic_cnt; i++) {
		const rd_kafka_metadata_topic_t *mt = &md->topics[i];
		json_t *to = topic_metadata(rk, t, mt, timeout_ms);

		if (to == NULL)
			continue;
		if (mt->err) {
			diag_error("topic '%s': %s", mt->topic,
			    rd_kafka_err2str(mt->err));
			status = 1;
		}
		json_array_append_new(topics, to);
	}
	root = json_pack("{s:o,s:o}", "brokers", brokers, "topics", topics);
	rec_emit(out, root);
	json_decref(root);
	rd_kafka_metadata_destroy(md);
	return status;
}

void kafka_query_offsets(rd_kafka_t *rk, const struct kafka_topics *t,
    int64_t ms, int timeout_ms, struct out *out)
{
	rd_kafka_topic_partition_list_t *l;

	l = kafka_wanted_partitions(rk, t, timeout_ms);
	kafka_offsets_for_time(rk, l, ms, timeout_ms);
	for (int i = 0; i < l->cnt; i++) {
		json_t *r = json_pack("{s:s,s:i,s:I,s:o}", "topic", l->elems[i].topic,
		    "partition", (int)l->elems[i].partition, "timestamp",
		    (json_int_t)ms, "offset", l->elems[i].offset >= 0 ?
		    json_integer(l->elems[i].offset) : json_null());

		rec_emit(out, r);
		json_decref(r);
	}
	rd_kafka_topic_partition_list_destroy(l);
}
