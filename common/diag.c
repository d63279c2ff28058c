/* diag.c - diagnostics on stderr (see diag.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "banned.h"

/* The tool's name and -q/-v level: set once by main(), read everywhere. */
static const char *progname = "fs";
static int verbosity = DIAG_NORMAL;

void diag_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0 && *argv0)
		progname = slash ? slash + 1 : argv0;
}

const char *diag_progname(void)
{
	return progname;
}

void diag_set_verbosity(int level)
{
	verbosity = level;
}

int diag_verbosity(void)
{
	return verbosity;
}

static void vreport(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void diag_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	exit(1);
}

void diag_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	exit(2);
}

void diag_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

void diag_warn(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < DIAG_NORMAL)
		return;
	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

void diag_info(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < DIAG_VERBOSE)
		return;
	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}
