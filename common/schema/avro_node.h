/*
 * avro_node.h - the compiled Avro schema the decoder and encoder walk
 * (internal to common/schema/).
 *
 * Every node belongs to its struct avro_sch (nodes[]), which frees them;
 * a reference to a named type is a pointer to that type's node, so a
 * recursive schema is a cyclic graph.  A field's default points into
 * the schema's JSON, which the schema keeps.
 */
#ifndef FS_AVRO_NODE_H
#define FS_AVRO_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum avk {
	AVK_NULL, AVK_BOOLEAN, AVK_INT, AVK_LONG, AVK_FLOAT, AVK_DOUBLE,
	AVK_BYTES, AVK_STRING, AVK_RECORD, AVK_ENUM, AVK_ARRAY, AVK_MAP,
	AVK_UNION, AVK_FIXED
};

enum avl { AVL_NONE, AVL_DECIMAL, AVL_DATE, AVL_TS_MILLIS, AVL_TS_MICROS };

struct avnode {
	enum avk kind;
	enum avl logical;
	int precision, scale;   /* decimal */
	size_t size;            /* fixed */
	char *name;             /* named types: the full name */
	const char *branch;     /* this type's name as a union branch */
	size_t n;               /* fields, symbols, branches; 1 for array, map */
	struct avnode **sub;    /* field types, branches, items, values */
	char **names;           /* field names, enum symbols */
	const json_t **defaults;        /* fields' defaults, or NULL */
	bool zero;              /* encodes to no bytes (null, empty record) */
	/* As rec_key_make() writes them, for the decoder's writer: */
	size_t *key_off;        /* field i's name: keys.data + key_off[i], */
	struct buf keys;        /* key_off[i + 1] - key_off[i] bytes */
	struct buf branch_key;  /* branch, when not NULL */
};

struct avro_sch {
	json_t *json;
	struct avnode *root;
	struct avnode **nodes;
	size_t nnodes, cap;
};

/* Maximum nesting of values, against stack exhaustion. */
#define AVRO_MAX_DEPTH 128
/* Most items of an array whose items take no bytes (null, an empty
 * record): any other item takes a byte, so the payload bounds them. */
#define AVRO_MAX_EMPTY 65536

#endif
