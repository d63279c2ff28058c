/* test_def.c - common/def.c: the canonical definition leaves out where
 * the data came from and the spelling of aggregates, sorts aggregates,
 * recurses into a join's inputs; the version follows it. */
#include <string.h>

#include "def.h"
#include "tap.h"

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, 0, &e);

	if (v == NULL)
		printf("# bad test JSON: %s\n", e.text);
	return v;
}

static void version_of(const char *lineage, char out[DEF_VERSION_LEN + 1])
{
	json_t *l = parse(lineage);

	def_version(l, out);
	json_decref(l);
}

static void test_canonical(void)
{
	json_t *l = parse("[{\"stage\":\"source\",\"tool\":\"fs-consume\","
	    "\"topics\":[\"t\"],\"format\":\"json\",\"time_field\":\"ts\","
	    "\"watermark_bound\":5000},{\"stage\":\"agg\",\"tool\":\"fs-agg\","
	    "\"aggs\":[{\"spec\":\"s=sum:x\",\"name\":\"s\",\"fn\":\"sum\","
	    "\"field\":\"x\"},{\"spec\":\"n=count\",\"name\":\"n\","
	    "\"fn\":\"count\"}]},{\"stage\":\"sink\",\"namespace\":\"ns\","
	    "\"set\":\"s\",\"key\":[\"u\"]}]");
	json_t *c = def_canonical(l);
	char *t = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);

	CHECK_STR(t, "[{\"stage\":\"source\",\"time_field\":\"ts\"},"
	    "{\"aggs\":[{\"fn\":\"count\",\"name\":\"n\"},{\"field\":\"x\","
	    "\"fn\":\"sum\",\"name\":\"s\"}],\"stage\":\"agg\"},"
	    "{\"key\":[\"u\"],\"stage\":\"sink\"}]",
	    "origin, tool, spelling and storage left out; aggregates sorted");
	free(t);
	json_decref(c);
	json_decref(l);
}

static void test_versions(void)
{
	char a[DEF_VERSION_LEN + 1], b[DEF_VERSION_LEN + 1];

	version_of("[{\"stage\":\"window\",\"size\":300000},{\"stage\":\"agg\","
	    "\"aggs\":[{\"name\":\"a\",\"fn\":\"max\"},{\"name\":\"b\","
	    "\"fn\":\"min\",\"spec\":\"b=min\"}]}]", a);
	version_of("[{\"size\":300000,\"stage\":\"window\",\"tool\":\"w\"},"
	    "{\"stage\":\"agg\",\"aggs\":[{\"name\":\"b\",\"fn\":\"min\","
	    "\"spec\":\"b=min:\"},{\"fn\":\"max\",\"name\":\"a\"}]}]", b);
	CHECK(strlen(a) == DEF_VERSION_LEN && strspn(a, "0123456789abcdef") ==
	    DEF_VERSION_LEN, "16 hex digits");
	CHECK_STR(a, b, "member and aggregate order, tool and spec: one version");
	version_of("[{\"stage\":\"window\",\"size\":60000},{\"stage\":\"agg\","
	    "\"aggs\":[{\"name\":\"a\",\"fn\":\"max\"},{\"name\":\"b\","
	    "\"fn\":\"min\"}]}]", b);
	CHECK(strcmp(a, b) != 0, "another window size: another version");
	version_of("[{\"stage\":\"join\",\"inputs\":{\"left\":[{\"stage\":"
	    "\"source\",\"files\":[\"a\"]}],\"right\":[]}}]", a);
	version_of("[{\"stage\":\"join\",\"inputs\":{\"left\":[{\"stage\":"
	    "\"source\",\"files\":[\"b\"]}],\"right\":[]}}]", b);
	CHECK_STR(a, b, "a join's inputs are canonical too");
}

int main(void)
{
	test_canonical();
	test_versions();
	return tap_done();
}
