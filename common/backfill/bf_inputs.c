/* bf_inputs.c - files, directories and globs (see bf_inputs.h). */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bf_inputs.h"
#include "xalloc.h"
#include "banned.h"

static void push(struct bf_inputs *in, const char *path)
{
	in->paths = xgrow(in->paths, &in->cap, in->n + 1, sizeof *in->paths);
	in->paths[in->n++] = xstrdup(path);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(struct bf_inputs *in, const char *dir, char *why,
    size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t nn = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		snprintf(why, n, "cannot open directory: '%s': %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		len = strlen(dir) + strlen(e->d_name) + 2;
		p = xmalloc(len);
		snprintf(p, len, "%s%s%s", dir,
		    dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
		names = xgrow(names, &cap, nn + 1, sizeof *names);
		names[nn++] = p;
	}
	closedir(d);
	if (nn > 0)
		qsort(names, nn, sizeof *names, by_name);
	for (size_t i = 0; i < nn; i++) {
		struct stat st;

		if (rc == 0 && stat(names[i], &st) == 0) {
			if (S_ISDIR(st.st_mode))
				rc = add_dir(in, names[i], why, n);
			else if (S_ISREG(st.st_mode))
				push(in, names[i]);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int add_one(struct bf_inputs *in, const char *path, char *why,
    size_t n)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(why, n, "cannot open: '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return add_dir(in, path, why, n);
	push(in, path);
	return 0;
}

int bf_inputs_add(struct bf_inputs *in, const char *arg, char *why,
    size_t n)
{
	struct stat st;
	glob_t g;
	int rc = 0;

	if (strcmp(arg, "-") == 0) {
		push(in, arg);
		return 0;
	}
	if (stat(arg, &st) == 0 || strpbrk(arg, "*?[") == NULL)
		return add_one(in, arg, why, n);
	memset(&g, 0, sizeof g);
	if (glob(arg, GLOB_ERR, NULL, &g) != 0 || g.gl_pathc == 0) {
		snprintf(why, n, "no file matches: '%s'", arg);
		globfree(&g);
		return -1;
	}
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
		rc = add_one(in, g.gl_pathv[i], why, n);
	globfree(&g);
	return rc;
}

void bf_inputs_free(struct bf_inputs *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->paths[i]);
	free(in->paths);
	memset(in, 0, sizeof *in);
}
