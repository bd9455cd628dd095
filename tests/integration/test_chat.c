/* test_chat.c — `kith chat` on the full runtime (dispatcher, workers,
 * console channel) with piped input, and orderly shutdown on SIGTERM. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_llm.h"

#include <signal.h>

static struct fake_llm *fake;

static void env_for_fake(struct kith_env *e, const char *name)
{
	kith_env_init(e, name);
	kith_env_set(e, "OLLAMA_API_URL", fake_llm_url(fake));
	kith_env_set(e, "OLLAMA_FOREGROUND_MODEL", "test-model");
}

static void test_piped_conversation(void)
{
	struct kith_env e;
	struct proc_result r;

	env_for_fake(&e, "piped");
	fake_llm_push(fake, &(struct fake_reply){ .content = "First reply." });
	fake_llm_push(fake, &(struct fake_reply){ .content = "Second reply." });
	REQUIRE(kith_run(&e, "hello\n\n/commands\n/nope\nsecond message\n", &r, "chat", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_CONTAINS(r.out, "First reply.\n");
	CHECK_CONTAINS(r.out, "Commands:\n/commands");
	CHECK_CONTAINS(r.out, "/commands [command]");
	CHECK_CONTAINS(r.out, "Unknown command /nope");
	CHECK_CONTAINS(r.out, "Second reply.\n");
	/* In order: the second reply comes after the command output. */
	CHECK(strstr(r.out, "First reply.") < strstr(r.out, "Unknown command"));
	CHECK(strstr(r.out, "Unknown command") < strstr(r.out, "Second reply."));
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE direction='incoming'"), 2);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE direction='outgoing'"), 2);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_sigterm_stops_a_slow_turn(void)
{
	struct kith_env e;
	struct proc_result r;
	const char *failure = NULL;

	env_for_fake(&e, "sigterm");
	fake_llm_push(fake, &(struct fake_reply){ .content = "never seen", .delay_ms = 20000 });
	if (kith_signal_mid_call(&e, fake, "tell me slowly\n", SIGTERM, &r, &failure, "chat",
				 NULL) != 0) {
		test_fail_(__FILE__, __LINE__, "%s", failure);
		kith_env_release(&e);
		return;
	}
	CHECK_EQ(r.exit_code, 0);
	CHECK(!strstr(r.out, "never seen"));
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE content='tell me slowly'"), 1);
	proc_result_release(&r);
	kith_env_release(&e);
}

/* /test: a fresh kith answers with "[TEST] " in front, the real database
 * keeps none of it, /test stop goes back; /test PROMPT is one answer. */
static void test_test_mode(void)
{
	struct kith_env e;
	struct proc_result r;

	env_for_fake(&e, "testmode");
	fake_llm_push(fake, &(struct fake_reply){ .content = "Fresh answer." });
	fake_llm_push(fake, &(struct fake_reply){ .content = "Real answer." });
	fake_llm_push(fake, &(struct fake_reply){ .content = "One-shot answer." });
	REQUIRE(kith_run(&e, "/test\nsecret test message\n/test stop\nreal message\n"
			     "/test just once\n/test stop\n/test /debug\n", &r, "chat", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_CONTAINS(r.out, "[TEST] Test mode");
	CHECK_CONTAINS(r.out, "[TEST] Fresh answer.");
	CHECK_CONTAINS(r.out, "Test mode is over");
	CHECK_CONTAINS(r.out, "Real answer.");
	CHECK(!strstr(r.out, "[TEST] Real answer."));
	CHECK_CONTAINS(r.out, "[TEST] One-shot answer.");
	CHECK_CONTAINS(r.out, "isn't in test mode");
	CHECK_CONTAINS(r.out, "Commands can't be tested");
	/* The real database has the real message only; commands are logged. */
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE content LIKE '%secret%'"), 0);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE content='real message'"), 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM command_log WHERE command='test'"), 5);
	proc_result_release(&r);
	kith_env_release(&e);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!fake)
		return 1;
	RUN(test_piped_conversation);
	RUN(test_sigterm_stops_a_slow_turn);
	RUN(test_test_mode);
	fake_llm_stop(fake);
	return test_summary();
}
