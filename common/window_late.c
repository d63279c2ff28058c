/* window_late.c - late records, counted and never silent (window_late.h). */
#include <errno.h>
#include <string.h>

#include "diag.h"
#include "rec.h"
#include "window_late.h"
#include "banned.h"

enum late_policy late_parse_policy(const char *arg)
{
	if (strcmp(arg, "drop") == 0)
		return LATE_DROP;
	if (strcmp(arg, "dead-letter") == 0)
		return LATE_DEAD_LETTER;
	if (strcmp(arg, "pass") == 0)
		return LATE_PASS;
	diag_usage("--late: expected drop, dead-letter or pass: '%s'", arg);
}

void late_init(struct late *l, enum late_policy p, const char *path,
    const char *field)
{
	memset(l, 0, sizeof *l);
	l->policy = p;
	l->path = path;
	l->field = field ? field : "late";
	if (path != NULL && p == LATE_DROP)
		l->policy = p = LATE_DEAD_LETTER;
	if (p == LATE_DEAD_LETTER && path == NULL)
		diag_usage("--late dead-letter needs --late-file FILE");
	if (p != LATE_DEAD_LETTER && path != NULL)
		diag_usage("--late-file goes with --late dead-letter");
	if (p == LATE_DEAD_LETTER) {
		l->f = fopen(path, "a");
		if (l->f == NULL)
			diag_fatal("cannot open late file: '%s': %s", path,
			    strerror(errno));
	}
}

void late_record(struct late *l, const char *line, size_t len,
    struct out *o, struct buf *scratch)
{
	l->count++;
	switch (l->policy) {
	case LATE_DROP:
		break;
	case LATE_DEAD_LETTER:
		if (fwrite(line, 1, len, l->f) != len || putc('\n', l->f) == EOF)
			diag_fatal("write error: '%s': %s", l->path,
			    strerror(errno));
		break;
	case LATE_PASS:
		rec_splice_begin(scratch, line, len);
		rec_splice_value(scratch, l->field, json_true());
		rec_splice_end(scratch);
		out_line(o, scratch->data, scratch->len);
		break;
	}
}

void late_finish(struct late *l)
{
	static const char *const verb[] = { "dropped", "dead-lettered",
	    "passed on marked late" };

	if (l->count > 0)
		diag_warn("%llu late record%s %s", (unsigned long long)l->count,
		    l->count == 1 ? "" : "s", verb[l->policy]);
	if (l->f != NULL) {
		if (fflush(l->f) != 0 || ferror(l->f) || fclose(l->f) != 0)
			diag_fatal("write error: '%s': %s", l->path,
			    strerror(errno));
		l->f = NULL;
	}
}
