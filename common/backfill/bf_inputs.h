/*
 * bf_inputs.h - the input files of a batch tool, from its arguments.
 *
 * Each argument is "-" (standard input), a file, a directory (every
 * regular file under it, recursively, by name in byte order, leaving
 * out names that begin with '.'), or, when no such file exists, a glob
 * pattern (glob(3): "logs/2026-*.ndjson.gz"; quote it so the shell
 * leaves it alone; a matching directory is expanded as above).  Files
 * are listed in argument order, then name order; a file named twice is
 * read twice.
 *
 * Errors (a missing file, a pattern that matches nothing, an unreadable
 * directory) return -1 with the reason in why.
 */
#ifndef FS_BF_INPUTS_H
#define FS_BF_INPUTS_H

#include <stddef.h>

struct bf_inputs {
	char **paths;
	size_t n, cap;
};

int bf_inputs_add(struct bf_inputs *in, const char *arg, char *why,
    size_t n);
void bf_inputs_free(struct bf_inputs *in);

#endif
