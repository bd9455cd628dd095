/* chat.c — `kith chat`: the console channel on the full runtime.
 *
 * The same dispatcher and workers the daemon uses, with the terminal as the
 * only channel.  SIGINT/SIGTERM are blocked in every thread and taken here
 * with sigtimedwait, so shutdown runs in straight-line code: stop intake,
 * cancel or finish turns, close the database. */
#include "cli/cli.h"
#include "agent/dispatcher.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/log.h"
#include "llm/llm.h"
#include "store/store.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define HISTORY_SHOWN 10

static void show_history(struct app *app)
{
	struct store_message *rows = NULL;
	size_t n = 0;
	char *why = NULL;

	if (store_messages_recent(app->st, "console", "default", HISTORY_SHOWN, &rows, &n, &why)) {
		free(why);
		return;
	}
	if (n)
		printf("— the last %zu message%s —\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		printf("%s %s\n", rows[i].direction == MSG_OUTGOING ? "kith>" : " you>",
		       rows[i].content);
	if (n)
		puts("—");
	store_messages_free(rows, n);
}

static void greet(struct app *app)
{
	const struct llm_config *lc = llm_client_config(app->llm);
	const char *model = llm_model(app->llm, LLM_ROLE_MAIN);
	char *why = NULL;

	printf("kith %s — talking to %s at %s (model %s). /commands lists commands; "
	       "Ctrl-D quits.\n", KITH_VERSION, llm_provider_name(lc->provider), lc->base_url,
	       model ? model : "none");
	switch (llm_health(app->llm, &why)) {
	case KITH_OK:
		break;
	case KITH_ENOTFOUND:
		printf("Warning: %s\nSet OLLAMA_FOREGROUND_MODEL (Ollama) or OPENROUTER_MAIN_MODEL "
		       "(OpenAI-compatible) to a model the server has.\n", why);
		break;
	default:
		printf("Warning: %s\n"
		       "Start that server, or point kith elsewhere: OLLAMA_API_URL and "
		       "OLLAMA_FOREGROUND_MODEL for Ollama, or OPENROUTER_BASE_URL, "
		       "OPENROUTER_API_KEY and OPENROUTER_MAIN_MODEL for an OpenAI-compatible "
		       "server (in the environment or a .env file).\n", why);
		break;
	}
	free(why);
	fflush(stdout);
}

int cli_chat(int argc, char **argv)
{
	struct app app;
	struct dispatcher *d = NULL;
	struct channel *console = NULL;
	sigset_t signals;
	char *why = NULL;
	int interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	int rc, by_signal;

	/* Before anything starts a thread (app_init does: memory, plugins),
	 * or SIGTERM could land on one of them and end kith unceremoniously. */
	cli_block_signals(&signals);
	rc = app_init(&app, APP_STORE | APP_AGENT | APP_AGENTS | APP_QUIET);
	if (rc)
		goto out;
	if (interactive) {
		/* Failures reach the person as replies; the log file keeps the
		 * details, so log lines don't tear through the conversation. */
		log_set_stderr_level(LOG_OFF);
		show_history(&app);
		greet(&app);
	}


	d = dispatcher_new(&app.deps, config_db_path(app.cfg), 2);
	console = console_channel_new(STDIN_FILENO, stdout, interactive, getenv("USER"));
	if (dispatcher_start(d, &why) != KITH_OK ||
	    chan_start(console, dispatcher_inbox(d), &why) != KITH_OK) {
		fprintf(stderr, "kith: %s\n", why ? why : "cannot start");
		free(why);
		rc = 1;
		goto out;
	}
	by_signal = cli_wait_for_end(d, &signals, 1);
	chan_stop(console);
	dispatcher_stop(d, by_signal);
	log_info("kith", "stopped");
out:
	dispatcher_free(d);
	chan_free(console);
	app_release(&app);
	return rc;
}
