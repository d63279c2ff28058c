/* fieldseen.c - named fields that no record had (see fieldseen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "fieldseen.h"
#include "xalloc.h"
#include "banned.h"

void fieldseen_init(struct fieldseen *fs, bool strict)
{
	memset(fs, 0, sizeof *fs);
	fs->strict = strict;
}

void fieldseen_add(struct fieldseen *fs, const struct path *p,
    const char *opt, const char *arg)
{
	struct fieldseen_field *f;
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].path.text, p->text) == 0)
			return;
	fs->f = xgrow(fs->f, &fs->cap, fs->n + 1, sizeof *fs->f);
	f = &fs->f[fs->n];
	if (path_compile(&f->path, p->text) < 0)
		diag_fatal("internal error: not a field path: '%s'", p->text);
	buf_appends(&b, opt);
	if (arg != NULL) {
		buf_appendc(&b, ' ');
		buf_appends(&b, arg);
	}
	f->origin = b.data;
	f->seen = false;
	/* unseen grows with f: its capacity is fs->cap */
	fs->unseen = xrealloc(fs->unseen, fs->cap * sizeof *fs->unseen);
	fs->unseen[fs->nunseen++] = fs->n++;
}

void fieldseen_add_keys(struct fieldseen *fs, const struct keyspec *k,
    const char *opt, const char *arg)
{
	for (size_t i = 0; i < k->n; i++)
		fieldseen_add(fs, &k->paths[i], opt, arg);
}

void fieldseen_look(struct fieldseen *fs, const json_t *rec)
{
	size_t i = 0;

	while (i < fs->nunseen) {
		struct fieldseen_field *f = &fs->f[fs->unseen[i]];

		if (path_get(&f->path, rec) == NULL) {
			i++;
			continue;
		}
		f->seen = true;
		fs->unseen[i] = fs->unseen[--fs->nunseen];
	}
}

void fieldseen_record_complete(struct fieldseen *fs)
{
	fs->records++;
	for (size_t i = 0; i < fs->nunseen; i++)
		fs->f[fs->unseen[i]].seen = true;
	fs->nunseen = 0;
}

size_t fieldseen_absent(const struct fieldseen *fs)
{
	return fs->records > 0 ? fs->nunseen : 0;
}

int fieldseen_finish(struct fieldseen *fs)
{
	char all[64];
	int rc = 0;

	if (fs->records == 1)
		snprintf(all, sizeof all, "the only record");
	else
		snprintf(all, sizeof all, "all %llu records",
		    (unsigned long long)fs->records);
	for (size_t i = 0; fs->records > 0 && i < fs->n; i++) {
		const struct fieldseen_field *f = &fs->f[i];

		if (f->seen)
			continue;
		if (fs->strict) {
			diag_error("field '%s' (in %s) was absent in %s",
			    f->path.text, f->origin, all);
			rc = 1;
		} else {
			diag_warn("field '%s' (in %s) was absent in %s",
			    f->path.text, f->origin, all);
		}
	}
	for (size_t i = 0; i < fs->n; i++) {
		path_free(&fs->f[i].path);
		free(fs->f[i].origin);
	}
	free(fs->f);
	free(fs->unseen);
	memset(fs, 0, sizeof *fs);
	return rc;
}
