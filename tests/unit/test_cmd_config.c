/* test_cmd_config.c — /config and the runtime layer under it: listing,
 * showing, owner-only changes that take effect at once, refused values that
 * change nothing, reset, values saved by another connection picked up by
 * config_runtime_sync, a stale saved value skipped, the command table's
 * owner rows and aliases, and the command log. */
#include "support/test.h"
#include "support/storetest.h"
#include "support/itest.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "config/runtime.h"
#include "core/alloc.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static struct agent_deps deps;

static char *run(struct store *st, const char *user, const char *text, enum kith_status *rc)
{
	struct inbound ev = { .conversation = "default", .author_id = (char *)user,
			      .text = (char *)text };
	struct cmd_ctx ctx = { .deps = &deps, .st = st, .ev = user ? &ev : NULL };
	char *reply = NULL;

	*rc = cmd_dispatch(&ctx, text, &reply);
	return reply;
}

static struct config *load(const char *owner)
{
	char own[64];
	const char *env[] = { own, "KITH_DATA_DIR=/nonexistent-kith-test", "HEAT_DECAY_RATE=0.8",
			      NULL };
	struct config *cfg = NULL;
	char *why = NULL;

	snprintf(own, sizeof(own), "APPROVAL_USER_ID=%s", owner ? owner : "");
	if (!owner)
		env[0] = "KITH_TEST_UNUSED=1";
	CHECK_EQ(config_load(&cfg, env, "/nonexistent-kith-test", &why), KITH_OK);
	if (!cfg)
		abort();
	return cfg;
}

static void test_list_show_change(void)
{
	struct store *st = storetest_open("cmd-config.db");
	char *path = test_path("cmd-config.db");
	struct config *cfg = load("42");
	enum kith_status rc;
	char *r;

	deps.cfg = cfg;
	r = run(st, "7", "/config", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "HEAT_DECAY_RATE = 0.8");
	CHECK_CONTAINS(r, "NOTIFICATION_INITIAL_BACKOFF");
	CHECK(!strstr(r, "DISCORD_BOT_TOKEN"));   /* start-up settings are not listed */
	free(r);

	r = run(st, "7", "/config heat_decay_rate", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "HEAT_DECAY_RATE = 0.8");
	CHECK_CONTAINS(r, "environment");
	free(r);

	/* Not the owner: nothing changes. */
	r = run(st, "7", "/config HEAT_DECAY_RATE 0.5", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_CONTAINS(r, "Only the owner");
	free(r);
	CHECK(config_float(cfg, CFG_HEAT_DECAY_RATE) == 0.8);

	/* The owner: takes effect at once and is saved. */
	r = run(st, "42", "/config HEAT_DECAY_RATE 0.5", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "HEAT_DECAY_RATE is now 0.5");
	free(r);
	CHECK(config_float(cfg, CFG_HEAT_DECAY_RATE) == 0.5);
	CHECK_STR(config_origin(cfg, CFG_HEAT_DECAY_RATE), "database (/config)");
	CHECK_EQ(db_int(path, "SELECT count(*) FROM runtime_config WHERE key='HEAT_DECAY_RATE'"
			  " AND value='0.5' AND updated_by='42'"), 1);

	/* Refused values change nothing. */
	r = run(st, "42", "/config HEAT_DECAY_RATE lots", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "Not changed");
	free(r);
	r = run(st, "42", "/config HEAT_DECAY_RATE 7", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	free(r);
	CHECK(config_float(cfg, CFG_HEAT_DECAY_RATE) == 0.5);

	r = run(st, "42", "/config NO_SUCH_THING 1", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_CONTAINS(r, "Unknown setting NO_SUCH_THING");
	free(r);
	r = run(st, "42", "/config DISCORD_BOT_TOKEN abc", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_CONTAINS(r, "start-up");
	free(r);

	/* Reset: back to the environment's value. */
	r = run(st, "42", "/config HEAT_DECAY_RATE reset", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "back to 0.8");
	free(r);
	CHECK(config_float(cfg, CFG_HEAT_DECAY_RATE) == 0.8);
	CHECK_EQ(db_int(path, "SELECT count(*) FROM runtime_config"), 0);

	/* Every run went to the command log, none into the conversation. */
	CHECK(db_int(path, "SELECT count(*) FROM command_log WHERE command='config'") >= 8);
	CHECK_EQ(db_int(path, "SELECT count(*) FROM command_log WHERE status='ok'"), 4);
	CHECK_EQ(db_int(path, "SELECT count(*) FROM messages"), 0);
	config_free(cfg);
	deps.cfg = NULL;
	store_close(st);
	free(path);
}

static void test_no_owner_means_nobody(void)
{
	struct store *st = storetest_open("cmd-config-noowner.db");
	struct config *cfg = load(NULL);
	enum kith_status rc;
	char *r;

	deps.cfg = cfg;
	r = run(st, "42", "/config HEAT_DECAY_RATE 0.5", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_CONTAINS(r, "APPROVAL_USER_ID");
	free(r);
	r = run(st, "42", "/sel_run_agent echo hi", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	free(r);
	CHECK(config_float(cfg, CFG_HEAT_DECAY_RATE) == 0.8);
	config_free(cfg);
	deps.cfg = NULL;
	store_close(st);
}

/* Another process (another connection) saves a value: sync applies it;
 * deleting the row drops the override; a value that does not validate is
 * skipped and the setting keeps its base value. */
static void test_sync_from_database(void)
{
	struct store *a = storetest_open("cmd-config-sync.db"), *b = NULL;
	struct config *cfg = load("42");
	int64_t seen = -1;
	char *why = NULL;

	char *path = test_path("cmd-config-sync.db");

	REQUIRE(store_open(path, &b, &why) == KITH_OK);
	free(path);
	CHECK_EQ(config_runtime_sync(cfg, a, &seen, &why), KITH_OK);
	CHECK(config_float(cfg, CFG_HEAT_DECAY_RATE) == 0.8);

	CHECK_EQ(store_setting_put(b, "HEAT_DECAY_RATE", "0.6", "42", &why), KITH_OK);
	CHECK_EQ(store_setting_put(b, "IDLE_SECONDS", "not a number", "42", &why), KITH_OK);
	CHECK_EQ(store_setting_put(b, "DISCORD_BOT_TOKEN", "sneaky", "42", &why), KITH_OK);
	CHECK_EQ(config_runtime_sync(cfg, a, &seen, &why), KITH_OK);
	CHECK(config_float(cfg, CFG_HEAT_DECAY_RATE) == 0.6);
	CHECK(config_float(cfg, CFG_IDLE_SECONDS) == 60.0);
	CHECK(config_str(cfg, CFG_DISCORD_BOT_TOKEN) == NULL);

	CHECK_EQ(store_setting_delete(b, "HEAT_DECAY_RATE", &why), KITH_OK);
	CHECK_EQ(config_runtime_sync(cfg, a, &seen, &why), KITH_OK);
	CHECK(config_float(cfg, CFG_HEAT_DECAY_RATE) == 0.8);
	CHECK(!config_is_overridden(cfg, CFG_HEAT_DECAY_RATE));
	store_close(b);
	config_free(cfg);
	store_close(a);
}

static void test_table_aliases_and_help(void)
{
	struct store *st = storetest_open("cmd-table.db");
	enum kith_status rc;
	char *r;

	deps.cfg = NULL;
	r = run(st, "7", "/HELP config", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "/config [KEY [VALUE|reset]]");
	free(r);
	r = run(st, "7", "/commands sel_run_agent", &rc);
	CHECK_CONTAINS(r, "Only the owner");
	free(r);
	r = run(st, "7", "/agents", &rc);   /* alias of /sel_agents */
	CHECK(rc != KITH_ENOTFOUND);
	free(r);
	r = run(st, "7", "/frobnicate now", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_CONTAINS(r, "Unknown command /frobnicate");
	free(r);
	/* A command in a thread is refused. */
	{
		struct inbound ev = { .conversation = "default", .author_id = "7",
				      .text = "/memory", .reply_to = "123" };
		struct cmd_ctx ctx = { .deps = &deps, .st = st, .ev = &ev };

		CHECK_EQ(cmd_dispatch(&ctx, "/memory", &r), KITH_EINVAL);
		CHECK_CONTAINS(r, "threads");
		free(r);
	}
	store_close(st);
}

int main(void)
{
	RUN(test_list_show_change);
	RUN(test_no_owner_means_nobody);
	RUN(test_sync_from_database);
	RUN(test_table_aliases_and_help);
	return test_summary();
}
