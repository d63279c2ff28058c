/*
 * filesink.c - the offline store's files: which file a row goes to,
 * when a file closes, and when it is committed (filesink.h).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "etime.h"
#include "filesink.h"
#include "rec.h"
#include "schema/schema.h"
#include "xalloc.h"
#include "banned.h"

/* A file being written: its partition, its name, when last used. */
struct open_file {
	char *part;             /* "dt=2026-12-05/hour=16", "" */
	char *final;            /* relative to the directory */
	struct fsk_out *out;
	uint64_t used;
};

/* A closed file waiting for its checkpoint to be complete. */
struct pending {
	uint64_t id;            /* the checkpoint that covers it */
	char *final;            /* relative to the directory */
};

struct filesink {
	struct filesink_opts o;
	char *dir;
	char token[40];
	char *schema_text;      /* Avro: given or inferred; NULL: not yet */
	struct avro_sch *sch;
	struct open_file *open;
	size_t n_open;
	struct pending *pend;
	size_t n_pend;
	uint64_t seg, seq, clock;
	struct buf row;         /* the row encoded */
	char part[4096];        /* the partition of part_sec */
	int64_t part_sec;
	bool part_valid;
	struct filesink_stats st;
};

/* "a/b" + "/" + "c", malloc'd. */
static char *join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = xmalloc(na + nb + 2);

	memcpy(s, a, na);
	s[na] = '/';
	memcpy(s + na + 1, b, nb + 1);
	return s;
}

/* DIR/PART/.NAME.inprogress for DIR/PART/NAME (malloc'd). */
static char *inprogress_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	size_t bl = strlen(path + dl);
	char *s = xmalloc(dl + bl + sizeof "..inprogress");

	memcpy(s, path, dl);
	s[dl] = '.';
	memcpy(s + dl + 1, path + dl, bl);
	memcpy(s + dl + 1 + bl, ".inprogress", sizeof ".inprogress");
	return s;
}

/* fsync(2) of the directory holding path: a rename or a new name is
 * durable only then. */
static void sync_parent(const char *path)
{
	char *d = xstrdup(path), *slash = strrchr(d, '/');
	int fd;

	if (slash != NULL)
		*slash = '\0';
	fd = open(slash ? d : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		diag_fatal("cannot sync directory '%s': %s", slash ? d : ".",
		    strerror(errno));
	close(fd);
	free(d);
}

/* mkdir -p path. */
static void make_dirs(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			diag_fatal("cannot create directory '%s': %s", p,
			    strerror(errno));
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
}

static void set_token(struct filesink *fs)
{
	snprintf(fs->token, sizeof fs->token, "%" PRIx64 "%04x",
	    (uint64_t)etime_now_ms(), (unsigned)getpid() & 0xffff);
}

static int use_schema(struct filesink *fs, const char *text, char *why,
    size_t wl)
{
	char e[SCHEMA_ERR_MAX];
	struct avro_sch *s = avsch_new(text, strlen(text), e);

	if (s == NULL) {
		snprintf(why, wl, "not a usable Avro schema: %s", e);
		return -1;
	}
	avsch_free(fs->sch);
	fs->sch = s;
	if (fs->schema_text != text) {
		free(fs->schema_text);
		fs->schema_text = xstrdup(text);
	}
	return 0;
}

struct filesink *filesink_new(const struct filesink_opts *o, char *why,
    size_t wl)
{
	struct filesink *fs = xcalloc(1, sizeof *fs);
	char e[FSK_ERR_MAX];

	fs->o = *o;
	fs->dir = xstrdup(o->dir);
	/* the files before the first barrier belong to checkpoint 1 */
	fs->seg = o->checkpointed ? 1 : 0;
	set_token(fs);
	if (fsk_part_check(o->partition, e, sizeof e) < 0) {
		snprintf(why, wl, "--partition '%s' %s", o->partition, e);
		filesink_free(fs);
		return NULL;
	}
	if (o->format == FSK_AVRO && o->schema_text != NULL &&
	    use_schema(fs, o->schema_text, why, wl) < 0) {
		filesink_free(fs);
		return NULL;
	}
	make_dirs(fs->dir);
	return fs;
}

/* --- closing and committing ----------------------------------------------- */

static const char *ext_of(const struct filesink *fs)
{
	static const char *const ndjson[] = { ".ndjson", ".ndjson.gz",
		".ndjson.zst", ".ndjson" };

	return fs->o.format == FSK_AVRO ? ".avro" : ndjson[fs->o.codec];
}

/* Renames final's in-progress file into place (done already is fine:
 * a restore commits again what a killed run may have committed). */
static void commit_file(struct filesink *fs, const char *final)
{
	char *path = join(fs->dir, final), *tmp = inprogress_of(path);
	struct stat sb;
	int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);

	if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* no RENAME_NOREPLACE here: link(2) refuses to replace too */
		r = link(tmp, path);
		if (r == 0 && unlink(tmp) < 0)
			diag_fatal("cannot remove '%s': %s", tmp, strerror(errno));
	}
	if (r < 0 && errno == ENOENT && stat(path, &sb) == 0) {
		free(tmp);
		free(path);
		return;
	}
	if (r < 0 && errno == EEXIST)
		diag_fatal("cannot commit '%s': a file of that name exists "
		    "(another writer with --prefix '%s' in '%s'?)", path,
		    fs->o.prefix, fs->dir);
	if (r < 0)
		diag_fatal("cannot commit '%s' as '%s': %s", tmp, path,
		    strerror(errno));
	sync_parent(path);
	if (stat(path, &sb) == 0)
		fs->st.bytes_committed += (uint64_t)sb.st_size;
	fs->st.files_committed++;
	diag_info("committed %s", path);
	free(tmp);
	free(path);
}

/* Closes open file i (durable on disk, still in progress): committed at
 * once without checkpoints, else pending until its checkpoint is. */
static void close_file(struct filesink *fs, size_t i)
{
	struct open_file *f = &fs->open[i];
	char why[FSK_ERR_MAX];
	char *path = join(fs->dir, f->final), *tmp = inprogress_of(path);

	if (fsk_out_close(f->out, why, sizeof why) < 0)
		diag_fatal("%s", why);
	sync_parent(tmp);
	free(tmp);
	free(path);
	if (!fs->o.checkpointed) {
		commit_file(fs, f->final);
		free(f->final);
	} else {
		fs->pend = xrealloc(fs->pend, (fs->n_pend + 1) * sizeof *fs->pend);
		fs->pend[fs->n_pend].id = fs->seg;
		fs->pend[fs->n_pend++].final = f->final;
	}
	free(f->part);
	fs->open[i] = fs->open[--fs->n_open];
}

void filesink_commit(struct filesink *fs, uint64_t id)
{
	size_t keep = 0;

	for (size_t i = 0; i < fs->n_pend; i++) {
		if (fs->pend[i].id <= id) {
			commit_file(fs, fs->pend[i].final);
			free(fs->pend[i].final);
		} else {
			fs->pend[keep++] = fs->pend[i];
		}
	}
	fs->n_pend = keep;
}

uint64_t filesink_pending_oldest(const struct filesink *fs)
{
	uint64_t m = 0;

	for (size_t i = 0; i < fs->n_pend; i++)
		if (m == 0 || fs->pend[i].id < m)
			m = fs->pend[i].id;
	return m;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t *filesink_pending_ids(const struct filesink *fs, size_t *n)
{
	uint64_t *ids = xmalloc((fs->n_pend + 1) * sizeof *ids);
	size_t k = 0;

	for (size_t i = 0; i < fs->n_pend; i++)
		ids[k++] = fs->pend[i].id;
	qsort(ids, k, sizeof *ids, cmp_u64);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (*n == 0 || ids[*n - 1] != ids[i])
			ids[(*n)++] = ids[i];
	return ids;
}

void filesink_close_all(struct filesink *fs)
{
	while (fs->n_open > 0)
		close_file(fs, fs->n_open - 1);
	filesink_commit(fs, UINT64_MAX);
}

void filesink_abandon(struct filesink *fs)
{
	while (fs->n_open > 0) {
		struct open_file *f = &fs->open[--fs->n_open];
		char *path = join(fs->dir, f->final), *tmp = inprogress_of(path);
		fsk_out_abort(f->out);
		if (unlink(tmp) < 0)
			diag_warn("cannot remove '%s': %s", tmp, strerror(errno));
		free(tmp);
		free(path);
		free(f->final);
		free(f->part);
	}
}

/* --- writing ---------------------------------------------------------------- */

/* The open file of partition part, opened when there is none. */
static struct open_file *file_for(struct filesink *fs, const char *part)
{
	char name[512], why[FSK_ERR_MAX];
	struct open_file *f;

	for (size_t i = 0; i < fs->n_open; i++)
		if (strcmp(fs->open[i].part, part) == 0)
			return &fs->open[i];
	if (fs->n_open >= fs->o.max_open) {
		size_t lru = 0;
		for (size_t i = 1; i < fs->n_open; i++)
			if (fs->open[i].used < fs->open[lru].used)
				lru = i;
		close_file(fs, lru);
	}
	snprintf(name, sizeof name, "%s-%s-%" PRIu64 "-%" PRIu64 "%s",
	    fs->o.prefix, fs->token, fs->seg, fs->seq++, ext_of(fs));
	fs->open = xrealloc(fs->open, (fs->n_open + 1) * sizeof *fs->open);
	f = &fs->open[fs->n_open];
	f->part = xstrdup(part);
	f->final = part[0] ? join(part, name) : xstrdup(name);
	char *path = join(fs->dir, f->final), *tmp = inprogress_of(path);
	if (part[0]) {
		char *d = join(fs->dir, part);
		make_dirs(d);
		free(d);
	}
	f->out = fsk_out_open(tmp, fs->o.format, fs->o.codec, fs->schema_text,
	    why, sizeof why);
	if (f->out == NULL)
		diag_fatal("%s", why);
	free(tmp);
	free(path);
	fs->n_open++;
	fs->st.files_opened++;
	return f;
}

/* Row encoded into fs->row (Avro), the schema inferred first when it is
 * not known yet.  -1 with why. */
static int encode(struct filesink *fs, const json_t *row, char *why,
    size_t wl)
{
	char e[SCHEMA_ERR_MAX];

	if (fs->sch == NULL) {
		json_t *s = fsk_schema_infer(row, why, wl);
		if (s == NULL)
			return -1;
		char *text = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(s);
		int r = use_schema(fs, text, why, wl);
		free(text);
		if (r < 0)
			return -1;
		diag_info("inferred Avro schema: %s", fs->schema_text);
	}
	buf_reset(&fs->row);
	if (avsch_encode(fs->sch, row, &fs->row, e) < 0) {
		snprintf(why, wl, "does not fit the Avro schema: %s", e);
		return -1;
	}
	return 0;
}

int filesink_write(struct filesink *fs, int64_t ms, const json_t *row,
    const char *line, size_t len, char *why, size_t wl)
{
	struct open_file *f;
	int64_t sec = etime_floor_div(ms, 1000);
	char e[FSK_ERR_MAX];

	if (fs->o.format == FSK_AVRO) {
		if (encode(fs, row, why, wl) < 0)
			return -1;
		line = fs->row.data;
		len = fs->row.len;
	}
	if (!fs->part_valid || sec != fs->part_sec) {
		fsk_part_path(fs->o.partition, ms, fs->part, sizeof fs->part);
		fs->part_sec = sec;
		fs->part_valid = true;
	}
	f = file_for(fs, fs->part);
	f->used = ++fs->clock;
	if (fsk_out_write(f->out, line, len, e, sizeof e) < 0)
		diag_fatal("%s", e);
	fs->st.rows++;
	if (fsk_out_size(f->out) >= fs->o.max_bytes)
		close_file(fs, (size_t)(f - fs->open));
	return 0;
}

/* --- checkpoints -------------------------------------------------------------- */

json_t *filesink_snapshot(struct filesink *fs, uint64_t id)
{
	json_t *pend = json_array();

	/* Barrier ids may skip (a source restored past a checkpoint that
	 * did not complete): what was written since the last barrier is
	 * this one's. */
	for (size_t i = 0; i < fs->n_pend; i++)
		if (fs->pend[i].id == fs->seg)
			fs->pend[i].id = id;
	fs->seg = id;
	while (fs->n_open > 0)
		close_file(fs, fs->n_open - 1);
	for (size_t i = 0; i < fs->n_pend; i++)
		json_array_append_new(pend, json_pack("{s:I,s:s}", "id",
		    (json_int_t)fs->pend[i].id, "file", fs->pend[i].final));
	/* the files from here on belong to the next checkpoint */
	fs->seg = id + 1;
	fs->seq = 0;
	json_t *state = json_pack("{s:s,s:o,s:I}", "token", fs->token,
	    "pending", pend, "rows", (json_int_t)fs->st.rows);
	/* an inferred schema: a restart writes the same one */
	if (fs->o.schema_text == NULL && fs->schema_text != NULL)
		json_object_set_new(state, "schema",
		    json_string(fs->schema_text));
	return state;
}

int filesink_restore(struct filesink *fs, const json_t *state, uint64_t id,
    char *why, size_t wl)
{
	const char *token = NULL, *schema = NULL;
	json_t *pend = NULL, *p;
	json_error_t err;
	size_t i;

	if (json_unpack_ex((json_t *)state, &err, 0, "{s:s,s?s,s:o}", "token",
	    &token, "schema", &schema, "pending", &pend) < 0 ||
	    !json_is_array(pend) || strlen(token) >= sizeof fs->token) {
		snprintf(why, wl, "not a state of fs-sink-file: %s", err.text);
		return -1;
	}
	snprintf(fs->token, sizeof fs->token, "%s", token);
	if (schema != NULL && fs->o.format == FSK_AVRO && fs->o.schema_text ==
	    NULL && use_schema(fs, schema, why, wl) < 0)
		return -1;
	json_array_foreach(pend, i, p) {
		json_int_t pid;
		const char *file;
		if (json_unpack(p, "{s:I,s:s}", "id", &pid, "file", &file) < 0 ||
		    strstr(file, "..") != NULL || file[0] == '/') {
			snprintf(why, wl, "a pending file of the state is not "
			    "one of this store's");
			return -1;
		}
		fs->pend = xrealloc(fs->pend, (fs->n_pend + 1) * sizeof *fs->pend);
		fs->pend[fs->n_pend].id = (uint64_t)pid;
		fs->pend[fs->n_pend++].final = xstrdup(file);
	}
	fs->seg = id + 1;
	fs->seq = 0;
	return 0;
}

/* Removes the in-progress files of prefix under path, recursively;
 * counts them into *removed.  -1 after an error (said). */
static int sweep(const char *path, const char *prefix, uint64_t *removed)
{
	size_t plen = strlen(prefix);
	DIR *d = opendir(path);
	struct dirent *e;
	int r = 0;

	if (d == NULL) {
		diag_error("cannot read directory '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		const char *b = e->d_name;
		size_t bl = strlen(b);
		if (strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
			continue;
		char *sub = join(path, b);
		struct stat sb;
		bool dir = e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN &&
		    lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode));
		if (dir) {
			if (sweep(sub, prefix, removed) < 0)
				r = -1;
		} else if (b[0] == '.' && strncmp(b + 1, prefix, plen) == 0 &&
		    b[1 + plen] == '-' && bl > sizeof ".inprogress" &&
		    strcmp(b + bl - (sizeof ".inprogress" - 1),
		    ".inprogress") == 0) {
			if (unlink(sub) < 0) {
				diag_error("cannot remove '%s': %s", sub,
				    strerror(errno));
				r = -1;
			} else {
				diag_info("removed %s (not covered by a "
				    "complete checkpoint)", sub);
				(*removed)++;
			}
		}
		free(sub);
	}
	closedir(d);
	return r;
}

void filesink_recover(struct filesink *fs)
{
	filesink_commit(fs, UINT64_MAX);
	if (sweep(fs->dir, fs->o.prefix, &fs->st.removed) < 0)
		diag_fatal("in-progress files under '%s' could not be removed: "
		    "a restart would find them again", fs->dir);
}

/* --- the rest --------------------------------------------------------------- */

const struct filesink_stats *filesink_stats(const struct filesink *fs)
{
	return &fs->st;
}

json_t *filesink_location(const struct filesink *fs)
{
	char *abs = realpath(fs->dir, NULL);
	json_t *loc = json_object();
	struct buf uri = BUF_INIT;

	buf_appends(&uri, "file://");
	buf_appends(&uri, abs ? abs : fs->dir);
	buf_appendc(&uri, '\0');
	json_object_set_new(loc, "uri", json_string(uri.data));
	json_object_set_new(loc, "layout", json_string(fs->o.partition));
	json_object_set_new(loc, "format",
	    json_string(fsk_format_words[fs->o.format]));
	json_object_set_new(loc, "compression",
	    json_string(fsk_codec_words[fs->o.codec]));
	json_object_set_new(loc, "prefix", json_string(fs->o.prefix));
	if (fs->schema_text != NULL)
		json_object_set_new(loc, "schema", json_string(fs->schema_text));
	buf_free(&uri);
	free(abs);
	return loc;
}

void filesink_free(struct filesink *fs)
{
	if (fs == NULL)
		return;
	filesink_abandon(fs);
	for (size_t i = 0; i < fs->n_pend; i++)
		free(fs->pend[i].final);
	free(fs->pend);
	free(fs->open);
	avsch_free(fs->sch);
	free(fs->schema_text);
	buf_free(&fs->row);
	free(fs->dir);
	free(fs);
}
