/*
 * test_join.c - the join engine (common/join/) on its own: for every
 * kind, a run cut at a snapshot and continued from a restore writes
 * exactly what an uninterrupted run writes, wherever the cut falls; and
 * the as-of join never takes a right record from after the left one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "join/join.h"
#include "out.h"
#include "path.h"
#include "rec.h"
#include "banned.h"

static int failed;
static int ntests;

static void check(int ok, const char *name)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++ntests, name);
	if (!ok)
		failed = 1;
}

#define NREC 240

struct rec {
	int side;
	char line[160];
};

static struct rec recs[NREC];

/* Sides and keys at random, times rising with jitter (out of order). */
static void make_records(void)
{
	unsigned long x = 7;

	for (int i = 0; i < NREC; i++) {
		x = x * 16807 % 2147483647;
		int side = (int)(x % 2);
		x = x * 16807 % 2147483647;
		int key = (int)(x % 5);
		x = x * 16807 % 2147483647;
		long ts = i * 10L + (long)(x % 40);
		long ws = ts / 100 * 100;
		recs[i].side = side;
		snprintf(recs[i].line, sizeof recs[i].line,
		    "{\"k\":%d,\"ts\":%ld,\"n\":%d,\"window_start\":%ld,"
		    "\"window_end\":%ld}", key, ts, i, ws, ws + 100);
	}
}

/* Output goes to a temporary file, read back as one string. */
struct sink {
	FILE *f;
	struct out out;
};

static void sink_open(struct sink *s)
{
	s->f = tmpfile();
	out_init(&s->out, dup(fileno(s->f)), "test");
}

static void sink_take(struct sink *s, struct buf *b)
{
	char tmp[4096];
	size_t n;

	out_close(&s->out);
	rewind(s->f);
	while ((n = fread(tmp, 1, sizeof tmp, s->f)) > 0)
		buf_append(b, tmp, n);
	fclose(s->f);
}

static void feed(struct join *j, int from, int to)
{
	for (int i = from; i < to; i++) {
		char why[REC_ERR_MAX];
		const char *w;
		json_t *o = rec_parse(recs[i].line, strlen(recs[i].line), why);
		join_add(j, recs[i].side, o, recs[i].line, strlen(recs[i].line),
		    &w);
		json_decref(o);
	}
}

static void run_whole(const struct join_config *cfg, struct buf *b)
{
	struct sink s;

	sink_open(&s);
	struct join *j = join_new(cfg, &s.out);
	feed(j, 0, NREC);
	join_end(j, -1);
	sink_take(&s, b);
	join_free(j);
}

static void run_cut(const struct join_config *cfg, int cut, struct buf *b)
{
	struct sink s1, s2;

	sink_open(&s1);
	struct join *j = join_new(cfg, &s1.out);
	feed(j, 0, cut);
	json_t *state = join_snapshot(j);
	sink_take(&s1, b);
	join_free(j);

	/* Through text, as a checkpoint file carries it. */
	char *text = json_dumps(state, JSON_COMPACT);
	json_decref(state);
	state = json_loads(text, 0, NULL);
	free(text);

	sink_open(&s2);
	j = join_new(cfg, &s2.out);
	if (join_restore(j, state) != 0)
		buf_appends(b, "RESTORE FAILED\n");
	json_decref(state);
	feed(j, cut, NREC);
	join_end(j, -1);
	sink_take(&s2, b);
	join_free(j);
}

static void test_restart(const char *name, const struct join_config *cfg)
{
	struct buf whole = BUF_INIT;
	int ok = 1;

	run_whole(cfg, &whole);
	if (whole.len == 0)
		ok = 0;
	for (int cut = 0; cut <= NREC; cut += 3) {
		struct buf b = BUF_INIT;
		run_cut(cfg, cut, &b);
		if (b.len != whole.len || memcmp(b.data, whole.data, b.len) != 0) {
			if (ok)
				fprintf(stderr, "# %s: differs when cut at %d\n",
				    name, cut);
			ok = 0;
		}
		buf_free(&b);
	}
	char title[128];
	snprintf(title, sizeof title,
	    "%s: cut at any record, restored, same output as whole", name);
	check(ok, title);
	buf_free(&whole);
}

/* Every as-of output's right time is at or before its left time, and is
 * the newest such right record of the key. */
static void test_asof_no_future(const struct join_config *cfg)
{
	struct buf out = BUF_INIT;
	int ok = 1, rows = 0;

	run_whole(cfg, &out);
	char *save = NULL;
	for (char *l = strtok_r(out.data, "\n", &save); l;
	    l = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(l, 0, NULL);
		json_t *rt = json_object_get(o, "rts");
		long lt = (long)json_integer_value(json_object_get(o, "ts"));
		long key = (long)json_integer_value(json_object_get(o, "k"));
		long want = -1;
		for (int i = 0; i < NREC; i++) {
			if (recs[i].side != JOIN_RIGHT)
				continue;
			json_t *r = json_loads(recs[i].line, 0, NULL);
			long t = (long)json_integer_value(json_object_get(r, "ts"));
			if (json_integer_value(json_object_get(r, "k")) == key &&
			    t <= lt && t > want)
				want = t;
			json_decref(r);
		}
		if (json_is_integer(rt) ? json_integer_value(rt) != want :
		    want != -1)
			ok = 0;
		rows++;
		json_decref(o);
	}
	check(ok && rows > 0, "asof: each left row has the newest right record at or before it");
	buf_free(&out);
}

int main(void)
{
	struct keyspec key;
	struct path time;
	struct join_field *rf;
	size_t nrf;

	make_records();
	keyspec_compile(&key, "k");
	path_compile(&time, "ts");
	join_fields_parse("ts:rts,n:rn", &rf, &nrf);

	struct join_config cfg = {
		.lo = -50, .hi = 30, .retention = -1, .max_ooo = 60,
		.key = { &key, &key }, .time = { &time, &time },
		.start_field = JOIN_WINDOW_START, .end_field = JOIN_WINDOW_END,
		.side = { { "", NULL, 0 }, { "", rf, nrf } },
	};

	cfg.kind = JOIN_INTERVAL;
	cfg.type = JT_FULL;
	test_restart("interval full", &cfg);
	cfg.type = JT_INNER;
	test_restart("interval inner", &cfg);
	cfg.kind = JOIN_ASOF;
	cfg.type = JT_LEFT;
	test_restart("asof left", &cfg);
	cfg.retention = 100;
	test_restart("asof left, retention", &cfg);
	cfg.retention = -1;
	cfg.max_ooo = 1000000;  /* nothing late: every right record counts */
	test_asof_no_future(&cfg);
	cfg.max_ooo = 60;
	cfg.kind = JOIN_WINDOW;
	cfg.type = JT_FULL;
	test_restart("window full", &cfg);
	cfg.type = JT_ANTI;
	test_restart("window anti", &cfg);

	join_fields_free(rf, nrf);
	keyspec_free(&key);
	path_free(&time);
	printf("1..%d\n", ntests);
	return failed;
}
