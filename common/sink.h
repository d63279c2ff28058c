/*
 * sink.h - the read step every sink shares (fs-sink-aerospike,
 * fs-sink-file): one input line parsed, rejected with its reason, or
 * taken as a control record of the checkpoint protocol (stage.h) or as
 * data, each handed to the sink's own hook.
 *
 *     struct sink_step k = { &st, &rj, &lr, { read, control, data, ctx } };
 *     ... for each line: sink_line(&k, line, len);
 *
 * A line the read hook cannot parse, a malformed control record, a
 * barrier, restore or end out of order (stage_control() says
 * STAGE_INVALID), and a data record the data hook refuses are rejected
 * (reject_line(): --on-error).  A sink has no output of its own, so
 * stage_control() forwards nothing.
 */
#ifndef FS_SINK_H
#define FS_SINK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lineio.h"
#include "rec.h"
#include "reject.h"
#include "stage.h"

/* What the hooks may write in why (with what the record module says). */
#define SINK_ERR_MAX (REC_ERR_MAX + 512)

struct sink_hooks {
	/* The line as a new object and *c its kind (CTL_NONE: data), as
	 * recproj_read() gives them; NULL with why (REC_ERR_MAX) to reject
	 * the line.  CTL_INVALID comes with its object and why. */
	json_t *(*read)(void *ctx, const char *line, size_t len,
	    struct ctl *c, char *why);
	/* A valid control record (obj borrowed), after stage_control() took
	 * its part: a barrier's checkpoint is written, a restore's read. */
	void (*control)(void *ctx, const struct ctl *c, const json_t *obj);
	/* A data record (obj borrowed, stage_data() noted): 0, or -1 with
	 * why (SINK_ERR_MAX bytes) to reject the line. */
	int (*data)(void *ctx, const json_t *obj, const char *line,
	    size_t len, char *why);
	void *ctx;
	/* Optional (NULL: none): a line rec_line_maybe_control() clears
	 * (so data, if it is a record), written without the read hook when
	 * that is sure to do what the read and data hooks would: true when
	 * it was.  False: nothing done that those hooks would not do, and
	 * the line goes their way. */
	bool (*quick)(void *ctx, const char *line, size_t len);
};

struct sink_step {
	struct stage *st;
	struct rejects *rj;
	const struct lineio *lr;        /* the line numbers of rejects */
	struct sink_hooks h;
	uint64_t lines, controls;       /* counted by sink_line() */
};

void sink_line(struct sink_step *k, const char *line, size_t len);

/* A read hook's last step for a line parsed whole: obj (NULL: not
 * parsed) classified into *c, CTL_NONE unless the line may be a control
 * record (rec_line_maybe_control()); returns obj. */
json_t *sink_classify(json_t *obj, const char *line, size_t len,
    struct ctl *c, char *why);

#endif
