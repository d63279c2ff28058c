/*
 * join_record.h - what a run (join_run.h) does with each record of its
 * inputs: data records go to their side of the join (or to the late
 * records, or are rejected); control records drive the watermark, the
 * barriers (aligned across inputs), restores and the end of the stream.
 * Private to the library.
 */
#ifndef FS_JOIN_RECORD_H
#define FS_JOIN_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "join_run.h"

void join_data_record(struct join_run *r, struct join_input *in,
    json_t *obj, const char *line, size_t len);
void join_control_record(struct join_run *r, struct join_input *in,
    json_t *obj, const char *line, size_t len);

/*
 * A barrier is acted on once every input still open holds it: then the
 * state is saved and the barrier written, once.  Called when a barrier
 * arrives and when an input ends (an ended input holds up nothing).
 */
void join_try_align(struct join_run *r);

/*
 * Every input ended: when they ended with the end of the stream, its
 * checkpoint is taken after what the ends fired, and it goes out once.
 */
void join_end_of_stream(struct join_run *r);

#endif
