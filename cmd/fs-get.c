/*
 * fs-get - read Aerospike records by key and print them as NDJSON, or
 * print the cluster's nodes and namespaces.  For looking at features by
 * hand, and for tests.  See fs-get(1).
 *
 * Keys come from the arguments, or from NDJSON records on the input
 * with --key (the same fields and separator fs-sink-aerospike was given,
 * so the digests match).  Records are read one at a time, in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"
#include "aerospike/aerospike.h"
#include "opt.h"
#include "reject.h"
#include "banned.h"

/* Aerospike's void times count seconds from 2010-01-01T00:00:00Z. */
#define AS_EPOCH_OFFSET 1262304000

static const char usage_text[] =
"usage: fs-get -n NAMESPACE [--hosts HOSTS] [-s SET] [options] KEY...\n"
"       fs-get -n NAMESPACE [--hosts HOSTS] [-s SET] --key FIELDS [options] [FILE]\n"
"       fs-get --info [--hosts HOSTS]\n"
"Reads Aerospike records by key and prints them as NDJSON.\n";

enum key_type { KEY_AUTO, KEY_STRING, KEY_INTEGER };
static const char *const key_type_words[] = { "auto", "string", "integer",
	NULL };

struct opts {
	struct fs_common c;
	struct as_opts as;
	enum key_type key_type;
	bool bins_only, info;
	char **keys;            /* KEY arguments */
	int n_keys;
};

struct get {
	struct opts *o;
	struct out out;
	struct as_cluster cl;
	struct as_exec *ex;
	struct as_key key;
	json_t *result;         /* the answer of the read in flight */
	int rc;
	char why[320];
	uint64_t missing, errors;
};

static void parse_options(struct opts *o, int argc, char **argv)
{
	struct as_opts *a = &o->as;
	const struct opt opts[] = {
		OPT_GROUP_AEROSPIKE(a,
		    "read keys from the input records' FIELDS"),
		OPT_POLICY(0, "key-type", &o->key_type, key_type_words, "TYPE",
		    "KEY arguments: auto (default; integer when they\n"
		    "look like one), string, or integer"),
		OPT_FLAG(0, "bins-only", &o->bins_only,
		    "print the bins alone; a missing record is an error"),
		OPT_FLAG(0, "info", &o->info,
		    "print the nodes and their namespaces"),
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
	o->keys = argv + first;
	o->n_keys = argc - first;
	if (o->info) {
		if (o->n_keys > 0 || a->key != NULL)
			diag_usage("--info takes no keys");
		return;
	}
	if (a->ns == NULL)
		diag_usage("-n NAMESPACE is required");
	if (a->key != NULL && o->n_keys > 1)
		diag_usage("with --key, one input file at most");
	if (a->key == NULL && o->n_keys == 0)
		diag_usage("no keys: give KEY arguments or --key FIELDS");
	as_opts_check(a);
}

/* --- reading ---------------------------------------------------------- */

static json_t *decode_bins(const struct as_msg *m, char *why)
{
	json_t *bins = json_object();
	const uint8_t *cur = m->ops;
	for (unsigned i = 0; i < m->n_ops; i++) {
		struct as_op_view op;
		as_msg_op_at(&cur, &op);
		json_t *v = as_value_decode(op.ptype, op.val, op.vlen, why);
		if (v == NULL) {
			json_decref(bins);
			return NULL;
		}
		json_object_setn_new(bins, op.name, op.nlen, v);
	}
	return bins;
}

static void done(void *ctx, struct as_cmd *c, int rc, const struct as_msg *m,
    const char *why)
{
	struct get *g = ctx;
	(void)c;
	g->rc = rc;
	g->why[0] = '\0';
	if (rc < 0) {
		snprintf(g->why, sizeof g->why, "%s", why ? why : "");
		return;
	}
	if (rc != AS_OK)
		return;
	char vwhy[AS_VALUE_ERR_MAX];
	json_t *bins = decode_bins(m, vwhy);
	if (bins == NULL) {
		g->rc = AS_EXEC_EPROTO;
		snprintf(g->why, sizeof g->why, "bad bin value: %s", vwhy);
		return;
	}
	int64_t ttl = -1;
	if (m->record_ttl != 0) {
		int64_t now = (int64_t)time(NULL) - AS_EPOCH_OFFSET;
		ttl = (int64_t)m->record_ttl - now;
		if (ttl < 0)
			ttl = 0;
	}
	g->result = json_pack("{s:b,s:I,s:I,s:o}", "found", 1,
	    "generation", (json_int_t)m->generation, "ttl", (json_int_t)ttl,
	    "bins", bins);
}

static void print_key_text(struct buf *b, const struct as_key *k)
{
	if (k->type == AS_PT_INTEGER)
		buf_append_i64(b, k->i);
	else
		buf_append(b, k->s.data ? k->s.data : "", k->s.len);
}

/* Reads the record of g->key and prints it. */
static void get_one(struct get *g)
{
	struct as_cmd *c = as_exec_cmd(g->ex);
	memcpy(c->digest, g->key.digest, AS_DIGEST_SIZE);
	c->hdr.info1 = AS_INFO1_READ | AS_INFO1_GET_ALL;
	g->result = NULL;
	as_exec_submit(g->ex, c);
	as_exec_drain(g->ex);
	json_t *key = as_key_json(&g->key);
	if (g->rc == AS_OK && g->result != NULL) {
		if (g->o->bins_only) {
			rec_emit(&g->out, json_object_get(g->result, "bins"));
		} else {
			json_t *line = json_pack("{s:O}", "key", key);
			json_object_update(line, g->result);
			rec_emit(&g->out, line);
			json_decref(line);
		}
	} else if (g->rc == AS_ERR_NOT_FOUND) {
		g->missing++;
		if (g->o->bins_only) {
			struct buf t = BUF_INIT;
			print_key_text(&t, &g->key);
			diag_warn("not found: '%s'", t.data ? t.data : "");
			buf_free(&t);
		} else {
			json_t *line = json_pack("{s:O,s:b}", "key", key,
			    "found", 0);
			rec_emit(&g->out, line);
			json_decref(line);
		}
	} else {
		struct buf t = BUF_INIT;
		print_key_text(&t, &g->key);
		g->errors++;
		if (g->rc < 0)
			diag_error("%s: %s", t.data ? t.data : "", g->why);
		else
			diag_error("%s: aerospike: %s (%d)", t.data ? t.data : "",
			    as_result_str(g->rc), g->rc);
		buf_free(&t);
	}
	json_decref(key);
	json_decref(g->result);
	g->result = NULL;
}

static void get_args(struct get *g)
{
	const struct opts *o = g->o;
	for (int i = 0; i < o->n_keys && !sig_stop_requested(); i++) {
		const char *k = o->keys[i];
		int64_t v;
		bool is_int = o->key_type != KEY_STRING &&
		    num_parse_i64(k, INT64_MIN, INT64_MAX, &v) == 0;
		if (o->key_type == KEY_INTEGER && !is_int)
			diag_usage("--key-type integer: not an integer: '%s'", k);
		if (is_int)
			as_key_int(&g->key, v, o->as.set);
		else
			as_key_string(&g->key, k, strlen(k), o->as.set);
		get_one(g);
	}
}

static void get_records(struct get *g)
{
	const struct opts *o = g->o;
	struct keyspec ks;
	struct lineio lr;
	struct rejects rj;
	const char *in = o->n_keys > 0 ? o->keys[0] : "-";
	if (keyspec_compile(&ks, o->as.key) < 0)
		diag_usage("--key: not a list of field paths: '%s'", o->as.key);
	if (lineio_open(&lr, in) < 0)
		diag_fatal("cannot open '%s': %s", in, strerror(errno));
	lineio_set_flush_hook(&lr, &g->out);
	rejects_init(&rj, &o->c, &g->out);
	const char *line;
	size_t len;
	int r;
	while ((r = lineio_read(&lr, &line, &len)) != 0) {
		if (r == -2) {
			if (sig_stop_requested())
				break;
			continue;
		}
		if (r < 0)
			diag_fatal("read error: %s: %s", lr.name,
			    strerror(lr.err));
		char why[REC_ERR_MAX + 160];
		json_t *obj = rec_parse(line, len, why);
		if (obj == NULL) {
			reject_line(&rj, &lr, why, line, len);
			continue;
		}
		if (rec_line_maybe_control(line, len)) {
			struct ctl ctl;
			if (rec_control(obj, &ctl, why) != CTL_NONE) {
				json_decref(obj);
				continue;       /* nothing to read for those */
			}
		}
		if (as_key_from_record(&g->key, &ks, o->as.key_sep, obj,
		    o->as.set, why, sizeof why) < 0)
			reject_line(&rj, &lr, why, line, len);
		else
			get_one(g);
		json_decref(obj);
	}
	rejects_finish(&rj);
	lineio_close(&lr);
	keyspec_free(&ks);
}

/* --- --info ----------------------------------------------------------- */

static void print_info(struct get *g)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < g->cl.n_nodes; i++) {
		struct as_node *n = g->cl.nodes[i];
		if (!n->alive)
			continue;
		if (as_node_info(&g->cl, n, "build\nnamespaces\n"
		    "partition-generation", &out) < 0) {
			diag_error("%s", g->cl.err);
			g->errors++;
			continue;
		}
		const char *v;
		long vl;
		json_t *line = json_pack("{s:s,s:s}", "node", n->name,
		    "address", n->addr);
		vl = as_info_value(out.data, out.len, "build", &v);
		if (vl >= 0)
			json_object_set_new(line, "build", json_stringn(v,
			    (size_t)vl));
		json_t *nss = json_array();
		vl = as_info_value(out.data, out.len, "namespaces", &v);
		for (const char *p = v, *e = v + (vl > 0 ? vl : 0); vl > 0 &&
		    p < e;) {
			const char *semi = memchr(p, ';', (size_t)(e - p));
			const char *end = semi ? semi : e;
			if (end > p)
				json_array_append_new(nss, json_stringn(p,
				    (size_t)(end - p)));
			p = end + 1;
		}
		json_object_set_new(line, "namespaces", nss);
		vl = as_info_value(out.data, out.len, "partition-generation", &v);
		int64_t gen;
		char num[24];
		if (vl > 0 && (size_t)vl < sizeof num) {
			memcpy(num, v, (size_t)vl);
			num[vl] = '\0';
			if (num_parse_i64(num, INT64_MIN, INT64_MAX, &gen) == 0)
				json_object_set_new(line, "partition_generation",
				    json_integer(gen));
		}
		rec_emit(&g->out, line);
		json_decref(line);
	}
	buf_free(&out);
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct get g;

	parse_options(&o, argc, argv);
	g.o = &o;
	out_init(&g.out, 1, "stdout");
	char *password = as_opts_password(&o.as);
	struct as_cluster_opts co = {
		.hosts = o.as.hosts, .ns = o.info ? NULL : o.as.ns,
		.user = o.as.user, .password = password, .max_conns = 4,
		.timeout_ms = o.as.timeout_ms > AS_INFO_TIMEOUT_MS ?
		    o.as.timeout_ms : AS_INFO_TIMEOUT_MS,
	};
	if (as_cluster_open(&g.cl, &co) < 0)
		diag_fatal("aerospike: %s", g.cl.err);
	if (o.info) {
		print_info(&g);
	} else {
		struct as_exec_opts eo = {
			.ns = o.as.ns, .set = o.as.set, .max_in_flight = 1,
			.timeout_ms = o.as.timeout_ms, .max_retries = 2,
			.backoff_ms = 5,
		};
		g.ex = as_exec_new(&g.cl, &eo, done, &g);
		if (o.as.key != NULL)
			get_records(&g);
		else
			get_args(&g);
		as_exec_free(g.ex);
	}
	as_cluster_close(&g.cl);
	as_key_free(&g.key);
	free(password);
	out_close(&g.out);
	if (g.errors > 0 || (o.bins_only && g.missing > 0))
		return 1;
	return 0;
}
