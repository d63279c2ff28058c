/*
 * as_registry.c - a feature view's registry entry (as_registry.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as_registry.h"
#include "as_value.h"
#include "def.h"
#include "etime.h"
#include "xalloc.h"
#include "banned.h"

/* Tries of a read-merge-write that another writer keeps overtaking. */
#define REG_TRIES 20

static void reg_done(void *ctx, struct as_cmd *c, int rc,
    const struct as_msg *m, const char *why)
{
	struct as_registry *r = ctx;
	const uint8_t *cur;

	(void)c;
	r->rc = rc;
	r->why[0] = '\0';
	if (rc < 0) {
		snprintf(r->why, sizeof r->why, "%s", why ? why : "");
		return;
	}
	if (rc != AS_OK || m == NULL || m->n_ops == 0)
		return;
	r->gen = m->generation;
	r->bins = json_object();
	cur = m->ops;
	for (unsigned i = 0; i < m->n_ops; i++) {
		struct as_op_view op;
		char vwhy[AS_VALUE_ERR_MAX];
		json_t *v;

		as_msg_op_at(&cur, &op);
		v = as_value_decode(op.ptype, op.val, op.vlen, vwhy);
		if (v == NULL) {
			r->rc = AS_EXEC_EPROTO;
			snprintf(r->why, sizeof r->why, "bad bin value: %s", vwhy);
			json_decref(r->bins);
			r->bins = NULL;
			return;
		}
		json_object_setn_new(r->bins, op.name, op.nlen, v);
	}
}

void as_registry_open(struct as_registry *r, struct as_cluster *c,
    const struct as_exec_opts *eo, const char *view, const char *set,
    const char *keys, const char *key_sep)
{
	struct as_exec_opts o = *eo;
	char *copy = xstrdup(keys), *save = NULL;

	memset(r, 0, sizeof *r);
	o.set = AS_REGISTRY_SET;
	o.max_in_flight = 1;
	o.max_pending = 1;
	o.batch = 1;
	o.pipeline = 1;
	r->ex = as_exec_new(c, &o, reg_done, r);
	r->view = xstrdup(view);
	r->set = xstrdup(set);
	r->key_sep = xstrdup(key_sep);
	r->keys = json_array();
	for (char *t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save))
		json_array_append_new(r->keys, json_string(t));
	free(copy);
	as_key_string(&r->key, view, strlen(view), AS_REGISTRY_SET);
	r->seen = json_object();
}

void as_registry_close(struct as_registry *r)
{
	if (r->ex != NULL)
		as_exec_free(r->ex);
	as_key_free(&r->key);
	json_decref(r->keys);
	json_decref(r->lineage);
	json_decref(r->seen);
	json_decref(r->bins);
	free(r->view);
	free(r->set);
	free(r->key_sep);
	memset(r, 0, sizeof *r);
}

/* Reads the view's record: 1 found (r->bins, r->gen), 0 not found, -1
 * with why. */
static int reg_read(struct as_registry *r, const struct as_key *key,
    char *why)
{
	struct as_cmd *c = as_exec_cmd(r->ex);

	json_decref(r->bins);
	r->bins = NULL;
	memcpy(c->digest, key->digest, AS_DIGEST_SIZE);
	c->hdr.info1 = AS_INFO1_READ | AS_INFO1_GET_ALL;
	as_exec_submit(r->ex, c);
	as_exec_drain(r->ex);
	if (r->rc == AS_ERR_NOT_FOUND)
		return 0;
	if (r->rc == AS_OK && r->bins != NULL)
		return 1;
	if (r->rc < 0)
		snprintf(why, AS_REGISTRY_WHY_MAX, "registry '%s': %s", r->view,
		    r->why);
	else
		snprintf(why, AS_REGISTRY_WHY_MAX, "registry '%s': aerospike: "
		    "%s (%d)", r->view, as_result_str(r->rc), r->rc);
	return -1;
}

/* Writes bins over the record read (generation gen; found false:
 * create it).  0, 1 when another writer came between (read again), -1
 * with why. */
static int reg_write(struct as_registry *r, const struct as_key *key,
    const json_t *bins, bool found, uint32_t gen, char *why)
{
	struct as_cmd *c = as_exec_cmd(r->ex);
	struct buf val = BUF_INIT;
	const char *k;
	size_t kn;
	json_t *v;
	const void *kp = as_key_bytes(key, &kn);

	memcpy(c->digest, key->digest, AS_DIGEST_SIZE);
	c->hdr.info2 = AS_INFO2_WRITE | (found ? AS_INFO2_GENERATION :
	    AS_INFO2_CREATE_ONLY);
	c->hdr.generation = found ? gen : 0;
	c->hdr.record_ttl = AS_TTL_NEVER;
	as_cmd_field_key(c, key->type, kp, kn);
	json_object_keylen_foreach((json_t *)bins, k, kn, v) {
		uint8_t pt;

		buf_reset(&val);
		pt = as_value_encode(v, &val);
		as_cmd_op(c, AS_OP_WRITE, pt, k, kn, val.data, val.len);
	}
	buf_free(&val);
	as_exec_submit(r->ex, c);
	as_exec_drain(r->ex);
	if (r->rc == AS_OK)
		return 0;
	if (r->rc == AS_ERR_GENERATION || r->rc == AS_ERR_RECORD_EXISTS)
		return 1;
	if (r->rc < 0)
		snprintf(why, AS_REGISTRY_WHY_MAX, "registry '%s': %s", r->view,
		    r->why);
	else
		snprintf(why, AS_REGISTRY_WHY_MAX, "registry '%s': aerospike: "
		    "%s (%d)", r->view, as_result_str(r->rc), r->rc);
	return -1;
}

/* The bins of a new view's record. */
static json_t *reg_new_bins(const struct as_registry *r)
{
	json_t *b = json_pack("{s:s,s:s,s:O,s:s,s:{}}", "view", r->view,
	    "set", r->set, "key", r->keys, "key_sep", r->key_sep, "versions");

	if (r->topic != NULL)
		json_object_set_new(b, "topic", json_string(r->topic));
	return b;
}

/* The largest version number in versions. */
static int64_t max_n(const json_t *versions)
{
	const char *k;
	json_t *v;
	int64_t n = 0;

	json_object_foreach((json_t *)versions, k, v) {
		int64_t x = json_integer_value(json_object_get(v, "n"));
		if (x > n)
			n = x;
	}
	return n;
}

/*
 * Decides where this version goes and adds its entry to bins: -1 with
 * why when the plain bins hold another version and version_bins is
 * false.
 */
static int reg_place(struct as_registry *r, json_t *bins, bool version_bins,
    char *why)
{
	json_t *versions = json_object_get(bins, "versions");
	const char *cur = json_string_value(json_object_get(bins, "current"));
	json_t *e;
	bool plain;

	if (!json_is_object(versions)) {
		versions = json_object();
		json_object_set_new(bins, "versions", versions);
	}
	e = json_object_get(versions, r->version);
	plain = cur == NULL || strcmp(cur, r->version) == 0;
	if (!plain && !version_bins) {
		snprintf(why, AS_REGISTRY_WHY_MAX, "view '%s' holds version %s "
		    "in its plain bins; this pipeline's definition is version "
		    "%s: %s", r->view, cur, r->version, r->refusal ?
		    r->refusal : "give --version-bins, or write to a new set "
		    "(-s) or view (--view)");
		return -1;
	}
	if (e == NULL) {
		e = json_pack("{s:I,s:o,s:O,s:{}}", "n",
		    (json_int_t)(max_n(versions) + 1), "definition",
		    def_canonical(r->lineage), "lineage", r->lineage,
		    "features");
		json_object_set_new(versions, r->version, e);
	}
	json_object_set_new(e, "bins", json_string(plain ? "plain" :
	    "suffixed"));
	json_object_set_new(e, "updated", json_integer(etime_now_ms()));
	if (plain)
		json_object_set_new(bins, "current", json_string(r->version));
	json_object_set_new(bins, "updated", json_integer(etime_now_ms()));
	r->n = json_integer_value(json_object_get(e, "n"));
	r->suffixed = !plain;
	if (r->suffixed)
		snprintf(r->suffix, sizeof r->suffix, "_v%lld", (long long)r->n);
	else
		r->suffix[0] = '\0';
	return 0;
}

/* Adds the view to the index record (AS_REGISTRY_INDEX). */
static int reg_index(struct as_registry *r, char *why)
{
	struct as_key ik = { 0 };
	int rc = -1;

	as_key_string(&ik, AS_REGISTRY_INDEX, strlen(AS_REGISTRY_INDEX),
	    AS_REGISTRY_SET);
	for (int i = 0; i < REG_TRIES && rc < 0; i++) {
		int found = reg_read(r, &ik, why), w;
		json_t *bins, *views;
		const char *had;

		if (found < 0)
			break;
		bins = found ? json_deep_copy(r->bins) : json_object();
		views = json_object_get(bins, "views");
		had = json_string_value(json_object_get(views, r->view));
		if (had != NULL && strcmp(had, r->set) == 0) {
			json_decref(bins);
			rc = 0;
			break;
		}
		if (!json_is_object(views)) {
			views = json_object();
			json_object_set_new(bins, "views", views);
		}
		json_object_set_new(views, r->view, json_string(r->set));
		w = reg_write(r, &ik, bins, found, r->gen, why);
		json_decref(bins);
		if (w < 0)
			break;
		if (w == 0)
			rc = 0;
	}
	as_key_free(&ik);
	if (rc < 0 && why[0] == '\0')
		snprintf(why, AS_REGISTRY_WHY_MAX, "registry '%s': the index "
		    "is still overtaken by other writers", r->view);
	return rc;
}

int as_registry_define(struct as_registry *r, json_t *lineage,
    bool version_bins, char *why)
{
	json_decref(r->lineage);
	r->lineage = lineage;
	def_version(lineage, r->version);
	for (int i = 0; i < REG_TRIES; i++) {
		int found = reg_read(r, &r->key, why), w;
		json_t *bins;

		if (found < 0)
			return -1;
		bins = found ? json_deep_copy(r->bins) : reg_new_bins(r);
		if (reg_place(r, bins, version_bins, why) < 0) {
			json_decref(bins);
			return -1;
		}
		w = reg_write(r, &r->key, bins, found, r->gen, why);
		json_decref(bins);
		if (w < 0)
			return -1;
		if (w == 0)
			return reg_index(r, why);
	}
	snprintf(why, AS_REGISTRY_WHY_MAX, "registry '%s': still overtaken by "
	    "other writers after %d tries", r->view, REG_TRIES);
	return -1;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "float";
	case JSON_STRING:
		return "string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_ARRAY:
		return "list";
	case JSON_OBJECT:
		return json_object_size(v) == 1 &&
		    json_object_get(v, AS_BYTES_MEMBER) != NULL ? "bytes" : "map";
	default:
		return NULL;
	}
}

void as_registry_note(struct as_registry *r, const char *name, size_t nlen,
    const json_t *v)
{
	as_registry_note_type(r, name, nlen, type_name(v));
}

void as_registry_note_type(struct as_registry *r, const char *name,
    size_t nlen, const char *t)
{
	json_t *f, *types;

	if (t == NULL)
		return;
	f = json_object_getn(r->seen, name, nlen);
	if (f == NULL) {
		f = json_object();
		json_object_setn_new(r->seen, name, nlen, f);
	}
	types = json_object_get(f, "types");
	if (types == NULL) {
		types = json_object();
		json_object_set_new(f, "types", types);
	}
	if (json_object_get(types, t) == NULL) {
		json_object_set_new(types, t, json_true());
		r->dirty = true;
	}
}

void as_registry_watermark(struct as_registry *r, int64_t ts)
{
	if (!r->has_wm || ts > r->wm) {
		r->wm = ts;
		r->has_wm = true;
		r->dirty = true;
	}
}

void as_registry_wrote(struct as_registry *r)
{
	r->wrote = true;
	r->dirty = true;
}

/*
 * The range of an over aggregate named n that feature name is
 * (NAME_RANGE, RANGE as spelled in over_spec), in milliseconds; -1 when
 * it is not one.
 */
static int64_t over_range(const char *name, const char *n,
    const char *over_spec)
{
	size_t len = strlen(n);
	char *copy, *save = NULL;
	int64_t ms = -1;

	if (over_spec == NULL || strncmp(name, n, len) != 0 ||
	    name[len] != '_')
		return -1;
	copy = xstrdup(over_spec);
	for (char *t = strtok_r(copy, ",", &save); t != NULL && ms < 0;
	    t = strtok_r(NULL, ",", &save))
		if (strcmp(t, name + len + 1) == 0 && dur_parse(t, &ms) < 0)
			ms = -1;
	free(copy);
	return ms;
}

/* The aggregate of the lineage that computes feature name, or NULL: one
 * named so, or an over aggregate's NAME_RANGE (with its "range"). */
static json_t *feature_def(const json_t *lineage, const char *name)
{
	json_t *found = NULL;
	size_t i, j;
	json_t *part, *a;

	json_array_foreach(lineage, i, part) {
		const char *ospec = json_string_value(json_object_get(part,
		    "over_spec"));

		json_array_foreach(json_object_get(part, "aggs"), j, a) {
			const char *n = json_string_value(json_object_get(a,
			    "name"));
			int64_t range = n ? over_range(name, n, ospec) : -1;

			if (n == NULL || (strcmp(n, name) != 0 && range < 0))
				continue;
			json_decref(found);
			found = json_deep_copy(a);
			json_object_del(found, "spec");
			if (range >= 0)
				json_object_set_new(found, "range",
				    json_integer(range));
		}
	}
	return found;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted list of the names in the union of list old and object add. */
static json_t *types_union(const json_t *old, const json_t *add)
{
	json_t *set = json_object(), *out = json_array(), *v;
	const char *k;
	size_t i;
	const char **names;
	size_t n = 0;

	json_array_foreach(old, i, v)
		if (json_is_string(v))
			json_object_set(set, json_string_value(v), json_true());
	json_object_foreach((json_t *)add, k, v)
		json_object_set(set, k, json_true());
	names = xcalloc(json_object_size(set) + 1, sizeof *names);
	json_object_foreach(set, k, v)
		names[n++] = k;
	qsort(names, n, sizeof *names, cmp_str);
	for (i = 0; i < n; i++)
		json_array_append_new(out, json_string(names[i]));
	free(names);
	json_decref(set);
	return out;
}

/* Merges what was noted into the version's entry e. */
static void reg_merge(struct as_registry *r, json_t *e, int64_t now)
{
	json_t *feats = json_object_get(e, "features"), *f;
	const char *name;

	if (!json_is_object(feats)) {
		feats = json_object();
		json_object_set_new(e, "features", feats);
	}
	json_object_foreach(r->seen, name, f) {
		json_t *old = json_object_get(feats, name), *d, *nf;
		char bin[AS_BIN_NAME_MAX * 2 + 24];

		snprintf(bin, sizeof bin, "%s%s", name, r->suffix);
		nf = json_pack("{s:s,s:o}", "bin", bin, "types",
		    types_union(json_object_get(old, "types"),
		    json_object_get(f, "types")));
		d = feature_def(r->lineage, name);
		if (d != NULL)
			json_object_set_new(nf, "def", d);
		json_object_set_new(feats, name, nf);
	}
	if (r->wrote) {
		if (json_object_get(e, "first_written") == NULL)
			json_object_set_new(e, "first_written",
			    json_integer(now));
		json_object_set_new(e, "last_written", json_integer(now));
	}
	if (r->has_wm && json_integer_value(json_object_get(e, "watermark")) <
	    r->wm)
		json_object_set_new(e, "watermark", json_integer(r->wm));
	if (r->has_wm && json_object_get(e, "watermark") == NULL)
		json_object_set_new(e, "watermark", json_integer(r->wm));
	json_object_set_new(e, "updated", json_integer(now));
}

int as_registry_update(struct as_registry *r, char *why)
{
	if (r->lineage == NULL || !r->dirty)
		return 0;
	for (int i = 0; i < REG_TRIES; i++) {
		int found = reg_read(r, &r->key, why), w;
		int64_t now = etime_now_ms();
		json_t *bins, *versions, *e;

		if (found < 0)
			return -1;
		bins = found ? json_deep_copy(r->bins) : reg_new_bins(r);
		versions = json_object_get(bins, "versions");
		e = json_is_object(versions) ?
		    json_object_get(versions, r->version) : NULL;
		if (e == NULL) {
			/* removed by hand meanwhile: register it again */
			if (reg_place(r, bins, r->suffixed, why) < 0) {
				json_decref(bins);
				return -1;
			}
			e = json_object_get(json_object_get(bins, "versions"),
			    r->version);
		}
		reg_merge(r, e, now);
		json_object_set_new(bins, "updated", json_integer(now));
		w = reg_write(r, &r->key, bins, found, r->gen, why);
		json_decref(bins);
		if (w < 0)
			return -1;
		if (w == 0) {
			r->dirty = false;
			r->wrote = false;
			return 0;
		}
	}
	snprintf(why, AS_REGISTRY_WHY_MAX, "registry '%s': still overtaken by "
	    "other writers after %d tries", r->view, REG_TRIES);
	return -1;
}

/* The version of versions whose upstream version is up, or NULL. */
static const char *upstream_match(const json_t *versions, const char *up)
{
	const char *k;
	json_t *e;
	char v[DEF_VERSION_LEN + 1];

	json_object_foreach((json_t *)versions, k, e) {
		def_version_upstream(json_object_get(e, "lineage"), v);
		if (strcmp(v, up) == 0)
			return k;
	}
	return NULL;
}

int as_registry_offline(struct as_registry *r, const json_t *lineage,
    const json_t *location, char version[17], char *why)
{
	char up[DEF_VERSION_LEN + 1];
	const char *uri = json_string_value(json_object_get(location, "uri"));

	def_version_upstream(lineage, up);
	for (int i = 0; i < REG_TRIES; i++) {
		int found = reg_read(r, &r->key, why), w;
		json_t *bins, *e, *off, *loc;
		const char *v;

		if (found <= 0)
			return found;
		v = upstream_match(json_object_get(r->bins, "versions"), up);
		if (v == NULL)
			return 0;
		snprintf(version, DEF_VERSION_LEN + 1, "%s", v);
		bins = json_deep_copy(r->bins);
		e = json_object_get(json_object_get(bins, "versions"), version);
		off = json_object_get(e, "offline");
		if (!json_is_object(off)) {
			off = json_object();
			json_object_set_new(e, "offline", off);
		}
		loc = json_deep_copy(location);
		json_object_set_new(loc, "updated",
		    json_integer(etime_now_ms()));
		json_object_set_new(off, uri ? uri : "", loc);
		w = reg_write(r, &r->key, bins, true, r->gen, why);
		json_decref(bins);
		if (w < 0)
			return -1;
		if (w == 0)
			return 1;
	}
	snprintf(why, AS_REGISTRY_WHY_MAX, "registry '%s': still overtaken by "
	    "other writers after %d tries", r->view, REG_TRIES);
	return -1;
}

int as_registry_get(struct as_registry *r, const char *name, json_t **out,
    char *why)
{
	struct as_key k = { 0 };
	int found;

	*out = NULL;
	as_key_string(&k, name, strlen(name), AS_REGISTRY_SET);
	found = reg_read(r, &k, why);
	as_key_free(&k);
	if (found == 1)
		*out = json_incref(r->bins);
	return found;
}
