/* openai.c — OpenAI-compatible endpoints: /chat/completions, /embeddings,
 * /models (OpenRouter, vLLM, llama.cpp server, LocalAI).
 *
 * A message with images sends its content as parts: a text part, then an
 * image_url part per image whose URL is a base64 data: URL.
 * Streams are SSE.  Tool calls arrive as fragments keyed by index whose
 * `arguments` strings are concatenated; the whole text is parsed only at the
 * end, and may not be JSON at all.  Errors can come as an HTTP status, as a
 * 200 body with a top-level "error", or as an "error" event mid-stream; all
 * three end the call with the server's words.  OpenRouter's 429 body says
 * when the limit resets (X-RateLimit-Reset, epoch ms), which becomes the
 * retry delay; its daily caps are not retried at all. */
#include "llm/llm_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <string.h>
#include <strings.h>

static json_t *call_json(const struct llm_tool_call *tc)
{
	json_t *fn = json_object(), *call = json_object();
	char *args = tc->arguments_raw ? xstrdup(tc->arguments_raw)
		     : tc->arguments ? kjson_dump(tc->arguments, false) : xstrdup("{}");

	kjson_set_str(fn, "name", tc->name ? tc->name : "");
	json_object_set_new(fn, "arguments", json_string(args));
	kjson_set_str(call, "id", tc->id);
	json_object_set_new(call, "type", json_string("function"));
	json_object_set_new(call, "function", fn);
	free(args);
	return call;
}

/* Text and images as content parts: the text first (when there is any),
 * then one image_url part per image with a data: URL. */
static json_t *content_parts(const struct llm_msg *m, bool record)
{
	json_t *parts = json_array();

	if (m->content && m->content[0])
		json_array_append_new(parts, json_pack("{s:s, s:s}", "type", "text",
						       "text", m->content));
	for (size_t i = 0; i < m->nimages; i++)
		json_array_append_new(parts, json_pack("{s:s, s:{s:o}}", "type", "image_url",
						       "image_url", "url",
						       llm_image_json(&m->images[i], true, record)));
	return parts;
}

static json_t *build_message(const struct llm_msg *m, bool record)
{
	json_t *o = json_object();

	json_object_set_new(o, "role", json_string(llm_msg_role_name(m->role)));
	/* An assistant turn that only calls tools has null content. */
	if (m->nimages)
		json_object_set_new(o, "content", content_parts(m, record));
	else
		json_object_set_new(o, "content", m->content ? json_string(m->content)
				    : m->role == LLM_MSG_ASSISTANT ? json_null()
				    : json_string(""));
	if (m->role == LLM_MSG_ASSISTANT && m->ncalls) {
		json_t *calls = json_array();

		for (size_t i = 0; i < m->ncalls; i++)
			json_array_append_new(calls, call_json(&m->calls[i]));
		json_object_set_new(o, "tool_calls", calls);
	}
	if (m->role == LLM_MSG_TOOL)
		kjson_set_str(o, "tool_call_id", m->tool_call_id);
	return o;
}

static json_t *build_chat(const struct llm_client *c, const struct llm_request *req,
			  const char *model, double temp, bool record)
{
	json_t *b = json_object(), *msgs = json_array();

	json_object_set_new(b, "model", json_string(model));
	for (size_t i = 0; i < req->nmsgs; i++)
		json_array_append_new(msgs, build_message(&req->msgs[i], record));
	json_object_set_new(b, "messages", msgs);
	json_object_set_new(b, "stream", json_boolean(req->stream));
	if (req->stream)
		json_object_set_new(b, "stream_options", json_pack("{s:b}", "include_usage", 1));
	if (temp >= 0)
		json_object_set_new(b, "temperature", json_real(temp));
	if (c->cfg.top_p >= 0)
		json_object_set_new(b, "top_p", json_real(c->cfg.top_p));
	if (json_array_size(req->tools)) {
		const char *tc = req->tool_choice;

		json_object_set_new(b, "tools", llm_tool_defs(req->tools));
		if (tc && (!strcmp(tc, "none") || !strcmp(tc, "auto") || !strcmp(tc, "required")))
			json_object_set_new(b, "tool_choice", json_string(tc));
		else if (tc)
			json_object_set_new(b, "tool_choice",
					    json_pack("{s:s, s:{s:s}}", "type", "function",
						      "function", "name", tc));
	}
	if (req->json_schema) {
		json_t *js = json_object();

		json_object_set_new(js, "name", json_string(req->schema_name ? req->schema_name
							   : "response"));
		json_object_set_new(js, "schema", json_deep_copy(req->json_schema));
		json_object_set_new(b, "response_format",
				    json_pack("{s:s, s:o}", "type", "json_schema", "json_schema", js));
	}
	return b;
}

static enum kith_status take_calls(struct llm_acc *a, const json_t *calls)
{
	size_t i;
	json_t *tc;

	json_array_foreach(calls, i, tc) {
		json_t *fn = kjson_obj(tc, "function"), *args;
		struct llm_acc_call *call;
		long long idx = (long long)i;
		const char *s;
		enum kith_status st;

		if (!json_is_object(tc))
			return llm_acc_fail(a, KITH_EPROTO, "a tool call is not an object");
		/* Fragments name their call by index; whole calls (non-stream)
		 * by position. */
		(void)kjson_int(tc, "index", &idx);
		call = llm_acc_call(a, (long)idx);
		if (!call)
			return KITH_EPROTO;
		if (!call->id && (s = kjson_str(tc, "id")) && s[0])
			call->id = xstrdup(s);
		if (!call->name && (s = kjson_str(fn, "name")) && s[0])
			call->name = xstrdup(s);
		args = json_object_get(fn, "arguments");
		/* An object is not the standard, but some servers send one. */
		if ((json_is_string(args) || json_is_object(args)) &&
		    (st = llm_acc_args(a, call, args)))
			return st;
	}
	return KITH_OK;
}

enum kith_status openai_chunk(struct llm_acc *a, const json_t *j)
{
	json_t *err, *usage, *choices, *ch, *m, *v;
	const char *s;
	long long n;
	enum kith_status st;

	if (!json_is_object(j))
		return llm_acc_fail(a, KITH_EPROTO, "the answer is not a JSON object");
	err = json_object_get(j, "error");
	if (err && !json_is_null(err))
		return llm_acc_server_error(a, err);
	if (!a->model && (s = kjson_str(j, "model")))
		a->model = xstrdup(s);
	if (!a->id && (s = kjson_str(j, "id")))
		a->id = xstrdup(s);
	/* Usage may ride on any chunk: a final one with no choices (OpenAI)
	 * or the one with finish_reason (observed on OpenRouter). */
	if ((usage = kjson_obj(j, "usage"))) {
		if (kjson_int(usage, "prompt_tokens", &n))
			a->prompt_tokens = (long)n;
		if (kjson_int(usage, "completion_tokens", &n))
			a->completion_tokens = (long)n;
	}
	choices = kjson_arr(j, "choices");
	if (!choices || json_array_size(choices) == 0)
		return KITH_OK;
	/* We never ask for n > 1. */
	ch = json_array_get(choices, 0);
	if (!json_is_object(ch))
		return llm_acc_fail(a, KITH_EPROTO, "a choice is not an object");
	a->saw_answer = true;
	err = json_object_get(ch, "error");
	if (err && !json_is_null(err))
		return llm_acc_server_error(a, err);
	m = kjson_obj(ch, "delta");
	if (!m)
		m = kjson_obj(ch, "message");
	if (m) {
		/* OpenRouter says "reasoning", DeepSeek and vLLM
		 * "reasoning_content". */
		v = json_object_get(m, "reasoning");
		if (!json_is_string(v))
			v = json_object_get(m, "reasoning_content");
		if (json_is_string(v) &&
		    (st = llm_acc_thinking(a, json_string_value(v), json_string_length(v))))
			return st;
		v = json_object_get(m, "content");
		if (json_is_string(v) &&
		    (st = llm_acc_content(a, json_string_value(v), json_string_length(v))))
			return st;
		if ((v = kjson_arr(m, "tool_calls")) && (st = take_calls(a, v)))
			return st;
	}
	if ((s = kjson_str(ch, "finish_reason"))) {
		free(a->finish_reason);
		a->finish_reason = xstrdup(s);
		a->done = true;
	}
	return KITH_OK;
}

static json_t *reassemble(const struct llm_response *out, const char *error)
{
	json_t *j = json_object(), *m = json_object(), *choice = json_object();

	json_object_set_new(j, "object", json_string("chat.completion"));
	kjson_set_str(j, "model", out->model);
	json_object_set_new(m, "role", json_string("assistant"));
	json_object_set_new(m, "content", out->content && (out->content[0] || !out->ncalls)
				? json_string(out->content) : json_null());
	kjson_set_str(m, "reasoning", out->thinking);
	if (out->ncalls) {
		json_t *calls = json_array();

		for (size_t i = 0; i < out->ncalls; i++)
			json_array_append_new(calls, call_json(&out->calls[i]));
		json_object_set_new(m, "tool_calls", calls);
	}
	json_object_set_new(choice, "index", json_integer(0));
	json_object_set_new(choice, "message", m);
	json_object_set_new(choice, "finish_reason", out->finish_reason
				? json_string(out->finish_reason) : json_null());
	json_object_set_new(j, "choices", json_pack("[o]", choice));
	if (out->prompt_tokens >= 0 || out->completion_tokens >= 0)
		json_object_set_new(j, "usage", json_pack("{s:I, s:I}",
				    "prompt_tokens", (json_int_t)out->prompt_tokens,
				    "completion_tokens", (json_int_t)out->completion_tokens));
	if (error)
		json_object_set_new(j, "error", json_pack("{s:s}", "message", error));
	return j;
}

/* OpenRouter's 429 body: error.metadata.headers["X-RateLimit-Reset"], the
 * epoch milliseconds (as a string) when the window reopens. */
static long rate_hint(const struct http_response *r, void *ud)
{
	json_t *j, *v;
	long long at = -1;
	long d = -1;

	(void)ud;
	if (r->status != 429 || !r->body.len)
		return -1;
	j = json_loadb(r->body.data, r->body.len, 0, NULL);
	v = json_object_get(kjson_obj(kjson_obj(kjson_obj(j, "error"), "metadata"), "headers"),
			    "X-RateLimit-Reset");
	if (json_is_string(v)) {
		char *end;

		at = strtoll(json_string_value(v), &end, 10);
		if (*end)
			at = -1;
	} else if (json_is_integer(v)) {
		at = json_integer_value(v);
	}
	if (at > 0) {
		int64_t now = clock_now_ms();

		/* Seconds, from a server that did not read the docs. */
		if (at < 100000000000LL)
			at *= 1000;
		d = at > now ? (long)(at - now) : 0;
	}
	json_decref(j);
	return d;
}

/* A daily cap ("free-models-per-day") will not lift within any backoff. */
static bool rate_give_up(const struct http_response *r, void *ud)
{
	(void)ud;
	return r->status == 429 && r->body.data && strcasestr(r->body.data, "per-day");
}

/* {"data":[{"index":i,"embedding":[…]},…]}; servers may send the entries
 * in any order, so each lands at its index, and each index exactly once.
 * A 200 can still carry {"error":…} instead. */
static enum kith_status take_embeddings(const json_t *reply, struct llm_vecs *vs, char **bad)
{
	json_t *data, *e;
	unsigned char *seen = NULL;
	size_t i;
	enum kith_status st = KITH_OK;

	if ((e = json_object_get(reply, "error")) && !json_is_null(e)) {
		char *t = llm_error_text(e);

		st = kith_why(bad, KITH_EHTTP, "%s", t ? t : "unspecified error");
		free(t);
		return st;
	}
	data = kjson_arr(reply, "data");
	if (!data || json_array_size(data) != vs->n)
		return kith_why(bad, KITH_EPROTO, "expected %zu embeddings", vs->n);
	seen = xcalloc(vs->n, 1);
	json_array_foreach(data, i, e) {
		json_t *vec = kjson_arr(e, "embedding");
		long long idx = (long long)i;

		(void)kjson_int(e, "index", &idx);
		if (!vec || idx < 0 || (size_t)idx >= vs->n || seen[idx]) {
			st = kith_why(bad, KITH_EPROTO, "malformed embedding list");
			break;
		}
		seen[idx] = 1;
		if ((st = llm_vecs_put(vs, (size_t)idx, vec, bad)))
			break;
	}
	free(seen);
	return st;
}

static enum kith_status health(struct llm_client *c, char **why)
{
	struct llm_http h = { 0 };
	json_t *reply = NULL;
	enum kith_status st;

	h.method = "GET";
	h.path = "/models";
	/* A health check answers now; retrying is the caller's decision. */
	h.max_attempts = 1;
	st = llm_json_exchange(c, &h, NULL, &reply, why);
	if (st == KITH_OK && !kjson_arr(reply, "data") && !json_is_array(reply))
		st = llm_answer_fail(c, KITH_EPROTO, "no model list", why);
	json_decref(reply);
	return st;
}

const struct llm_ops llm_openai_ops = {
	.chat_path = "/chat/completions",
	.sse = true,
	.build_chat = build_chat,
	.chunk = openai_chunk,
	.reassemble = reassemble,
	.embed_path = "/embeddings",
	.encoding_format = "float",
	.take_embeddings = take_embeddings,
	.hint_ms = rate_hint,
	.give_up = rate_give_up,
	.health = health,
};
