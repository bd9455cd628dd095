/* test_run_signal.c — `kith run` end to end on Signal: an envelope on the
 * fake signal-cli-rest-api's WebSocket becomes a reply on /v2/send that
 * quotes the message, in Signal's styled text; the same over polling when
 * the API says it runs in normal mode; both Discord and Signal side by
 * side when both are configured. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_discord.h"
#include "fakes/fake_llm.h"
#include "fakes/fake_signal.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <signal.h>
#include <string.h>

#define ME "+15559990000"
#define ALICE "+15551230001"
#define TOKEN "kith-test-token"
#define WAIT_MS 20000

static struct fake_llm *llm;

static struct proc *start_kith(struct kith_env *e)
{
	static const char *argv[3];
	struct proc_opts o = { 0 };

	argv[0] = kith_bin();
	argv[1] = "run";
	argv[2] = NULL;
	o.argv = argv;
	o.env = e->vars;
	o.timeout_ms = 60000;
	return proc_start(&o);
}

static void env_for(struct kith_env *e, const char *name, struct fake_signal *sig, const char *type)
{
	kith_env_init(e, name);
	kith_env_set(e, "OLLAMA_API_URL", fake_llm_url(llm));
	kith_env_set(e, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(e, "CHANNEL_TYPE", type);
	kith_env_set(e, "SIGNAL_NUMBER", ME);
	kith_env_set(e, "SIGNAL_API_URL", fake_signal_url(sig));
}

static void push_text(struct fake_signal *sig, long long ts, const char *text)
{
	char *env = xasprintf("{\"source\":\"" ALICE "\",\"sourceNumber\":\"" ALICE "\","
			      "\"sourceName\":\"Ada\",\"sourceDevice\":1,\"timestamp\":%lld,"
			      "\"dataMessage\":{\"timestamp\":%lld,\"message\":\"%s\"}}", ts, ts, text);

	fake_signal_push_envelope(sig, env);
	free(env);
}

static void stop_kith(struct proc *p)
{
	struct proc_result r;

	kill(proc_pid(p), SIGTERM);
	REQUIRE(proc_wait(p, WAIT_MS, &r) == 0);
	CHECK_EQ(r.exit_code, 0);
	proc_result_release(&r);
}

/* The reply: a /v2/send to Alice quoting `ts`, with `text`. */
static void check_reply(struct fake_signal *sig, long long ts, const char *text)
{
	long i = fake_signal_wait_for(sig, "POST", "/v2/send", 0, WAIT_MS);
	json_t *b;
	long long q = 0;

	REQUIRE(i >= 0);
	CHECK_EQ(fake_signal_request_status(sig, (size_t)i), 201);
	b = fake_signal_request_json(sig, (size_t)i);
	CHECK_STR(kjson_str(b, "number"), ME);
	CHECK_STR(json_string_value(json_array_get(kjson_arr(b, "recipients"), 0)), ALICE);
	CHECK_STR(kjson_str(b, "message"), text);
	CHECK_STR(kjson_str(b, "text_mode"), "styled");
	CHECK(kjson_int(b, "quote_timestamp", &q));
	CHECK_EQ(q, ts);
	CHECK_STR(kjson_str(b, "quote_author"), ALICE);
	json_decref(b);
}

static void test_message_gets_a_reply_over_the_websocket(void)
{
	struct fake_signal *sig = fake_signal_start(ME, FAKE_SIGNAL_JSON_RPC);
	struct kith_env e;
	struct proc *p;

	REQUIRE(sig);
	env_for(&e, "run-signal-ws", sig, "signal");
	p = start_kith(&e);
	REQUIRE(p);
	REQUIRE(fake_signal_wait_ws_connections(sig, 1, WAIT_MS));
	fake_llm_push(llm, &(struct fake_reply){ .content = "__Hello__, Ada! ~~No~~ **news**." });
	push_text(sig, 1700000005000LL, "Hi kith, any news?");
	check_reply(sig, 1700000005000LL, "**Hello**, Ada! ~No~ **news**.");
	/* Typing went on while it worked. */
	CHECK(fake_signal_wait_for(sig, "PUT", "/v1/typing-indicator/", 0, WAIT_MS) >= 0);
	stop_kith(p);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE channel='signal' AND "
				   "conversation='" ALICE "' AND direction='incoming'"), 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE channel='signal' AND "
				   "conversation='" ALICE "' AND direction='outgoing'"), 1);
	kith_env_release(&e);
	fake_signal_stop(sig);
}

static void test_polling_when_the_api_runs_normal_mode(void)
{
	struct fake_signal *sig = fake_signal_start(ME, FAKE_SIGNAL_NORMAL);
	struct kith_env e;
	struct proc *p;

	REQUIRE(sig);
	env_for(&e, "run-signal-poll", sig, "auto");
	p = start_kith(&e);
	REQUIRE(p);
	REQUIRE(fake_signal_wait_for(sig, "GET", "/v1/receive/", 0, WAIT_MS) >= 0);
	fake_llm_push(llm, &(struct fake_reply){ .content = "Polled and answered." });
	push_text(sig, 1700000006000LL, "Are you there?");
	check_reply(sig, 1700000006000LL, "Polled and answered.");
	CHECK_EQ(fake_signal_ws_connections(sig), 0);
	stop_kith(p);
	kith_env_release(&e);
	fake_signal_stop(sig);
}

static void test_discord_and_signal_side_by_side(void)
{
	struct fake_signal *sig = fake_signal_start(ME, FAKE_SIGNAL_JSON_RPC);
	struct fake_discord *dc = fake_discord_start(TOKEN);
	struct kith_env e;
	struct proc *p;

	REQUIRE(sig && dc);
	env_for(&e, "run-signal-both", sig, "auto");
	kith_env_set(&e, "DISCORD_BOT_TOKEN", TOKEN);
	kith_env_set(&e, "DISCORD_API_URL", fake_discord_api_url(dc));
	p = start_kith(&e);
	REQUIRE(p);
	CHECK(fake_signal_wait_ws_connections(sig, 1, WAIT_MS));
	CHECK(fake_discord_wait_op(dc, 2, 1, WAIT_MS));   /* Identify */
	fake_llm_push(llm, &(struct fake_reply){ .content = "Both work." });
	push_text(sig, 1700000007000LL, "hello from signal");
	check_reply(sig, 1700000007000LL, "Both work.");
	stop_kith(p);
	kith_env_release(&e);
	fake_discord_stop(dc);
	fake_signal_stop(sig);
}

/* After a restart the owner hears that kith is back, once, in the direct
 * conversation they last used; with no owner configured nobody does. */
static void test_startup_announcement_to_the_owner(void)
{
	struct fake_signal *sig = fake_signal_start(ME, FAKE_SIGNAL_JSON_RPC);
	struct kith_env e;
	struct proc *p;
	long i;
	size_t after;
	json_t *b;

	REQUIRE(sig);
	env_for(&e, "run-signal-announce", sig, "signal");
	kith_env_set(&e, "APPROVAL_USER_ID", ALICE);
	p = start_kith(&e);
	REQUIRE(p);
	REQUIRE(fake_signal_wait_ws_connections(sig, 1, WAIT_MS));
	CHECK_EQ(fake_signal_count_ok(sig, "POST", "/v2/send"), 0);   /* never talked yet */
	fake_llm_push(llm, &(struct fake_reply){ .content = "Hi Ada." });
	push_text(sig, 1700000008000LL, "hello there, kith");
	check_reply(sig, 1700000008000LL, "Hi Ada.");
	stop_kith(p);
	after = fake_signal_request_count(sig);

	p = start_kith(&e);
	REQUIRE(p);
	i = fake_signal_wait_for(sig, "POST", "/v2/send", after, WAIT_MS);
	REQUIRE(i >= 0);
	b = fake_signal_request_json(sig, (size_t)i);
	CHECK_STR(json_string_value(json_array_get(kjson_arr(b, "recipients"), 0)), ALICE);
	CHECK_CONTAINS(kjson_str(b, "message"), "I'm back: kith ");
	json_decref(b);
	stop_kith(p);
	CHECK_EQ(fake_signal_count_ok(sig, "POST", "/v2/send"), 2);
	kith_env_release(&e);
	fake_signal_stop(sig);
}

int main(void)
{
	llm = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!llm)
		return 1;
	RUN(test_message_gets_a_reply_over_the_websocket);
	RUN(test_polling_when_the_api_runs_normal_mode);
	RUN(test_discord_and_signal_side_by_side);
	RUN(test_startup_announcement_to_the_owner);
	fake_llm_stop(llm);
	return test_summary();
}
