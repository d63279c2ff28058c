/*
 * avro_schema.c - an Avro schema, checked by Apache Avro C and compiled
 * into the tree of avro_node.h.
 *
 * Avro C parses and validates the schema (names, types, symbols); it
 * keeps no logical types, so the tree is compiled from the JSON again,
 * reading "logicalType", "precision" and "scale" as the spec says: an
 * invalid logical type is its underlying type.
 */
#include <avro.h>
#include <stdio.h>
#include <string.h>

#include "rec.h"
#include "xalloc.h"

#include "avro_node.h"
#include "schema.h"

#include "banned.h"

static const char *const primitives[] = {
	[AVK_NULL] = "null", [AVK_BOOLEAN] = "boolean", [AVK_INT] = "int",
	[AVK_LONG] = "long", [AVK_FLOAT] = "float", [AVK_DOUBLE] = "double",
	[AVK_BYTES] = "bytes", [AVK_STRING] = "string",
};

struct compiler {
	struct avro_sch *s;
	char *why;
};

static struct avnode *node_new(struct compiler *c, enum avk kind)
{
	struct avro_sch *s = c->s;
	struct avnode *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->zero = kind == AVK_NULL;
	if (kind <= AVK_STRING)
		n->branch = primitives[kind];
	else if (kind == AVK_ARRAY)
		n->branch = "array";
	else if (kind == AVK_MAP)
		n->branch = "map";
	s->nodes = xgrow(s->nodes, &s->cap, s->nnodes + 1, sizeof(*s->nodes));
	s->nodes[s->nnodes++] = n;
	return n;
}

static int primitive(const char *name)
{
	for (size_t i = 0; i < sizeof(primitives) / sizeof(*primitives); i++)
		if (strcmp(primitives[i], name) == 0)
			return (int)i;
	return -1;
}

/* The named type called name, seen from namespace ns, or NULL. */
static struct avnode *lookup(struct compiler *c, const char *name,
    const char *ns)
{
	char full[512];

	if (strchr(name, '.') == NULL && ns != NULL && *ns != '\0') {
		snprintf(full, sizeof(full), "%s.%s", ns, name);
		name = full;
	}
	for (size_t i = 0; i < c->s->nnodes; i++) {
		struct avnode *n = c->s->nodes[i];

		if (n->name != NULL && strcmp(n->name, name) == 0)
			return n;
	}
	return NULL;
}

static struct avnode *compile(struct compiler *c, const json_t *j,
    const char *ns);

static void logical(struct avnode *n, const json_t *j)
{
	const char *lt = json_string_value(json_object_get(j, "logicalType"));
	json_int_t prec, scale;

	if (lt == NULL)
		return;
	if (strcmp(lt, "decimal") == 0 &&
	    (n->kind == AVK_BYTES || n->kind == AVK_FIXED)) {
		prec = json_integer_value(json_object_get(j, "precision"));
		scale = json_integer_value(json_object_get(j, "scale"));
		if (prec <= 0 || scale < 0 || scale > prec || prec > 1000)
			return;
		if (n->kind == AVK_FIXED && n->size < 64 &&
		    (double)prec > (double)(8 * n->size - 1) * 0.30103)
			return;
		n->logical = AVL_DECIMAL;
		n->precision = (int)prec;
		n->scale = (int)scale;
	} else if (strcmp(lt, "date") == 0 && n->kind == AVK_INT) {
		n->logical = AVL_DATE;
	} else if (strcmp(lt, "timestamp-millis") == 0 && n->kind == AVK_LONG) {
		n->logical = AVL_TS_MILLIS;
	} else if (strcmp(lt, "timestamp-micros") == 0 && n->kind == AVK_LONG) {
		n->logical = AVL_TS_MICROS;
	}
}

/* A named type's node, registered under its full name before its
 * fields are compiled (they may refer to it). */
static struct avnode *named(struct compiler *c, const json_t *j,
    enum avk kind, const char **ns)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *space = json_string_value(json_object_get(j, "namespace"));
	struct avnode *n = node_new(c, kind);
	const char *dot;

	if (name == NULL)
		name = "";
	if (strchr(name, '.') != NULL) {
		n->name = xstrdup(name);
	} else {
		if (space == NULL)
			space = *ns;
		if (space != NULL && *space != '\0') {
			n->name = xmalloc(strlen(space) + strlen(name) + 2);
			memcpy(n->name, space, strlen(space));
			n->name[strlen(space)] = '.';
			memcpy(n->name + strlen(space) + 1, name, strlen(name) + 1);
		} else {
			n->name = xstrdup(name);
		}
	}
	n->branch = n->name;
	dot = strrchr(n->name, '.');
	/* The namespace for what is inside: this name's. */
	*ns = dot ? xstrndup(n->name, (size_t)(dot - n->name)) : NULL;
	return n;
}

static struct avnode *compile_record(struct compiler *c, const json_t *j,
    const char *outer)
{
	const char *ns = outer;
	struct avnode *n = named(c, j, AVK_RECORD, &ns);
	const json_t *fields = json_object_get(j, "fields");
	char *own = (char *)ns;
	size_t i;

	n->n = json_array_size(fields);
	n->sub = xcalloc(n->n + 1, sizeof(*n->sub));
	n->names = xcalloc(n->n + 1, sizeof(*n->names));
	n->defaults = xcalloc(n->n + 1, sizeof(*n->defaults));
	n->zero = true;
	for (i = 0; i < n->n; i++) {
		const json_t *f = json_array_get(fields, i);

		n->names[i] = xstrdup(json_string_value(json_object_get(f, "name")));
		n->defaults[i] = json_object_get(f, "default");
		n->sub[i] = compile(c, json_object_get(f, "type"), ns);
		if (n->sub[i] == NULL)
			break;
		n->zero = n->zero && n->sub[i]->zero;
	}
	free(own);
	return i == n->n ? n : NULL;
}

static struct avnode *compile_object(struct compiler *c, const json_t *j,
    const char *ns)
{
	const json_t *t = json_object_get(j, "type");
	const char *type = json_string_value(t);
	struct avnode *n;
	int p;

	if (type == NULL)
		return compile(c, t, ns);
	if ((p = primitive(type)) >= 0) {
		n = node_new(c, (enum avk)p);
	} else if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0) {
		return compile_record(c, j, ns);
	} else if (strcmp(type, "enum") == 0) {
		const json_t *syms = json_object_get(j, "symbols");
		char *own;

		n = named(c, j, AVK_ENUM, &ns);
		own = (char *)ns;
		free(own);
		n->n = json_array_size(syms);
		n->names = xcalloc(n->n + 1, sizeof(*n->names));
		for (size_t i = 0; i < n->n; i++)
			n->names[i] = xstrdup(json_string_value(json_array_get(syms, i)));
	} else if (strcmp(type, "fixed") == 0) {
		char *own;

		n = named(c, j, AVK_FIXED, &ns);
		own = (char *)ns;
		free(own);
		n->size = (size_t)json_integer_value(json_object_get(j, "size"));
		n->zero = n->size == 0;
	} else if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
		bool arr = type[0] == 'a';

		n = node_new(c, arr ? AVK_ARRAY : AVK_MAP);
		n->n = 1;
		n->sub = xcalloc(1, sizeof(*n->sub));
		n->sub[0] = compile(c, json_object_get(j, arr ? "items" : "values"),
		    ns);
		if (n->sub[0] == NULL)
			return NULL;
	} else {
		return compile(c, t, ns);
	}
	logical(n, j);
	return n;
}

static struct avnode *compile(struct compiler *c, const json_t *j,
    const char *ns)
{
	struct avnode *n;
	int p;

	if (json_is_string(j)) {
		const char *name = json_string_value(j);

		if ((p = primitive(name)) >= 0)
			return node_new(c, (enum avk)p);
		if ((n = lookup(c, name, ns)) == NULL &&
		    (n = lookup(c, name, NULL)) == NULL)
			snprintf(c->why, SCHEMA_ERR_MAX, "unknown type '%s'", name);
		return n;
	}
	if (json_is_array(j)) {
		n = node_new(c, AVK_UNION);
		n->n = json_array_size(j);
		n->sub = xcalloc(n->n + 1, sizeof(*n->sub));
		for (size_t i = 0; i < n->n; i++)
			if ((n->sub[i] = compile(c, json_array_get(j, i), ns)) == NULL)
				return NULL;
		return n;
	}
	if (json_is_object(j))
		return compile_object(c, j, ns);
	snprintf(c->why, SCHEMA_ERR_MAX, "not a schema");
	return NULL;
}

/* The keys the decoder writes for n (avro_node.h), made once. */
static void make_keys(struct avnode *n)
{
	if (n->branch != NULL)
		rec_key_make(&n->branch_key, n->branch);
	if (n->kind != AVK_RECORD)
		return;
	n->key_off = xcalloc(n->n + 1, sizeof(*n->key_off));
	for (size_t i = 0; i < n->n; i++) {
		rec_key_make(&n->keys, n->names[i]);
		n->key_off[i + 1] = n->keys.len;
	}
}

struct avro_sch *avsch_new(const char *text, size_t len, char *why)
{
	struct avro_sch *s;
	struct compiler c;
	avro_schema_t checked;
	json_error_t err;

	if (avro_schema_from_json_length(text, len, &checked) != 0) {
		snprintf(why, SCHEMA_ERR_MAX, "invalid Avro schema: %s",
		    avro_strerror());
		return NULL;
	}
	avro_schema_decref(checked);
	s = xcalloc(1, sizeof(*s));
	s->json = json_loadb(text, len, JSON_DECODE_ANY, &err);
	if (s->json == NULL) {
		snprintf(why, SCHEMA_ERR_MAX, "invalid Avro schema: %s", err.text);
		avsch_free(s);
		return NULL;
	}
	c.s = s;
	c.why = why;
	s->root = compile(&c, s->json, NULL);
	if (s->root == NULL) {
		avsch_free(s);
		return NULL;
	}
	for (size_t i = 0; i < s->nnodes; i++)
		make_keys(s->nodes[i]);
	return s;
}

void avsch_free(struct avro_sch *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nnodes; i++) {
		struct avnode *n = s->nodes[i];

		if (n->names != NULL)
			for (size_t k = 0; k < n->n; k++)
				free(n->names[k]);
		free(n->names);
		free(n->sub);
		free(n->defaults);
		free(n->key_off);
		buf_free(&n->keys);
		buf_free(&n->branch_key);
		free(n->name);
		free(n);
	}
	free(s->nodes);
	json_decref(s->json);
	free(s);
}
