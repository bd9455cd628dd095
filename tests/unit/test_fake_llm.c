/* test_fake_llm.c — self-test of the fake LLM server, driven with libcurl.
 *
 * The client tests for src/llm trust this fake to speak Ollama's and
 * OpenRouter's wire formats (protocols.md §3, §4), so here the fake is held
 * to them directly: stream framing, tool-call shapes, error bodies and
 * headers, recording, and that stop never hangs on a delayed request. */
#include "fakes/fake_llm.h"
#include "support/test.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------------- */
/* A small HTTP client                                                    */

struct reply {
	long status;          /* 0 when the transfer failed */
	struct buf body;
	struct buf headers;
	int abort_after;      /* >0: hang up after this many body writes */
	int writes;
};

/* Optional request settings; NULL means none of them. */
struct req_opts {
	const char *const *headers; /* NULL-terminated "Name: value" */
	long timeout_ms;            /* 0 = 10 s */
	int abort_after;            /* see struct reply */
	bool raw;                   /* keep the chunked transfer encoding */
};

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
	struct reply *r = cls;

	if (r->abort_after && r->writes >= r->abort_after)
		return 0;
	r->writes++;
	(void)buf_append(&r->body, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
	struct reply *r = cls;

	(void)buf_append(&r->headers, p, size * n);
	return size * n;
}

static void request(struct reply *r, const char *method, const char *url, const char *body,
		    const struct req_opts *opts)
{
	static const struct req_opts none;
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	long timeout_ms;
	CURLcode rc;

	opts = opts ? opts : &none;
	timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000L;
	for (size_t i = 0; opts->headers && opts->headers[i]; i++)
		hdrs = curl_slist_append(hdrs, opts->headers[i]);
	memset(r, 0, sizeof *r);
	buf_init(&r->body, 0);
	buf_init(&r->headers, 0);
	r->abort_after = opts->abort_after;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_TRANSFER_DECODING, opts->raw ? 0L : 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else
		fprintf(stderr, "  (curl: %s %s: %s)\n", method, url, curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
}

static void reply_release(struct reply *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
}

/* Value of a response header (case-insensitive name); caller frees. */
static char *header(const struct reply *r, const char *name)
{
	struct slice rest = slice_cstr(buf_str(&r->headers)), line, key, value;

	while (slice_split(rest, '\n', &line, &rest))
		if (slice_split(line, ':', &key, &value) && key.n == strlen(name) &&
		    strncasecmp(key.p, name, key.n) == 0)
			return slice_dup(slice_trim(value));
	return NULL;
}

static char *url_of(struct fake_llm *f, const char *path)
{
	return xasprintf("%s%s", fake_llm_url(f), path);
}

/* POST path with body; the result must be released. */
static void post(struct reply *r, struct fake_llm *f, const char *path, const char *body)
{
	char *url = url_of(f, path);

	request(r, "POST", url, body, NULL);
	free(url);
}

static void get(struct reply *r, struct fake_llm *f, const char *path)
{
	char *url = url_of(f, path);

	request(r, "GET", url, NULL, NULL);
	free(url);
}

static json_t *body_json(const struct reply *r)
{
	return json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
}

/* Every NDJSON line parsed, in order; each line must end with "\n". */
static json_t *ndjson_lines(const struct reply *r)
{
	json_t *lines = json_array();
	struct slice rest = slice_cstr(buf_str(&r->body)), line;

	CHECK(r->body.len > 0 && r->body.data[r->body.len - 1] == '\n');
	while (slice_split(rest, '\n', &line, &rest)) {
		json_t *v = json_loadb(line.p, line.n, 0, NULL);

		CHECK(json_is_object(v));
		json_array_append_new(lines, v ? v : json_null());
	}
	return lines;
}

/* SSE "data:" payloads in order as strings, comments skipped; every event
 * must end with a blank line.  *first gets the stream's first line. */
static json_t *sse_data(const struct reply *r, char **first)
{
	json_t *events = json_array();
	const char *p = buf_str(&r->body);
	const char *nl = strchr(p, '\n');

	*first = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
	while (*p) {
		const char *end = strstr(p, "\n\n");

		if (!end) {
			CHECK(!"SSE event not ended by a blank line");
			break;
		}
		if (strncmp(p, "data: ", 6) == 0)
			json_array_append_new(events, json_stringn(p + 6, (size_t)(end - p - 6)));
		else
			CHECK(p[0] == ':');
		p = end + 2;
	}
	return events;
}

/* Event i of sse_data() parsed (new reference). */
static json_t *sse_json(const json_t *events, size_t i)
{
	const char *s = json_string_value(json_array_get(events, i));

	return s ? json_loads(s, 0, NULL) : NULL;
}

/* Walk "message.tool_calls.0.function.name" through objects and arrays. */
static json_t *at(const json_t *v, const char *path)
{
	json_t *cur = (json_t *)v;
	char *copy = xstrdup(path), *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k && cur; k = strtok_r(NULL, ".", &save)) {
		char *end;
		long idx = strtol(k, &end, 10);

		cur = *end == '\0' ? json_array_get(cur, (size_t)idx) : json_object_get(cur, k);
	}
	free(copy);
	return cur;
}

static const char *at_str(const json_t *v, const char *path)
{
	return json_string_value(at(v, path));
}

static long long at_int(const json_t *v, const char *path)
{
	json_t *x = at(v, path);

	return json_is_integer(x) ? json_integer_value(x) : -1;
}

static bool is_call_id(const char *id)
{
	if (!id || strncmp(id, "call_", 5) != 0 || strlen(id) != 13)
		return false;
	for (const char *p = id + 5; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

static const char chat_body[] =
	"{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}";

/* ---------------------------------------------------------------------- */
/* Ollama                                                                 */

static void test_ollama_stream_is_default(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	struct fake_reply r = { .content = "Hello, w\xc3\xb6rld!", .thinking = "hmm ok",
				.chunk_chars = 3 };
	struct reply rep;
	json_t *lines, *last;
	struct buf content = BUF_INIT(0), thinking = BUF_INIT(0);
	char *type;
	size_t i, ncontent = 0;
	json_t *l;

	REQUIRE(f);
	fake_llm_push(f, &r);
	post(&rep, f, "/api/chat", chat_body);
	CHECK_EQ(rep.status, 200);
	type = header(&rep, "content-type");
	CHECK_STR(type, "application/x-ndjson");
	lines = ndjson_lines(&rep);
	REQUIRE(json_array_size(lines) >= 3);
	json_array_foreach(lines, i, l) {
		const char *c = at_str(l, "message.content");
		const char *t = at_str(l, "message.thinking");
		bool is_last = i + 1 == json_array_size(lines);

		CHECK_STR(at_str(l, "model"), "llama3.2");
		CHECK(at_str(l, "created_at") != NULL);
		CHECK_STR(at_str(l, "message.role"), "assistant");
		CHECK(json_is_true(json_object_get(l, "done")) == is_last);
		CHECK(!t || ncontent == 0); /* thinking comes before content */
		if (t)
			(void)buf_puts(&thinking, t);
		if (c && *c) {
			ncontent++;
			(void)buf_puts(&content, c);
		}
	}
	CHECK_STR(buf_str(&thinking), "hmm ok");
	CHECK_STR(buf_str(&content), "Hello, w\xc3\xb6rld!");
	CHECK_EQ(ncontent, 5); /* 13 characters, 3 a chunk */
	last = json_array_get(lines, json_array_size(lines) - 1);
	CHECK_STR(at_str(last, "message.content"), "");
	CHECK_STR(at_str(last, "done_reason"), "stop");
	CHECK(at_int(last, "total_duration") > 0);
	CHECK(at_int(last, "eval_duration") > 0);
	CHECK(at_int(last, "prompt_eval_count") > 0);
	CHECK(at_int(last, "eval_count") > 0);
	CHECK_EQ(fake_llm_pending(f), 0);
	free(type);
	buf_release(&content);
	buf_release(&thinking);
	json_decref(lines);
	reply_release(&rep);
	fake_llm_stop(f);
}

static void test_ollama_non_stream(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	struct fake_reply r = { .content = "The whole answer.", .thinking = "why",
				.prompt_tokens = 26, .completion_tokens = 282 };
	struct reply rep;
	json_t *v;
	char *type;

	REQUIRE(f);
	fake_llm_push(f, &r);
	post(&rep, f, "/api/chat", "{\"model\":\"llama3.2\",\"stream\":false,"
				   "\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
	CHECK_EQ(rep.status, 200);
	type = header(&rep, "content-type");
	CHECK_CONTAINS(type, "application/json");
	v = body_json(&rep);
	CHECK_STR(at_str(v, "message.content"), "The whole answer.");
	CHECK_STR(at_str(v, "message.thinking"), "why");
	CHECK(json_is_true(json_object_get(v, "done")));
	CHECK_STR(at_str(v, "done_reason"), "stop");
	CHECK_EQ(at_int(v, "prompt_eval_count"), 26);
	CHECK_EQ(at_int(v, "eval_count"), 282);
	CHECK(strchr(buf_str(&rep.body), '\n') == NULL); /* one object, not NDJSON */

	/* Without a script the default reply answers, again and again. */
	fake_llm_set_default_reply(f, "fallback");
	reply_release(&rep);
	post(&rep, f, "/api/chat", "{\"model\":\"m\",\"stream\":false,"
				   "\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
	json_decref(v);
	v = body_json(&rep);
	CHECK_STR(at_str(v, "message.content"), "fallback");
	free(type);
	json_decref(v);
	reply_release(&rep);
	fake_llm_stop(f);
}

static void test_ollama_tool_calls(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	struct fake_reply one = { .tool_name = "get_weather", .tool_args = "{\"city\":\"Tokyo\"}" };
	struct fake_reply two = {
		.content = "",
		.tool_calls_json = "[{\"name\":\"a\",\"arguments\":{\"x\":1}},"
				   "{\"name\":\"b\",\"arguments\":{}}]",
	};
	struct reply rep;
	json_t *lines, *call, *v;
	size_t i, ncall_chunks = 0;
	json_t *l;

	REQUIRE(f);
	fake_llm_push(f, &one);
	fake_llm_push(f, &two);
	CHECK_EQ(fake_llm_pending(f), 2);

	post(&rep, f, "/api/chat", chat_body);
	lines = ndjson_lines(&rep);
	json_array_foreach(lines, i, l) {
		if (!at(l, "message.tool_calls"))
			continue;
		ncall_chunks++;
		CHECK_STR(at_str(l, "message.content"), "");
		CHECK(!json_is_true(json_object_get(l, "done")));
		call = at(l, "message.tool_calls.0");
		CHECK(is_call_id(at_str(call, "id")));
		CHECK_EQ(at_int(call, "function.index"), 0);
		CHECK_STR(at_str(call, "function.name"), "get_weather");
		CHECK(json_is_object(at(call, "function.arguments")));
		CHECK_STR(at_str(call, "function.arguments.city"), "Tokyo");
	}
	CHECK_EQ(ncall_chunks, 1);
	CHECK(json_is_true(at(json_array_get(lines, json_array_size(lines) - 1), "done")));
	json_decref(lines);
	reply_release(&rep);

	post(&rep, f, "/api/chat", "{\"model\":\"m\",\"stream\":false,"
				   "\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
	v = body_json(&rep);
	CHECK_EQ(json_array_size(at(v, "message.tool_calls")), 2);
	CHECK_STR(at_str(v, "message.tool_calls.0.function.name"), "a");
	CHECK_EQ(at_int(v, "message.tool_calls.0.function.arguments.x"), 1);
	CHECK_EQ(at_int(v, "message.tool_calls.1.function.index"), 1);
	CHECK_STR(at_str(v, "message.tool_calls.1.function.name"), "b");
	CHECK(strcmp(at_str(v, "message.tool_calls.0.id"), at_str(v, "message.tool_calls.1.id")));
	CHECK_STR(at_str(v, "message.content"), "");
	json_decref(v);
	reply_release(&rep);
	fake_llm_stop(f);
}

static void test_ollama_errors(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	const char *const models[] = { "llama3.2", "qwen3:8b", NULL };
	struct fake_reply busy = { .status = 503, .retry_after = "3" };
	struct fake_reply midway = { .content = "partial", .stream_error = "an error was "
				     "encountered while running the model" };
	struct reply rep;
	json_t *v, *lines;
	char *ra;

	REQUIRE(f);
	fake_llm_push(f, &busy);
	post(&rep, f, "/api/chat", "{\"messages\":[]}");
	CHECK_EQ(rep.status, 400);
	v = body_json(&rep);
	CHECK_STR(at_str(v, "error"), "model is required");
	CHECK_EQ(fake_llm_pending(f), 1); /* a rejected request takes no reply */
	json_decref(v);
	reply_release(&rep);

	post(&rep, f, "/api/chat", "{not json");
	CHECK_EQ(rep.status, 400);
	CHECK_CONTAINS(buf_str(&rep.body), "\"error\"");
	reply_release(&rep);

	fake_llm_set_models(f, models);
	post(&rep, f, "/api/chat", "{\"model\":\"mistral\",\"messages\":[{\"role\":\"user\","
				   "\"content\":\"q\"}]}");
	CHECK_EQ(rep.status, 404);
	v = body_json(&rep);
	CHECK_STR(at_str(v, "error"), "model 'mistral' not found");
	json_decref(v);
	reply_release(&rep);

	/* "llama3.2" names "llama3.2:latest"; the scripted 503 answers it. */
	post(&rep, f, "/api/chat", "{\"model\":\"llama3.2:latest\",\"messages\":"
				   "[{\"role\":\"user\",\"content\":\"q\"}]}");
	CHECK_EQ(rep.status, 503);
	ra = header(&rep, "Retry-After");
	CHECK_STR(ra, "3");
	v = body_json(&rep);
	CHECK_CONTAINS(at_str(v, "error"), "server busy");
	free(ra);
	json_decref(v);
	reply_release(&rep);

	fake_llm_push(f, &midway);
	post(&rep, f, "/api/chat", chat_body);
	CHECK_EQ(rep.status, 200);
	lines = ndjson_lines(&rep);
	REQUIRE(json_array_size(lines) >= 2);
	CHECK_STR(at_str(lines, "0.message.content"), "part");
	CHECK_STR(at_str(json_array_get(lines, json_array_size(lines) - 1), "error"),
		  "an error was encountered while running the model");
	CHECK(!strstr(buf_str(&rep.body), "\"done\":true"));
	json_decref(lines);
	reply_release(&rep);

	/* No messages: the model is only loaded, the script is not touched. */
	fake_llm_push(f, &busy);
	post(&rep, f, "/api/chat", "{\"model\":\"qwen3:8b\",\"messages\":[]}");
	CHECK_EQ(rep.status, 200);
	v = body_json(&rep);
	CHECK_STR(at_str(v, "done_reason"), "load");
	CHECK_EQ(fake_llm_pending(f), 1);
	json_decref(v);
	reply_release(&rep);
	fake_llm_stop(f);
}

static double norm_of(const json_t *vec)
{
	size_t i;
	json_t *x;
	double sum = 0;

	json_array_foreach(vec, i, x)
		sum += json_number_value(x) * json_number_value(x);
	return sqrt(sum);
}

static void test_ollama_embed(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	struct reply a, b;
	json_t *va, *vb;

	REQUIRE(f);
	post(&a, f, "/api/embed", "{\"model\":\"all-minilm\",\"input\":\"why is the sky blue\"}");
	CHECK_EQ(a.status, 200);
	va = body_json(&a);
	CHECK_STR(at_str(va, "model"), "all-minilm");
	CHECK_EQ(json_array_size(at(va, "embeddings")), 1);
	CHECK_EQ(json_array_size(at(va, "embeddings.0")), 8);
	CHECK(fabs(norm_of(at(va, "embeddings.0")) - 1.0) < 1e-5);

	fake_llm_set_embed_dim(f, 16);
	post(&b, f, "/api/embed", "{\"model\":\"all-minilm\",\"input\":[\"x\",\"why is the sky "
				  "blue\",\"y\"]}");
	vb = body_json(&b);
	CHECK_EQ(json_array_size(at(vb, "embeddings")), 3);
	CHECK_EQ(json_array_size(at(vb, "embeddings.1")), 16);
	/* The same text always gets the same vector, other texts another. */
	json_decref(va);
	reply_release(&a);
	post(&a, f, "/api/embed", "{\"model\":\"all-minilm\",\"input\":\"why is the sky blue\"}");
	va = body_json(&a);
	CHECK(json_equal(at(va, "embeddings.0"), at(vb, "embeddings.1")));
	CHECK(!json_equal(at(vb, "embeddings.0"), at(vb, "embeddings.2")));
	json_decref(va);
	json_decref(vb);
	reply_release(&a);
	reply_release(&b);

	post(&a, f, "/api/embed", "{\"model\":\"all-minilm\",\"input\":42}");
	CHECK_EQ(a.status, 400);
	va = body_json(&a);
	CHECK_STR(at_str(va, "error"), "invalid input type");
	json_decref(va);
	reply_release(&a);

	post(&a, f, "/api/embed", "{\"model\":\"all-minilm\",\"input\":[]}");
	va = body_json(&a);
	CHECK_EQ(a.status, 200);
	CHECK(json_is_array(at(va, "embeddings")) && !json_array_size(at(va, "embeddings")));
	json_decref(va);
	reply_release(&a);
	fake_llm_stop(f);
}

static void test_ollama_tags_and_show(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	const char *const models[] = { "qwen3:8b", "nomic-embed-text", NULL };
	struct reply rep;
	json_t *v;

	REQUIRE(f);
	get(&rep, f, "/api/tags");
	v = body_json(&rep);
	CHECK_EQ(json_array_size(at(v, "models")), 1);
	CHECK_STR(at_str(v, "models.0.name"), "llama3.2:latest");
	CHECK_STR(at_str(v, "models.0.details.family"), "llama");
	json_decref(v);
	reply_release(&rep);

	/* Models asked for are listed after the default. */
	post(&rep, f, "/api/show", "{\"model\":\"gemma3\"}");
	CHECK_EQ(rep.status, 200);
	v = body_json(&rep);
	CHECK(json_is_array(at(v, "capabilities")));
	CHECK_STR(at_str(v, "capabilities.0"), "completion");
	CHECK_STR(at_str(v, "capabilities.1"), "tools");
	CHECK(json_integer_value(json_object_get(at(v, "model_info"), "llama.context_length")) > 0);
	json_decref(v);
	reply_release(&rep);
	get(&rep, f, "/api/tags");
	v = body_json(&rep);
	CHECK_EQ(json_array_size(at(v, "models")), 2);
	CHECK_STR(at_str(v, "models.1.name"), "gemma3:latest");
	json_decref(v);
	reply_release(&rep);

	fake_llm_set_models(f, models);
	get(&rep, f, "/api/tags");
	v = body_json(&rep);
	CHECK_EQ(json_array_size(at(v, "models")), 2);
	CHECK_STR(at_str(v, "models.0.name"), "qwen3:8b");
	CHECK_STR(at_str(v, "models.1.model"), "nomic-embed-text:latest");
	json_decref(v);
	reply_release(&rep);

	post(&rep, f, "/api/show", "{\"model\":\"nomic-embed-text\"}");
	v = body_json(&rep);
	CHECK_STR(at_str(v, "capabilities.0"), "embedding");
	json_decref(v);
	reply_release(&rep);
	post(&rep, f, "/api/show", "{\"model\":\"gemma3\"}");
	CHECK_EQ(rep.status, 404);
	reply_release(&rep);
	fake_llm_stop(f);
}

/* ---------------------------------------------------------------------- */
/* OpenAI / OpenRouter                                                    */

static const char oa_body[] =
	"{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
static const char oa_stream_body[] =
	"{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,"
	"\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static void test_openai_non_stream(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OPENAI);
	struct fake_reply text = { .content = "Hello!", .prompt_tokens = 82,
				   .completion_tokens = 17 };
	struct fake_reply tools = {
		.tool_calls_json = "[{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Boston\"}},"
				   "{\"id\":\"call_fixed01\",\"name\":\"raw\",\"arguments\":\"{oops\"}]",
	};
	struct reply rep;
	json_t *v;

	REQUIRE(f);
	CHECK(strstr(fake_llm_url(f), "/v1") != NULL);
	fake_llm_push(f, &text);
	fake_llm_push(f, &tools);

	post(&rep, f, "/chat/completions", oa_body);
	CHECK_EQ(rep.status, 200);
	v = body_json(&rep);
	CHECK_STR(at_str(v, "object"), "chat.completion");
	CHECK_STR(at_str(v, "model"), "openai/gpt-4o-mini");
	CHECK_STR(at_str(v, "choices.0.message.role"), "assistant");
	CHECK_STR(at_str(v, "choices.0.message.content"), "Hello!");
	CHECK_STR(at_str(v, "choices.0.finish_reason"), "stop");
	CHECK_EQ(at_int(v, "usage.prompt_tokens"), 82);
	CHECK_EQ(at_int(v, "usage.completion_tokens"), 17);
	CHECK_EQ(at_int(v, "usage.total_tokens"), 99);
	json_decref(v);
	reply_release(&rep);

	post(&rep, f, "/chat/completions", oa_body);
	v = body_json(&rep);
	CHECK(json_is_null(at(v, "choices.0.message.content")));
	CHECK_STR(at_str(v, "choices.0.finish_reason"), "tool_calls");
	CHECK(is_call_id(at_str(v, "choices.0.message.tool_calls.0.id")));
	CHECK_STR(at_str(v, "choices.0.message.tool_calls.0.type"), "function");
	CHECK_STR(at_str(v, "choices.0.message.tool_calls.0.function.name"), "get_weather");
	/* arguments is a JSON string, passed through verbatim even when invalid */
	CHECK_STR(at_str(v, "choices.0.message.tool_calls.0.function.arguments"),
		  "{\"city\":\"Boston\"}");
	CHECK_STR(at_str(v, "choices.0.message.tool_calls.1.id"), "call_fixed01");
	CHECK_STR(at_str(v, "choices.0.message.tool_calls.1.function.arguments"), "{oops");
	CHECK(at_int(v, "usage.total_tokens") > 0);
	json_decref(v);
	reply_release(&rep);
	fake_llm_stop(f);
}

static void test_openai_stream(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OPENAI);
	struct fake_reply r = { .content = "Hi there", .tool_name = "get_weather",
				.tool_args = "{\"city\":\"Boston\"}", .chunk_chars = 5 };
	struct buf content = BUF_INIT(0), args = BUF_INIT(0);
	struct reply rep;
	json_t *events, *ev, *usage, *finish;
	char *first = NULL, *type;
	size_t n, nfrag = 0;

	REQUIRE(f);
	fake_llm_push(f, &r);
	post(&rep, f, "/chat/completions", oa_stream_body);
	CHECK_EQ(rep.status, 200);
	type = header(&rep, "content-type");
	CHECK_STR(type, "text/event-stream");
	events = sse_data(&rep, &first);
	CHECK_STR(first, ": OPENROUTER PROCESSING");
	n = json_array_size(events);
	REQUIRE(n >= 5);
	CHECK_STR(json_string_value(json_array_get(events, n - 1)), "[DONE]");

	ev = sse_json(events, 0);
	CHECK_STR(at_str(ev, "object"), "chat.completion.chunk");
	CHECK_STR(at_str(ev, "choices.0.delta.role"), "assistant");
	json_decref(ev);
	for (size_t i = 1; i + 3 < n; i++) {
		json_t *frag;

		ev = sse_json(events, i);
		CHECK(json_is_null(at(ev, "choices.0.finish_reason")));
		if (at_str(ev, "choices.0.delta.content"))
			(void)buf_puts(&content, at_str(ev, "choices.0.delta.content"));
		frag = at(ev, "choices.0.delta.tool_calls.0");
		if (frag) {
			/* id and name only in the first fragment */
			CHECK_EQ(at_int(frag, "index"), 0);
			CHECK((at_str(frag, "id") != NULL) == (nfrag == 0));
			CHECK((at_str(frag, "function.name") != NULL) == (nfrag == 0));
			(void)buf_puts(&args, at_str(frag, "function.arguments"));
			nfrag++;
		}
		json_decref(ev);
	}
	CHECK_STR(buf_str(&content), "Hi there");
	CHECK_STR(buf_str(&args), "{\"city\":\"Boston\"}");
	CHECK_EQ(nfrag, 1 + 4); /* 17 characters of arguments, 5 a fragment */

	finish = sse_json(events, n - 3);
	CHECK_STR(at_str(finish, "choices.0.finish_reason"), "tool_calls");
	usage = sse_json(events, n - 2);
	CHECK(json_is_array(at(usage, "choices")) && !json_array_size(at(usage, "choices")));
	CHECK(at_int(usage, "usage.total_tokens") > 0);
	json_decref(finish);
	json_decref(usage);
	json_decref(events);
	free(first);
	free(type);
	buf_release(&content);
	buf_release(&args);
	reply_release(&rep);
	fake_llm_stop(f);
}

static void test_openai_errors(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OPENAI);
	const char *const models[] = { "openai/gpt-4o-mini", NULL };
	const char *limited = "{\"error\":{\"message\":\"Rate limit exceeded: free-models-per-day."
			      "\",\"code\":429,\"metadata\":{\"headers\":{\"X-RateLimit-Reset\":"
			      "\"1759750012000\"}}},\"user_id\":\"user_x\"}";
	struct fake_reply rate = { .status = 429, .retry_after = "7" };
	struct fake_reply custom = { .status = 429, .error_body = limited };
	struct fake_reply credits = { .status = 402 };
	struct fake_reply midway = { .content = "Partial", .stream_error = "Provider "
				     "disconnected unexpectedly" };
	struct fake_reply ok_with_error = { .error_body = "{\"error\":{\"code\":502,"
					    "\"message\":\"upstream\"}}" };
	struct reply rep;
	json_t *v, *events, *ev;
	char *ra, *first;

	REQUIRE(f);
	fake_llm_push(f, &rate);
	fake_llm_push(f, &custom);
	fake_llm_push(f, &credits);
	fake_llm_push(f, &midway);
	fake_llm_push(f, &ok_with_error);

	post(&rep, f, "/chat/completions", oa_stream_body); /* errors come before the stream */
	CHECK_EQ(rep.status, 429);
	ra = header(&rep, "retry-after");
	CHECK_STR(ra, "7");
	v = body_json(&rep);
	CHECK_EQ(at_int(v, "error.code"), 429);
	CHECK_CONTAINS(at_str(v, "error.message"), "Rate limit exceeded");
	free(ra);
	json_decref(v);
	reply_release(&rep);

	post(&rep, f, "/chat/completions", oa_body);
	CHECK_EQ(rep.status, 429);
	CHECK_STR(buf_str(&rep.body), limited);
	ra = header(&rep, "retry-after");
	CHECK(ra == NULL);
	reply_release(&rep);

	post(&rep, f, "/chat/completions", oa_body);
	CHECK_EQ(rep.status, 402);
	v = body_json(&rep);
	CHECK_CONTAINS(at_str(v, "error.message"), "Insufficient credits");
	json_decref(v);
	reply_release(&rep);

	post(&rep, f, "/chat/completions", oa_stream_body);
	CHECK_EQ(rep.status, 200);
	events = sse_data(&rep, &first);
	REQUIRE(json_array_size(events) >= 2);
	CHECK(!strstr(buf_str(&rep.body), "[DONE]"));
	ev = sse_json(events, json_array_size(events) - 1);
	CHECK_STR(at_str(ev, "error.code"), "server_error");
	CHECK_STR(at_str(ev, "error.message"), "Provider disconnected unexpectedly");
	CHECK_STR(at_str(ev, "choices.0.finish_reason"), "error");
	json_decref(ev);
	ev = sse_json(events, 1);
	CHECK_STR(at_str(ev, "choices.0.delta.content"), "Part");
	json_decref(ev);
	json_decref(events);
	free(first);
	reply_release(&rep);

	post(&rep, f, "/chat/completions", oa_body);
	CHECK_EQ(rep.status, 200);
	v = body_json(&rep);
	CHECK_EQ(at_int(v, "error.code"), 502);
	json_decref(v);
	reply_release(&rep);

	fake_llm_set_models(f, models);
	post(&rep, f, "/chat/completions", "{\"model\":\"x/nope\",\"messages\":"
					   "[{\"role\":\"user\",\"content\":\"q\"}]}");
	CHECK_EQ(rep.status, 404);
	v = body_json(&rep);
	CHECK_EQ(at_int(v, "error.code"), 404);
	CHECK_STR(at_str(v, "error.message"), "No endpoints found for x/nope.");
	json_decref(v);
	reply_release(&rep);
	CHECK_EQ(fake_llm_pending(f), 0);
	fake_llm_stop(f);
}

static void test_openai_embeddings_and_models(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OPENAI);
	struct reply rep;
	json_t *v;

	REQUIRE(f);
	post(&rep, f, "/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":[\"a\",\"b\"],"
				     "\"dimensions\":12}");
	CHECK_EQ(rep.status, 200);
	v = body_json(&rep);
	CHECK_STR(at_str(v, "object"), "list");
	CHECK_STR(at_str(v, "model"), "text-embedding-3-small");
	CHECK_EQ(json_array_size(at(v, "data")), 2);
	CHECK_STR(at_str(v, "data.1.object"), "embedding");
	CHECK_EQ(at_int(v, "data.1.index"), 1);
	CHECK_EQ(json_array_size(at(v, "data.0.embedding")), 12);
	CHECK(fabs(norm_of(at(v, "data.0.embedding")) - 1.0) < 1e-5);
	CHECK(at_int(v, "usage.prompt_tokens") > 0);
	json_decref(v);
	reply_release(&rep);

	post(&rep, f, "/embeddings", "{\"model\":\"e\",\"input\":[[1,2],[3]]}");
	v = body_json(&rep);
	CHECK_EQ(json_array_size(at(v, "data")), 2);
	json_decref(v);
	reply_release(&rep);

	post(&rep, f, "/embeddings", "{\"model\":\"e\",\"input\":{\"no\":1}}");
	CHECK_EQ(rep.status, 400);
	v = body_json(&rep);
	CHECK_EQ(at_int(v, "error.code"), 400);
	json_decref(v);
	reply_release(&rep);

	get(&rep, f, "/models");
	v = body_json(&rep);
	CHECK_STR(at_str(v, "data.0.id"), "openai/gpt-4o-mini");
	CHECK_STR(at_str(v, "data.1.id"), "text-embedding-3-small");
	json_decref(v);
	reply_release(&rep);
	fake_llm_stop(f);
}

/* Each HTTP chunk of a raw chunked body, as a JSON string. */
static json_t *http_chunks(const struct reply *r)
{
	json_t *chunks = json_array();
	const char *p = buf_str(&r->body);

	for (;;) {
		char *end;
		long size = strtol(p, &end, 16);

		if (end == p || strncmp(end, "\r\n", 2) != 0) {
			CHECK(!"malformed chunked body");
			break;
		}
		if (size == 0)
			break;
		json_array_append_new(chunks, json_stringn(end + 2, (size_t)size));
		p = end + 2 + size + 2;
	}
	return chunks;
}

/* Streaming flushes per event: every HTTP chunk holds exactly one NDJSON
 * line or one SSE event. */
static void test_one_event_per_chunk(void)
{
	static const struct {
		enum fake_llm_mode mode;
		const char *path, *body, *end;
	} cases[] = {
		{ FAKE_LLM_OLLAMA, "/api/chat", chat_body, "\n" },
		{ FAKE_LLM_OPENAI, "/chat/completions", oa_stream_body, "\n\n" },
	};

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct fake_llm *f = fake_llm_start(cases[c].mode);
		struct fake_reply r = { .content = "one two three four", .tool_name = "t",
					.tool_args = "{\"a\":1}", .chunk_chars = 3 };
		size_t i, endlen = strlen(cases[c].end);
		struct reply rep;
		json_t *chunks, *chunk;
		char *url;

		REQUIRE(f);
		fake_llm_push(f, &r);
		url = url_of(f, cases[c].path);
		request(&rep, "POST", url, cases[c].body, &(struct req_opts){ .raw = true });
		chunks = http_chunks(&rep);
		CHECK(json_array_size(chunks) >= 8);
		json_array_foreach(chunks, i, chunk) {
			const char *s = json_string_value(chunk);
			const char *first_end = strstr(s, cases[c].end);

			CHECK(first_end && first_end + endlen == s + strlen(s));
		}
		json_decref(chunks);
		reply_release(&rep);
		free(url);
		fake_llm_stop(f);
	}
}

/* ---------------------------------------------------------------------- */
/* Recording, scripts, delays, limits                                     */

static void test_records_requests(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OPENAI);
	const char *const hdrs[] = { "Authorization: Bearer sk-or-v1-test",
				     "HTTP-Referer: https://kith.example", "X-Title: kith", NULL };
	struct reply rep;
	char *url, *s;
	json_t *v;

	REQUIRE(f);
	url = url_of(f, "/chat/completions");
	request(&rep, "POST", url, oa_body, &(struct req_opts){ .headers = hdrs });
	free(url);
	reply_release(&rep);
	get(&rep, f, "/nowhere");
	CHECK_EQ(rep.status, 404);
	v = body_json(&rep);
	CHECK_EQ(at_int(v, "error.code"), 404);
	json_decref(v);
	reply_release(&rep);

	CHECK(fake_llm_wait_requests(f, 2, 1000));
	CHECK_EQ(fake_llm_request_count(f), 2);
	s = fake_llm_request_path(f, 0);
	CHECK_STR(s, "/v1/chat/completions");
	free(s);
	s = fake_llm_request_method(f, 0);
	CHECK_STR(s, "POST");
	free(s);
	s = fake_llm_request_header(f, 0, "authorization");
	CHECK_STR(s, "Bearer sk-or-v1-test");
	free(s);
	s = fake_llm_request_header(f, 0, "http-referer");
	CHECK_STR(s, "https://kith.example");
	free(s);
	s = fake_llm_request_header(f, 0, "X-TITLE");
	CHECK_STR(s, "kith");
	free(s);
	CHECK(fake_llm_request_header(f, 0, "X-Missing") == NULL);
	v = fake_llm_request_json(f, 0);
	CHECK_STR(at_str(v, "messages.0.content"), "hi");
	json_decref(v);
	s = fake_llm_request_body(f, 0);
	CHECK_STR(s, oa_body);
	free(s);

	s = fake_llm_request_path(f, 1);
	CHECK_STR(s, "/v1/nowhere");
	free(s);
	s = fake_llm_request_method(f, 1);
	CHECK_STR(s, "GET");
	free(s);
	CHECK(fake_llm_request_json(f, 1) == NULL);
	CHECK(fake_llm_request_path(f, 2) == NULL);
	CHECK(fake_llm_request_json(f, 2) == NULL);
	CHECK(!fake_llm_wait_requests(f, 3, 30));
	fake_llm_stop(f);
}

static void test_script_from_json(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	json_t *good = json_loads("[{\"content\":\"first\"},"
				  " {\"tool_name\":\"t\",\"tool_args\":{\"k\":\"v\"}},"
				  " {\"status\":500,\"retry_after\":\"1\",\"delay_ms\":1}]", 0, NULL);
	const char *bad[] = {
		"{\"content\":\"not an array\"}",
		"[{\"content\":\"fine\"},{\"contnet\":\"typo\"}]",
		"[{\"status\":\"500\"}]",
		"[{\"tool_calls_json\":[{\"arguments\":{}}]}]",
		"[17]",
	};
	struct reply rep;
	json_t *v;

	REQUIRE(f);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *script = json_loads(bad[i], 0, NULL);

		CHECK(script != NULL);
		CHECK(!fake_llm_push_json(f, script));
		json_decref(script);
	}
	CHECK_EQ(fake_llm_pending(f), 0);
	CHECK(fake_llm_push_json(f, good));
	CHECK_EQ(fake_llm_pending(f), 3);

	post(&rep, f, "/api/chat", "{\"model\":\"m\",\"stream\":false,\"messages\":"
				   "[{\"role\":\"user\",\"content\":\"q\"}]}");
	v = body_json(&rep);
	CHECK_STR(at_str(v, "message.content"), "first");
	json_decref(v);
	reply_release(&rep);
	post(&rep, f, "/api/chat", "{\"model\":\"m\",\"stream\":false,\"messages\":"
				   "[{\"role\":\"user\",\"content\":\"q\"}]}");
	v = body_json(&rep);
	CHECK_STR(at_str(v, "message.tool_calls.0.function.arguments.k"), "v");
	json_decref(v);
	reply_release(&rep);
	post(&rep, f, "/api/chat", chat_body);
	CHECK_EQ(rep.status, 500);
	reply_release(&rep);
	CHECK_EQ(fake_llm_pending(f), 0);
	json_decref(good);
	fake_llm_stop(f);
}

struct bg_request {
	struct fake_llm *f;
	long status;
	int done;
};

static void *bg_chat(void *arg)
{
	struct bg_request *bg = arg;
	struct reply rep;

	post(&rep, bg->f, "/api/chat", chat_body);
	bg->status = rep.status;
	reply_release(&rep);
	__atomic_store_n(&bg->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A delayed reply holds up no one else, and stop does not wait for it. */
/* Images: read back decoded in both dialects; malformed ones get a 400
 * and take no scripted reply. */
static void test_images(void)
{
	struct fake_llm *o = fake_llm_start(FAKE_LLM_OLLAMA), *a = fake_llm_start(FAKE_LLM_OPENAI);
	struct fake_reply r = { .content = "a cat" };
	struct reply rep;
	unsigned char *bin;
	size_t len;
	char *mime;

	REQUIRE(o && a);
	/* "aGk=" is "hi", "AAEC" is {0,1,2}. */
	post(&rep, o, "/api/chat", "{\"model\":\"llava\",\"stream\":false,\"messages\":["
	     "{\"role\":\"user\",\"content\":\"what?\",\"images\":[\"aGk=\",\"AAEC\"]}]}");
	CHECK_EQ(rep.status, 200);
	reply_release(&rep);
	CHECK_EQ(fake_llm_request_image_count(o, 0), 2);
	bin = fake_llm_request_image(o, 0, 1, &len, &mime);
	CHECK(bin && len == 3 && bin[0] == 0 && bin[1] == 1 && bin[2] == 2);
	CHECK(mime == NULL);
	free(bin);
	CHECK(fake_llm_request_image(o, 0, 2, &len, NULL) == NULL);
	CHECK_EQ(fake_llm_request_image_count(o, 5), 0);

	fake_llm_push(o, &r);
	post(&rep, o, "/api/chat", "{\"model\":\"llava\",\"stream\":false,\"messages\":["
	     "{\"role\":\"user\",\"content\":\"what?\",\"images\":[\"data:image/png;base64,aGk=\"]}]}");
	CHECK_EQ(rep.status, 400);
	CHECK_CONTAINS(buf_str(&rep.body), "illegal base64");
	CHECK_EQ(fake_llm_pending(o), 1);
	reply_release(&rep);
	post(&rep, o, "/api/chat", "{\"model\":\"llava\",\"stream\":false,\"messages\":["
	     "{\"role\":\"user\",\"content\":\"what?\",\"images\":[\"aGk\"]}]}");
	CHECK_EQ(rep.status, 400);
	reply_release(&rep);

	post(&rep, a, "/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	     "\"content\":[{\"type\":\"text\",\"text\":\"what?\"},{\"type\":\"image_url\","
	     "\"image_url\":{\"url\":\"data:image/png;base64,aGk=\"}},{\"type\":\"image_url\","
	     "\"image_url\":{\"url\":\"https://cdn.example/x.png\"}}]}]}");
	CHECK_EQ(rep.status, 200);
	reply_release(&rep);
	CHECK_EQ(fake_llm_request_image_count(a, 0), 2);
	bin = fake_llm_request_image(a, 0, 0, &len, &mime);
	CHECK(bin && len == 2 && memcmp(bin, "hi", 2) == 0);
	CHECK_STR(mime, "image/png");
	free(bin);
	free(mime);
	CHECK(fake_llm_request_image(a, 0, 1, &len, NULL) == NULL);   /* a link: no bytes */

	post(&rep, a, "/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	     "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"aGk=\"}}]}]}");
	CHECK_EQ(rep.status, 400);
	reply_release(&rep);
	post(&rep, a, "/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	     "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
	     "\"data:text/plain;base64,aGk=\"}}]}]}");
	CHECK_EQ(rep.status, 400);
	reply_release(&rep);
	post(&rep, a, "/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	     "\"content\":[{\"type\":\"audio\"}]}]}");
	CHECK_EQ(rep.status, 400);
	CHECK_CONTAINS(buf_str(&rep.body), "Invalid content part");
	reply_release(&rep);
	fake_llm_stop(o);
	fake_llm_stop(a);
}

static void test_delay_and_stop(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	struct fake_reply slow = { .content = "slow", .delay_ms = 30000 };
	struct bg_request bg = { f, -1, 0 };
	struct reply rep;
	pthread_t th;
	int64_t t0;

	REQUIRE(f);
	fake_llm_push(f, &slow);
	REQUIRE(pthread_create(&th, NULL, bg_chat, &bg) == 0);
	CHECK(fake_llm_wait_requests(f, 1, 5000));
	post(&rep, f, "/api/chat", chat_body);
	CHECK_EQ(rep.status, 200);
	CHECK(!__atomic_load_n(&bg.done, __ATOMIC_ACQUIRE));
	reply_release(&rep);

	t0 = clock_mono_ms();
	fake_llm_stop(f);
	CHECK(clock_mono_ms() - t0 < 5000); /* far less than the 30 s delay */
	pthread_join(th, NULL);
	CHECK(bg.status != 200);
}

/* A client that gives up during a delay, or in the middle of a stream,
 * leaves nothing behind (the sanitizer builds check the freeing). */
static void test_client_goes_away(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OPENAI);
	struct fake_reply slow = { .content = "late", .delay_ms = 20000 };
	struct fake_reply long_stream = { .chunk_chars = 1 };
	struct buf big = BUF_INIT(0);
	struct reply rep;
	char *url;

	REQUIRE(f);
	for (int i = 0; i < 20000; i++)
		(void)buf_puts(&big, "word ");
	long_stream.content = buf_str(&big);
	fake_llm_push(f, &slow);
	fake_llm_push(f, &long_stream);
	url = url_of(f, "/chat/completions");
	request(&rep, "POST", url, oa_body, &(struct req_opts){ .timeout_ms = 200 });
	CHECK_EQ(rep.status, 0);
	reply_release(&rep);

	request(&rep, "POST", url, oa_stream_body, &(struct req_opts){ .abort_after = 2 });
	CHECK_EQ(rep.status, 0);
	CHECK_EQ(rep.writes, 2);
	reply_release(&rep);

	request(&rep, "POST", url, oa_body, NULL); /* still serving */
	CHECK_EQ(rep.status, 200);
	reply_release(&rep);
	free(url);
	buf_release(&big);
	fake_llm_stop(f);
}

static void test_body_cap(void)
{
	struct fake_llm *f = fake_llm_start(FAKE_LLM_OLLAMA);
	size_t n = ((size_t)16 << 20) + 1;
	char *huge = xmalloc(n + 1);
	struct reply rep;
	json_t *v;

	REQUIRE(f);
	memset(huge, ' ', n);
	huge[n] = '\0';
	post(&rep, f, "/api/chat", huge);
	CHECK_EQ(rep.status, 413);
	v = body_json(&rep);
	CHECK(at_str(v, "error") != NULL);
	CHECK_EQ(fake_llm_request_count(f), 1);
	json_decref(v);
	reply_release(&rep);
	free(huge);
	fake_llm_stop(f);
}

/* ---------------------------------------------------------------------- */
/* The standalone fake-llm program                                        */

/* fake-llm lives next to the test binaries. */
static char *fake_llm_binary(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return xasprintf("%s/fake-llm", self);
}

static void test_standalone_program(void)
{
	char *bin = fake_llm_binary();
	char *argv[] = { bin, "--mode", "openai", "--reply", "from the binary", NULL };
	posix_spawn_file_actions_t fa;
	int out[2], wstatus = 0;
	char line[256] = "";
	struct reply rep;
	FILE *fp;
	pid_t pid;
	char *url;

	REQUIRE(bin && access(bin, X_OK) == 0);
	REQUIRE(pipe(out) == 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	REQUIRE(posix_spawn(&pid, bin, &fa, NULL, argv, environ) == 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	fp = fdopen(out[0], "r");
	CHECK(fgets(line, sizeof line, fp) != NULL);
	line[strcspn(line, "\n")] = '\0';
	CHECK(strncmp(line, "http://127.0.0.1:", 17) == 0);
	CHECK(strstr(line, "/v1") != NULL);

	url = xasprintf("%s/chat/completions", line);
	request(&rep, "POST", url, oa_body, NULL);
	CHECK_EQ(rep.status, 200);
	CHECK_CONTAINS(buf_str(&rep.body), "from the binary");
	reply_release(&rep);
	free(url);

	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &wstatus, 0) == pid);
	CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
	fclose(fp);
	free(bin);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	RUN(test_ollama_stream_is_default);
	RUN(test_ollama_non_stream);
	RUN(test_ollama_tool_calls);
	RUN(test_ollama_errors);
	RUN(test_ollama_embed);
	RUN(test_ollama_tags_and_show);
	RUN(test_openai_non_stream);
	RUN(test_openai_stream);
	RUN(test_openai_errors);
	RUN(test_openai_embeddings_and_models);
	RUN(test_one_event_per_chunk);
	RUN(test_records_requests);
	RUN(test_script_from_json);
	RUN(test_images);
	RUN(test_delay_and_stop);
	RUN(test_client_goes_away);
	RUN(test_body_cap);
	RUN(test_standalone_program);
	curl_global_cleanup();
	return test_summary();
}
