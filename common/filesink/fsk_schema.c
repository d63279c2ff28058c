/*
 * fsk_schema.c - an Avro schema inferred from one row (filesink.h), for
 * fs-sink-file --format avro without --schema.  fs-sink-file(1),
 * "Avro schemas", says the same:
 *
 *   the row            a record "Row" in namespace "fs.sink", its fields
 *                      in the row's member order
 *   each member        a field of type ["null", T] with default null,
 *                      so that later rows may leave it out or null
 *   integer            long
 *   real               double (a later integer fits too)
 *   string             string
 *   true, false        boolean
 *   null               string (the first row cannot say more)
 *   object             a record of its own (named Row_1, Row_2, ... in
 *                      the order met), inferred the same way
 *   array              an array of ["null", T], T from its first
 *                      non-null element (string when there is none)
 *
 * A member name Avro does not allow ([A-Za-z_][A-Za-z0-9_]*) makes the
 * row unusable for inference: the caller rejects it and infers from the
 * next one.
 */
#include <stdio.h>
#include <string.h>

#include "filesink.h"
#include "banned.h"

struct infer {
	unsigned records;       /* named so far */
	char *why;
	size_t wl;
};

static json_t *type_of(struct infer *in, const json_t *v, const char *at);

static bool avro_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static json_t *nullable(json_t *t)
{
	return t ? json_pack("[s,o]", "null", t) : NULL;
}

static json_t *record_of(struct infer *in, const json_t *obj, const char *at)
{
	char name[32], path[512];
	const char *k;
	json_t *v, *fields = json_array();

	if (in->records == 0)
		snprintf(name, sizeof name, "Row");
	else
		snprintf(name, sizeof name, "Row_%u", in->records);
	in->records++;
	json_object_foreach((json_t *)obj, k, v) {
		snprintf(path, sizeof path, "%s.%s", at, k);
		if (!avro_name(k)) {
			snprintf(in->why, in->wl, "cannot infer an Avro schema: "
			    "member '%s' is not an Avro name ([A-Za-z_]"
			    "[A-Za-z0-9_]*)", path);
			json_decref(fields);
			return NULL;
		}
		json_t *t = nullable(type_of(in, v, path));
		if (t == NULL) {
			json_decref(fields);
			return NULL;
		}
		json_array_append_new(fields, json_pack("{s:s,s:o,s:n}", "name",
		    k, "type", t, "default"));
	}
	return json_pack("{s:s,s:s,s:o}", "type", "record", "name", name,
	    "fields", fields);
}

static json_t *type_of(struct infer *in, const json_t *v, const char *at)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return json_string("long");
	case JSON_REAL:
		return json_string("double");
	case JSON_TRUE:
	case JSON_FALSE:
		return json_string("boolean");
	case JSON_OBJECT:
		return record_of(in, v, at);
	case JSON_ARRAY: {
		size_t i;
		json_t *e, *items = NULL;
		json_array_foreach(v, i, e)
			if (!json_is_null(e)) {
				items = type_of(in, e, at);
				if (items == NULL)
					return NULL;
				break;
			}
		if (items == NULL)
			items = json_string("string");
		return json_pack("{s:s,s:o}", "type", "array", "items",
		    nullable(items));
	}
	default:        /* string, null */
		return json_string("string");
	}
}

json_t *fsk_schema_infer(const json_t *row, char *why, size_t wl)
{
	struct infer in = { 0, why, wl };
	json_t *s = record_of(&in, row, "");

	if (s != NULL)
		json_object_set_new(s, "namespace", json_string("fs.sink"));
	return s;
}
