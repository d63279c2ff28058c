/* sink.c - the read step every sink shares (see sink.h). */
#include <string.h>

#include "sink.h"
#include "banned.h"

void sink_line(struct sink_step *k, const char *line, size_t len)
{
	char why[SINK_ERR_MAX];
	struct ctl c;
	json_t *obj;

	if (k->h.quick != NULL && !rec_line_maybe_control(line, len) &&
	    k->h.quick(k->h.ctx, line, len)) {
		k->lines++;
		stage_data(k->st);
		return;
	}
	obj = k->h.read(k->h.ctx, line, len, &c, why);
	k->lines++;
	if (obj == NULL) {
		reject_line(k->rj, k->lr, why, line, len);
		return;
	}
	if (c.kind == CTL_INVALID) {
		reject_line(k->rj, k->lr, why, line, len);
	} else if (c.kind != CTL_NONE) {
		k->controls++;
		if (stage_control(k->st, &c, NULL, why) == STAGE_INVALID)
			reject_line(k->rj, k->lr, why, line, len);
		else
			k->h.control(k->h.ctx, &c, obj);
	} else {
		stage_data(k->st);
		if (k->h.data(k->h.ctx, obj, line, len, why) < 0)
			reject_line(k->rj, k->lr, why, line, len);
	}
	json_decref(obj);
}

json_t *sink_classify(json_t *obj, const char *line, size_t len,
    struct ctl *c, char *why)
{
	memset(c, 0, sizeof *c);
	if (obj != NULL && rec_line_maybe_control(line, len))
		rec_control(obj, c, why);
	return obj;
}
