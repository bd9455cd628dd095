/* test_llm_ollama.c — the Ollama client against the fake server: plain and
 * streamed replies, tools both ways, structured output, retries, errors in
 * words, cancellation, caps, embeddings and health; plus the chunk parser
 * on shapes the fake does not produce. */
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "fakes/fake_llm.h"
#include "llm/llm.h"
#include "llm/llm_int.h"
#include "support/llm_testing.h"
#include "support/test.h"

static struct fake_llm *fake;

static struct llm_client *client_at(const char *url, size_t max_response)
{
	struct llm_config cfg;
	struct llm_client *c;

	llm_config_init(&cfg);
	cfg.provider = LLM_PROVIDER_OLLAMA;
	cfg.base_url = xstrdup(url);
	cfg.models[LLM_ROLE_MAIN] = xstrdup("llama3.2");
	cfg.models[LLM_ROLE_UTIL] = xstrdup("nosuch");
	cfg.models[LLM_ROLE_EMBED] = xstrdup("all-minilm");
	cfg.timeout_ms = 20000;
	cfg.connect_timeout_ms = 5000;
	cfg.max_attempts = 3;
	cfg.retry_base_ms = 5;
	cfg.retry_max_ms = 40;   /* caps Retry-After too: tests stay fast */
	if (max_response)
		cfg.max_response_bytes = max_response;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);
	return c;
}

static struct llm_client *client(void)
{
	return client_at(fake_llm_url(fake), 0);
}

static void test_plain_reply(void)
{
	struct llm_client *c = client();
	struct fake_reply r = { .content = "Hello there." };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	json_t *sent, *rec;
	char *why = NULL, *path;

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK(why == NULL);
	CHECK_STR(out.content, "Hello there.");
	CHECK_STR(out.finish_reason, "stop");
	CHECK_STR(out.model, "llama3.2");
	CHECK(out.prompt_tokens > 0);
	CHECK(out.completion_tokens > 0);
	CHECK_EQ(out.ncalls, 0);
	CHECK(out.thinking == NULL);
	CHECK_EQ(out.attempts, 1);
	CHECK_EQ(out.http_status, 200);
	CHECK(out.duration_ms >= 0);
	CHECK_CONTAINS(out.response_json, "Hello there.");

	path = fake_llm_request_path(fake, fake_llm_request_count(fake) - 1);
	CHECK_STR(path, "/api/chat");
	free(path);
	sent = llm_test_last_request(fake);
	REQUIRE(sent);
	CHECK_STR(kjson_str(sent, "model"), "llama3.2");
	CHECK(json_is_false(json_object_get(sent, "stream")));
	CHECK_EQ(json_array_size(kjson_arr(sent, "messages")), 2);
	CHECK_STR(kjson_str(json_array_get(kjson_arr(sent, "messages"), 0), "role"), "system");
	CHECK_STR(kjson_str(json_array_get(kjson_arr(sent, "messages"), 1), "content"), "hi");
	CHECK(json_object_get(sent, "tools") == NULL);
	CHECK(json_object_get(sent, "options") == NULL);
	/* What we recorded is what was sent. */
	rec = json_loads(out.request_json, 0, NULL);
	CHECK(json_equal(rec, sent));
	json_decref(rec);
	json_decref(sent);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_streamed_reply(void)
{
	struct llm_client *c = client();
	struct fake_reply r = { .content = "The quick brown fox jumps.", .chunk_chars = 3,
				.thinking = "Let me think." };
	struct llm_test_deltas d = LLM_TEST_DELTAS_INIT;
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	json_t *sent, *rec;
	char *why = NULL;

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "say it");
	req.stream = true;
	req.on_delta = llm_test_on_delta;
	req.ud = &d;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "The quick brown fox jumps.");
	CHECK_STR(buf_str(&d.text), "The quick brown fox jumps.");
	CHECK(d.calls >= 9);
	CHECK_STR(out.thinking, "Let me think.");
	CHECK_STR(out.finish_reason, "stop");
	CHECK(out.completion_tokens > 0);
	sent = llm_test_last_request(fake);
	CHECK(json_is_true(json_object_get(sent, "stream")));
	json_decref(sent);
	/* The record is the reassembled answer in the non-stream shape. */
	rec = json_loads(out.response_json, 0, NULL);
	CHECK_STR(kjson_str(kjson_obj(rec, "message"), "content"), "The quick brown fox jumps.");
	CHECK_STR(kjson_str(kjson_obj(rec, "message"), "thinking"), "Let me think.");
	CHECK(json_is_true(json_object_get(rec, "done")));
	json_decref(rec);
	buf_release(&d.text);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static json_t *weather_tools(void)
{
	return json_loads("[{\"name\":\"get_weather\",\"description\":\"Weather in a city\","
			  "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
			  "{\"type\":\"string\"}},\"required\":[\"city\"]}}]", 0, NULL);
}

static void tool_round_trip(bool stream)
{
	struct llm_client *c = client();
	struct fake_reply r1 = { .tool_name = "get_weather", .tool_args = "{\"city\":\"Tokyo\"}" };
	struct fake_reply r2 = { .content = "Sunny in Tokyo." };
	json_t *tools = weather_tools(), *sent, *m;
	struct llm_msg msgs[4];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	fake_llm_push(fake, &r1);
	fake_llm_push(fake, &r2);
	llm_test_user_request(&req, msgs, "weather in Tokyo?");
	req.tools = tools;
	req.stream = stream;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	REQUIRE(out.ncalls == 1);
	CHECK_STR(out.calls[0].name, "get_weather");
	CHECK(out.calls[0].id && out.calls[0].id[0]);
	CHECK(json_is_object(out.calls[0].arguments));
	CHECK_STR(kjson_str(out.calls[0].arguments, "city"), "Tokyo");
	CHECK_STR(out.calls[0].arguments_raw, "{\"city\":\"Tokyo\"}");
	CHECK_STR(out.content, "");

	sent = llm_test_last_request(fake);
	m = json_array_get(kjson_arr(sent, "tools"), 0);
	CHECK_STR(kjson_str(m, "type"), "function");
	CHECK_STR(kjson_str(kjson_obj(m, "function"), "name"), "get_weather");
	CHECK(kjson_obj(kjson_obj(m, "function"), "parameters") != NULL);
	json_decref(sent);

	/* Second turn: the call and its result go back. */
	memset(&msgs[2], 0, sizeof(msgs[2]));
	msgs[2].role = LLM_MSG_ASSISTANT;
	msgs[2].calls = xcalloc(1, sizeof(*msgs[2].calls));
	msgs[2].ncalls = 1;
	llm_tool_call_copy(&msgs[2].calls[0], &out.calls[0]);
	llm_msg_init(&msgs[3], LLM_MSG_TOOL, "{\"sky\":\"clear\"}");
	msgs[3].tool_name = xstrdup("get_weather");
	msgs[3].tool_call_id = xstrdup(out.calls[0].id);
	req.nmsgs = 4;
	llm_response_release(&out);
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "Sunny in Tokyo.");
	sent = llm_test_last_request(fake);
	m = json_array_get(kjson_arr(sent, "messages"), 2);
	CHECK_STR(kjson_str(m, "role"), "assistant");
	m = kjson_obj(json_array_get(kjson_arr(m, "tool_calls"), 0), "function");
	CHECK_STR(kjson_str(m, "name"), "get_weather");
	/* Ollama wants the arguments as an object. */
	CHECK_STR(kjson_str(kjson_obj(m, "arguments"), "city"), "Tokyo");
	m = json_array_get(kjson_arr(sent, "messages"), 3);
	CHECK_STR(kjson_str(m, "role"), "tool");
	CHECK_STR(kjson_str(m, "tool_name"), "get_weather");
	CHECK_STR(kjson_str(m, "content"), "{\"sky\":\"clear\"}");
	json_decref(sent);

	llm_response_release(&out);
	llm_test_release_msgs(msgs, 4);
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

static void test_structured_output_and_options(void)
{
	struct llm_client *c;
	struct llm_config cfg;
	json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"mood\":"
				    "{\"type\":\"string\"}},\"required\":[\"mood\"]}", 0, NULL);
	json_t *tools = weather_tools(), *sent, *opts;
	struct fake_reply r = { .content = "{\"mood\":\"calm\"}" };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;
	double v = 0;

	llm_config_init(&cfg);
	cfg.base_url = xstrdup(fake_llm_url(fake));
	cfg.models[LLM_ROLE_UTIL] = xstrdup("llama3.2");
	cfg.temperature[LLM_ROLE_UTIL] = 0.25;
	cfg.top_p = 0.9;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "mood?");
	req.role = LLM_ROLE_UTIL;
	req.json_schema = schema;
	req.tools = tools;
	req.tool_choice = "none";
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "{\"mood\":\"calm\"}");
	sent = llm_test_last_request(fake);
	CHECK(json_equal(json_object_get(sent, "format"), schema));
	opts = kjson_obj(sent, "options");
	CHECK(kjson_num(opts, "temperature", &v) && v > 0.249 && v < 0.251);
	CHECK(kjson_num(opts, "top_p", &v) && v > 0.899 && v < 0.901);
	/* Ollama has no tool_choice; "none" means the tools are not offered. */
	CHECK(json_object_get(sent, "tools") == NULL);
	json_decref(sent);
	llm_response_release(&out);

	/* A per-request temperature wins over the role's. */
	req.temperature = 0;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	sent = llm_test_last_request(fake);
	CHECK(kjson_num(kjson_obj(sent, "options"), "temperature", &v) && v == 0);
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
	struct fake_reply busy = { .status = 429, .retry_after = "1" };
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
	/* Retry-After: 1 was capped by retry_max_ms (40 ms). */
	CHECK(out.duration_ms < 900);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_5xx_retried(void)
{
	struct llm_client *c = client();
	struct fake_reply e503 = { .status = 503 }, e500 = { .status = 500 };
	struct fake_reply ok = { .content = "recovered" };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	fake_llm_push(fake, &e503);
	fake_llm_push(fake, &e500);
	fake_llm_push(fake, &ok);
	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK_STR(out.content, "recovered");
	CHECK_EQ(out.attempts, 3);
	llm_response_release(&out);

	/* Out of attempts: the sentence names the status, the count and the
	 * server's words. */
	fake_llm_push(fake, &e503);
	fake_llm_push(fake, &e503);
	fake_llm_push(fake, &e503);
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_EHTTP);
	CHECK_EQ(out.attempts, 3);
	CHECK_EQ(out.http_status, 503);
	CHECK_CONTAINS(why, "Ollama at http://127.0.0.1:");
	CHECK_CONTAINS(why, "failed with HTTP 503 (after 3 attempts)");
	CHECK_CONTAINS(why, "server busy");
	CHECK_CONTAINS(out.response_json, "server busy");
	free(why);
	why = NULL;
	llm_response_release(&out);
	CHECK_EQ(fake_llm_pending(fake), 0);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_4xx_not_retried(void)
{
	struct llm_client *c = client();
	struct fake_reply bad = { .status = 400, .error_body = "{\"error\":\"\\\"llama3.2\\\" does not support tools\"}" };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	fake_llm_push(fake, &bad);
	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_EHTTP);
	CHECK_EQ(out.attempts, 1);
	CHECK_EQ(out.http_status, 400);
	CHECK_CONTAINS(why, "rejected the request (HTTP 400): \"llama3.2\" does not support tools");
	free(why);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_model_not_found(void)
{
	struct llm_client *c = client();
	static const char *const models[] = { "llama3.2", "all-minilm", NULL };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL, *want;

	fake_llm_set_models(fake, models);
	llm_test_user_request(&req, msgs, "hi");
	req.role = LLM_ROLE_UTIL;   /* configured as "nosuch" */
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ENOTFOUND);
	CHECK_EQ(out.attempts, 1);
	CHECK_EQ(out.http_status, 404);
	want = xasprintf("model 'nosuch' not found on Ollama at %s", fake_llm_url(fake));
	CHECK_CONTAINS(why, want);
	free(want);
	free(why);
	llm_response_release(&out);
	fake_llm_set_models(fake, NULL);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_wrong_base_url(void)
{
	char *url = xasprintf("%s/v1", fake_llm_url(fake));
	struct llm_client *c = client_at(url, 0);
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ENOTFOUND);
	CHECK_CONTAINS(why, "answered 404 for /api/chat: 404 page not found; is the base URL right?");
	free(why);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
	free(url);
}

static void test_connection_refused(void)
{
	char *url = xasprintf("http://127.0.0.1:%d", llm_test_closed_port());
	struct llm_client *c = client_at(url, 0);
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL, *want;

	llm_test_user_request(&req, msgs, "hi");
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ECONNECT);
	want = xasprintf("cannot reach Ollama at %s: connection refused", url);
	CHECK_CONTAINS(why, want);
	CHECK_EQ(out.attempts, 3);
	CHECK_EQ(out.http_status, 0);
	CHECK(out.request_json != NULL);
	free(want);
	free(why);
	why = NULL;
	llm_response_release(&out);

	CHECK_EQ(llm_health(c, &why), KITH_ECONNECT);
	CHECK_CONTAINS(why, "connection refused");
	free(why);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
	free(url);
}

static void test_mid_stream_error(void)
{
	struct llm_client *c = client();
	struct fake_reply r = { .content = "partial answer",
				.stream_error = "an error was encountered while running the model" };
	struct llm_test_deltas d = LLM_TEST_DELTAS_INIT;
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	size_t before = fake_llm_request_count(fake);
	char *why = NULL;

	fake_llm_push(fake, &r);
	llm_test_user_request(&req, msgs, "hi");
	req.stream = true;
	req.on_delta = llm_test_on_delta;
	req.ud = &d;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_EHTTP);
	CHECK_CONTAINS(why, "Ollama at http://127.0.0.1:");
	CHECK_CONTAINS(why, "an error was encountered while running the model");
	CHECK_STR(buf_str(&d.text), "partial answer");
	/* Text already delivered is never asked for again. */
	CHECK_EQ(out.attempts, 1);
	CHECK_EQ(fake_llm_request_count(fake) - before, 1);
	CHECK_CONTAINS(out.response_json, "an error was encountered");
	CHECK_CONTAINS(out.response_json, "partial answer");
	free(why);
	buf_release(&d.text);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void cancel_case(bool stream)
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
	req.stream = stream;
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

static void test_cancel(void)
{
	cancel_case(false);
	cancel_case(true);
}

static void test_response_cap(void)
{
	struct llm_client *c = client_at(fake_llm_url(fake), 200);
	char big[600];
	struct fake_reply r = { .content = big };
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	llm_test_user_request(&req, msgs, "hi");
	fake_llm_push(fake, &r);
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ETOOBIG);
	CHECK_CONTAINS(why, "too big");
	CHECK_EQ(out.attempts, 1);
	free(why);
	why = NULL;
	llm_response_release(&out);

	req.stream = true;
	fake_llm_push(fake, &r);
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ETOOBIG);
	CHECK_CONTAINS(why, "too big");
	free(why);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

static void test_embeddings(void)
{
	struct llm_client *c = client();
	const char *texts[] = { "alpha", "beta", "alpha" };
	float *vecs = NULL;
	size_t dim = 0;
	char *why = NULL, *path;
	json_t *sent;
	double norm = 0;

	fake_llm_set_embed_dim(fake, 16);
	CHECK_EQ(llm_embed(c, texts, 3, &vecs, &dim, NULL, &why), KITH_OK);
	REQUIRE(vecs != NULL);
	CHECK_EQ(dim, 16);
	/* Same text, same vector; different text, different vector. */
	CHECK(memcmp(vecs, vecs + 2 * dim, dim * sizeof(float)) == 0);
	CHECK(memcmp(vecs, vecs + dim, dim * sizeof(float)) != 0);
	for (size_t i = 0; i < dim; i++)
		norm += (double)vecs[i] * vecs[i];
	CHECK(norm > 0.99 && norm < 1.01);
	free(vecs);
	path = fake_llm_request_path(fake, fake_llm_request_count(fake) - 1);
	CHECK_STR(path, "/api/embed");
	free(path);
	sent = llm_test_last_request(fake);
	CHECK_STR(kjson_str(sent, "model"), "all-minilm");
	CHECK_EQ(json_array_size(kjson_arr(sent, "input")), 3);
	json_decref(sent);

	/* Nothing to embed: no request at all. */
	{
		size_t before = fake_llm_request_count(fake);

		CHECK_EQ(llm_embed(c, texts, 0, &vecs, &dim, NULL, &why), KITH_OK);
		CHECK(vecs == NULL);
		CHECK_EQ(dim, 0);
		CHECK_EQ(fake_llm_request_count(fake), before);
	}
	fake_llm_set_embed_dim(fake, 8);
	llm_client_free(c);
}

static void test_health(void)
{
	struct llm_client *c = client();
	static const char *const tagged[] = { "llama3.2:latest", "all-minilm:latest", NULL };
	static const char *const other[] = { "qwen3:8b", NULL };
	char *why = NULL, *path;

	CHECK_EQ(llm_health(c, &why), KITH_OK);
	CHECK(why == NULL);
	path = fake_llm_request_path(fake, fake_llm_request_count(fake) - 1);
	CHECK_STR(path, "/api/tags");
	free(path);
	/* "llama3.2" is "llama3.2:latest". */
	fake_llm_set_models(fake, tagged);
	CHECK_EQ(llm_health(c, &why), KITH_OK);
	fake_llm_set_models(fake, other);
	CHECK_EQ(llm_health(c, &why), KITH_ENOTFOUND);
	CHECK_CONTAINS(why, "model 'llama3.2' not found on Ollama at");
	CHECK_CONTAINS(why, "qwen3:8b");
	free(why);
	fake_llm_set_models(fake, NULL);
	llm_client_free(c);
}

static void test_no_model_for_role(void)
{
	struct llm_client *c = client();
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	char *why = NULL;

	llm_test_user_request(&req, msgs, "hi");
	req.role = LLM_ROLE_VISION;
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "vision");
	free(why);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

/* Images go as bare base64 on the message; the record keeps placeholders. */
static void test_images(void)
{
	struct llm_client *c = client();
	unsigned char png[300], jpg[5000];
	struct llm_msg msgs[2];
	struct llm_request req;
	struct llm_response out;
	json_t *sent, *rec, *imgs;
	unsigned char *got;
	size_t len, n = fake_llm_request_count(fake);
	char *why = NULL;

	for (size_t i = 0; i < sizeof(png); i++)
		png[i] = (unsigned char)(i * 7);
	memcpy(png, "\x89PNG\r\n\x1a\n", 8);
	memset(jpg, 0xd8, sizeof(jpg));
	llm_test_user_request(&req, msgs, "what is this?");
	llm_msg_add_image(&msgs[1], png, sizeof(png), "image/png");
	llm_msg_add_image(&msgs[1], jpg, sizeof(jpg), "image/jpeg");
	png[10] ^= 0xff;                      /* the message holds its own copy */
	CHECK_EQ(llm_chat(c, &req, &out, &why), KITH_OK);
	CHECK(why == NULL);
	CHECK_STR(out.content, "ok");

	/* What arrived: two bare base64 strings that decode to the bytes. */
	CHECK_EQ(fake_llm_request_count(fake), n + 1);
	CHECK_EQ(fake_llm_request_image_count(fake, n), 2);
	png[10] ^= 0xff;
	got = fake_llm_request_image(fake, n, 0, &len, NULL);
	CHECK(got && len == sizeof(png) && memcmp(got, png, len) == 0);
	free(got);
	got = fake_llm_request_image(fake, n, 1, &len, NULL);
	CHECK(got && len == sizeof(jpg) && memcmp(got, jpg, len) == 0);
	free(got);
	sent = llm_test_last_request(fake);
	imgs = kjson_arr(json_array_get(kjson_arr(sent, "messages"), 1), "images");
	CHECK_EQ(json_array_size(imgs), 2);
	CHECK(strncmp(json_string_value(json_array_get(imgs, 0)), "iVBORw0KGgo", 11) == 0);
	CHECK_STR(kjson_str(json_array_get(kjson_arr(sent, "messages"), 1), "content"),
		  "what is this?");
	CHECK(json_object_get(json_array_get(kjson_arr(sent, "messages"), 0), "images") == NULL);

	/* What was recorded: the same request with placeholders. */
	rec = json_loads(out.request_json, 0, NULL);
	REQUIRE(rec);
	imgs = kjson_arr(json_array_get(kjson_arr(rec, "messages"), 1), "images");
	CHECK_STR(json_string_value(json_array_get(imgs, 0)), "<image 300 bytes image/png>");
	CHECK_STR(json_string_value(json_array_get(imgs, 1)), "<image 5000 bytes image/jpeg>");
	CHECK(strstr(out.request_json, "iVBORw0KGgo") == NULL);
	json_array_clear(imgs);
	json_array_clear(kjson_arr(json_array_get(kjson_arr(sent, "messages"), 1), "images"));
	CHECK(json_equal(rec, sent));
	json_decref(rec);
	json_decref(sent);
	llm_response_release(&out);
	llm_test_release_msgs(msgs, 2);
	llm_client_free(c);
}

/* Shapes the fake never sends: old Ollama without call ids, arguments as
 * a string, an error line, a line that is not an object. */
static void test_chunk_parser(void)
{
	struct llm_acc a;
	struct llm_response out;
	json_t *j;

	memset(&out, 0, sizeof(out));
	llm_acc_init(&a, 1024, NULL, NULL);
	j = json_loads("{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
		       "\"tool_calls\":[{\"function\":{\"name\":\"a\",\"arguments\":{\"x\":1}}},"
		       "{\"function\":{\"name\":\"b\",\"arguments\":\"{\\\"y\\\":2}\"}},"
		       "{\"function\":{\"name\":\"c\",\"arguments\":\"not json\"}}]},"
		       "\"done\":true,\"done_reason\":\"stop\",\"eval_count\":5}", 0, NULL);
	CHECK_EQ(ollama_chunk(&a, j), KITH_OK);
	json_decref(j);
	CHECK(a.done);
	llm_acc_finish(&a, &out);
	REQUIRE(out.ncalls == 3);
	CHECK_STR(out.calls[0].id, "call_0");
	CHECK_STR(out.calls[1].id, "call_1");
	CHECK_STR(out.calls[0].arguments_raw, "{\"x\":1}");
	CHECK(json_integer_value(json_object_get(out.calls[1].arguments, "y")) == 2);
	CHECK(out.calls[2].arguments == NULL);
	CHECK_STR(out.calls[2].arguments_raw, "not json");
	CHECK_EQ(out.completion_tokens, 5);
	CHECK_EQ(out.prompt_tokens, -1);
	CHECK_STR(out.model, "m");
	llm_response_release(&out);

	llm_acc_init(&a, 1024, NULL, NULL);
	j = json_loads("{\"error\":\"model runner crashed\"}", 0, NULL);
	CHECK_EQ(ollama_chunk(&a, j), KITH_EHTTP);
	CHECK_STR(a.why, "model runner crashed");
	json_decref(j);
	llm_acc_release(&a);

	llm_acc_init(&a, 1024, NULL, NULL);
	j = json_loads("[1]", 0, NULL);
	CHECK_EQ(ollama_chunk(&a, j), KITH_EPROTO);
	json_decref(j);
	llm_acc_release(&a);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!fake) {
		fprintf(stderr, "cannot start the fake Ollama\n");
		return 1;
	}
	RUN(test_plain_reply);
	RUN(test_streamed_reply);
	RUN(test_tool_round_trip);
	RUN(test_tool_round_trip_streamed);
	RUN(test_structured_output_and_options);
	RUN(test_429_retry_after);
	RUN(test_5xx_retried);
	RUN(test_4xx_not_retried);
	RUN(test_model_not_found);
	RUN(test_wrong_base_url);
	RUN(test_connection_refused);
	RUN(test_mid_stream_error);
	RUN(test_cancel);
	RUN(test_response_cap);
	RUN(test_embeddings);
	RUN(test_health);
	RUN(test_no_model_for_role);
	RUN(test_images);
	RUN(test_chunk_parser);
	fake_llm_stop(fake);
	return test_summary();
}
