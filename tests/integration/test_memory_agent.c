/* test_memory_agent.c — episodic memory end to end: `kith ask` remembers what
 * people tell it and recalls it into a later prompt, across processes, with
 * the built-in hashing embedder and with the fake server's embedding model. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_llm.h"
#include "core/alloc.h"
#include "core/json.h"

#include <string.h>

static struct fake_llm *fake;

static void env_for_fake(struct kith_env *e, const char *name)
{
	kith_env_init(e, name);
	kith_env_set(e, "OLLAMA_API_URL", fake_llm_url(fake));
	kith_env_set(e, "OLLAMA_FOREGROUND_MODEL", "test-model");
}

/* The system prompt of the newest /api/chat request (heap, NULL if none). */
static char *last_system_prompt(void)
{
	for (size_t i = fake_llm_request_count(fake); i-- > 0;) {
		char *path = fake_llm_request_path(fake, i);
		bool chat = path && strcmp(path, "/api/chat") == 0;
		json_t *req, *msgs;
		char *r = NULL;

		free(path);
		if (!chat)
			continue;
		req = fake_llm_request_json(fake, i);
		msgs = kjson_arr(req, "messages");
		if (msgs)
			r = xstrdup(kjson_str(json_array_get(msgs, 0), "content"));
		json_decref(req);
		return r;
	}
	return NULL;
}

static size_t embed_requests(const char *model)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_llm_request_count(fake); i++) {
		char *path = fake_llm_request_path(fake, i);

		if (path && strcmp(path, "/api/embed") == 0) {
			json_t *req = fake_llm_request_json(fake, i);

			n += req && strcmp(kjson_str(req, "model") ? kjson_str(req, "model") : "",
					   model) == 0;
			json_decref(req);
		}
		free(path);
	}
	return n;
}

static void ask(struct kith_env *e, const char *text)
{
	struct proc_result r;

	fake_llm_push(fake, &(struct fake_reply){ .content = "Noted." });
	REQUIRE(kith_run(e, NULL, &r, "ask", text, NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(r.out, "Noted.\n");
	proc_result_release(&r);
}

static void test_remembers_and_recalls_across_runs(void)
{
	struct kith_env e;
	char *sys;

	env_for_fake(&e, "recall");
	ask(&e, "Please remember that my sister Ingrid lives in Tromso and loves sailing.");
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE text LIKE "
				   "'%Ingrid lives in Tromso%' AND source LIKE 'message:%'"), 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE embedded_with IS NULL"), 0);

	ask(&e, "ok");   /* too short to keep */
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories"), 1);

	ask(&e, "Where does Ingrid live these days, do you know?");
	sys = last_system_prompt();
	REQUIRE(sys);
	CHECK_CONTAINS(sys, "Things you remember");
	CHECK_CONTAINS(sys, "Ingrid lives in Tromso and loves sailing");
	CHECK_CONTAINS(sys, "[today!]");
	free(sys);
	/* The question is kept with the conversation before it as context. */
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE text LIKE "
				   "'%Where does Ingrid live%' AND context LIKE '%kith: Noted.%'"), 1);

	/* Nothing is stored twice. */
	ask(&e, "Please remember that my sister Ingrid lives in Tromso and loves sailing.");
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE text LIKE "
				   "'%Ingrid lives in Tromso%'"), 1);
	kith_env_release(&e);
}

static void test_no_memories_yet_and_memory_off(void)
{
	struct kith_env e;
	char *sys;

	env_for_fake(&e, "fresh");
	ask(&e, "Tell me something nice about the weather today.");
	sys = last_system_prompt();
	REQUIRE(sys);
	CHECK_CONTAINS(sys, "(no memories yet)");
	free(sys);
	kith_env_release(&e);

	env_for_fake(&e, "off");
	kith_env_set(&e, "MEMORY_ENABLED", "false");
	ask(&e, "Please remember that the spare key is under the blue flowerpot.");
	sys = last_system_prompt();
	REQUIRE(sys);
	CHECK(!strstr(sys, "Things you remember"));
	free(sys);
	kith_env_release(&e);
}

static void test_embedding_model_from_the_fake(void)
{
	struct kith_env e;
	size_t before = embed_requests("embed-model");
	char *sys;

	env_for_fake(&e, "model");
	kith_env_set(&e, "OLLAMA_EMBEDDING_MODEL", "embed-model");
	ask(&e, "Remember that our book club meets on the first Tuesday of each month.");
	CHECK(embed_requests("embed-model") > before);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE embedded_with LIKE "
				   "'%embed-model%'"), 1);
	ask(&e, "When does the book club meet again?");
	sys = last_system_prompt();
	REQUIRE(sys);
	CHECK_CONTAINS(sys, "book club meets on the first Tuesday");
	free(sys);
	kith_env_release(&e);
}

static void test_failed_embedding_keeps_the_memory(void)
{
	static const char *const models[] = { "test-model", NULL };   /* no embed model */
	struct kith_env e;
	char *sys;

	env_for_fake(&e, "pending");
	kith_env_set(&e, "OLLAMA_EMBEDDING_MODEL", "missing-embedder");
	fake_llm_set_models(fake, models);
	ask(&e, "Remember that the plumber is coming on Friday at nine.");
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE text LIKE "
				   "'%plumber is coming on Friday%' AND embedded_with IS NULL"), 1);
	ask(&e, "What time is the plumber coming on Friday?");
	sys = last_system_prompt();
	REQUIRE(sys);
	CHECK_CONTAINS(sys, "plumber is coming on Friday at nine");   /* keywords find it */
	free(sys);
	fake_llm_set_models(fake, NULL);
	kith_env_release(&e);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!fake)
		return 1;
	RUN(test_remembers_and_recalls_across_runs);
	RUN(test_no_memories_yet_and_memory_off);
	RUN(test_embedding_model_from_the_fake);
	RUN(test_failed_embedding_keeps_the_memory);
	fake_llm_stop(fake);
	return test_summary();
}
