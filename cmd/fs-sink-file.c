/*
 * fs-sink-file - the offline store: NDJSON records into files under a
 * directory, partitioned by event time, as NDJSON (plain, gzip, zstd)
 * or Avro object container files, committed exactly once at
 * checkpoints.  See fs-sink-file(1); the engine is common/filesink/.
 *
 * Each data line goes to the file of its event time's partition.  At a
 * checkpoint barrier every open file is closed and listed in the
 * checkpoint; once the checkpoint is complete the files are renamed
 * into place.  A restore commits what the restored checkpoint lists and
 * removes every other file in progress, so that the replay after it
 * writes their rows again, once.
 *
 * With --view and -n, the sink records where it keeps the view's rows
 * in the feature registry of that namespace (fs-registry(5)): as an
 * offline location of the view's version whose definition its input's
 * is, once a definition record has come, and again when the location
 * changes (an inferred schema) at checkpoints and at the end.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"
#include "aerospike/aerospike.h"
#include "def.h"
#include "filesink/filesink.h"
#include "kafka/kafka.h"
#include "opt.h"
#include "recproj.h"
#include "reject.h"
#include "sink.h"
#include "stage.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-sink-file [--format FORMAT] [--compress CODEC] [--partition PATTERN]\n"
"                    [--view NAME -n NAMESPACE [--hosts HOSTS]]\n"
"                    [options] DIR [FILE]\n"
"Writes NDJSON records into files under DIR, partitioned by event time.\n";

/* How long the end waits for its checkpoint to be complete (a sink
 * beside this one still writing it) before leaving the files pending. */
#define END_WAIT_MS 60000

struct opts {
	struct fs_common c;
	struct filesink_opts f;
	const char *schema_file;
	int64_t max_open;
	const char *input;
	struct as_opts as;      /* the registry's store, with --view */
	const char *view;
};

/* The view's entry in the registry (fs-registry(5)), with --view. */
struct offline_reg {
	struct as_cluster cl;
	struct as_registry reg;
	char *password;
	json_t *lineage;        /* the definition that came, NULL: none */
	json_t *said;           /* the location last recorded, NULL: none */
};

struct sink {
	struct opts *o;
	struct lineio lr;
	struct rejects rj;
	struct stage st;
	struct sink_step step;          /* lines and controls counted there */
	struct recproj *proj;           /* NDJSON: reads the time only */
	struct filesink *fs;
	struct offline_reg *off;        /* NULL without --view */
	/* --metrics-*: NULL without */
	struct metric *m_rows, *m_opened, *m_committed, *m_bytes, *m_removed;
};

static void metrics_register(struct sink *s, struct metrics *m)
{
	if (m == NULL)
		return;
	s->m_rows = metrics_counter(m, "fs_sink_writes_total",
	    "Records written.", NULL);
	s->m_opened = metrics_counter(m, "fs_sink_files_opened_total",
	    "Files opened (in progress).", NULL);
	s->m_committed = metrics_counter(m, "fs_sink_files_committed_total",
	    "Files committed (renamed into place).", NULL);
	s->m_bytes = metrics_counter(m, "fs_sink_committed_bytes_total",
	    "Bytes of the files committed.", NULL);
	s->m_removed = metrics_counter(m, "fs_sink_files_removed_total",
	    "Files in progress removed at a restore.", NULL);
}

/* Relaxed stores (metrics.h): cheap enough for every record. */
static void metrics_publish(struct sink *s)
{
	const struct filesink_stats *st = filesink_stats(s->fs);

	metric_set_count(s->m_rows, st->rows);
	metric_set_count(s->m_opened, st->files_opened);
	metric_set_count(s->m_committed, st->files_committed);
	metric_set_count(s->m_bytes, st->bytes_committed);
	metric_set_count(s->m_removed, st->removed);
}

/* The operands, and what the options cannot mean together. */
static void check_options(struct opts *o, int argc, char **argv, int first)
{
	if (first >= argc)
		diag_usage("the directory DIR is required");
	o->f.dir = argv[first++];
	if (first < argc)
		o->input = argv[first++];
	if (first < argc)
		diag_usage("one input file at most: '%s'", argv[first]);
	fs_common_finish(&o->c);
	if (o->f.format == FSK_NDJSON && o->f.codec == FSK_DEFLATE)
		diag_usage("--compress deflate is Avro's; NDJSON takes none, "
		    "gzip or zstd");
	if (o->f.format == FSK_AVRO && (o->f.codec == FSK_GZIP ||
	    o->f.codec == FSK_ZSTD))
		diag_usage("--compress %s: Avro files take none or deflate",
		    fsk_codec_words[o->f.codec]);
	if (o->schema_file != NULL && o->f.format != FSK_AVRO)
		diag_usage("--schema needs --format avro");
	if (o->f.prefix[0] == '\0' || strchr(o->f.prefix, '/') != NULL)
		diag_usage("--prefix: a file name's beginning, without '/': "
		    "'%s'", o->f.prefix);
	o->f.max_open = (size_t)o->max_open;
	o->f.checkpointed = o->c.ckpt_dir != NULL;
	if ((o->view == NULL) != (o->as.ns == NULL))
		diag_usage("--view and -n go together: the registry of "
		    "NAMESPACE records where VIEW's rows are");
	if (o->view != NULL && (o->view[0] == '\0' || o->view[0] == '@'))
		diag_usage("--view: a name, not starting with '@' (reserved): "
		    "'%s'", o->view);
	if (o->view != NULL)
		as_opts_check(&o->as);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_POLICY(0, "format", &o->f.format, fsk_format_words,
		    "FORMAT", "ndjson (default) or avro"),
		OPT_POLICY(0, "compress", &o->f.codec, fsk_codec_words, "CODEC",
		    "none (default); NDJSON: gzip or zstd; Avro: deflate"),
		OPT_STRING(0, "hosts", &o->as.hosts, "HOSTS",
		    "--view: the registry's seed hosts, host[:port],...\n"
		    "(default 127.0.0.1:3000)"),
		OPT_STRING('n', "namespace", &o->as.ns, "NS",
		    "--view: the namespace of the registry"),
		OPT_STRING(0, "partition", &o->f.partition, "PATTERN",
		    "strftime(3) of the event time in UTC (default\n"
		    "'dt=%Y-%m-%d/hour=%H'; '' for none)"),
		OPT_STRING(0, "schema", &o->schema_file, "FILE",
		    "Avro schema (JSON) of the rows (default: inferred\n"
		    "from the first row)"),
		OPT_SIZE(0, "max-file-size", &o->f.max_bytes, 1,
		    INT64_C(1) << 40, "SIZE",
		    "close a file at this size (default 128M)"),
		OPT_INT(0, "max-open", &o->max_open, 1, 4096, "N",
		    "files open at once; the least recently used closes\n"
		    "(default 64)"),
		OPT_STRING(0, "prefix", &o->f.prefix, "NAME",
		    "file names begin with NAME- (default part)"),
		OPT_AEROSPIKE_TIMEOUT(&o->as),
		OPT_STRING(0, "view", &o->view, "NAME",
		    "record this store in the feature registry as\n"
		    "view NAME's offline location (fs-registry(5))"),
		OPT_GROUP_AEROSPIKE_LOGIN(&o->as),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};

	fs_common_init(&o->c, argc, argv);
	as_opts_init(&o->as);
	o->f.partition = FSK_PARTITION_DEFAULT;
	o->f.prefix = FSK_PREFIX_DEFAULT;
	o->f.max_bytes = UINT64_C(128) << 20;
	o->max_open = 64;
	check_options(o, argc, argv, opt_parse(usage_text, opts, 0, argc,
	    argv));
}

/* The text of --schema FILE (malloc'd). */
static char *read_schema(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		diag_fatal("cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(f))
		diag_fatal("cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	buf_appendc(&b, '\0');
	return b.data;
}

/* --- the registry (fs-registry(5)) ------------------------------------ */

static struct offline_reg *offline_open(const struct opts *o)
{
	struct offline_reg *r = xcalloc(1, sizeof *r);

	r->password = as_opts_password(&o->as);
	struct as_exec_opts eo;

	as_opts_connect_registry(&o->as, r->password, 2, &r->cl, &eo);
	as_registry_open(&r->reg, &r->cl, &eo, o->view, "", "", ":");
	return r;
}

static void offline_close(struct offline_reg *r)
{
	if (r == NULL)
		return;
	as_registry_close(&r->reg);
	as_cluster_close(&r->cl);
	json_decref(r->lineage);
	json_decref(r->said);
	free(r->password);
	free(r);
}

/*
 * Records the store's location in the view's version of the definition
 * that came (at the end, none came: the empty one), when it is not the
 * one recorded already.  at_end: a view without that version is said.
 */
static void offline_record(struct sink *s, bool at_end)
{
	struct offline_reg *r = s->off;
	char why[AS_REGISTRY_WHY_MAX], version[DEF_VERSION_LEN + 1];
	json_t *loc;
	int rc;

	if (r == NULL || (r->lineage == NULL && !at_end))
		return;
	if (r->lineage == NULL)
		r->lineage = json_array();
	loc = filesink_location(s->fs);
	json_object_set_new(loc, "time_field",
	    json_string(s->o->c.time_field ? s->o->c.time_field : "ts"));
	if (r->said != NULL && json_equal(loc, r->said)) {
		json_decref(loc);
		return;
	}
	rc = as_registry_offline(&r->reg, r->lineage, loc, version, why);
	if (rc < 0)
		diag_error("%s", why);
	else if (rc == 0 && at_end)
		diag_warn("view '%s' has no version of this input's "
		    "definition (fs-sink-aerospike --view '%s' registers it): "
		    "this store is not recorded as its offline location",
		    s->o->view, s->o->view);
	if (rc == 1) {
		json_decref(r->said);
		r->said = loc;
	} else {
		json_decref(loc);
	}
}

/* --- checkpoints ------------------------------------------------------ */

static json_t *snapshot(void *ctx, uint64_t id)
{
	struct sink *s = ctx;

	return filesink_snapshot(s->fs, id);
}

static int restore(void *ctx, const json_t *state, uint64_t id)
{
	struct sink *s = ctx;
	char why[FSK_ERR_MAX];

	if (filesink_restore(s->fs, state, id, why, sizeof why) < 0) {
		diag_error("checkpoint %" PRIu64 ": %s", id, why);
		return -1;
	}
	return 0;
}

/* Commits the files of the newest complete checkpoint among those
 * pending (and every older one). */
static void commit_complete(struct sink *s)
{
	size_t n;
	uint64_t *ids = filesink_pending_ids(s->fs, &n);

	for (size_t i = n; i-- > 0;)
		if (ckpt_is_complete(s->st.store, ids[i])) {
			filesink_commit(s->fs, ids[i]);
			break;
		}
	free(ids);
}

/* At the end: the end's checkpoint complete, its files committed.  A
 * sink beside this one may still be writing it: waits a while. */
static void commit_at_end(struct sink *s)
{
	int64_t until = etime_now_ms() + END_WAIT_MS;
	uint64_t id = s->st.last_id;

	while (filesink_pending_oldest(s->fs) != 0 && !sig_stop_requested()) {
		if (ckpt_is_complete(s->st.store, id)) {
			filesink_commit(s->fs, id);
			return;
		}
		if (etime_now_ms() > until) {
			diag_warn("checkpoint %" PRIu64 " is not complete: its "
			    "files stay in progress until a restart from it",
			    id);
			return;
		}
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* --- the loop --------------------------------------------------------- */

/* The read step's hooks (sink.h).  An NDJSON row is written as it came:
 * of a data line only its time is read (the projection); an Avro row
 * is encoded from the whole record. */
static json_t *read_line(void *ctx, const char *line, size_t len,
    struct ctl *c, char *why)
{
	struct sink *s = ctx;

	if (s->proj != NULL)
		return recproj_read(s->proj, line, len, c, why);
	return sink_classify(rec_parse(line, len, why), line, len, c, why);
}

/* A control record, after the stage took its part. */
static void on_control(void *ctx, const struct ctl *c, const json_t *obj)
{
	struct sink *s = ctx;

	if (s->st.store != NULL) {
		if (c->kind == CTL_RESTORE)
			filesink_recover(s->fs);
		else if (c->kind == CTL_BARRIER)
			commit_complete(s);
		if (c->kind == CTL_BARRIER)
			offline_record(s, false);
		metrics_publish(s);
	}
	if (c->kind == CTL_OTHER && s->off != NULL && def_is(obj) &&
	    s->off->lineage == NULL) {
		const json_t *l = json_object_get(obj, "lineage");

		s->off->lineage = json_is_array(l) ? json_deep_copy(l) :
		    json_array();
		offline_record(s, false);
	}
}

static int on_data(void *ctx, const json_t *obj, const char *line,
    size_t len, char *why)
{
	struct sink *s = ctx;
	const char *e;
	int64_t ms;

	if (etime_get(&s->o->c.time_path, obj, &ms, &e) < 0) {
		snprintf(why, SINK_ERR_MAX, "%s", e);
		return -1;
	}
	if (filesink_write(s->fs, ms, obj, line, len, why, SINK_ERR_MAX) < 0)
		return -1;
	if (s->m_rows != NULL)
		metrics_publish(s);
	return 0;
}

static void run(struct sink *s)
{
	const char *line;
	size_t len;

	while (!sig_stop_requested()) {
		int r = lineio_read(&s->lr, &line, &len);
		if (r == -2)
			continue;
		if (r == 0)
			break;
		if (r < 0)
			diag_fatal("read error: %s: %s", s->lr.name,
			    strerror(s->lr.err));
		sink_line(&s->step, line, len);
	}
}

static void print_stats(const struct sink *s)
{
	const struct filesink_stats *st = filesink_stats(s->fs);

	diag_warn("stats: %" PRIu64 " lines, %" PRIu64 " rows, %" PRIu64
	    " control; %" PRIu64 " files opened, %" PRIu64 " committed (%"
	    PRIu64 " bytes), %" PRIu64 " in progress removed at restore",
	    s->step.lines, st->rows, s->step.controls, st->files_opened,
	    st->files_committed, st->bytes_committed, st->removed);
}

/* What the end of input leaves: committed files, or (stopped, or the
 * stream cut short) nothing visible that a restart will write again. */
static int finish(struct sink *s)
{
	if (sig_stop_requested()) {
		if (s->st.store == NULL)
			filesink_close_all(s->fs);
		else
			filesink_abandon(s->fs);
		return 0;
	}
	if (!stage_input_complete(&s->st)) {
		filesink_abandon(s->fs);
		return 1;
	}
	if (s->st.store == NULL || !s->st.ended) {
		/* no checkpoints: what came is all there is */
		filesink_close_all(s->fs);
		return 0;
	}
	stage_emit_end(&s->st, NULL);
	commit_at_end(s);
	return 0;
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct sink s;
	char why[FSK_ERR_MAX];
	char *schema = NULL;
	int rc;

	parse_options(&o, argc, argv);
	s.o = &o;
	if (o.schema_file != NULL)
		o.f.schema_text = schema = read_schema(o.schema_file);
	s.fs = filesink_new(&o.f, why, sizeof why);
	if (s.fs == NULL)
		diag_usage("%s", why);
	if (lineio_open(&s.lr, o.input ? o.input : "-") < 0)
		diag_fatal("cannot open '%s': %s", o.input, strerror(errno));
	lineio_set_metrics(&s.lr, o.c.metrics);
	rejects_init(&s.rj, &o.c, NULL);
	o.c.ckpt_backend = &kafka_ckpt_backend;
	stage_init(&s.st, &o.c, (struct stage_hooks){ snapshot, restore, &s });
	s.step = (struct sink_step){ &s.st, &s.rj, &s.lr,
	    { read_line, on_control, on_data, &s }, 0, 0 };
	if (o.f.format == FSK_NDJSON) {
		s.proj = recproj_new();
		recproj_keep(s.proj, &o.c.time_path);
	}
	metrics_register(&s, o.c.metrics);
	if (o.view != NULL)
		s.off = offline_open(&o);
	run(&s);
	rc = finish(&s);
	if (!sig_stop_requested() && rc == 0)
		offline_record(&s, true);
	metrics_publish(&s);
	if (o.c.stats)
		print_stats(&s);
	stage_finish(&s.st);
	rejects_finish(&s.rj);
	offline_close(s.off);
	filesink_free(s.fs);
	recproj_free(s.proj);
	lineio_close(&s.lr);
	free(schema);
	return rc;
}
