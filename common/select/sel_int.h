/*
 * sel_int.h - the inside of select.h, shared by its files: the values
 * an expression computes, its compiled form, and the members it reads.
 * Not for tools: they include select.h.
 */
#ifndef FS_SEL_INT_H
#define FS_SEL_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "path.h"
#include "rec.h"
#include "select.h"

enum sel_type { SEL_NULL, SEL_BOOL, SEL_INT, SEL_REAL, SEL_STR, SEL_JSON };

/* A value; strings and containers are borrowed (from the line, the
 * parsed record or the expression's literal), valid for one record. */
struct sel_val {
	enum sel_type t;
	bool b;
	int64_t i;
	double d;
	const char *s;          /* SEL_STR: the bytes, unescaped */
	size_t n;
	const json_t *j;        /* SEL_JSON: an object or array */
};

enum sel_op {
	OP_LIT, OP_PATH, OP_NEG, OP_NOT,
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_AND, OP_OR, OP_ISNULL, OP_ISNOTNULL,
	OP_IN, OP_NOTIN, OP_BETWEEN, OP_NOTBETWEEN,
	OP_PROCTIME             /* PROCTIME(): the wall clock, epoch ms */
};

struct sel_node {
	enum sel_op op;
	int col;                /* 1-based column of the operator */
	struct sel_val lit;     /* OP_LIT (a string's bytes in str) */
	char *str;
	int slot;               /* OP_PATH: its value in sel.vals */
	struct sel_node *a, *b;
	struct sel_node **list; /* IN's values; BETWEEN's bounds */
	size_t nlist;
};

/* A member path read by the expressions, once however often used. */
struct sel_slot {
	struct path path;
};

/* The members to look for at one level of the record (the fast way):
 * each kid is a member name, the slot of its value (-1: only a step on
 * the way) and the members to look for inside it. */
struct sel_need {
	char *name;
	size_t len;
	int slot;
	struct sel_need *kids;
	size_t nkids, cap;
	struct rec_want *want;  /* the kids' names, for rec_quick_members */
	struct rec_span *found;
};

struct sel_field {
	char *name;
	struct buf key;         /* rec_key_make()'s bytes for name */
	struct sel_node *e;
};

struct sel {
	struct sel_node *where;         /* NULL: every record */
	struct sel_field *fields;
	size_t nfields, cap_fields;
	bool has_fields, star;
	struct sel_slot *slots;
	size_t nslots, cap_slots;
	struct sel_val *vals;           /* one per slot, this record's */
	struct sel_need root;
	bool need_built;
	struct buf tail;                /* '*': the members appended */
};

/* sel_parse.c: the text of an option compiled; label names it in
 * messages only through the caller. */
struct sel_node *sel_parse_expr(struct sel *s, const char *text, char *why,
    size_t n);
int sel_parse_fields(struct sel *s, const char *text, char *why, size_t n);
void sel_node_free(struct sel_node *e);
/* The slot of a member path, added when new. */
int sel_slot_of(struct sel *s, const char *path_text);

/* sel_eval.c: e's value for this record's s->vals; 0, or -1 with the
 * reason (label: "--where", "--fields") in why[REC_ERR_MAX]. */
int sel_eval(const struct sel *s, const struct sel_node *e, const char *label,
    struct sel_val *out, char *why);
/* "a string", "a number", ...: for messages. */
const char *sel_type_name(const struct sel_val *v);

#endif
