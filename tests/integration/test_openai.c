/* test_openai.c — `kith ask` against an OpenAI-compatible endpoint
 * (OpenRouter's shape): bearer key and attribution headers, SSE streaming,
 * a tool call with string arguments, and a mid-stream error. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_llm.h"
#include "core/json.h"

static struct fake_llm *fake;

static void env_for_fake(struct kith_env *e, const char *name)
{
	kith_env_init(e, name);
	kith_env_set(e, "OPENROUTER_BASE_URL", fake_llm_url(fake));
	kith_env_set(e, "OPENROUTER_API_KEY", "sk-or-v1-test-secret-0123456789");
	kith_env_set(e, "OPENROUTER_MAIN_MODEL", "vendor/model-x");
}

static void test_streamed_reply_with_tool(void)
{
	struct kith_env e;
	struct proc_result r;
	size_t base = fake_llm_request_count(fake);
	json_t *req;
	char *auth, *title;

	env_for_fake(&e, "stream");
	fake_llm_push(fake, &(struct fake_reply){ .tool_name = "current_time",
						   .tool_args = "{\"timezone\":\"UTC\"}" });
	fake_llm_push(fake, &(struct fake_reply){ .content = "Streaming works, piece by piece.",
						   .chunk_chars = 3 });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "stream please", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(r.out, "Streaming works, piece by piece.\n");
	REQUIRE(fake_llm_request_count(fake) - base == 2);

	req = fake_llm_request_json(fake, base);
	CHECK(json_is_true(json_object_get(req, "stream")));
	CHECK_STR(kjson_str(req, "model"), "vendor/model-x");
	json_decref(req);
	auth = fake_llm_request_header(fake, base, "Authorization");
	CHECK_STR(auth, "Bearer sk-or-v1-test-secret-0123456789");
	free(auth);
	title = fake_llm_request_header(fake, base, "X-Title");
	CHECK(title != NULL);
	free(title);

	req = fake_llm_request_json(fake, base + 1);
	{
		json_t *msgs = kjson_arr(req, "messages");
		json_t *tool = json_array_get(msgs, json_array_size(msgs) - 1);
		json_t *asst = json_array_get(msgs, json_array_size(msgs) - 2);
		json_t *call = json_array_get(kjson_arr(asst, "tool_calls"), 0);

		CHECK_STR(kjson_str(tool, "role"), "tool");
		CHECK(kjson_str(tool, "tool_call_id") != NULL);
		CHECK_STR(kjson_str(tool, "tool_call_id"), kjson_str(call, "id"));
		/* OpenAI wants arguments back as a JSON string. */
		CHECK(json_is_string(json_object_get(kjson_obj(call, "function"), "arguments")));
	}
	json_decref(req);
	/* The key never reaches the log. */
	{
		char *log_path = NULL;
		FILE *f;
		char line[4096];
		int leaked = 0;

		log_path = malloc(strlen(e.data_dir) + 16);
		snprintf(log_path, strlen(e.data_dir) + 16, "%s/kith.log", e.data_dir);
		f = fopen(log_path, "r");
		CHECK(f != NULL);
		while (f && fgets(line, sizeof(line), f))
			leaked |= strstr(line, "test-secret") != NULL;
		if (f)
			fclose(f);
		CHECK(!leaked);
		free(log_path);
	}
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_mid_stream_error(void)
{
	struct kith_env e;
	struct proc_result r;

	env_for_fake(&e, "midstream");
	fake_llm_push(fake, &(struct fake_reply){ .content = "Partial answ",
						   .stream_error = "Provider disconnected unexpectedly" });
	REQUIRE(kith_run(&e, NULL, &r, "ask", "break please", NULL) == 0);
	CHECK(r.exit_code != 0);
	CHECK_CONTAINS(r.err, "Provider disconnected unexpectedly");
	CHECK_STR(r.out, "");
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE content='break please'"), 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE direction='outgoing'"), 0);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM llm_calls WHERE ok=0 AND "
				   "error LIKE '%Provider disconnected%'"), 1);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_missing_key_for_openrouter(void)
{
	struct kith_env e;
	struct proc_result r;

	kith_env_init(&e, "nokey");
	kith_env_set(&e, "LLM_PROVIDER", "openrouter");
	REQUIRE(kith_run(&e, NULL, &r, "ask", "hi", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "OPENROUTER_API_KEY");
	proc_result_release(&r);
	kith_env_release(&e);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OPENAI);
	if (!fake)
		return 1;
	RUN(test_streamed_reply_with_tool);
	RUN(test_mid_stream_error);
	RUN(test_missing_key_for_openrouter);
	fake_llm_stop(fake);
	return test_summary();
}
