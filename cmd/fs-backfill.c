/*
 * fs-backfill - replay archived logs as one NDJSON stream in event-time
 * order, as a live source would have delivered it: the same records,
 * watermarks and checkpoint barriers, so fs-window, fs-join, fs-agg and
 * the sinks run unchanged over history.  See fs-backfill(1).
 *
 * This file is the tool: its options and their wiring; the engine (the
 * orders, watermarks, checkpoints) is bf_replay.h's.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tool.h"
#include "def.h"
#include "backfill/backfill.h"
#include "kafka/kafka.h"
#include "opt.h"
#include "stage.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-backfill [--concat | --max-disorder DURATION | --sort]\n"
"                   [--checkpoint-interval DURATION] [--checkpoint-records N]\n"
"                   [--envelope] [--format FORMAT] [--from TIME]\n"
"                   [--memory SIZE] [--no-progress] [--rate N]\n"
"                   [--schema SPEC] [--speed X] [--tmpdir DIR] [--to TIME]\n"
"                   [--watermark-every DURATION] [--watermarks]\n"
"                   [common options] [FILE | DIR | GLOB ...]\n"
"Replays archived NDJSON or CSV files (plain, gzip or zstd) as one stream\n"
"in event-time order.\n";

static const char *const format_words[] = { "auto", "ndjson", "csv",
	"kafka", NULL };

struct opts {
	struct fs_common c;
	struct bf_replay_conf r;        /* what the engine reads */
	bool order_given;       /* --concat, --max-disorder or --sort */
	struct bf_csv_schema schema;
	bool has_schema;
	struct bf_inputs in;
};

/* --- options ------------------------------------------------------- */

static void set_order(struct opts *o, enum bf_order ord)
{
	if (o->order_given && o->r.order != ord)
		diag_usage("--concat, --max-disorder and --sort exclude each "
		    "other");
	o->r.order = ord;
	o->order_given = true;
}

static void set_concat(void *data, const char *name, const char *arg)
{
	(void)name, (void)arg;
	set_order(data, BF_ORDER_CONCAT);
}

static void set_sort(void *data, const char *name, const char *arg)
{
	(void)name, (void)arg;
	set_order(data, BF_ORDER_SORT);
}

static void set_max_disorder(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	o->r.max_disorder = opt_duration(name, arg);
	set_order(o, BF_ORDER_REORDER);
}

static void set_from(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	o->r.from = opt_timestamp(name, arg);
	o->r.has_from = true;
}

static void set_to(void *data, const char *name, const char *arg)
{
	struct opts *o = data;

	o->r.to = opt_timestamp(name, arg);
	o->r.has_to = true;
}

static void set_schema(void *data, const char *name, const char *arg)
{
	struct opts *o = data;
	char why[256];

	if (o->has_schema)
		bf_csv_schema_free(&o->schema);
	if (bf_csv_schema_parse(&o->schema, arg, why, sizeof why) < 0)
		diag_usage("%s: %s", name, why);
	o->has_schema = true;
}

/* What the options cannot mean together; the inputs. */
static void check_options(struct opts *o, int argc, char **argv, int first)
{
	char why[256];

	fs_common_finish(&o->c);
	if (o->r.envelope && o->r.format != BF_FMT_KAFKA)
		diag_usage("--envelope needs --format kafka");
	if (o->has_schema && o->r.format != BF_FMT_CSV &&
	    o->r.format != BF_FMT_AUTO)
		diag_usage("--schema is for CSV input");
	if (o->r.memory != 0 && o->r.order != BF_ORDER_SORT)
		diag_usage("--memory is for --sort");
	if (o->r.memory == 0)
		o->r.memory = 256u << 20;
	if (o->r.watermarks && o->r.order == BF_ORDER_CONCAT)
		diag_usage("--watermarks needs an order: not with --concat");
	if (o->r.has_from && o->r.has_to && o->r.from >= o->r.to)
		diag_usage("--from must be before --to");
	if (first == argc)
		(void)bf_inputs_add(&o->in, "-", why, sizeof why);
	for (int i = first; i < argc; i++)
		if (bf_inputs_add(&o->in, argv[i], why, sizeof why) < 0)
			diag_fatal("%s", why);
	if (o->in.n > UINT32_MAX / 2)
		diag_fatal("too many input files");
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_DURATION(0, "checkpoint-interval", &o->r.ckpt_interval_ms,
		    0, INT64_MAX, "DURATION", "barrier interval (default 10s)"),
		OPT_INT(0, "checkpoint-records", &o->r.ckpt_records, 1,
		    INT64_MAX, "N", "a barrier every N records"),
		OPT_CALLBACK(0, "concat", set_concat, o, NULL,
		    "no ordering: the files one after another"),
		OPT_FLAG(0, "envelope", &o->r.envelope,
		    "kafka format: emit the whole envelope"),
		OPT_POLICY(0, "format", &o->r.format, format_words, "FORMAT",
		    "auto (default: .csv names are CSV), ndjson, csv,\n"
		    "or kafka (fs-consume envelopes; emits the value)"),
		OPT_CALLBACK(0, "from", set_from, o, "TIME",
		    "skip records before TIME (epoch ms or RFC 3339)"),
		OPT_CALLBACK(0, "max-disorder", set_max_disorder, o, "DURATION",
		    "reorder each file within DURATION before merging"),
		/* 0: not given (the default is set after) */
		OPT_SIZE(0, "memory", &o->r.memory, 16u << 20,
		    INT64_C(1) << 44, "SIZE", "--sort memory bound (default 256M; K, M, G)"),
		OPT_FLAG(0, "no-progress", &o->r.no_progress,
		    "no progress display, even on a terminal"),
		OPT_NUMBER(0, "rate", &o->r.rate, 0.001, 1e9, "N",
		    "at most N records per second"),
		OPT_CALLBACK(0, "schema", set_schema, o, "SPEC",
		    "CSV column types: name:TYPE,... (string, int,\n"
		    "number, bool); other columns are inferred"),
		OPT_CALLBACK(0, "sort", set_sort, o, NULL,
		    "sort all records (external sort, bounded memory)"),
		OPT_NUMBER(0, "speed", &o->r.speed, 0.0001, 1e9, "X",
		    "replay at X times the pace of event time"),
		OPT_STRING(0, "tmpdir", &o->r.tmpdir, "DIR",
		    "--sort temporary files (default $TMPDIR or /tmp)"),
		OPT_CALLBACK(0, "to", set_to, o, "TIME",
		    "stop before TIME (exclusive)"),
		OPT_DURATION(0, "watermark-every", &o->r.wm_every, 0,
		    INT64_MAX, "DURATION", "event time between watermarks (default 1s)"),
		OPT_FLAG(0, "watermarks", &o->r.watermarks,
		    "emit exact watermark control records"),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};

	fs_common_init(&o->c, argc, argv);
	o->r.ckpt_interval_ms = SOURCE_CKPT_INTERVAL_DEFAULT_MS;
	o->r.wm_every = 1000;
	o->r.tmpdir = getenv("TMPDIR");
	if (o->r.tmpdir == NULL || *o->r.tmpdir == '\0')
		o->r.tmpdir = "/tmp";
	check_options(o, argc, argv, opt_parse(usage_text, opts, 0, argc,
	    argv));
}

/* --- main ------------------------------------------------------------ */

/* The source's part of the definition (def.h): the files as given
 * and how they are read; exact watermarks (the next record's time). */
static json_t *source_def_part(const struct opts *o)
{
	json_t *p = def_part_new("source"), *files = json_array();

	for (size_t i = 0; i < o->in.n; i++)
		json_array_append_new(files, json_string(o->in.paths[i]));
	json_object_set_new(p, "files", files);
	json_object_set_new(p, "format", json_string(format_words[o->r.format]));
	json_object_set_new(p, "time_field", json_string(o->c.time_field));
	json_object_set_new(p, "watermark_bound", json_integer(1));
	return p;
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct bf_replay b;

	parse_opts(&o, argc, argv);
	o.c.ckpt_backend = &kafka_ckpt_backend;
	o.r.c = &o.c;
	o.r.schema = o.has_schema ? &o.schema : NULL;
	o.r.paths = o.in.paths;
	o.r.n_paths = o.in.n;
	o.r.def = source_def_part(&o);
	bf_replay_init(&b, &o.r);
	bf_replay_run(&b);
	bf_replay_finish(&b);
	bf_replay_free(&b);
	json_decref((json_t *)o.r.def);
	return 0;
}
