/*
 * sig.h - a clean stop on SIGINT and SIGTERM, and no death by SIGPIPE.
 *
 * sig_install() makes SIGINT and SIGTERM set a flag (without SA_RESTART,
 * so a blocked read(2) returns and the tool can notice), and ignores
 * SIGPIPE so that a closed downstream shows up as EPIPE in out.h.  The
 * flag is the only process-wide state a signal handler may touch.
 * Tools check sig_stop_requested() in their loop, stop reading, flush
 * output and state, and exit 0.
 */
#ifndef FS_SIG_H
#define FS_SIG_H

#include <stdbool.h>

void sig_install(void);
bool sig_stop_requested(void);
/* The signal that asked to stop (SIGINT or SIGTERM), or 0. */
int sig_stop_signal(void);

#endif
