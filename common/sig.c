/* sig.c - SIGINT/SIGTERM as a stop request, SIGPIPE ignored (sig.h). */
#include <signal.h>
#include <string.h>

#include "sig.h"
#include "banned.h"

/* Written only by the handler; the one global a signal may set. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int signo)
{
	stop_signal = signo;
}

void sig_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;        /* no SA_RESTART: a blocked read returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool sig_stop_requested(void)
{
	return stop_signal != 0;
}

int sig_stop_signal(void)
{
	return stop_signal;
}
