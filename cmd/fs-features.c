/*
 * fs-features - the feature registry (fs-registry(5)) from a terminal:
 * list the views, describe one, diff two versions, print the pipeline
 * that reproduces a view over archives, export the registry as JSON.
 * See fs-features(1).
 *
 * Reads set fs_registry of a namespace: the index record for the views,
 * then each view's record.  On a terminal the answers are tables; piped,
 * one NDJSON record per row.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"
#include "aerospike/aerospike.h"
#include "def.h"
#include "features/features.h"
#include "opt.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-features -n NAMESPACE [--hosts HOSTS] [options] list\n"
"       fs-features -n NAMESPACE [--hosts HOSTS] [options] describe VIEW[@VERSION]\n"
"       fs-features -n NAMESPACE [--hosts HOSTS] [options] diff VIEW VERSION VERSION\n"
"       fs-features -n NAMESPACE [--hosts HOSTS] [options] pipeline\n"
"                   [-s SET | --training] VIEW[@VERSION] [FILE...]\n"
"       fs-features -n NAMESPACE [--hosts HOSTS] [options] export\n"
"Lists, describes, compares and reproduces registered feature views.\n";

struct opts {
	struct fs_common c;
	struct as_opts as;
	const char *to_set;     /* pipeline -s */
	bool training;          /* pipeline --training */
	char **args;            /* the command and its operands */
	int n_args;
};

struct features {
	struct opts *o;
	struct as_cluster cl;
	struct as_registry reg;
	struct out out;
	bool table;             /* standard output is a terminal */
	char *password;
};

static void parse_options(struct opts *o, int argc, char **argv)
{
	struct as_opts *a = &o->as;
	const struct opt opts[] = {
		OPT_STRING(0, "hosts", &a->hosts, "HOSTS",
		    "seed hosts, host[:port],... (default 127.0.0.1:3000)"),
		OPT_OLD_SHORT('h', "hosts"),
		OPT_STRING('n', "namespace", &a->ns, "NS", "the namespace"),
		OPT_STRING('s', "set", &o->to_set, "SET",
		    "pipeline: write to SET instead of the view's"),
		OPT_FLAG(0, "training", &o->training,
		    "pipeline: the view's rows, no sink, and the as-of\n"
		    "join of labels to them (fs-training-set --view)"),
		OPT_AEROSPIKE_TIMEOUT(a),
		OPT_GROUP_AEROSPIKE_LOGIN(a),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};
	int first;

	fs_common_init(&o->c, argc, argv);
	as_opts_init(a);
	first = opt_parse(usage_text, opts, 0, argc, argv);
	fs_common_finish(&o->c);
	o->args = argv + first;
	o->n_args = argc - first;
	if (a->ns == NULL)
		diag_usage("-n NAMESPACE is required");
	if (o->n_args == 0)
		diag_usage("no command: list, describe, diff, pipeline or "
		    "export");
	as_opts_check(a);
}

/* --- reading ------------------------------------------------------------ */

/* The bins of registry record name, or NULL when there is none. */
static json_t *get_record(struct features *f, const char *name)
{
	char why[AS_REGISTRY_WHY_MAX];
	json_t *bins;

	if (as_registry_get(&f->reg, name, &bins, why) < 0)
		diag_fatal("%s", why);
	return bins;
}

static json_t *get_view(struct features *f, const char *view)
{
	json_t *v = get_record(f, view);

	if (v == NULL)
		diag_fatal("no view '%s' in namespace '%s'", view, f->o->as.ns);
	return v;
}

/* The view names of the index, sorted (a new array). */
static json_t *sorted_names(struct features *f)
{
	json_t *idx = get_record(f, AS_REGISTRY_INDEX), *names = json_array();
	json_t *views = json_object_get(idx, "views"), *v;
	const char *k;

	json_object_foreach(views, k, v)
		json_array_append_new(names, json_string(k));
	json_decref(idx);
	feat_sort_strings(names);       /* jansson keeps insertion order */
	return names;
}

/*
 * The version id that spec names in view: a full id, a unique prefix,
 * a number N (or vN), or NULL for the current one (else the newest).
 */
static const char *find_version(const json_t *view, const char *spec)
{
	const json_t *versions = json_object_get(view, "versions");
	const char *k, *found = NULL;
	json_t *e;
	int64_t best = 0;
	char *end;
	long long n = -1;

	if (spec == NULL) {
		const char *cur = json_string_value(json_object_get(view,
		    "current"));
		if (cur != NULL)
			return cur;
		json_object_foreach((json_t *)versions, k, e) {
			if (json_integer_value(json_object_get(e, "n")) > best) {
				best = json_integer_value(json_object_get(e,
				    "n"));
				found = k;
			}
		}
		return found;
	}
	errno = 0;
	n = strtoll(spec[0] == 'v' ? spec + 1 : spec, &end, 10);
	if (*end != '\0' || errno != 0 || end == spec)
		n = -1;
	json_object_foreach((json_t *)versions, k, e) {
		if (json_integer_value(json_object_get(e, "n")) == n &&
		    strlen(spec) < DEF_VERSION_LEN)
			return k;
		if (strncmp(k, spec, strlen(spec)) == 0) {
			if (found != NULL)
				diag_fatal("version '%s' is ambiguous", spec);
			found = k;
		}
	}
	return found;
}

/* Splits VIEW[@VERSION]: the view (allocated) and *ver (in arg). */
static char *split_view(const char *arg, const char **ver)
{
	const char *at = strrchr(arg, '@');

	*ver = NULL;
	if (at == NULL || at == arg)
		return xstrdup(arg);
	*ver = at + 1;
	return xstrndup(arg, (size_t)(at - arg));
}

static json_t *version_entry(const json_t *view, const char *name,
    const char *spec, const char **id)
{
	*id = find_version(view, spec);
	if (*id == NULL)
		diag_fatal("view '%s' has no version '%s'", name,
		    spec ? spec : "(none registered)");
	return json_object_get(json_object_get(view, "versions"), *id);
}

/* --- output ------------------------------------------------------------- */

static void cell(struct buf *b, const char *s, int width)
{
	int n = (int)strlen(s);

	buf_appends(b, s);
	for (; n < width; n++)
		buf_appendc(b, ' ');
	buf_appendc(b, ' ');
}

static void put_text(struct features *f, struct buf *b)
{
	/* trailing blanks of the last cell go */
	while (b->len > 0 && b->data[b->len - 1] == ' ')
		b->len--;
	out_line(&f->out, b->data ? b->data : "", b->len);
	buf_reset(b);
}

/* "12.3s" or "-": the lag of watermark wm behind now. */
static void lag_text(char *dst, size_t n, const json_t *wm, int64_t now)
{
	if (!json_is_integer(wm))
		snprintf(dst, n, "-");
	else
		snprintf(dst, n, "%.1fs", (double)(now -
		    json_integer_value(wm)) / 1000.0);
}

static void time_text(char *dst, size_t n, const json_t *t)
{
	if (!json_is_integer(t))
		snprintf(dst, n, "-");
	else
		ts_format_rfc3339(json_integer_value(t), dst, n);
}

/* --- list --------------------------------------------------------------- */

static void list(struct features *f)
{
	json_t *names = sorted_names(f), *name;
	int64_t now = etime_now_ms();
	struct buf b = BUF_INIT;
	size_t i;

	if (f->table) {
		cell(&b, "VIEW", 24);
		cell(&b, "VERSION", 16);
		cell(&b, "N", 3);
		cell(&b, "WATERMARK", 24);
		cell(&b, "LAG", 10);
		cell(&b, "FEATURES", 0);
		put_text(f, &b);
	}
	json_array_foreach(names, i, name) {
		const char *vn = json_string_value(name), *id;
		json_t *view = get_record(f, vn), *e, *feats = json_array();
		const char *k;
		json_t *x;
		char lag[32], wm[40], nbuf[24];

		if (view == NULL)
			continue;
		id = find_version(view, NULL);
		e = json_object_get(json_object_get(view, "versions"), id ?
		    id : "");
		json_object_foreach(json_object_get(e, "features"), k, x)
			json_array_append_new(feats, json_string(k));
		feat_sort_strings(feats);
		if (f->table) {
			char *fl = feat_join_strings(feats, ",");

			snprintf(nbuf, sizeof nbuf, "%" PRId64,
			    (int64_t)json_integer_value(json_object_get(e,
			    "n")));
			time_text(wm, sizeof wm, json_object_get(e,
			    "watermark"));
			lag_text(lag, sizeof lag, json_object_get(e,
			    "watermark"), now);
			cell(&b, vn, 24);
			cell(&b, id ? id : "-", 16);
			cell(&b, nbuf, 3);
			cell(&b, wm, 24);
			cell(&b, lag, 10);
			cell(&b, fl, 0);
			put_text(f, &b);
			free(fl);
			json_decref(feats);
		} else {
			json_t *row = json_pack("{s:s,s:O,s:s?,s:I,s:o}", "view",
			    vn, "set", json_object_get(view, "set"), "version",
			    id, "versions", (json_int_t)json_object_size(
			    json_object_get(view, "versions")), "features",
			    feats);
			json_t *w = json_object_get(e, "watermark");

			if (json_is_string(json_object_get(view, "topic")))
				json_object_set(row, "topic", json_object_get(
				    view, "topic"));
			if (json_is_integer(w)) {
				json_object_set(row, "watermark", w);
				json_object_set_new(row, "lag_ms", json_integer(
				    now - json_integer_value(w)));
			}
			rec_emit(&f->out, row);
			json_decref(row);
		}
		json_decref(view);
	}
	buf_free(&b);
	json_decref(names);
}

/* --- describe ----------------------------------------------------------- */

/* A feature's definition in one line: "sum(amt) if amt>1 over 300000ms". */
static void def_text(struct buf *b, const json_t *d)
{
	const char *fn = json_string_value(json_object_get(d, "fn"));
	const char *field = json_string_value(json_object_get(d, "field"));
	const char *param = json_string_value(json_object_get(d, "param"));
	const char *where = json_string_value(json_object_get(d, "where"));
	const json_t *range = json_object_get(d, "range");

	if (fn == NULL) {
		buf_appends(b, "-");
		return;
	}
	buf_appends(b, fn);
	buf_appendc(b, '(');
	buf_appends(b, field ? field : "*");
	if (param != NULL) {
		buf_appendc(b, ',');
		buf_appends(b, param);
	}
	buf_appendc(b, ')');
	if (where != NULL) {
		buf_appends(b, " if ");
		buf_appends(b, where);
	}
	if (json_is_integer(range)) {
		buf_appends(b, " over ");
		buf_append_i64(b, json_integer_value(range));
		buf_appends(b, "ms");
	}
}

/* One "label      value" line of describe's text. */
static void text_line(struct features *f, const char *label, const char *value)
{
	struct buf b = BUF_INIT;

	cell(&b, label, 10);
	buf_appends(&b, value ? value : "-");
	put_text(f, &b);
	buf_free(&b);
}

/* "ID (n N, plain bins, current)" */
static void version_text(struct buf *b, const json_t *view, const char *id,
    const json_t *e)
{
	const char *cur = json_string_value(json_object_get(view, "current"));

	buf_appends(b, id);
	buf_appends(b, " (n ");
	buf_append_i64(b, json_integer_value(json_object_get(e, "n")));
	buf_appends(b, ", ");
	buf_appends(b, json_string_value(json_object_get(e, "bins")));
	buf_appends(b, " bins");
	if (cur != NULL && strcmp(cur, id) == 0)
		buf_appends(b, ", current");
	buf_appendc(b, ')');
	buf_appendc(b, '\0');
}

/* An offline location: "URI (FORMAT[ CODEC], LAYOUT)". */
static void offline_text(struct buf *b, const json_t *loc)
{
	const char *codec = json_string_value(json_object_get(loc,
	    "compression"));
	const char *layout = json_string_value(json_object_get(loc, "layout"));
	const char *uri = json_string_value(json_object_get(loc, "uri"));
	const char *format = json_string_value(json_object_get(loc, "format"));

	buf_appends(b, uri ? uri : "?");
	buf_appends(b, " (");
	buf_appends(b, format ? format : "?");
	if (codec != NULL && strcmp(codec, "none") != 0) {
		buf_appendc(b, ' ');
		buf_appends(b, codec);
	}
	buf_appends(b, ", ");
	buf_appends(b, layout && *layout ? layout : "unpartitioned");
	buf_appendc(b, ')');
	buf_appendc(b, '\0');
}

static void features_table(struct features *f, const json_t *e)
{
	struct buf b = BUF_INIT, d = BUF_INIT;
	const char *k;
	json_t *x;

	cell(&b, "FEATURE", 16);
	cell(&b, "BIN", 15);
	cell(&b, "TYPES", 16);
	cell(&b, "DEFINITION", 0);
	put_text(f, &b);
	json_object_foreach(json_object_get(e, "features"), k, x) {
		char *types = feat_join_strings(json_object_get(x, "types"), ",");

		buf_reset(&d);
		def_text(&d, json_object_get(x, "def"));
		buf_appendc(&d, '\0');
		cell(&b, k, 16);
		cell(&b, json_string_value(json_object_get(x, "bin")), 15);
		cell(&b, types, 16);
		cell(&b, d.data, 0);
		put_text(f, &b);
		free(types);
	}
	buf_free(&b);
	buf_free(&d);
}

static void describe_table(struct features *f, const char *name,
    const json_t *view, const char *id, const json_t *e, int64_t now)
{
	struct buf b = BUF_INIT;
	char t1[40], t2[40], lag[32];
	const char *k;
	json_t *x, *stages = json_array();
	size_t i;
	char *txt;

	text_line(f, "view", name);
	text_line(f, "set", json_string_value(json_object_get(view, "set")));
	if (json_is_string(json_object_get(view, "topic")))
		text_line(f, "topic", json_string_value(json_object_get(view,
		    "topic")));
	txt = feat_join_strings(json_object_get(view, "key"), ",");
	text_line(f, "key", txt);
	free(txt);
	version_text(&b, view, id, e);
	text_line(f, "version", b.data);
	buf_reset(&b);
	time_text(t1, sizeof t1, json_object_get(e, "first_written"));
	time_text(t2, sizeof t2, json_object_get(e, "last_written"));
	buf_appends(&b, "first ");
	buf_appends(&b, t1);
	buf_appends(&b, ", last ");
	buf_appends(&b, t2);
	buf_appendc(&b, '\0');
	text_line(f, "written", b.data);
	buf_reset(&b);
	time_text(t1, sizeof t1, json_object_get(e, "watermark"));
	lag_text(lag, sizeof lag, json_object_get(e, "watermark"), now);
	buf_appends(&b, t1);
	buf_appends(&b, " (lag ");
	buf_appends(&b, lag);
	buf_appends(&b, ")");
	buf_appendc(&b, '\0');
	text_line(f, "watermark", b.data);
	buf_reset(&b);
	json_object_foreach(json_object_get(e, "offline"), k, x) {
		offline_text(&b, x);
		text_line(f, "offline", b.data);
		buf_reset(&b);
	}
	json_array_foreach(json_object_get(e, "lineage"), i, x)
		json_array_append(stages, json_object_get(x, "tool"));
	txt = feat_join_strings(stages, " | ");
	text_line(f, "lineage", txt);
	free(txt);
	json_decref(stages);
	json_object_foreach(json_object_get(view, "versions"), k, x) {
		if (b.len > 0)
			buf_appends(&b, ", ");
		buf_appends(&b, k);
		buf_appends(&b, " (");
		buf_append_i64(&b, json_integer_value(json_object_get(x, "n")));
		buf_appendc(&b, ')');
	}
	buf_appendc(&b, '\0');
	text_line(f, "versions", b.data);
	buf_free(&b);
	features_table(f, e);
}

static void describe(struct features *f, const char *arg)
{
	const char *spec, *id;
	char *name = split_view(arg, &spec);
	json_t *view = get_view(f, name);
	const json_t *e = version_entry(view, name, spec, &id);
	int64_t now = etime_now_ms();

	if (f->table) {
		describe_table(f, name, view, id, e, now);
	} else {
		json_t *row = json_pack("{s:s,s:O,s:O,s:O,s:s}", "view", name,
		    "set", json_object_get(view, "set"), "key",
		    json_object_get(view, "key"), "key_sep",
		    json_object_get(view, "key_sep"), "version", id);
		json_t *w = json_object_get(e, "watermark");

		if (json_is_string(json_object_get(view, "topic")))
			json_object_set(row, "topic", json_object_get(view,
			    "topic"));
		json_object_update(row, (json_t *)e);
		const char *cur = json_string_value(json_object_get(view,
		    "current"));

		json_object_set_new(row, "current", json_boolean(cur != NULL &&
		    strcmp(cur, id) == 0));
		if (json_is_integer(w))
			json_object_set_new(row, "lag_ms", json_integer(now -
			    json_integer_value(w)));
		rec_emit(&f->out, row);
		json_decref(row);
	}
	json_decref(view);
	free(name);
}

/* --- diff --------------------------------------------------------------- */

/* One value where the two definitions differ (feat_diff_fn). */
static void diff_row(void *ctx, const char *path, const json_t *a,
    const json_t *b)
{
	struct features *f = ctx;

	if (f->table) {
		struct buf t = BUF_INIT;
		char *s;

		if (a != NULL) {
			s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS |
			    JSON_ENCODE_ANY);
			buf_appends(&t, "- ");
			buf_appends(&t, path);
			buf_appends(&t, " ");
			buf_appends(&t, s);
			put_text(f, &t);
			free(s);
		}
		if (b != NULL) {
			s = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS |
			    JSON_ENCODE_ANY);
			buf_appends(&t, "+ ");
			buf_appends(&t, path);
			buf_appends(&t, " ");
			buf_appends(&t, s);
			put_text(f, &t);
			free(s);
		}
		buf_free(&t);
	} else {
		json_t *row = json_pack("{s:s}", "path", path);

		if (a != NULL)
			json_object_set(row, "a", (json_t *)a);
		if (b != NULL)
			json_object_set(row, "b", (json_t *)b);
		rec_emit(&f->out, row);
		json_decref(row);
	}
}

static void diff(struct features *f, const char *name, const char *va,
    const char *vb)
{
	json_t *view = get_view(f, name);
	const char *ia, *ib;
	const json_t *a = version_entry(view, name, va, &ia);
	const json_t *b = version_entry(view, name, vb, &ib);

	feat_diff("definition", json_object_get(a, "definition"),
	    json_object_get(b, "definition"), diff_row, f);
	json_decref(view);
}

/* --- pipeline ----------------------------------------------------------- */

static void pipeline(struct features *f, const char *arg, char **files,
    int n_files)
{
	const char *spec, *id;
	char *name = split_view(arg, &spec);
	json_t *view = get_view(f, name);
	const json_t *e = version_entry(view, name, spec, &id);
	struct feat_pipeline_opts po = {
		.hosts = f->o->as.hosts, .ns = f->o->as.ns,
		.to_set = f->o->to_set, .training = f->o->training,
		.files = files, .n_files = n_files,
	};
	struct buf b = BUF_INIT;
	char why[FEAT_WHY_MAX];

	if (feat_pipeline(&b, &po, name, id, e, why, sizeof why) < 0)
		diag_fatal("%s", why);
	out_line(&f->out, b.data, b.len);
	if (f->o->training) {
		buf_reset(&b);
		feat_asof(&b, view, e);
		out_line(&f->out, b.data, b.len);
	}
	buf_free(&b);
	json_decref(view);
	free(name);
}

/* --- export ------------------------------------------------------------- */

static void export_all(struct features *f)
{
	json_t *names = sorted_names(f), *all = json_object(), *name;
	size_t i;
	char *text;

	json_array_foreach(names, i, name) {
		json_t *v = get_record(f, json_string_value(name));

		if (v != NULL)
			json_object_set_new(all, json_string_value(name), v);
	}
	text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
	out_line(&f->out, text, strlen(text));
	free(text);
	json_decref(all);
	json_decref(names);
}

/* --- main --------------------------------------------------------------- */

static void need(const struct opts *o, int n, const char *usage)
{
	if (o->n_args != n + 1)
		diag_usage("%s: expected %s", o->args[0], usage);
}

static void open_store(struct features *f)
{
	struct opts *o = f->o;

	f->password = as_opts_password(&o->as);
	struct as_exec_opts eo;

	as_opts_connect_registry(&o->as, f->password, 4, &f->cl, &eo);
	as_registry_open(&f->reg, &f->cl, &eo, AS_REGISTRY_INDEX, "", "", ":");
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct features f;
	const char *cmd;

	parse_options(&o, argc, argv);
	f.o = &o;
	cmd = o.args[0];
	if (strcmp(cmd, "list") == 0 || strcmp(cmd, "export") == 0)
		need(&o, 0, "no operands");
	else if (strcmp(cmd, "describe") == 0)
		need(&o, 1, "VIEW[@VERSION]");
	else if (strcmp(cmd, "diff") == 0)
		need(&o, 3, "VIEW VERSION VERSION");
	else if (strcmp(cmd, "pipeline") == 0) {
		if (o.n_args < 2)
			diag_usage("pipeline: expected VIEW[@VERSION] [FILE...]");
	} else
		diag_usage("unknown command '%s': list, describe, diff, "
		    "pipeline or export", cmd);
	if ((o.to_set != NULL || o.training) && strcmp(cmd, "pipeline") != 0)
		diag_usage("%s is for pipeline", o.training ? "--training" :
		    "-s");
	if (o.to_set != NULL && o.training)
		diag_usage("-s names the set a sink writes: --training prints "
		    "no sink");
	f.table = isatty(STDOUT_FILENO);
	out_init(&f.out, STDOUT_FILENO, "stdout");
	open_store(&f);
	if (strcmp(cmd, "list") == 0)
		list(&f);
	else if (strcmp(cmd, "describe") == 0)
		describe(&f, o.args[1]);
	else if (strcmp(cmd, "diff") == 0)
		diff(&f, o.args[1], o.args[2], o.args[3]);
	else if (strcmp(cmd, "pipeline") == 0)
		pipeline(&f, o.args[1], o.args + 2, o.n_args - 2);
	else
		export_all(&f);
	as_registry_close(&f.reg);
	as_cluster_close(&f.cl);
	free(f.password);
	out_close(&f.out);
	return 0;
}
