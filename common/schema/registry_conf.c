/*
 * registry_conf.c - the schema registry's schema.registry.* properties
 * (schema.h's struct registry_conf): their names, values, -X list and
 * -X dump.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#include "schema.h"

#include "banned.h"

static const struct {
	const char *name;               /* after REGISTRY_CONF_PREFIX */
	size_t off;                     /* its char * in struct registry_conf */
	bool secret;
	const char *help;
} props[] = {
	{ "basic.auth.user.info", offsetof(struct registry_conf, user_info),
	  true, "USER:PASS for HTTP basic authentication" },
	{ "bearer.auth.token", offsetof(struct registry_conf, bearer_token),
	  true, "TOKEN sent as \"Authorization: Bearer TOKEN\"" },
	{ "ssl.ca.location", offsetof(struct registry_conf, ca),
	  false, "CA certificates (PEM file) to verify the registry with" },
	{ "ssl.certificate.location", offsetof(struct registry_conf, cert),
	  false, "client certificate (PEM file)" },
	{ "ssl.key.location", offsetof(struct registry_conf, key),
	  false, "the client certificate's private key (PEM file)" },
	{ "ssl.key.password", offsetof(struct registry_conf, key_password),
	  true, "the private key's passphrase" },
	{ "url", offsetof(struct registry_conf, url),
	  false, "the registry's URL, as -r (which wins)" },
};
#define NPROPS (sizeof(props) / sizeof(*props))

static char **field(struct registry_conf *c, size_t i)
{
	return (char **)((char *)c + props[i].off);
}

static const char *value_of(const struct registry_conf *c, size_t i)
{
	return *(char *const *)((const char *)c + props[i].off);
}

int registry_conf_set(struct registry_conf *c, const char *key,
    const char *val, char *errstr, size_t errlen)
{
	size_t plen = strlen(REGISTRY_CONF_PREFIX);

	if (strncmp(key, REGISTRY_CONF_PREFIX, plen) == 0)
		for (size_t i = 0; i < NPROPS; i++) {
			char **f = field(c, i);

			if (strcmp(key + plen, props[i].name) != 0)
				continue;
			if (props[i].off == offsetof(struct registry_conf,
			    user_info) &&
			    strchr(val, ':') == NULL) {
				snprintf(errstr, errlen, "%s: expected "
				    "USER:PASS", key);
				return -1;
			}
			free(*f);
			*f = val[0] != '\0' ? xstrdup(val) : NULL;
			return 0;
		}
	snprintf(errstr, errlen, "no such schema registry property: '%s' "
	    "(-X list shows them)", key);
	return -1;
}

void registry_conf_list(FILE *fp)
{
	fprintf(fp, "\nSchema registry (-r, -s; not librdkafka's):\n");
	for (size_t i = 0; i < NPROPS; i++)
		fprintf(fp, "%s%-26s %s\n", REGISTRY_CONF_PREFIX, props[i].name,
		    props[i].help);
}

const char *registry_url_shown(const char *url, char *buf, size_t len)
{
	const char *s = strstr(url, "://"), *at, *colon;

	s = s != NULL ? s + 3 : url;
	at = s + strcspn(s, "/?#");
	/* the last '@' before the path ends the user information */
	while (at > s && at[-1] != '@')
		at--;
	colon = at > s ? memchr(s, ':', (size_t)(at - 1 - s)) : NULL;
	if (colon == NULL) {
		snprintf(buf, len, "%s", url);
		return buf;
	}
	snprintf(buf, len, "%.*s:[redacted]%s", (int)(colon - url), url,
	    at - 1);
	return buf;
}

void registry_conf_dump(const struct registry_conf *c, FILE *fp)
{
	fputs("# Schema registry config\n", fp);
	for (size_t i = 0; i < NPROPS; i++) {
		const char *v = value_of(c, i);
		char shown[1024];

		if (v == NULL)
			continue;
		if (props[i].secret)
			v = "[redacted]";
		else if (props[i].off == offsetof(struct registry_conf, url))
			v = registry_url_shown(v, shown, sizeof(shown));
		fprintf(fp, "%s%s = %s\n", REGISTRY_CONF_PREFIX, props[i].name, v);
	}
	fputc('\n', fp);
}

void registry_conf_free(struct registry_conf *c)
{
	for (size_t i = 0; i < NPROPS; i++) {
		free(*field(c, i));
		*field(c, i) = NULL;
	}
}
