/*
 * sel_eval.c - an expression's value for one record (select.h): SQL's
 * three-valued logic, integer arithmetic that stays integer (checked
 * for overflow), reals for the rest, and an error, never a guess, for
 * a type mismatch.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "etime.h"
#include "sel_int.h"
#include "banned.h"

struct ev {
	const struct sel *s;
	const char *label;
	char *why;
};

static int ev_fail(struct ev *x, const struct sel_node *e, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int ev_fail(struct ev *x, const struct sel_node *e, const char *fmt,
    ...)
{
	va_list ap;
	int k = snprintf(x->why, REC_ERR_MAX, "%s: column %d: ", x->label,
	    e->col);

	if (k >= 0 && k < REC_ERR_MAX) {
		va_start(ap, fmt);
		vsnprintf(x->why + k, REC_ERR_MAX - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *sel_type_name(const struct sel_val *v)
{
	switch (v->t) {
	case SEL_NULL: return "null";
	case SEL_BOOL: return "a boolean";
	case SEL_INT: case SEL_REAL: return "a number";
	case SEL_STR: return "a string";
	default: return json_is_array(v->j) ? "an array" : "an object";
	}
}

static const char *op_text(enum sel_op op)
{
	static const char *const t[] = {
		[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/",
		[OP_MOD] = "%", [OP_EQ] = "=", [OP_NE] = "<>", [OP_LT] = "<",
		[OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">=",
	};

	return t[op] ? t[op] : "?";
}

static bool numeric(const struct sel_val *v)
{
	return v->t == SEL_INT || v->t == SEL_REAL;
}

static double real_of(const struct sel_val *v)
{
	return v->t == SEL_INT ? (double)v->i : v->d;
}

static void set_null(struct sel_val *v)
{
	v->t = SEL_NULL;
}

static void set_bool(struct sel_val *v, bool b)
{
	v->t = SEL_BOOL;
	v->b = b;
}

static int eval(struct ev *x, const struct sel_node *e, struct sel_val *v);

static int int_arith(struct ev *x, const struct sel_node *e, int64_t a,
    int64_t b, struct sel_val *v)
{
	bool over = false;

	v->t = SEL_INT;
	switch (e->op) {
	case OP_ADD: over = __builtin_add_overflow(a, b, &v->i); break;
	case OP_SUB: over = __builtin_sub_overflow(a, b, &v->i); break;
	case OP_MUL: over = __builtin_mul_overflow(a, b, &v->i); break;
	case OP_DIV:
	case OP_MOD:
		if (b == 0)
			return ev_fail(x, e, "division by zero");
		if (a == INT64_MIN && b == -1) {
			over = e->op == OP_DIV;
			v->i = 0;
			break;
		}
		v->i = e->op == OP_DIV ? a / b : a % b;
		break;
	default:
		break;
	}
	if (over)
		return ev_fail(x, e, "integer overflow in '%s'", op_text(e->op));
	return 0;
}

static int real_arith(struct ev *x, const struct sel_node *e, double a,
    double b, struct sel_val *v)
{
	v->t = SEL_REAL;
	switch (e->op) {
	case OP_ADD: v->d = a + b; break;
	case OP_SUB: v->d = a - b; break;
	case OP_MUL: v->d = a * b; break;
	case OP_DIV:
	case OP_MOD:
		if (b == 0)
			return ev_fail(x, e, "division by zero");
		v->d = e->op == OP_DIV ? a / b : fmod(a, b);
		break;
	default:
		break;
	}
	if (!isfinite(v->d))
		return ev_fail(x, e, "'%s' out of the range of a number",
		    op_text(e->op));
	return 0;
}

static int arith(struct ev *x, const struct sel_node *e, struct sel_val *v)
{
	struct sel_val a, b;

	if (eval(x, e->a, &a) < 0 || eval(x, e->b, &b) < 0)
		return -1;
	if ((a.t != SEL_NULL && !numeric(&a)) ||
	    (b.t != SEL_NULL && !numeric(&b)))
		return ev_fail(x, e, "cannot apply '%s' to %s and %s",
		    op_text(e->op), sel_type_name(&a), sel_type_name(&b));
	if (a.t == SEL_NULL || b.t == SEL_NULL) {
		set_null(v);
		return 0;
	}
	if (a.t == SEL_INT && b.t == SEL_INT)
		return int_arith(x, e, a.i, b.i, v);
	return real_arith(x, e, real_of(&a), real_of(&b), v);
}

/* a against b: -1, 0, 1 in *cmp; 0, or -1 with the error (types that
 * do not compare: op names the operator). */
static int compare(struct ev *x, const struct sel_node *e,
    const struct sel_val *a, const struct sel_val *b, int *cmp)
{
	if (numeric(a) && numeric(b)) {
		if (a->t == SEL_INT && b->t == SEL_INT)
			*cmp = (a->i > b->i) - (a->i < b->i);
		else
			*cmp = (real_of(a) > real_of(b)) -
			    (real_of(a) < real_of(b));
		return 0;
	}
	if (a->t == SEL_STR && b->t == SEL_STR) {
		size_t n = a->n < b->n ? a->n : b->n;
		int c = memcmp(a->s, b->s, n);

		*cmp = c != 0 ? (c > 0) - (c < 0) : (a->n > b->n) - (a->n < b->n);
		return 0;
	}
	if (a->t == SEL_BOOL && b->t == SEL_BOOL) {
		*cmp = (int)a->b - (int)b->b;
		return 0;
	}
	return ev_fail(x, e, "cannot compare %s with %s", sel_type_name(a),
	    sel_type_name(b));
}

static bool holds(enum sel_op op, int c)
{
	switch (op) {
	case OP_EQ: return c == 0;
	case OP_NE: return c != 0;
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	default: return c >= 0;
	}
}

static int comparison(struct ev *x, const struct sel_node *e,
    struct sel_val *v)
{
	struct sel_val a, b;
	int c;

	if (eval(x, e->a, &a) < 0 || eval(x, e->b, &b) < 0)
		return -1;
	if (a.t == SEL_NULL || b.t == SEL_NULL) {
		set_null(v);
		return 0;
	}
	if (compare(x, e, &a, &b, &c) < 0)
		return -1;
	set_bool(v, holds(e->op, c));
	return 0;
}

/* A boolean operand of AND, OR, NOT: TRUE, FALSE or NULL. */
static int truth(struct ev *x, const struct sel_node *e,
    const struct sel_node *operand, struct sel_val *v)
{
	if (eval(x, operand, v) < 0)
		return -1;
	if (v->t != SEL_NULL && v->t != SEL_BOOL)
		return ev_fail(x, e, "%s is %s, not a condition",
		    e->op == OP_AND ? "AND's operand" : e->op == OP_OR ?
		    "OR's operand" : "NOT's operand", sel_type_name(v));
	return 0;
}

/* Kleene's AND and OR: the deciding value (FALSE for AND, TRUE for OR)
 * wins over NULL; the right operand is not evaluated after it. */
static int logic(struct ev *x, const struct sel_node *e, struct sel_val *v)
{
	bool decide = e->op == OP_OR;
	struct sel_val a, b;

	if (truth(x, e, e->a, &a) < 0)
		return -1;
	if (a.t == SEL_BOOL && a.b == decide) {
		set_bool(v, decide);
		return 0;
	}
	if (truth(x, e, e->b, &b) < 0)
		return -1;
	if (b.t == SEL_BOOL && b.b == decide)
		set_bool(v, decide);
	else if (a.t == SEL_NULL || b.t == SEL_NULL)
		set_null(v);
	else
		set_bool(v, !decide);
	return 0;
}

static int in_list(struct ev *x, const struct sel_node *e, struct sel_val *v)
{
	struct sel_val a, b;
	bool null = false;
	int c;

	if (eval(x, e->a, &a) < 0)
		return -1;
	if (a.t == SEL_NULL) {
		set_null(v);
		return 0;
	}
	for (size_t k = 0; k < e->nlist; k++) {
		if (eval(x, e->list[k], &b) < 0)
			return -1;
		if (b.t == SEL_NULL) {
			null = true;
			continue;
		}
		if (compare(x, e, &a, &b, &c) < 0)
			return -1;
		if (c == 0) {
			set_bool(v, e->op == OP_IN);
			return 0;
		}
	}
	if (null)
		set_null(v);
	else
		set_bool(v, e->op == OP_NOTIN);
	return 0;
}

static int between(struct ev *x, const struct sel_node *e, struct sel_val *v)
{
	struct sel_val a, lo, hi;
	int c1 = 0, c2 = 0;

	if (eval(x, e->a, &a) < 0 || eval(x, e->list[0], &lo) < 0 ||
	    eval(x, e->list[1], &hi) < 0)
		return -1;
	if ((a.t != SEL_NULL && lo.t != SEL_NULL &&
	    compare(x, e, &a, &lo, &c1) < 0) ||
	    (a.t != SEL_NULL && hi.t != SEL_NULL &&
	    compare(x, e, &a, &hi, &c2) < 0))
		return -1;
	/* a >= lo AND a <= hi, each NULL when an operand is */
	bool f1 = a.t != SEL_NULL && lo.t != SEL_NULL && c1 < 0;
	bool f2 = a.t != SEL_NULL && hi.t != SEL_NULL && c2 > 0;
	if (f1 || f2)
		set_bool(v, e->op == OP_NOTBETWEEN);
	else if (a.t == SEL_NULL || lo.t == SEL_NULL || hi.t == SEL_NULL)
		set_null(v);
	else
		set_bool(v, e->op == OP_BETWEEN);
	return 0;
}

static int eval(struct ev *x, const struct sel_node *e, struct sel_val *v)
{
	switch (e->op) {
	case OP_LIT:
		*v = e->lit;
		return 0;
	case OP_PATH:
		*v = x->s->vals[e->slot];
		return 0;
	case OP_NEG:
		if (eval(x, e->a, v) < 0)
			return -1;
		if (v->t == SEL_INT) {
			if (v->i == INT64_MIN)
				return ev_fail(x, e, "integer overflow in '-'");
			v->i = -v->i;
		} else if (v->t == SEL_REAL) {
			v->d = -v->d;
		} else if (v->t != SEL_NULL) {
			return ev_fail(x, e, "cannot apply '-' to %s",
			    sel_type_name(v));
		}
		return 0;
	case OP_NOT:
		if (truth(x, e, e->a, v) < 0)
			return -1;
		if (v->t == SEL_BOOL)
			v->b = !v->b;
		return 0;
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MOD:
		return arith(x, e, v);
	case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT:
	case OP_GE:
		return comparison(x, e, v);
	case OP_AND: case OP_OR:
		return logic(x, e, v);
	case OP_ISNULL: case OP_ISNOTNULL:
		if (eval(x, e->a, v) < 0)
			return -1;
		set_bool(v, (v->t == SEL_NULL) == (e->op == OP_ISNULL));
		return 0;
	case OP_IN: case OP_NOTIN:
		return in_list(x, e, v);
	case OP_PROCTIME:
		v->t = SEL_INT;
		v->i = etime_now_ms();
		return 0;
	default:
		return between(x, e, v);
	}
}

int sel_eval(const struct sel *s, const struct sel_node *e, const char *label,
    struct sel_val *out, char *why)
{
	struct ev x = { s, label, why };

	return eval(&x, e, out);
}
