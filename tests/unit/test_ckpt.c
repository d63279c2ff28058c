/* Unit tests: checkpoint write, read, completeness, prune, corruption. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ckpt.h"
#include "diag.h"
#include "tap.h"

static char dir[] = "/tmp/fs-test-ckpt-XXXXXX";

static char *file(const char *stage, uint64_t id)
{
	static char p[512];

	snprintf(p, sizeof p, "%s/%s/%020llu.ckpt", dir, stage,
	    (unsigned long long)id);
	return p;
}

static bool exists(const char *stage, uint64_t id)
{
	return access(file(stage, id), F_OK) == 0;
}

static void write_state(struct ckpt_store *s, uint64_t id, int n)
{
	json_t *st = json_pack("{s:i}", "n", n);

	ckpt_write_json(s, id, st);
	json_decref(st);
}

static int read_n(struct ckpt_store *s, uint64_t id)
{
	json_t *st;
	int n;

	if (ckpt_read_json(s, id, &st) < 0)
		return -1;
	n = (int)json_integer_value(json_object_get(st, "n"));
	json_decref(st);
	return n;
}

static void test_write_read(void)
{
	struct ckpt_store *a = ckpt_open(dir, "src");
	char why[256];

	write_state(a, 1, 10);
	CHECK(exists("src", 1), "write: file named by id");
	CHECK(ckpt_verify_file(file("src", 1), why, sizeof why) == 0,
	    "verify: a fresh file is valid");
	CHECK_I64(read_n(a, 1), 10, "read: state round trip");
	CHECK_I64(read_n(a, 2), -1, "read: missing id fails");
	ckpt_close(a);
}

static void test_complete(void)
{
	struct ckpt_store *a = ckpt_open(dir, "src");
	struct ckpt_store *b = ckpt_open(dir, "sink");

	CHECK_I64((int64_t)ckpt_latest_complete(a), 0,
	    "complete: a stage without the file makes it incomplete");
	write_state(b, 1, 11);
	CHECK_I64((int64_t)ckpt_latest_complete(a), 1,
	    "complete: every stage holds 1");
	write_state(a, 2, 20);
	CHECK(!ckpt_is_complete(a, 2), "complete: 2 only at the source");
	CHECK_I64((int64_t)ckpt_latest_complete(b), 1, "complete: still 1");
	write_state(b, 2, 21);
	CHECK(ckpt_is_complete(a, 2), "complete: 2 once the last stage wrote it");
	CHECK_I64((int64_t)ckpt_latest_complete(a), 2, "complete: newest is 2");
	ckpt_close(a);
	ckpt_close(b);
}

static void corrupt(const char *path)
{
	int fd = open(path, O_WRONLY);
	struct stat st;

	fstat(fd, &st);
	pwrite(fd, "X", 1, st.st_size - 3);
	close(fd);
}

static void test_corruption(void)
{
	struct ckpt_store *a = ckpt_open(dir, "src");
	struct ckpt_store *b = ckpt_open(dir, "sink");
	char why[256];

	write_state(a, 3, 30);
	write_state(b, 3, 31);
	corrupt(file("sink", 3));
	CHECK(ckpt_verify_file(file("sink", 3), why, sizeof why) < 0,
	    "corrupt: detected by checksum");
	CHECK_STR(why, "checksum mismatch (corrupted)", "corrupt: reason");
	CHECK_I64((int64_t)ckpt_latest_complete(a), 2,
	    "corrupt: the previous complete checkpoint is used");
	CHECK_I64(read_n(b, 3), -1, "corrupt: reading it fails");

	write_state(b, 3, 31);
	truncate(file("sink", 3), 40);
	CHECK(ckpt_verify_file(file("sink", 3), why, sizeof why) < 0,
	    "truncated: detected");
	CHECK_I64((int64_t)ckpt_latest_complete(a), 2,
	    "truncated: the previous complete checkpoint is used");
	ckpt_close(a);
	ckpt_close(b);
}

static void test_prune_discard(void)
{
	struct ckpt_store *a = ckpt_open(dir, "src");
	struct ckpt_store *b = ckpt_open(dir, "sink");

	for (uint64_t id = 4; id <= 7; id++) {
		write_state(a, id, (int)id);
		write_state(b, id, (int)id);
	}
	ckpt_prune(a, 3);
	CHECK(!exists("src", 4) && exists("src", 5) && exists("src", 7),
	    "prune: keeps the newest three complete ones");
	CHECK(exists("sink", 4), "prune: touches only its own stage");
	write_state(a, 8, 8);
	ckpt_prune(a, 3);
	CHECK(exists("src", 5) && exists("src", 8),
	    "prune: an incomplete newer one does not count");
	ckpt_discard_after(a, 7);
	CHECK(!exists("src", 8) && exists("src", 7),
	    "discard_after: removes newer leftovers");
	ckpt_close(a);
	ckpt_close(b);
}

int main(void)
{
	diag_init("test_ckpt");
	diag_set_verbosity(DIAG_QUIET);
	if (mkdtemp(dir) == NULL)
		return 1;
	test_write_read();
	test_complete();
	test_corruption();
	test_prune_discard();
	return tap_done();
}
