/* bf_csv.c - CSV records as JSON objects (see bf_csv.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bf_csv.h"
#include "num.h"
#include "xalloc.h"
#include "banned.h"

static const struct {
	const char *name;
	enum bf_csv_type type;
} type_names[] = {
	{ "bool", BF_CSV_BOOL },
	{ "int", BF_CSV_INT },
	{ "number", BF_CSV_NUMBER },
	{ "string", BF_CSV_STRING },
};

int bf_csv_schema_parse(struct bf_csv_schema *s, const char *text,
    char *why, size_t n)
{
	char *copy = xstrdup(text), *save = NULL, *item;

	memset(s, 0, sizeof *s);
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(item, ':');
		size_t i, k;

		if (colon == NULL || colon == item) {
			snprintf(why, n, "expected NAME:TYPE: '%s'", item);
			goto bad;
		}
		*colon = '\0';
		for (k = 0; k < sizeof type_names / sizeof type_names[0]; k++)
			if (strcmp(colon + 1, type_names[k].name) == 0)
				break;
		if (k == sizeof type_names / sizeof type_names[0]) {
			snprintf(why, n, "type of '%s' is not string, int, "
			    "number or bool: '%s'", item, colon + 1);
			goto bad;
		}
		for (i = 0; i < s->n; i++)
			if (strcmp(s->names[i], item) == 0) {
				snprintf(why, n, "column named twice: '%s'",
				    item);
				goto bad;
			}
		s->names = xrealloc(s->names, (s->n + 1) * sizeof *s->names);
		s->types = xrealloc(s->types, (s->n + 1) * sizeof *s->types);
		s->names[s->n] = xstrdup(item);
		s->types[s->n] = type_names[k].type;
		s->n++;
	}
	free(copy);
	if (s->n == 0) {
		snprintf(why, n, "no columns");
		return -1;
	}
	return 0;
bad:
	free(copy);
	bf_csv_schema_free(s);
	return -1;
}

void bf_csv_schema_free(struct bf_csv_schema *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->types);
	memset(s, 0, sizeof *s);
}

/* --- libcsv callbacks: gather the fields of one record ------------ */

static void on_field(void *s, size_t len, void *data)
{
	struct bf_csv *c = data;

	c->offs = xgrow(c->offs, &c->capf, c->nf + 1, sizeof *c->offs);
	c->kinds = xrealloc(c->kinds, c->capf);
	c->offs[c->nf] = c->fields.len;
	c->kinds[c->nf] = s == NULL ? -1 : c->p.quoted ? 1 : 0;
	if (s != NULL)
		buf_append(&c->fields, s, len);
	buf_appendc(&c->fields, '\0');
	c->nf++;
}

static void on_row(int term, void *data)
{
	struct bf_csv *c = data;

	(void)term;
	c->row_done = true;
}

static int no_space(unsigned char ch)
{
	(void)ch;
	return 0;
}

static void parser_init(struct bf_csv *c)
{
	csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL);
	csv_set_space_func(&c->p, no_space);
}

static void record_reset(struct bf_csv *c)
{
	buf_reset(&c->fields);
	buf_reset(&c->raw);
	c->nf = 0;
	c->row_done = false;
}

/* Field i's bytes; the length is up to the next field's start. */
static const char *field(const struct bf_csv *c, size_t i, size_t *len)
{
	size_t end = i + 1 < c->nf ? c->offs[i + 1] : c->fields.len;

	*len = end - c->offs[i] - 1;
	return c->fields.data + c->offs[i];
}

/*
 * Feeds a line to libcsv in pieces that each begin at a comma.  libcsv
 * updates p.quoted only when a call returns, so a field's quoting is
 * right in on_field() only when the comma that ends it starts a call.
 */
static int feed(struct bf_csv *c, const char *line, size_t len)
{
	size_t at = 0;

	while (at < len) {
		const char *comma = memchr(line + at + 1, ',', len - at - 1);
		size_t piece = comma ? (size_t)(comma - (line + at)) : len - at;

		if (csv_parse(&c->p, line + at, piece, on_field, on_row, c) !=
		    piece)
			return -1;
		at += piece;
	}
	return 0;
}

/*
 * Gathers the next record's fields.  1: a record (row_done), 0: end,
 * -1/-2: lineio's, 3: a syntax error (why set, raw holds the lines).
 */
static int gather(struct bf_csv *c, char *why, size_t n)
{
	const char *line;
	size_t len;
	int r;

	record_reset(c);
	for (;;) {
		r = lineio_read(c->lr, &line, &len);
		if (r == -1 || r == -2)
			return r;
		if (r == 0) {
			if (c->raw.len == 0)
				return 0;
			csv_fini(&c->p, on_field, on_row, c);
			csv_free(&c->p);
			parser_init(c);
			snprintf(why, n, "unterminated quoted field");
			return 3;
		}
		if (c->raw.len == 0) {
			c->line = c->lr->lineno;
		} else {
			/* Empty lines inside a quoted field: lineio skipped
			 * them, its line count tells how many. */
			for (uint64_t k = c->prev_lineno + 1;
			    k < c->lr->lineno; k++) {
				buf_appendc(&c->raw, '\n');
				csv_parse(&c->p, "\n", 1, on_field, on_row, c);
			}
		}
		c->prev_lineno = c->lr->lineno;
		buf_append(&c->raw, line, len);
		buf_appendc(&c->raw, '\n');
		if (feed(c, line, len) < 0 ||
		    csv_parse(&c->p, "\n", 1, on_field, on_row, c) != 1) {
			snprintf(why, n, "malformed quoting");
			csv_free(&c->p);
			parser_init(c);
			return 3;
		}
		if (c->row_done)
			return 1;
	}
}

static int open_header(struct bf_csv *c, const struct bf_csv_schema *schema,
    char *why, size_t n)
{
	int r;

	do
		r = gather(c, why, n);
	while (r == -2);
	if (r == 0) {
		snprintf(why, n, "no header row");
		return -1;
	}
	if (r == -1) {
		snprintf(why, n, "read error");
		return -1;
	}
	if (r == 3)
		return -1;
	c->ncols = c->nf;
	c->header = xcalloc(c->ncols, sizeof *c->header);
	c->types = xcalloc(c->ncols, sizeof *c->types);
	for (size_t i = 0; i < c->ncols; i++) {
		size_t len;
		const char *name = field(c, i, &len);

		/* A UTF-8 byte order mark before the first name. */
		if (i == 0 && len >= 3 && memcmp(name, "\xef\xbb\xbf", 3) == 0) {
			name += 3;
			len -= 3;
		}
		if (len == 0 || memchr(name, '\0', len) != NULL) {
			snprintf(why, n, "header column %zu has no name", i + 1);
			return -1;
		}
		c->header[i] = xstrndup(name, len);
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->header[j], c->header[i]) == 0) {
				snprintf(why, n, "header names a column twice: "
				    "'%s'", c->header[i]);
				return -1;
			}
	}
	for (size_t k = 0; schema != NULL && k < schema->n; k++) {
		size_t i;

		for (i = 0; i < c->ncols; i++)
			if (strcmp(c->header[i], schema->names[k]) == 0)
				break;
		if (i == c->ncols) {
			snprintf(why, n, "the header has no column '%s' (named "
			    "in --schema)", schema->names[k]);
			return -1;
		}
		c->types[i] = schema->types[k];
	}
	return 0;
}

int bf_csv_open(struct bf_csv *c, struct lineio *lr,
    const struct bf_csv_schema *schema, char *why, size_t n)
{
	memset(c, 0, sizeof *c);
	c->lr = lr;
	c->schema = schema;
	parser_init(c);
	if (open_header(c, schema, why, n) < 0) {
		bf_csv_close(c);
		return -1;
	}
	return 0;
}

/* -?(0|[1-9][0-9]*) */
static bool is_int_text(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i == len)
		return false;
	if (s[i] == '0')
		return i + 1 == len;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* JSON's number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static bool is_number_text(const char *s, size_t len)
{
	size_t i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return false;
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	return i == len;
}

/* A JSON number from number text; NULL when out of range. */
static json_t *number_value(const char *s, size_t len)
{
	int64_t iv;
	double dv;

	if (is_int_text(s, len) &&
	    num_parse_i64(s, INT64_MIN, INT64_MAX, &iv) == 0)
		return json_integer(iv);
	if (num_parse_double(s, &dv) == 0)
		return json_real(dv);
	return NULL;
}

/* The value of field i as its column's type; NULL with why set. */
static json_t *convert(struct bf_csv *c, size_t i, char *why, size_t n)
{
	size_t len;
	const char *s = field(c, i, &len);
	int kind = c->kinds[i];
	json_t *v = NULL;

	switch (c->types[i]) {
	case BF_CSV_INFER:
		if (kind < 0)
			return json_null();
		if (kind == 0 && is_number_text(s, len) &&
		    (v = number_value(s, len)) != NULL)
			return v;
		break;
	case BF_CSV_STRING:
		break;
	case BF_CSV_INT:
	case BF_CSV_NUMBER:
		if (kind < 0)
			return json_null();
		if (c->types[i] == BF_CSV_INT ? is_int_text(s, len) :
		    is_number_text(s, len))
			v = number_value(s, len);
		if (v == NULL)
			snprintf(why, n, "column '%s': not %s: '%.40s'",
			    c->header[i], c->types[i] == BF_CSV_INT ?
			    "an integer" : "a number", s);
		return v;
	case BF_CSV_BOOL:
		if (kind < 0)
			return json_null();
		if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
			return json_true();
		if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
			return json_false();
		snprintf(why, n, "column '%s': not a bool: '%.40s'",
		    c->header[i], s);
		return NULL;
	}
	v = json_stringn(s, len);
	if (v == NULL)
		snprintf(why, n, "column '%s': invalid UTF-8", c->header[i]);
	return v;
}

int bf_csv_next(struct bf_csv *c, json_t **obj, char *why, size_t n,
    const char **raw, size_t *rawlen)
{
	json_t *o;
	int r;

	r = gather(c, why, n);
	if (r == 1 || r == 3) {
		c->record++;
		/* The record's lines without the final '\n'. */
		*raw = c->raw.data;
		*rawlen = c->raw.len > 0 ? c->raw.len - 1 : 0;
	}
	if (r != 1)
		return r;
	if (c->nf != c->ncols) {
		snprintf(why, n, "%zu field%s, the header has %zu", c->nf,
		    c->nf == 1 ? "" : "s", c->ncols);
		return 3;
	}
	o = json_object();
	for (size_t i = 0; i < c->ncols; i++) {
		json_t *v = convert(c, i, why, n);

		if (v == NULL) {
			json_decref(o);
			return 3;
		}
		json_object_set_new(o, c->header[i], v);
	}
	*obj = o;
	return 1;
}

void bf_csv_close(struct bf_csv *c)
{
	csv_free(&c->p);
	for (size_t i = 0; i < c->ncols; i++)
		free(c->header[i]);
	free(c->header);
	free(c->types);
	free(c->offs);
	free(c->kinds);
	buf_free(&c->fields);
	buf_free(&c->raw);
}
