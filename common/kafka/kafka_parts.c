/*
 * kafka_parts.c - the partitions a consumer reads: where each starts and
 * stops (-o), the offsets a checkpoint holds for them, the group's
 * rebalances, and the offsets stored or committed back.  See kafka.h.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "diag.h"
#include "etime.h"
#include "kafka.h"
#include "num.h"
#include "tool.h"
#include "xalloc.h"

#include "banned.h"

struct kafka_pos kafka_pos_parse(const char *opt, const char *arg, bool stop)
{
	struct kafka_pos p = { KAFKA_POS_NONE, 0 };

	if (strcmp(arg, "beginning") == 0 && !stop)
		p.kind = KAFKA_POS_BEGINNING;
	else if (strcmp(arg, "end") == 0)
		p.kind = KAFKA_POS_END;
	else if (strcmp(arg, "stored") == 0 && !stop)
		p.kind = KAFKA_POS_STORED;
	else if (arg[0] == '@') {
		p.kind = KAFKA_POS_TIME;
		p.v = opt_timestamp(opt, arg + 1);
	} else if (arg[0] == '-' && !stop) {
		p.kind = KAFKA_POS_TAIL;
		p.v = opt_i64(opt, arg + 1, 1, INT64_MAX);
	} else if (num_parse_i64(arg, 0, INT64_MAX, &p.v) == 0) {
		p.kind = KAFKA_POS_OFFSET;
	} else if (stop) {
		diag_usage("%s: the stop must be end, an offset or @TIME: '%s'",
		    opt, arg);
	} else {
		diag_usage("%s: expected beginning, end, stored, N, -N or @TIME: "
		    "'%s'", opt, arg);
	}
	return p;
}

struct kafka_part *kafka_part_find(struct kafka_parts *ps, const char *topic,
    int32_t partition, bool add)
{
	struct kafka_part *p;

	if (ps->last < ps->n && ps->v[ps->last].partition == partition &&
	    strcmp(ps->v[ps->last].topic, topic) == 0)
		return &ps->v[ps->last];
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].partition == partition &&
		    strcmp(ps->v[i].topic, topic) == 0) {
			ps->last = i;
			return &ps->v[i];
		}
	if (!add)
		return NULL;
	ps->v = xgrow(ps->v, &ps->cap, ps->n + 1, sizeof(*ps->v));
	p = &ps->v[ps->n];
	memset(p, 0, sizeof(*p));
	p->topic = xstrdup(topic);
	p->partition = partition;
	p->next = -1;
	p->stop_offset = -1;
	p->wm_max = ETIME_MIN;
	ps->last = ps->n++;
	return p;
}

void kafka_parts_free(struct kafka_parts *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i].topic);
	free(ps->v);
	ps->v = NULL;
	ps->n = ps->cap = ps->last = 0;
}

/* --- checkpoints --------------------------------------------------------- */

json_t *kafka_parts_state(const struct kafka_parts *ps)
{
	json_t *list = json_array();

	for (size_t i = 0; i < ps->n; i++) {
		const struct kafka_part *p = &ps->v[i];
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
void kafka_parts_adopt(struct kafka_parts *ps)
{
	const json_t *list = json_object_get(ps->restored, "offsets"), *e;
	size_t i;

	json_array_foreach(list, i, e) {
		const char *topic = json_string_value(json_object_get(e, "topic"));
		const json_t *part = json_object_get(e, "partition");
		const json_t *off = json_object_get(e, "offset");
		const json_t *ts = json_object_get(e, "max_ts");
		struct kafka_part *p;

		if (topic == NULL || !json_is_integer(part) ||
		    !json_is_integer(off) || json_integer_value(off) < 0 ||
		    (ts != NULL && !json_is_integer(ts)))
			diag_fatal("checkpoint state of this stage is not "
			    "fs-consume's: bad offset entry %zu", i);
		p = kafka_part_find(ps, topic, (int32_t)json_integer_value(part),
		    true);
		p->next = json_integer_value(off);
		if (ts != NULL)
			p->wm_max = json_integer_value(ts);
	}
}

int64_t kafka_parts_restored(const struct kafka_parts *ps, const char *topic,
    int32_t partition)
{
	const json_t *list = json_object_get(ps->restored, "offsets"), *e;
	size_t i;

	json_array_foreach(list, i, e) {
		const json_t *t = json_object_get(e, "topic");

		if (json_integer_value(json_object_get(e, "partition")) == partition &&
		    json_is_string(t) && strcmp(json_string_value(t), topic) == 0)
			return json_integer_value(json_object_get(e, "offset"));
	}
	return -1;
}

void kafka_commit_complete(rd_kafka_t *rk, json_t *pending,
    struct ckpt_store *store)
{
	rd_kafka_topic_partition_list_t *l;
	json_t *best = NULL, *e;
	size_t i, n = 0;

	/* The newest complete one: an older one the other stages have
	 * already pruned never completes, and must not block the rest. */
	for (i = 0; i < json_array_size(pending); i++) {
		uint64_t id;

		e = json_array_get(pending, i);
		id = (uint64_t)json_integer_value(json_array_get(e, 0));
		if (ckpt_is_complete(store, id) != 1)
			continue;
		best = e;
		n = i + 1;
	}
	if (best == NULL)
		return;
	l = rd_kafka_topic_partition_list_new(8);
	json_array_foreach(json_array_get(best, 1), i, e)
		rd_kafka_topic_partition_list_add(l,
		    json_string_value(json_object_get(e, "topic")),
		    (int32_t)json_integer_value(json_object_get(e, "partition")))
		    ->offset = json_integer_value(json_object_get(e, "offset"));
	if (l->cnt > 0) {
		rd_kafka_resp_err_t err = rd_kafka_commit(rk, l, 1);

		if (err)
			diag_warn("commit of checkpoint offsets: %s",
			    rd_kafka_err2str(err));
	}
	rd_kafka_topic_partition_list_destroy(l);
	while (n-- > 0)
		json_array_remove(pending, 0);
}

void kafka_parts_store(struct kafka_parts *ps, rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *l = NULL;

	for (size_t i = 0; i < ps->n; i++) {
		struct kafka_part *p = &ps->v[i];

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
		rd_kafka_offsets_store(rk, l);
		rd_kafka_topic_partition_list_destroy(l);
	}
}

/* --- assignment ---------------------------------------------------------- */

void kafka_parts_resolve(struct kafka_parts *ps, rd_kafka_t *rk,
    rd_kafka_topic_partition_list_t *l)
{
	const struct kafka_pos *start = &ps->start, *stop = &ps->stop;

	if (start->kind == KAFKA_POS_TIME)
		kafka_offsets_for_time(rk, l, start->v, ps->timeout_ms);
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		struct kafka_part *p = kafka_part_find(ps, e->topic, e->partition,
		    true);
		int64_t lo = 0, hi = 0, ck;
		bool need = start->kind != KAFKA_POS_OFFSET &&
		    start->kind != KAFKA_POS_STORED;

		if (need || stop->kind == KAFKA_POS_END)
			kafka_watermark_offsets(rk, e->topic, e->partition, &lo,
			    &hi, ps->timeout_ms);
		switch (start->kind) {
		case KAFKA_POS_NONE:
		case KAFKA_POS_END:
			e->offset = hi;
			break;
		case KAFKA_POS_BEGINNING:
			e->offset = lo;
			break;
		case KAFKA_POS_TAIL:
			e->offset = hi - start->v < lo ? lo : hi - start->v;
			break;
		case KAFKA_POS_TIME:
			if (e->offset < 0)
				e->offset = hi;
			break;
		case KAFKA_POS_OFFSET:
			e->offset = start->v;
			break;
		case KAFKA_POS_STORED:
			e->offset = RD_KAFKA_OFFSET_STORED;
			break;
		}
		ck = kafka_parts_restored(ps, e->topic, e->partition);
		if (ck >= 0)
			e->offset = ck;
		p->next = e->offset >= 0 ? e->offset : -1;
		if (stop->kind == KAFKA_POS_END)
			p->stop_offset = hi;
		else if (stop->kind == KAFKA_POS_OFFSET)
			p->stop_offset = stop->v;
		p->assigned = true;
		if (p->stop_offset >= 0 && p->next >= 0 &&
		    p->next >= p->stop_offset)
			p->done = true;
	}
}

void kafka_log_assignment(const char *what,
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

void kafka_parts_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *l, void *opaque)
{
	struct kafka_parts *ps = opaque;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < l->cnt; i++) {
			rd_kafka_topic_partition_t *e = &l->elems[i];
			struct kafka_part *p = kafka_part_find(ps, e->topic,
			    e->partition, true);
			int64_t ck = kafka_parts_restored(ps, e->topic,
			    e->partition);

			/* A checkpoint wins over the group's committed offset. */
			if (ck >= 0)
				e->offset = ck;
			p->assigned = true;
			p->eof = p->done = false;
			p->next = ck >= 0 ? ck : -1;
		}
		ps->ever_assigned = true;
		kafka_log_assignment("assigned", l);
		if (cooperative(rk))
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, l));
		else
			rd_kafka_assign(rk, l);
	} else {
		for (int i = 0; i < l->cnt; i++) {
			struct kafka_part *p = kafka_part_find(ps, l->elems[i].topic,
			    l->elems[i].partition, false);

			if (p != NULL)
				p->assigned = false;
		}
		kafka_log_assignment("revoked", l);
		if (cooperative(rk))
			rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, l));
		else
			rd_kafka_assign(rk, NULL);
	}
}
