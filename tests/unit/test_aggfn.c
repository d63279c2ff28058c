/*
 * test_aggfn.c - the aggregate functions library (aggfn.h): spec
 * compilation and its errors, every aggregate's result against values
 * computed here independently, conditions, merging panes, checkpoints.
 * "test_aggfn --bench" runs a micro-benchmark instead (not a test).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/aggfn.h"
#include "agg/hll.h"
#include "buf.h"
#include "mpjson.h"
#include "path.h"
#include "banned.h"

static int tests, failed;

static void ok(int cond, const char *name)
{
	tests++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests, name);
}

static void is(const char *got, const char *want, const char *name)
{
	int same = got && strcmp(got, want) == 0;

	ok(same, name);
	if (!same)
		printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)", want);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Compiles the specs, aborting the test program when that fails. */
static struct aggset *compile(const char *const *specs, size_t n)
{
	char why[AGG_WHY_MAX];
	struct aggset *as = aggset_compile(specs, n, why);

	if (as == NULL) {
		printf("Bail out! compile: %s\n", why);
		exit(1);
	}
	return as;
}
#define COMPILE(...) compile((const char *const[]){ __VA_ARGS__ }, \
    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

static void *new_state(const struct aggset *as)
{
	void *st = aligned_alloc(8, aggset_state_size(as));

	aggset_init(as, st);
	return st;
}

static void drop_state(const struct aggset *as, void *st)
{
	aggset_free_state(as, st);
	free(st);
}

/* Updates st with a record written as JSON text; returns the result of
 * aggset_update, and its reason in why (may be NULL). */
static int upd(struct aggset *as, void *st, const char *text, int64_t ts,
    const char **why)
{
	json_t *rec = json_loads(text, 0, NULL);
	const char *w = NULL;
	int r;

	if (rec == NULL) {
		printf("Bail out! bad test JSON: %s\n", text);
		exit(1);
	}
	r = aggset_update(as, st, rec, ts, &w);
	json_decref(rec);
	if (why)
		*why = w;
	return r;
}

/* The result object as compact JSON (caller frees). */
static char *result(const struct aggset *as, const void *st)
{
	json_t *o = json_object();
	char *s;

	aggset_result(as, st, o);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void is_result(const struct aggset *as, const void *st,
    const char *want, const char *name)
{
	char *got = result(as, st);

	is(got, want, name);
	free(got);
}

static void compile_error(const char *spec, const char *want)
{
	char why[AGG_WHY_MAX], name[300];
	const char *specs[] = { spec };
	struct aggset *as = aggset_compile(specs, 1, why);

	snprintf(name, sizeof(name), "compile error for '%s'", spec);
	is(as ? "(compiled)" : why, want, name);
	aggset_free(as);
}

static void test_compile_errors(void)
{
	char why[AGG_WHY_MAX];
	const char *dup[] = { "n=count", "n=sum:x" };

	compile_error("count", "count: expected "
	    "NAME=FUNC[:FIELD[:PARAM]][:if:COND]");
	compile_error("count:if:type=buy", "count:if:type=buy"
	    ": expected NAME=FUNC[:FIELD[:PARAM]][:if:COND]");
	compile_error("x=median:amount", "x=median:amount: unknown function "
	    "'median'; one of: count, sum, sum0, avg, min, max, first, last, "
	    "count_distinct, approx_count_distinct, percentile, variance, "
	    "var_samp, var_pop, stddev, stddev_samp, stddev_pop, last_n, "
	    "max_by, min_by");
	compile_error("x=sum", "x=sum: usage: "
	    "NAME=sum:FIELD[:if:COND]");
	compile_error("x=sum:a:b", "x=sum:a:b: usage: "
	    "NAME=sum:FIELD[:if:COND]");
	compile_error("x=sum:", "x=sum:: invalid field");
	compile_error("p=percentile:amount", "p=percentile:amount: usage: "
	    "NAME=percentile:FIELD:Q[:ALPHA][:if:COND]");
	compile_error("p=percentile:amount:1.5", "p=percentile:amount:1.5: "
	    "Q must be a number from 0 to 1");
	compile_error("p=percentile:amount:0.5:0.9",
	    "p=percentile:amount:0.5:0.9: ALPHA must be a number from "
	    "0.0001 to 0.5");
	compile_error("d=approx_count_distinct:u:20",
	    "d=approx_count_distinct:u:20: P must be an integer from 4 to 18");
	compile_error("l=last_n:item:0", "l=last_n:item:0: "
	    "N must be an integer from 1 to 10000");
	compile_error("l=last_n:item", "l=last_n:item: usage: "
	    "NAME=last_n:FIELD:N[:if:COND]");
	compile_error("t=max_by:item", "t=max_by:item: usage: "
	    "NAME=max_by:FIELD:BY[:if:COND]");
	compile_error("t=min_by:item:", "t=min_by:item:: usage: "
	    "NAME=min_by:FIELD:BY[:if:COND]");
	compile_error("t=max_by:item:p:3", "t=max_by:item:p:3: usage: "
	    "NAME=max_by:FIELD:BY[:if:COND]");
	compile_error("n=count:if:", "n=count:if:: "
	    "a condition is needed after 'if:'");
	compile_error("n=count:if:type", "n=count:if:type: "
	    "a condition needs one of = != < <= > >=");
	compile_error("n=count:if:=buy", "n=count:if:=buy: "
	    "a condition needs a field before its operator");
	compile_error("n=count:if:amount>ten", "n=count:if:amount>ten: "
	    "< <= > >= need a number");
	compile_error("n=count:if:a!b", "n=count:if:a!b: "
	    "'!' must be followed by '='");
	compile_error("@fs=count", "@fs=count: "
	    "the name @fs is reserved");
	compile_error("n=count:a:b:c:d:e",
	    "n=count:a:b:c:d:e: too many ':' arguments");
	ok(aggset_compile(dup, 2, why) == NULL && strcmp(why,
	    "n=sum:x: the name is used twice") == 0,
	    "an output name used twice is refused");
	ok(aggset_compile(dup, 0, why) == NULL && strcmp(why,
	    "no aggregates") == 0, "an empty set is refused");
}

/* Each field read, with the spec that first named it (fieldseen.h's
 * messages), conditions included. */
static void test_field_spec(void)
{
	struct aggset *as = COMPILE("n=count", "s=sum:amount",
	    "a=avg:amount", "c=count:if:evnt=click&amount>1", "u=last:user");
	const struct path *f;
	size_t n;

	f = aggset_fields(as, &n);
	ok(n == 3, "three distinct fields read");
	is(f[0].text, "amount", "the first field");
	ok(aggset_field_spec(as, 0) == 1, "amount comes from spec 1");
	is(f[1].text, "evnt", "a condition's field");
	ok(aggset_field_spec(as, 1) == 3, "evnt comes from spec 3");
	is(f[2].text, "user", "the last field");
	ok(aggset_field_spec(as, 2) == 4, "user comes from spec 4");
	is(aggset_function(0), "count", "functions listed from count");
	ok(aggset_function(19) != NULL && aggset_function(20) == NULL,
	    "twenty function names");
	aggset_free(as);
}

static void test_layout(void)
{
	struct aggset *as = COMPILE("n=count", "s=sum:amount",
	    "a=avg:amount", "lo=min:amount", "hi=max:amount");
	struct aggset *q = COMPILE("p50=percentile:x:0.5",
	    "p95=percentile:x:0.95", "p99=percentile:x:0.99:0.001");
	char name[120];

	snprintf(name, sizeof(name), "count,sum,avg,min,max of one field "
	    "take %zu bytes per state (count 8, sum 32, min and max 12 each)",
	    aggset_state_size(as));
	ok(aggset_state_size(as) == 64, name);
	ok(aggset_count(as) == 5 && strcmp(aggset_name(as, 2), "a") == 0,
	    "names are listed in spec order");
	is(aggset_signature(as), "n=count\ns=sum:amount\na=avg:amount\n"
	    "lo=min:amount\nhi=max:amount", "the signature is the spec list");
	ok(aggset_state_size(q) == 16,
	    "percentiles with one alpha share a sketch; another alpha has "
	    "its own");
	aggset_free(as);
	aggset_free(q);
}

static void test_basic(void)
{
	struct aggset *as = COMPILE("n=count", "s=sum:amount",
	    "a=avg:amount", "lo=min:amount", "hi=max:amount",
	    "nz=count:amount", "s0=sum0:amount");
	void *st = new_state(as);

	is_result(as, st, "{\"n\":0,\"s\":null,\"a\":null,\"lo\":null,"
	    "\"hi\":null,\"nz\":0,\"s0\":0}", "an empty state: count 0, "
	    "sum null, sum0 0, the rest null");
	upd(as, st, "{\"amount\":5}", 1, NULL);
	upd(as, st, "{\"amount\":-3}", 2, NULL);
	upd(as, st, "{\"amount\":10}", 3, NULL);
	upd(as, st, "{\"other\":1}", 4, NULL);
	upd(as, st, "{\"amount\":null}", 5, NULL);
	is_result(as, st, "{\"n\":5,\"s\":12,\"a\":4.0,\"lo\":-3,\"hi\":10,"
	    "\"nz\":3,\"s0\":12}", "integers: sum stays an integer, missing "
	    "and null values are skipped but counted by count");
	upd(as, st, "{\"amount\":0.5}", 6, NULL);
	is_result(as, st, "{\"n\":6,\"s\":12.5,\"a\":3.125,\"lo\":-3,"
	    "\"hi\":10,\"nz\":4,\"s0\":12.5}",
	    "a real makes sum and avg real; min and max keep integers");
	upd(as, st, "{\"amount\":-3.5}", 7, NULL);
	upd(as, st, "{\"amount\":10.0}", 8, NULL);
	is_result(as, st, "{\"n\":8,\"s\":19.0,\"a\":3.1666666666666665,\"lo\":-3.5,"
	    "\"hi\":10,\"nz\":6,\"s0\":19.0}",
	    "min takes -3.5 over -3; max keeps the first of 10 and 10.0");
	drop_state(as, st);
	aggset_free(as);
}

static void test_sum_precision(void)
{
	struct aggset *as = COMPILE("s=sum:v", "a=avg:v");
	void *st = new_state(as);
	char *r;

	upd(as, st, "{\"v\":9223372036854775807}", 1, NULL);
	upd(as, st, "{\"v\":9223372036854775807}", 2, NULL);
	upd(as, st, "{\"v\":-9223372036854775807}", 3, NULL);
	r = result(as, st);
	is(r, "{\"s\":9.2233720368547758e18,\"a\":3.0744573456182584e18}",
	    "an int64 overflow turns the sum into a real, not a wrapped "
	    "integer");
	free(r);
	drop_state(as, st);
	st = new_state(as);
	for (int i = 0; i < 1000000; i++)
		upd(as, st, "{\"v\":0.1}", i, NULL);
	r = result(as, st);
	/* jansson prints reals with 17 digits: 0.1 is 0.10000000000000001. */
	is(r, "{\"s\":100000.0,\"a\":0.10000000000000001}",
	    "a million times 0.1 sums to 100000.0 (compensated summation)");
	free(r);
	drop_state(as, st);
	aggset_free(as);
}

static void test_errors(void)
{
	struct aggset *as = COMPILE("n=count", "s=sum:amount",
	    "u=count_distinct:amount", "big=count:if:amount>100",
	    "b=sum:price:if:type=buy");
	void *st = new_state(as);
	const char *why = NULL;
	json_t *before, *after;

	upd(as, st, "{\"amount\":1,\"type\":\"buy\",\"price\":2}", 1, NULL);
	before = aggset_snapshot(as, st);
	ok(upd(as, st, "{\"amount\":\"12\"}", 2, &why) == -1,
	    "a string where sum needs a number is an error");
	is(why, "condition 'amount>100': field 'amount' is not a number: "
	    "string", "the reason names the condition, the field and the "
	    "type (conditions are checked first)");
	after = aggset_snapshot(as, st);
	ok(json_equal(before, after),
	    "a record in error leaves every aggregate untouched");
	json_decref(after);
	ok(upd(as, st, "{\"amount\":true}", 2, &why) == -1 &&
	    strcmp(why, "condition 'amount>100': field 'amount' is not a "
	    "number: boolean") == 0,
	    "a comparison on a non-number is an error with the condition");
	ok(upd(as, st, "{\"amount\":3,\"type\":\"view\",\"price\":\"n/a\"}",
	    3, &why) == 0, "a non-number is fine where the condition is "
	    "false");
	ok(upd(as, st, "{\"amount\":3,\"type\":\"buy\",\"price\":[1]}",
	    3, &why) == -1 && strcmp(why, "field 'price' is not a number: "
	    "array") == 0, "where it holds, the same value is an error");
	is_result(as, st, "{\"n\":2,\"s\":4,\"u\":2,\"big\":0,\"b\":2}",
	    "after the errors, only the good records count");
	json_decref(before);
	drop_state(as, st);
	aggset_free(as);
}

static void test_conditions(void)
{
	struct aggset *as = COMPILE("buys=count:if:type=buy",
	    "notbuy=count:if:type!=buy",
	    "usd=sum:amount:if:currency=USD",
	    "big=count:if:amount>=100",
	    "small=count:if:amount<10",
	    "five=count:if:code=5",
	    "flag=count:if:vip=true",
	    "both=sum:amount:if:type=buy&amount>50",
	    "amp=count:if:brand=A\\&B",
	    "url=count:if:ref=http://x.example/a:b",
	    "nested=count:if:user.country=FR",
	    "neg=count:if:amount<=-1.5");
	void *st = new_state(as);

	upd(as, st, "{\"type\":\"buy\",\"amount\":120,\"currency\":\"USD\","
	    "\"code\":5,\"vip\":true}", 1, NULL);
	upd(as, st, "{\"type\":\"view\",\"amount\":5,\"currency\":\"EUR\","
	    "\"code\":\"5\",\"brand\":\"A&B\"}", 2, NULL);
	upd(as, st, "{\"type\":\"buy\",\"amount\":7.5,\"currency\":\"USD\","
	    "\"code\":5.0,\"vip\":false,\"ref\":\"http://x.example/a:b\"}",
	    3, NULL);
	upd(as, st, "{\"amount\":100,\"user\":{\"country\":\"FR\"},"
	    "\"code\":50}", 4, NULL);
	upd(as, st, "{\"type\":\"buy\",\"amount\":-2,\"code\":\"05\"}", 5,
	    NULL);
	is_result(as, st, "{\"buys\":3,\"notbuy\":1,\"usd\":127.5,\"big\":2,"
	    "\"small\":3,\"five\":3,\"flag\":1,\"both\":120,\"amp\":1,"
	    "\"url\":1,\"nested\":1,\"neg\":1}",
	    "= != < <= >= on strings, numbers (5 == 5.0 == \"5\", not "
	    "\"05\"), booleans, nested paths; & joins; \\& escapes; ':' in "
	    "a value; a missing field satisfies nothing, != included");
	drop_state(as, st);
	aggset_free(as);
}

static void test_field_escape(void)
{
	struct aggset *as = COMPILE("s=sum:a\\:b", "t=sum:x\\.y",
	    "c=count:if:a\\:b=2&x\\.y>2");
	void *st = new_state(as);

	upd(as, st, "{\"a:b\":2,\"x.y\":3,\"x\":{\"y\":100}}", 1, NULL);
	is_result(as, st, "{\"s\":2,\"t\":3,\"c\":1}",
	    "\\: and \\. name members whose names hold ':' and '.', in "
	    "fields and conditions");
	drop_state(as, st);
	aggset_free(as);
}

static void test_first_last(void)
{
	struct aggset *as = COMPILE("f=first:item", "l=last:item");
	void *st = new_state(as);

	is_result(as, st, "{\"f\":null,\"l\":null}", "first/last empty: null");
	upd(as, st, "{\"item\":\"b\"}", 200, NULL);
	upd(as, st, "{\"item\":\"a\"}", 100, NULL);
	upd(as, st, "{\"item\":\"d\"}", 400, NULL);
	upd(as, st, "{\"item\":\"c\"}", 300, NULL);
	upd(as, st, "{\"nothing\":1}", 500, NULL);
	is_result(as, st, "{\"f\":\"a\",\"l\":\"d\"}",
	    "first and last go by event time, not arrival");
	upd(as, st, "{\"item\":\"a2\"}", 100, NULL);
	upd(as, st, "{\"item\":{\"k\":[1,2]}}", 400, NULL);
	is_result(as, st, "{\"f\":\"a\",\"l\":{\"k\":[1,2]}}",
	    "ties: first keeps the earlier arrival, last takes the later; "
	    "any JSON value");
	drop_state(as, st);
	aggset_free(as);
}

static void test_last_n(void)
{
	struct aggset *as = COMPILE("l=last_n:item:3", "all=last_n:item:100");
	void *st = new_state(as);

	is_result(as, st, "{\"l\":[],\"all\":[]}", "last_n empty: []");
	upd(as, st, "{\"item\":1}", 10, NULL);
	upd(as, st, "{\"item\":2}", 20, NULL);
	is_result(as, st, "{\"l\":[1,2],\"all\":[1,2]}",
	    "fewer than N values: all of them, oldest first");
	upd(as, st, "{\"item\":4}", 40, NULL);
	upd(as, st, "{\"item\":3}", 30, NULL);
	upd(as, st, "{\"item\":0}", 5, NULL);
	upd(as, st, "{\"item\":\"x\"}", 40, NULL);
	is_result(as, st, "{\"l\":[3,4,\"x\"],\"all\":[0,1,2,3,4,\"x\"]}",
	    "the N latest by event time; too old is dropped; ties keep "
	    "arrival order");
	drop_state(as, st);
	aggset_free(as);
}

/* A snapshot of st, through text, restored into a new state. */
static void *round_trip(const struct aggset *as, const void *st)
{
	json_t *snap = aggset_snapshot(as, st), *back;
	char *text = json_dumps(snap, JSON_COMPACT);
	void *re = aligned_alloc(8, aggset_state_size(as));
	const char *why = NULL;

	back = json_loads(text, 0, NULL);
	if (aggset_restore(as, re, back, &why) < 0)
		printf("# restore: %s\n", why);
	json_decref(snap);
	json_decref(back);
	free(text);
	return re;
}

static void test_max_by(void)
{
	struct aggset *as = COMPILE("t=max_by:item:p", "b=min_by:item:p",
	    "r=max_by:rec:p:if:k=a");
	void *st = new_state(as), *pane = new_state(as), *re;
	const char *why = NULL;
	json_t *bad;

	is_result(as, st, "{\"t\":[],\"b\":[],\"r\":[]}",
	    "max_by, min_by empty: []");
	upd(as, st, "{\"item\":\"x\",\"p\":3}", 1, NULL);
	upd(as, st, "{\"item\":\"y\",\"p\":5,\"k\":\"a\","
	    "\"rec\":{\"id\":1}}", 2, NULL);
	upd(as, st, "{\"item\":\"z\",\"p\":5.0,\"k\":\"a\","
	    "\"rec\":{\"id\":2}}", 3, NULL);
	upd(as, st, "{\"item\":\"w\",\"p\":1}", 4, NULL);
	upd(as, st, "{\"item\":null,\"p\":9}", 5, NULL);
	upd(as, st, "{\"item\":\"v\"}", 6, NULL);
	upd(as, st, "{\"item\":\"u\",\"p\":0.5,\"k\":\"b\"}", 7, NULL);
	is_result(as, st, "{\"t\":[\"y\",\"z\"],\"b\":[\"u\"],"
	    "\"r\":[{\"id\":1},{\"id\":2}]}",
	    "max_by keeps every tie (5 == 5.0) in arrival order; a record "
	    "without FIELD or BY is skipped; min_by; objects as values");
	ok(upd(as, st, "{\"item\":\"q\",\"p\":\"7\"}", 8, &why) < 0 &&
	    strcmp(why, "field 'p' is not a number: string") == 0,
	    "max_by: a BY that is not a number is an error");
	upd(as, pane, "{\"item\":\"s\",\"p\":5}", 9, NULL);
	upd(as, pane, "{\"item\":\"m\",\"p\":-1}", 9, NULL);
	aggset_merge(as, st, pane);
	is_result(as, st, "{\"t\":[\"y\",\"z\",\"s\"],\"b\":[\"m\"],"
	    "\"r\":[{\"id\":1},{\"id\":2}]}",
	    "merge: an equal extreme joins, a beyond one replaces");
	re = round_trip(as, st);
	is_result(as, re, "{\"t\":[\"y\",\"z\",\"s\"],\"b\":[\"m\"],"
	    "\"r\":[{\"id\":1},{\"id\":2}]}",
	    "max_by, min_by: a checkpoint restores the ties");
	upd(as, re, "{\"item\":\"n\",\"p\":6}", 10, NULL);
	is_result(as, re, "{\"t\":[\"n\"],\"b\":[\"m\"],"
	    "\"r\":[{\"id\":1},{\"id\":2}]}",
	    "max_by: a restored state goes on comparing with its extreme");
	drop_state(as, re);
	bad = json_loads("[[5,[]],null,null]", 0, NULL);
	re = aligned_alloc(8, aggset_state_size(as));
	ok(aggset_restore(as, re, bad, &why) < 0,
	    "max_by: a snapshot without values is refused");
	free(re);
	json_decref(bad);
	drop_state(as, pane);
	drop_state(as, st);
	aggset_free(as);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void test_distinct(void)
{
	struct aggset *as = COMPILE("u=count_distinct:user",
	    "h=approx_count_distinct:user",
	    "h10=approx_count_distinct:user:10");
	void *st = new_state(as);
	char rec[100], name[200];
	json_t *o = json_object();
	double h, h10;
	size_t small;

	upd(as, st, "{\"user\":1}", 1, NULL);
	upd(as, st, "{\"user\":1.0}", 1, NULL);
	upd(as, st, "{\"user\":\"1\"}", 1, NULL);
	upd(as, st, "{\"user\":true}", 1, NULL);
	upd(as, st, "{\"user\":{\"b\":1,\"a\":2}}", 1, NULL);
	upd(as, st, "{\"user\":{\"a\":2,\"b\":1}}", 1, NULL);
	upd(as, st, "{\"user\":null}", 1, NULL);
	is_result(as, st, "{\"u\":4,\"h\":4,\"h10\":4}",
	    "distinct: 1 and 1.0 are one value, \"1\" another; objects by "
	    "content; null is skipped");
	small = aggset_state_bytes(as, st);
	rng_state = 5;
	for (int i = 0; i < 200000; i++) {
		snprintf(rec, sizeof(rec), "{\"user\":\"u%d\"}", i % 100000);
		upd(as, st, rec, i, NULL);
	}
	aggset_result(as, st, o);
	h = (double)json_integer_value(json_object_get(o, "h"));
	h10 = (double)json_integer_value(json_object_get(o, "h10"));
	ok(json_integer_value(json_object_get(o, "u")) == 100004,
	    "count_distinct is exact over 100004 values");
	snprintf(name, sizeof(name), "approx_count_distinct p=14: %.0f "
	    "within 4 x 0.81%% of 100004", h);
	ok(fabs(h - 100004) / 100004 < 4 * hll_std_error(14), name);
	snprintf(name, sizeof(name), "approx_count_distinct p=10: %.0f "
	    "within 4 x 3.25%% of 100004", h10);
	ok(fabs(h10 - 100004) / 100004 < 4 * hll_std_error(10), name);
	ok(aggset_state_bytes(as, st) > small + 100000 * 8,
	    "state bytes count the distinct set's memory");
	json_decref(o);
	drop_state(as, st);
	aggset_free(as);
}

static void test_percentile(void)
{
	struct aggset *as = COMPILE("p0=percentile:v:0", "p50=percentile:v:0.5",
	    "p95=percentile:v:0.95", "p99=percentile:v:0.99",
	    "p100=percentile:v:1");
	void *st = new_state(as);
	const char *names[] = { "p0", "p50", "p95", "p99", "p100" };
	const double qs[] = { 0, 0.5, 0.95, 0.99, 1 };
	size_t n = 50000;
	double *v = malloc(n * sizeof(double)), worst = 0;
	json_t *o = json_object(), *rec;
	char name[160];

	is_result(as, st, "{\"p0\":null,\"p50\":null,\"p95\":null,"
	    "\"p99\":null,\"p100\":null}", "percentiles of nothing: null");
	upd(as, st, "{\"v\":4}", 1, NULL);
	upd(as, st, "{\"v\":1}", 2, NULL);
	upd(as, st, "{\"v\":3.5}", 3, NULL);
	upd(as, st, "{\"v\":2}", 4, NULL);
	is_result(as, st, "{\"p0\":1.0,\"p50\":2.0,\"p95\":4.0,"
	    "\"p99\":4.0,\"p100\":4.0}", "up to 32 values percentiles are "
	    "exact, as PERCENTILE_DISC: p50 of 1, 2, 3.5, 4 is 2");
	aggset_free_state(as, st);
	aggset_init(as, st);
	rng_state = 9;
	for (size_t i = 0; i < n; i++) {
		v[i] = (double)(rng() % 1000000) / 100;
		rec = json_pack("{s:f}", "v", v[i]);
		aggset_update(as, st, rec, (int64_t)i, &(const char *){ NULL });
		json_decref(rec);
	}
	qsort(v, n, sizeof(double), cmp_double);
	aggset_result(as, st, o);
	for (size_t k = 0; k < 5; k++) {
		/* 1-based rank ceil(q n); q n is an integer here. */
		double x = v[qs[k] == 0 ? 0 :
		    (size_t)llround(qs[k] * (double)n) - 1];
		double e = json_real_value(json_object_get(o, names[k]));

		if (fabs(e - x) / x > worst)
			worst = fabs(e - x) / x;
	}
	snprintf(name, sizeof(name), "percentiles within alpha 1%% of the "
	    "exact order statistics (worst %.4f%%)", worst * 100);
	ok(worst <= 0.01 * (1 + 1e-9), name);
	ok(json_real_value(json_object_get(o, "p0")) == v[0] &&
	    json_real_value(json_object_get(o, "p100")) == v[n - 1],
	    "percentile 0 and 1 are the exact min and max");
	json_decref(o);
	free(v);
	drop_state(as, st);
	aggset_free(as);
}

static void test_variance(void)
{
	struct aggset *as = COMPILE("vs=variance:v", "vp=var_pop:v",
	    "ss=stddev:v", "sp=stddev_pop:v", "vs2=var_samp:v",
	    "ss2=stddev_samp:v");
	void *st = new_state(as), *a = new_state(as), *b = new_state(as);
	size_t n = 10000;
	double mean = 0, m2 = 0, *v = malloc(n * sizeof(double));
	json_t *o = json_object(), *o2 = json_object(), *rec;
	const char *why;
	double vs, vp;

	upd(as, st, "{\"v\":3}", 1, NULL);
	is_result(as, st, "{\"vs\":null,\"vp\":0.0,\"ss\":null,\"sp\":0.0,"
	    "\"vs2\":null,\"ss2\":null}",
	    "one value: sample variance null, population variance 0");
	aggset_free_state(as, st);
	aggset_init(as, st);
	rng_state = 13;
	for (size_t i = 0; i < n; i++) {
		/* Large offset, small spread: naive sum of squares fails. */
		v[i] = 1e9 + (double)(rng() % 1000) / 10;
		mean += v[i];
	}
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		m2 += (v[i] - mean) * (v[i] - mean);
	for (size_t i = 0; i < n; i++) {
		rec = json_pack("{s:f}", "v", v[i]);
		aggset_update(as, st, rec, 0, &why);
		aggset_update(as, i < n / 3 ? a : b, rec, 0, &why);
		json_decref(rec);
	}
	aggset_merge(as, a, b);
	aggset_result(as, st, o);
	aggset_result(as, a, o2);
	vs = json_real_value(json_object_get(o, "vs"));
	vp = json_real_value(json_object_get(o, "vp"));
	ok(fabs(vs - m2 / (double)(n - 1)) / (m2 / (double)(n - 1)) < 1e-6 &&
	    fabs(vp - m2 / (double)n) / (m2 / (double)n) < 1e-6,
	    "Welford variance matches the two-pass value around 1e9 "
	    "(relative 1e-6)");
	ok(fabs(json_real_value(json_object_get(o, "ss")) - sqrt(vs)) == 0 &&
	    json_real_value(json_object_get(o, "vs2")) == vs,
	    "stddev is the square root of variance; var_samp = variance");
	ok(fabs(json_real_value(json_object_get(o2, "vs")) - vs) / vs < 1e-9,
	    "merged (Chan et al.) variance equals the one-pass variance");
	json_decref(o);
	json_decref(o2);
	free(v);
	drop_state(as, st);
	drop_state(as, a);
	drop_state(as, b);
	aggset_free(as);
}

/* The full set, for merge and checkpoint tests. */
static struct aggset *full_set(void)
{
	return COMPILE("n=count", "s=sum:amount", "a=avg:amount",
	    "lo=min:amount", "hi=max:amount", "f=first:item",
	    "l=last:item", "u=count_distinct:user",
	    "h=approx_count_distinct:user", "p50=percentile:amount:0.5",
	    "sd=stddev_pop:amount", "last3=last_n:item:3",
	    "buys=count:if:type=buy", "usd=sum:amount:if:type=buy");
}

static json_t *gen_record(int i, int64_t *ts)
{
	static const char *types[] = { "view", "buy", "cart" };

	*ts = 1000 * (int64_t)i + (int64_t)(rng() % 5000);      /* shuffled */
	return json_pack("{s:s,s:i,s:s,s:s}", "user",
	    (const char *[]){ "ann", "bob", "cy", "dee", "eve" }[rng() % 5],
	    "amount", (int)(rng() % 500), "type", types[rng() % 3],
	    "item", (const char *[]){ "p1", "p2", "p3", "p4" }[rng() % 4]);
}

static void test_merge(void)
{
	struct aggset *as = full_set();
	void *one = new_state(as), *pane[3], *win = new_state(as);
	const char *why;
	char *r1, *r2;
	json_t *ro, *rw;
	double sd1, sd2;

	for (int k = 0; k < 3; k++)
		pane[k] = new_state(as);
	rng_state = 21;
	for (int i = 0; i < 3000; i++) {
		int64_t ts;
		json_t *rec = gen_record(i, &ts);

		/* Panes split by event time, as fs-window's slices do. */
		aggset_update(as, one, rec, ts, &why);
		aggset_update(as, pane[ts < 1000000 ? 0 : ts < 2000000 ? 1 :
		    2], rec, ts, &why);
		json_decref(rec);
	}
	for (int k = 0; k < 3; k++)
		aggset_merge(as, win, pane[k]);
	ro = json_object();
	rw = json_object();
	aggset_result(as, one, ro);
	aggset_result(as, win, rw);
	sd1 = json_real_value(json_object_get(ro, "sd"));
	sd2 = json_real_value(json_object_get(rw, "sd"));
	ok(fabs(sd1 - sd2) <= 1e-12 * sd1,
	    "merged stddev equals the one-state stddev (to 1e-12)");
	json_object_del(ro, "sd");
	json_object_del(rw, "sd");
	r1 = json_dumps(ro, JSON_COMPACT);
	r2 = json_dumps(rw, JSON_COMPACT);
	is(r2, r1, "three panes merged give exactly the one-state results "
	    "for every other aggregate");
	free(r1);
	free(r2);
	json_decref(ro);
	json_decref(rw);
	ok(aggset_state_size(as) <= 256, "the 14-aggregate set fits in 256 "
	    "bytes per state");
	for (int k = 0; k < 3; k++)
		drop_state(as, pane[k]);
	drop_state(as, one);
	drop_state(as, win);
	aggset_free(as);
}

static void test_merge_ties(void)
{
	struct aggset *as = COMPILE("f=first:x", "l=last:x", "n=last_n:x:2");
	void *a = new_state(as), *b = new_state(as), *e = new_state(as);

	upd(as, a, "{\"x\":\"a\"}", 5, NULL);
	upd(as, b, "{\"x\":\"b\"}", 5, NULL);
	aggset_merge(as, a, b);
	is_result(as, a, "{\"f\":\"a\",\"l\":\"b\",\"n\":[\"a\",\"b\"]}",
	    "merge: on equal times src counts as arriving after dst");
	aggset_merge(as, a, e);
	aggset_merge(as, e, a);
	is_result(as, e, "{\"f\":\"a\",\"l\":\"b\",\"n\":[\"a\",\"b\"]}",
	    "merging an empty state changes nothing; into one copies");
	drop_state(as, a);
	drop_state(as, b);
	drop_state(as, e);
	aggset_free(as);
}

static void test_checkpoint(void)
{
	struct aggset *as = full_set();
	void *st = new_state(as), *back = aligned_alloc(8,
	    aggset_state_size(as));
	json_t *snap, *loaded, *bad;
	char *text, *r1, *r2;
	const char *why = NULL;

	rng_state = 33;
	for (int i = 0; i < 500; i++) {
		int64_t ts;
		json_t *rec = gen_record(i, &ts);

		aggset_update(as, st, rec, ts, &why);
		json_decref(rec);
	}
	upd(as, st, "{\"amount\":0.25}", 7, NULL);
	snap = aggset_snapshot(as, st);
	text = json_dumps(snap, JSON_COMPACT);
	loaded = json_loads(text, 0, NULL);
	ok(aggset_restore(as, back, loaded, &why) == 0,
	    "a snapshot restores");
	r1 = result(as, st);
	r2 = result(as, back);
	is(r2, r1, "the restored state gives the same results");
	free(r1);
	free(r2);
	rng_state = 34;
	for (int i = 500; i < 1000; i++) {
		int64_t ts;
		json_t *rec = gen_record(i, &ts);

		aggset_update(as, st, rec, ts, &why);
		aggset_update(as, back, rec, ts, &why);
		json_decref(rec);
	}
	r1 = result(as, st);
	r2 = result(as, back);
	is(r2, r1, "and goes on exactly like the original");
	free(r1);
	free(r2);
	aggset_free_state(as, back);
	bad = json_deep_copy(loaded);
	json_array_set_new(bad, 1, json_string("x"));
	ok(aggset_restore(as, back, bad, &why) == -1 && strcmp(why,
	    "aggregate state: a slot does not match its aggregate") == 0,
	    "a corrupt slot is refused");
	is_result(as, back, "{\"n\":0,\"s\":null,\"a\":null,\"lo\":null,"
	    "\"hi\":null,\"f\":null,\"l\":null,\"u\":0,\"h\":0,\"p50\":null,"
	    "\"sd\":null,\"last3\":[],\"buys\":0,\"usd\":null}",
	    "and leaves an empty state");
	aggset_free_state(as, back);
	json_array_remove(bad, 0);
	ok(aggset_restore(as, back, bad, &why) == -1 && strcmp(why,
	    "aggregate state: not an array of the set's slots") == 0,
	    "a snapshot of another set is refused");
	json_decref(bad);
	json_decref(snap);
	json_decref(loaded);
	free(text);
	drop_state(as, st);
	drop_state(as, back);
	aggset_free(as);
}

static void test_empty_checkpoint(void)
{
	struct aggset *as = full_set();
	void *st = new_state(as), *back = aligned_alloc(8,
	    aggset_state_size(as));
	json_t *snap = aggset_snapshot(as, st);
	const char *why;
	char *r1, *r2;

	ok(aggset_restore(as, back, snap, &why) == 0,
	    "an empty state round-trips");
	r1 = result(as, st);
	r2 = result(as, back);
	is(r2, r1, "with the same (empty) results");
	free(r1);
	free(r2);
	json_decref(snap);
	drop_state(as, st);
	drop_state(as, back);
	aggset_free(as);
}

/*
 * The example of fs-agg(1)'s Aggregates section, as the shell passes it.
 * p95 of -4, 10, 30 is the value of 1-based rank ceil(0.95 * 3) = 3, 30,
 * within 1% (the bucket answers 30.0 once clamped to the exact maximum).
 */
static void test_man_example(void)
{
	struct aggset *as = COMPILE("clicks=count", "spend=sum:amount",
	    "avg_amt=avg:amount", "users=approx_count_distinct:user_id",
	    "p95=percentile:amount:0.95", "last5=last_n:item:5",
	    "buys=count:if:type=buy",
	    "usd=sum:amount:if:currency=USD&amount>0");
	void *st = new_state(as);

	upd(as, st, "{\"user_id\":\"u1\",\"amount\":10,\"type\":\"buy\","
	    "\"currency\":\"USD\",\"item\":\"a\"}", 1000, NULL);
	upd(as, st, "{\"user_id\":\"u2\",\"amount\":-4,\"type\":\"refund\","
	    "\"currency\":\"USD\",\"item\":\"b\"}", 3000, NULL);
	upd(as, st, "{\"user_id\":\"u1\",\"amount\":30,\"type\":\"buy\","
	    "\"currency\":\"EUR\",\"item\":\"c\"}", 2000, NULL);
	upd(as, st, "{\"user_id\":\"u3\",\"type\":\"view\",\"item\":\"a\"}",
	    4000, NULL);
	is_result(as, st, "{\"clicks\":4,\"spend\":36,\"avg_amt\":12.0,"
	    "\"users\":3,\"p95\":30.0,\"last5\":[\"a\",\"c\",\"b\",\"a\"],"
	    "\"buys\":2,\"usd\":10}", "the fs-agg(1) example set computes "
	    "the expected features");
	drop_state(as, st);
	aggset_free(as);
}

static void test_sketch_restore_mismatch(void)
{
	struct aggset *a14 = COMPILE("h=approx_count_distinct:u",
	    "p=percentile:v:0.5");
	struct aggset *a12 = COMPILE("h=approx_count_distinct:u:12",
	    "p=percentile:v:0.5:0.02");
	void *st = new_state(a14), *back = new_state(a12);
	json_t *snap;
	const char *why = NULL;
	size_t before = aggset_state_bytes(a14, st);

	upd(a14, st, "{\"u\":\"x\",\"v\":3}", 1, NULL);
	ok(aggset_state_bytes(a14, st) > before + 64,
	    "state bytes count sketch memory");
	snap = aggset_snapshot(a14, st);
	ok(aggset_restore(a12, back, snap, &why) == -1 &&
	    strcmp(why, "hll: precision missing or different") == 0,
	    "a sketch of another precision is not restored");
	json_decref(snap);
	drop_state(a14, st);
	drop_state(a12, back);
	aggset_free(a14);
	aggset_free(a12);
}

/* A random record: amounts are integers or multiples of 1/4 (exact
 * sums), sometimes missing, null or a string; times have many ties. */
static json_t *random_record(int64_t *ts)
{
	json_t *r = json_object();
	uint64_t k = rng() % 10;

	*ts = (int64_t)(rng() % 50);
	if (k < 5)
		json_object_set_new(r, "amount",
		    json_integer((json_int_t)(rng() % 2001) - 1000));
	else if (k < 8)
		json_object_set_new(r, "amount",
		    json_real((double)((int)(rng() % 801) - 400) / 4));
	else if (k < 9)
		json_object_set_new(r, "amount", json_null());
	if (rng() % 8)
		json_object_set_new(r, "item", json_sprintf("i%d",
		    (int)(rng() % 40)));
	json_object_set_new(r, "type", json_string(rng() % 3 ? "view" :
	    "buy"));
	return r;
}

/*
 * Property: cutting a stream into consecutive arrival ranges, one state
 * each, and merging them in order gives exactly the state of the whole
 * stream (first/last ties included); a checkpoint cycle in the middle
 * changes nothing.  Variance is compared to 1e-9.
 */
static void test_merge_random(void)
{
	struct aggset *as = COMPILE("n=count", "c=count:amount",
	    "s=sum:amount", "s0=sum0:amount", "a=avg:amount", "lo=min:amount",
	    "hi=max:amount", "f=first:item", "l=last:item",
	    "u=count_distinct:item", "h=approx_count_distinct:amount:8",
	    "p=percentile:amount:0.3", "l4=last_n:item:4",
	    "vp=var_pop:amount", "bs=sum:amount:if:type=buy&amount>=0");
	int bad = 0, badvar = 0;

	for (int seed = 0; seed < 40; seed++) {
		size_t n, cut1, cut2;
		void *one = new_state(as), *part[3], *win = new_state(as);
		json_t *ro = json_object(), *rw = json_object();
		const char *why;
		char *t1, *t2;

		rng_state = 1000 + (uint64_t)seed;
		n = 1 + (size_t)(rng() % 400);
		cut1 = (size_t)(rng() % (n + 1));
		cut2 = cut1 + (size_t)(rng() % (n - cut1 + 1));
		for (int k = 0; k < 3; k++)
			part[k] = new_state(as);
		for (size_t i = 0; i < n; i++) {
			int64_t ts;
			json_t *rec = random_record(&ts);

			if (aggset_update(as, one, rec, ts, &why) == 0)
				aggset_update(as, part[i < cut1 ? 0 : i < cut2 ?
				    1 : 2], rec, ts, &why);
			json_decref(rec);
			if (i == n / 2) {
				/* A checkpoint cycle of the middle part. */
				json_t *snap = aggset_snapshot(as, part[1]);

				aggset_free_state(as, part[1]);
				if (aggset_restore(as, part[1], snap, &why) < 0)
					bad++;
				json_decref(snap);
			}
		}
		for (int k = 0; k < 3; k++)
			aggset_merge(as, win, part[k]);
		aggset_result(as, one, ro);
		aggset_result(as, win, rw);
		if (json_is_real(json_object_get(ro, "vp")) &&
		    fabs(json_real_value(json_object_get(ro, "vp")) -
		    json_real_value(json_object_get(rw, "vp"))) >
		    1e-9 * json_real_value(json_object_get(ro, "vp")))
			badvar++;
		json_object_del(ro, "vp");
		json_object_del(rw, "vp");
		t1 = json_dumps(ro, JSON_COMPACT);
		t2 = json_dumps(rw, JSON_COMPACT);
		if (strcmp(t1, t2) != 0) {
			bad++;
			printf("# seed %d:\n#  one: %s\n#  win: %s\n", seed,
			    t1, t2);
		}
		free(t1);
		free(t2);
		json_decref(ro);
		json_decref(rw);
		for (int k = 0; k < 3; k++)
			drop_state(as, part[k]);
		drop_state(as, one);
		drop_state(as, win);
	}
	ok(bad == 0, "40 random streams: merged consecutive parts equal one "
	    "state exactly, through a checkpoint cycle");
	ok(badvar == 0, "and their variances agree to 1e-9");
	aggset_free(as);
}

/* Corrupt snapshots: every slot replaced by values of the wrong shape
 * is refused or accepted without crashing, and leaves a usable state. */
static void test_restore_garbage(void)
{
	struct aggset *as = full_set();
	void *st = new_state(as);
	const char *junk[] = { "null", "1", "-1", "\"s\"", "[]", "{}",
	    "[1,2,3,4,5]", "[1,\"x\",3]", "[[1,null]]", "[-1,0,0,0,0]",
	    "{\"p\":14,\"sparse\":[1,2]}", "{\"p\":14,\"dense\":\"@@\"}",
	    "{\"alpha\":0.01,\"n\":1,\"zero\":0,\"pos\":[0,[1]],"
	    "\"neg\":[0,[]],\"min\":1,\"max\":1}",
	    "{\"alpha\":0.01,\"n\":1,\"zero\":0,\"pos\":[0,[1]],"
	    "\"neg\":[0,[]]}" };
	json_t *snap = aggset_snapshot(as, st);
	size_t nslots = json_array_size(snap), accepted = 0, tried = 0;
	const char *why;
	int broken = 0;

	for (size_t s = 0; s < nslots; s++)
		for (size_t j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
			json_t *bad = json_deep_copy(snap);
			char *r;

			json_array_set_new(bad, s, json_loads(junk[j],
			    JSON_DECODE_ANY, NULL));
			tried++;
			if (aggset_restore(as, st, bad, &why) == 0)
				accepted++;
			upd(as, st, "{\"amount\":3,\"user\":\"x\",\"item\":"
			    "\"y\"}", 5, NULL);
			r = result(as, st);
			if (r == NULL)
				broken++;
			free(r);
			aggset_free_state(as, st);
			json_decref(bad);
		}
	aggset_init(as, st);
	printf("# %zu corrupt snapshots, %zu accepted as valid states\n",
	    tried, accepted);
	ok(broken == 0, "corrupt snapshots are refused or restored, never "
	    "leave a broken state");
	json_decref(snap);
	drop_state(as, st);
	aggset_free(as);
}

/* --- micro-benchmark (not run by make: test_aggfn --bench) ---------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Updates per second of a set over nkeys keys (10 000: states out of
 * cache; 100: in cache), against the peer that bounds every fs tool:
 * jansson parsing the same lines.  Best of 5.
 */
static void bench(const char *what, const char *const *specs, size_t n,
    size_t nkeys)
{
	struct aggset *as = compile(specs, n);
	const size_t nrec = 1000, N = 2000000;
	size_t sz = aggset_state_size(as);
	json_t **recs = malloc(nrec * sizeof(*recs));
	char (*lines)[160] = malloc(nrec * sizeof(*lines));
	char *states = aligned_alloc(8, nkeys * sz);
	double best_u = 1e9, best_p = 1e9;
	const char *why;

	for (size_t i = 0; i < nrec; i++) {
		snprintf(lines[i], sizeof(lines[i]), "{\"user\":\"u%zu\","
		    "\"type\":\"%s\",\"amount\":%zu.5,\"item\":\"p%zu\","
		    "\"ts\":%zu}", i % 97, i % 3 ? "view" : "buy",
		    i * 7919 % 1000, i % 31, 1700000000000 + i);
		recs[i] = json_loads(lines[i], 0, NULL);
	}
	for (size_t k = 0; k < nkeys; k++)
		aggset_init(as, states + k * sz);
	rng_state = 1;
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now_s(), t1, t2;

		for (size_t i = 0; i < N; i++)
			aggset_update(as, states + rng() % nkeys * sz,
			    recs[i % nrec], (int64_t)i, &why);
		t1 = now_s();
		for (size_t i = 0; i < N / 10; i++)
			json_decref(json_loads(lines[i % nrec], 0, NULL));
		t2 = now_s();
		if (t1 - t0 < best_u)
			best_u = t1 - t0;
		if ((t2 - t1) * 10 < best_p)
			best_p = (t2 - t1) * 10;
	}
	printf("%s (%zu bytes per state), %zu keys: %.1f M updates/s, %.0f "
	    "ns each; jansson parses %.2f M lines/s: an update costs %.3f of "
	    "a parse\n", what, sz, nkeys, (double)N / best_u / 1e6,
	    best_u / (double)N * 1e9,
	    (double)N / best_p / 1e6, best_u / best_p);
	for (size_t k = 0; k < nkeys; k++)
		aggset_free_state(as, states + k * sz);
	for (size_t i = 0; i < nrec; i++)
		json_decref(recs[i]);
	free(recs);
	free(lines);
	free(states);
	aggset_free(as);
}

static int bench_main(void)
{
	const char *five[] = { "n=count", "s=sum:amount", "a=avg:amount",
	    "lo=min:amount", "hi=max:amount" };
	const char *more[] = { "n=count", "s=sum:amount", "a=avg:amount",
	    "lo=min:amount", "hi=max:amount", "buys=count:if:type=buy",
	    "u=approx_count_distinct:item", "p95=percentile:amount:0.95" };

	bench("count,sum,avg,min,max", five, 5, 10000);
	bench("count,sum,avg,min,max", five, 5, 100);
	bench("the same + conditional count, HLL, percentile", more, 8, 10000);
	bench("the same + conditional count, HLL, percentile", more, 8, 100);
	return 0;
}

/* aggset_pack() of st is, read back, aggset_snapshot() of st. */
static bool pack_is_snapshot(const struct aggset *as, const void *st)
{
	struct buf b = BUF_INIT;
	json_t *snap = aggset_snapshot(as, st), *back;
	const char *why;
	size_t off = 0;
	bool same;

	aggset_pack(as, &b, st);
	back = mpj_next(b.data, b.len, &off, &why);
	same = back != NULL && off == b.len && json_equal(snap, back);
	if (!same)
		printf("# packed: %s\n", back ? json_dumps(back, JSON_COMPACT) :
		    why);
	json_decref(snap);
	json_decref(back);
	buf_free(&b);
	return same;
}

/* Compresses st; when that succeeds, expands it again and compares the
 * blocks byte for byte, and packs the compact form (a checkpoint's bytes)
 * to compare with the block's: true when st round-trips exactly and
 * packs the same. */
static bool compact_roundtrip(const struct aggset *as, const void *st)
{
	size_t n = aggset_state_size(as);
	unsigned char c[64], *back = aligned_alloc(8, n);
	struct buf full = BUF_INIT, comp = BUF_INIT;
	bool r;

	if (aggset_compact_size(as) > sizeof c) {
		free(back);
		return false;
	}
	r = aggset_compress(as, st, c + 1);     /* at any address */
	if (r) {
		aggset_expand(as, c + 1, back);
		r = memcmp(back, st, n) == 0;
		aggset_pack(as, &full, st);
		aggset_pack_compact(as, &comp, c + 1);
		r = r && full.len == comp.len &&
		    memcmp(full.data, comp.data, full.len) == 0;
	}
	buf_free(&full);
	buf_free(&comp);
	free(back);
	return r;
}

static void test_compact(void)
{
	struct aggset *as = COMPILE("n=count", "s=sum:v", "a=avg:v",
	    "lo=min:v", "hi=max:v", "c=count:v", "z=sum0:w", "m=max:w");
	struct aggset *big = COMPILE("n=count", "f=first:v");
	void *st = new_state(as), *st2;
	unsigned char c[64];
	const char *why;
	json_t *snap;

	ok(aggset_compact_size(big) == 0, "compact: a set with first has no "
	    "compact form");
	ok(aggset_compact_size(as) > 0 &&
	    aggset_compact_size(as) < aggset_state_size(as) &&
	    aggset_compact_size(as) % 4 == 0, "compact: count, sum, avg, min, "
	    "max have a smaller form, a multiple of 4");
	ok(compact_roundtrip(as, st), "compact: the empty state");
	aggset_compact_init(as, c);
	st2 = new_state(as);
	aggset_expand(as, c, st2);
	is_result(as, st2, "{\"n\":0,\"s\":null,\"a\":null,\"lo\":null,"
	    "\"hi\":null,\"c\":0,\"z\":0,\"m\":null}", "compact: an initial "
	    "compact state is the empty state");
	drop_state(as, st2);
	upd(as, st, "{\"v\":5}", 1, NULL);
	upd(as, st, "{\"v\":-9223372036854775807,\"w\":7}", 2, NULL);
	upd(as, st, "{\"v\":null}", 3, NULL);
	ok(compact_roundtrip(as, st), "compact: integers, extremes and "
	    "missing values round-trip bit for bit");
	upd(as, st, "{\"w\":-2}", 4, NULL);
	ok(compact_roundtrip(as, st), "compact: a second field");
	upd(as, st, "{\"v\":-10}", 5, NULL);
	ok(!aggset_compress(as, st, c), "compact: an integer sum past int64 "
	    "is refused");
	drop_state(as, st);

	st = new_state(as);
	upd(as, st, "{\"v\":1,\"w\":2}", 1, NULL);
	upd(as, st, "{\"w\":2.5}", 2, NULL);
	ok(!aggset_compress(as, st, c), "compact: a real in a sum is refused");
	drop_state(as, st);

	st = new_state(as);
	upd(as, st, "{\"v\":1.0}", 1, NULL);
	ok(!aggset_compress(as, st, c), "compact: a real equal to an integer "
	    "is refused (its sum is a real)");
	drop_state(as, st);

	/* A count past 32 bits, from a checkpoint. */
	st = new_state(as);
	upd(as, st, "{\"v\":1}", 1, NULL);
	snap = aggset_snapshot(as, st);
	json_array_set_new(snap, 0, json_integer(INT64_C(4294967296)));
	drop_state(as, st);
	st = aligned_alloc(8, aggset_state_size(as));
	ok(aggset_restore(as, st, snap, &why) == 0 &&
	    !aggset_compress(as, st, c), "compact: a count of 2^32 is refused");
	json_array_set_new(snap, 0, json_integer(INT64_C(4294967295)));
	drop_state(as, st);
	st = aligned_alloc(8, aggset_state_size(as));
	ok(aggset_restore(as, st, snap, &why) == 0 &&
	    compact_roundtrip(as, st), "compact: a count of 2^32 - 1 is kept");
	json_decref(snap);
	drop_state(as, st);
	aggset_free(big);
	aggset_free(as);
}

/* The record text prepared, then applied to compact state c in place:
 * aggset_compact_apply()'s answer. */
static bool compact_upd(struct aggset *as, void *c, const char *text)
{
	json_t *rec = json_loads(text, 0, NULL);
	const char *why;
	bool r;

	if (rec == NULL || aggset_prepare(as, rec, &why) < 0) {
		printf("Bail out! bad test record: %s\n", text);
		exit(1);
	}
	r = aggset_compact_apply(as, c);
	json_decref(rec);
	return r;
}

/* Applying records to a compact state in place gives the bytes that
 * expanding, applying and compressing give; what would not stay
 * compact is refused and leaves the state as it was. */
static void test_compact_apply(void)
{
	static const char *const recs[] = {
		"{\"v\":5}", "{\"v\":-9223372036854775807,\"w\":7}",
		"{\"v\":null}", "{\"w\":-2}", "{\"v\":3,\"w\":9}", "{}",
		"{\"v\":9223372036854775807}",
	};
	struct aggset *as = COMPILE("n=count", "s=sum:v", "a=avg:v",
	    "lo=min:v", "hi=max:v", "c=count:v", "z=sum0:w", "m=max:w",
	    "k=min:w");
	void *st = new_state(as);
	unsigned char c[128], want[128], before[128];
	size_t n = aggset_compact_size(as);
	bool same = n > 0 && n <= sizeof c;

	aggset_compact_init(as, c);
	for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
		upd(as, st, recs[i], (int64_t)i, NULL);
		if (!compact_upd(as, c, recs[i]) || !aggset_compress(as, st, want) ||
		    memcmp(c, want, n) != 0)
			same = false;
	}
	ok(same, "compact apply: integers, nulls, missing fields and "
	    "extremes give the bytes of expand, apply, compress");
	memcpy(before, c, n);
	ok(!compact_upd(as, c, "{\"v\":9223372036854775807}") &&
	    memcmp(c, before, n) == 0,
	    "compact apply: a sum past int64 is refused, the state untouched");
	ok(!compact_upd(as, c, "{\"w\":2.5}") && memcmp(c, before, n) == 0,
	    "compact apply: a real is refused, the state untouched");
	drop_state(as, st);
	aggset_free(as);
}

static void test_pack(void)
{
	struct aggset *as = COMPILE("n=count", "s=sum:v", "s0=sum0:v",
	    "a=avg:v", "lo=min:v", "hi=max:v", "f=first:v", "l=last:v",
	    "u=count_distinct:v", "h=approx_count_distinct:v",
	    "p=percentile:v:0.5", "sd=stddev:v", "ln=last_n:v:3",
	    "mb=max_by:v:w");
	void *st = new_state(as);

	ok(pack_is_snapshot(as, st), "pack: an empty state packs as its "
	    "snapshot");
	upd(as, st, "{\"v\":5,\"w\":1}", 1, NULL);
	upd(as, st, "{\"v\":-3,\"w\":\"x\"}", 2, NULL);
	ok(pack_is_snapshot(as, st), "pack: integers pack as the snapshot's");
	upd(as, st, "{\"v\":0.25,\"w\":[1,{\"k\":null}]}", 3, NULL);
	upd(as, st, "{\"v\":9223372036854775807}", 4, NULL);
	upd(as, st, "{\"v\":9223372036854775807}", 5, NULL);
	ok(pack_is_snapshot(as, st), "pack: reals, an overflowed sum and "
	    "every kind of state pack as the snapshot's");
	upd(as, st, "{\"v\":1e308}", 6, NULL);
	upd(as, st, "{\"v\":1e308}", 7, NULL);
	ok(pack_is_snapshot(as, st), "pack: a sum gone infinite packs as "
	    "the snapshot's string");
	drop_state(as, st);
	aggset_free(as);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
		return bench_main();
	test_compile_errors();
	test_field_spec();
	test_layout();
	test_basic();
	test_sum_precision();
	test_errors();
	test_conditions();
	test_field_escape();
	test_first_last();
	test_last_n();
	test_max_by();
	test_distinct();
	test_percentile();
	test_variance();
	test_merge();
	test_merge_ties();
	test_checkpoint();
	test_empty_checkpoint();
	test_man_example();
	test_sketch_restore_mismatch();
	test_merge_random();
	test_restore_garbage();
	test_pack();
	test_compact();
	test_compact_apply();
	printf("1..%d\n", tests);
	return failed != 0;
}
