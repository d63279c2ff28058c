/*
 * sel_parse.c - the expressions of select.h from their text: a lexer
 * and a recursive-descent parser with SQL's precedence (OR, AND, NOT,
 * comparisons, + -, * / %, unary minus).  Errors name the 1-based
 * column of the text where the parser stopped.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sel_int.h"
#include "xalloc.h"
#include "banned.h"

enum tok {
	T_EOF, T_INT, T_REAL, T_STR, T_WORD, T_QWORD,
	T_AND, T_OR, T_NOT, T_IS, T_NULL, T_TRUE, T_FALSE, T_IN, T_BETWEEN,
	T_AS,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PCT,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
	T_LP, T_RP, T_COMMA, T_COLON, T_DOT
};

static const struct { const char *word; enum tok t; } keywords[] = {
	{ "AND", T_AND }, { "OR", T_OR }, { "NOT", T_NOT }, { "IS", T_IS },
	{ "NULL", T_NULL }, { "TRUE", T_TRUE }, { "FALSE", T_FALSE },
	{ "IN", T_IN }, { "BETWEEN", T_BETWEEN }, { "AS", T_AS },
};

struct lex {
	struct sel *s;
	const char *text;
	size_t pos;             /* where the next token starts scanning */
	size_t start;           /* where the current token starts */
	enum tok t;
	struct buf val;         /* a word's or string's text */
	int64_t i;
	bool min_magnitude;     /* T_INT 9223372036854775808: only after '-' */
	double d;
	char *why;
	size_t whyn;
	bool failed;
};

static int fail(struct lex *l, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first error only: later ones follow from it. */
static int fail(struct lex *l, size_t at, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (l->failed)
		return -1;
	l->failed = true;
	k = snprintf(l->why, l->whyn, "column %zu: ", at + 1);
	if (k >= 0 && (size_t)k < l->whyn) {
		va_start(ap, fmt);
		vsnprintf(l->why + k, l->whyn - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool is_word_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c == '$';
}

static bool is_word_char(char c)
{
	return is_word_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int lex_number(struct lex *l)
{
	const char *p = l->text + l->pos, *q = p;
	bool real = false;
	char *end;

	while (is_digit(*q))
		q++;
	if (*q == '.' && is_digit(q[1])) {
		real = true;
		for (q++; is_digit(*q); q++)
			;
	}
	if (*q == 'e' || *q == 'E') {
		const char *e = q + 1;

		if (*e == '+' || *e == '-')
			e++;
		if (is_digit(*e)) {
			real = true;
			for (q = e; is_digit(*q); q++)
				;
		}
	}
	if (is_word_char(*q) || *q == '.')
		return fail(l, (size_t)(q - l->text), "not a number: '%.*s'",
		    (int)(q - p + 1), p);
	buf_reset(&l->val);
	buf_append(&l->val, p, (size_t)(q - p));
	errno = 0;
	if (real) {
		l->d = strtod(l->val.data, &end);
		if (!isfinite(l->d))
			return fail(l, l->pos, "number out of range: '%s'",
			    l->val.data);
		l->t = T_REAL;
	} else {
		unsigned long long u = strtoull(l->val.data, &end, 10);

		if (errno == ERANGE || u > (unsigned long long)INT64_MAX + 1)
			return fail(l, l->pos, "integer out of range: '%s'",
			    l->val.data);
		l->min_magnitude = u == (unsigned long long)INT64_MAX + 1;
		l->i = l->min_magnitude ? INT64_MIN : (int64_t)u;
		l->t = T_INT;
	}
	l->pos = (size_t)(q - l->text);
	return 0;
}

/* 'text' with '' for a quote, or `name` with `` for a backquote. */
static int lex_quoted(struct lex *l, char q, enum tok t)
{
	const char *p = l->text + l->pos + 1;

	buf_reset(&l->val);
	buf_append(&l->val, "", 0);     /* '' too has its bytes */
	for (;; p++) {
		if (*p == '\0')
			return fail(l, l->start, "%s not closed",
			    q == '\'' ? "string" : "quoted name");
		if (*p == q) {
			if (p[1] != q)
				break;
			p++;
		}
		buf_appendc(&l->val, *p);
	}
	if (t == T_QWORD && l->val.len == 0)
		return fail(l, l->start, "empty name");
	if (!rec_utf8_text(l->val.data, l->val.len))
		return fail(l, l->start, "%s is not UTF-8",
		    q == '\'' ? "string" : "name");
	l->t = t;
	l->pos = (size_t)(p + 1 - l->text);
	return 0;
}

static int lex_word(struct lex *l)
{
	const char *p = l->text + l->pos, *q = p;

	while (is_word_char(*q))
		q++;
	buf_reset(&l->val);
	buf_append(&l->val, p, (size_t)(q - p));
	l->pos = (size_t)(q - l->text);
	l->t = T_WORD;
	for (size_t k = 0; k < sizeof keywords / sizeof *keywords; k++)
		if (strcasecmp(l->val.data, keywords[k].word) == 0)
			l->t = keywords[k].t;
	return 0;
}

static int lex_op(struct lex *l)
{
	static const struct { const char *s; enum tok t; } ops[] = {
		{ "<>", T_NE }, { "!=", T_NE }, { "<=", T_LE }, { ">=", T_GE },
		{ "==", T_EQ },
		{ "+", T_PLUS }, { "-", T_MINUS }, { "*", T_STAR },
		{ "/", T_SLASH }, { "%", T_PCT }, { "=", T_EQ }, { "<", T_LT },
		{ ">", T_GT }, { "(", T_LP }, { ")", T_RP }, { ",", T_COMMA },
		{ ":", T_COLON }, { ".", T_DOT },
	};
	const char *p = l->text + l->pos;

	for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
		size_t n = strlen(ops[k].s);

		if (strncmp(p, ops[k].s, n) == 0) {
			l->t = ops[k].t;
			l->pos += n;
			return 0;
		}
	}
	if (*p == '"')
		return fail(l, l->pos, "strings are in single quotes "
		    "('text'), names with odd characters in backquotes");
	return fail(l, l->pos, "unexpected character '%c'", *p);
}

/* The next token into l; -1 on a lexical error. */
static int next(struct lex *l)
{
	const char *p;

	if (l->failed)
		return -1;
	p = l->text + l->pos;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	l->pos = l->start = (size_t)(p - l->text);
	if (*p == '\0') {
		l->t = T_EOF;
		return 0;
	}
	if (is_digit(*p))
		return lex_number(l);
	if (*p == '\'')
		return lex_quoted(l, '\'', T_STR);
	if (*p == '`')
		return lex_quoted(l, '`', T_QWORD);
	if (is_word_start(*p))
		return lex_word(l);
	return lex_op(l);
}

/* A word or a backquoted name (a keyword too, after a dot). */
static bool is_name(enum tok t, bool keywords_too)
{
	return t == T_WORD || t == T_QWORD ||
	    (keywords_too && t >= T_AND && t <= T_AS);
}

/* --- the parser ---------------------------------------------------------- */

static struct sel_node *node(enum sel_op op, size_t at)
{
	struct sel_node *e = xcalloc(1, sizeof *e);

	e->op = op;
	e->col = (int)at + 1;
	e->slot = -1;
	return e;
}

static struct sel_node *binary(enum sel_op op, size_t at, struct sel_node *a,
    struct sel_node *b)
{
	struct sel_node *e;

	if (a == NULL || b == NULL) {
		sel_node_free(a);
		sel_node_free(b);
		return NULL;
	}
	e = node(op, at);
	e->a = a;
	e->b = b;
	return e;
}

static struct sel_node *expr(struct lex *l);

/* A member path: name ('.' name)*, as path.h's text ('.' and '\'
 * escaped with '\'). */
static struct sel_node *path_node(struct lex *l)
{
	struct buf text = BUF_INIT;
	size_t at = l->start;
	struct sel_node *e;

	for (;;) {
		for (size_t k = 0; k < l->val.len; k++) {
			char c = l->val.data[k];

			if (c == '.' || c == '\\')
				buf_appendc(&text, '\\');
			buf_appendc(&text, c);
		}
		if (next(l) < 0)
			break;
		if (l->t != T_DOT)
			break;
		if (next(l) < 0)
			break;
		if (!is_name(l->t, true)) {
			fail(l, l->start, "expected a member name after '.'");
			break;
		}
		buf_appendc(&text, '.');
	}
	if (l->failed) {
		buf_free(&text);
		return NULL;
	}
	e = node(OP_PATH, at);
	e->slot = sel_slot_of(l->s, text.data);
	buf_free(&text);
	return e;
}

static struct sel_node *literal(struct lex *l)
{
	struct sel_node *e = node(OP_LIT, l->start);

	switch (l->t) {
	case T_INT:
		if (l->min_magnitude) {
			sel_node_free(e);
			fail(l, l->start, "integer out of range: '%s'",
			    l->val.data);
			return NULL;
		}
		e->lit.t = SEL_INT;
		e->lit.i = l->i;
		break;
	case T_REAL:
		e->lit.t = SEL_REAL;
		e->lit.d = l->d;
		break;
	case T_STR:
		e->str = xstrndup(l->val.data, l->val.len);
		e->lit.t = SEL_STR;
		e->lit.s = e->str;
		e->lit.n = l->val.len;
		break;
	case T_TRUE:
	case T_FALSE:
		e->lit.t = SEL_BOOL;
		e->lit.b = l->t == T_TRUE;
		break;
	default:
		e->lit.t = SEL_NULL;
		break;
	}
	if (next(l) < 0) {
		sel_node_free(e);
		return NULL;
	}
	return e;
}

/* NAME( ... ): the functions.  PROCTIME(), Flink's processing time:
 * the wall clock as the record is read. */
static struct sel_node *call(struct lex *l)
{
	size_t at = l->start;
	struct sel_node *e;

	if (strcasecmp(l->val.data, "PROCTIME") != 0) {
		fail(l, at, "unknown function '%s'", l->val.data);
		return NULL;
	}
	if (next(l) < 0 || next(l) < 0)        /* the name, '(' */
		return NULL;
	if (l->t != T_RP) {
		fail(l, l->start, "PROCTIME takes no arguments");
		return NULL;
	}
	if (next(l) < 0)
		return NULL;
	e = node(OP_PROCTIME, at);
	return e;
}

/* True when the word just read is followed by '(': a function call. */
static bool before_paren(const struct lex *l)
{
	const char *p = l->text + l->pos;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return *p == '(';
}

static struct sel_node *primary(struct lex *l)
{
	struct sel_node *e;

	switch (l->t) {
	case T_INT: case T_REAL: case T_STR: case T_TRUE: case T_FALSE:
	case T_NULL:
		return literal(l);
	case T_WORD:
		if (before_paren(l))
			return call(l);
		return path_node(l);
	case T_QWORD:
		return path_node(l);
	case T_LP:
		if (next(l) < 0)
			return NULL;
		e = expr(l);
		if (e == NULL)
			return NULL;
		if (l->t != T_RP) {
			sel_node_free(e);
			fail(l, l->start, "expected ')'");
			return NULL;
		}
		if (next(l) < 0) {
			sel_node_free(e);
			return NULL;
		}
		return e;
	case T_EOF:
		fail(l, l->start, "expected an operand at the end");
		return NULL;
	default:
		fail(l, l->start, "expected an operand");
		return NULL;
	}
}

static struct sel_node *unary(struct lex *l)
{
	size_t at = l->start;
	struct sel_node *e, *a;

	if (l->t != T_MINUS && l->t != T_PLUS)
		return primary(l);
	bool minus = l->t == T_MINUS;
	if (next(l) < 0)
		return NULL;
	if (minus && l->t == T_INT && l->min_magnitude) {
		/* -9223372036854775808: INT64_MIN, written as SQL writes it */
		e = node(OP_LIT, at);
		e->lit.t = SEL_INT;
		e->lit.i = INT64_MIN;
		if (next(l) < 0) {
			sel_node_free(e);
			return NULL;
		}
		return e;
	}
	a = unary(l);
	if (a == NULL || !minus)
		return a;
	/* -5 is the literal, so that INT64_MIN can be written */
	if (a->op == OP_LIT && a->lit.t == SEL_INT && a->lit.i > 0) {
		a->lit.i = -a->lit.i;
		a->col = (int)at + 1;
		return a;
	}
	if (a->op == OP_LIT && a->lit.t == SEL_REAL) {
		a->lit.d = -a->lit.d;
		a->col = (int)at + 1;
		return a;
	}
	e = node(OP_NEG, at);
	e->a = a;
	return e;
}

static struct sel_node *term(struct lex *l)
{
	struct sel_node *e = unary(l);

	while (e != NULL && (l->t == T_STAR || l->t == T_SLASH ||
	    l->t == T_PCT)) {
		enum sel_op op = l->t == T_STAR ? OP_MUL : l->t == T_SLASH ?
		    OP_DIV : OP_MOD;
		size_t at = l->start;

		if (next(l) < 0) {
			sel_node_free(e);
			return NULL;
		}
		e = binary(op, at, e, unary(l));
	}
	return e;
}

static struct sel_node *sum(struct lex *l)
{
	struct sel_node *e = term(l);

	while (e != NULL && (l->t == T_PLUS || l->t == T_MINUS)) {
		enum sel_op op = l->t == T_PLUS ? OP_ADD : OP_SUB;
		size_t at = l->start;

		if (next(l) < 0) {
			sel_node_free(e);
			return NULL;
		}
		e = binary(op, at, e, term(l));
	}
	return e;
}

/* IN (a, b, ...) after its left operand e; op OP_IN or OP_NOTIN. */
static struct sel_node *in_list(struct lex *l, struct sel_node *e,
    enum sel_op op, size_t at)
{
	struct sel_node *in = node(op, at);
	size_t cap = 0;

	in->a = e;
	if (next(l) < 0 || (l->t != T_LP &&
	    fail(l, l->start, "expected '(' after IN") < 0) || next(l) < 0) {
		sel_node_free(in);
		return NULL;
	}
	for (;;) {
		struct sel_node *v = expr(l);

		if (v == NULL) {
			sel_node_free(in);
			return NULL;
		}
		in->list = xgrow(in->list, &cap, in->nlist + 1,
		    sizeof *in->list);
		in->list[in->nlist++] = v;
		if (l->t == T_RP)
			break;
		if (l->t != T_COMMA) {
			fail(l, l->start, "expected ',' or ')' in the IN list");
			sel_node_free(in);
			return NULL;
		}
		if (next(l) < 0) {
			sel_node_free(in);
			return NULL;
		}
	}
	if (next(l) < 0) {
		sel_node_free(in);
		return NULL;
	}
	return in;
}

static struct sel_node *between(struct lex *l, struct sel_node *e,
    enum sel_op op, size_t at)
{
	struct sel_node *b = node(op, at);

	b->a = e;
	b->list = xcalloc(2, sizeof *b->list);
	b->nlist = 2;
	if (next(l) < 0 || (b->list[0] = sum(l)) == NULL) {
		sel_node_free(b);
		return NULL;
	}
	if (l->t != T_AND) {
		fail(l, l->start, "expected AND in BETWEEN");
		sel_node_free(b);
		return NULL;
	}
	if (next(l) < 0 || (b->list[1] = sum(l)) == NULL) {
		sel_node_free(b);
		return NULL;
	}
	return b;
}

static struct sel_node *comparison(struct lex *l)
{
	struct sel_node *e = sum(l);
	size_t at = l->start;
	enum sel_op op;

	if (e == NULL)
		return NULL;
	switch (l->t) {
	case T_EQ: op = OP_EQ; break;
	case T_NE: op = OP_NE; break;
	case T_LT: op = OP_LT; break;
	case T_LE: op = OP_LE; break;
	case T_GT: op = OP_GT; break;
	case T_GE: op = OP_GE; break;
	case T_IS: {
		struct sel_node *is;
		bool neg = false;

		if (next(l) < 0) {
			sel_node_free(e);
			return NULL;
		}
		if (l->t == T_NOT) {
			neg = true;
			if (next(l) < 0) {
				sel_node_free(e);
				return NULL;
			}
		}
		if (l->t != T_NULL || next(l) < 0) {
			fail(l, l->start, "expected NULL after IS%s",
			    neg ? " NOT" : "");
			sel_node_free(e);
			return NULL;
		}
		is = node(neg ? OP_ISNOTNULL : OP_ISNULL, at);
		is->a = e;
		return is;
	}
	case T_IN:
		return in_list(l, e, OP_IN, at);
	case T_BETWEEN:
		return between(l, e, OP_BETWEEN, at);
	case T_NOT:
		if (next(l) < 0) {
			sel_node_free(e);
			return NULL;
		}
		if (l->t == T_IN)
			return in_list(l, e, OP_NOTIN, at);
		if (l->t == T_BETWEEN)
			return between(l, e, OP_NOTBETWEEN, at);
		fail(l, l->start, "expected IN or BETWEEN after NOT");
		sel_node_free(e);
		return NULL;
	default:
		return e;
	}
	if (next(l) < 0) {
		sel_node_free(e);
		return NULL;
	}
	return binary(op, at, e, sum(l));
}

static struct sel_node *negation(struct lex *l)
{
	size_t at = l->start;
	struct sel_node *e;

	if (l->t != T_NOT)
		return comparison(l);
	if (next(l) < 0)
		return NULL;
	struct sel_node *a = negation(l);
	if (a == NULL)
		return NULL;
	e = node(OP_NOT, at);
	e->a = a;
	return e;
}

static struct sel_node *conjunction(struct lex *l)
{
	struct sel_node *e = negation(l);

	while (e != NULL && l->t == T_AND) {
		size_t at = l->start;

		if (next(l) < 0) {
			sel_node_free(e);
			return NULL;
		}
		e = binary(OP_AND, at, e, negation(l));
	}
	return e;
}

static struct sel_node *expr(struct lex *l)
{
	struct sel_node *e = conjunction(l);

	while (e != NULL && l->t == T_OR) {
		size_t at = l->start;

		if (next(l) < 0) {
			sel_node_free(e);
			return NULL;
		}
		e = binary(OP_OR, at, e, conjunction(l));
	}
	return e;
}

static void lex_init(struct lex *l, struct sel *s, const char *text,
    char *why, size_t n)
{
	memset(l, 0, sizeof *l);
	l->s = s;
	l->text = text;
	l->why = why;
	l->whyn = n;
}

struct sel_node *sel_parse_expr(struct sel *s, const char *text, char *why,
    size_t n)
{
	struct lex l;
	struct sel_node *e = NULL;

	lex_init(&l, s, text, why, n);
	if (next(&l) == 0) {
		if (l.t == T_EOF)
			fail(&l, l.start, "empty expression");
		else
			e = expr(&l);
	}
	if (e != NULL && l.t != T_EOF) {
		fail(&l, l.start, "expected an operator or the end");
		sel_node_free(e);
		e = NULL;
	}
	buf_free(&l.val);
	return l.failed ? NULL : e;
}

/* --- the field list -------------------------------------------------------- */

static int add_field(struct sel *s, struct lex *l, char *name, size_t at,
    struct sel_node *e)
{
	struct sel_field *f;

	for (size_t k = 0; k < s->nfields; k++)
		if (strcmp(s->fields[k].name, name) == 0) {
			fail(l, at, "member '%s' named twice", name);
			free(name);
			sel_node_free(e);
			return -1;
		}
	s->fields = xgrow(s->fields, &s->cap_fields, s->nfields + 1,
	    sizeof *s->fields);
	f = &s->fields[s->nfields++];
	memset(f, 0, sizeof *f);
	f->name = name;
	f->e = e;
	rec_key_make(&f->key, name);
	return 0;
}

/* NAME after ':' or AS. */
static char *alias(struct lex *l)
{
	char *name;

	if (next(l) < 0)
		return NULL;
	if (!is_name(l->t, true)) {
		fail(l, l->start, "expected a member name");
		return NULL;
	}
	name = xstrndup(l->val.data, l->val.len);
	if (next(l) < 0) {
		free(name);
		return NULL;
	}
	return name;
}

/* One item of the list: NAME=EXPR, EXPR:NAME, EXPR AS NAME, PATH. */
static int field(struct sel *s, struct lex *l)
{
	size_t at = l->start;
	struct sel_node *e;
	char *name = NULL;

	if (is_name(l->t, false)) {
		name = xstrndup(l->val.data, l->val.len);
		if (next(l) < 0) {
			free(name);
			return -1;
		}
		if (l->t == T_EQ) {
			if (next(l) < 0 || (e = expr(l)) == NULL) {
				free(name);
				return -1;
			}
			return add_field(s, l, name, at, e);
		}
		free(name);
		name = NULL;
		l->pos = at;    /* not NAME=: read it again as an expression */
		if (next(l) < 0)
			return -1;
	}
	e = expr(l);
	if (e == NULL)
		return -1;
	if (l->t == T_COLON || l->t == T_AS) {
		name = alias(l);
		if (name == NULL) {
			sel_node_free(e);
			return -1;
		}
	} else if (e->op == OP_PATH) {
		const struct path *p = &s->slots[e->slot].path;

		name = xstrdup(p->parts[p->n - 1]);
	} else {
		sel_node_free(e);
		return fail(l, at, "an expression needs a name: NAME=EXPR");
	}
	return add_field(s, l, name, at, e);
}

int sel_parse_fields(struct sel *s, const char *text, char *why, size_t n)
{
	struct lex l;

	lex_init(&l, s, text, why, n);
	if (next(&l) == 0 && l.t == T_EOF)
		fail(&l, l.start, "no members");
	if (!l.failed && l.t == T_STAR) {
		s->star = true;
		if (next(&l) == 0 && l.t != T_EOF && l.t != T_COMMA)
			fail(&l, l.start, "expected ',' after '*'");
		else if (l.t == T_COMMA && next(&l) == 0 && l.t == T_EOF)
			fail(&l, l.start, "expected a member after ','");
	}
	while (!l.failed && l.t != T_EOF) {
		if (l.t == T_STAR) {
			fail(&l, l.start, "'*' comes first");
			break;
		}
		if (field(s, &l) < 0 || l.t == T_EOF)
			break;
		if (l.t != T_COMMA)
			fail(&l, l.start, "expected ',' or the end");
		else if (next(&l) == 0 && l.t == T_EOF)
			fail(&l, l.start, "expected a member after ','");
	}
	buf_free(&l.val);
	return l.failed ? -1 : 0;
}

void sel_node_free(struct sel_node *e)
{
	if (e == NULL)
		return;
	sel_node_free(e->a);
	sel_node_free(e->b);
	for (size_t k = 0; k < e->nlist; k++)
		sel_node_free(e->list[k]);
	free(e->list);
	free(e->str);
	free(e);
}
