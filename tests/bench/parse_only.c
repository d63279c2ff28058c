/*
 * parse_only - the ceilings of the fs stack for benchmarks: reads NDJSON
 * with lineio and parses every line with rec_parse() (jansson, a whole
 * object), or with --simdjson validates it with simdjson through a
 * projection that keeps no member, or with --quick through the same
 * projection's quick scan (what fs-window and fs-agg pay for flat
 * projections: recproj.h), and does nothing else.  Prints the number of
 * records parsed.  Built by `make` as build/bench/parse_only; used by
 * scripts/bench-engine.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "recproj.h"
#include "tool.h"
#include "banned.h"

int main(int argc, char **argv)
{
	struct lineio lr;
	const char *line;
	size_t len;
	char why[REC_ERR_MAX];
	unsigned long long n = 0;
	struct recproj *rp = NULL;
	int r;

	diag_init(argv[0]);
	if (argc == 3 && (strcmp(argv[1], "--simdjson") == 0 ||
	    strcmp(argv[1], "--quick") == 0)) {
		rp = recproj_new();
		recproj_set_quick(rp, strcmp(argv[1], "--quick") == 0);
		argv++;
		argc--;
	}
	if (argc != 2)
		diag_usage("usage: parse_only [--simdjson | --quick] FILE");
	if (lineio_open(&lr, argv[1]) < 0)
		diag_fatal("cannot open: '%s': %s", argv[1], strerror(errno));
	while ((r = lineio_read(&lr, &line, &len)) != 0) {
		json_t *obj;

		if (r < 0)
			diag_fatal("read error: %s", argv[1]);
		obj = rp ? recproj_parse(rp, line, len, why) :
		    rec_parse(line, len, why);
		if (obj == NULL)
			diag_fatal("%s:%llu: %s", argv[1],
			    (unsigned long long)lr.lineno, why);
		json_decref(obj);
		n++;
	}
	lineio_close(&lr);
	recproj_free(rp);
	printf("%llu\n", n);
	return 0;
}
