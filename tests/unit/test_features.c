/*
 * test_features.c - the features library (features/features.h): shell
 * words, string lists, the differences of two values, the pipeline of
 * a lineage (fs-select's part too) and its refusals, the as-of join of a version's rows; and
 * def_version_upstream(), by which an offline store finds a version.
 */
#include <stdlib.h>
#include <string.h>

#include "def.h"
#include "features/features.h"
#include "tap.h"
#include "banned.h"

static void words(void)
{
	struct buf b = BUF_INIT;

	feat_word(&b, "a1.ndjson");
	feat_word(&b, "m=max:amt:if:amt>2");
	feat_word(&b, "it's");
	feat_word(&b, "");
	buf_appendc(&b, '\0');
	CHECK_STR(b.data, " a1.ndjson 'm=max:amt:if:amt>2' 'it'\\''s' ''",
	    "feat_word: plain words as they are, others single-quoted");
	buf_free(&b);
}

static void strings(void)
{
	json_t *a = json_pack("[s,s,s]", "s", "n", "window_end");
	char *t;

	feat_sort_strings(a);
	t = feat_join_strings(a, ",");
	CHECK_STR(t, "n,s,window_end", "feat_sort_strings, feat_join_strings");
	free(t);
	json_decref(a);
}

struct rows {
	struct buf b;
};

static void row(void *ctx, const char *path, const json_t *a, const json_t *b)
{
	struct rows *r = ctx;
	char *x = a ? json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	char *y = b ? json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	buf_appends(&r->b, path);
	buf_appendc(&r->b, ' ');
	buf_appends(&r->b, x ? x : "-");
	buf_appendc(&r->b, ' ');
	buf_appends(&r->b, y ? y : "-");
	buf_appendc(&r->b, ';');
	free(x);
	free(y);
}

static void diffs(void)
{
	json_t *a = json_loads("[{\"k\":1,\"x\":[1,2]},{\"f\":\"sum\"}]", 0, NULL);
	json_t *b = json_loads("[{\"k\":1,\"x\":[1]},{\"f\":\"max\",\"w\":true}]",
	    0, NULL);
	struct rows r = { BUF_INIT };

	feat_diff("d", a, b, row, &r);
	buf_appendc(&r.b, '\0');
	CHECK_STR(r.b.data, "d[0].x[1] 2 -;d[1].f \"sum\" \"max\";d[1].w - true;",
	    "feat_diff: each differing value with its path");
	buf_reset(&r.b);
	feat_diff("d", a, a, row, &r);
	CHECK(r.b.len == 0, "feat_diff: nothing for equal values");
	buf_free(&r.b);
	json_decref(a);
	json_decref(b);
}

static const char lineage[] = "["
    "{\"stage\":\"source\",\"tool\":\"fs-backfill\",\"files\":[\"a.ndjson\"],"
    "\"format\":\"auto\",\"time_field\":\"ts\"},"
    "{\"stage\":\"window\",\"tool\":\"fs-window\",\"kind\":\"tumble\","
    "\"size\":60000,\"time_field\":\"ts\",\"end_field\":\"window_end\"},"
    "{\"stage\":\"agg\",\"tool\":\"fs-agg\",\"key\":[\"user\"],"
    "\"aggs\":[{\"spec\":\"n=count\",\"name\":\"n\",\"fn\":\"count\"}],"
    "\"time_field\":\"ts\"},"
    "{\"stage\":\"sink\",\"tool\":\"fs-sink-aerospike\",\"namespace\":\"ns\","
    "\"set\":\"s\",\"key\":[\"user\"],\"key_sep\":\":\"}]";

static void pipelines(void)
{
	json_t *e = json_pack("{s:o,s:s,s:{s:{},s:{},s:{}}}", "lineage",
	    json_loads(lineage, 0, NULL), "bins", "plain", "features", "n",
	    "window_start", "window_end");
	json_t *view = json_pack("{s:[s]}", "key", "user");
	struct feat_pipeline_opts o = { .hosts = "h:3000", .ns = "ns" };
	char file[] = "x y.ndjson";
	char *files[] = { file };
	struct buf b = BUF_INIT;
	char why[FEAT_WHY_MAX];

	CHECK(feat_pipeline(&b, &o, "ns.s", "v1", e, why, sizeof why) == 0,
	    "feat_pipeline: a backfilled view");
	buf_appendc(&b, '\0');
	CHECK_STR(b.data, "fs-backfill --watermarks a.ndjson | fs-window "
	    "--tumble 60000ms | fs-agg --key user --agg n=count | "
	    "fs-sink-aerospike --hosts h:3000 -n ns -s s --key user",
	    "feat_pipeline: the lineage's options, into the view's set");
	buf_reset(&b);
	o.training = true;
	o.files = files;
	o.n_files = 1;
	CHECK(feat_pipeline(&b, &o, "ns.s", "v1", e, why, sizeof why) == 0,
	    "feat_pipeline: training");
	buf_appendc(&b, '\0');
	CHECK_STR(b.data, "fs-backfill --watermarks 'x y.ndjson' | fs-window "
	    "--tumble 60000ms | fs-agg --key user --agg n=count",
	    "feat_pipeline: training: the files given, no sink");
	buf_reset(&b);
	feat_asof(&b, view, e);
	buf_appendc(&b, '\0');
	CHECK_STR(b.data, "fs-join --asof --type left --key user "
	    "--right-time-field window_end --right-fields "
	    "window_end:feature_ts,n:n,window_start:window_start",
	    "feat_asof: rows timed by their window's end");
	buf_reset(&b);
	json_object_set_new(json_array_get(json_object_get(e, "lineage"), 3),
	    "topic", json_string("out"));
	o.training = false;
	CHECK(feat_pipeline(&b, &o, "k", "v1", e, why, sizeof why) < 0,
	    "feat_pipeline: a Kafka view without a set is refused");
	CHECK_STR(why, "view 'k' version v1 writes Kafka topic 'out': give -s "
	    "SET to write its rows to Aerospike, or --training",
	    "feat_pipeline: the refusal says what to give");
	json_array_remove(json_object_get(e, "lineage"), 0);
	buf_reset(&b);
	CHECK(feat_pipeline(&b, &o, "k", "v1", e, why, sizeof why) < 0,
	    "feat_pipeline: a lineage without a source is refused");
	buf_free(&b);
	json_decref(e);
	json_decref(view);
}

/* fs-select's part: its options as given, quoted for the shell. */
static void pipeline_select(void)
{
	json_t *e = json_pack("{s:o,s:s}", "lineage", json_loads(lineage, 0,
	    NULL), "bins", "plain");
	struct feat_pipeline_opts o = { .hosts = "h:3000", .ns = "ns",
	    .training = true };
	struct buf b = BUF_INIT;
	char why[FEAT_WHY_MAX];

	json_array_insert_new(json_object_get(e, "lineage"), 1, json_pack(
	    "{s:s,s:s,s:s,s:s}", "stage", "select", "tool", "fs-select",
	    "where", "country = 'de'", "fields", "user,ts,amount"));
	CHECK(feat_pipeline(&b, &o, "ns.s", "v1", e, why, sizeof why) == 0,
	    "feat_pipeline: a lineage with fs-select");
	buf_appendc(&b, '\0');
	CHECK_STR(b.data, "fs-backfill --watermarks a.ndjson | fs-select "
	    "--where 'country = '\\''de'\\''' --fields user,ts,amount | "
	    "fs-window --tumble 60000ms | fs-agg --key user --agg n=count",
	    "feat_pipeline: fs-select's where and fields");
	buf_free(&b);
	json_decref(e);
}

static void upstream(void)
{
	json_t *l = json_loads(lineage, 0, NULL), *up = json_deep_copy(l);
	char a[DEF_VERSION_LEN + 1], b[DEF_VERSION_LEN + 1];
	char c[DEF_VERSION_LEN + 1];

	json_array_remove(up, 3);
	def_version_upstream(l, a);
	def_version(up, b);
	CHECK_STR(a, b, "def_version_upstream: the version less the sink");
	def_version(l, c);
	CHECK(strcmp(a, c) != 0, "def_version_upstream: not the whole one");
	json_decref(l);
	json_decref(up);
}

int main(void)
{
	words();
	strings();
	diffs();
	pipelines();
	pipeline_select();
	upstream();
	return tap_done();
}
