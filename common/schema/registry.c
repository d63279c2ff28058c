/*
 * registry.c - a Confluent Schema Registry client over libcurl, with
 * the schemas it fetched kept by id.
 *
 * One easy handle is reused (keep-alive); each request waits at most
 * REGISTRY_TIMEOUT_MS.  An answer other than 2xx is an error whose
 * reason is the registry's "message" member when it has one.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "xalloc.h"

#include "schema.h"

#include "banned.h"

#define REGISTRY_TIMEOUT_MS 10000L
#define REGISTRY_CONNECT_MS 3000L

struct cached {
	uint32_t id;
	struct avro_sch *s;     /* an Avro schema, */
	struct proto_sch *p;    /* or a Protobuf one; neither: the */
	char *why;              /* registry said no, and why */
};

struct registry {
	char *url;
	const struct registry_conf *conf;       /* borrowed, or NULL */
	CURL *curl;
	struct buf resp;
	struct cached *cache;
	size_t n, cap;
	size_t last;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

struct registry *registry_new(const char *url,
    const struct registry_conf *conf)
{
	struct registry *r = xcalloc(1, sizeof(*r));
	size_t len = strlen(url);

	while (len > 0 && url[len - 1] == '/')
		len--;
	r->url = xstrndup(url, len);
	r->conf = conf;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r->curl = curl_easy_init();
	if (r->curl == NULL)
		diag_fatal("out of memory");
	return r;
}

void registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		avsch_free(r->cache[i].s);
		protosch_free(r->cache[i].p);
		free(r->cache[i].why);
	}
	free(r->cache);
	curl_easy_cleanup(r->curl);
	buf_free(&r->resp);
	free(r->url);
	free(r);
}

/* conf's authentication and TLS on the handle (reset before each
 * request).  libcurl sends the basic credentials pre-emptively, as the
 * Confluent clients do. */
static void set_conf(CURL *curl, const struct registry_conf *c)
{
	if (c == NULL)
		return;
	if (c->user_info != NULL) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERPWD, c->user_info);
	} else if (c->bearer_token != NULL) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, c->bearer_token);
	}
	if (c->ca != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca);
	if (c->cert != NULL)
		curl_easy_setopt(curl, CURLOPT_SSLCERT, c->cert);
	if (c->key != NULL)
		curl_easy_setopt(curl, CURLOPT_SSLKEY, c->key);
	if (c->key_password != NULL)
		curl_easy_setopt(curl, CURLOPT_KEYPASSWD, c->key_password);
}

/*
 * One request to r->url + path (body: POST it).  Returns the parsed
 * JSON answer of a 2xx, or NULL with why; *status is the HTTP status
 * (0 when there was no answer).
 */
static json_t *request(struct registry *r, const char *path,
    const char *body, long *status, char *why)
{
	struct curl_slist *hdr = NULL;
	char *url = xmalloc(strlen(r->url) + strlen(path) + 1);
	char err[CURL_ERROR_SIZE] = "";
	json_error_t jerr;
	json_t *v = NULL;
	CURLcode rc;

	memcpy(url, r->url, strlen(r->url));
	memcpy(url + strlen(r->url), path, strlen(path) + 1);
	buf_reset(&r->resp);
	*status = 0;
	curl_easy_reset(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_URL, url);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &r->resp);
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, REGISTRY_TIMEOUT_MS);
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, REGISTRY_CONNECT_MS);
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	set_conf(r->curl, r->conf);
	hdr = curl_slist_append(hdr, "Accept: application/vnd.schemaregistry.v1+json, application/json");
	if (body != NULL) {
		hdr = curl_slist_append(hdr,
		    "Content-Type: application/vnd.schemaregistry.v1+json");
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(r->curl);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		char shown[512];

		snprintf(why, SCHEMA_ERR_MAX, "registry unreachable: %s: '%s'",
		    err[0] ? err : curl_easy_strerror(rc),
		    registry_url_shown(r->url, shown, sizeof(shown)));
		free(url);
		return NULL;
	}
	free(url);
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
	v = json_loadb(r->resp.data ? r->resp.data : "", r->resp.len, 0, &jerr);
	if (*status < 200 || *status > 299) {
		const char *msg = json_string_value(json_object_get(v, "message"));

		snprintf(why, SCHEMA_ERR_MAX, "registry: HTTP %ld%s%s", *status,
		    msg ? ": " : "", msg ? msg : "");
		json_decref(v);
		return NULL;
	}
	if (v == NULL)
		snprintf(why, SCHEMA_ERR_MAX, "registry: answer is not JSON: %s",
		    jerr.text);
	return v;
}

/* The answer's schema compiled into c by its schemaType (no type:
 * Avro); -1 with why. */
static int answer_schema(const json_t *ans, struct cached *c, char *why)
{
	const char *type = json_string_value(json_object_get(ans, "schemaType"));
	const char *text = json_string_value(json_object_get(ans, "schema"));

	if (text == NULL) {
		snprintf(why, SCHEMA_ERR_MAX, "registry: answer has no 'schema'");
		return -1;
	}
	if (type == NULL || strcmp(type, "AVRO") == 0)
		c->s = avsch_new(text, strlen(text), why);
	else if (strcmp(type, "PROTOBUF") == 0)
		c->p = protosch_new(text, strlen(text), why);
	else
		snprintf(why, SCHEMA_ERR_MAX, "a %s schema, not Avro or "
		    "Protobuf", type);
	return c->s || c->p ? 0 : -1;
}

/* The cache entry for id, fetched on first use; NULL with why when the
 * registry could not be asked (asked again next time). */
static struct cached *lookup(struct registry *r, uint32_t id, char *why)
{
	struct cached *c, got = { id, NULL, NULL, NULL };
	char path[64], reason[SCHEMA_ERR_MAX];
	json_t *ans;
	long status;

	if (r->last < r->n && r->cache[r->last].id == id)
		return &r->cache[r->last];
	for (r->last = 0; r->last < r->n; r->last++)
		if (r->cache[r->last].id == id)
			return &r->cache[r->last];
	snprintf(path, sizeof(path), "/schemas/ids/%" PRIu32, id);
	ans = request(r, path, NULL, &status, reason);
	if (ans != NULL)
		answer_schema(ans, &got, reason);
	json_decref(ans);
	if (ans == NULL && status / 100 != 4) {
		/* No answer or a server error: ask again next time. */
		snprintf(why, SCHEMA_ERR_MAX, "schema id %" PRIu32 ": %s", id,
		    reason);
		return NULL;
	}
	if (got.s == NULL && got.p == NULL)
		got.why = xstrdup(reason);
	r->cache = xgrow(r->cache, &r->cap, r->n + 1, sizeof(*r->cache));
	c = &r->cache[r->n];
	r->last = r->n++;
	*c = got;
	return c;
}

const struct avro_sch *registry_schema(struct registry *r, uint32_t id,
    char *why)
{
	const struct cached *c = lookup(r, id, why);

	if (c == NULL || c->s != NULL)
		return c ? c->s : NULL;
	snprintf(why, SCHEMA_ERR_MAX, "schema id %" PRIu32 ": %s", id,
	    c->p ? "a PROTOBUF schema, not Avro" : c->why);
	return NULL;
}

const struct proto_sch *registry_proto(struct registry *r, uint32_t id,
    char *why)
{
	const struct cached *c = lookup(r, id, why);

	if (c == NULL || c->p != NULL)
		return c ? c->p : NULL;
	snprintf(why, SCHEMA_ERR_MAX, "schema id %" PRIu32 ": %s", id,
	    c->s ? "an AVRO schema, not Protobuf" : c->why);
	return NULL;
}

/* "/subjects/SUBJECT" with the subject escaped, then suffix. */
static char *subject_path(struct registry *r, const char *subject,
    const char *suffix)
{
	char *esc = curl_easy_escape(r->curl, subject, 0);
	char *p;

	if (esc == NULL)
		diag_fatal("out of memory");
	p = xmalloc(strlen(esc) + strlen(suffix) + 16);
	memcpy(p, "/subjects/", 10);
	memcpy(p + 10, esc, strlen(esc));
	memcpy(p + 10 + strlen(esc), suffix, strlen(suffix) + 1);
	curl_free(esc);
	return p;
}

static int64_t answer_id(json_t *ans, char *why)
{
	const json_t *id = json_object_get(ans, "id");
	int64_t v = -1;

	if (ans == NULL)
		return -1;
	if (json_is_integer(id) && json_integer_value(id) >= 0 &&
	    json_integer_value(id) <= UINT32_MAX)
		v = json_integer_value(id);
	else
		snprintf(why, SCHEMA_ERR_MAX, "registry: answer has no 'id'");
	json_decref(ans);
	return v;
}

int64_t registry_register(struct registry *r, const char *subject,
    const char *text, enum schema_fmt fmt, char *why)
{
	char *path = subject_path(r, subject, "/versions");
	json_t *body = fmt == SCHEMA_PROTOBUF ?
	    json_pack("{ssss}", "schema", text, "schemaType", "PROTOBUF") :
	    json_pack("{ss}", "schema", text);
	char *s = json_dumps(body, JSON_COMPACT);
	long status;
	json_t *ans;

	if (s == NULL)
		diag_fatal("out of memory");
	ans = request(r, path, s, &status, why);
	free(s);
	json_decref(body);
	free(path);
	return answer_id(ans, why);
}

int64_t registry_latest(struct registry *r, const char *subject, char *why)
{
	char *path = subject_path(r, subject, "/versions/latest");
	long status;
	json_t *ans = request(r, path, NULL, &status, why);

	free(path);
	return answer_id(ans, why);
}
