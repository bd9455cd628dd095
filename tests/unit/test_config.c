/* test_config.c — settings resolution, validation, derived paths, LLM
 * provider selection and masked printing.
 *
 * Every test gets its own directory under the test tmpdir to act as the
 * working directory, and passes an explicit envp, so nothing here depends
 * on the environment the tests run in. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "support/test.h"

/* ---- helpers ------------------------------------------------------------- */

static char *newdir(const char *name)
{
	char *p = test_path(name);

	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		test_fail_(__FILE__, __LINE__, "mkdir %s: %s", p, strerror(errno));
	return p;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	if (!f) {
		test_fail_(__FILE__, __LINE__, "open %s: %s", p, strerror(errno));
		free(p);
		return;
	}
	fputs(text, f);
	fclose(f);
	free(p);
}

static const char *const no_env[] = { NULL };

/* Load expecting success. */
static struct config *load_ok(const char *const *envp, const char *cwd)
{
	struct config *c = NULL;
	char *why = NULL;

	if (config_load(&c, envp, cwd, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "config_load failed: %s", why ? why : "?");
		free(why);
		return NULL;
	}
	return c;
}

/* Load expecting KITH_ECONFIG; returns *why (caller frees). */
static char *load_err(const char *const *envp, const char *cwd)
{
	struct config *c = NULL;
	char *why = NULL;
	enum kith_status rc = config_load(&c, envp, cwd, &why);

	CHECK_EQ(rc, KITH_ECONFIG);
	CHECK(c == NULL);
	if (rc == KITH_OK)
		config_free(c);
	return why ? why : xstrdup("(no why)");
}

/* One-variable environment error message, in a fresh empty directory. */
static char *env_err(const char *assignment)
{
	static int n;
	char name[32];
	const char *envp[] = { assignment, NULL };
	char *dir, *why;

	snprintf(name, sizeof(name), "err%d", n++);
	dir = newdir(name);
	why = load_err(envp, dir);
	free(dir);
	return why;
}

#define CHECK_ENV_ERR(assignment, want) \
	do { char *w_ = env_err(assignment); CHECK_STR(w_, want); free(w_); } while (0)

static size_t list_len(const char *const *l)
{
	size_t n = 0;

	while (l[n])
		n++;
	return n;
}

/* ---- the table ----------------------------------------------------------- */

static void test_table_is_consistent(void)
{
	for (int i = 0; i < CFG_COUNT_; i++) {
		const struct cfg_def *d = config_def((enum cfg_id)i);

		REQUIRE(d->name && d->group && d->help && *d->help);
		CHECK_EQ(config_lookup(d->name), i);
		if (d->type == CFG_T_INT || d->type == CFG_T_FLOAT)
			CHECK(d->min <= d->max);
		if (d->type == CFG_T_ENUM)
			CHECK(d->choices != NULL);
		if (d->flags & CFG_SECRET)
			CHECK(d->def == NULL);   /* a default secret is not a secret */
	}
	CHECK_EQ(config_lookup("NOT_A_SETTING"), CFG_COUNT_);
	CHECK_EQ(config_lookup("ollama_api_url"), CFG_COUNT_);   /* exact names only */
	CHECK_EQ(config_lookup(NULL), CFG_COUNT_);
	/* Names from both seeds are all declared. */
	CHECK(config_lookup("TMUX_CONTROL_URL") != CFG_COUNT_);
	CHECK(config_lookup("OLLAMA_BACKGROUND_MODEL") != CFG_COUNT_);
	CHECK(config_lookup("INACTIVITY_PING_CHECK_SECONDS") != CFG_COUNT_);
	CHECK(config_lookup("GITHUB_APP_INSTALLATION_ID") != CFG_COUNT_);
}

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void)
{
	char *dir = newdir("defaults");
	struct config *c = load_ok(no_env, dir);
	char *want;
	const char *const *kw;

	REQUIRE(c);
	CHECK_STR(config_str(c, CFG_LOG_LEVEL), "INFO");
	CHECK_STR(config_origin(c, CFG_LOG_LEVEL), "default");
	CHECK(!config_is_set(c, CFG_LOG_LEVEL));
	CHECK_STR(config_str(c, CFG_OLLAMA_FOREGROUND_MODEL), "gpt-oss:20b");
	CHECK(config_str(c, CFG_OLLAMA_BACKGROUND_MODEL) == NULL);
	CHECK_STR(config_str(c, CFG_CHANNEL_TYPE), "auto");
	CHECK_STR(config_str(c, CFG_DISCORD_API_URL), "https://discord.com/api/v10");
	CHECK_STR(config_str(c, CFG_SIGNAL_API_URL), "http://localhost:8080");
	CHECK_STR(config_str(c, CFG_JMAP_SESSION_URL), "https://api.fastmail.com/jmap/session");
	CHECK_STR(config_str(c, CFG_SEL_TIMEZONE), "America/Los_Angeles");
	CHECK(config_str(c, CFG_SEL_PERSONA_SEED) != NULL);
	CHECK(strstr(config_str(c, CFG_SEL_PERSONA_SEED), "Sel") == NULL);
	CHECK_EQ(config_int(c, CFG_MESSAGE_MAX_STEPS), 5);
	CHECK_EQ(config_int(c, CFG_LOG_MAX_BYTES), 10485760);
	CHECK_EQ(config_int(c, CFG_INACTIVITY_PING_CHECK_SECONDS), 900);
	CHECK(config_float(c, CFG_TOOL_TIMEOUT) == 60.0);
	CHECK(config_float(c, CFG_OPENROUTER_MAIN_TEMP) == 0.8);
	CHECK(config_float(c, CFG_INACTIVITY_PING_HOURS) == 48.0);
	CHECK(config_bool(c, CFG_USE_HIM_HORMONES));
	kw = config_list(c, CFG_CONTINUATION_KEYWORDS);
	CHECK_EQ(list_len(kw), 7);
	CHECK_STR(kw[0], "time");
	CHECK_STR(kw[6], "clock");
	/* Deny by default: nobody approves, nothing may be executed. */
	CHECK(config_str(c, CFG_APPROVAL_USER_ID) == NULL);
	CHECK_EQ(list_len(config_list(c, CFG_HOST_EXEC_WHITELIST)), 0);
	CHECK_EQ(list_len(config_list(c, CFG_WHITELIST_CHANNEL_IDS)), 0);
	CHECK(config_str(c, CFG_DISCORD_BOT_TOKEN) == NULL);
	CHECK_STR(config_origin(c, CFG_DISCORD_BOT_TOKEN), "default");

	want = xasprintf("%s/data", dir);
	CHECK_STR(config_data_dir(c), want);
	free(want);
	want = xasprintf("%s/data/kith.db", dir);
	CHECK_STR(config_db_path(c), want);
	free(want);
	want = xasprintf("%s/data/him", dir);
	CHECK_STR(config_him_dir(c), want);
	free(want);
	config_free(c);
	free(dir);
}

/* ---- validation: every path names the variable and the origin ------------ */

static void test_validation_messages(void)
{
	CHECK_ENV_ERR("OPENROUTER_MAIN_TEMP=hot",
		      "OPENROUTER_MAIN_TEMP: expected a number between 0 and 2, got 'hot' (from environment)");
	CHECK_ENV_ERR("OPENROUTER_MAIN_TEMP=2.5",
		      "OPENROUTER_MAIN_TEMP: expected a number between 0 and 2, got '2.5' (from environment)");
	CHECK_ENV_ERR("OPENROUTER_TOP_P=-0.1",
		      "OPENROUTER_TOP_P: expected a number between 0 and 1, got '-0.1' (from environment)");
	CHECK_ENV_ERR("WEATHER_LATITUDE=nan",
		      "WEATHER_LATITUDE: expected a number between -90 and 90, got 'nan' (from environment)");
	CHECK_ENV_ERR("MESSAGE_MAX_STEPS=five",
		      "MESSAGE_MAX_STEPS: expected a whole number between 1 and 100, got 'five' (from environment)");
	CHECK_ENV_ERR("MESSAGE_MAX_STEPS=0",
		      "MESSAGE_MAX_STEPS: expected a whole number between 1 and 100, got '0' (from environment)");
	CHECK_ENV_ERR("HIM_API_PORT=70000",
		      "HIM_API_PORT: expected a whole number between 1 and 65535, got '70000' (from environment)");
	CHECK_ENV_ERR("LOG_MAX_BYTES=99999999999999999999999",
		      "LOG_MAX_BYTES: expected a whole number between 0 and 1099511627776, got '99999999999999999999999' (from environment)");
	CHECK_ENV_ERR("MESSAGE_MAX_STEPS=2.5",
		      "MESSAGE_MAX_STEPS: expected a whole number between 1 and 100, got '2.5' (from environment)");
	CHECK_ENV_ERR("USE_HIM_HORMONES=maybe",
		      "USE_HIM_HORMONES: expected true or false (or yes/no, on/off, 1/0), got 'maybe' (from environment)");
	CHECK_ENV_ERR("OLLAMA_API_URL=localhost:11434",
		      "OLLAMA_API_URL: expected an http:// or https:// URL, got 'localhost:11434' (from environment)");
	CHECK_ENV_ERR("SIGNAL_API_URL=http://",
		      "SIGNAL_API_URL: expected an http:// or https:// URL, got 'http://' (from environment)");
	CHECK_ENV_ERR("SIGNAL_API_URL=http://host:99999",
		      "SIGNAL_API_URL: expected an http:// or https:// URL, got 'http://host:99999' (from environment)");
	CHECK_ENV_ERR("SIGNAL_API_URL=http://ho st",
		      "SIGNAL_API_URL: expected an http:// or https:// URL, got 'http://ho st' (from environment)");
	CHECK_ENV_ERR("CHANNEL_TYPE=telegram",
		      "CHANNEL_TYPE: expected one of auto, console, discord, signal, got 'telegram' (from environment)");
	CHECK_ENV_ERR("LLM_PROVIDER=anthropic",
		      "LLM_PROVIDER: expected one of auto, ollama, openai, openrouter, localai, got 'anthropic' (from environment)");
	CHECK_ENV_ERR("WHITELIST_CHANNEL_IDS=[1,2",
		      "WHITELIST_CHANNEL_IDS: expected a comma-separated list or JSON array of numeric IDs, got '[1,2' (from environment)");
	CHECK_ENV_ERR("WHITELIST_CHANNEL_IDS=123,general",
		      "WHITELIST_CHANNEL_IDS: expected a comma-separated list or JSON array of numeric IDs, got '123,general' (from environment)");
	CHECK_ENV_ERR("CONTINUATION_KEYWORDS=[\"a\",{\"b\":1}]",
		      "CONTINUATION_KEYWORDS: expected a comma-separated list or JSON array of strings, got '[\"a\",{\"b\":1}]' (from environment)");
	CHECK_ENV_ERR("SEL_TIMEZONE=Mars/Olympus_Mons",
		      "SEL_TIMEZONE: expected a time zone name such as Europe/Berlin or UTC, got 'Mars/Olympus_Mons' (from environment)");
	CHECK_ENV_ERR("SEL_TIMEZONE=../../etc/passwd",
		      "SEL_TIMEZONE: expected a time zone name such as Europe/Berlin or UTC, got '../../etc/passwd' (from environment)");
	CHECK_ENV_ERR("LOG_LEVEL=loud",
		      "LOG_LEVEL: expected a log level (DEBUG, INFO, WARNING, ERROR or CRITICAL), got 'loud' (from environment)");
	CHECK_ENV_ERR("DISCORD_CHANNEL_ID=general",
		      "DISCORD_CHANNEL_ID: expected a numeric ID (digits only), got 'general' (from environment)");
	CHECK_ENV_ERR("DATABASE_URL=mysql://db/x",
		      "DATABASE_URL: expected sqlite:///path/to/file.db or postgres://user@host/db, got 'mysql://db/x' (from environment)");
	CHECK_ENV_ERR("LOG_FILE=/tmp/a\nb",
		      "LOG_FILE: expected a file system path, got '/tmp/a\\nb' (from environment)");
}

static void test_secrets_never_echoed(void)
{
	char *why = env_err("HIM_API_TOKEN=topsecret-token\nsecond-line");

	CHECK_STR(why, "HIM_API_TOKEN: expected a single-line value without control characters, "
		       "got an invalid value (from environment)");
	CHECK(strstr(why, "topsecret") == NULL);
	free(why);
	/* A password inside a URL is not repeated either. */
	why = env_err("DATABASE_URL=mysql://me:hunter22@db/x");
	CHECK(strstr(why, "hunter22") == NULL);
	CHECK_CONTAINS(why, "mysql://me:****@db/x");
	free(why);
}

static void test_error_from_dotenv_names_file_and_line(void)
{
	char *dir = newdir("dotenv_err");
	char *why, *want;

	write_file(dir, ".env", "# my settings\nLOG_LEVEL=DEBUG\nOPENROUTER_MAIN_TEMP=warm\n");
	why = load_err(no_env, dir);
	want = xasprintf("OPENROUTER_MAIN_TEMP: expected a number between 0 and 2, got 'warm' "
			 "(from %s/.env:3)", dir);
	CHECK_STR(why, want);
	free(want);
	free(why);
	free(dir);
}

static void test_malformed_dotenv(void)
{
	char *dir = newdir("malformed");
	char *why, *want;

	write_file(dir, ".env", "A=1\nB='unterminated\n");
	why = load_err(no_env, dir);
	want = xasprintf("%s/.env:2: unterminated single-quoted value", dir);
	CHECK_STR(why, want);
	free(want);
	free(why);
	free(dir);
}

static void test_first_invalid_value_wins(void)
{
	/* Table order: LOG_LEVEL (Logging) comes before MESSAGE_MAX_STEPS (Agent). */
	const char *envp[] = { "MESSAGE_MAX_STEPS=x", "LOG_LEVEL=x", NULL };
	char *dir = newdir("first_invalid");
	char *why = load_err(envp, dir);

	CHECK(strncmp(why, "LOG_LEVEL:", 10) == 0);
	free(why);
	free(dir);
}

static void test_defaults_are_overridable_with_invalid_defaults_impossible(void)
{
	/* Every default parses: a config with nothing set loads (test_defaults),
	 * and a value equal to the bounds is accepted. */
	const char *envp[] = { "OPENROUTER_MAIN_TEMP=2", "OPENROUTER_TOP_P=0", "HIM_API_PORT=65535",
			       "WEATHER_LONGITUDE=-180", NULL };
	char *dir = newdir("bounds");
	struct config *c = load_ok(envp, dir);

	REQUIRE(c);
	CHECK(config_float(c, CFG_OPENROUTER_MAIN_TEMP) == 2.0);
	CHECK(config_float(c, CFG_OPENROUTER_TOP_P) == 0.0);
	CHECK_EQ(config_int(c, CFG_HIM_API_PORT), 65535);
	config_free(c);
	free(dir);
}

/* ---- normalisation ------------------------------------------------------- */

static void test_normalisation(void)
{
	const char *envp[] = {
		"USE_HIM_HORMONES=YES", "GLOBAL_MOOD_ENABLED= off ", "CHANNEL_TYPE=Discord",
		"WHITELIST_CHANNEL_IDS=[111, 222]", "CONTINUATION_KEYWORDS= a, b,,c ,",
		"HOST_EXEC_WHITELIST=[\"ls\",\"uptime\"]", "INACTIVITY_PING_CHECK_SECONDS=900.0",
		"LOG_LEVEL=warning", "MESSAGE_MAX_STEPS= 7 ", "SEL_TIMEZONE=UTC",
		"SEL_PERSONA_SEED=  spaces kept  ", NULL,
	};
	char *dir = newdir("normal");
	struct config *c = load_ok(envp, dir);
	const char *const *l;

	REQUIRE(c);
	CHECK(config_bool(c, CFG_USE_HIM_HORMONES));
	CHECK_STR(config_str(c, CFG_USE_HIM_HORMONES), "true");
	CHECK(!config_bool(c, CFG_GLOBAL_MOOD_ENABLED));
	CHECK_STR(config_str(c, CFG_CHANNEL_TYPE), "discord");
	l = config_list(c, CFG_WHITELIST_CHANNEL_IDS);
	CHECK_EQ(list_len(l), 2);
	CHECK_STR(l[0], "111");
	CHECK_STR(l[1], "222");
	l = config_list(c, CFG_CONTINUATION_KEYWORDS);
	REQUIRE(list_len(l) == 3);
	CHECK_STR(l[0], "a");
	CHECK_STR(l[1], "b");
	CHECK_STR(l[2], "c");
	l = config_list(c, CFG_HOST_EXEC_WHITELIST);
	REQUIRE(list_len(l) == 2);
	CHECK_STR(l[1], "uptime");
	CHECK_EQ(config_int(c, CFG_INACTIVITY_PING_CHECK_SECONDS), 900);
	CHECK_STR(config_str(c, CFG_LOG_LEVEL), "WARNING");
	CHECK_EQ(config_int(c, CFG_MESSAGE_MAX_STEPS), 7);
	CHECK_STR(config_str(c, CFG_SEL_TIMEZONE), "UTC");
	CHECK_STR(config_str(c, CFG_SEL_PERSONA_SEED), "  spaces kept  ");
	config_free(c);
	free(dir);
}

static void test_whitelist_comma_form(void)
{
	const char *envp[] = { "WHITELIST_CHANNEL_IDS=1,2", NULL };
	char *dir = newdir("wl_comma");
	struct config *c = load_ok(envp, dir);

	REQUIRE(c);
	CHECK_EQ(list_len(config_list(c, CFG_WHITELIST_CHANNEL_IDS)), 2);
	config_free(c);
	free(dir);
}

static void test_empty_json_list_overrides_default(void)
{
	const char *envp[] = { "CONTINUATION_KEYWORDS=[]", NULL };
	char *dir = newdir("emptylist");
	struct config *c = load_ok(envp, dir);

	REQUIRE(c);
	CHECK_EQ(list_len(config_list(c, CFG_CONTINUATION_KEYWORDS)), 0);
	CHECK(config_is_set(c, CFG_CONTINUATION_KEYWORDS));
	config_free(c);
	free(dir);
}

/* ---- sources and precedence ---------------------------------------------- */

static void test_origins(void)
{
	const char *envp[] = { "LOG_LEVEL=DEBUG", NULL };
	char *dir = newdir("origins");
	struct config *c;
	char *want;

	write_file(dir, ".env", "MESSAGE_MAX_STEPS=9\n");
	c = load_ok(envp, dir);
	REQUIRE(c);
	CHECK_STR(config_origin(c, CFG_LOG_LEVEL), "environment");
	CHECK(config_is_set(c, CFG_LOG_LEVEL));
	want = xasprintf(".env (%s/.env)", dir);
	CHECK_STR(config_origin(c, CFG_MESSAGE_MAX_STEPS), want);
	CHECK(config_is_set(c, CFG_MESSAGE_MAX_STEPS));
	CHECK_STR(config_origin(c, CFG_TOOL_TIMEOUT), "default");
	CHECK(!config_is_set(c, CFG_TOOL_TIMEOUT));
	free(want);
	config_free(c);
	free(dir);
}

static void test_env_beats_dotenv(void)
{
	const char *envp[] = { "OLLAMA_FOREGROUND_MODEL=from-env", NULL };
	char *dir = newdir("env_wins");
	struct config *c;

	write_file(dir, ".env", "OLLAMA_FOREGROUND_MODEL=from-file\nOLLAMA_VISION_MODEL=vis\n");
	c = load_ok(envp, dir);
	REQUIRE(c);
	CHECK_STR(config_str(c, CFG_OLLAMA_FOREGROUND_MODEL), "from-env");
	CHECK_STR(config_str(c, CFG_OLLAMA_VISION_MODEL), "vis");
	config_free(c);
	free(dir);
}

static void test_cwd_dotenv_beats_data_dir_dotenv(void)
{
	char *dir = newdir("two_files");
	char *data = xasprintf("%s/data", dir);
	struct config *c;
	char *want;

	(void)mkdir(data, 0700);
	write_file(dir, ".env", "OLLAMA_FOREGROUND_MODEL=cwd\n");
	write_file(data, ".env", "OLLAMA_FOREGROUND_MODEL=data\nOLLAMA_IMAGE_MODEL=img\n");
	c = load_ok(no_env, dir);
	REQUIRE(c);
	CHECK_STR(config_str(c, CFG_OLLAMA_FOREGROUND_MODEL), "cwd");
	CHECK_STR(config_str(c, CFG_OLLAMA_IMAGE_MODEL), "img");
	want = xasprintf(".env (%s/.env)", data);
	CHECK_STR(config_origin(c, CFG_OLLAMA_IMAGE_MODEL), want);
	free(want);
	config_free(c);
	free(data);
	free(dir);
}

static void test_data_dir_from_dotenv(void)
{
	char *dir = newdir("dd_from_env");
	char *data = newdir("dd_elsewhere");
	struct config *c;
	char *body = xasprintf("KITH_DATA_DIR=%s\n", data);
	char *want;

	write_file(dir, ".env", body);
	/* The data dir .env cannot move the data dir again. */
	write_file(data, ".env", "LOG_LEVEL=ERROR\nKITH_DATA_DIR=/nowhere\n");
	c = load_ok(no_env, dir);
	REQUIRE(c);
	CHECK_STR(config_data_dir(c), data);
	CHECK_STR(config_str(c, CFG_KITH_DATA_DIR), data);
	CHECK_STR(config_str(c, CFG_LOG_LEVEL), "ERROR");
	want = xasprintf("%s/kith.db", data);
	CHECK_STR(config_db_path(c), want);
	free(want);
	config_free(c);
	free(body);
	free(data);
	free(dir);
}

static void test_relative_data_dir_is_made_absolute(void)
{
	const char *envp[] = { "KITH_DATA_DIR=./state//kith/", "HIM_MEMORY_DIR=tiles", NULL };
	char *dir = newdir("rel_dd");
	struct config *c = load_ok(envp, dir);
	char *want;

	REQUIRE(c);
	want = xasprintf("%s/state/kith", dir);
	CHECK_STR(config_data_dir(c), want);
	free(want);
	want = xasprintf("%s/tiles", dir);
	CHECK_STR(config_him_dir(c), want);
	free(want);
	config_free(c);
	free(dir);
}

static void test_xdg_data_home(void)
{
	const char *envp[] = { "XDG_DATA_HOME=/srv/xdg", NULL };
	const char *rel[] = { "XDG_DATA_HOME=relative/xdg", NULL };
	char *dir = newdir("xdg");
	struct config *c = load_ok(envp, dir);
	char *want;

	REQUIRE(c);
	CHECK_STR(config_data_dir(c), "/srv/xdg/kith");
	config_free(c);
	/* A relative XDG_DATA_HOME is invalid per the XDG spec and ignored. */
	c = load_ok(rel, dir);
	REQUIRE(c);
	want = xasprintf("%s/data", dir);
	CHECK_STR(config_data_dir(c), want);
	free(want);
	config_free(c);
	free(dir);
}

static void test_data_dir_is_cwd(void)
{
	const char *envp[] = { "KITH_DATA_DIR=.", NULL };
	char *dir = newdir("dd_is_cwd");
	struct config *c;

	write_file(dir, ".env", "LOG_LEVEL=DEBUG\n");
	c = load_ok(envp, dir);
	REQUIRE(c);
	CHECK_STR(config_data_dir(c), dir);
	CHECK_STR(config_str(c, CFG_LOG_LEVEL), "DEBUG");
	config_free(c);
	free(dir);
}

static void test_lower_case_names_in_dotenv(void)
{
	const char *envp[] = { "log_level=DEBUG", NULL };   /* env names are exact */
	char *dir = newdir("lower");
	struct config *c;

	write_file(dir, ".env", "openrouter_api_key=sk-lower-case-key\nMessage_Max_Steps=8\n");
	c = load_ok(envp, dir);
	REQUIRE(c);
	CHECK_STR(config_str(c, CFG_OPENROUTER_API_KEY), "sk-lower-case-key");
	CHECK_EQ(config_int(c, CFG_MESSAGE_MAX_STEPS), 8);
	CHECK_STR(config_str(c, CFG_LOG_LEVEL), "INFO");
	config_free(c);
	free(dir);
}

static void test_empty_values_are_unset(void)
{
	const char *envp[] = { "LOG_LEVEL=", "OLLAMA_API_URL=", NULL };
	char *dir = newdir("empty");
	char *data = xasprintf("%s/data", dir);
	struct config *c;

	(void)mkdir(data, 0700);
	write_file(dir, ".env", "LOG_LEVEL=\nMESSAGE_MAX_STEPS=\n");
	write_file(data, ".env", "LOG_LEVEL=ERROR\n");
	c = load_ok(envp, dir);
	REQUIRE(c);
	CHECK_STR(config_str(c, CFG_LOG_LEVEL), "ERROR");
	CHECK_EQ(config_int(c, CFG_MESSAGE_MAX_STEPS), 5);
	CHECK(!config_is_set(c, CFG_OLLAMA_API_URL));
	config_free(c);
	free(data);
	free(dir);
}

static void test_last_line_in_a_file_wins(void)
{
	char *dir = newdir("lastwins");
	struct config *c;
	char *want;

	write_file(dir, ".env", "LOG_LEVEL=DEBUG\nlog_level=ERROR\n");
	c = load_ok(no_env, dir);
	REQUIRE(c);
	CHECK_STR(config_str(c, CFG_LOG_LEVEL), "ERROR");
	config_free(c);
	/* ...and a bad line names the line it is on. */
	write_file(dir, ".env", "LOG_LEVEL=DEBUG\n\nHIM_MEMORY_LEVELS=99\n");
	{
		char *why = load_err(no_env, dir);

		want = xasprintf("HIM_MEMORY_LEVELS: expected a whole number between 1 and 12, "
				 "got '99' (from %s/.env:3)", dir);
		CHECK_STR(why, want);
		free(want);
		free(why);
	}
	free(dir);
}

static void test_unknown_variables_ignored(void)
{
	const char *envp[] = { "PATH=/usr/bin", "SOMETHING_ELSE=[[[", "=weird", "NOEQUALS", NULL };
	char *dir = newdir("unknown");
	struct config *c;

	write_file(dir, ".env", "ELEVENLABS_API_KEY=x\nSEAL_ENABLED=maybe\n");
	c = load_ok(envp, dir);
	CHECK(c != NULL);
	config_free(c);
	free(dir);
}

static void test_duplicate_env_entries_first_wins(void)
{
	const char *envp[] = { "LOG_LEVEL=DEBUG", "LOG_LEVEL=nonsense", NULL };
	char *dir = newdir("dupenv");
	struct config *c = load_ok(envp, dir);

	REQUIRE(c);
	CHECK_STR(config_str(c, CFG_LOG_LEVEL), "DEBUG");
	config_free(c);
	free(dir);
}

static void test_dotenv_that_is_a_directory(void)
{
	char *dir = newdir("envdir");
	char *p = xasprintf("%s/.env", dir);
	char *why, *want;

	(void)mkdir(p, 0700);
	why = load_err(no_env, dir);
	want = xasprintf("%s: not a regular file", p);
	CHECK_STR(why, want);
	free(want);
	free(why);
	free(p);
	free(dir);
}

static void test_dotenv_that_is_a_fifo(void)
{
	char *dir = newdir("envfifo");
	char *p = xasprintf("%s/.env", dir);
	char *why, *want;

	REQUIRE(mkfifo(p, 0600) == 0);
	why = load_err(no_env, dir);   /* must not block waiting for a writer */
	want = xasprintf("%s: not a regular file", p);
	CHECK_STR(why, want);
	free(want);
	free(why);
	free(p);
	free(dir);
}

static void test_time_zones(void)
{
	const char *envp[] = { "SEL_TIMEZONE=Asia/Tokyo", NULL };
	const char *etc[] = { "SEL_TIMEZONE=Etc/GMT+5", NULL };
	char *dir = newdir("tz");
	struct config *c = load_ok(envp, dir);

	REQUIRE(c);
	CHECK_STR(config_str(c, CFG_SEL_TIMEZONE), "Asia/Tokyo");
	config_free(c);
	c = load_ok(etc, dir);
	CHECK(c != NULL);
	config_free(c);
	free(dir);
	CHECK_ENV_ERR("SEL_TIMEZONE=Asia",
		      "SEL_TIMEZONE: expected a time zone name such as Europe/Berlin or UTC, got 'Asia' (from environment)");
	CHECK_ENV_ERR("SEL_TIMEZONE=/etc/localtime",
		      "SEL_TIMEZONE: expected a time zone name such as Europe/Berlin or UTC, got '/etc/localtime' (from environment)");
}

static void test_process_environment_and_cwd(void)
{
	/* envp NULL = environ, cwd NULL = the current directory.  The runner's
	 * own environment could hold a kith variable we cannot predict, so
	 * only our own variable is asserted on. */
	char *dir = newdir("procenv");
	char *old = getcwd(NULL, 0);
	struct config *c = NULL;
	char *why = NULL, *want;

	REQUIRE(old);
	write_file(dir, ".env", "OLLAMA_IMAGE_MODEL=from-cwd-file\n");
	setenv("MESSAGE_MAX_STEPS", "7", 1);
	REQUIRE(chdir(dir) == 0);
	if (config_load(&c, NULL, NULL, &why) == KITH_OK) {
		CHECK_EQ(config_int(c, CFG_MESSAGE_MAX_STEPS), 7);
		CHECK_STR(config_origin(c, CFG_MESSAGE_MAX_STEPS), "environment");
		if (!getenv("OLLAMA_IMAGE_MODEL") || !*getenv("OLLAMA_IMAGE_MODEL"))
			CHECK_STR(config_str(c, CFG_OLLAMA_IMAGE_MODEL), "from-cwd-file");
		if (!getenv("KITH_DATA_DIR") && !getenv("XDG_DATA_HOME")) {
			char *real = realpath(dir, NULL);   /* getcwd() resolves symlinks */

			want = xasprintf("%s/data", real ? real : dir);
			CHECK_STR(config_data_dir(c), want);
			free(want);
			free(real);
		}
		config_free(c);
	} else {
		CHECK(why && !strstr(why, "MESSAGE_MAX_STEPS"));
		free(why);
	}
	unsetenv("MESSAGE_MAX_STEPS");
	CHECK(chdir(old) == 0);
	free(old);
	free(dir);
}

/* ---- database paths ------------------------------------------------------ */

static void check_db(const char *assign, const char *want_rel_or_abs, bool relative)
{
	static int n;
	char name[32];
	const char *envp[] = { assign, NULL };
	char *dir, *want;
	struct config *c;

	snprintf(name, sizeof(name), "db%d", n++);
	dir = newdir(name);
	c = load_ok(envp, dir);
	if (c) {
		want = relative ? xasprintf("%s/%s", dir, want_rel_or_abs) : xstrdup(want_rel_or_abs);
		CHECK_STR(config_db_path(c), want);
		free(want);
		config_free(c);
	}
	free(dir);
}

static void test_database_url_forms(void)
{
	check_db("DATABASE_URL=sqlite+aiosqlite:///./sel.db", "sel.db", true);
	check_db("DATABASE_URL=sqlite:///var/kith.db", "var/kith.db", true);
	check_db("DATABASE_URL=sqlite:////srv/kith/kith.db", "/srv/kith/kith.db", false);
	check_db("DATABASE_URL=sqlite:///:memory:", ":memory:", false);
	check_db("DATABASE_URL=sqlite:////srv/x.db?mode=rwc", "/srv/x.db", false);
	check_db("DB_PATH=/srv/penny/penny.db", "/srv/penny/penny.db", false);
	check_db("DB_PATH=rel/p.db", "rel/p.db", true);
	/* PostgreSQL is accepted but the store is SQLite for now. */
	check_db("DATABASE_URL=postgresql+asyncpg://sel:pw@db:5432/sel", "data/kith.db", true);
	check_db("DATABASE_URL=postgres://db/sel", "data/kith.db", true);

	CHECK_ENV_ERR("DATABASE_URL=sqlite://",
		      "DATABASE_URL: expected sqlite:///path/to/file.db or postgres://user@host/db, got 'sqlite://' (from environment)");
	CHECK_ENV_ERR("DATABASE_URL=sel.db",
		      "DATABASE_URL: expected sqlite:///path/to/file.db or postgres://user@host/db, got 'sel.db' (from environment)");
	CHECK_ENV_ERR("DATABASE_URL=postgresqlx://db/x",
		      "DATABASE_URL: expected sqlite:///path/to/file.db or postgres://user@host/db, got 'postgresqlx://db/x' (from environment)");
}

static void test_db_path_beats_database_url(void)
{
	const char *envp[] = { "DATABASE_URL=sqlite:////a.db", "DB_PATH=/b.db", NULL };
	char *dir = newdir("dbprec");
	struct config *c = load_ok(envp, dir);

	REQUIRE(c);
	CHECK_STR(config_db_path(c), "/b.db");
	config_free(c);
	free(dir);
}

/* ---- LLM provider selection ---------------------------------------------- */

static struct config *llm_env(const char *const *envp)
{
	static int n;
	char name[32];
	char *dir;
	struct config *c;

	snprintf(name, sizeof(name), "llm%d", n++);
	dir = newdir(name);
	c = load_ok(envp, dir);
	free(dir);
	return c;
}

static void test_llm_nothing_set_is_local_ollama(void)
{
	struct config *c = llm_env(no_env);
	struct llm_config lc;
	char *why = NULL;

	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_EQ(lc.provider, LLM_PROVIDER_OLLAMA);
	CHECK_STR(lc.base_url, "http://localhost:11434");
	CHECK_STR(lc.models[LLM_ROLE_MAIN], "gpt-oss:20b");
	CHECK_STR(lc.models[LLM_ROLE_UTIL], "gpt-oss:20b");
	CHECK(lc.models[LLM_ROLE_VISION] == NULL);
	CHECK(lc.models[LLM_ROLE_EMBED] == NULL);
	CHECK(lc.models[LLM_ROLE_IMAGE] == NULL);
	CHECK(lc.temperature[LLM_ROLE_MAIN] < 0);
	CHECK(lc.top_p < 0);
	CHECK(lc.api_key == NULL);
	CHECK_EQ(lc.timeout_ms, 120000);
	CHECK_EQ(lc.max_attempts, 4);
	CHECK_STR(lc.title, "kith");
	llm_config_release(&lc);
	config_free(c);
}

static void test_llm_openrouter_key_selects_openai(void)
{
	const char *envp[] = { "OPENROUTER_API_KEY=sk-or-v1-0123456789abcdef", NULL };
	struct config *c = llm_env(envp);
	struct llm_config lc;
	char *why = NULL;

	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_EQ(lc.provider, LLM_PROVIDER_OPENAI);
	CHECK_STR(lc.base_url, "https://openrouter.ai/api/v1");
	CHECK_STR(lc.api_key, "sk-or-v1-0123456789abcdef");
	CHECK_STR(lc.models[LLM_ROLE_MAIN], "anthropic/claude-3.5-sonnet");
	CHECK_STR(lc.models[LLM_ROLE_UTIL], "anthropic/claude-3-haiku-20240307");
	CHECK_STR(lc.models[LLM_ROLE_VISION], "openai/gpt-4o-mini");
	CHECK(lc.models[LLM_ROLE_EMBED] == NULL);
	CHECK(fabs(lc.temperature[LLM_ROLE_MAIN] - 0.8) < 1e-9);
	CHECK(fabs(lc.temperature[LLM_ROLE_UTIL] - 0.3) < 1e-9);
	CHECK(fabs(lc.top_p - 0.9) < 1e-9);
	llm_config_release(&lc);
	config_free(c);
}

static void test_llm_ollama_url_beats_key(void)
{
	const char *envp[] = { "OPENROUTER_API_KEY=sk-or-v1-0123456789abcdef",
			       "OLLAMA_API_URL=http://gpu-box:11434/", NULL };
	struct config *c = llm_env(envp);
	struct llm_config lc;
	char *why = NULL;

	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_EQ(lc.provider, LLM_PROVIDER_OLLAMA);
	CHECK_STR(lc.base_url, "http://gpu-box:11434");
	CHECK(lc.api_key == NULL);
	llm_config_release(&lc);
	config_free(c);
}

static void test_llm_provider_forced(void)
{
	const char *to_openrouter[] = { "LLM_PROVIDER=openrouter", "OLLAMA_API_URL=http://x:1",
					"OPENROUTER_API_KEY=sk-or-v1-0123456789abcdef", NULL };
	const char *to_ollama[] = { "LLM_PROVIDER=Ollama",
				    "OPENROUTER_API_KEY=sk-or-v1-0123456789abcdef", NULL };
	const char *auto_[] = { "LLM_PROVIDER=auto", "OPENROUTER_API_KEY=k-0123456789", NULL };
	struct config *c;
	struct llm_config lc;
	char *why = NULL;

	c = llm_env(to_openrouter);
	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_EQ(lc.provider, LLM_PROVIDER_OPENAI);
	llm_config_release(&lc);
	config_free(c);

	c = llm_env(to_ollama);
	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_EQ(lc.provider, LLM_PROVIDER_OLLAMA);
	CHECK_STR(lc.base_url, "http://localhost:11434");
	llm_config_release(&lc);
	config_free(c);

	c = llm_env(auto_);
	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_EQ(lc.provider, LLM_PROVIDER_OPENAI);
	llm_config_release(&lc);
	config_free(c);
}

static void test_llm_openai_needs_key_for_openrouter(void)
{
	const char *envp[] = { "LLM_PROVIDER=openai", NULL };
	struct config *c = llm_env(envp);
	struct llm_config lc;
	char *why = NULL;

	REQUIRE(c);
	CHECK_EQ(config_llm(c, &lc, &why), KITH_ECONFIG);
	CHECK_STR(why, "OPENROUTER_API_KEY is required for https://openrouter.ai/api/v1 "
		       "(or set OPENROUTER_BASE_URL to a local server)");
	CHECK(lc.base_url == NULL);   /* released, still safe to release again */
	llm_config_release(&lc);
	free(why);
	config_free(c);
}

static void test_llm_local_openai_server_needs_no_key(void)
{
	const char *envp[] = { "OPENROUTER_BASE_URL=http://127.0.0.1:8000/v1//",
			       "OPENROUTER_MAIN_MODEL=qwen", "OPENROUTER_UTIL_MODEL=qwen-small",
			       "MEMORY_EMBEDDING_MODEL=nomic", "LLM_TIMEOUT=30",
			       "LLM_MAX_RETRIES=0", "OPENROUTER_REFERER=https://kith.local", NULL };
	struct config *c = llm_env(envp);
	struct llm_config lc;
	char *why = NULL;

	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_EQ(lc.provider, LLM_PROVIDER_OPENAI);
	CHECK_STR(lc.base_url, "http://127.0.0.1:8000/v1");
	CHECK(lc.api_key == NULL);
	CHECK_STR(lc.models[LLM_ROLE_MAIN], "qwen");
	CHECK_STR(lc.models[LLM_ROLE_UTIL], "qwen-small");
	CHECK_STR(lc.models[LLM_ROLE_EMBED], "nomic");
	CHECK_EQ(lc.timeout_ms, 30000);
	CHECK_EQ(lc.max_attempts, 1);
	CHECK_STR(lc.referer, "https://kith.local");
	llm_config_release(&lc);
	config_free(c);
}

static void test_llm_localai(void)
{
	const char *envp[] = { "LLM_PROVIDER=localai", "LOCALAI_BASE_URL=http://box:8080/", NULL };
	const char *with_path[] = { "LLM_PROVIDER=localai", "LOCALAI_BASE_URL=http://box:8080/api/",
				    "LOCALAI_API_KEY=local-key-123456", "LOCALAI_MAIN_TEMP=1.1",
				    NULL };
	struct config *c;
	struct llm_config lc;
	char *why = NULL;

	c = llm_env(envp);
	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_EQ(lc.provider, LLM_PROVIDER_OPENAI);
	CHECK_STR(lc.base_url, "http://box:8080/v1");
	CHECK_STR(lc.models[LLM_ROLE_MAIN], "gpt-4");
	CHECK_STR(lc.models[LLM_ROLE_UTIL], "gpt-3.5-turbo");
	CHECK_STR(lc.models[LLM_ROLE_VISION], "llava");
	CHECK(fabs(lc.temperature[LLM_ROLE_MAIN] - 0.8) < 1e-9);
	CHECK(lc.api_key == NULL);
	llm_config_release(&lc);
	config_free(c);

	c = llm_env(with_path);
	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_STR(lc.base_url, "http://box:8080/api");
	CHECK_STR(lc.api_key, "local-key-123456");
	CHECK(fabs(lc.temperature[LLM_ROLE_MAIN] - 1.1) < 1e-9);
	llm_config_release(&lc);
	config_free(c);
}

static void test_llm_ollama_roles(void)
{
	const char *envp[] = { "OLLAMA_API_URL=http://localhost:11434",
			       "OLLAMA_FOREGROUND_MODEL=llama3", "OLLAMA_BACKGROUND_MODEL=qwen3",
			       "OLLAMA_VISION_MODEL=llava", "OLLAMA_IMAGE_MODEL=flux",
			       "MEMORY_EMBEDDING_MODEL=mem-embed", "OPENROUTER_MAIN_TEMP=0.5", NULL };
	const char *both[] = { "OLLAMA_EMBEDDING_MODEL=nomic-embed-text",
			       "MEMORY_EMBEDDING_MODEL=mem-embed", NULL };
	struct config *c;
	struct llm_config lc;
	char *why = NULL;

	c = llm_env(envp);
	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_STR(lc.models[LLM_ROLE_MAIN], "llama3");
	CHECK_STR(lc.models[LLM_ROLE_UTIL], "qwen3");
	CHECK_STR(lc.models[LLM_ROLE_VISION], "llava");
	CHECK_STR(lc.models[LLM_ROLE_IMAGE], "flux");
	CHECK_STR(lc.models[LLM_ROLE_EMBED], "mem-embed");
	CHECK(fabs(lc.temperature[LLM_ROLE_MAIN] - 0.5) < 1e-9);
	CHECK(lc.temperature[LLM_ROLE_UTIL] < 0);
	llm_config_release(&lc);
	config_free(c);

	c = llm_env(both);
	REQUIRE(c);
	REQUIRE(config_llm(c, &lc, &why) == KITH_OK);
	CHECK_STR(lc.models[LLM_ROLE_EMBED], "nomic-embed-text");
	llm_config_release(&lc);
	config_free(c);
}

/* ---- printing and secrets ------------------------------------------------ */

static char *print_to_string(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return xstrdup("");
	config_print(c, f);
	fclose(f);
	return text;
}

static void test_print_masks_secrets(void)
{
	const char *envp[] = {
		"OPENROUTER_API_KEY=sk-or-v1-SECRETSECRETSECRET-wxyz",
		"DISCORD_BOT_TOKEN=shorttoken",
		"DATABASE_URL=postgresql://sel:pg-password-123@db/sel",
		"OLLAMA_API_URL=http://admin:ollama-pass-99@gpu:11434",
		"SEL_PERSONA_SEED=line one\nline two",
		NULL,
	};
	char *dir = newdir("print");
	struct config *c;
	char *out, *want;

	write_file(dir, ".env", "PERPLEXITY_API_KEY=pplx-FILESECRET-abcd1234\n");
	c = load_ok(envp, dir);
	REQUIRE(c);
	out = print_to_string(c);
	CHECK(strstr(out, "SECRETSECRETSECRET") == NULL);
	CHECK(strstr(out, "shorttoken") == NULL);
	CHECK(strstr(out, "FILESECRET") == NULL);
	CHECK(strstr(out, "pg-password-123") == NULL);
	CHECK(strstr(out, "ollama-pass-99") == NULL);
	CHECK_CONTAINS(out, "OPENROUTER_API_KEY");
	CHECK_CONTAINS(out, "= ****wxyz   (environment)");
	CHECK_CONTAINS(out, "DISCORD_BOT_TOKEN");
	CHECK_CONTAINS(out, "= ****   (environment)");
	want = xasprintf("= ****1234   (%s/.env:1)", dir);
	CHECK_CONTAINS(out, want);
	free(want);
	CHECK_CONTAINS(out, "FASTMAIL_API_TOKEN");
	CHECK_CONTAINS(out, "= (unset)");
	CHECK_CONTAINS(out, "postgresql://sel:****@db/sel");
	CHECK_CONTAINS(out, "not supported yet");
	CHECK_CONTAINS(out, "line one\\nline two");
	CHECK(strstr(out, "line one\nline two") == NULL);
	/* Derived paths and the resolved provider come first. */
	want = xasprintf("data dir  : %s/data\n", dir);
	CHECK_CONTAINS(out, want);
	free(want);
	CHECK_CONTAINS(out, "LLM       : Ollama at http://admin:****@gpu:11434 (ollama settings)");
	CHECK_CONTAINS(out, "  main    : gpt-oss:20b");
	CHECK_CONTAINS(out, "\n[Data]\n");
	CHECK_CONTAINS(out, "\n[System access]\n");
	CHECK_CONTAINS(out, "LOG_LEVEL        = INFO   (default)\n");
	CHECK_CONTAINS(out, "HOST_EXEC_WHITELIST = (empty)   (default)\n");
	/* Unset settings without a default are left out. */
	CHECK(strstr(out, "OLLAMA_VISION_MODEL") == NULL);
	free(out);
	config_free(c);
	free(dir);
}

static void test_print_with_unusable_llm(void)
{
	const char *envp[] = { "LLM_PROVIDER=openrouter", NULL };
	char *dir = newdir("print_bad_llm");
	struct config *c = load_ok(envp, dir);
	char *out;

	REQUIRE(c);
	out = print_to_string(c);
	CHECK_CONTAINS(out, "LLM       : not usable: OPENROUTER_API_KEY is required");
	free(out);
	config_free(c);
	free(dir);
}

static void test_register_secrets(void)
{
	const char *envp[] = {
		"OPENROUTER_API_KEY=sk-or-v1-registered-secret",
		"DATABASE_URL=postgres://u:db-password-77@h/db",
		"HOST_EXEC_TOKEN=exec-token-xyz", NULL,
	};
	char *dir = newdir("register");
	struct config *c = load_ok(envp, dir);
	char *masked;

	REQUIRE(c);
	log_clear_secrets();
	config_register_secrets(c);
	masked = log_mask("key sk-or-v1-registered-secret pw db-password-77 tok exec-token-xyz "
			  "model gpt-oss:20b");
	CHECK(strstr(masked, "registered-secret") == NULL);
	CHECK(strstr(masked, "db-password-77") == NULL);
	CHECK(strstr(masked, "exec-token-xyz") == NULL);
	CHECK_CONTAINS(masked, "gpt-oss:20b");
	free(masked);
	log_clear_secrets();
	config_free(c);
	free(dir);
}

int main(void)
{
	RUN(test_table_is_consistent);
	RUN(test_defaults);
	RUN(test_validation_messages);
	RUN(test_secrets_never_echoed);
	RUN(test_error_from_dotenv_names_file_and_line);
	RUN(test_malformed_dotenv);
	RUN(test_first_invalid_value_wins);
	RUN(test_defaults_are_overridable_with_invalid_defaults_impossible);
	RUN(test_normalisation);
	RUN(test_whitelist_comma_form);
	RUN(test_empty_json_list_overrides_default);
	RUN(test_origins);
	RUN(test_env_beats_dotenv);
	RUN(test_cwd_dotenv_beats_data_dir_dotenv);
	RUN(test_data_dir_from_dotenv);
	RUN(test_relative_data_dir_is_made_absolute);
	RUN(test_xdg_data_home);
	RUN(test_data_dir_is_cwd);
	RUN(test_lower_case_names_in_dotenv);
	RUN(test_empty_values_are_unset);
	RUN(test_last_line_in_a_file_wins);
	RUN(test_unknown_variables_ignored);
	RUN(test_duplicate_env_entries_first_wins);
	RUN(test_dotenv_that_is_a_directory);
	RUN(test_dotenv_that_is_a_fifo);
	RUN(test_time_zones);
	RUN(test_process_environment_and_cwd);
	RUN(test_database_url_forms);
	RUN(test_db_path_beats_database_url);
	RUN(test_llm_nothing_set_is_local_ollama);
	RUN(test_llm_openrouter_key_selects_openai);
	RUN(test_llm_ollama_url_beats_key);
	RUN(test_llm_provider_forced);
	RUN(test_llm_openai_needs_key_for_openrouter);
	RUN(test_llm_local_openai_server_needs_no_key);
	RUN(test_llm_localai);
	RUN(test_llm_ollama_roles);
	RUN(test_print_masks_secrets);
	RUN(test_print_with_unusable_llm);
	RUN(test_register_secrets);
	return test_summary();
}
