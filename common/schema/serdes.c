/*
 * serdes.c - the -s option of fs-consume and fs-produce, as kcat spells
 * it: which of key and value are Confluent-framed Avro or Protobuf.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

void schema_opts_check(struct schema_opts *s)
{
	const struct registry_conf *c = &s->conf;
	const char *files[] = { c->ca, c->cert, c->key };

	if (s->registry == NULL && (s->key || s->value))
		s->registry = c->url;
	if ((s->key || s->value) != (s->registry != NULL))
		diag_usage("-s and -r go together (the registry holds the schemas)");
	if (s->registry == NULL)
		return;         /* a shared file's settings, unused here */
	if (c->user_info != NULL && c->bearer_token != NULL)
		diag_usage("schema.registry.basic.auth.user.info and "
		    "schema.registry.bearer.auth.token exclude each other");
	if ((c->cert != NULL) != (c->key != NULL))
		diag_usage("schema.registry.ssl.certificate.location and "
		    "schema.registry.ssl.key.location go together");
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
		if (files[i] != NULL && access(files[i], R_OK) < 0)
			diag_fatal("schema registry: cannot open: '%s': %s",
			    files[i], strerror(errno));
}
