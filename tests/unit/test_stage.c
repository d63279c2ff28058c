/*
 * Unit tests: the barrier protocol of fs-checkpoint(5) as stage.c runs
 * it, with a source and a counting stage in one process.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

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
	stage_init(&st, &tc, (struct stage_hooks){ snap, restore, &cnt });
	pos = source_ckpt_begin(&src, &sc, 0, 2, &out);
	*restored = 0;
	if (pos != NULL) {
		struct ctl c = { .kind = CTL_RESTORE, .id = src.next_id - 1 };

		next = (int)json_integer_value(json_object_get(pos, "next"));
		json_decref(pos);
		*restored = c.id;
		stage_control(&st, &c, NULL);
	}
	for (; next <= upto; next++) {
		cnt.sum += next;
		if (source_ckpt_due(&src)) {
			json_t *state = json_pack("{s:i}", "next", next + 1);
			struct ctl c = { .kind = CTL_BARRIER, .id = src.next_id };

			source_ckpt_barrier(&src, state, &out);
			json_decref(state);
			stage_control(&st, &c, NULL);
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
	CHECK_STR(slurp(outpath), "{\"@fs\":\"barrier\",\"id\":1}\n"
	    "{\"@fs\":\"barrier\",\"id\":2}\n", "first run: barriers 1 and 2");

	/* Killed after 5: checkpoint 2 holds sum 1..4 and next 5.  The
	 * second run resumes there, so 5 is counted once, not twice. */
	sum = run(1, 8, &restored, outpath);
	CHECK_I64((int64_t)restored, 2, "second run: restores checkpoint 2");
	CHECK_I64(sum, 36, "second run: 1..8 exactly once");
	CHECK_STR(slurp(outpath), "{\"@fs\":\"restore\",\"id\":2}\n"
	    "{\"@fs\":\"barrier\",\"id\":3}\n{\"@fs\":\"barrier\",\"id\":4}\n",
	    "second run: restore first, then barriers from 3");
}

int main(void)
{
	diag_init("test_stage");
	diag_set_verbosity(DIAG_QUIET);
	if (mkdtemp(dir) == NULL)
		return 1;
	test_resume();
	return tap_done();
}
