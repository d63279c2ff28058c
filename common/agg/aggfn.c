/*
 * aggfn.c - compiled aggregate sets and their per-key states (aggfn.h).
 *
 * Compilation turns each spec into an aggregate (name, function) bound
 * to a slot: a piece of state at a fixed offset in the state block.
 * Aggregates that need the same state (same kind, field, condition and
 * parameter) share one slot.  Fields and condition sets are also shared,
 * so aggset_prepare() looks each field up once per record.
 *
 * Per record: aggset_prepare() reads every field, evaluates every
 * condition set and decides which slots the record reaches, checking
 * all values first so that an error leaves every state untouched; then
 * aggset_apply() adds the prepared values to a state, slot by slot.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "aggfn.h"
#include "buf.h"
#include "ddsketch.h"
#include "hll.h"
#include "num.h"
#include "path.h"
#include "xalloc.h"
#include "banned.h"

#define LAST_N_MAX 10000

enum fn {
	FN_COUNT, FN_SUM, FN_SUM0, FN_AVG, FN_MIN, FN_MAX, FN_FIRST, FN_LAST,
	FN_COUNT_DISTINCT, FN_APPROX_DISTINCT, FN_PERCENTILE, FN_VAR_SAMP,
	FN_VAR_POP, FN_STDDEV_SAMP, FN_STDDEV_POP, FN_LAST_N
};

/* Kinds of slot state.  Numeric kinds need numbers. */
enum kind {
	K_COUNT, K_SUM, K_MIN, K_MAX, K_MOMENTS, K_FIRST, K_LAST, K_DISTINCT,
	K_HLL, K_DDS, K_LASTN
};

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
};

static bool kind_numeric(enum kind k)
{
	return k == K_SUM || k == K_MIN || k == K_MAX || k == K_MOMENTS ||
	    k == K_DDS;
}

/* --- slot states ---------------------------------------------------- */

/* Integers add exactly in i until int64 would overflow; reals (and the
 * overflowed part) add in d with Neumaier's compensation c. */
struct s_sum {
	int64_t i;
	double d;
	double c;
	uint64_t n;             /* count, with the two flags below */
};
#define SUM_REAL (UINT64_C(1) << 63)    /* a real was added */
#define SUM_OVF  (UINT64_C(1) << 62)    /* integers overflowed int64 */
#define SUM_FLAGS (SUM_REAL | SUM_OVF)

enum { EXT_NONE, EXT_INT, EXT_REAL };

struct s_ext {                  /* min or max */
	union {
		int64_t i;
		double d;
	} u;
	uint64_t tag;
};

struct s_mom {                  /* Welford; merged as Chan et al. */
	uint64_t n;
	double mean;
	double m2;
};

struct s_pick {                 /* first or last */
	int64_t ts;
	json_t *v;              /* NULL: no value yet */
};

struct lastn_item {
	int64_t ts;
	json_t *v;
};

struct lastn {
	uint32_t n, cap;
	struct lastn_item it[];  /* oldest first */
};

struct dent {
	uint64_t h;
	char *b;                /* NULL: empty entry */
	size_t len;
};

struct dset {                   /* exact distinct values, open addressing */
	size_t n, cap;
	size_t bytes;           /* value bytes held */
	struct dent *t;
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

/* --- the compiled set ----------------------------------------------- */

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct cond {
	size_t field;
	enum op op;
	char *text;             /* as written, for messages */
	char *lit;              /* the value, unescaped */
	size_t litlen;
	bool lit_num, lit_int;
	double lit_d;
	int64_t lit_i;
};

struct condset {
	char *text;
	struct cond *c;
	size_t n;
};

struct slot {
	enum kind kind;
	long field;             /* -1: none */
	long cset;              /* -1: unconditional */
	double param;           /* HLL p, DDSketch alpha, last_n N */
	size_t off;
};

struct agg {
	char *name;
	enum fn fn;
	size_t slot;
	double q;               /* percentile */
};

enum vtype { V_NONE, V_INT, V_REAL, V_OTHER };

/* One field of the prepared record. */
struct fval {
	const json_t *v;
	enum vtype type;
	int64_t i;
	double d;               /* the number, for V_INT too */
	bool canon_done;
	struct buf canon;       /* canonical bytes (distinct counting) */
	uint64_t hash;
};

struct aggset {
	struct agg *aggs;
	size_t naggs;
	struct slot *slots;
	size_t nslots;
	struct path *fields;
	size_t nfields;
	size_t *field_spec;     /* the first spec naming each field */
	struct condset *csets;
	size_t ncsets;
	size_t size;
	char *signature;
	/* aggset_prepare()'s scratch */
	struct fval *fv;
	bool *cs_ok;
	bool *active;
	char why[AGG_WHY_MAX];
};

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

const char *aggset_function(size_t i)
{
	return i < sizeof(fninfo) / sizeof(fninfo[0]) ? fninfo[i].name : NULL;
}

const char *aggset_large(const struct aggset *as)
{
	for (size_t i = 0; i < as->naggs; i++) {
		enum kind k = as->slots[as->aggs[i].slot].kind;

		if (k == K_DISTINCT || k == K_HLL || k == K_DDS || k == K_LASTN)
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
	free(as);
}

/* --- compiling specs ------------------------------------------------ */

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

/* Parses one "PATH OP VALUE" (raw, escapes still in) into c. */
static int parse_cond(struct aggset *as, const char *s, size_t len,
    struct cond *c, const char **err)
{
	size_t k = 0, vstart;
	struct buf lit = BUF_INIT;
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
	vstart = k + 1;
	switch (s[k]) {
	case '=':
		c->op = OP_EQ;
		break;
	case '!':
		if (k + 1 >= len || s[k + 1] != '=') {
			*err = "'!' must be followed by '='";
			return -1;
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
	for (size_t i = vstart; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == '&' || s[i + 1] == '\\'))
			i++;
		buf_appendc(&lit, s[i]);
	}
	c->litlen = lit.len;
	c->lit = xstrndup(lit.data ? lit.data : "", lit.len);
	buf_reset(&lit);
	c->text = xstrndup(s, len);
	c->lit_num = num_parse_double(c->lit, &c->lit_d) == 0;
	c->lit_int = num_parse_i64(c->lit, INT64_MIN, INT64_MAX,
	    &c->lit_i) == 0;
	if (c->op != OP_EQ && c->op != OP_NE && !c->lit_num) {
		buf_free(&lit);
		*err = "< <= > >= need a number";
		return -1;
	}
	/* The path as in FIELD: "\:" is ':', other escapes are path.h's. */
	for (size_t i = 0; i < k; i++) {
		if (s[i] == '\\' && i + 1 < k && s[i + 1] == ':')
			i++;
		else if (s[i] == '\\' && i + 1 < k)
			buf_appendc(&lit, s[i++]);
		buf_appendc(&lit, s[i]);
	}
	path = xstrndup(lit.data ? lit.data : "", lit.len);
	buf_free(&lit);
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
    long cset, double param)
{
	struct slot *s;

	for (size_t i = 0; i < as->nslots; i++) {
		s = &as->slots[i];
		if (s->kind == kind && s->field == field && s->cset == cset &&
		    s->param == param)
			return i;
	}
	as->slots = xrealloc(as->slots, (as->nslots + 1) * sizeof(*s));
	s = &as->slots[as->nslots];
	s->kind = kind;
	s->field = field;
	s->cset = cset;
	s->param = param;
	s->off = as->size;
	as->size += kind_size(kind);
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
	long field = -1, cset = -1;
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
			if (bad)
				err = "invalid field";
			else if (p.cond)
				cset = cset_index(as, p.cond, &err);
			if (err == NULL) {
				a.fn = fi->fn;
				a.slot = slot_index(as, fi->kind, field, cset,
				    param);
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
	as->signature = xstrndup(sig.data, sig.len);
	buf_free(&sig);
	as->fv = xcalloc(as->nfields ? as->nfields : 1, sizeof(*as->fv));
	as->cs_ok = xcalloc(as->ncsets ? as->ncsets : 1, sizeof(bool));
	as->active = xcalloc(as->nslots, sizeof(bool));
	return as;
}

/* --- reading a record ----------------------------------------------- */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "number";
	}
}

static void read_field(struct fval *f, const json_t *v)
{
	f->canon_done = false;
	if (v == NULL || json_is_null(v)) {
		f->v = NULL;
		f->type = V_NONE;
		return;
	}
	f->v = v;
	if (json_is_integer(v)) {
		f->type = V_INT;
		f->i = json_integer_value(v);
		f->d = (double)f->i;
	} else if (json_is_real(v)) {
		f->type = V_REAL;
		f->d = json_real_value(v);
	} else {
		f->type = V_OTHER;
	}
}

/* Compares the number in f with c's numeric literal: -1, 0 or 1. */
static int cmp_lit(const struct fval *f, const struct cond *c)
{
	long double a, b;

	if (f->type == V_INT && c->lit_int)
		return (f->i > c->lit_i) - (f->i < c->lit_i);
	a = f->type == V_INT ? (long double)f->i : (long double)f->d;
	b = c->lit_d;
	return (a > b) - (a < b);
}

/* = by the record value's type (see aggfn.h). */
static bool lit_equals(const struct fval *f, const struct cond *c)
{
	const json_t *v = f->v;

	if (f->type == V_INT || f->type == V_REAL)
		return c->lit_num && cmp_lit(f, c) == 0;
	if (json_is_string(v))
		return json_string_length(v) == c->litlen &&
		    memcmp(json_string_value(v), c->lit, c->litlen) == 0;
	if (json_is_true(v))
		return strcmp(c->lit, "true") == 0;
	if (json_is_false(v))
		return strcmp(c->lit, "false") == 0;
	return false;
}

/* Evaluates the conditions left to right, stopping at the first false. */
static int cset_eval(struct aggset *as, const struct condset *cs, bool *ok)
{
	*ok = false;
	for (size_t i = 0; i < cs->n; i++) {
		const struct cond *c = &cs->c[i];
		const struct fval *f = &as->fv[c->field];
		int r;

		if (f->type == V_NONE)
			return 0;
		if (c->op == OP_EQ || c->op == OP_NE) {
			if (lit_equals(f, c) != (c->op == OP_EQ))
				return 0;
			continue;
		}
		if (f->type == V_OTHER) {
			snprintf(as->why, sizeof(as->why), "condition '%s': "
			    "field '%s' is not a number: %s", c->text,
			    as->fields[c->field].text, type_name(f->v));
			return -1;
		}
		r = cmp_lit(f, c);
		if (!(c->op == OP_LT ? r < 0 : c->op == OP_LE ? r <= 0 :
		    c->op == OP_GT ? r > 0 : r >= 0))
			return 0;
	}
	*ok = true;
	return 0;
}

int aggset_prepare(struct aggset *as, const json_t *rec, const char **why)
{
	for (size_t i = 0; i < as->nfields; i++)
		read_field(&as->fv[i], path_get(&as->fields[i], rec));
	for (size_t i = 0; i < as->ncsets; i++)
		if (cset_eval(as, &as->csets[i], &as->cs_ok[i]) < 0) {
			*why = as->why;
			return -1;
		}
	for (size_t s = 0; s < as->nslots; s++) {
		const struct slot *sl = &as->slots[s];
		bool act = sl->cset < 0 || as->cs_ok[sl->cset];

		if (act && sl->field >= 0) {
			const struct fval *f = &as->fv[sl->field];

			if (f->type == V_NONE) {
				act = false;
			} else if (f->type == V_OTHER && kind_numeric(sl->kind)) {
				snprintf(as->why, sizeof(as->why), "field '%s' "
				    "is not a number: %s",
				    as->fields[sl->field].text, type_name(f->v));
				*why = as->why;
				return -1;
			}
		}
		as->active[s] = act;
	}
	return 0;
}

/*
 * The canonical bytes of a value for distinct counting: one type letter
 * and the value, so "1" (a string) and 1 differ, and a number has one
 * form whether written 1 or 1.0.  Computed once per field and record.
 */
static void canon(struct fval *f)
{
	struct buf *b = &f->canon;
	char t[32];
	char *dump;
	int n;

	if (f->canon_done)
		return;
	buf_reset(b);
	if (f->type == V_INT || (f->type == V_REAL && f->d == floor(f->d) &&
	    fabs(f->d) < 9.2e18)) {
		buf_appendc(b, 'i');
		buf_append_i64(b, f->type == V_INT ? f->i : (int64_t)f->d);
	} else if (f->type == V_REAL) {
		n = snprintf(t, sizeof(t), "r%.17g", f->d);
		buf_append(b, t, (size_t)n);
	} else if (json_is_string(f->v)) {
		buf_appendc(b, 's');
		buf_append(b, json_string_value(f->v), json_string_length(f->v));
	} else if (json_is_boolean(f->v)) {
		buf_appendc(b, json_is_true(f->v) ? 't' : 'f');
	} else {
		buf_appendc(b, 'j');
		dump = json_dumps(f->v, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
		if (dump)
			buf_appends(b, dump);
		free(dump);
	}
	f->hash = XXH3_64bits(b->data, b->len);
	f->canon_done = true;
}

/* --- slot operations ------------------------------------------------ */

/* Neumaier's compensated sum: *s + *c is the running total. */
static void comp_add(double *s, double *c, double x)
{
	double t = *s + x;

	if (fabs(*s) >= fabs(x))
		*c += (*s - t) + x;
	else
		*c += (x - t) + *s;
	*s = t;
}

static void sum_add_int(struct s_sum *s, int64_t v)
{
	int64_t r;

	if (__builtin_add_overflow(s->i, v, &r)) {
		comp_add(&s->d, &s->c, (double)s->i);
		s->i = v;
		s->n |= SUM_OVF;
	} else {
		s->i = r;
	}
}

static void sum_add(struct s_sum *s, const struct fval *f)
{
	if (f->type == V_INT) {
		sum_add_int(s, f->i);
	} else {
		comp_add(&s->d, &s->c, f->d);
		s->n |= SUM_REAL;
	}
	s->n++;
}

static void sum_merge(struct s_sum *d, const struct s_sum *s)
{
	sum_add_int(d, s->i);
	comp_add(&d->d, &d->c, s->d);
	comp_add(&d->d, &d->c, s->c);
	d->n = ((d->n & ~SUM_FLAGS) + (s->n & ~SUM_FLAGS)) |
	    ((d->n | s->n) & SUM_FLAGS);
}

static double sum_total(const struct s_sum *s)
{
	double t = s->d, c = s->c;

	comp_add(&t, &c, (double)s->i);
	return t + c;
}

/* Compares two present extremes: -1, 0 or 1. */
static int ext_cmp(const struct s_ext *a, const struct s_ext *b)
{
	long double x, y;

	if (a->tag == EXT_INT && b->tag == EXT_INT)
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	x = a->tag == EXT_INT ? (long double)a->u.i : (long double)a->u.d;
	y = b->tag == EXT_INT ? (long double)b->u.i : (long double)b->u.d;
	return (x > y) - (x < y);
}

/* Keeps v in e when e is empty or v is beyond it (dir 1: max, -1: min). */
static void ext_take(struct s_ext *e, const struct s_ext *v, int dir)
{
	if (v->tag != EXT_NONE &&
	    (e->tag == EXT_NONE || ext_cmp(v, e) * dir > 0))
		*e = *v;
}

static void ext_add(struct s_ext *e, const struct fval *f, int dir)
{
	struct s_ext v;

	if (f->type == V_INT) {
		v.u.i = f->i;
		v.tag = EXT_INT;
	} else {
		v.u.d = f->d;
		v.tag = EXT_REAL;
	}
	ext_take(e, &v, dir);
}

static void mom_add(struct s_mom *m, double x)
{
	double delta = x - m->mean;

	m->n++;
	m->mean += delta / (double)m->n;
	m->m2 += delta * (x - m->mean);
}

static void mom_merge(struct s_mom *d, const struct s_mom *s)
{
	double na = (double)d->n, nb = (double)s->n, n, delta;

	if (s->n == 0)
		return;
	if (d->n == 0) {
		*d = *s;
		return;
	}
	n = na + nb;
	delta = s->mean - d->mean;
	d->mean += delta * nb / n;
	d->m2 += s->m2 + delta * delta * na * nb / n;
	d->n += s->n;
}

/* first (last false) keeps the earliest, last the latest by ts; on equal
 * ts the later call wins for last and loses for first. */
static void pick(struct s_pick *p, int64_t ts, const json_t *v, bool last)
{
	if (p->v == NULL || (last ? ts >= p->ts : ts < p->ts)) {
		json_t *nv = json_incref((json_t *)v);

		json_decref(p->v);
		p->v = nv;
		p->ts = ts;
	}
}

static void lastn_insert(struct lastn **pp, uint32_t max, int64_t ts,
    const json_t *v)
{
	struct lastn *l = *pp;
	uint32_t pos;

	if (l == NULL) {
		uint32_t cap = max < 4 ? max : 4;

		l = xmalloc(sizeof(*l) + cap * sizeof(l->it[0]));
		l->n = 0;
		l->cap = cap;
		*pp = l;
	}
	if (l->n == max && ts < l->it[0].ts)
		return;
	pos = l->n;
	while (pos > 0 && l->it[pos - 1].ts > ts)
		pos--;
	if (l->n == max) {
		/* Full: the oldest goes; pos >= 1 by the test above. */
		json_decref(l->it[0].v);
		memmove(&l->it[0], &l->it[1], (pos - 1) * sizeof(l->it[0]));
		pos--;
	} else {
		if (l->n == l->cap) {
			l->cap = l->cap * 2 < max ? l->cap * 2 : max;
			l = xrealloc(l, sizeof(*l) + l->cap * sizeof(l->it[0]));
			*pp = l;
		}
		memmove(&l->it[pos + 1], &l->it[pos],
		    (l->n - pos) * sizeof(l->it[0]));
		l->n++;
	}
	l->it[pos].ts = ts;
	l->it[pos].v = json_incref((json_t *)v);
}

static void lastn_free(struct lastn *l)
{
	if (l == NULL)
		return;
	for (uint32_t i = 0; i < l->n; i++)
		json_decref(l->it[i].v);
	free(l);
}

static struct dset *dset_new(size_t cap)
{
	struct dset *s = xcalloc(1, sizeof(*s));

	s->cap = cap;
	s->t = xcalloc(cap, sizeof(struct dent));
	return s;
}

static void dset_free(struct dset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->t[i].b);
	free(s->t);
	free(s);
}

static void dset_put(struct dset *s, struct dent e)
{
	size_t mask = s->cap - 1, i = e.h & mask;

	while (s->t[i].b != NULL)
		i = (i + 1) & mask;
	s->t[i] = e;
}

static void dset_insert(struct dset *s, uint64_t h, const char *b, size_t len)
{
	size_t mask = s->cap - 1, i = h & mask;
	struct dent e;

	for (; s->t[i].b != NULL; i = (i + 1) & mask)
		if (s->t[i].h == h && s->t[i].len == len &&
		    memcmp(s->t[i].b, b, len) == 0)
			return;
	if ((s->n + 1) * 10 > s->cap * 7) {
		struct dent *old = s->t;
		size_t oldcap = s->cap;

		s->cap *= 2;
		s->t = xcalloc(s->cap, sizeof(struct dent));
		for (size_t k = 0; k < oldcap; k++)
			if (old[k].b != NULL)
				dset_put(s, old[k]);
		free(old);
	}
	e.h = h;
	e.len = len;
	e.b = xmalloc(len ? len : 1);
	memcpy(e.b, b, len);
	dset_put(s, e);
	s->n++;
	s->bytes += len;
}

static void dset_merge(struct dset **dp, const struct dset *src)
{
	if (src == NULL)
		return;
	if (*dp == NULL)
		*dp = dset_new(8);
	for (size_t i = 0; i < src->cap; i++)
		if (src->t[i].b != NULL)
			dset_insert(*dp, src->t[i].h, src->t[i].b,
			    src->t[i].len);
}

/* --- states --------------------------------------------------------- */

void aggset_init(const struct aggset *as, void *state)
{
	/* Zero bytes are every slot's empty state. */
	memset(state, 0, as->size);
}

static void slot_apply(const struct slot *sl, void *p, struct fval *f,
    int64_t ts)
{
	void **pp = p;

	switch (sl->kind) {
	case K_COUNT:
		(*(uint64_t *)p)++;
		break;
	case K_SUM:
		sum_add(p, f);
		break;
	case K_MIN:
		ext_add(p, f, -1);
		break;
	case K_MAX:
		ext_add(p, f, 1);
		break;
	case K_MOMENTS:
		mom_add(p, f->d);
		break;
	case K_FIRST:
	case K_LAST:
		pick(p, ts, f->v, sl->kind == K_LAST);
		break;
	case K_DISTINCT:
		canon(f);
		if (*pp == NULL)
			*pp = dset_new(8);
		dset_insert(*pp, f->hash, f->canon.data, f->canon.len);
		break;
	case K_HLL:
		canon(f);
		if (*pp == NULL)
			*pp = hll_new((unsigned)sl->param);
		*pp = hll_add(*pp, f->hash);
		break;
	case K_DDS:
		if (*pp == NULL)
			*pp = dds_new(sl->param);
		dds_add(*pp, f->d);
		break;
	case K_LASTN:
		lastn_insert(p, (uint32_t)sl->param, ts, f->v);
		break;
	}
}

void aggset_apply(struct aggset *as, void *state, int64_t ts)
{
	char *base = state;

	for (size_t s = 0; s < as->nslots; s++) {
		const struct slot *sl = &as->slots[s];

		if (as->active[s])
			slot_apply(sl, base + sl->off,
			    sl->field >= 0 ? &as->fv[sl->field] : NULL, ts);
	}
}

int aggset_update(struct aggset *as, void *state, const json_t *rec,
    int64_t ts, const char **why)
{
	if (aggset_prepare(as, rec, why) < 0)
		return -1;
	aggset_apply(as, state, ts);
	return 0;
}

static void slot_merge(const struct slot *sl, void *d, const void *s)
{
	void **dp = d;
	void *const *sp = s;
	const struct s_pick *sk = s;

	switch (sl->kind) {
	case K_COUNT:
		*(uint64_t *)d += *(const uint64_t *)s;
		break;
	case K_SUM:
		sum_merge(d, s);
		break;
	case K_MIN:
		ext_take(d, s, -1);
		break;
	case K_MAX:
		ext_take(d, s, 1);
		break;
	case K_MOMENTS:
		mom_merge(d, s);
		break;
	case K_FIRST:
	case K_LAST:
		if (sk->v != NULL)
			pick(d, sk->ts, sk->v, sl->kind == K_LAST);
		break;
	case K_DISTINCT:
		dset_merge((struct dset **)dp, *sp);
		break;
	case K_HLL:
		if (*sp == NULL)
			break;
		if (*dp == NULL)
			*dp = hll_new((unsigned)sl->param);
		*dp = hll_merge(*dp, *sp);
		break;
	case K_DDS:
		if (*sp == NULL)
			break;
		if (*dp == NULL)
			*dp = dds_new(sl->param);
		dds_merge(*dp, *sp);
		break;
	case K_LASTN:
		if (*sp == NULL)
			break;
		for (uint32_t i = 0; i < ((const struct lastn *)*sp)->n; i++) {
			const struct lastn_item *it =
			    &((const struct lastn *)*sp)->it[i];

			lastn_insert((struct lastn **)dp, (uint32_t)sl->param,
			    it->ts, it->v);
		}
		break;
	}
}

void aggset_merge(const struct aggset *as, void *dst, const void *src)
{
	for (size_t s = 0; s < as->nslots; s++)
		slot_merge(&as->slots[s], (char *)dst + as->slots[s].off,
		    (const char *)src + as->slots[s].off);
}

void aggset_free_state(const struct aggset *as, void *state)
{
	char *base = state;

	for (size_t s = 0; s < as->nslots; s++) {
		void *p = base + as->slots[s].off;
		void **pp = p;

		switch (as->slots[s].kind) {
		case K_FIRST:
		case K_LAST:
			json_decref(((struct s_pick *)p)->v);
			break;
		case K_DISTINCT:
			dset_free(*pp);
			break;
		case K_HLL:
			hll_free(*pp);
			break;
		case K_DDS:
			dds_free(*pp);
			break;
		case K_LASTN:
			lastn_free(*pp);
			break;
		default:
			break;
		}
	}
}

/* A rough size of a kept JSON value (jansson's allocation included). */
static size_t value_bytes(const json_t *v)
{
	if (json_is_string(v))
		return 48 + json_string_length(v);
	return json_is_object(v) || json_is_array(v) ? 128 : 32;
}

size_t aggset_state_bytes(const struct aggset *as, const void *state)
{
	const char *base = state;
	size_t n = as->size;

	for (size_t s = 0; s < as->nslots; s++) {
		const void *p = base + as->slots[s].off;
		const void *ptr = *(void *const *)p;

		switch (as->slots[s].kind) {
		case K_FIRST:
		case K_LAST:
			if (((const struct s_pick *)p)->v)
				n += value_bytes(((const struct s_pick *)p)->v);
			break;
		case K_DISTINCT:
			if (ptr) {
				const struct dset *d = ptr;

				n += sizeof(*d) + d->cap * sizeof(struct dent) +
				    d->bytes + d->n * 16;
			}
			break;
		case K_HLL:
			if (ptr)
				n += hll_bytes(ptr);
			break;
		case K_DDS:
			if (ptr)
				n += dds_bytes(ptr);
			break;
		case K_LASTN:
			if (ptr) {
				const struct lastn *l = ptr;

				n += sizeof(*l) + l->cap * sizeof(l->it[0]);
				for (uint32_t i = 0; i < l->n; i++)
					n += value_bytes(l->it[i].v);
			}
			break;
		default:
			break;
		}
	}
	return n;
}

/* --- results -------------------------------------------------------- */

static json_t *real_or_null(double d)
{
	return isfinite(d) ? json_real(d) : json_null();
}

static json_t *ext_json(const struct s_ext *e)
{
	if (e->tag == EXT_INT)
		return json_integer(e->u.i);
	if (e->tag == EXT_REAL)
		return json_real(e->u.d);
	return json_null();
}

static json_t *sum_result(const struct s_sum *s, enum fn fn)
{
	uint64_t n = s->n & ~SUM_FLAGS;

	if (n == 0)
		return fn == FN_SUM0 ? json_integer(0) : json_null();
	if (fn == FN_AVG)
		return real_or_null(s->n & SUM_FLAGS ?
		    sum_total(s) / (double)n :
		    (double)((long double)s->i / (long double)n));
	if (s->n & SUM_FLAGS)
		return real_or_null(sum_total(s));
	return json_integer(s->i);
}

static json_t *mom_result(const struct s_mom *m, enum fn fn)
{
	bool samp = fn == FN_VAR_SAMP || fn == FN_STDDEV_SAMP;
	double var;

	if (m->n < (samp ? 2u : 1u))
		return json_null();
	var = m->m2 / (double)(samp ? m->n - 1 : m->n);
	if (var < 0)
		var = 0;        /* rounding */
	return real_or_null(fn == FN_STDDEV_SAMP || fn == FN_STDDEV_POP ?
	    sqrt(var) : var);
}

static json_t *agg_result(const struct aggset *as, const struct agg *a,
    const char *base)
{
	const void *p = base + as->slots[a->slot].off;
	const void *ptr = *(void *const *)p;
	const struct s_pick *pk = p;
	const struct lastn *l = ptr;
	json_t *arr;

	switch (a->fn) {
	case FN_COUNT:
		return json_integer((json_int_t)*(const uint64_t *)p);
	case FN_SUM:
	case FN_SUM0:
	case FN_AVG:
		return sum_result(p, a->fn);
	case FN_MIN:
	case FN_MAX:
		return ext_json(p);
	case FN_FIRST:
	case FN_LAST:
		return pk->v ? json_incref(pk->v) : json_null();
	case FN_COUNT_DISTINCT:
		return json_integer(ptr ?
		    (json_int_t)((const struct dset *)ptr)->n : 0);
	case FN_APPROX_DISTINCT:
		return json_integer(ptr ? (json_int_t)llround(hll_estimate(ptr)) :
		    0);
	case FN_PERCENTILE:
		return ptr ? real_or_null(dds_quantile(ptr, a->q)) :
		    json_null();
	case FN_VAR_SAMP:
	case FN_VAR_POP:
	case FN_STDDEV_SAMP:
	case FN_STDDEV_POP:
		return mom_result(p, a->fn);
	case FN_LAST_N:
		arr = json_array();
		for (uint32_t i = 0; l && i < l->n; i++)
			json_array_append(arr, l->it[i].v);
		return arr;
	}
	return json_null();
}

void aggset_result(const struct aggset *as, const void *state, json_t *out)
{
	for (size_t i = 0; i < as->naggs; i++)
		json_object_set_new(out, as->aggs[i].name,
		    agg_result(as, &as->aggs[i], state));
}

/* --- checkpoints ---------------------------------------------------- */

/*
 * A state is a JSON array with one element per slot, in slot order:
 *   count      N
 *   sum        [N, FLAGS, I, D, C]    FLAGS: 1 real seen, 2 overflowed
 *   min, max   null or the number
 *   moments    [N, MEAN, M2]
 *   first/last null or [TS, VALUE]
 *   distinct   null or [CANONICAL, ...]
 *   hll        null or hll_to_json()
 *   ddsketch   null or dds_to_json()
 *   last_n     null or [[TS, VALUE], ...] oldest first
 * Non-finite reals (only a sum can overflow to one) are "inf", "-inf".
 */

static json_t *dbl_json(double d)
{
	if (isfinite(d))
		return json_real(d);
	return json_string(isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
}

static int json_dbl(const json_t *j, double *d)
{
	const char *s = json_string_value(j);

	if (json_is_number(j))
		*d = json_number_value(j);
	else if (s && strcmp(s, "inf") == 0)
		*d = INFINITY;
	else if (s && strcmp(s, "-inf") == 0)
		*d = -INFINITY;
	else if (s && strcmp(s, "nan") == 0)
		*d = NAN;
	else
		return -1;
	return 0;
}

static json_t *slot_snapshot(const struct slot *sl, const void *p)
{
	const void *ptr = *(void *const *)p;
	const struct s_sum *sm = p;
	const struct s_mom *mo = p;
	const struct s_pick *pk = p;
	const struct dset *ds = ptr;
	const struct lastn *l = ptr;
	json_t *a;

	switch (sl->kind) {
	case K_COUNT:
		return json_integer((json_int_t)*(const uint64_t *)p);
	case K_SUM:
		return json_pack("[I,i,I,o,o]",
		    (json_int_t)(sm->n & ~SUM_FLAGS),
		    (int)((sm->n & SUM_REAL ? 1 : 0) | (sm->n & SUM_OVF ? 2 : 0)),
		    (json_int_t)sm->i, dbl_json(sm->d), dbl_json(sm->c));
	case K_MIN:
	case K_MAX:
		return ext_json(p);
	case K_MOMENTS:
		return json_pack("[I,o,o]", (json_int_t)mo->n,
		    dbl_json(mo->mean), dbl_json(mo->m2));
	case K_FIRST:
	case K_LAST:
		return pk->v ? json_pack("[I,O]", (json_int_t)pk->ts, pk->v) :
		    json_null();
	case K_DISTINCT:
		if (ds == NULL)
			return json_null();
		a = json_array();
		for (size_t i = 0; i < ds->cap; i++)
			if (ds->t[i].b != NULL)
				json_array_append_new(a,
				    json_stringn(ds->t[i].b, ds->t[i].len));
		return a;
	case K_HLL:
		return ptr ? hll_to_json(ptr) : json_null();
	case K_DDS:
		return ptr ? dds_to_json(ptr) : json_null();
	case K_LASTN:
		if (l == NULL)
			return json_null();
		a = json_array();
		for (uint32_t i = 0; i < l->n; i++)
			json_array_append_new(a, json_pack("[I,O]",
			    (json_int_t)l->it[i].ts, l->it[i].v));
		return a;
	}
	return json_null();
}

json_t *aggset_snapshot(const struct aggset *as, const void *state)
{
	json_t *a = json_array();

	for (size_t s = 0; s < as->nslots; s++)
		json_array_append_new(a, slot_snapshot(&as->slots[s],
		    (const char *)state + as->slots[s].off));
	return a;
}

/* [TS, VALUE] with a non-null VALUE: 0, else -1. */
static int ts_value(const json_t *j, int64_t *ts, const json_t **v)
{
	if (!json_is_array(j) || json_array_size(j) != 2 ||
	    !json_is_integer(json_array_get(j, 0)) ||
	    json_is_null(json_array_get(j, 1)))
		return -1;
	*ts = json_integer_value(json_array_get(j, 0));
	*v = json_array_get(j, 1);
	return 0;
}

static int restore_sum(struct s_sum *s, const json_t *j)
{
	json_int_t n, flags;

	if (!json_is_array(j) || json_array_size(j) != 5 ||
	    !json_is_integer(json_array_get(j, 0)) ||
	    !json_is_integer(json_array_get(j, 1)) ||
	    !json_is_integer(json_array_get(j, 2)) ||
	    json_dbl(json_array_get(j, 3), &s->d) < 0 ||
	    json_dbl(json_array_get(j, 4), &s->c) < 0)
		return -1;
	n = json_integer_value(json_array_get(j, 0));
	flags = json_integer_value(json_array_get(j, 1));
	if (n < 0 || flags < 0 || flags > 3)
		return -1;
	s->i = json_integer_value(json_array_get(j, 2));
	s->n = (uint64_t)n | (flags & 1 ? SUM_REAL : 0) |
	    (flags & 2 ? SUM_OVF : 0);
	return 0;
}

static int restore_ext(struct s_ext *e, const json_t *j)
{
	if (json_is_integer(j)) {
		e->u.i = json_integer_value(j);
		e->tag = EXT_INT;
	} else if (json_is_real(j)) {
		e->u.d = json_real_value(j);
		e->tag = EXT_REAL;
	} else if (!json_is_null(j)) {
		return -1;
	}
	return 0;
}

static int restore_distinct(struct dset **dp, const json_t *j)
{
	size_t i;
	const json_t *e;

	*dp = dset_new(8);
	json_array_foreach(j, i, e) {
		const char *b = json_string_value(e);
		size_t len = json_string_length(e);

		if (b == NULL)
			return -1;
		dset_insert(*dp, XXH3_64bits(b, len), b, len);
	}
	return 0;
}

static int restore_lastn(struct lastn **lp, uint32_t max, const json_t *j)
{
	size_t i;
	const json_t *e, *v;
	int64_t ts;

	if (json_array_size(j) > max)
		return -1;
	json_array_foreach(j, i, e) {
		if (ts_value(e, &ts, &v) < 0)
			return -1;
		lastn_insert(lp, max, ts, v);
	}
	return 0;
}

static int slot_restore(const struct slot *sl, void *p, const json_t *j,
    const char **why)
{
	void **pp = p;
	struct s_mom *mo = p;
	struct s_pick *pk = p;
	const json_t *v;
	int r = 0;

	if (json_is_null(j) && sl->kind != K_COUNT && sl->kind != K_SUM &&
	    sl->kind != K_MOMENTS)
		return 0;       /* empty */
	switch (sl->kind) {
	case K_COUNT:
		r = json_is_integer(j) && json_integer_value(j) >= 0 ? 0 : -1;
		if (r == 0)
			*(uint64_t *)p = (uint64_t)json_integer_value(j);
		break;
	case K_SUM:
		r = restore_sum(p, j);
		break;
	case K_MIN:
	case K_MAX:
		r = restore_ext(p, j);
		break;
	case K_MOMENTS:
		r = json_is_array(j) && json_array_size(j) == 3 &&
		    json_is_integer(json_array_get(j, 0)) &&
		    json_integer_value(json_array_get(j, 0)) >= 0 &&
		    json_dbl(json_array_get(j, 1), &mo->mean) == 0 &&
		    json_dbl(json_array_get(j, 2), &mo->m2) == 0 ? 0 : -1;
		if (r == 0)
			mo->n = (uint64_t)json_integer_value(json_array_get(j, 0));
		break;
	case K_FIRST:
	case K_LAST:
		r = ts_value(j, &pk->ts, &v);
		if (r == 0)
			pk->v = json_incref((json_t *)v);
		break;
	case K_DISTINCT:
		r = json_is_array(j) ? restore_distinct(p, j) : -1;
		break;
	case K_HLL:
		*pp = hll_from_json(j, (unsigned)sl->param, why);
		return *pp ? 0 : -1;
	case K_DDS:
		*pp = dds_from_json(j, sl->param, why);
		return *pp ? 0 : -1;
	case K_LASTN:
		r = json_is_array(j) ? restore_lastn(p, (uint32_t)sl->param, j) :
		    -1;
		break;
	}
	if (r < 0)
		*why = "aggregate state: a slot does not match its aggregate";
	return r;
}

int aggset_restore(const struct aggset *as, void *state, const json_t *snap,
    const char **why)
{
	char *base = state;

	aggset_init(as, state);
	if (!json_is_array(snap) || json_array_size(snap) != as->nslots) {
		*why = "aggregate state: not an array of the set's slots";
		return -1;
	}
	for (size_t s = 0; s < as->nslots; s++)
		if (slot_restore(&as->slots[s], base + as->slots[s].off,
		    json_array_get(snap, s), why) < 0) {
			aggset_free_state(as, state);
			aggset_init(as, state);
			return -1;
		}
	return 0;
}
