/* cli.h — what the subcommand files share: the start-up of a kith process.
 *
 * Exit codes: 0 success, 1 the work failed (e.g. the LLM is unreachable),
 * 2 bad usage or invalid configuration. */
#ifndef KITH_CLI_H
#define KITH_CLI_H

#include "agent/agent.h"

#include <signal.h>

#define EXIT_USAGE 2

struct config;
struct llm_client;
struct store;
struct tool_registry;

enum app_needs {
	APP_STORE = 1 << 0,   /* open and migrate the database */
	APP_AGENT = 1 << 1,   /* LLM client, tools, agent deps */
	APP_QUIET = 1 << 2,   /* only warnings and errors on stderr */
	APP_AGENTS = 1 << 3,  /* with APP_AGENT: plugin agents, the system agent and
			       * /test, for the programs that take messages */
};

struct app {
	struct config *cfg;
	struct store *st;
	struct llm_client *llm;
	struct tool_registry *tools;
	struct embedder *embedder;   /* memory's embedder, NULL when memory is off */
	struct memory *memory;
	struct plugins *plugins;     /* plugin agents from AGENTS_DIR, NULL = none */
	struct system_agent *system; /* the owner's system agent */
	struct test_mode *test_mode; /* /test sessions */
	struct agent_deps deps;
};

/* Load configuration, set up logging and what `needs` asks for.  Returns an
 * exit code: 0 when ready, else the message has been printed. */
int app_init(struct app *app, unsigned needs);
void app_release(struct app *app);

int cli_chat(int argc, char **argv);
int cli_ask(int argc, char **argv);
/* runtime.c: block SIGINT/SIGTERM in this thread and every thread it
 * starts afterwards; then wait for one of them (returns 1) or until
 * `nchannels` channels have closed their input (returns 0). */
struct dispatcher;
void cli_block_signals(sigset_t *signals);
int cli_wait_for_end(struct dispatcher *d, const sigset_t *signals, int nchannels);

/* background.c: the scheduler, its budget and jobs for `kith run`; sets
 * app->deps.sched/budget.  Returns an exit code (0 = running). */
struct background;
struct channel;
typedef struct channel *(*bg_channel_fn)(const char *name, void *ud);
int background_start(struct app *app, bg_channel_fn channel, void *channel_ud,
		     struct background **out);
/* Stop the jobs (cancelling one in flight) before the channels they send on
 * stop; background_stop frees everything later.  NULL is fine. */
void background_quiesce(struct background *bg);
void background_stop(struct app *app, struct background *bg);

int cli_run(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_version(int argc, char **argv);
int cli_him(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_backfill(int argc, char **argv);
/* tmuxd.c / hostexec.c: the system-access servers.  cli_listen_args reads
 * their shared options (--host H, --port N; port -1 = from the URL). */
struct cli_listen {
	const char *host;
	int port;
};
int cli_listen_args(const char *cmd, int argc, char **argv, struct cli_listen *a);
int cli_tmuxd(int argc, char **argv);
int cli_hostexec(int argc, char **argv);

#endif
