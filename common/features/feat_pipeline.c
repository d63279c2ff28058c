/*
 * feat_pipeline.c - the pipeline that computes a version of a view
 * again from its lineage (features.h): each part of the lineage
 * (fs(7)) as its tool's options, the defaults left out, durations in
 * milliseconds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features.h"
#include "banned.h"

static void opt_str(struct buf *b, const char *opt, const json_t *part,
    const char *member, const char *dflt)
{
	const char *v = json_string_value(json_object_get(part, member));

	if (v == NULL || (dflt != NULL && strcmp(v, dflt) == 0))
		return;
	feat_word(b, opt);
	feat_word(b, v);
}

/* A duration member as "Nms", left out when it is dflt. */
static void opt_ms(struct buf *b, const char *opt, const json_t *part,
    const char *member, int64_t dflt)
{
	const json_t *v = json_object_get(part, member);
	char t[32];

	if (!json_is_integer(v) || json_integer_value(v) == dflt)
		return;
	snprintf(t, sizeof t, "%" PRId64 "ms", (int64_t)json_integer_value(v));
	feat_word(b, opt);
	feat_word(b, t);
}

static void opt_keys(struct buf *b, const char *opt, const json_t *part)
{
	const json_t *k = json_object_get(part, "key");
	char *t;

	if (!json_is_array(k))
		return;
	t = feat_join_strings(k, ",");
	feat_word(b, opt);
	feat_word(b, t);
	free(t);
}

static void window_cmd(struct buf *b, const json_t *p)
{
	const char *kind = json_string_value(json_object_get(p, "kind"));
	static const struct { const char *kind, *a, *am, *b, *bm; } k[] = {
		{ "tumble", "--tumble", "size", NULL, NULL },
		{ "hop", "--hop", "size", "--slide", "slide" },
		{ "cumulate", "--cumulate", "size", "--step", "slide" },
		{ "session", "--session", "gap", NULL, NULL },
	};

	buf_appends(b, " | fs-window");
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		if (kind == NULL || strcmp(kind, k[i].kind) != 0)
			continue;
		opt_ms(b, k[i].a, p, k[i].am, -1);
		if (k[i].b != NULL)
			opt_ms(b, k[i].b, p, k[i].bm, -1);
	}
	opt_ms(b, "--offset", p, "offset", 0);
	opt_ms(b, "--allowed-lateness", p, "allowed_lateness", 0);
	opt_ms(b, "--max-out-of-orderness", p, "max_out_of_orderness", 1);
	opt_str(b, "--time-field", p, "time_field", "ts");
	opt_str(b, "--start-field", p, "start_field", "window_start");
	opt_str(b, "--end-field", p, "end_field", "window_end");
	opt_str(b, "--pane-field", p, "pane_field", "window_pane");
	if (json_is_true(json_object_get(p, "explode")))
		feat_word(b, "--explode");
	opt_keys(b, "--key", p);
}

static void agg_cmd(struct buf *b, const json_t *p)
{
	size_t i;
	json_t *a, *over = json_object_get(p, "over");

	buf_appends(b, " | fs-agg");
	opt_keys(b, "--key", p);
	json_array_foreach(json_object_get(p, "aggs"), i, a) {
		const char *spec = json_string_value(json_object_get(a, "spec"));

		feat_word(b, "--agg");
		feat_word(b, spec ? spec : "");
	}
	if (json_is_string(json_object_get(p, "over_spec"))) {
		/* the spelling names the members: NAME_RANGE */
		opt_str(b, "--over", p, "over_spec", NULL);
	} else if (json_is_array(over)) {
		struct buf r = BUF_INIT;
		json_t *v;

		json_array_foreach(over, i, v) {
			if (i > 0)
				buf_appendc(&r, ',');
			buf_append_i64(&r, json_integer_value(v));
			buf_appends(&r, "ms");
		}
		buf_appendc(&r, '\0');
		feat_word(b, "--over");
		feat_word(b, r.data);
		buf_free(&r);
	}
	if (json_is_integer(json_object_get(p, "over_buckets"))) {
		char t[24];

		snprintf(t, sizeof t, "%" PRId64, (int64_t)json_integer_value(
		    json_object_get(p, "over_buckets")));
		feat_word(b, "--over-buckets");
		feat_word(b, t);
	}
	opt_str(b, "--time-field", p, "time_field", "ts");
	opt_ms(b, "--max-out-of-orderness", p, "max_out_of_orderness", 1);
	opt_ms(b, "--allowed-lateness", p, "allowed_lateness", -1);
	opt_ms(b, "--early-fire", p, "early_fire", 0);
	opt_ms(b, "--emit-every", p, "emit_every", 0);
}

static void select_cmd(struct buf *b, const json_t *p)
{
	buf_appends(b, " | fs-select");
	opt_str(b, "--where", p, "where", NULL);
	opt_str(b, "--fields", p, "fields", NULL);
}

static void sink_cmd(struct buf *b, const struct feat_pipeline_opts *o,
    const json_t *p, const char *view, const json_t *e)
{
	const char *set = o->to_set ? o->to_set :
	    json_string_value(json_object_get(p, "set"));
	const char *bins = json_string_value(json_object_get(e, "bins"));
	struct buf dflt = BUF_INIT;

	buf_appends(b, " | fs-sink-aerospike");
	feat_word(b, "--hosts");
	feat_word(b, o->hosts);
	feat_word(b, "-n");
	feat_word(b, o->ns);
	if (set != NULL && *set != '\0') {
		feat_word(b, "-s");
		feat_word(b, set);
	}
	opt_keys(b, "--key", p);
	opt_str(b, "--key-separator", p, "key_sep", ":");
	opt_str(b, "-B", p, "bins", NULL);
	buf_appends(&dflt, o->ns);
	if (json_string_length(json_object_get(p, "set")) > 0) {
		buf_appendc(&dflt, '.');
		buf_appends(&dflt, json_string_value(json_object_get(p, "set")));
	}
	buf_appendc(&dflt, '\0');
	/* -s makes a new view, named after its set by default */
	if (o->to_set == NULL && strcmp(view, dflt.data) != 0) {
		feat_word(b, "--view");
		feat_word(b, view);
	}
	if (bins != NULL && strcmp(bins, "suffixed") == 0)
		feat_word(b, "--version-bins");
	buf_free(&dflt);
}

/* fs-backfill over the archives: o's files, else the lineage's. */
static int source_cmd(struct buf *b, const struct feat_pipeline_opts *o,
    const char *name, const char *id, const json_t *src, char *why,
    size_t wl)
{
	const char *stage = json_string_value(json_object_get(src, "stage"));
	const char *tool = json_string_value(json_object_get(src, "tool"));
	size_t i;
	json_t *v;

	if (stage == NULL || strcmp(stage, "source") != 0) {
		snprintf(why, wl, "view '%s' version %s: its lineage has no "
		    "source to read archives as", name, id);
		return -1;
	}
	buf_appends(b, "fs-backfill --watermarks");
	/* fs-consume's values are read as fs-backfill finds them */
	if (tool != NULL && strcmp(tool, "fs-backfill") == 0)
		opt_str(b, "--format", src, "format", "auto");
	opt_str(b, "--time-field", src, "time_field", "ts");
	if (o->n_files > 0) {
		for (int k = 0; k < o->n_files; k++)
			feat_word(b, o->files[k]);
	} else if (json_is_array(json_object_get(src, "files"))) {
		json_array_foreach(json_object_get(src, "files"), i, v)
			feat_word(b, json_string_value(v));
	} else {
		char *t = feat_join_strings(json_object_get(src, "topics"), ",");

		snprintf(why, wl, "view '%s' version %s reads Kafka topic(s) "
		    "'%s': give the archive FILEs", name, id, t);
		free(t);
		return -1;
	}
	return 0;
}

int feat_pipeline(struct buf *b, const struct feat_pipeline_opts *o,
    const char *name, const char *id, const json_t *e, char *why,
    size_t wl)
{
	const json_t *lineage = json_object_get(e, "lineage");
	size_t i;
	json_t *part;

	if (source_cmd(b, o, name, id, json_array_get(lineage, 0), why,
	    wl) < 0)
		return -1;
	json_array_foreach(lineage, i, part) {
		const char *st = json_string_value(json_object_get(part,
		    "stage"));
		const char *topic = json_string_value(json_object_get(part,
		    "topic"));

		if (i == 0 || st == NULL)
			continue;
		if (strcmp(st, "window") == 0) {
			window_cmd(b, part);
		} else if (strcmp(st, "agg") == 0) {
			agg_cmd(b, part);
		} else if (strcmp(st, "select") == 0) {
			select_cmd(b, part);
		} else if (strcmp(st, "sink") == 0 && o->training) {
			continue;
		} else if (strcmp(st, "sink") == 0 && topic != NULL &&
		    o->to_set == NULL) {
			snprintf(why, wl, "view '%s' version %s writes Kafka "
			    "topic '%s': give -s SET to write its rows to "
			    "Aerospike, or --training", name, id, topic);
			return -1;
		} else if (strcmp(st, "sink") == 0) {
			sink_cmd(b, o, part, name, e);
		} else {
			snprintf(why, wl, "view '%s' version %s: a %s stage "
			    "cannot be printed as one pipeline", name, id, st);
			return -1;
		}
	}
	return 0;
}
