/*
 * bf_csv.h - CSV records as JSON objects, read with libcsv over lineio.
 *
 * The first record is the header: it names the members of every object.
 * Fields follow RFC 4180: quoted fields may hold commas, doubled quotes
 * and line breaks; spaces are kept.  Lines come from a lineio (so input
 * may be compressed, see bf_decomp.h), which strips a '\r' before each
 * '\n': a CRLF inside a quoted field reads as LF.
 *
 * Types: a column named in the schema gets that type (string, int,
 * number, bool); any other column is inferred field by field: an
 * unquoted integer ("-12", not "012") is a JSON integer, an unquoted
 * JSON-style number ("1.5", "2e3") a JSON number, everything else a
 * string.  An empty unquoted field is null; "" is the empty string.
 *
 * Schema text: "name:type,name:type", e.g. "ts:int,zip:string".
 *
 * Records are numbered from 1, the header not counted: messages say
 * "record N"; c->line is the line on which record N began.
 */
#ifndef FS_BF_CSV_H
#define FS_BF_CSV_H

#include <csv.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "lineio.h"

enum bf_csv_type { BF_CSV_INFER, BF_CSV_STRING, BF_CSV_INT, BF_CSV_NUMBER,
	BF_CSV_BOOL };

struct bf_csv_schema {
	char **names;
	enum bf_csv_type *types;
	size_t n;
};

/* Returns 0, or -1 with a reason in why[n]. */
int bf_csv_schema_parse(struct bf_csv_schema *s, const char *text,
    char *why, size_t n);
void bf_csv_schema_free(struct bf_csv_schema *s);

struct bf_csv {
	struct csv_parser p;
	struct lineio *lr;
	const struct bf_csv_schema *schema;
	char **header;
	enum bf_csv_type *types;
	size_t ncols;
	uint64_t record;        /* number of the record last returned */
	uint64_t line;          /* line on which it began */
	/* The record being assembled. */
	struct buf fields;      /* field bytes, each followed by NUL */
	size_t *offs;           /* start of field i in fields */
	signed char *kinds;     /* 0 unquoted, 1 quoted, -1 empty unquoted */
	size_t nf, capf;
	bool row_done;
	struct buf raw;         /* the record's lines, for messages */
	uint64_t prev_lineno;
};

/*
 * Reads the header from lr.  Returns 0, or -1 with a reason in why
 * (empty input, a duplicate or empty column name, a schema column the
 * header lacks, a read error); nothing is left to close then.
 */
int bf_csv_open(struct bf_csv *c, struct lineio *lr,
    const struct bf_csv_schema *schema, char *why, size_t n);

/*
 * Reads the next record.  Returns 1 with *obj (a new reference), 0 at
 * the end, -1 on a read error (c->lr->err), -2 when a signal
 * interrupted, and 3 for a bad record: why[n] says what is wrong and
 * *raw and *rawlen hold its lines (valid until the next call).
 */
int bf_csv_next(struct bf_csv *c, json_t **obj, char *why, size_t n,
    const char **raw, size_t *rawlen);

void bf_csv_close(struct bf_csv *c);

#endif
