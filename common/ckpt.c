/* ckpt.c - the checkpoint store (see ckpt.h and fs-checkpoint(5)). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "buf.h"
#include "ckpt.h"
#include "diag.h"
#include "etime.h"
#include "num.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

#define CKPT_SUFFIX ".ckpt"
#define CKPT_HEADER_MAX 4096

struct ckpt_store {
	char *dir;
	char *stage;
	char *stage_dir;
};

struct idlist {
	uint64_t *ids;
	size_t n, cap;
};

static char *join_path(const char *a, const char *b)
{
	struct buf p = BUF_INIT;

	buf_appends(&p, a);
	buf_appendc(&p, '/');
	buf_appends(&p, b);
	return p.data;
}

static char *ckpt_file(const char *stage_dir, uint64_t id)
{
	char name[64];

	snprintf(name, sizeof name, "%020" PRIu64 CKPT_SUFFIX, id);
	return join_path(stage_dir, name);
}

static void mkdir_or_die(const char *path)
{
	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		diag_fatal("cannot create checkpoint directory: '%s': %s", path,
		    strerror(errno));
}

struct ckpt_store *ckpt_open(const char *dir, const char *stage)
{
	struct ckpt_store *s = xcalloc(1, sizeof *s);

	s->dir = xstrdup(dir);
	s->stage = xstrdup(stage);
	s->stage_dir = join_path(dir, stage);
	mkdir_or_die(dir);
	mkdir_or_die(s->stage_dir);
	return s;
}

void ckpt_close(struct ckpt_store *s)
{
	if (s == NULL)
		return;
	free(s->dir);
	free(s->stage);
	free(s->stage_dir);
	free(s);
}

/* --- writing ------------------------------------------------------------ */

static void header(struct buf *h, const char *stage, uint64_t id,
    const char *payload, size_t len)
{
	json_t *o = json_object();
	char created[40], sum[17];

	ts_format_rfc3339(etime_now_ms(), created, sizeof created);
	snprintf(sum, sizeof sum, "%016" PRIx64,
	    (uint64_t)XXH64(payload, len, 0));
	json_object_set_new(o, "format", json_string(CKPT_FORMAT));
	json_object_set_new(o, "version", json_integer(CKPT_VERSION));
	json_object_set_new(o, "stage", json_string(stage));
	json_object_set_new(o, "id", json_integer((json_int_t)id));
	json_object_set_new(o, "created", json_string(created));
	json_object_set_new(o, "payload_length", json_integer((json_int_t)len));
	json_object_set_new(o, "payload_xxh64", json_string(sum));
	rec_dump(h, o);
	buf_appendc(h, '\n');
	json_decref(o);
}

static void write_all_or_die(int fd, const char *p, size_t n,
    const char *path)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			diag_fatal("cannot write checkpoint: '%s': %s", path,
			    strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		diag_fatal("cannot sync checkpoint directory: '%s': %s", dir,
		    strerror(errno));
	close(fd);
}

void ckpt_write(struct ckpt_store *s, uint64_t id, const char *payload,
    size_t len)
{
	struct buf h = BUF_INIT, tmp = BUF_INIT;
	char *path = ckpt_file(s->stage_dir, id);
	int fd;

	header(&h, s->stage, id, payload, len);
	buf_appends(&tmp, path);
	buf_appends(&tmp, ".tmp");
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		diag_fatal("cannot write checkpoint: '%s': %s", tmp.data,
		    strerror(errno));
	write_all_or_die(fd, h.data, h.len, tmp.data);
	write_all_or_die(fd, payload, len, tmp.data);
	if (fsync(fd) < 0 || close(fd) < 0)
		diag_fatal("cannot write checkpoint: '%s': %s", tmp.data,
		    strerror(errno));
	if (rename(tmp.data, path) < 0)
		diag_fatal("cannot write checkpoint: '%s': %s", path,
		    strerror(errno));
	fsync_dir(s->stage_dir);
	buf_free(&h);
	buf_free(&tmp);
	free(path);
}

void ckpt_write_json(struct ckpt_store *s, uint64_t id, const json_t *state)
{
	struct buf b = BUF_INIT;

	rec_dump(&b, state);
	buf_appendc(&b, '\n');
	ckpt_write(s, id, b.data, b.len);
	buf_free(&b);
}

/* --- reading and verifying ------------------------------------------------ */

static int read_file(const char *path, struct buf *b, char *why, size_t wl)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[65536];
	ssize_t n;

	if (fd < 0) {
		snprintf(why, wl, "%s", strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, wl, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		buf_append(b, chunk, (size_t)n);
	}
	close(fd);
	return 0;
}

/*
 * Checks a file's header and payload.  On success *payload_at is the
 * payload's offset in b.  expect_id 0 accepts any id.
 */
static int verify(const struct buf *b, uint64_t expect_id, size_t *payload_at,
    char *why, size_t wl)
{
	const char *nl = memchr(b->data, '\n', b->len < CKPT_HEADER_MAX ?
	    b->len : CKPT_HEADER_MAX);
	json_t *h, *v;
	size_t hl, len;
	char sum[17];
	int rc = -1;

	if (nl == NULL) {
		snprintf(why, wl, "no header line (truncated?)");
		return -1;
	}
	hl = (size_t)(nl - b->data) + 1;
	h = json_loadb(b->data, hl - 1, 0, NULL);
	if (h == NULL || !json_is_string(json_object_get(h, "format")) ||
	    strcmp(json_string_value(json_object_get(h, "format")),
	    CKPT_FORMAT) != 0) {
		snprintf(why, wl, "not an fs-checkpoint file");
		goto out;
	}
	if (json_integer_value(json_object_get(h, "version")) != CKPT_VERSION) {
		snprintf(why, wl, "unsupported version");
		goto out;
	}
	v = json_object_get(h, "id");
	if (expect_id && (uint64_t)json_integer_value(v) != expect_id) {
		snprintf(why, wl, "header names checkpoint %" PRId64,
		    (int64_t)json_integer_value(v));
		goto out;
	}
	len = (size_t)json_integer_value(json_object_get(h, "payload_length"));
	if (b->len - hl != len) {
		snprintf(why, wl, "payload is %zu bytes, header says %zu "
		    "(truncated?)", b->len - hl, len);
		goto out;
	}
	snprintf(sum, sizeof sum, "%016" PRIx64,
	    (uint64_t)XXH64(b->data + hl, len, 0));
	v = json_object_get(h, "payload_xxh64");
	if (!json_is_string(v) || strcmp(json_string_value(v), sum) != 0) {
		snprintf(why, wl, "checksum mismatch (corrupted)");
		goto out;
	}
	*payload_at = hl;
	rc = 0;
out:
	json_decref(h);
	return rc;
}

static int verify_path(const char *path, uint64_t id, struct buf *b,
    size_t *at, char *why, size_t wl)
{
	if (read_file(path, b, why, wl) < 0)
		return -1;
	return verify(b, id, at, why, wl);
}

int ckpt_verify_file(const char *path, char *why, size_t whylen)
{
	struct buf b = BUF_INIT;
	size_t at;
	int rc = verify_path(path, 0, &b, &at, why, whylen);

	buf_free(&b);
	return rc;
}

int ckpt_read(struct ckpt_store *s, uint64_t id, char **payload,
    size_t *len)
{
	struct buf b = BUF_INIT;
	char *path = ckpt_file(s->stage_dir, id), why[256];
	size_t at;

	if (verify_path(path, id, &b, &at, why, sizeof why) < 0) {
		diag_warn("checkpoint %" PRIu64 " unusable: '%s': %s", id, path,
		    why);
		buf_free(&b);
		free(path);
		return -1;
	}
	*len = b.len - at;
	*payload = xmalloc(*len + 1);
	memcpy(*payload, b.data + at, *len);
	(*payload)[*len] = '\0';
	buf_free(&b);
	free(path);
	return 0;
}

int ckpt_read_json(struct ckpt_store *s, uint64_t id, json_t **state)
{
	char *p;
	size_t len;
	json_error_t err;

	if (ckpt_read(s, id, &p, &len) < 0)
		return -1;
	*state = json_loadb(p, len, JSON_DECODE_ANY, &err);
	free(p);
	if (*state == NULL) {
		diag_warn("checkpoint %" PRIu64 " of stage '%s': bad payload: %s",
		    id, s->stage, err.text);
		return -1;
	}
	return 0;
}

/* --- listing, completeness, pruning ------------------------------------ */

static int parse_name(const char *name, uint64_t *id)
{
	size_t n = strlen(name), sl = strlen(CKPT_SUFFIX);
	char digits[32];

	if (n <= sl || n - sl >= sizeof digits ||
	    strcmp(name + n - sl, CKPT_SUFFIX) != 0)
		return -1;
	memcpy(digits, name, n - sl);
	digits[n - sl] = '\0';
	return num_parse_u64_strict(digits, id);
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The ids this stage directory holds, newest first. */
static void list_ids(const char *stage_dir, struct idlist *l)
{
	DIR *d = opendir(stage_dir);
	struct dirent *e;

	l->n = 0;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		uint64_t id;

		if (parse_name(e->d_name, &id) == 0) {
			l->ids = xgrow(l->ids, &l->cap, l->n + 1, sizeof *l->ids);
			l->ids[l->n++] = id;
		}
	}
	closedir(d);
	if (l->n > 1)
		qsort(l->ids, l->n, sizeof *l->ids, cmp_desc);
}

/* The registered stages: every subdirectory of DIR not starting with '.'. */
static char **list_stages(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		p = join_path(dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			v = xgrow(v, &cap, *n + 1, sizeof *v);
			v[(*n)++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
	return v;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **ckpt_stage_names(const char *dir, size_t *n)
{
	char **v = list_stages(dir, n);
	size_t skip = strlen(dir) + 1;

	for (size_t i = 0; i < *n; i++)
		memmove(v[i], v[i] + skip, strlen(v[i] + skip) + 1);
	if (*n > 1)
		qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

void ckpt_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

uint64_t *ckpt_stage_ids(const char *dir, const char *stage, size_t *n)
{
	struct idlist l = { 0 };
	char *sd = join_path(dir, stage);

	list_ids(sd, &l);
	free(sd);
	*n = l.n;
	return l.ids;
}

char *ckpt_path(const char *dir, const char *stage, uint64_t id)
{
	char *sd = join_path(dir, stage), *p = ckpt_file(sd, id);

	free(sd);
	return p;
}

static void free_stages(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Does stage_dir hold checkpoint id?  full: verify the checksum too;
 * otherwise the header and the length (cheap, for polling). */
static int stage_has(const char *stage_dir, uint64_t id, bool full,
    char *why, size_t wl)
{
	char *path = ckpt_file(stage_dir, id);
	struct buf b = BUF_INIT;
	size_t at;
	int rc;

	if (full) {
		rc = verify_path(path, id, &b, &at, why, wl);
	} else {
		struct stat st;

		rc = stat(path, &st) == 0 ? 0 : -1;
		if (rc < 0)
			snprintf(why, wl, "missing");
	}
	buf_free(&b);
	free(path);
	return rc;
}

static bool complete(char **stages, size_t n, uint64_t id, bool full,
    bool warn)
{
	char why[256];

	for (size_t i = 0; i < n; i++) {
		if (stage_has(stages[i], id, full, why, sizeof why) < 0) {
			if (warn && strcmp(why, "No such file or directory") != 0)
				diag_warn("checkpoint %" PRIu64 " not usable: "
				    "'%s': %s; trying an older one", id,
				    stages[i], why);
			return false;
		}
	}
	return n > 0;
}

uint64_t ckpt_latest_complete(struct ckpt_store *s)
{
	struct idlist l = { 0 };
	size_t n;
	char **stages = list_stages(s->dir, &n);
	uint64_t found = 0;

	list_ids(s->stage_dir, &l);
	for (size_t i = 0; i < l.n && found == 0; i++)
		if (complete(stages, n, l.ids[i], true, true))
			found = l.ids[i];
	free(l.ids);
	free_stages(stages, n);
	return found;
}

int ckpt_is_complete(struct ckpt_store *s, uint64_t id)
{
	size_t n;
	char **stages = list_stages(s->dir, &n);
	bool c = complete(stages, n, id, false, false);

	free_stages(stages, n);
	return c;
}

static void remove_file(const char *stage_dir, uint64_t id)
{
	char *path = ckpt_file(stage_dir, id);

	if (unlink(path) < 0 && errno != ENOENT)
		diag_warn("cannot remove old checkpoint: '%s': %s", path,
		    strerror(errno));
	free(path);
}

void ckpt_discard_after(struct ckpt_store *s, uint64_t id)
{
	struct idlist l = { 0 };

	list_ids(s->stage_dir, &l);
	for (size_t i = 0; i < l.n; i++)
		if (l.ids[i] > id)
			remove_file(s->stage_dir, l.ids[i]);
	free(l.ids);
}

void ckpt_prune(struct ckpt_store *s, unsigned keep)
{
	struct idlist l = { 0 };
	size_t n, kept = 0;
	char **stages = list_stages(s->dir, &n);
	uint64_t oldest_kept = 0;

	list_ids(s->stage_dir, &l);
	for (size_t i = 0; i < l.n && kept < keep; i++) {
		if (complete(stages, n, l.ids[i], false, false)) {
			kept++;
			oldest_kept = l.ids[i];
		}
	}
	if (kept == keep && keep > 0)
		for (size_t i = 0; i < l.n; i++)
			if (l.ids[i] < oldest_kept)
				remove_file(s->stage_dir, l.ids[i]);
	free(l.ids);
	free_stages(stages, n);
}
