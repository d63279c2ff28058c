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
	const struct ckpt_backend *be;
	void *h;                /* the backend's handle */
	char *stage;            /* NULL: opened for inspection */
	bool stage_known;       /* stage was registered before the open */
	/* The headers of this stage's pieces written or read here, so that
	 * pruning finds a chain's base without reading its pieces again. */
	struct ckpt_head *known;
	size_t nknown, cap_known;
	/* The bytes of the last piece written, kept for the next one: a
	 * checkpoint a second of megabytes does not map fresh pages each
	 * time.  Released past CKPT_BUF_KEEP. */
	struct buf piece;
};

#define CKPT_BUF_KEEP ((size_t)16 << 20)

/* What is known of this stage's piece id, or NULL. */
static struct ckpt_head *known_get(struct ckpt_store *s, uint64_t id)
{
	for (size_t i = 0; i < s->nknown; i++)
		if (s->known[i].id == id)
			return &s->known[i];
	return NULL;
}

static void known_put(struct ckpt_store *s, const struct ckpt_head *h)
{
	struct ckpt_head *k = known_get(s, h->id);

	if (k == NULL) {
		s->known = xgrow(s->known, &s->cap_known, s->nknown + 1,
		    sizeof *s->known);
		k = &s->known[s->nknown++];
	}
	*k = *h;
}

/* Forgets piece id (removed). */
static void known_drop(struct ckpt_store *s, uint64_t id)
{
	struct ckpt_head *k = known_get(s, id);

	if (k != NULL)
		*k = s->known[--s->nknown];
}

/* The directory store's handle. */
struct ckpt_dir {
	char *dir;
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

/* True when path existed already. */
static bool mkdir_or_die(const char *path)
{
	if (mkdir(path, 0777) == 0)
		return false;
	if (errno != EEXIST)
		diag_fatal("cannot create checkpoint directory: '%s': %s", path,
		    strerror(errno));
	return true;
}

static void *dir_open(const char *where, const char *stage,
    char *const *props, bool *known)
{
	struct ckpt_dir *d = xcalloc(1, sizeof *d);

	(void)props;            /* a directory has no connection */
	d->dir = xstrdup(where);
	*known = false;
	if (stage != NULL) {
		char *sd = join_path(where, stage);

		mkdir_or_die(where);
		*known = mkdir_or_die(sd);
		free(sd);
	}
	return d;
}

static void dir_close(void *h)
{
	struct ckpt_dir *d = h;

	free(d->dir);
	free(d);
}

const struct ckpt_backend *ckpt_backend_for(const char *where,
    const struct ckpt_backend *other)
{
	const char *sep = strstr(where, "://");
	size_t n;

	if (sep == NULL)
		return &ckpt_dir_backend;
	n = (size_t)(sep - where);
	if (other != NULL && strlen(other->scheme) == n &&
	    strncmp(where, other->scheme, n) == 0)
		return other;
	diag_fatal("no checkpoint store for '%.*s://' in this tool: '%s'",
	    (int)n, where, where);
	return NULL;
}

struct ckpt_store *ckpt_store_open(const struct ckpt_backend *be,
    const char *where, const char *stage, char *const *props)
{
	struct ckpt_store *s = xcalloc(1, sizeof *s);

	s->be = be;
	s->stage = stage != NULL ? xstrdup(stage) : NULL;
	/* A backend gets what follows SCHEME://. */
	if (be->scheme[0] != '\0')
		where += strlen(be->scheme) + 3;
	s->h = be->open(where, stage, props, &s->stage_known);
	return s;
}

bool ckpt_stage_known(const struct ckpt_store *s)
{
	return s->stage_known;
}

struct ckpt_store *ckpt_open(const char *dir, const char *stage)
{
	return ckpt_store_open(&ckpt_dir_backend, dir, stage, NULL);
}

void ckpt_close(struct ckpt_store *s)
{
	if (s == NULL)
		return;
	s->be->close(s->h);
	free(s->stage);
	free(s->known);
	buf_free(&s->piece);
	free(s);
}

/* --- the format ---------------------------------------------------------- */

void ckpt_format(struct buf *out, const char *stage, uint64_t id,
    const char *payload, size_t len)
{
	struct ckpt_head h = { CKPT_FULL, id, id, id, CKPT_ENC_JSON };

	ckpt_format_head(out, stage, &h, payload, len);
}

/* The header line of piece h of stage, whose payload is payload. */
static void format_header(struct buf *out, const char *stage,
    const struct ckpt_head *h, const char *payload, size_t len)
{
	json_t *o = json_object();
	bool delta = h->kind == CKPT_DELTA;
	char created[40], sum[17];

	ts_format_rfc3339(etime_now_ms(), created, sizeof created);
	snprintf(sum, sizeof sum, "%016" PRIx64,
	    (uint64_t)XXH64(payload, len, 0));
	json_object_set_new(o, "format", json_string(CKPT_FORMAT));
	/* A JSON piece keeps the version that introduced its kind, so that
	 * an fs that knows no encodings reads it still. */
	json_object_set_new(o, "version", json_integer(h->enc != CKPT_ENC_JSON ?
	    CKPT_VERSION_ENC : delta ? CKPT_VERSION_DELTA : CKPT_VERSION));
	json_object_set_new(o, "stage", json_string(stage));
	json_object_set_new(o, "id", json_integer((json_int_t)h->id));
	json_object_set_new(o, "kind", json_string(delta ? "delta" : "full"));
	if (delta) {
		json_object_set_new(o, "base", json_integer((json_int_t)h->base));
		json_object_set_new(o, "prev", json_integer((json_int_t)h->prev));
	}
	if (h->enc == CKPT_ENC_MSGPACK)
		json_object_set_new(o, "encoding", json_string("msgpack"));
	json_object_set_new(o, "created", json_string(created));
	json_object_set_new(o, "payload_length", json_integer((json_int_t)len));
	json_object_set_new(o, "payload_xxh64", json_string(sum));
	rec_dump(out, o);
	buf_appendc(out, '\n');
	json_decref(o);
}

void ckpt_format_head(struct buf *out, const char *stage,
    const struct ckpt_head *h, const char *payload, size_t len)
{
	format_header(out, stage, h, payload, len);
	buf_append(out, payload, len);
}

int ckpt_verify_bytes(const char *p, size_t blen, uint64_t expect_id,
    size_t *payload_at, char *why, size_t wl)
{
	return ckpt_verify_head(p, blen, expect_id, payload_at, NULL, why, wl);
}

/* The encoding a version 3 header hd names; -1 with why when none this
 * fs reads. */
static int parse_enc(const json_t *hd, struct ckpt_head *h, char *why,
    size_t wl)
{
	const char *enc = json_string_value(json_object_get(hd, "encoding"));

	if (enc != NULL && strcmp(enc, "json") == 0)
		h->enc = CKPT_ENC_JSON;
	else if (enc != NULL && strcmp(enc, "msgpack") == 0)
		h->enc = CKPT_ENC_MSGPACK;
	else {
		snprintf(why, wl, "unsupported payload encoding %s%s%s (this fs "
		    "reads json and msgpack)", enc ? "'" : "", enc ? enc : "(none)",
		    enc ? "'" : "");
		return -1;
	}
	return 0;
}

/* The kind, base and prev of header hd (id already read into h); -1
 * with why when they do not make a chain (a delta's prev and base come
 * before it, its base no later than its prev). */
static int parse_kind(const json_t *hd, struct ckpt_head *h, json_int_t version,
    char *why, size_t wl)
{
	const char *kind = json_string_value(json_object_get(hd, "kind"));
	json_t *b = json_object_get(hd, "base"), *pv = json_object_get(hd, "prev");

	h->base = h->prev = h->id;
	h->kind = CKPT_FULL;
	h->enc = CKPT_ENC_JSON;
	if (version == CKPT_VERSION_ENC && parse_enc(hd, h, why, wl) < 0)
		return -1;
	if ((version == CKPT_VERSION || version == CKPT_VERSION_ENC) &&
	    (kind == NULL || strcmp(kind, "full") == 0))
		return 0;
	if (version == CKPT_VERSION || kind == NULL ||
	    strcmp(kind, "delta") != 0 || !json_is_integer(b) ||
	    !json_is_integer(pv) || json_integer_value(b) <= 0 ||
	    (uint64_t)json_integer_value(pv) >= h->id ||
	    json_integer_value(b) > json_integer_value(pv)) {
		snprintf(why, wl, "bad kind, base or prev in the header");
		return -1;
	}
	h->kind = CKPT_DELTA;
	h->base = (uint64_t)json_integer_value(b);
	h->prev = (uint64_t)json_integer_value(pv);
	return 0;
}

int ckpt_verify_head(const char *p, size_t blen, uint64_t expect_id,
    size_t *payload_at, struct ckpt_head *head, char *why, size_t wl)
{
	struct ckpt_head hh;
	json_int_t version;
	const char *nl = blen == 0 ? NULL : memchr(p, '\n',
	    blen < CKPT_HEADER_MAX ? blen : CKPT_HEADER_MAX);
	json_t *h, *v;
	size_t hl, len;
	char sum[17];
	int rc = -1;

	if (nl == NULL) {
		snprintf(why, wl, "no header line (truncated?)");
		return -1;
	}
	hl = (size_t)(nl - p) + 1;
	h = json_loadb(p, hl - 1, 0, NULL);
	if (h == NULL || !json_is_string(json_object_get(h, "format")) ||
	    strcmp(json_string_value(json_object_get(h, "format")),
	    CKPT_FORMAT) != 0) {
		snprintf(why, wl, "not an fs-checkpoint file");
		goto out;
	}
	version = json_integer_value(json_object_get(h, "version"));
	if (version < CKPT_VERSION || version > CKPT_VERSION_ENC) {
		snprintf(why, wl, "unsupported version %" PRId64 " (this fs "
		    "reads versions %d to %d)", (int64_t)version, CKPT_VERSION,
		    CKPT_VERSION_ENC);
		goto out;
	}
	v = json_object_get(h, "id");
	if (expect_id && (uint64_t)json_integer_value(v) != expect_id) {
		snprintf(why, wl, "header names checkpoint %" PRId64,
		    (int64_t)json_integer_value(v));
		goto out;
	}
	hh.id = (uint64_t)json_integer_value(v);
	if (parse_kind(h, &hh, version, why, wl) < 0)
		goto out;
	len = (size_t)json_integer_value(json_object_get(h, "payload_length"));
	if (blen - hl != len) {
		snprintf(why, wl, "payload is %zu bytes, header says %zu "
		    "(truncated?)", blen - hl, len);
		goto out;
	}
	snprintf(sum, sizeof sum, "%016" PRIx64,
	    (uint64_t)XXH64(p + hl, len, 0));
	v = json_object_get(h, "payload_xxh64");
	if (!json_is_string(v) || strcmp(json_string_value(v), sum) != 0) {
		snprintf(why, wl, "checksum mismatch (corrupted)");
		goto out;
	}
	*payload_at = hl;
	if (head != NULL)
		*head = hh;
	rc = 0;
out:
	json_decref(h);
	return rc;
}

/* --- the directory store's backend --------------------------------------- */

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

static char *dir_name(void *h, const char *stage, uint64_t id)
{
	char *sd = join_path(((struct ckpt_dir *)h)->dir, stage);
	char *p = ckpt_file(sd, id);

	free(sd);
	return p;
}

/* Atomically: a temporary file, fsync, rename, fsync of the directory;
 * the file's bytes are head, then payload. */
static void dir_put2(void *h, const char *stage, uint64_t id,
    const char *head, size_t hlen, const char *payload, size_t len)
{
	struct buf tmp = BUF_INIT;
	char *sd = join_path(((struct ckpt_dir *)h)->dir, stage);
	char *path = ckpt_file(sd, id);
	int fd;

	buf_appends(&tmp, path);
	buf_appends(&tmp, ".tmp");
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		diag_fatal("cannot write checkpoint: '%s': %s", tmp.data,
		    strerror(errno));
	write_all_or_die(fd, head, hlen, tmp.data);
	write_all_or_die(fd, payload, len, tmp.data);
	if (fsync(fd) < 0 || close(fd) < 0)
		diag_fatal("cannot write checkpoint: '%s': %s", tmp.data,
		    strerror(errno));
	if (rename(tmp.data, path) < 0)
		diag_fatal("cannot write checkpoint: '%s': %s", path,
		    strerror(errno));
	fsync_dir(sd);
	buf_free(&tmp);
	free(path);
	free(sd);
}

static void dir_put(void *h, const char *stage, uint64_t id,
    const char *bytes, size_t len)
{
	dir_put2(h, stage, id, bytes, len, "", 0);
}

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

static int dir_get(void *h, const char *stage, uint64_t id, struct buf *out,
    char *why, size_t wl)
{
	char *path = dir_name(h, stage, id);
	int rc = read_file(path, out, why, wl);

	free(path);
	return rc;
}

static bool dir_has(void *h, const char *stage, uint64_t id)
{
	char *path = dir_name(h, stage, id);
	struct stat st;
	bool has = stat(path, &st) == 0;

	free(path);
	return has;
}

static void dir_remove(void *h, const char *stage, uint64_t id)
{
	char *path = dir_name(h, stage, id);

	if (unlink(path) < 0 && errno != ENOENT)
		diag_warn("cannot remove old checkpoint: '%s': %s", path,
		    strerror(errno));
	free(path);
}

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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids this stage directory holds, newest first. */
static uint64_t *dir_ids(void *h, const char *stage, size_t *n)
{
	char *sd = join_path(((struct ckpt_dir *)h)->dir, stage);
	DIR *d = opendir(sd);
	struct dirent *e;
	uint64_t *ids = NULL;
	size_t cap = 0;

	free(sd);
	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		uint64_t id;

		if (parse_name(e->d_name, &id) == 0) {
			ids = xgrow(ids, &cap, *n + 1, sizeof *ids);
			ids[(*n)++] = id;
		}
	}
	closedir(d);
	if (*n > 1)
		qsort(ids, *n, sizeof *ids, cmp_desc);
	return ids;
}

/* The registered stages: every subdirectory of DIR not starting with
 * '.', sorted. */
static char **dir_stages(void *h, size_t *n)
{
	const char *dir = ((struct ckpt_dir *)h)->dir;
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
			v[(*n)++] = xstrdup(e->d_name);
		}
		free(p);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

const struct ckpt_backend ckpt_dir_backend = {
	.scheme = "",
	.open = dir_open,
	.close = dir_close,
	.put = dir_put,
	.put2 = dir_put2,
	.get = dir_get,
	.has = dir_has,
	.remove = dir_remove,
	.stages = dir_stages,
	.ids = dir_ids,
	.refresh = NULL,
	.name = dir_name,
};

/* --- writing and reading ------------------------------------------------- */

void ckpt_write_piece(struct ckpt_store *s, const struct ckpt_head *h,
    const char *payload, size_t len)
{
	struct buf *b = &s->piece;

	if (h->kind == CKPT_DELTA &&
	    !(h->base > 0 && h->base <= h->prev && h->prev < h->id))
		diag_fatal("internal error: delta %" PRIu64 " on %" PRIu64
		    " after %" PRIu64, h->id, h->base, h->prev);
	b->len = 0;
	if (s->be->put2 != NULL) {
		format_header(b, s->stage, h, payload, len);
		s->be->put2(s->h, s->stage, h->id, b->data, b->len, payload,
		    len);
	} else {
		ckpt_format_head(b, s->stage, h, payload, len);
		s->be->put(s->h, s->stage, h->id, b->data, b->len);
	}
	known_put(s, h);
	if (b->cap > CKPT_BUF_KEEP)
		buf_free(b);
}

void ckpt_write(struct ckpt_store *s, uint64_t id, const char *payload,
    size_t len)
{
	struct ckpt_head h = { CKPT_FULL, id, id, id, CKPT_ENC_JSON };

	ckpt_write_piece(s, &h, payload, len);
}

void ckpt_write_json(struct ckpt_store *s, uint64_t id, const json_t *state)
{
	struct buf b = BUF_INIT;

	rec_dump(&b, state);
	buf_appendc(&b, '\n');
	ckpt_write(s, id, b.data, b.len);
	buf_free(&b);
}

void ckpt_write_delta(struct ckpt_store *s, uint64_t id, uint64_t base,
    uint64_t prev, const char *payload, size_t len)
{
	struct ckpt_head h = { CKPT_DELTA, id, base, prev, CKPT_ENC_JSON };

	ckpt_write_piece(s, &h, payload, len);
}

/* Fetches and verifies stage's piece id: 0 with the payload's offset in
 * b and its header in *h, -1 when missing, -2 when present but not valid
 * (why says how). */
static int fetch(struct ckpt_store *s, const char *stage, uint64_t id,
    struct buf *b, size_t *at, struct ckpt_head *h, char *why, size_t wl)
{
	if (s->be->get(s->h, stage, id, b, why, wl) < 0)
		return s->be->has(s->h, stage, id) ? -2 : -1;
	if (ckpt_verify_head(b->data, b->len, id, at, h, why, wl) < 0)
		return -2;
	if (s->stage != NULL && strcmp(stage, s->stage) == 0)
		known_put(s, h);
	return 0;
}

/*
 * Walks the chain of stage's checkpoint id from id back to its full
 * piece, verifying each piece.  The chain follows prev to the first full
 * piece: a delta's base is the full piece it was written on, and a
 * background compaction may since have replaced a delta between them by
 * a full piece of the same checkpoint (the same state).  With pieces, keeps them, full piece
 * first.  0; -1 when id is missing; -2 when a piece is missing or bad,
 * or the pieces do not link (why says which).
 */
static int fetch_chain(struct ckpt_store *s, const char *stage, uint64_t id,
    struct ckpt_piece **pieces, size_t *np, char *why, size_t wl)
{
	struct ckpt_piece *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t cur = id;
	int rc = 0;

	for (;;) {
		struct buf b = BUF_INIT;
		struct ckpt_head h;
		size_t at;
		char w[200];

		rc = fetch(s, stage, cur, &b, &at, &h, w, sizeof w);
		if (rc == -1 && cur != id)
			snprintf(w, sizeof w, "missing");
		if (rc < 0) {
			buf_free(&b);
			if (cur != id) {
				snprintf(why, wl, "piece %" PRIu64 " of its chain: %s",
				    cur, w);
				rc = -2;
			} else {
				snprintf(why, wl, "%s", w);
			}
			break;
		}
		if (pieces != NULL) {
			v = xgrow(v, &cap, n + 1, sizeof *v);
			v[n].h = h;
			v[n].len = b.len - at;
			v[n].payload = xmalloc(v[n].len + 1);
			memcpy(v[n].payload, b.data + at, v[n].len);
			v[n].payload[v[n].len] = '\0';
		}
		n++;
		buf_free(&b);
		if (h.kind == CKPT_FULL)
			break;
		cur = h.prev;
	}
	if (pieces == NULL || rc < 0) {
		if (pieces != NULL)
			ckpt_free_chain(v, n);
		return rc;
	}
	for (size_t i = 0; i < n / 2; i++) {
		struct ckpt_piece t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	*pieces = v;
	*np = n;
	return 0;
}

void ckpt_free_chain(struct ckpt_piece *pieces, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(pieces[i].payload);
	free(pieces);
}

int ckpt_read_chain(struct ckpt_store *s, uint64_t id,
    struct ckpt_piece **pieces, size_t *n)
{
	return ckpt_store_read_chain(s, s->stage, id, pieces, n);
}

int ckpt_store_read_chain(struct ckpt_store *s, const char *stage,
    uint64_t id, struct ckpt_piece **pieces, size_t *n)
{
	char why[256];

	if (fetch_chain(s, stage, id, pieces, n, why, sizeof why) < 0) {
		char *name = s->be->name(s->h, stage, id);

		diag_warn("checkpoint %" PRIu64 " unusable: '%s': %s", id, name,
		    why);
		free(name);
		return -1;
	}
	return 0;
}

int ckpt_verify_file(const char *path, char *why, size_t whylen)
{
	struct buf b = BUF_INIT;
	size_t at;
	int rc = read_file(path, &b, why, whylen);

	if (rc == 0)
		rc = ckpt_verify_bytes(b.data, b.len, 0, &at, why, whylen);
	buf_free(&b);
	return rc;
}

/* Does stage hold anything of id (a marker-less write counts)? */
static bool holds(struct ckpt_store *s, const char *stage, uint64_t id)
{
	size_t n;
	uint64_t *ids = s->be->ids(s->h, stage, &n);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++)
		found = ids[i] == id;
	free(ids);
	return found;
}

char *ckpt_store_name(struct ckpt_store *s, const char *stage, uint64_t id)
{
	return s->be->name(s->h, stage, id);
}

int ckpt_store_verify(struct ckpt_store *s, const char *stage, uint64_t id,
    char *why, size_t whylen)
{
	if (fetch_chain(s, stage, id, NULL, NULL, why, whylen) == 0)
		return 0;
	/* Nothing of id at all: the stage had not written it (fs-ckpt
	 * list's "missing"), rather than the store's own words for it. */
	if (!holds(s, stage, id))
		snprintf(why, whylen, "missing");
	return -1;
}

int ckpt_store_head(struct ckpt_store *s, const char *stage, uint64_t id,
    struct ckpt_head *h, char *why, size_t whylen)
{
	struct buf b = BUF_INIT;
	size_t at;
	int rc = fetch(s, stage, id, &b, &at, h, why, whylen);

	buf_free(&b);
	if (rc == -1 && !holds(s, stage, id))
		snprintf(why, whylen, "missing");
	return rc < 0 ? -1 : 0;
}

int ckpt_store_read(struct ckpt_store *s, const char *stage, uint64_t id,
    char **payload, size_t *len)
{
	struct buf b = BUF_INIT;
	char why[256];
	struct ckpt_head h;
	size_t at;
	int rc = fetch(s, stage, id, &b, &at, &h, why, sizeof why);

	if (rc == 0 && h.kind != CKPT_FULL) {
		snprintf(why, sizeof why, "a delta piece where a full one is "
		    "expected");
		rc = -2;
	}
	if (rc < 0) {
		char *name = s->be->name(s->h, stage, id);

		diag_warn("checkpoint %" PRIu64 " unusable: '%s': %s", id, name,
		    why);
		free(name);
		buf_free(&b);
		return -1;
	}
	*len = b.len - at;
	*payload = xmalloc(*len + 1);
	memcpy(*payload, b.data + at, *len);
	(*payload)[*len] = '\0';
	buf_free(&b);
	return 0;
}

int ckpt_read(struct ckpt_store *s, uint64_t id, char **payload,
    size_t *len)
{
	return ckpt_store_read(s, s->stage, id, payload, len);
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

void ckpt_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

char **ckpt_stage_names(const char *dir, size_t *n)
{
	struct ckpt_dir d = { (char *)dir };

	return dir_stages(&d, n);
}

uint64_t *ckpt_stage_ids(const char *dir, const char *stage, size_t *n)
{
	struct ckpt_dir d = { (char *)dir };

	return dir_ids(&d, stage, n);
}

char *ckpt_path(const char *dir, const char *stage, uint64_t id)
{
	struct ckpt_dir d = { (char *)dir };

	return dir_name(&d, stage, id);
}

static void refresh(struct ckpt_store *s, bool catch_up)
{
	if (s->be->refresh != NULL)
		s->be->refresh(s->h, catch_up);
}

char **ckpt_store_stage_names(struct ckpt_store *s, size_t *n)
{
	refresh(s, true);
	return s->be->stages(s->h, n);
}

uint64_t *ckpt_store_stage_ids(struct ckpt_store *s, const char *stage,
    size_t *n)
{
	refresh(s, true);
	return s->be->ids(s->h, stage, n);
}

/* Does every stage hold checkpoint id?  full: verify each one's bytes
 * and checksum, and those of the chain it rests on; otherwise presence
 * only (cheap, for polling). */
static bool complete(struct ckpt_store *s, char **stages, size_t n,
    uint64_t id, bool full, bool warn)
{
	for (size_t i = 0; i < n; i++) {
		char why[256];
		int rc;

		if (!full) {
			if (!s->be->has(s->h, stages[i], id))
				return false;
			continue;
		}
		rc = fetch_chain(s, stages[i], id, NULL, NULL, why, sizeof why);
		if (rc == -2 && warn) {
			char *name = s->be->name(s->h, stages[i], id);

			diag_warn("checkpoint %" PRIu64 " not usable: '%s': %s; "
			    "trying an older one", id, name, why);
			free(name);
		}
		if (rc < 0)
			return false;
	}
	return n > 0;
}

uint64_t ckpt_latest_complete(struct ckpt_store *s)
{
	size_t n, nid;
	char **stages, *self = s->stage;
	uint64_t *ids, found = 0;

	refresh(s, true);
	stages = s->be->stages(s->h, &n);
	if (self == NULL)
		self = n > 0 ? stages[0] : NULL;
	ids = self != NULL ? s->be->ids(s->h, self, &nid) : NULL;
	if (ids == NULL)
		nid = 0;
	for (size_t i = 0; i < nid && found == 0; i++)
		if (complete(s, stages, n, ids[i], true, s->stage != NULL))
			found = ids[i];
	free(ids);
	ckpt_free_names(stages, n);
	return found;
}

int ckpt_is_complete(struct ckpt_store *s, uint64_t id)
{
	size_t n;
	char **stages;
	bool c;

	refresh(s, false);
	stages = s->be->stages(s->h, &n);
	c = complete(s, stages, n, id, false, false);
	ckpt_free_names(stages, n);
	return c;
}

void ckpt_discard_after(struct ckpt_store *s, uint64_t id)
{
	size_t n;
	uint64_t *ids;

	refresh(s, true);
	ids = s->be->ids(s->h, s->stage, &n);
	for (size_t i = 0; i < n; i++)
		if (ids[i] > id) {
			s->be->remove(s->h, s->stage, ids[i]);
			known_drop(s, ids[i]);
		}
	free(ids);
}

bool ckpt_store_forkable(const struct ckpt_store *s)
{
	return s->be == &ckpt_dir_backend;
}

void ckpt_note_full(struct ckpt_store *s, uint64_t id)
{
	struct ckpt_head h = { CKPT_FULL, id, id, id, CKPT_ENC_JSON };

	known_put(s, &h);
}

/* The base (full piece) of this stage's checkpoint id, or 0 when its
 * header cannot be read.  A delta's base is where its chain ended when
 * it was written: at or before where it ends now. */
static uint64_t base_of(struct ckpt_store *s, uint64_t id)
{
	struct ckpt_head *k = known_get(s, id), h;
	struct buf b = BUF_INIT;
	char why[256];
	size_t at;

	if (k != NULL)
		return k->base;
	if (fetch(s, s->stage, id, &b, &at, &h, why, sizeof why) < 0)
		h.base = 0;
	buf_free(&b);
	return h.base;
}

void ckpt_prune(struct ckpt_store *s, unsigned keep)
{
	size_t n, nid, kept = 0;
	char **stages;
	uint64_t *ids, oldest_kept = 0;

	refresh(s, false);
	stages = s->be->stages(s->h, &n);
	ids = s->be->ids(s->h, s->stage, &nid);
	for (size_t i = 0; i < nid && kept < keep; i++) {
		if (complete(s, stages, n, ids[i], false, false)) {
			kept++;
			oldest_kept = ids[i];
		}
	}
	/* The oldest kept checkpoint needs its chain from its base on;
	 * newer ones rest on the same base or a newer one. */
	if (kept == keep && keep > 0)
		oldest_kept = base_of(s, oldest_kept);
	if (kept == keep && keep > 0 && oldest_kept > 0)
		for (size_t i = 0; i < nid; i++)
			if (ids[i] < oldest_kept) {
				s->be->remove(s->h, s->stage, ids[i]);
				known_drop(s, ids[i]);
			}
	free(ids);
	ckpt_free_names(stages, n);
}
