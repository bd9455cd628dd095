/* runtime.c — what `kith chat` and `kith run` share once their channels are
 * up: block SIGINT/SIGTERM in every thread and wait for one of them, or for
 * every channel's input to end, in straight-line code. */
#include "cli/cli.h"
#include "agent/dispatcher.h"
#include "core/log.h"

#include <signal.h>
#include <time.h>

void cli_block_signals(sigset_t *signals)
{
	sigemptyset(signals);
	sigaddset(signals, SIGINT);
	sigaddset(signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, signals, NULL);
}

int cli_wait_for_end(struct dispatcher *d, const sigset_t *signals, int nchannels)
{
	struct timespec tick = { 0, 200 * 1000000L };

	for (;;) {
		int sig = sigtimedwait(signals, NULL, &tick);

		if (sig == SIGINT || sig == SIGTERM) {
			log_info("kith", "%s received; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
			return 1;
		}
		if (dispatcher_closed_channels(d) >= nchannels)
			return 0;
	}
}
