/*
 * kafka_lag.c - a consumer group's lag (fs-consume --lag): for each
 * partition, the offset the group committed, the end, and how far
 * behind it is.  See kafka.h.
 */
#include "diag.h"
#include "kafka.h"
#include "rec.h"

#include "banned.h"

void kafka_group_lag(rd_kafka_t *rk, const struct kafka_topics *t,
    int timeout_ms, struct out *out)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;

	l = kafka_wanted_partitions(rk, t, timeout_ms);
	err = rd_kafka_committed(rk, l, timeout_ms);
	if (err)
		diag_fatal("committed offsets: %s", rd_kafka_err2str(err));
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		int64_t lo, hi, from;
		json_t *r;

		kafka_watermark_offsets(rk, e->topic, e->partition, &lo, &hi,
		    timeout_ms);
		/* No committed offset: the group would read from the start. */
		from = e->offset >= 0 ? e->offset : lo;
		r = json_pack("{s:s,s:i,s:o,s:I,s:I}", "topic", e->topic,
		    "partition", (int)e->partition, "committed", e->offset >= 0 ?
		    json_integer(e->offset) : json_null(), "end", (json_int_t)hi,
		    "lag", (json_int_t)(hi > from ? hi - from : 0));
		rec_emit(out, r);
		json_decref(r);
	}
	rd_kafka_topic_partition_list_destroy(l);
}
