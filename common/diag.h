/*
 * diag.h - diagnostics on stderr, in one shape for every tool.
 *
 * Messages read "PROG: what went wrong: 'subject'", lowercase, one line.
 * Records go to stdout, everything else here goes to stderr.  The program
 * name and the verbosity (-q lowers it, -v raises it) are the only state,
 * set once by main() through diag_init() and diag_set_verbosity().
 *
 *   diag_fatal   runtime or data error: message, exit status 1
 *   diag_usage   usage error: message, a pointer to --help, exit status 2
 *   diag_warn    something the user should know; hidden by -q
 *   diag_info    progress and statistics; shown with -v (or --stats)
 *   diag_error   like diag_fatal but returns, for the caller to clean up
 *
 * -v sets DIAG_PROGRESS, --stats alone DIAG_VERBOSE: both show
 * diag_info(), only -v the progress line of progress.h.
 */
#ifndef FS_DIAG_H
#define FS_DIAG_H

#include <stdarg.h>

#ifdef __cplusplus      /* recproj.cc, the one C++ user */
#define _Noreturn [[noreturn]]
#endif

#define FS_VERSION "0.1.0"

enum { DIAG_QUIET = -1, DIAG_NORMAL = 0, DIAG_VERBOSE = 1, DIAG_PROGRESS = 2 };

void diag_init(const char *argv0);
const char *diag_progname(void);
void diag_set_verbosity(int level);
int diag_verbosity(void);

_Noreturn void diag_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
_Noreturn void diag_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void diag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
