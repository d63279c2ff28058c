/*
 * kafka_recmap.c - how a record becomes a message: its key from fields
 * (-k), its value the record or one field (--value-field), headers from
 * fields (-H), its timestamp from the event time (--timestamp).  See
 * kafka.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "etime.h"
#include "kafka.h"
#include "rec.h"
#include "recenv.h"
#include "xalloc.h"

#include "banned.h"

void kafka_opt_header(void *data, const char *name, const char *arg)
{
	struct kafka_recmap *rm = data;
	const char *eq = strchr(arg, '=');
	struct kafka_header_field *h;

	if (eq == NULL || eq == arg || eq[1] == '\0')
		diag_usage("%s: expected NAME=PATH: '%s'", name, arg);
	rm->headers = xgrow(rm->headers, &rm->hcap, rm->nheaders + 1,
	    sizeof(*rm->headers));
	h = &rm->headers[rm->nheaders++];
	h->name = xstrndup(arg, (size_t)(eq - arg));
	h->arg = arg;
	if (path_compile(&h->path, eq + 1) < 0)
		diag_usage("%s: not a field path: '%s'", name, eq + 1);
}

void kafka_recmap_compile(struct kafka_recmap *rm)
{
	if (rm->key_text && keyspec_compile(&rm->key, rm->key_text) < 0)
		diag_usage("-k: not a list of field paths: '%s'", rm->key_text);
	if (rm->value_field_text &&
	    path_compile(&rm->value_field, rm->value_field_text) < 0)
		diag_usage("--value-field: not a field path: '%s'",
		    rm->value_field_text);
}

bool kafka_recmap_plain(const struct kafka_recmap *rm)
{
	return rm->key_text == NULL && rm->nheaders == 0 &&
	    rm->value_field_text == NULL && rm->time_path == NULL;
}

void kafka_recmap_free(struct kafka_recmap *rm)
{
	for (size_t i = 0; i < rm->nheaders; i++) {
		free(rm->headers[i].name);
		path_free(&rm->headers[i].path);
	}
	free(rm->headers);
	rm->headers = NULL;
	rm->nheaders = rm->hcap = 0;
	if (rm->key_text)
		keyspec_free(&rm->key);
	if (rm->value_field_text)
		path_free(&rm->value_field);
	buf_free(&rm->tmp);
}

/* The key's JSON: one field's value, or the array of several's (a new
 * reference; every field is there). */
static json_t *key_json(const struct keyspec *k, const json_t *obj)
{
	json_t *a;

	if (k->n == 1)
		return json_incref(path_get(&k->paths[0], obj));
	a = json_array();
	for (size_t i = 0; i < k->n; i++)
		json_array_append(a, path_get(&k->paths[i], obj));
	return a;
}

/*
 * Sets m's key from the -k fields; -1 with why when one is missing or
 * holds an object or an array (fs(7)'s bad input).  One field gives its
 * text (a string) or its JSON, null no key (as null is no bytes in an
 * envelope); several give the JSON array of their values.
 */
static int record_key(const struct keyspec *k, const json_t *obj,
    struct kafka_msg *m, char *why)
{
	json_t *v, *a;

	for (size_t i = 0; i < k->n; i++) {
		v = path_get(&k->paths[i], obj);
		if (v == NULL) {
			snprintf(why, REC_ERR_MAX, "missing key field '%s'",
			    k->paths[i].text);
			return -1;
		}
		if (json_is_object(v) || json_is_array(v)) {
			snprintf(why, REC_ERR_MAX, "key field '%s' is %s, not a "
			    "string, number, boolean or null", k->paths[i].text,
			    json_is_object(v) ? "an object" : "an array");
			return -1;
		}
	}
	a = key_json(k, obj);
	m->has_key = !json_is_null(a);
	if (m->has_key)
		rec_env_bytes(&m->key, a);
	json_decref(a);
	return 0;
}

json_t *kafka_recmap_key_json(const struct kafka_recmap *rm, const json_t *obj)
{
	return rm->key_text ? key_json(&rm->key, obj) : NULL;
}

const json_t *kafka_recmap_value_json(const struct kafka_recmap *rm,
    const json_t *obj)
{
	return rm->value_field_text ? path_get(&rm->value_field, obj) : obj;
}

int kafka_recmap_msg(struct kafka_recmap *rm, const json_t *obj,
    const char *line, size_t len, struct kafka_msg *m, char *why)
{
	kafka_msg_reset(m);
	if (rm->key_text && record_key(&rm->key, obj, m, why) < 0)
		return -1;
	m->has_value = true;
	if (rm->value_field_text) {
		const json_t *v = path_get(&rm->value_field, obj);

		if (v == NULL)
			return snprintf(why, REC_ERR_MAX, "missing value field '%s'",
			    rm->value_field.text), -1;
		if (json_is_null(v))
			m->has_value = false;
		else
			rec_env_bytes(&m->value, v);
	} else {
		buf_append(&m->value, line, len);
	}
	for (size_t i = 0; i < rm->nheaders; i++) {
		const json_t *v = path_get(&rm->headers[i].path, obj);

		if (v == NULL)
			continue;
		if (m->headers == NULL)
			m->headers = rd_kafka_headers_new(rm->nheaders);
		buf_reset(&rm->tmp);
		if (json_is_null(v))
			rd_kafka_header_add(m->headers, rm->headers[i].name, -1,
			    NULL, 0);
		else {
			rec_env_bytes(&rm->tmp, v);
			rd_kafka_header_add(m->headers, rm->headers[i].name, -1,
			    rm->tmp.data, (ssize_t)rm->tmp.len);
		}
	}
	if (rm->time_path != NULL) {
		const char *twhy;

		if (etime_get(rm->time_path, obj, &m->timestamp, &twhy) < 0)
			return snprintf(why, REC_ERR_MAX, "%s", twhy), -1;
	}
	return 0;
}
