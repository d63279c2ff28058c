/*
 * serdes.c - the -s option of fs-consume and fs-produce, as kcat spells
 * it: which of key and value are Confluent-framed Avro.
 */
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "schema.h"

#include "banned.h"

int schema_serdes(const char *arg, bool *key, bool *value, char *why)
{
	const char *eq = strchr(arg, '=');
	const char *fmt = eq ? eq + 1 : arg;
	size_t n = eq ? (size_t)(eq - arg) : 0;

	if (strcmp(fmt, "avro") != 0) {
		snprintf(why, SCHEMA_ERR_MAX, strcmp(fmt, "protobuf") == 0 ?
		    "protobuf is not supported (only avro): '%s'" :
		    "expected avro, key=avro or value=avro: '%s'", arg);
		return -1;
	}
	if (eq == NULL) {
		*key = *value = true;
	} else if (n == 3 && strncmp(arg, "key", 3) == 0) {
		*key = true;
	} else if (n == 5 && strncmp(arg, "value", 5) == 0) {
		*value = true;
	} else {
		snprintf(why, SCHEMA_ERR_MAX,
		    "expected avro, key=avro or value=avro: '%s'", arg);
		return -1;
	}
	return 0;
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
