/*
 * test_kafka_parts.c - the parts of the Kafka library that need no
 * broker: -o positions, the partition table and its checkpoint state
 * (kafka_parts.c), and a record made a message (kafka_recmap.c).
 */
#include <stdlib.h>
#include <string.h>

#include "etime.h"
#include "kafka/kafka.h"
#include "rec.h"
#include "tap.h"

static void test_pos(void)
{
	struct kafka_pos p;

	p = kafka_pos_parse("-o", "beginning", false);
	CHECK(p.kind == KAFKA_POS_BEGINNING, "pos: beginning");
	p = kafka_pos_parse("-o", "stored", false);
	CHECK(p.kind == KAFKA_POS_STORED, "pos: stored");
	p = kafka_pos_parse("-o", "42", false);
	CHECK(p.kind == KAFKA_POS_OFFSET && p.v == 42, "pos: an offset");
	p = kafka_pos_parse("-o", "-5", false);
	CHECK(p.kind == KAFKA_POS_TAIL && p.v == 5, "pos: -N is a tail");
	p = kafka_pos_parse("-o", "@1000", false);
	CHECK(p.kind == KAFKA_POS_TIME && p.v == 1000, "pos: @TIME");
	p = kafka_pos_parse("-o", "end", true);
	CHECK(p.kind == KAFKA_POS_END, "pos: end as a stop");
}

static void test_parts_state(void)
{
	struct kafka_parts ps, back;
	struct kafka_part *a, *b;
	json_t *st;
	char *text;

	memset(&ps, 0, sizeof(ps));
	a = kafka_part_find(&ps, "t", 0, true);
	CHECK(a != NULL && a->next == -1 && a->stop_offset == -1 &&
	    a->wm_max == ETIME_MIN, "parts: a new entry knows nothing yet");
	b = kafka_part_find(&ps, "t", 1, true);
	CHECK(kafka_part_find(&ps, "t", 0, false) == &ps.v[0],
	    "parts: found again");
	CHECK(kafka_part_find(&ps, "u", 0, false) == NULL,
	    "parts: another topic is another partition");
	b->next = 7;
	b->wm_max = 1500;
	st = kafka_parts_state(&ps);
	text = json_dumps(st, JSON_COMPACT);
	CHECK_STR(text, "{\"offsets\":[{\"topic\":\"t\",\"partition\":1,"
	    "\"offset\":7,\"max_ts\":1500}]}",
	    "state: partitions with an offset, with their largest time");
	free(text);

	memset(&back, 0, sizeof(back));
	back.restored = st;
	kafka_parts_adopt(&back);
	CHECK(back.n == 1 && back.v[0].partition == 1 && back.v[0].next == 7 &&
	    back.v[0].wm_max == 1500 && !back.v[0].assigned,
	    "adopt: the checkpoint's partitions come back, not assigned");
	CHECK_I64(kafka_parts_restored(&back, "t", 1), 7, "restored: offset");
	CHECK_I64(kafka_parts_restored(&back, "t", 0), -1,
	    "restored: -1 for a partition it does not hold");
	json_decref(st);
	kafka_parts_free(&back);
	kafka_parts_free(&ps);
}

static void test_recmap(void)
{
	struct kafka_recmap rm;
	struct kafka_msg m;
	char why[REC_ERR_MAX] = "";
	const char line[] = "{\"u\":\"ann\",\"n\":3,\"v\":{\"x\":1},\"o\":{}}";
	json_t *obj = rec_parse(line, strlen(line), why);

	memset(&rm, 0, sizeof(rm));
	kafka_msg_init(&m);
	CHECK(kafka_recmap_plain(&rm), "recmap: nothing asked, plain");
	CHECK_I64(kafka_recmap_msg(&rm, obj, line, strlen(line), &m, why), 0,
	    "recmap: plain record");
	CHECK(m.has_value && !m.has_key && m.value.len == strlen(line),
	    "recmap: plain: the value is the line");

	rm.key_text = "u,n";
	rm.value_field_text = "v";
	kafka_opt_header(&rm, "-H", "src=u");
	kafka_recmap_compile(&rm);
	CHECK(!kafka_recmap_plain(&rm), "recmap: fields asked, not plain");
	CHECK_I64(kafka_recmap_msg(&rm, obj, line, strlen(line), &m, why), 0,
	    "recmap: key, value field and header");
	CHECK(m.has_key && m.key.len == 9 && memcmp(m.key.data,
	    "[\"ann\",3]", 9) == 0, "recmap: two key fields: a JSON array");
	CHECK(m.value.len == 7 && memcmp(m.value.data, "{\"x\":1}", 7) == 0,
	    "recmap: the value field's JSON");
	CHECK(m.headers != NULL, "recmap: a header");
	kafka_msg_reset(&m);

	kafka_recmap_free(&rm);
	memset(&rm, 0, sizeof(rm));
	rm.key_text = "o";
	kafka_recmap_compile(&rm);
	CHECK_I64(kafka_recmap_msg(&rm, obj, line, strlen(line), &m, why), -1,
	    "recmap: an object as key is refused");
	CHECK_STR(why, "key field 'o' is an object, not a string, number, "
	    "boolean or null", "recmap: says which field");
	kafka_recmap_free(&rm);
	memset(&rm, 0, sizeof(rm));
	rm.value_field_text = "missing";
	kafka_recmap_compile(&rm);
	CHECK_I64(kafka_recmap_msg(&rm, obj, line, strlen(line), &m, why), -1,
	    "recmap: a missing value field is refused");
	CHECK_STR(why, "missing value field 'missing'", "recmap: says so");
	kafka_recmap_free(&rm);
	kafka_msg_free(&m);
	json_decref(obj);
}

int main(void)
{
	diag_init("test-kafka-parts");
	test_pos();
	test_parts_state();
	test_recmap();
	return tap_done();
}
