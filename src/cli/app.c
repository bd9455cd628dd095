/* app.c — start-up shared by the subcommands.
 *
 * Order matters: configuration first (an invalid value must stop us before
 * anything is touched), then secrets are registered with the logger before
 * the first log line, then the data directory, database and LLM client. */
#include "cli/cli.h"
#include "agent/test_mode.h"
#include "tools/system_agent.h"
#include "config/runtime.h"
#include "agent/tools.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "llm/embed.h"
#include "llm/llm.h"
#include "memory/memory.h"
#include "plugin/plugin.h"
#include "store/store.h"
#include "tools/search.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

static int make_dir(const char *path)
{
	char *p = xstrdup(path);
	int ok = 1;

	for (char *q = p + 1; ok; q++) {
		char c = *q;

		if (c != '/' && c != '\0')
			continue;
		*q = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			ok = 0;
		*q = c;
		if (!c)
			break;
	}
	if (!ok)
		fprintf(stderr, "kith: cannot create %s: %s\n", path, strerror(errno));
	free(p);
	return ok;
}

static int setup_logging(struct app *app, unsigned needs)
{
	enum log_level level = LOG_INFO;
	const char *name = config_str(app->cfg, CFG_LOG_LEVEL);
	const char *file = config_str(app->cfg, CFG_LOG_FILE);
	char *path, *why = NULL;

	if (name)
		(void)log_level_parse(name, &level);
	log_set_stderr_level(needs & APP_QUIET ? LOG_WARN : level);
	path = file ? xstrdup(file) : xasprintf("%s/kith.log", config_data_dir(app->cfg));
	if (log_open_file(path, level, (long)config_int(app->cfg, CFG_LOG_MAX_BYTES),
			 (int)config_int(app->cfg, CFG_LOG_BACKUP_COUNT), &why) != KITH_OK) {
		fprintf(stderr, "kith: %s (logging to stderr only)\n", why);
		free(why);
	}
	free(path);
	log_info("kith", "kith %s starting; libcurl %s, SQLite %s, jansson %s, libmicrohttpd %s",
		 KITH_VERSION, curl_version_info(CURLVERSION_NOW)->version, sqlite3_libversion(),
		 JANSSON_VERSION, MHD_get_version());
	return 0;
}

static int open_store(struct app *app)
{
	char *why = NULL;
	int applied = 0;

	if (store_open(config_db_path(app->cfg), &app->st, &why) != KITH_OK ||
	    store_migrate(app->st, &applied, &why) != KITH_OK) {
		fprintf(stderr, "kith: %s\n", why ? why : "cannot open the database");
		free(why);
		return 1;
	}
	if (applied)
		log_info("store", "applied %d migration(s) to %s", applied, config_db_path(app->cfg));
	/* Values saved with /config win over .env and the environment. */
	if (config_runtime_sync(app->cfg, app->st, NULL, &why) != KITH_OK) {
		log_warn("config", "could not read saved settings: %s", why);
		free(why);
	}
	return 0;
}

/* Episodic memory: the configured embedder (a model, or the built-in hashing
 * one) and the memory over kith's database and HIM store. */
static int open_memory(struct app *app)
{
	struct memory_options mo = { 0 };
	char *why = NULL;

	if (!config_bool(app->cfg, CFG_MEMORY_ENABLED))
		return 0;
	if (embedder_from_config(app->cfg, app->llm, &app->embedder, &why) != KITH_OK)
		goto fail;
	mo.him_dir = config_him_dir(app->cfg);
	mo.him_cache_bytes = (size_t)config_int(app->cfg, CFG_HIM_CACHE_MB) << 20;
	mo.embedder = app->embedder;
	mo.db_path = config_db_path(app->cfg);
	if (memory_open(&mo, &app->memory, &why) != KITH_OK)
		goto fail;
	log_info("memory", "episodic memory in %s, embedder %s", mo.him_dir,
		 embedder_id(app->embedder));
	app->deps.memory = app->memory;
	app->deps.memory_min_chars = (int)config_int(app->cfg, CFG_MEMORY_MIN_CHARS);
	app->deps.memory_scope = config_bool(app->cfg, CFG_GLOBAL_MEMORY_ENABLED)
					 ? config_str(app->cfg, CFG_GLOBAL_MEMORY_ID)
					 : NULL;
	return 0;
fail:
	fprintf(stderr, "kith: cannot open memory: %s\n", why ? why : "unknown error");
	free(why);
	return 1;
}

/* Plugin agents in AGENTS_DIR (a missing directory just means none). */
static int open_plugins(struct app *app)
{
	struct plugin_options po;
	char *why = NULL;

	plugin_options_from_config(app->cfg, &po);
	if (plugins_open(&po, &app->plugins, &why) != KITH_OK) {
		fprintf(stderr, "kith: plugin agents: %s\n", why ? why : "cannot start");
		free(why);
		return 1;
	}
	app->deps.plugins = app->plugins;
	return 0;
}

/* The owner's system agent: everyone else is refused by it, and with no
 * APPROVAL_USER_ID nobody may use it.  Commands go through the tmux control
 * API when TMUX_CONTROL_TOKEN is set, else straight to posix_spawn. */
static void open_system_agent(struct app *app)
{
	struct system_agent_config sc = {
		.approver = config_str(app->cfg, CFG_APPROVAL_USER_ID),
		.tmux_url = config_str(app->cfg, CFG_TMUX_CONTROL_URL),
		.tmux_token = config_str(app->cfg, CFG_TMUX_CONTROL_TOKEN),
		.shell_mode = config_bool(app->cfg, CFG_SYSTEM_SHELL_MODE),
		.llm = app->llm,
		.remember = agent_delegate_remember,
	};

	app->system = system_agent_new(&sc);
	app->deps.system = app->system;
}

/* What only the programs that take messages need (chat, run): agents that
 * answer from messages and /test. */
static int open_agents(struct app *app)
{
	if (open_plugins(app))
		return 1;
	open_system_agent(app);
	app->test_mode = test_mode_new(config_data_dir(app->cfg));
	app->deps.test_mode = app->test_mode;
	return 0;
}

static int build_agent(struct app *app)
{
	struct llm_config lc;
	char *why = NULL;

	if (config_llm(app->cfg, &lc, &why) != KITH_OK) {
		fprintf(stderr, "kith: %s\n", why);
		free(why);
		llm_config_release(&lc);
		return EXIT_USAGE;
	}
	app->llm = llm_client_new(&lc);
	log_info("llm", "%s at %s, main model %s", llm_provider_name(lc.provider), lc.base_url,
		 lc.models[LLM_ROLE_MAIN] ? lc.models[LLM_ROLE_MAIN] : "(none)");
	llm_config_release(&lc);

	app->tools = tools_new();
	tools_add(app->tools, &tool_current_time);
	tools_add(app->tools, &tool_convert_time);

	app->deps.llm = app->llm;
	app->deps.tools = app->tools;
	app->deps.cfg = app->cfg;
	app->deps.persona = config_str(app->cfg, CFG_SEL_PERSONA_SEED);
	app->deps.timezone = config_str(app->cfg, CFG_SEL_TIMEZONE);
	app->deps.recent_limit = (int)config_int(app->cfg, CFG_RECENT_CONTEXT_LIMIT);
	app->deps.always_search = search_available(app->cfg);
	if (!app->deps.always_search)
		log_info("search", "no PERPLEXITY_API_KEY: replies come without web search");
	return open_memory(app);
}

int app_init(struct app *app, unsigned needs)
{
	char *why = NULL;
	int rc;

	memset(app, 0, sizeof(*app));
	if (config_load(&app->cfg, NULL, NULL, &why) != KITH_OK) {
		fprintf(stderr, "kith: invalid configuration: %s\n", why ? why : "unknown error");
		free(why);
		return EXIT_USAGE;
	}
	config_register_secrets(app->cfg);
	if (!make_dir(config_data_dir(app->cfg)))
		return 1;
	rc = setup_logging(app, needs);
	if (!rc && (needs & APP_STORE))
		rc = open_store(app);
	if (!rc && (needs & APP_AGENT))
		rc = build_agent(app);
	if (!rc && (needs & APP_AGENT) && (needs & APP_AGENTS))
		rc = open_agents(app);
	return rc;
}

void app_release(struct app *app)
{
	plugins_free(app->plugins);
	system_agent_free(app->system);
	test_mode_free(app->test_mode);
	memory_close(app->memory);
	embedder_free(app->embedder);
	tools_free(app->tools);
	llm_client_free(app->llm);
	store_close(app->st);
	config_free(app->cfg);
	log_close();
	memset(app, 0, sizeof(*app));
}
