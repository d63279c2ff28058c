/*
 * test_bf_reader - a file parsed by its own thread (bf_reader.h): items
 * in file order across many batches, bad lines and control records in
 * their place, positions for checkpoints, kafka values, closing early.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill/bf_reader.h"
#include "tap.h"
#include "banned.h"

static char path[] = "/tmp/test_bf_reader-XXXXXX";

int main(void)
{
	struct path ts;
	struct bf_reader_conf conf = { .time_path = &ts, .batch_bytes = 4096 };
	struct bf_reader r;
	struct bf_item it;
	char why[256];
	FILE *f;
	int fd = mkstemp(path), n = 0, bad = 0, ctl = 0, rc;
	bool ordered = true, positions = true;
	int64_t want = 0;
	uint64_t prev_end = 0;

	if (fd < 0 || path_compile(&ts, "ts") < 0)
		return 1;
	f = fdopen(fd, "w");
	for (int i = 0; i < 50000; i++) {
		fprintf(f, "{\"ts\":%d,\"pad\":\"%d\"}\n", i, i * 7);
		if (i % 10000 == 5000)
			fputs("not json\n{\"@fs\":\"watermark\",\"ts\":1}\n", f);
	}
	fclose(f);

	CHECK(bf_reader_open(&r, path, &conf, 0, 0, why, sizeof why) == 0,
	    "open");
	while ((rc = bf_reader_next(&r, &it)) == 1) {
		if (it.start != prev_end)
			positions = false;
		prev_end = it.end;
		if (it.kind == BF_ITEM_BAD) {
			bad++;
			continue;
		}
		if (it.kind == BF_ITEM_CONTROL) {
			ctl++;
			continue;
		}
		if (it.ts != want++)
			ordered = false;
		n++;
	}
	CHECK(rc == 0, "ends with 0");
	CHECK_I64(n, 50000, "every record");
	CHECK(ordered, "records in file order across batches");
	CHECK_I64(bad, 5, "bad lines in their place");
	CHECK_I64(ctl, 5, "control records in their place");
	CHECK(positions, "each item starts where the one before ended");
	bf_reader_close(&r);

	/* Resume: at a line boundary only; then close long before the end. */
	CHECK(bf_reader_open(&r, path, &conf, 5, 0, why, sizeof why) < 0 &&
	    strstr(why, "cannot resume at byte 5") != NULL,
	    "resume: not at a line boundary is refused");
	CHECK(bf_reader_open(&r, path, &conf, 19, 1, why, sizeof why) == 0 &&
	    bf_reader_next(&r, &it) == 1 && it.ts == 1 && it.start == 19 &&
	    it.line == 2, "resume: at the second line");
	bf_reader_close(&r);
	CHECK(1, "closed before the end without waiting for it");

	/* Kafka envelopes: the value goes out, its time inside. */
	f = fopen(path, "w");
	fputs("{\"topic\":\"t\",\"partition\":0,\"offset\":0,\"timestamp\":5,"
	    "\"value\":{\"ts\":9,\"u\":\"a\"}}\n"
	    "{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"timestamp\":6,"
	    "\"value\":null}\n", f);
	fclose(f);
	conf.kafka = true;
	CHECK(bf_reader_open(&r, path, &conf, 0, 0, why, sizeof why) == 0,
	    "kafka: open");
	CHECK(bf_reader_next(&r, &it) == 1 && it.kind == BF_ITEM_RECORD &&
	    it.ts == 9 && it.len == 16 &&
	    memcmp(it.data, "{\"ts\":9,\"u\":\"a\"}", 16) == 0,
	    "kafka: the value, with the value's time");
	CHECK(bf_reader_next(&r, &it) == 1 && it.kind == BF_ITEM_BAD &&
	    strcmp(it.why, "null value (tombstone)") == 0 &&
	    strcmp(it.where + strlen(it.where) - 2, ":2") == 0,
	    "kafka: a tombstone is bad, at its line");
	CHECK(bf_reader_next(&r, &it) == 0, "kafka: end");
	bf_reader_close(&r);

	CHECK(bf_reader_open(&r, "/nonexistent/x", &conf, 0, 0, why,
	    sizeof why) < 0 && strncmp(why, "cannot open: ", 13) == 0,
	    "a missing file is refused with the reason");
	path_free(&ts);
	unlink(path);
	return tap_done();
}
