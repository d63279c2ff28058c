/*
 * serdes.c - the -s option of fs-consume and fs-produce, as kcat spells
 * it: which of key and value are Confluent-framed Avro or Protobuf.
 */
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "schema.h"

#include "banned.h"

static int serdes_fmt(const char *s, enum schema_fmt *fmt)
{
	if (strcmp(s, "avro") == 0)
		*fmt = SCHEMA_AVRO;
	else if (strcmp(s, "protobuf") == 0)
		*fmt = SCHEMA_PROTOBUF;
	else
		return -1;
	return 0;
}

int schema_serdes(const char *arg, enum schema_fmt *key,
    enum schema_fmt *value, char *why)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : 0;
	enum schema_fmt fmt;

	if (serdes_fmt(eq ? eq + 1 : arg, &fmt) < 0)
		goto bad;
	if (eq == NULL) {
		*key = *value = fmt;
	} else if (n == 3 && strncmp(arg, "key", 3) == 0) {
		*key = fmt;
	} else if (n == 5 && strncmp(arg, "value", 5) == 0) {
		*value = fmt;
	} else {
		goto bad;
	}
	return 0;
bad:
	snprintf(why, SCHEMA_ERR_MAX, "expected FMT, key=FMT or value=FMT "
	    "(FMT avro or protobuf): '%s'", arg);
	return -1;
}

void schema_opt_serdes(void *data, const char *name, const char *arg)
{
	struct schema_opts *s = data;
	char why[SCHEMA_ERR_MAX];

	if (schema_serdes(arg, &s->key, &s->value, why) < 0)
		diag_usage("%s: %s", name, why);
}

void schema_opts_check(const struct schema_opts *s)
{
	if ((s->key || s->value) != (s->registry != NULL))
		diag_usage("-s and -r go together (the registry holds the schemas)");
}
