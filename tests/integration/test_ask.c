/* test_ask.c — `kith ask` end to end against the fake Ollama server.
 *
 * Each scenario runs the real binary with its own data directory and checks
 * what it printed, its exit code, what the fake received and what landed in
 * the database. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_llm.h"
#include "core/alloc.h"
#include "core/json.h"

#include <signal.h>

static struct fake_llm *fake;

static void env_for_fake(struct kith_env *e, const char *name)
{
	kith_env_init(e, name);
	kith_env_set(e, "OLLAMA_API_URL", fake_llm_url(fake));
	kith_env_set(e, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(e, "SEL_TIMEZONE", "Europe/Berlin");
}

/* The content of the last message in chat request i. */
static char *last_message(size_t i)
{
	json_t *req = fake_llm_request_json(fake, i);
	json_t *msgs = kjson_arr(req, "messages");
	const char *c = msgs ? kjson_str(json_array_get(msgs, json_array_size(msgs) - 1), "content")
			     : NULL;
	char *r = xstrdup(c);

	json_decref(req);
	return r;
}

static size_t base;  /* requests seen before the current scenario */

static void begin(void)
{
	base = fake_llm_request_count(fake);
}

static void test_reply_printed_and_stored(void)
{
	struct kith_env e;
	struct proc_result r;
	json_t *req;

	begin();
	env_for_fake(&e, "reply");
	fake_llm_push(fake, &(struct fake_reply){ .content = "Hello from the fake." });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "hi", "there", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(r.out, "Hello from the fake.\n");

	req = fake_llm_request_json(fake, base);
	REQUIRE(req);
	CHECK_STR(kjson_str(req, "model"), "test-model");
	{
		json_t *msgs = kjson_arr(req, "messages");

		REQUIRE(msgs && json_array_size(msgs) >= 2);
		CHECK_STR(kjson_str(json_array_get(msgs, 0), "role"), "system");
		CHECK_CONTAINS(kjson_str(json_array_get(msgs, 0), "content"), "Europe/Berlin");
		CHECK_STR(kjson_str(json_array_get(msgs, json_array_size(msgs) - 1), "content"),
			  "hi there");
	}
	CHECK(json_is_array(json_object_get(req, "tools")));
	json_decref(req);

	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE direction='incoming' "
				   "AND content='hi there'"), 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE direction='outgoing' "
				   "AND content='Hello from the fake.' AND parent_id IS NOT NULL"), 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM llm_calls WHERE ok=1 AND role='main' "
				   "AND model='test-model' AND request LIKE '%hi there%' "
				   "AND response LIKE '%Hello from the fake.%'"), 1);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_history_carries_over(void)
{
	struct kith_env e;
	struct proc_result r;
	json_t *req, *msgs;

	env_for_fake(&e, "history");
	fake_llm_push(fake, &(struct fake_reply){ .content = "Noted: blue." });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "my favourite colour is blue", NULL) == 0);
	proc_result_release(&r);
	begin();
	fake_llm_push(fake, &(struct fake_reply){ .content = "Blue." });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "what is my favourite colour?", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	req = fake_llm_request_json(fake, base);
	msgs = kjson_arr(req, "messages");
	REQUIRE(msgs && json_array_size(msgs) == 4);
	CHECK_STR(kjson_str(json_array_get(msgs, 1), "content"), "my favourite colour is blue");
	CHECK_STR(kjson_str(json_array_get(msgs, 2), "role"), "assistant");
	CHECK_STR(kjson_str(json_array_get(msgs, 2), "content"), "Noted: blue.");
	json_decref(req);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_tool_round_trip(void)
{
	struct kith_env e;
	struct proc_result r;
	json_t *req, *msgs, *tool_msg;

	begin();
	env_for_fake(&e, "tool");
	fake_llm_push(fake, &(struct fake_reply){ .tool_name = "current_time",
						   .tool_args = "{\"timezone\":\"Asia/Tokyo\"}" });
	fake_llm_push(fake, &(struct fake_reply){ .content = "It is evening in Tokyo." });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "what time is it in Tokyo?", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(r.out, "It is evening in Tokyo.\n");
	CHECK_EQ(fake_llm_request_count(fake) - base, 2);

	req = fake_llm_request_json(fake, base + 1);
	msgs = kjson_arr(req, "messages");
	REQUIRE(msgs && json_array_size(msgs) >= 2);
	tool_msg = json_array_get(msgs, json_array_size(msgs) - 1);
	CHECK_STR(kjson_str(tool_msg, "role"), "tool");
	CHECK_STR(kjson_str(tool_msg, "tool_name"), "current_time");
	CHECK_CONTAINS(kjson_str(tool_msg, "content"), "Asia/Tokyo");
	CHECK_CONTAINS(kjson_str(tool_msg, "content"), "UTC+09:00");
	{
		json_t *asst = json_array_get(msgs, json_array_size(msgs) - 2);
		json_t *calls = kjson_arr(asst, "tool_calls");

		CHECK_STR(kjson_str(asst, "role"), "assistant");
		REQUIRE(calls && json_array_size(calls) == 1);
		CHECK(json_is_object(json_object_get(kjson_obj(json_array_get(calls, 0), "function"),
						     "arguments")));
	}
	json_decref(req);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM llm_calls"), 2);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_bad_tool_calls_are_answered(void)
{
	struct kith_env e;
	struct proc_result r;
	char *m;

	begin();
	env_for_fake(&e, "badtools");
	kith_env_set(&e, "MESSAGE_MAX_STEPS", "6");
	fake_llm_push(fake, &(struct fake_reply){ .tool_name = "launch_rockets", .tool_args = "{}" });
	fake_llm_push(fake, &(struct fake_reply){ .tool_name = "convert_time",
						   .tool_args = "{\"time\":\"15:00\"}" });
	fake_llm_push(fake, &(struct fake_reply){ .tool_name = "current_time",
						   .tool_args = "{\"timezone\":\"UTC\"}" });
	fake_llm_push(fake, &(struct fake_reply){ .tool_name = "current_time",
						   .tool_args = "{\"timezone\":\"UTC\"}" });
	fake_llm_push(fake, &(struct fake_reply){ .content = "Sorted." });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "do things", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(r.out, "Sorted.\n");
	CHECK_EQ(fake_llm_request_count(fake) - base, 5);

	m = last_message(base + 1);
	CHECK_CONTAINS(m, "no tool named 'launch_rockets'");
	CHECK_CONTAINS(m, "current_time");     /* lists what exists */
	free(m);
	m = last_message(base + 2);
	CHECK_CONTAINS(m, "missing required parameter 'from_timezone'");
	free(m);
	m = last_message(base + 3);
	CHECK_CONTAINS(m, "UTC");
	CHECK(!strstr(m, "Error"));
	free(m);
	m = last_message(base + 4);
	CHECK_CONTAINS(m, "already called 'current_time'");
	free(m);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_step_limit_forces_an_answer(void)
{
	struct kith_env e;
	struct proc_result r;
	json_t *req;

	begin();
	env_for_fake(&e, "steps");
	kith_env_set(&e, "MESSAGE_MAX_STEPS", "2");
	fake_llm_push(fake, &(struct fake_reply){ .tool_name = "current_time", .tool_args = "{}" });
	fake_llm_push(fake, &(struct fake_reply){ .content = "Final answer." });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "loop forever", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(r.out, "Final answer.\n");
	req = fake_llm_request_json(fake, base + 1);
	CHECK(!json_object_get(req, "tools"));   /* last step offers no tools */
	json_decref(req);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_unreachable_llm(void)
{
	struct kith_env e;
	struct proc_result r;

	kith_env_init(&e, "unreachable");
	kith_env_set(&e, "OLLAMA_API_URL", "http://127.0.0.1:9");   /* discard port: closed */
	kith_env_set(&e, "LLM_MAX_RETRIES", "1");
	REQUIRE(kith_run(&e, NULL, &r, "ask", "anyone there?", NULL) == 0);
	CHECK(r.exit_code != 0);
	CHECK_CONTAINS(r.err, "cannot reach Ollama at http://127.0.0.1:9");
	CHECK_CONTAINS(r.err, "refused");
	CHECK_STR(r.out, "");
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE content='anyone there?'"), 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM llm_calls WHERE ok=0"), 1);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_rate_limit_retried(void)
{
	struct kith_env e;
	struct proc_result r;

	begin();
	env_for_fake(&e, "ratelimit");
	fake_llm_push(fake, &(struct fake_reply){ .status = 429, .retry_after = "1" });
	fake_llm_push(fake, &(struct fake_reply){ .content = "Patience pays." });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "hello?", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(r.out, "Patience pays.\n");
	CHECK_EQ(fake_llm_request_count(fake) - base, 2);
	CHECK_EQ(db_int(e.db_path, "SELECT attempts FROM llm_calls"), 2);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_invalid_config_exits_2(void)
{
	struct kith_env e;
	struct proc_result r;

	kith_env_init(&e, "badconfig");
	kith_env_set(&e, "RECENT_CONTEXT_LIMIT", "lots");
	REQUIRE(kith_run(&e, NULL, &r, "ask", "hi", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "RECENT_CONTEXT_LIMIT");
	proc_result_release(&r);

	kith_env_set(&e, "RECENT_CONTEXT_LIMIT", "5");
	kith_env_set(&e, "OLLAMA_API_URL", "ftp://nowhere");
	REQUIRE(kith_run(&e, NULL, &r, "config", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "OLLAMA_API_URL");
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_interrupt_cancels_slow_call(void)
{
	struct kith_env e;
	struct proc_result r;
	const char *failure = NULL;

	env_for_fake(&e, "cancel");
	fake_llm_push(fake, &(struct fake_reply){ .content = "too late", .delay_ms = 20000 });
	if (kith_signal_mid_call(&e, fake, NULL, SIGINT, &r, &failure, "ask", "take your time",
				 NULL) != 0) {
		test_fail_(__FILE__, __LINE__, "%s", failure);
		kith_env_release(&e);
		return;
	}
	CHECK(r.exit_code != 0);
	CHECK_CONTAINS(r.err, "cancel");
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE content='take your time'"), 1);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_usage_errors(void)
{
	struct kith_env e;
	struct proc_result r;

	kith_env_init(&e, "usage");
	REQUIRE(kith_run(&e, NULL, &r, "ask", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "usage: kith ask");
	proc_result_release(&r);
	REQUIRE(kith_run(&e, NULL, &r, "frobnicate", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "unknown subcommand");
	proc_result_release(&r);
	REQUIRE(kith_run(&e, NULL, &r, "migrate", "--validate", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	proc_result_release(&r);
	kith_env_release(&e);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!fake)
		return 1;
	RUN(test_reply_printed_and_stored);
	RUN(test_history_carries_over);
	RUN(test_tool_round_trip);
	RUN(test_bad_tool_calls_are_answered);
	RUN(test_step_limit_forces_an_answer);
	RUN(test_unreachable_llm);
	RUN(test_rate_limit_retried);
	RUN(test_invalid_config_exits_2);
	RUN(test_interrupt_cancels_slow_call);
	RUN(test_usage_errors);
	fake_llm_stop(fake);
	return test_summary();
}
