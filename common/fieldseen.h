/*
 * fieldseen.h - fields named on the command line that no record had:
 * a typo'd field never passes silently.
 *
 * "--agg n=sum:amout" reads a member no record has: without this check
 * it aggregates nothing, writes "n":null and exits 0.  Flink SQL refuses
 * an unknown column; a stream has no schema to check against, so the
 * check is made on the data.  A tool registers every field path its
 * options name (fieldseen_add, with the option text it came from), shows
 * each data record to fieldseen_record(), and at exit fieldseen_finish()
 * writes one line per field that no data record had, in the order the
 * fields were registered:
 *
 *   fs-agg: field 'amout' (in --agg n=sum:amout) was absent in all 100000 records
 *
 * as a warning (diag_warn: hidden by -q), or with --strict as an error
 * (diag_error), and fieldseen_finish() returns 1 for the exit status.
 * A field is present when its path leads to a member, null included
 * (the column exists; its value is NULL).  Nothing is reported when no
 * data record came: there was nothing to be absent from.  A field named
 * by several options is reported once, under the first.
 *
 * --strict is declared here once for the tools that name fields:
 * OPT_GROUP_FIELDSEEN(&strict) goes in the tool's option table (opt.h).
 *
 * Cost per record: a field found once is never looked up again, so once
 * every field has been seen fieldseen_record() is an increment and a
 * compare; only a field still unseen (a typo) costs a lookup per record.
 *
 * Ownership: the paths and option texts given are copied;
 * fieldseen_finish() frees everything (the struct may be reused after
 * fieldseen_init()).
 */
#ifndef FS_FIELDSEEN_H
#define FS_FIELDSEEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opt.h"
#include "path.h"
#include "tool.h"

/* The table's entry (opt.h), onto bool *strict. */
#define OPT_GROUP_FIELDSEEN(strict) \
	OPT_FLAG(0, "strict", (strict), \
	    "a named field absent from every record is an\n" \
	    "error (default: a warning)")

struct fieldseen_field {
	struct path path;
	char *origin;           /* "--agg n=sum:amout", for the message */
	bool seen;
};

struct fieldseen {
	struct fieldseen_field *f;
	size_t n, cap;
	size_t *unseen;         /* indices into f of fields not seen yet */
	size_t nunseen;
	uint64_t records;       /* data records shown */
	bool strict;
};

void fieldseen_init(struct fieldseen *fs, bool strict);

/* Registers the field at p (its text is compiled again: p is not
 * kept), named by option opt with argument arg ("--agg",
 * "n=sum:amout"; arg may be NULL).  A path registered already keeps
 * its first option. */
void fieldseen_add(struct fieldseen *fs, const struct path *p,
    const char *opt, const char *arg);
/* fieldseen_add() for every path of a key spec. */
void fieldseen_add_keys(struct fieldseen *fs, const struct keyspec *k,
    const char *opt, const char *arg);

/* Looks the unseen fields up in rec (fieldseen_record's slow part). */
void fieldseen_look(struct fieldseen *fs, const json_t *rec);

/* Shows one data record (borrowed, not kept).  Call it for every data
 * record the tool reads, before anything may reject it: a record without
 * a key field still counts, and is where a typo'd key shows. */
static inline void fieldseen_record(struct fieldseen *fs, const json_t *rec)
{
	fs->records++;
	if (fs->nunseen > 0)
		fieldseen_look(fs, rec);
}

/* fieldseen_record() of a record the caller knows has every field
 * registered (without it as a jansson tree). */
void fieldseen_record_complete(struct fieldseen *fs);

/* The fields no record had so far (0 when no record came). */
size_t fieldseen_absent(const struct fieldseen *fs);

/* Reports the absent fields (above) and frees everything.  Returns 1
 * when --strict and a field was absent, else 0. */
int fieldseen_finish(struct fieldseen *fs);

#endif
