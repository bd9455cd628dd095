/* test_llm_openai.c — the OpenAI-compatible client against the fake
 * OpenRouter: headers, plain and SSE replies, fragmented tool calls,
 * structured output, 429 handling (Retry-After, X-RateLimit-Reset, daily
 * caps), 401/402/404, errors mid-stream and in 200 bodies, cancellation,
 * caps, embeddings and health; plus the chunk parser on odd shapes. */
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "fakes/fake_llm.h"
#include "llm/llm.h"
#include "llm/llm_int.h"
#include "support/llm_testing.h"
#include "support/test.h"

#define KEY "sk-or-v1-test-key-0123456789"

static struct fake_llm *fake;

static struct llm_client *client_at(const char *url, size_t max_response, int attempts)
{
	struct llm_config cfg;
	struct llm_client *c;

	llm_config_init(&cfg);
	cfg.provider = LLM_PROVIDER_OPENAI;
	cfg.base_url = xasprintf("%s/", url);   /* a trailing '/' is tolerated */
	cfg.api_key = xstrdup(KEY);
	cfg.referer = xstrdup("https://kith.example");
	cfg.title = xstrdup("kith");
	cfg.models[LLM_ROLE_MAIN] = xstrdup("openai/gpt-4o-mini");
	cfg.models[LLM_ROLE_UTIL] = xstrdup("nosuch/model");
	cfg.models[LLM_ROLE_EMBED] = xstrdup("openai/text-embedding-3-small");
	cfg.timeout_ms = 20000;
	cfg.connect_timeout_ms = 5000;
	cfg.max_attempts = attempts;
	cfg.retry_base_ms = 5;
	cfg.retry_max_ms = 40;
	if (max_response)
		cfg.max_response_bytes = max_response;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);
	return c;
}

static struct llm_client *client(void)
{
	return client_at(fake_llm_url(fake), 0, 3);
}

static size_t last_index(void)
{
	return fake_llm_request_count(fake) - 1;
}

static void test_plain_reply_and_headers(void)
{
	struct llm_client *c = client();
	struct fake_reply r = { .content = "Hello there.", .prompt_tokens = 12,
				.completion_tokens = 3 };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL, *h;
	json_t *sent;

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "Hello there.");
	CHECK_STR(out.finish_reason, "stop");
	CHECK_STR(out.model, "openai/gpt-4o-mini");
	CHECK_EQ(out.prompt_tokens, 12);
	CHECK_EQ(out.completion_tokens, 3);
	CHECK_EQ(out.attempts, 1);
	CHECK_CONTAINS(out.response_json, "chat.completion");

	h = fake_llm_request_path(fake, last_index());
	CHECK_STR(h, "/v1/chat/completions");
	free(h);
	h = fake_llm_request_header(fake, last_index(), "authorization");
	CHECK_STR(h, "Bearer " KEY);
	free(h);
	h = fake_llm_request_header(fake, last_index(), "HTTP-Referer");
	CHECK_STR(h, "https://kith.example");
	free(h);
	h = fake_llm_request_header(fake, last_index(), "X-Title");
	CHECK_STR(h, "kith");
	free(h);
	h = fake_llm_request_header(fake, last_index(), "Content-Type");
	CHECK_STR(h, "application/json");
	free(h);

	sent = llm_test_last_request(fake);
	CHECK_STR(kjson_str(sent, "model"), "openai/gpt-4o-mini");
	CHECK(json_is_false(json_object_get(sent, "stream")));
	CHECK(json_object_get(sent, "temperature") == NULL);
	CHECK(json_object_get(sent, "tools") == NULL);
	CHECK(json_object_get(sent, "response_format") == NULL);
	json_decref(sent);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_streamed_reply(void)
{
	struct llm_client *c = client();
	struct fake_reply r = { .content = "Streaming works, one piece at a time.",
				.chunk_chars = 2 };
	struct llm_test_deltas d = LLM_TEST_DELTAS_INIT;
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	json_t *sent, *rec;
	char *why = NULL, *h;

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "stream please");
	req.stream = true;
	req.on_delta = llm_test_on_delta;
	req.ud = &d;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "Streaming works, one piece at a time.");
	CHECK_STR(buf_str(&d.text), "Streaming works, one piece at a time.");
	CHECK(d.calls >= 18);
	CHECK_STR(out.finish_reason, "stop");
	/* Usage arrives on a chunk with no choices. */
	CHECK(out.prompt_tokens > 0);
	CHECK(out.completion_tokens > 0);
	sent = llm_test_last_request(fake);
	CHECK(json_is_true(json_object_get(sent, "stream")));
	CHECK(json_is_true(json_object_get(kjson_obj(sent, "stream_options"), "include_usage")));
	json_decref(sent);
	h = fake_llm_request_header(fake, last_index(), "Accept");
	CHECK_STR(h, "text/event-stream");
	free(h);
	rec = json_loads(out.response_json, 0, NULL);
	CHECK_STR(kjson_str(kjson_obj(json_array_get(kjson_arr(rec, "choices"), 0), "message"),
			    "content"), "Streaming works, one piece at a time.");
	CHECK(kjson_obj(rec, "usage") != NULL);
	json_decref(rec);
	buf_release(&d.text);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static json_t *tools_json(void)
{
	return json_loads("[{\"name\":\"get_weather\",\"description\":\"Weather in a city\","
			  "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
			  "{\"type\":\"string\"}}}},{\"name\":\"get_time\",\"parameters\":"
			  "{\"type\":\"object\",\"properties\":{}}}]", 0, NULL);
}

static void tool_round_trip(bool stream)
{
	struct llm_client *c = client();
	struct fake_reply r1 = {
		.tool_calls_json = "[{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Boston\"}},"
				   "{\"name\":\"get_time\",\"arguments\":\"{}\"}]",
		.chunk_chars = 3,
	};
	struct fake_reply r2 = { .content = "Cold in Boston." };
	json_t *tools = tools_json(), *sent, *m, *tc;
	struct llm_msg msgs[5];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	fake_llm_push(fake, &r1);
	fake_llm_push(fake, &r2);
	llm_test_user_request(&req, msgs, "weather and time?");
	req.tools = tools;
	req.tool_choice = "required";
	req.stream = stream;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.finish_reason, "tool_calls");
	REQUIRE(out.ncalls == 2);
	CHECK_STR(out.calls[0].name, "get_weather");
	CHECK_STR(kjson_str(out.calls[0].arguments, "city"), "Boston");
	CHECK_STR(out.calls[0].arguments_raw, "{\"city\":\"Boston\"}");
	CHECK_STR(out.calls[1].name, "get_time");
	CHECK(json_is_object(out.calls[1].arguments));
	CHECK(strncmp(out.calls[0].id, "call_", 5) == 0);
	CHECK(strcmp(out.calls[0].id, out.calls[1].id) != 0);
	CHECK_STR(out.content, "");

	sent = llm_test_last_request(fake);
	CHECK_STR(kjson_str(sent, "tool_choice"), "required");
	m = json_array_get(kjson_arr(sent, "tools"), 1);
	CHECK_STR(kjson_str(m, "type"), "function");
	CHECK_STR(kjson_str(kjson_obj(m, "function"), "name"), "get_time");
	json_decref(sent);

	memset(&msgs[2], 0, sizeof(msgs[2]));
	msgs[2].role = LLM_MSG_ASSISTANT;
	msgs[2].calls = xcalloc(2, sizeof(*msgs[2].calls));
	msgs[2].ncalls = 2;
	llm_tool_call_copy(&msgs[2].calls[0], &out.calls[0]);
	llm_tool_call_copy(&msgs[2].calls[1], &out.calls[1]);
	llm_msg_init(&msgs[3], LLM_MSG_TOOL, "{\"temp_c\":-3}");
	msgs[3].tool_name = xstrdup("get_weather");
	msgs[3].tool_call_id = xstrdup(out.calls[0].id);
	llm_msg_init(&msgs[4], LLM_MSG_TOOL, "{\"time\":\"09:00\"}");
	msgs[4].tool_name = xstrdup("get_time");
	msgs[4].tool_call_id = xstrdup(out.calls[1].id);
	req.nmsgs = 5;
	req.tool_choice = NULL;
	llm_response_release(&out);
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "Cold in Boston.");
	sent = llm_test_last_request(fake);
	m = json_array_get(kjson_arr(sent, "messages"), 2);
	CHECK_STR(kjson_str(m, "role"), "assistant");
	CHECK(json_is_null(json_object_get(m, "content")));
	tc = json_array_get(kjson_arr(m, "tool_calls"), 0);
	CHECK_STR(kjson_str(tc, "type"), "function");
	CHECK_STR(kjson_str(tc, "id"), msgs[2].calls[0].id);
	/* OpenAI wants the arguments as a JSON string. */
	CHECK_STR(kjson_str(kjson_obj(tc, "function"), "arguments"), "{\"city\":\"Boston\"}");
	m = json_array_get(kjson_arr(sent, "messages"), 3);
	CHECK_STR(kjson_str(m, "role"), "tool");
	CHECK_STR(kjson_str(m, "tool_call_id"), msgs[2].calls[0].id);
	CHECK(json_object_get(sent, "tool_choice") == NULL);
	json_decref(sent);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 5);
	json_decref(tools);
	llm_client_free(c);
}

static void test_tool_round_trip(void)
{
	tool_round_trip(false);
}

static void test_tool_round_trip_streamed(void)
{
	tool_round_trip(true);
}

static void test_invalid_tool_arguments(void)
{
	struct llm_client *c = client();
	struct fake_reply r = { .tool_name = "get_weather", .tool_args = "{\"city\": Bost",
				.chunk_chars = 4 };
	json_t *tools = tools_json();
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	for (int stream = 0; stream < 2; stream++) {
		fake_llm_push(fake, &r);
		llm_test_user_request(&req, msgs, "weather?");
		req.tools = tools;
		req.stream = stream;
		CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
		REQUIRE(out.ncalls == 1);
		CHECK(out.calls[0].arguments == NULL);
		CHECK_STR(out.calls[0].arguments_raw, "{\"city\": Bost");
		llm_response_release(&out);
		llm_test_release_msgs(msgs, 2);
	}
	json_decref(tools);
	llm_client_free(c);
}

static void test_structured_output(void)
{
	struct llm_client *c;
	struct llm_config cfg;
	json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"mood\":"
				    "{\"type\":\"string\"}},\"required\":[\"mood\"],"
				    "\"additionalProperties\":false}", 0, NULL);
	json_t *tools = tools_json(), *sent, *rf;
	struct fake_reply r = { .content = "{\"mood\":\"calm\"}" };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;
	double v = 0;

	llm_config_init(&cfg);
	cfg.provider = LLM_PROVIDER_OPENAI;
	cfg.base_url = xstrdup(fake_llm_url(fake));
	cfg.models[LLM_ROLE_MAIN] = xstrdup("openai/gpt-4o-mini");
	cfg.temperature[LLM_ROLE_MAIN] = 0.7;
	cfg.top_p = 0.5;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "mood?");
	req.json_schema = schema;
	req.schema_name = "mood";
	req.tools = tools;
	req.tool_choice = "get_time";
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	sent = llm_test_last_request(fake);
	rf = kjson_obj(sent, "response_format");
	CHECK_STR(kjson_str(rf, "type"), "json_schema");
	CHECK_STR(kjson_str(kjson_obj(rf, "json_schema"), "name"), "mood");
	CHECK(json_equal(json_object_get(kjson_obj(rf, "json_schema"), "schema"), schema));
	CHECK(kjson_num(sent, "temperature", &v) && v > 0.69 && v < 0.71);
	CHECK(kjson_num(sent, "top_p", &v) && v > 0.49 && v < 0.51);
	/* A tool name as tool_choice forces that function. */
	CHECK_STR(kjson_str(kjson_obj(kjson_obj(sent, "tool_choice"), "function"), "name"),
		  "get_time");
	/* No key configured: no Authorization header. */
	{
		char *h = fake_llm_request_header(fake, last_index(), "Authorization");

		CHECK(h == NULL);
		free(h);
	}
	json_decref(sent);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	json_decref(schema);
	json_decref(tools);
	llm_client_free(c);
}

static void test_429_retry_after(void)
{
	struct llm_client *c = client();
	struct fake_reply busy = { .status = 429, .retry_after = "2" };
	struct fake_reply ok = { .content = "after the wait" };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	size_t before = fake_llm_request_count(fake);
	char *why = NULL;

	fake_llm_push(fake, &busy);
	fake_llm_push(fake, &ok);
	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "after the wait");
	CHECK_EQ(out.attempts, 2);
	CHECK_EQ(fake_llm_request_count(fake) - before, 2);
	CHECK(out.duration_ms < 1500);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_429_reset_hint_and_exhaustion(void)
{
	struct llm_client *c = client();
	char *body = xasprintf("{\"error\":{\"message\":\"Rate limit exceeded: free-models-per-min. \","
			       "\"code\":429,\"metadata\":{\"headers\":{\"X-RateLimit-Limit\":\"20\","
			       "\"X-RateLimit-Remaining\":\"0\",\"X-RateLimit-Reset\":\"%lld\"}}},"
			       "\"user_id\":\"user_x\"}", (long long)clock_now_ms() + 3600000);
	struct fake_reply busy = { .status = 429, .error_body = body };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL, *want;

	/* The reset an hour away is capped by retry_max_ms; three 429s use
	 * up the attempts. */
	for (int i = 0; i < 3; i++)
		fake_llm_push(fake, &busy);
	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ERATELIMIT);
	CHECK_EQ(out.attempts, 3);
	CHECK(out.duration_ms < 2000);
	want = xasprintf("rate limited by OpenAI-compatible endpoint at %s after 3 attempts",
			 fake_llm_url(fake));
	CHECK_CONTAINS(why, want);
	CHECK_CONTAINS(why, "free-models-per-min");
	free(want);
	free(why);
	free(body);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_daily_cap_and_402_not_retried(void)
{
	struct llm_client *c = client();
	struct fake_reply daily = { .status = 429, .error_body =
		"{\"error\":{\"message\":\"Rate limit exceeded: free-models-per-day. Add 10 credits "
		"to unlock 1000 free model requests per day\",\"code\":429}}" };
	struct fake_reply broke = { .status = 402 };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	fake_llm_push(fake, &daily);
	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ERATELIMIT);
	CHECK_EQ(out.attempts, 1);
	CHECK_CONTAINS(why, "after 1 attempt:");
	CHECK_CONTAINS(why, "free-models-per-day");
	free(why);
	why = NULL;
	llm_response_release(&out);

	fake_llm_push(fake, &broke);
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_EHTTP);
	CHECK_EQ(out.attempts, 1);
	CHECK_EQ(out.http_status, 402);
	CHECK_CONTAINS(why, "lack of credits (402): Insufficient credits");
	free(why);
	llm_response_release(&out);
	CHECK_EQ(fake_llm_pending(fake), 0);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_5xx_retried(void)
{
	struct llm_client *c = client();
	struct fake_reply e502 = { .status = 502 }, e408 = { .status = 408 };
	struct fake_reply ok = { .content = "recovered" };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	fake_llm_push(fake, &e502);
	fake_llm_push(fake, &e408);
	fake_llm_push(fake, &ok);
	llm_test_user_request(&req, msgs, "hi");
	req.stream = true;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "recovered");
	CHECK_EQ(out.attempts, 3);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_bad_key(void)
{
	struct llm_client *c = client();
	struct fake_reply r = { .status = 401 };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL, *want;

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_EAUTH);
	CHECK_EQ(out.attempts, 1);
	want = xasprintf("OpenAI-compatible endpoint at %s rejected the API key (401)",
			 fake_llm_url(fake));
	CHECK_CONTAINS(why, want);
	CHECK_CONTAINS(why, "No auth credentials found");
	free(want);
	free(why);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_model_not_found(void)
{
	struct llm_client *c = client();
	static const char *const models[] = { "openai/gpt-4o-mini", NULL };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	fake_llm_set_models(fake, models);
	llm_test_user_request(&req, msgs, "hi");
	req.role = LLM_ROLE_UTIL;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ENOTFOUND);
	CHECK_EQ(out.attempts, 1);
	CHECK_CONTAINS(why, "model 'nosuch/model' not found on OpenAI-compatible endpoint at");
	CHECK_CONTAINS(why, "No endpoints found for nosuch/model.");
	free(why);
	llm_response_release(&out);
	fake_llm_set_models(fake, NULL);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_connection_refused(void)
{
	char *url = xasprintf("http://127.0.0.1:%d/v1", llm_test_closed_port());
	struct llm_client *c = client_at(url, 0, 2);
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL, *want;

	llm_test_user_request(&req, msgs, "hi");
	req.stream = true;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ECONNECT);
	want = xasprintf("cannot reach OpenAI-compatible endpoint at %s: connection refused", url);
	CHECK_CONTAINS(why, want);
	CHECK_CONTAINS(why, "(after 2 attempts)");
	free(want);
	free(why);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
	free(url);
}

static void test_mid_stream_error(void)
{
	struct llm_client *c = client();
	struct fake_reply r = { .content = "partial", .stream_error =
				"Provider disconnected unexpectedly" };
	struct llm_test_deltas d = LLM_TEST_DELTAS_INIT;
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "hi");
	req.stream = true;
	req.on_delta = llm_test_on_delta;
	req.ud = &d;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_EHTTP);
	CHECK_CONTAINS(why, "reported an error: Provider disconnected unexpectedly (server_error)");
	CHECK_STR(buf_str(&d.text), "partial");
	CHECK_EQ(out.attempts, 1);
	CHECK_CONTAINS(out.response_json, "Provider disconnected unexpectedly");
	free(why);
	why = NULL;
	llm_response_release(&out);

	/* Without streaming the same failure is a 200 with an error body. */
	fake_llm_push(fake, &r);
	req.stream = false;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_EHTTP);
	CHECK_EQ(out.http_status, 200);
	CHECK_CONTAINS(why, "Provider disconnected unexpectedly");
	free(why);
	llm_response_release(&out);
	buf_release(&d.text);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_cancel(void)
{
	struct llm_client *c = client();
	struct fake_reply slow = { .content = "too late", .delay_ms = 10000 };
	struct cancel cancel = { 0 };
	struct llm_test_chat t = { 0 };
	struct llm_msg msgs[2];
	struct llm_request req;
	size_t before = fake_llm_request_count(fake);
	int64_t t0;

	fake_llm_push(fake, &slow);
	llm_test_user_request(&req, msgs, "hi");
	req.cancel = &cancel;
	req.stream = true;
	REQUIRE(llm_test_chat_start(&t, c, &req));
	CHECK(fake_llm_wait_requests(fake, before + 1, 5000));
	t0 = clock_mono_ms();
	cancel_request(&cancel);
	llm_test_chat_join(&t);
	CHECK_EQ(t.st, KITH_ECANCELED);
	CHECK(t.ended - t0 < 1000);
	CHECK_CONTAINS(t.why, "was cancelled");
	free(t.why);
	llm_response_release(&t.out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_cancel_during_backoff(void)
{
	struct llm_client *c;
	struct llm_config cfg;
	struct fake_reply busy = { .status = 429, .retry_after = "30" };
	struct cancel cancel = { 0 };
	struct llm_test_chat t = { 0 };
	struct llm_msg msgs[2];
	struct llm_request req;
	size_t before = fake_llm_request_count(fake);
	int64_t t0;

	llm_config_init(&cfg);
	cfg.provider = LLM_PROVIDER_OPENAI;
	cfg.base_url = xstrdup(fake_llm_url(fake));
	cfg.models[LLM_ROLE_MAIN] = xstrdup("openai/gpt-4o-mini");
	cfg.retry_max_ms = 60000;   /* honour the 30 s Retry-After */
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);

	fake_llm_push(fake, &busy);
	llm_test_user_request(&req, msgs, "hi");
	req.cancel = &cancel;
	REQUIRE(llm_test_chat_start(&t, c, &req));
	CHECK(fake_llm_wait_requests(fake, before + 1, 5000));
	t0 = clock_mono_ms();
	cancel_request(&cancel);
	llm_test_chat_join(&t);
	CHECK_EQ(t.st, KITH_ECANCELED);
	CHECK(t.ended - t0 < 1000);
	free(t.why);
	llm_response_release(&t.out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_response_cap(void)
{
	struct llm_client *c = client_at(fake_llm_url(fake), 300, 3);
	char big[1000];
	struct fake_reply r = { .content = big, .chunk_chars = 50 };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	llm_test_user_request(&req, msgs, "hi");
	for (int stream = 0; stream < 2; stream++) {
		fake_llm_push(fake, &r);
		req.stream = stream;
		CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ETOOBIG);
		CHECK_CONTAINS(why, "too big");
		CHECK_EQ(out.attempts, 1);
		free(why);
		why = NULL;
		llm_response_release(&out);
	}
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_embeddings(void)
{
	struct llm_client *c = client();
	const char *texts[] = { "one", "two", "three", "two" };
	float *vecs = NULL;
	size_t dim = 0;
	char *why = NULL, *path;
	json_t *sent;

	CHECK_EQ(llm_embed(c, texts, 4, &vecs, &dim, NULL, &why), KITH_OK);
	REQUIRE(vecs != NULL);
	CHECK_EQ(dim, 8);
	CHECK(memcmp(vecs + dim, vecs + 3 * dim, dim * sizeof(float)) == 0);
	CHECK(memcmp(vecs, vecs + dim, dim * sizeof(float)) != 0);
	free(vecs);
	path = fake_llm_request_path(fake, last_index());
	CHECK_STR(path, "/v1/embeddings");
	free(path);
	sent = llm_test_last_request(fake);
	CHECK_STR(kjson_str(sent, "model"), "openai/text-embedding-3-small");
	CHECK_EQ(json_array_size(kjson_arr(sent, "input")), 4);
	json_decref(sent);
	llm_client_free(c);
}

static void test_health(void)
{
	struct llm_client *c = client();
	char *why = NULL, *path, *h;
	char *url = xasprintf("http://127.0.0.1:%d/v1", llm_test_closed_port());
	struct llm_client *dead = client_at(url, 0, 3);

	CHECK_EQ(llm_health(c, &why), KITH_OK);
	path = fake_llm_request_path(fake, last_index());
	CHECK_STR(path, "/v1/models");
	free(path);
	h = fake_llm_request_header(fake, last_index(), "Authorization");
	CHECK_STR(h, "Bearer " KEY);
	free(h);
	CHECK_EQ(llm_health(dead, &why), KITH_ECONNECT);
	CHECK_CONTAINS(why, "connection refused");
	/* Health does not retry. */
	CHECK(strstr(why, "attempts") == NULL);
	free(why);
	llm_client_free(dead);
	llm_client_free(c);
	free(url);
}

/* Shapes the fake does not send: fragments without ids, sparse indexes,
 * reasoning, usage on the finish chunk, choice-level errors, numeric
 * error codes, too many calls. */
/* Images turn the content into parts with data: URLs; the record keeps
 * placeholders, however big the image. */
static void test_images(void)
{
	struct llm_client *c = client();
	size_t big = (size_t)1 << 20, n = fake_llm_request_count(fake), len;
	unsigned char *img = xmalloc(big), *got;
	struct llm_test_deltas d = LLM_TEST_DELTAS_INIT;
	struct llm_msg msgs[3];
	struct llm_request req;
	struct llm_response out;
	json_t *sent, *parts, *rec;
	char *why = NULL, *mime = NULL;

	for (size_t i = 0; i < big; i++)
		img[i] = (unsigned char)(i ^ (i >> 8));
	llm_test_user_request(&req, msgs, "what is this?");
	llm_msg_add_image(&msgs[1], img, big, "image/webp");
	llm_msg_init(&msgs[2], LLM_MSG_USER, NULL);        /* images alone */
	llm_msg_add_image(&msgs[2], "GIF89a", 6, "image/gif");
	req.nmsgs = 3;
	req.stream = true;
	req.on_delta = llm_test_on_delta;
	req.ud = &d;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK(why == NULL);
	CHECK_STR(out.content, "ok");

	CHECK_EQ(fake_llm_request_image_count(fake, n), 2);
	got = fake_llm_request_image(fake, n, 0, &len, &mime);
	CHECK(got && len == big && memcmp(got, img, big) == 0);
	CHECK_STR(mime, "image/webp");
	free(got);
	free(mime);
	got = fake_llm_request_image(fake, n, 1, &len, &mime);
	CHECK(got && len == 6 && memcmp(got, "GIF89a", 6) == 0);
	CHECK_STR(mime, "image/gif");
	free(got);
	free(mime);

	sent = llm_test_last_request(fake);
	CHECK(json_is_string(json_object_get(json_array_get(kjson_arr(sent, "messages"), 0),
					     "content")));
	parts = kjson_arr(json_array_get(kjson_arr(sent, "messages"), 1), "content");
	REQUIRE(json_array_size(parts) == 2);
	CHECK_STR(kjson_str(json_array_get(parts, 0), "type"), "text");
	CHECK_STR(kjson_str(json_array_get(parts, 0), "text"), "what is this?");
	CHECK_STR(kjson_str(json_array_get(parts, 1), "type"), "image_url");
	CHECK(strncmp(kjson_str(kjson_obj(json_array_get(parts, 1), "image_url"), "url"),
		      "data:image/webp;base64,", 23) == 0);
	parts = kjson_arr(json_array_get(kjson_arr(sent, "messages"), 2), "content");
	REQUIRE(json_array_size(parts) == 1);
	CHECK_STR(kjson_str(kjson_obj(json_array_get(parts, 0), "image_url"), "url"),
		  "data:image/gif;base64,R0lGODlh");

	rec = json_loads(out.request_json, 0, NULL);
	REQUIRE(rec);
	CHECK(strlen(out.request_json) < 1000);
	parts = kjson_arr(json_array_get(kjson_arr(rec, "messages"), 1), "content");
	CHECK_STR(kjson_str(json_array_get(parts, 0), "text"), "what is this?");
	CHECK_STR(kjson_str(kjson_obj(json_array_get(parts, 1), "image_url"), "url"),
		  "<image 1048576 bytes image/webp>");
	parts = kjson_arr(json_array_get(kjson_arr(rec, "messages"), 2), "content");
	CHECK_STR(kjson_str(kjson_obj(json_array_get(parts, 0), "image_url"), "url"),
		  "<image 6 bytes image/gif>");
	CHECK(json_is_true(json_object_get(rec, "stream")));
	json_decref(rec);
	json_decref(sent);
	free(img);
	buf_release(&d.text);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 3);
	llm_client_free(c);
}

static void test_chunk_parser(void)
{
	static const char *const chunks[] = {
		"{\"id\":\"gen-1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
		"\"assistant\",\"reasoning\":\"hmm\",\"tool_calls\":[{\"index\":3,\"function\":"
		"{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\"}}]}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":7,\"id\":\"x7\","
		"\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":"
		"{\"arguments\":\"1}\"}}]}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
		"\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}",
	};
	struct llm_acc a;
	struct llm_response out;
	json_t *j;

	memset(&out, 0, sizeof(out));
	llm_acc_init(&a, 1024, NULL, NULL);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		j = json_loads(chunks[i], 0, NULL);
		REQUIRE(j);
		CHECK_EQ(openai_chunk(&a, j), KITH_OK);
		json_decref(j);
	}
	CHECK(a.done);
	llm_acc_finish(&a, &out);
	REQUIRE(out.ncalls == 2);
	CHECK_STR(out.calls[0].id, "call_0");
	CHECK_STR(out.calls[0].name, "f");
	CHECK_STR(out.calls[0].arguments_raw, "{\"a\":1}");
	CHECK_STR(out.calls[1].id, "x7");
	CHECK_STR(out.calls[1].arguments_raw, "");
	CHECK(json_is_object(out.calls[1].arguments));
	CHECK_STR(out.thinking, "hmm");
	CHECK_EQ(out.prompt_tokens, 9);
	CHECK_EQ(out.completion_tokens, 4);
	CHECK_STR(out.finish_reason, "tool_calls");
	llm_response_release(&out);

	llm_acc_init(&a, 1024, NULL, NULL);
	j = json_loads("{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"error\","
		       "\"error\":{\"code\":502,\"message\":\"upstream died\"}}]}", 0, NULL);
	CHECK_EQ(openai_chunk(&a, j), KITH_EHTTP);
	CHECK_STR(a.why, "upstream died");
	json_decref(j);
	llm_acc_release(&a);

	/* A model that asks for a thousand calls is stopped at the limit. */
	llm_acc_init(&a, 1024, NULL, NULL);
	{
		enum kith_status st = KITH_OK;

		for (int i = 0; i < 1000 && !st; i++) {
			char *s = xasprintf("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":%d,"
					    "\"function\":{\"name\":\"f\"}}]}}]}", i);

			j = json_loads(s, 0, NULL);
			st = openai_chunk(&a, j);
			json_decref(j);
			free(s);
		}
		CHECK_EQ(st, KITH_EPROTO);
		CHECK_EQ(a.ncalls, LLM_MAX_CALLS);
	}
	llm_acc_release(&a);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OPENAI);
	if (!fake) {
		fprintf(stderr, "cannot start the fake OpenAI endpoint\n");
		return 1;
	}
	RUN(test_plain_reply_and_headers);
	RUN(test_streamed_reply);
	RUN(test_tool_round_trip);
	RUN(test_tool_round_trip_streamed);
	RUN(test_invalid_tool_arguments);
	RUN(test_structured_output);
	RUN(test_429_retry_after);
	RUN(test_429_reset_hint_and_exhaustion);
	RUN(test_daily_cap_and_402_not_retried);
	RUN(test_5xx_retried);
	RUN(test_bad_key);
	RUN(test_model_not_found);
	RUN(test_connection_refused);
	RUN(test_mid_stream_error);
	RUN(test_cancel);
	RUN(test_cancel_during_backoff);
	RUN(test_response_cap);
	RUN(test_embeddings);
	RUN(test_health);
	RUN(test_images);
	RUN(test_chunk_parser);
	fake_llm_stop(fake);
	return test_summary();
}
