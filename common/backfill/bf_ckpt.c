/* bf_ckpt.c - the checkpoint state of a replay (bf_ckpt.h). */
#include <inttypes.h>
#include <string.h>

#include "bf_ckpt.h"
#include "bf_input.h"
#include "diag.h"
#include "banned.h"

static const char *const order_name[] = { "merge", "reorder", "sort",
	"concat" };

json_t *bf_ckpt_state(struct bf_replay *b)
{
	json_t *files = json_array(), *state;

	for (uint32_t i = 0; i < b->n; i++) {
		struct bf_input *in = &b->in[i];
		uint64_t off, line;

		if (b->o->order == BF_ORDER_SORT) {
			off = 0;
			line = 0;
		} else if (!in->open) {
			off = in->resume_off;
			line = in->resume_line;
		} else {
			off = in->taken_off;
			line = in->taken_line;
			if (in->has && in->start < off) {
				off = in->start;
				line = in->start_line;
			}
			for (size_t k = 0; k < in->rb.n; k++) {
				struct bf_held *h = in->rb.v[k].ptr;

				if (h->start < off) {
					off = h->start;
					line = h->start_line;
				}
			}
		}
		json_array_append_new(files, json_pack("{s:s,s:I,s:I,s:b}",
		    "path", in->path, "offset", (json_int_t)off, "line",
		    (json_int_t)line, "done", b->o->order != BF_ORDER_SORT &&
		    in->done && !in->has && in->rb.n == 0));
	}
	state = json_pack("{s:i,s:s,s:o,s:I}", "version", 1, "order",
	    order_name[b->o->order], "inputs", files, "emitted",
	    (json_int_t)b->emitted);
	if (b->any)
		json_object_set_new(state, "last", json_pack("[I,I,I]",
		    (json_int_t)b->last.ts, (json_int_t)b->last.src,
		    (json_int_t)b->last.pos));
	return state;
}

void bf_ckpt_resume(struct bf_replay *b, const json_t *state)
{
	const json_t *files = json_object_get(state, "inputs");
	const json_t *last = json_object_get(state, "last");
	const char *ord = json_string_value(json_object_get(state, "order"));

	if (!json_is_array(files) || ord == NULL)
		diag_fatal("checkpoint state of this stage is not fs-backfill's");
	if (strcmp(ord, order_name[b->o->order]) != 0)
		diag_fatal("the checkpoint was taken with order '%s', not '%s'",
		    ord, order_name[b->o->order]);
	if (json_array_size(files) != b->n)
		diag_fatal("the checkpoint was taken over %zu input files, not "
		    "%" PRIu32, json_array_size(files), b->n);
	for (uint32_t i = 0; i < b->n; i++) {
		const json_t *f = json_array_get(files, i);
		const char *p = json_string_value(json_object_get(f, "path"));
		json_int_t off = json_integer_value(json_object_get(f, "offset"));
		json_int_t line = json_integer_value(json_object_get(f, "line"));

		if (p == NULL || strcmp(p, b->in[i].path) != 0)
			diag_fatal("the checkpoint was taken over other input "
			    "files: '%s', not '%s'", p ? p : "?", b->in[i].path);
		b->in[i].resume_off = off > 0 ? (uint64_t)off : 0;
		b->in[i].resume_line = line > 0 ? (uint64_t)line : 0;
		b->in[i].done = json_is_true(json_object_get(f, "done"));
	}
	if (json_is_array(last) && json_array_size(last) == 3) {
		b->resumed = true;
		b->resume_last.ts = json_integer_value(json_array_get(last, 0));
		b->resume_last.src = (uint64_t)json_integer_value(
		    json_array_get(last, 1));
		b->resume_last.pos = (uint64_t)json_integer_value(
		    json_array_get(last, 2));
	}
}
