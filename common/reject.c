/* reject.c - the common --on-error policy (see reject.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "rec.h"
#include "reject.h"
#include "banned.h"

void rejects_init(struct rejects *r, const struct fs_common *c,
    struct out *flush_on_fail)
{
	memset(r, 0, sizeof *r);
	r->policy = c->on_error;
	r->dl_path = c->dead_letter;
	r->flush_on_fail = flush_on_fail;
	r->m_count = metrics_counter(c->metrics, "fs_records_rejected_total",
	    "Input lines rejected (--on-error).", NULL);
	if (flush_on_fail != NULL && c->metrics != NULL)
		out_set_metrics(flush_on_fail, c->metrics);
	if (r->policy == ON_ERROR_DEAD_LETTER) {
		r->dl = fopen(r->dl_path, "ae");
		if (r->dl == NULL)
			diag_fatal("cannot open dead-letter file: '%s': %s",
			    r->dl_path, strerror(errno));
	}
}

void reject(struct rejects *r, const char *where, const char *why,
    const char *raw, size_t len)
{
	r->count++;
	metric_add(r->m_count, 1);
	if (r->policy == ON_ERROR_FAIL) {
		if (r->flush_on_fail)
			out_flush(r->flush_on_fail);
		diag_fatal("%s: %s", where, why);
	}
	diag_warn("%s: %s", where, why);
	if (r->policy == ON_ERROR_DEAD_LETTER &&
	    (fwrite(raw, 1, len, r->dl) != len || putc('\n', r->dl) == EOF))
		diag_fatal("write error: '%s': %s", r->dl_path, strerror(errno));
}

/* A compressed file is not a bad line to skip: every line after its
 * first would be garbage too, so it fails under every policy. */
void reject_line(struct rejects *r, const struct lineio *lr,
    const char *why, const char *raw, size_t len)
{
	char where[512], zwhy[REC_ERR_MAX];

	snprintf(where, sizeof where, "%s:%" PRIu64, lr->name, lr->lineno);
	if (lr->lineno == 1 && r->policy != ON_ERROR_FAIL &&
	    rec_compressed(raw, len, zwhy)) {
		r->policy = ON_ERROR_FAIL;
		why = zwhy;
	}
	reject(r, where, why, raw, len);
}

void rejects_finish(struct rejects *r)
{
	if (r->count > 0)
		diag_error("%" PRIu64 " record%s rejected", r->count,
		    r->count == 1 ? "" : "s");
	if (r->dl != NULL && fclose(r->dl) != 0)
		diag_fatal("write error: '%s': %s", r->dl_path, strerror(errno));
	r->dl = NULL;
}
