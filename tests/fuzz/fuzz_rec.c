/*
 * libFuzzer target: the record layer.  Any bytes as a line must either
 * parse into an object or be rejected with a reason; a parsed record is
 * classified, dumped, spliced, and the splice must parse again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[REC_ERR_MAX];
	json_t *o = rec_parse((const char *)data, size, why), *again;
	struct buf b = BUF_INIT;
	struct ctl c;

	if (o == NULL) {
		if (why[0] == '\0')
			abort();        /* a rejection always says why */
		return 0;
	}
	rec_control(o, &c, why);
	rec_dump(&b, o);
	again = rec_parse(b.data, b.len, why);
	if (again == NULL || !json_equal(o, again))
		abort();        /* our own output must read back the same */
	json_decref(again);
	rec_splice_begin(&b, (const char *)data, size);
	rec_splice_i64(&b, "window_start", -1);
	rec_splice_str(&b, "k\"", "v");
	rec_splice_end(&b);
	again = rec_parse(b.data, b.len, why);
	if (again == NULL ||
	    json_integer_value(json_object_get(again, "window_start")) != -1)
		abort();        /* a spliced record is still a record */
	json_decref(again);
	json_decref(o);
	buf_free(&b);
	return 0;
}
