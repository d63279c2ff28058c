/* Unit tests: checkpoint write, read, completeness, prune, corruption. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ckpt.h"
#include "diag.h"
#include "tap.h"
#include <xxhash.h>

static char dir[] = "/tmp/fs-test-ckpt-XXXXXX";

static char *file(const char *stage, uint64_t id)
{
	static char p[512];

	snprintf(p, sizeof p, "%s/%s/%020llu.ckpt", dir, stage,
	    (unsigned long long)id);
	return p;
}

static bool exists_in(const char *d, const char *stage, uint64_t id)
{
	char p[512];

	snprintf(p, sizeof p, "%s/%s/%020llu.ckpt", d, stage,
	    (unsigned long long)id);
	return access(p, F_OK) == 0;
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

/*
 * A store in memory, as a backend of ckpt.h: what the core does over any
 * backend (format, verification, completeness, discard, prune), without
 * a broker.  A checkpoint can be put without its "marker" (present to
 * ids(), absent to has() and get()), as a Kafka writer that died
 * between its chunks and its commit marker leaves it.
 */
struct mem_ckpt {
	char stage[32];
	uint64_t id;
	struct buf bytes;
	bool marked;
};

struct mem {
	struct mem_ckpt c[64];
	size_t n;
	char stages[4][32];
	size_t nstages;
	bool next_unmarked;     /* the next put leaves its marker out */
};

static struct mem mem_store;

static struct mem_ckpt *mem_find(struct mem *m, const char *stage,
    uint64_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->c[i].id == id && strcmp(m->c[i].stage, stage) == 0)
			return &m->c[i];
	return NULL;
}

static void *mem_open(const char *where, const char *stage,
    char *const *props, bool *known)
{
	struct mem *m = &mem_store;

	(void)props;
	*known = false;
	CHECK_STR(where, "store-1", "backend: open gets what follows SCHEME://");
	if (stage != NULL)
		snprintf(m->stages[m->nstages++], 32, "%s", stage);
	return m;
}

static void mem_close(void *h)
{
	(void)h;
}

static void mem_put(void *h, const char *stage, uint64_t id,
    const char *b, size_t len)
{
	struct mem *m = h;
	struct mem_ckpt *c = mem_find(m, stage, id);

	if (c == NULL) {
		c = &m->c[m->n++];
		snprintf(c->stage, sizeof c->stage, "%s", stage);
		c->id = id;
	}
	buf_reset(&c->bytes);
	buf_append(&c->bytes, b, len);
	c->marked = !m->next_unmarked;
	m->next_unmarked = false;
}

static int mem_get(void *h, const char *stage, uint64_t id, struct buf *out,
    char *why, size_t wl)
{
	struct mem_ckpt *c = mem_find(h, stage, id);

	if (c == NULL || !c->marked) {
		snprintf(why, wl, "missing");
		return -1;
	}
	buf_append(out, c->bytes.data, c->bytes.len);
	return 0;
}

static bool mem_has(void *h, const char *stage, uint64_t id)
{
	struct mem_ckpt *c = mem_find(h, stage, id);

	return c != NULL && c->marked;
}

static void mem_remove(void *h, const char *stage, uint64_t id)
{
	struct mem *m = h;
	struct mem_ckpt *c = mem_find(m, stage, id);

	if (c == NULL)
		return;
	buf_free(&c->bytes);
	*c = m->c[--m->n];
	memset(&m->c[m->n], 0, sizeof m->c[m->n]);
}

static char **mem_stages(void *h, size_t *n)
{
	struct mem *m = h;
	char **v = calloc(m->nstages + 1, sizeof *v);

	for (size_t i = 0; i < m->nstages; i++)
		v[i] = strdup(m->stages[i]);
	*n = m->nstages;
	return v;
}

static uint64_t *mem_ids(void *h, const char *stage, size_t *n)
{
	struct mem *m = h;
	uint64_t *v = calloc(m->n + 1, sizeof *v);

	*n = 0;
	for (uint64_t id = 64; id > 0; id--)
		if (mem_find(m, stage, id) != NULL)
			v[(*n)++] = id;
	return v;
}

static char *mem_name(void *h, const char *stage, uint64_t id)
{
	char *p = malloc(64);

	(void)h;
	snprintf(p, 64, "mem:%s/%llu", stage, (unsigned long long)id);
	return p;
}

static const struct ckpt_backend mem_backend = {
	.scheme = "mem",
	.open = mem_open,
	.close = mem_close,
	.put = mem_put,
	.get = mem_get,
	.has = mem_has,
	.remove = mem_remove,
	.stages = mem_stages,
	.ids = mem_ids,
	.name = mem_name,
};

static void test_backend(void)
{
	const struct ckpt_backend *be = ckpt_backend_for("mem://store-1",
	    &mem_backend);
	struct ckpt_store *a, *b;

	CHECK(be == &mem_backend, "backend: SCHEME:// picks the tool's backend");
	CHECK(ckpt_backend_for("/var/lib/fs", &mem_backend) == &ckpt_dir_backend,
	    "backend: a path is the directory store");
	a = ckpt_store_open(be, "mem://store-1", "src", NULL);
	b = ckpt_store_open(be, "mem://store-1", "sink", NULL);
	write_state(a, 1, 10);
	write_state(b, 1, 11);
	write_state(a, 2, 20);
	mem_store.next_unmarked = true;
	write_state(b, 2, 21);
	CHECK(ckpt_verify_bytes(mem_find(&mem_store, "sink", 2)->bytes.data,
	    mem_find(&mem_store, "sink", 2)->bytes.len, 2,
	    &(size_t){ 0 }, (char[64]){ 0 }, 64) == 0,
	    "backend: the bytes stored are a valid checkpoint file");
	CHECK(!ckpt_is_complete(a, 2), "backend: no marker, not complete");
	CHECK_I64((int64_t)ckpt_latest_complete(a), 1,
	    "backend: a checkpoint without its marker is not used");
	CHECK_I64(read_n(b, 1), 11, "backend: state round trip");
	ckpt_discard_after(b, 1);
	CHECK(mem_find(&mem_store, "sink", 2) == NULL,
	    "backend: discard removes what the killed run left unmarked");
	for (uint64_t id = 2; id <= 5; id++) {
		write_state(a, id, (int)id);
		write_state(b, id, (int)id);
		ckpt_prune(a, 3);
		ckpt_prune(b, 3);
	}
	CHECK(mem_find(&mem_store, "src", 2) == NULL &&
	    mem_find(&mem_store, "sink", 2) == NULL &&
	    mem_find(&mem_store, "src", 3) != NULL,
	    "backend: prune keeps the newest three complete");
	/* A corrupted payload under an intact marker: an older one, and
	 * the read fails rather than return a guess. */
	mem_find(&mem_store, "sink", 5)->bytes.data[
	    mem_find(&mem_store, "sink", 5)->bytes.len - 2] ^= 1;
	CHECK_I64((int64_t)ckpt_latest_complete(a), 4,
	    "backend: a checksum mismatch makes the checkpoint unusable");
	CHECK_I64(read_n(b, 5), -1, "backend: a corrupt state is not read");
	ckpt_close(a);
	ckpt_close(b);
	while (mem_store.n > 0)
		mem_remove(&mem_store, mem_store.c[0].stage, mem_store.c[0].id);
}

/* --- incremental checkpoints: full pieces and deltas ------------------ */

static void write_delta(struct ckpt_store *s, uint64_t id, uint64_t base,
    uint64_t prev)
{
	char p[32];

	snprintf(p, sizeof p, "d%llu\n", (unsigned long long)id);
	ckpt_write_delta(s, id, base, prev, p, strlen(p));
}

/* The ids of the chain of id, full piece first, as "1 2 3". */
static const char *chain_of(struct ckpt_store *s, uint64_t id)
{
	static char out[128];
	struct ckpt_piece *p;
	size_t n, at = 0;

	out[0] = '\0';
	if (ckpt_read_chain(s, id, &p, &n) < 0)
		return "unusable";
	for (size_t i = 0; i < n && at < sizeof out - 24; i++)
		at += (size_t)snprintf(out + at, sizeof out - at, "%s%llu%s",
		    i ? " " : "", (unsigned long long)p[i].h.id,
		    p[i].h.kind == CKPT_FULL ? "F" : "");
	ckpt_free_chain(p, n);
	return out;
}

static void test_delta_format(void)
{
	struct ckpt_head h = { CKPT_DELTA, 9, 4, 8 }, got;
	struct buf b = BUF_INIT;
	char why[256];
	size_t at;

	ckpt_format_head(&b, "agg", &h, "x\n", 2);
	CHECK(strstr(b.data, "\"version\":2,") != NULL &&
	    strstr(b.data, "\"kind\":\"delta\",\"base\":4,\"prev\":8,") != NULL,
	    "delta format: version 2, kind, base and prev in the header");
	CHECK(ckpt_verify_head(b.data, b.len, 9, &at, &got, why, sizeof why) == 0 &&
	    got.kind == CKPT_DELTA && got.base == 4 && got.prev == 8 &&
	    got.id == 9 && strcmp(b.data + at, "x\n") == 0,
	    "delta format: the header read back");
	buf_free(&b);
	ckpt_format(&b, "agg", 3, "{}", 2);
	CHECK(strstr(b.data, "\"version\":1,") != NULL &&
	    strstr(b.data, "\"kind\":\"full\"") != NULL &&
	    ckpt_verify_head(b.data, b.len, 3, &at, &got, why, sizeof why) == 0 &&
	    got.kind == CKPT_FULL && got.base == 3 && got.prev == 3,
	    "delta format: a full piece is version 1, its own base");
	buf_free(&b);
	h.prev = 9;
	ckpt_format_head(&b, "agg", &h, "x\n", 2);
	CHECK(ckpt_verify_head(b.data, b.len, 9, &at, &got, why, sizeof why) < 0,
	    "delta format: prev must come before the delta");
	buf_free(&b);
	h.prev = 8;
	h.base = 8;
	h.kind = CKPT_FULL;
	ckpt_format_head(&b, "agg", &h, "x\n", 2);
	CHECK(ckpt_verify_head(b.data, b.len, 9, &at, &got, why, sizeof why) == 0 &&
	    got.kind == CKPT_FULL && got.base == 9,
	    "delta format: a full piece ignores base and prev");
	buf_free(&b);
	/* A version 1 header without a kind (written before deltas) is a
	 * full piece. */
	buf_appends(&b, "{\"format\":\"fs-checkpoint\",\"version\":1,"
	    "\"stage\":\"agg\",\"id\":2,\"payload_length\":2,"
	    "\"payload_xxh64\":\"");
	{
		char sum[17];

		snprintf(sum, sizeof sum, "%016llx",
		    (unsigned long long)XXH64("{}", 2, 0));
		buf_appends(&b, sum);
	}
	buf_appends(&b, "\"}\n{}");
	CHECK(ckpt_verify_head(b.data, b.len, 2, &at, &got, why, sizeof why) == 0 &&
	    got.kind == CKPT_FULL, "delta format: an old header is a full piece");
	buf_free(&b);
}

static void test_chain(void)
{
	static char d2[] = "/tmp/fs-test-ckpt-chain-XXXXXX";
	struct ckpt_store *a, *b, *c;
	char why[256];

	if (mkdtemp(d2) == NULL)
		return;
	a = ckpt_open(d2, "src");
	b = ckpt_open(d2, "agg");
	for (uint64_t id = 1; id <= 3; id++)
		write_state(a, id, (int)id);
	write_state(b, 1, 1);
	write_delta(b, 2, 1, 1);
	write_delta(b, 3, 1, 2);
	CHECK_STR(chain_of(b, 3), "1F 2 3", "chain: full piece, then the deltas");
	CHECK_I64((int64_t)ckpt_latest_complete(a), 3, "chain: complete");
	CHECK(ckpt_store_verify(a, "agg", 3, why, sizeof why) == 0,
	    "chain: verified");
	CHECK_I64(read_n(b, 3), -1, "chain: a delta is not read as a full piece");

	/* A corrupt delta: every checkpoint resting on it is incomplete. */
	snprintf(why, sizeof why, "%s/agg/%020d.ckpt", d2, 2);
	corrupt(why);
	CHECK_I64((int64_t)ckpt_latest_complete(a), 1,
	    "chain: a corrupt delta makes the checkpoints on it incomplete");
	CHECK(ckpt_store_verify(a, "agg", 3, why, sizeof why) < 0 &&
	    strstr(why, "piece 2 of its chain") != NULL,
	    "chain: verify names the bad piece");
	CHECK_STR(chain_of(b, 3), "unusable", "chain: not restored");
	ckpt_discard_after(b, 1);
	ckpt_discard_after(a, 1);

	/* Compaction and pruning: nothing a kept checkpoint needs goes. */
	for (uint64_t id = 2; id <= 7; id++)
		write_state(a, id, (int)id);
	write_delta(b, 2, 1, 1);
	write_delta(b, 3, 1, 2);
	write_delta(b, 4, 1, 3);
	write_state(b, 5, 5);                   /* compaction */
	write_delta(b, 6, 5, 5);
	ckpt_prune(b, 3);                       /* keeps 6 5 4: 4 needs 1 */
	CHECK(exists_in(d2, "agg", 1) && exists_in(d2, "agg", 3),
	    "prune: the chain of the oldest kept checkpoint stays");
	CHECK_STR(chain_of(b, 4), "1F 2 3 4", "prune: it still restores");
	write_delta(b, 7, 5, 6);
	ckpt_prune(b, 3);                       /* keeps 7 6 5 */
	CHECK(!exists_in(d2, "agg", 1) && !exists_in(d2, "agg", 4) &&
	    exists_in(d2, "agg", 5),
	    "prune: pieces before the oldest kept base go");
	CHECK_STR(chain_of(b, 7), "5F 6 7", "prune: the new chain restores");

	/* A store opened afresh (a restart) finds the bases by reading. */
	c = ckpt_open(d2, "agg");
	write_delta(c, 8, 5, 7);
	write_state(a, 8, 8);
	ckpt_prune(c, 3);                       /* keeps 8 7 6: base 5 */
	CHECK(exists_in(d2, "agg", 5) && exists_in(d2, "agg", 6),
	    "prune: after a restart, the base is read from the header");
	CHECK_STR(chain_of(c, 8), "5F 6 7 8", "prune: after a restart, restores");
	ckpt_close(a);
	ckpt_close(b);
	ckpt_close(c);
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
	test_backend();
	test_delta_format();
	test_chain();
	return tap_done();
}
