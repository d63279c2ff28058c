/*
 * aggfn_spec.c - compiling aggregate specs into a set (aggfn.h), the
 * set's accessors, and freeing it.
 *
 * aggset_compile() allocates the set and everything in it (names, field
 * paths, condition sets, the scratch aggset_prepare() uses);
 * aggset_free() frees all of it.  On a compile error nothing is left
 * allocated and why says what is wrong with which spec.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggfn_state.h"
#include "ddsketch.h"
#include "hll.h"
#include "buf.h"
#include "num.h"
#include "path.h"
#include "xalloc.h"
#include "banned.h"

#define LAST_N_MAX 10000

enum field_use { F_OPTIONAL, F_REQUIRED };

static const struct fninfo {
	const char *name;
	enum fn fn;
	enum kind kind;
	enum field_use field;
	const char *usage;
} fninfo[] = {          /* in the order fs-agg(1) lists them */
	{ "count", FN_COUNT, K_COUNT, F_OPTIONAL, "count[:FIELD]" },
	{ "sum", FN_SUM, K_SUM, F_REQUIRED, "sum:FIELD" },
	{ "sum0", FN_SUM0, K_SUM, F_REQUIRED, "sum0:FIELD" },
	{ "avg", FN_AVG, K_SUM, F_REQUIRED, "avg:FIELD" },
	{ "min", FN_MIN, K_MIN, F_REQUIRED, "min:FIELD" },
	{ "max", FN_MAX, K_MAX, F_REQUIRED, "max:FIELD" },
	{ "first", FN_FIRST, K_FIRST, F_REQUIRED, "first:FIELD" },
	{ "last", FN_LAST, K_LAST, F_REQUIRED, "last:FIELD" },
	{ "count_distinct", FN_COUNT_DISTINCT, K_DISTINCT, F_REQUIRED,
	  "count_distinct:FIELD" },
	{ "approx_count_distinct", FN_APPROX_DISTINCT, K_HLL, F_REQUIRED,
	  "approx_count_distinct:FIELD[:P]" },
	{ "percentile", FN_PERCENTILE, K_DDS, F_REQUIRED,
	  "percentile:FIELD:Q[:ALPHA]" },
	{ "variance", FN_VAR_SAMP, K_MOMENTS, F_REQUIRED, "variance:FIELD" },
	{ "var_samp", FN_VAR_SAMP, K_MOMENTS, F_REQUIRED, "var_samp:FIELD" },
	{ "var_pop", FN_VAR_POP, K_MOMENTS, F_REQUIRED, "var_pop:FIELD" },
	{ "stddev", FN_STDDEV_SAMP, K_MOMENTS, F_REQUIRED, "stddev:FIELD" },
	{ "stddev_samp", FN_STDDEV_SAMP, K_MOMENTS, F_REQUIRED,
	  "stddev_samp:FIELD" },
	{ "stddev_pop", FN_STDDEV_POP, K_MOMENTS, F_REQUIRED,
	  "stddev_pop:FIELD" },
	{ "last_n", FN_LAST_N, K_LASTN, F_REQUIRED, "last_n:FIELD:N" },
	{ "max_by", FN_MAX_BY, K_MAXBY, F_REQUIRED, "max_by:FIELD:BY" },
	{ "min_by", FN_MIN_BY, K_MINBY, F_REQUIRED, "min_by:FIELD:BY" },
};

static size_t kind_size(enum kind k)
{
	switch (k) {
	case K_COUNT:
		return sizeof(uint64_t);
	case K_SUM:
		return sizeof(struct s_sum);
	case K_MIN:
	case K_MAX:
		return sizeof(struct s_ext);
	case K_MOMENTS:
		return sizeof(struct s_mom);
	case K_FIRST:
	case K_LAST:
		return sizeof(struct s_pick);
	default:
		return sizeof(void *);
	}
}

size_t aggset_count(const struct aggset *as)
{
	return as->naggs;
}

const char *aggset_name(const struct aggset *as, size_t i)
{
	return as->aggs[i].name;
}

const struct path *aggset_fields(const struct aggset *as, size_t *n)
{
	*n = as->nfields;
	return as->fields;
}

size_t aggset_field_spec(const struct aggset *as, size_t i)
{
	return as->field_spec[i];
}

/* Does path in lie strictly inside path out (out's parts, then more)? */
static bool path_below(const struct path *in, const struct path *out)
{
	if (in->n <= out->n)
		return false;
	for (size_t k = 0; k < out->n; k++)
		if (strcmp(in->parts[k], out->parts[k]) != 0)
			return false;
	return true;
}

bool aggset_field_lazy_ok(const struct aggset *as, size_t i)
{
	bool used = false;

	for (size_t c = 0; c < as->ncsets; c++)
		for (size_t k = 0; k < as->csets[c].n; k++)
			if (as->csets[c].c[k].field == i)
				return false;
	for (size_t s = 0; s < as->nslots; s++) {
		const struct slot *sl = &as->slots[s];

		if (sl->field == (long)i)
			return false;
		if (sl->vfield != (long)i)
			continue;
		if ((sl->kind != K_MAXBY && sl->kind != K_MINBY) ||
		    sl->field < 0 || !path_below(&as->fields[sl->field],
		    &as->fields[i]))
			return false;
		used = true;
	}
	return used;
}

void aggset_set_lazy(struct aggset *as, size_t i, aggset_get_fn get,
    void *ctx)
{
	as->lazy[i] = true;
	as->get = get;
	as->get_ctx = ctx;
}

const char *aggset_function(size_t i)
{
	return i < sizeof(fninfo) / sizeof(fninfo[0]) ? fninfo[i].name : NULL;
}

const char *aggset_large(const struct aggset *as)
{
	for (size_t i = 0; i < as->naggs; i++) {
		enum kind k = as->slots[as->aggs[i].slot].kind;

		if (k == K_DISTINCT || k == K_HLL || k == K_DDS ||
		    k == K_LASTN || k == K_MAXBY || k == K_MINBY)
			return as->aggs[i].name;
	}
	return NULL;
}

const char *aggset_signature(const struct aggset *as)
{
	return as->signature;
}

size_t aggset_state_size(const struct aggset *as)
{
	return as->size;
}

void aggset_free(struct aggset *as)
{
	if (as == NULL)
		return;
	for (size_t i = 0; i < as->naggs; i++)
		free(as->aggs[i].name);
	for (size_t i = 0; i < as->nfields; i++) {
		path_free(&as->fields[i]);
		if (as->fv)
			buf_free(&as->fv[i].canon);
	}
	for (size_t i = 0; i < as->ncsets; i++) {
		for (size_t j = 0; j < as->csets[i].n; j++) {
			free(as->csets[i].c[j].text);
			free(as->csets[i].c[j].lit);
		}
		free(as->csets[i].c);
		free(as->csets[i].text);
	}
	free(as->aggs);
	free(as->slots);
	free(as->fields);
	free(as->field_spec);
	free(as->csets);
	free(as->signature);
	free(as->fv);
	free(as->cs_ok);
	free(as->active);
	free(as->lazy);
	free(as);
}

#define MAX_ARGS 4      /* FUNC, FIELD and two parameters */

struct parsed {
	char *arg[MAX_ARGS];
	size_t nargs;
	const char *cond;       /* the text after ":if:", or NULL */
};

static void parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->nargs; i++)
		free(p->arg[i]);
}

/*
 * Splits "FUNC:FIELD:PARAM:if:COND" at unescaped ':' up to an "if"
 * token.  "\:" becomes ':'; other backslashes stay for path.h.
 */
static int split_head(const char *s, struct parsed *p, const char **err)
{
	struct buf tok = BUF_INIT;

	p->nargs = 0;
	p->cond = NULL;
	for (;;) {
		if (*s == '\\' && s[1] == ':') {
			buf_appendc(&tok, ':');
			s += 2;
			continue;
		}
		if (*s == '\\' && s[1] != '\0') {
			buf_append(&tok, s, 2);
			s += 2;
			continue;
		}
		if (*s != ':' && *s != '\0') {
			buf_appendc(&tok, *s++);
			continue;
		}
		if (p->nargs > 0 && tok.len == 2 && memcmp(tok.data, "if", 2) == 0) {
			if (*s == '\0' || s[1] == '\0') {
				*err = "a condition is needed after 'if:'";
				goto fail;
			}
			p->cond = s + 1;
			break;
		}
		if (p->nargs == MAX_ARGS) {
			*err = "too many ':' arguments";
			goto fail;
		}
		p->arg[p->nargs++] = xstrndup(tok.data ? tok.data : "", tok.len);
		buf_reset(&tok);
		if (*s == '\0')
			break;
		s++;
	}
	buf_free(&tok);
	return 0;
fail:
	buf_free(&tok);
	parsed_free(p);
	p->nargs = 0;
	return -1;
}

static size_t field_index(struct aggset *as, const char *text, bool *bad)
{
	struct path p;

	for (size_t i = 0; i < as->nfields; i++)
		if (strcmp(as->fields[i].text, text) == 0)
			return i;
	if (path_compile(&p, text) < 0) {
		*bad = true;
		return 0;
	}
	as->fields = xrealloc(as->fields, (as->nfields + 1) * sizeof(p));
	as->fields[as->nfields] = p;
	/* specs are appended once compiled: naggs is the current one */
	as->field_spec = xrealloc(as->field_spec,
	    (as->nfields + 1) * sizeof *as->field_spec);
	as->field_spec[as->nfields] = as->naggs;
	return as->nfields++;
}

/*
 * The operator at s[k] (k < len) into c->op: = != < <= > >=.  Returns
 * where the value begins (past the operator, so never 0), or 0 with
 * *err when '!' is not followed by '='.
 */
static size_t cond_op(const char *s, size_t k, size_t len, struct cond *c,
    const char **err)
{
	size_t vstart = k + 1;

	switch (s[k]) {
	case '=':
		c->op = OP_EQ;
		break;
	case '!':
		if (k + 1 >= len || s[k + 1] != '=') {
			*err = "'!' must be followed by '='";
			return 0;
		}
		c->op = OP_NE;
		vstart++;
		break;
	default:
		c->op = s[k] == '<' ? OP_LT : OP_GT;
		if (k + 1 < len && s[k + 1] == '=') {
			c->op = c->op == OP_LT ? OP_LE : OP_GE;
			vstart++;
		}
		break;
	}
	return vstart;
}

/* The value s[vstart..len) into c: unescaped ("\&" is '&', "\\" is
 * '\'), and as a number and an integer when it reads as one. */
static void cond_literal(struct cond *c, const char *s, size_t vstart,
    size_t len)
{
	struct buf lit = BUF_INIT;

	for (size_t i = vstart; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == '&' || s[i + 1] == '\\'))
			i++;
		buf_appendc(&lit, s[i]);
	}
	c->litlen = lit.len;
	c->lit = xstrndup(lit.data ? lit.data : "", lit.len);
	buf_free(&lit);
	c->lit_num = num_parse_double(c->lit, &c->lit_d) == 0;
	c->lit_int = num_parse_i64(c->lit, INT64_MIN, INT64_MAX,
	    &c->lit_i) == 0;
}

/* The path s[0..k) as in FIELD, allocated: "\:" is ':', other escapes
 * are left for path.h. */
static char *cond_path(const char *s, size_t k)
{
	struct buf b = BUF_INIT;
	char *path;

	for (size_t i = 0; i < k; i++) {
		if (s[i] == '\\' && i + 1 < k && s[i + 1] == ':')
			i++;
		else if (s[i] == '\\' && i + 1 < k)
			buf_appendc(&b, s[i++]);
		buf_appendc(&b, s[i]);
	}
	path = xstrndup(b.data ? b.data : "", b.len);
	buf_free(&b);
	return path;
}

/* Parses one "PATH OP VALUE" (raw, escapes still in) into c. */
static int parse_cond(struct aggset *as, const char *s, size_t len,
    struct cond *c, const char **err)
{
	size_t k = 0, vstart;
	char *path;
	bool bad = false;

	memset(c, 0, sizeof(*c));
	while (k < len && !strchr("=!<>", s[k]))
		k++;
	if (k == len) {
		*err = "a condition needs one of = != < <= > >=";
		return -1;
	}
	if (k == 0) {
		*err = "a condition needs a field before its operator";
		return -1;
	}
	vstart = cond_op(s, k, len, c, err);
	if (vstart == 0)
		return -1;
	cond_literal(c, s, vstart, len);
	c->text = xstrndup(s, len);
	if (c->op != OP_EQ && c->op != OP_NE && !c->lit_num) {
		*err = "< <= > >= need a number";
		return -1;
	}
	path = cond_path(s, k);
	c->field = field_index(as, path, &bad);
	free(path);
	if (bad) {
		*err = "invalid field in condition";
		return -1;
	}
	return 0;
}

static void cond_free(struct cond *c)
{
	free(c->text);
	free(c->lit);
}

/* Compiles the condition text (conditions joined by unescaped '&'). */
static long cset_index(struct aggset *as, const char *text, const char **err)
{
	struct condset cs = { NULL, NULL, 0 };
	const char *s = text, *start = text;

	for (size_t i = 0; i < as->ncsets; i++)
		if (strcmp(as->csets[i].text, text) == 0)
			return (long)i;
	for (;; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			continue;
		}
		if (*s != '&' && *s != '\0')
			continue;
		cs.c = xrealloc(cs.c, (cs.n + 1) * sizeof(struct cond));
		if (parse_cond(as, start, (size_t)(s - start), &cs.c[cs.n],
		    err) < 0) {
			cond_free(&cs.c[cs.n]);
			for (size_t j = 0; j < cs.n; j++)
				cond_free(&cs.c[j]);
			free(cs.c);
			return -1;
		}
		cs.n++;
		if (*s == '\0')
			break;
		start = s + 1;
	}
	cs.text = xstrdup(text);
	as->csets = xrealloc(as->csets, (as->ncsets + 1) * sizeof(cs));
	as->csets[as->ncsets] = cs;
	return (long)as->ncsets++;
}

static size_t slot_index(struct aggset *as, enum kind kind, long field,
    long vfield, long cset, double param)
{
	struct slot *s;

	for (size_t i = 0; i < as->nslots; i++) {
		s = &as->slots[i];
		if (s->kind == kind && s->field == field &&
		    s->vfield == vfield && s->cset == cset &&
		    s->param == param)
			return i;
	}
	as->slots = xrealloc(as->slots, (as->nslots + 1) * sizeof(*s));
	s = &as->slots[as->nslots];
	s->kind = kind;
	s->field = field;
	s->vfield = vfield;
	s->cset = cset;
	s->param = param;
	s->off = 0;             /* layout() places it */
	return as->nslots++;
}

static const struct fninfo *fn_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(fninfo) / sizeof(fninfo[0]); i++)
		if (strcmp(fninfo[i].name, name) == 0)
			return &fninfo[i];
	return NULL;
}

/* The parameters after FIELD: checks them, returns the slot parameter. */
static int fn_params(const struct fninfo *fi, const struct parsed *p,
    double *param, double *q, const char **err)
{
	size_t np = p->nargs > 2 ? p->nargs - 2 : 0;
	int64_t iv;

	*param = 0;
	*q = 0;
	switch (fi->fn) {
	case FN_APPROX_DISTINCT:
		*param = HLL_P_DEFAULT;
		if (np > 1)
			break;
		if (np == 1) {
			if (num_parse_i64(p->arg[2], HLL_P_MIN, HLL_P_MAX,
			    &iv) < 0) {
				*err = "P must be an integer from 4 to 18";
				return -1;
			}
			*param = (double)iv;
		}
		return 0;
	case FN_PERCENTILE:
		if (np < 1 || np > 2)
			break;
		if (num_parse_double(p->arg[2], q) < 0 || *q < 0 || *q > 1) {
			*err = "Q must be a number from 0 to 1";
			return -1;
		}
		*param = DDS_ALPHA_DEFAULT;
		if (np == 2 && (num_parse_double(p->arg[3], param) < 0 ||
		    *param < DDS_ALPHA_MIN || *param > DDS_ALPHA_MAX)) {
			*err = "ALPHA must be a number from 0.0001 to 0.5";
			return -1;
		}
		return 0;
	case FN_LAST_N:
		if (np != 1)
			break;
		if (num_parse_i64(p->arg[2], 1, LAST_N_MAX, &iv) < 0) {
			*err = "N must be an integer from 1 to 10000";
			return -1;
		}
		*param = (double)iv;
		return 0;
	case FN_MAX_BY:
	case FN_MIN_BY:
		if (np == 1 && p->arg[2][0] != '\0')
			return 0;       /* BY, a path */
		break;
	default:
		if (np == 0)
			return 0;
		break;
	}
	*err = NULL;            /* the caller shows the usage */
	return -1;
}

/* "SPEC: unknown function 'F'; one of: count, sum, ..." */
static void unknown_fn(const char *spec, const char *name, char *why)
{
	struct buf b = BUF_INIT;
	const char *f;

	for (size_t i = 0; (f = aggset_function(i)) != NULL; i++) {
		if (i)
			buf_appends(&b, ", ");
		buf_appends(&b, f);
	}
	snprintf(why, AGG_WHY_MAX, "%s: unknown function '%s'; one of: %s",
	    spec, name, b.data);
	buf_free(&b);
}

static int compile_one(struct aggset *as, const char *spec, char *why)
{
	const char *eq = strchr(spec, '='), *err = NULL;
	struct parsed p = { { NULL }, 0, NULL };
	const struct fninfo *fi;
	struct agg a = { NULL, FN_COUNT, 0, 0 };
	long field = -1, vfield = -1, cset = -1;
	double param;
	bool bad = false;

	if (eq == NULL || eq == spec || memchr(spec, ':', (size_t)(eq - spec))) {
		snprintf(why, AGG_WHY_MAX, "%s: expected "
		    "NAME=FUNC[:FIELD[:PARAM]][:if:COND]", spec);
		return -1;
	}
	a.name = xstrndup(spec, (size_t)(eq - spec));
	for (size_t i = 0; i < as->naggs; i++)
		if (strcmp(as->aggs[i].name, a.name) == 0)
			err = "the name is used twice";
	/* A result holding "@fs" would read as a control record (fs(7)). */
	if (strcmp(a.name, "@fs") == 0)
		err = "the name @fs is reserved";
	if (err == NULL && split_head(eq + 1, &p, &err) == 0) {
		fi = fn_lookup(p.arg[0]);
		if (fi == NULL) {
			unknown_fn(spec, p.arg[0], why);
			goto fail;
		} else if ((fi->field == F_REQUIRED && p.nargs < 2) ||
		    fn_params(fi, &p, &param, &a.q, &err) < 0) {
			if (err == NULL) {
				snprintf(why, AGG_WHY_MAX, "%s: usage: "
				    "NAME=%s[:if:COND]", spec, fi->usage);
				goto fail;
			}
		} else {
			if (p.nargs > 1)
				field = (long)field_index(as, p.arg[1], &bad);
			/* max_by, min_by: the slot's field is BY (the number
			 * compared), FIELD is the value kept */
			if (!bad && (fi->kind == K_MAXBY ||
			    fi->kind == K_MINBY)) {
				vfield = field;
				field = (long)field_index(as, p.arg[2], &bad);
			}
			if (bad)
				err = "invalid field";
			else if (p.cond)
				cset = cset_index(as, p.cond, &err);
			if (err == NULL) {
				a.fn = fi->fn;
				a.slot = slot_index(as, fi->kind, field,
				    vfield, cset, param);
			}
		}
	}
	if (err != NULL) {
		snprintf(why, AGG_WHY_MAX, "%s: %s", spec, err);
		goto fail;
	}
	parsed_free(&p);
	as->aggs = xrealloc(as->aggs, (as->naggs + 1) * sizeof(a));
	as->aggs[as->naggs++] = a;
	return 0;
fail:
	parsed_free(&p);
	free(a.name);
	return -1;
}

/* Places the slots in the state block: those of 8-byte alignment first
 * (every kind but min and max has a size that is a multiple of 8), then
 * the 4-aligned min and max; the block's size a multiple of 8, so that
 * blocks can follow one another in an array. */
static void layout(struct aggset *as)
{
	as->size = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < as->nslots; i++) {
			struct slot *s = &as->slots[i];
			bool ext = s->kind == K_MIN || s->kind == K_MAX;

			if (ext != (pass == 1))
				continue;
			s->off = as->size;
			as->size += kind_size(s->kind);
		}
	as->size = (as->size + 7) & ~(size_t)7;
}

struct aggset *aggset_compile(const char *const *specs, size_t n, char *why)
{
	struct aggset *as = xcalloc(1, sizeof(*as));
	struct buf sig = BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (compile_one(as, specs[i], why) < 0) {
			aggset_free(as);
			buf_free(&sig);
			return NULL;
		}
		if (i)
			buf_appendc(&sig, '\n');
		buf_appends(&sig, specs[i]);
	}
	if (n == 0) {
		snprintf(why, AGG_WHY_MAX, "no aggregates");
		aggset_free(as);
		return NULL;
	}
	layout(as);
	as->signature = xstrndup(sig.data, sig.len);
	buf_free(&sig);
	as->fv = xcalloc(as->nfields ? as->nfields : 1, sizeof(*as->fv));
	as->cs_ok = xcalloc(as->ncsets ? as->ncsets : 1, sizeof(bool));
	as->active = xcalloc(as->nslots, sizeof(bool));
	as->lazy = xcalloc(as->nfields ? as->nfields : 1, sizeof(bool));
	return as;
}
