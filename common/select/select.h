/*
 * select.h - Flink SQL's SELECT ... WHERE over records: a condition that
 * keeps or drops each record, and a list of output members, each a
 * member path or an expression (fs-select(1)).
 *
 *     struct sel *s = sel_new();
 *     if (sel_where(s, "bid.auction % 123 = 0", why, sizeof why) < 0 ||
 *         sel_fields(s, "bid.auction:auction,eur=0.908 * bid.price",
 *         why, sizeof why) < 0)
 *             usage error: why says where ("column 7: ...")
 *     for each data line:
 *         switch (sel_record(s, line, len, NULL, &b, why)) {
 *         case SEL_DROP: the condition was not TRUE
 *         case SEL_KEEP: b holds the output line (with fields), or is
 *                        empty: the line passes whole
 *         case SEL_ERROR: reject the line with why
 *         }
 *     sel_free(s);
 *
 * The language: numbers (integers stay integers: 7 / 2 is 3, 7 % 2 is
 * 1, 7 / 2.0 is 3.5, as Flink's BIGINT and DOUBLE), strings in single
 * quotes ('it''s'), TRUE, FALSE, NULL, member paths (bid.price; a name
 * that is not a plain word, or is a keyword, in backquotes:
 * `first-name`), + - * / %, = <> != < <= > >=, AND OR NOT, IS [NOT]
 * NULL, [NOT] IN (...), [NOT] BETWEEN x AND y, parentheses; keywords in
 * any case.  Values have SQL's three-valued logic: a missing member or
 * a JSON null is NULL, NULL in arithmetic or a comparison gives NULL, a
 * condition keeps a record only when it is TRUE.  A type error (a
 * string times a number, a comparison of a string with a number, a
 * condition that is a number), a division by zero, an integer overflow
 * or a real result out of range is an error of that record, never a
 * silent NULL.
 *
 * Reading: only the members the expressions read are looked at.  One
 * scan of the line (rec_quick_members), and one of each nested object
 * on a path, validates it and finds their values in the bytes; a line
 * that scan is not sure of, or a value it does not read itself (an
 * object or array, a string with an escape, a number out of range)
 * goes through rec_parse(), whose reasons a bad line gets.
 *
 * Ownership: the texts given are copied; sel_free() releases all.
 */
#ifndef FS_SELECT_H
#define FS_SELECT_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

struct sel;

enum sel_verdict { SEL_DROP, SEL_KEEP, SEL_ERROR };

struct sel *sel_new(void);
/*
 * The condition (SQL's WHERE).  0, or -1 with a reason naming the
 * column of text where it went wrong ("column 9: expected an operand").
 */
int sel_where(struct sel *s, const char *text, char *why, size_t n);
/*
 * The output members, comma-separated: PATH (named after its last
 * part), PATH:NAME, NAME=EXPR, EXPR AS NAME, and '*' first for every
 * member of the record, the others appended after them.  0, or -1 with
 * a reason as sel_where()'s.
 */
int sel_fields(struct sel *s, const char *text, char *why, size_t n);
/*
 * One data record: line[0, len), and obj when the caller parsed it
 * whole already (else NULL).  SEL_KEEP with the output line in out
 * (reset first) when there are fields, out empty when the line passes
 * as it is; SEL_ERROR with the reason in why (REC_ERR_MAX bytes).
 */
enum sel_verdict sel_record(struct sel *s, const char *line, size_t len,
    const json_t *obj, struct buf *out, char *why);
void sel_free(struct sel *s);

#endif
