/*
 * Unit tests: the barrier protocol of fs-checkpoint(5) as stage.c runs
 * it, with a source and a counting stage in one process.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "ckpt.h"
#include "mpjson.h"
#include "stage.h"
#include "tap.h"

struct counter {
	int64_t sum;
};

static json_t *snap(void *ctx, uint64_t id)
{
	(void)id;
	return json_pack("{s:I}", "sum", (json_int_t)((struct counter *)ctx)->sum);
}

static int restore(void *ctx, const json_t *state, uint64_t id)
{
	(void)id;
	((struct counter *)ctx)->sum =
	    json_integer_value(json_object_get(state, "sum"));
	return 0;
}

static char dir[] = "/tmp/fs-test-stage-XXXXXX";

static struct fs_common common_for(const char *stage)
{
	struct fs_common c;

	memset(&c, 0, sizeof c);
	c.ckpt_dir = dir;
	c.stage = stage;
	return c;
}

/* Reads back what a run wrote to its output file, as one string. */
static const char *slurp(const char *path)
{
	static char text[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;

	text[n] = '\0';
	if (f)
		fclose(f);
	return text;
}

/*
 * One run: a source emitting values from `from` with a barrier every 2
 * records, through a summing stage, stopping (as if killed) after
 * `upto`.  The source's state is the next value to read.  Returns the
 * stage's sum; *restored is the checkpoint the run resumed from.
 */
static int64_t run(int from_default, int upto, uint64_t *restored,
    const char *outpath)
{
	struct fs_common sc = common_for("src"), tc = common_for("sum");
	struct source_ckpt src;
	struct counter cnt = { 0 };
	struct stage st;
	struct out out;
	json_t *pos;
	int next = from_default;

	out_init(&out, open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0666),
	    outpath);
	char why[REC_ERR_MAX];

	stage_init(&st, &tc, (struct stage_hooks){ snap, restore, &cnt });
	pos = source_ckpt_begin(&src, &sc, 0, 2, &out);
	*restored = 0;
	if (pos != NULL) {
		struct ctl c = { .kind = CTL_RESTORE, .id = src.next_id - 1 };

		next = (int)json_integer_value(json_object_get(pos, "next"));
		json_decref(pos);
		*restored = c.id;
		stage_control(&st, &c, NULL, why);
	}
	for (; next <= upto; next++) {
		cnt.sum += next;
		if (source_ckpt_due(&src)) {
			json_t *state = json_pack("{s:i}", "next", next + 1);
			struct ctl c = { .kind = CTL_BARRIER, .id = src.next_id };

			source_ckpt_barrier(&src, state, &out);
			json_decref(state);
			stage_control(&st, &c, NULL, why);
		}
	}
	source_ckpt_finish(&src);
	stage_finish(&st);
	out_close(&out);
	return cnt.sum;
}

static void test_resume(void)
{
	char outpath[512];
	uint64_t restored;
	int64_t sum;

	snprintf(outpath, sizeof outpath, "%s.out", dir);
	sum = run(1, 5, &restored, outpath);
	CHECK_I64(sum, 15, "first run: 1..5 summed");
	CHECK_I64((int64_t)restored, 0, "first run: nothing to restore");
	CHECK_STR(slurp(outpath), "{\"@fs\":\"restore\",\"id\":0}\n"
	    "{\"@fs\":\"barrier\",\"id\":1}\n{\"@fs\":\"barrier\",\"id\":2}\n",
	    "first run: restore 0 (fresh), barriers 1 and 2");

	/* Killed after 5: checkpoint 2 holds sum 1..4 and next 5.  The
	 * second run resumes there, so 5 is counted once, not twice. */
	sum = run(1, 8, &restored, outpath);
	CHECK_I64((int64_t)restored, 2, "second run: restores checkpoint 2");
	CHECK_I64(sum, 36, "second run: 1..8 exactly once");
	CHECK_STR(slurp(outpath), "{\"@fs\":\"restore\",\"id\":2}\n"
	    "{\"@fs\":\"barrier\",\"id\":3}\n{\"@fs\":\"barrier\",\"id\":4}\n",
	    "second run: restore first, then barriers from 3");
}

/* The order the protocol allows: a restore first or never, barrier ids
 * rising, nothing after the end; a checkpointed input is complete only
 * with its end. */
static void test_order(void)
{
	struct stage st;
	struct fs_common c;
	char why[REC_ERR_MAX];
	struct ctl restore2 = { .kind = CTL_RESTORE, .id = 2 };
	struct ctl b3 = { .kind = CTL_BARRIER, .id = 3 };
	struct ctl end = { .kind = CTL_END, .id = 4 };
	struct ctl wm = { .kind = CTL_WATERMARK, .ts = 5 };

	memset(&c, 0, sizeof c);       /* no --checkpoint-dir: checks only */
	stage_init(&st, &c, (struct stage_hooks){ snap, restore, NULL });
	CHECK(stage_input_complete(&st), "no barrier: end of input is the end");
	CHECK(stage_control(&st, &wm, NULL, why) == STAGE_PASS,
	    "a watermark is the tool's");
	CHECK(stage_control(&st, &restore2, NULL, why) == STAGE_HANDLED,
	    "restore as the first record");
	CHECK(stage_control(&st, &restore2, NULL, why) == STAGE_INVALID,
	    "a second restore is invalid");
	CHECK(stage_control(&st, &b3, NULL, why) == STAGE_HANDLED,
	    "barrier 3 after restore 2");
	CHECK(stage_control(&st, &b3, NULL, why) == STAGE_INVALID,
	    "barrier 3 again is invalid");
	CHECK_STR(why, "barrier 3 after barrier 3: barrier ids must increase",
	    "why a repeated barrier is refused");
	CHECK(!stage_input_complete(&st), "checkpointed input without end");
	CHECK(stage_control(&st, &end, NULL, why) == STAGE_HANDLED, "end");
	CHECK(stage_input_complete(&st), "checkpointed input with its end");
	CHECK(stage_control(&st, &b3, NULL, why) == STAGE_INVALID,
	    "nothing after the end");
	stage_finish(&st);

	stage_init(&st, &c, (struct stage_hooks){ snap, restore, NULL });
	{
		struct ctl fresh = { .kind = CTL_RESTORE, .id = 0 };

		CHECK(stage_control(&st, &fresh, NULL, why) == STAGE_HANDLED,
		    "restore 0: a checkpointing source starting fresh");
		CHECK(!stage_input_complete(&st),
		    "killed before its first barrier: not the end");
	}
	stage_finish(&st);

	stage_init(&st, &c, (struct stage_hooks){ snap, restore, NULL });
	stage_data(&st);
	CHECK(stage_control(&st, &restore2, NULL, why) == STAGE_INVALID,
	    "a restore after data is invalid (forged mid-stream)");
	CHECK_STR(why, "restore 2 after the first record: a restore is only "
	    "valid as the first record", "why a late restore is refused");
	stage_finish(&st);
}

/* An incremental counter: its delta is the sum, one msgpack value. */
static int delta_sum(void *ctx, uint64_t id, struct buf *out)
{
	(void)id;
	mpb_pack_int64(out, ((struct counter *)ctx)->sum);
	return 0;
}

static int apply_sum(void *ctx, const struct ckpt_piece *p)
{
	size_t off = 0;
	const char *why;
	json_t *v = mpj_next(p->payload, p->len, &off, &why);

	if (!json_is_integer(v))
		return json_decref(v), -1;
	((struct counter *)ctx)->sum = json_integer_value(v);
	json_decref(v);
	return 0;
}

/*
 * A delta written behind, by the writer thread: the stage goes on, its
 * output from the barrier on held in the out (its gate) until the delta
 * is durable; the out's next write waits for it, then the barrier goes.
 */
static void test_write_behind(void)
{
	char d[] = "/tmp/fs-test-stage-incr-XXXXXX", outpath[512], why[REC_ERR_MAX];
	struct fs_common c;
	struct counter cnt = { 0 }, back = { 0 };
	struct stage st;
	struct out out;
	struct ctl b1 = { .kind = CTL_BARRIER, .id = 1 };
	struct ctl b2 = { .kind = CTL_BARRIER, .id = 2 };
	struct ctl r2 = { .kind = CTL_RESTORE, .id = 2 };
	char *path;

	if (mkdtemp(d) == NULL)
		return;
	memset(&c, 0, sizeof c);
	c.ckpt_dir = d;
	c.stage = "incr";
	snprintf(outpath, sizeof outpath, "%s.out", d);
	out_init(&out, open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0666),
	    outpath);
	stage_init(&st, &c, (struct stage_hooks){ snap, restore, &cnt,
	    delta_sum, apply_sum, NULL });
	cnt.sum = 3;
	stage_control(&st, &b1, &out, why);
	CHECK(out.gate == NULL, "write behind: a full piece is written in line");
	cnt.sum = 3000;
	stage_control(&st, &b2, &out, why);
	CHECK(out.gate != NULL, "write behind: a delta gates the out");
	CHECK_STR(slurp(outpath), "", "write behind: nothing written yet");
	cnt.sum = 7;            /* the stage goes on */
	out_write(&out, "{\"x\":1}\n", 8);
	out_flush(&out);
	CHECK(out.gate == NULL, "write behind: the out's write opened its gate");
	path = ckpt_path(d, "incr", 2);
	CHECK(ckpt_verify_file(path, why, sizeof why) == 0,
	    "write behind: the delta is durable when its barrier leaves");
	free(path);
	CHECK_STR(slurp(outpath), "{\"@fs\":\"barrier\",\"id\":1}\n"
	    "{\"@fs\":\"barrier\",\"id\":2}\n{\"x\":1}\n",
	    "write behind: the barrier, then what came after it");
	stage_finish(&st);
	out_close(&out);

	stage_init(&st, &c, (struct stage_hooks){ snap, restore, &back,
	    delta_sum, apply_sum, NULL });
	stage_control(&st, &r2, NULL, why);
	CHECK_I64(back.sum, 3000, "write behind: the delta restores");
	stage_finish(&st);
}

int main(void)
{
	diag_init("test_stage");
	diag_set_verbosity(DIAG_QUIET);
	if (mkdtemp(dir) == NULL)
		return 1;
	test_resume();
	test_order();
	test_write_behind();
	return tap_done();
}
