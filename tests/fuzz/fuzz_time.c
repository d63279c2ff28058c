/*
 * libFuzzer target: durations, RFC 3339 times and field paths.  A time
 * that parses must format and parse back to the same instant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etime.h"
#include "path.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size), out[48];
	int64_t ms, back;
	struct path p;
	struct keyspec k;

	dur_parse(s, &ms);
	if (ts_parse_rfc3339((const char *)data, size, &ms) == 0) {
		ts_format_rfc3339(ms, out, sizeof out);
		if (ts_parse_rfc3339(out, strlen(out), &back) < 0 || back != ms)
			abort();
	}
	if (path_compile(&p, s) == 0)
		path_free(&p);
	if (keyspec_compile(&k, s) == 0)
		keyspec_free(&k);
	free(s);
	return 0;
}
