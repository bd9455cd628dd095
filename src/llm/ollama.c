/* ollama.c — Ollama's native API: /api/chat, /api/embed, /api/tags.
 *
 * The native API rather than Ollama's OpenAI shim because it is the one
 * that reports thinking, done_reason and token counts reliably and takes a
 * JSON schema as `format` directly.  Tool-call arguments travel as JSON
 * objects both ways.  Streams are NDJSON; any line may be {"error":…}
 * (a model crash mid-answer keeps status 200), so every line is checked. */
#include "llm/llm_int.h"
#include "core/alloc.h"
#include "core/json.h"

#include <string.h>

static const char *const msg_roles[] = {
	[LLM_MSG_SYSTEM] = "system",
	[LLM_MSG_USER] = "user",
	[LLM_MSG_ASSISTANT] = "assistant",
	[LLM_MSG_TOOL] = "tool",
};

static json_t *build_message(const struct llm_msg *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "role", json_string(msg_roles[m->role]));
	json_object_set_new(o, "content", json_string(m->content ? m->content : ""));
	if (m->role == LLM_MSG_ASSISTANT && m->ncalls) {
		json_t *calls = json_array();

		for (size_t i = 0; i < m->ncalls; i++) {
			const struct llm_tool_call *tc = &m->calls[i];
			json_t *fn = json_object(), *call = json_object();

			kjson_set_str(fn, "name", tc->name ? tc->name : "");
			json_object_set_new(fn, "arguments", llm_args_object(tc));
			kjson_set_str(call, "id", tc->id);
			json_object_set_new(call, "function", fn);
			json_array_append_new(calls, call);
		}
		json_object_set_new(o, "tool_calls", calls);
	}
	if (m->role == LLM_MSG_TOOL) {
		kjson_set_str(o, "tool_name", m->tool_name);
		kjson_set_str(o, "tool_call_id", m->tool_call_id);
	}
	return o;
}

static json_t *build_chat(const struct llm_client *c, const struct llm_request *req,
			  const char *model, double temp)
{
	json_t *b = json_object(), *msgs = json_array(), *opts = json_object();

	json_object_set_new(b, "model", json_string(model));
	for (size_t i = 0; i < req->nmsgs; i++)
		json_array_append_new(msgs, build_message(&req->msgs[i]));
	json_object_set_new(b, "messages", msgs);
	/* Ollama streams unless told otherwise. */
	json_object_set_new(b, "stream", json_boolean(req->stream));
	/* Ollama has no tool_choice: "none" means not offering the tools;
	 * "required" and named choices cannot be expressed and fall back to
	 * letting the model decide. */
	if (json_array_size(req->tools) &&
	    !(req->tool_choice && strcmp(req->tool_choice, "none") == 0))
		json_object_set_new(b, "tools", llm_tool_defs(req->tools));
	if (req->json_schema)
		json_object_set_new(b, "format", json_deep_copy(req->json_schema));
	if (temp >= 0)
		json_object_set_new(opts, "temperature", json_real(temp));
	if (c->cfg.top_p >= 0)
		json_object_set_new(opts, "top_p", json_real(c->cfg.top_p));
	if (json_object_size(opts))
		json_object_set_new(b, "options", opts);
	else
		json_decref(opts);
	return b;
}

static enum kith_status take_calls(struct llm_acc *a, const json_t *calls)
{
	size_t i;
	json_t *tc;

	json_array_foreach(calls, i, tc) {
		json_t *fn = kjson_obj(tc, "function"), *args;
		struct llm_acc_call *call;

		if (!fn)
			return llm_acc_fail(a, KITH_EPROTO, "a tool call has no function");
		/* Ollama sends each call whole, so every entry is a new one. */
		call = llm_acc_call(a, (long)a->ncalls);
		if (!call)
			return llm_acc_fail(a, KITH_EPROTO, "more than %d tool calls",
					    LLM_MAX_CALLS);
		call->id = xstrdup(kjson_str(tc, "id"));
		call->name = xstrdup(kjson_str(fn, "name"));
		args = json_object_get(fn, "arguments");
		if (json_is_object(args)) {
			call->args_obj = json_incref(args);
		} else if (json_is_string(args)) {
			if (buf_append(&call->args, json_string_value(args), json_string_length(args)))
				return llm_acc_fail(a, KITH_ETOOBIG, "tool arguments too long");
		} else if (args && !json_is_null(args)) {
			char *t = kjson_dump(args, false);
			enum kith_status st = buf_puts(&call->args, t);

			free(t);
			if (st)
				return llm_acc_fail(a, KITH_ETOOBIG, "tool arguments too long");
		}
	}
	return KITH_OK;
}

enum kith_status ollama_chunk(struct llm_acc *a, const json_t *j)
{
	json_t *err, *msg, *v;
	const char *s;
	long long n;
	bool done = false;
	enum kith_status st;

	if (!json_is_object(j))
		return llm_acc_fail(a, KITH_EPROTO, "the answer is not a JSON object");
	err = json_object_get(j, "error");
	if (err && !json_is_null(err)) {
		char *t = llm_error_text(err);

		st = llm_acc_fail(a, KITH_EHTTP, "%s", t ? t : "unspecified error");
		free(t);
		return st;
	}
	if (!a->model && (s = kjson_str(j, "model")))
		a->model = xstrdup(s);
	if ((msg = kjson_obj(j, "message"))) {
		a->saw_answer = true;
		v = json_object_get(msg, "thinking");
		if (json_is_string(v) &&
		    (st = llm_acc_thinking(a, json_string_value(v), json_string_length(v))))
			return st;
		v = json_object_get(msg, "content");
		if (json_is_string(v) &&
		    (st = llm_acc_content(a, json_string_value(v), json_string_length(v))))
			return st;
		if ((v = kjson_arr(msg, "tool_calls")) && (st = take_calls(a, v)))
			return st;
	}
	if (kjson_bool(j, "done", &done) && done) {
		a->done = true;
		if ((s = kjson_str(j, "done_reason"))) {
			free(a->finish_reason);
			a->finish_reason = xstrdup(s);
		}
		if (kjson_int(j, "prompt_eval_count", &n))
			a->prompt_tokens = (long)n;
		if (kjson_int(j, "eval_count", &n))
			a->completion_tokens = (long)n;
	}
	return KITH_OK;
}

static json_t *reassemble(const struct llm_response *out, const char *error)
{
	json_t *j = json_object(), *m = json_object();

	kjson_set_str(j, "model", out->model);
	json_object_set_new(m, "role", json_string("assistant"));
	json_object_set_new(m, "content", json_string(out->content ? out->content : ""));
	kjson_set_str(m, "thinking", out->thinking);
	if (out->ncalls) {
		json_t *calls = json_array();

		for (size_t i = 0; i < out->ncalls; i++) {
			const struct llm_tool_call *tc = &out->calls[i];
			json_t *fn = json_object(), *call = json_object();

			kjson_set_str(fn, "name", tc->name);
			json_object_set_new(fn, "arguments", llm_args_object(tc));
			kjson_set_str(call, "id", tc->id);
			json_object_set_new(call, "function", fn);
			json_array_append_new(calls, call);
		}
		json_object_set_new(m, "tool_calls", calls);
	}
	json_object_set_new(j, "message", m);
	json_object_set_new(j, "done", json_boolean(!error));
	kjson_set_str(j, "done_reason", out->finish_reason);
	if (out->prompt_tokens >= 0)
		json_object_set_new(j, "prompt_eval_count", json_integer(out->prompt_tokens));
	if (out->completion_tokens >= 0)
		json_object_set_new(j, "eval_count", json_integer(out->completion_tokens));
	kjson_set_str(j, "error", error);
	return j;
}

static const struct llm_wire wire = {
	.path = "/api/chat",
	.sse = false,
	.chunk = ollama_chunk,
	.reassemble = reassemble,
};

static enum kith_status chat(struct llm_client *c, const struct llm_request *req,
			     const char *model, double temp, struct llm_response *out,
			     char **why)
{
	json_t *body = build_chat(c, req, model, temp);

	out->request_json = kjson_dump(body, false);
	json_decref(body);
	return llm_run_chat(c, req, model, &wire, out, why);
}

static enum kith_status embed(struct llm_client *c, const char *model,
			      const char *const *texts, size_t n, float **vecs, size_t *dim,
			      const struct cancel *cancel, char **why)
{
	json_t *body = json_object(), *input = json_array(), *reply = NULL, *embs, *e;
	struct http_response resp;
	struct llm_http h = { 0 };
	char *text, *reason = NULL, *where = NULL;
	int attempts = 0;
	size_t d = 0, i;
	float *out = NULL;
	enum kith_status st;

	for (i = 0; i < n; i++)
		json_array_append_new(input, json_string(texts[i] ? texts[i] : ""));
	json_object_set_new(body, "model", json_string(model));
	json_object_set_new(body, "input", input);
	text = kjson_dump(body, false);
	http_response_init(&resp);
	h.method = "POST";
	h.path = "/api/embed";
	h.body = text;
	h.cancel = cancel;
	st = llm_http_do(c, &h, &resp, &attempts, &reason);
	if (st) {
		st = llm_fail(c, st, &resp, reason, attempts, model, h.path, why);
		goto out;
	}
	where = llm_where(c);
	reply = json_loadb(buf_str(&resp.body), resp.body.len, 0, NULL);
	embs = kjson_arr(reply, "embeddings");
	if (!embs || json_array_size(embs) != n) {
		st = kith_why(why, KITH_EPROTO, "unexpected answer from %s: expected %zu embeddings",
			      where, n);
		goto out;
	}
	d = json_array_size(json_array_get(embs, 0));
	if (d == 0) {
		st = kith_why(why, KITH_EPROTO, "unexpected answer from %s: empty embedding", where);
		goto out;
	}
	out = xcalloc(n * d, sizeof(float));
	json_array_foreach(embs, i, e) {
		size_t k;
		json_t *x;

		if (!json_is_array(e) || json_array_size(e) != d) {
			st = kith_why(why, KITH_EPROTO,
				      "unexpected answer from %s: embeddings of different sizes", where);
			goto out;
		}
		json_array_foreach(e, k, x) {
			if (!json_is_number(x)) {
				st = kith_why(why, KITH_EPROTO,
					      "unexpected answer from %s: non-numeric embedding", where);
				goto out;
			}
			out[i * d + k] = (float)json_number_value(x);
		}
	}
	*vecs = out;
	*dim = d;
	out = NULL;
out:
	free(out);
	free(where);
	free(reason);
	free(text);
	json_decref(reply);
	json_decref(body);
	http_response_release(&resp);
	return st;
}

/* "llama3.2" and "llama3.2:latest" name the same model. */
static bool same_model(const char *want, const char *have)
{
	size_t wl = strlen(want), hl = strlen(have);

	if (strcmp(want, have) == 0)
		return true;
	if (hl == wl + 7 && strncmp(have, want, wl) == 0 && strcmp(have + wl, ":latest") == 0)
		return true;
	return wl == hl + 7 && strncmp(want, have, hl) == 0 && strcmp(want + hl, ":latest") == 0;
}

static enum kith_status health(struct llm_client *c, char **why)
{
	const char *want = c->cfg.models[LLM_ROLE_MAIN];
	struct http_response resp;
	struct llm_http h = { 0 };
	json_t *reply = NULL, *models, *m;
	struct buf names = BUF_INIT(0);
	char *reason = NULL, *where = NULL;
	int attempts = 0;
	size_t i;
	enum kith_status st;

	http_response_init(&resp);
	h.method = "GET";
	h.path = "/api/tags";
	/* A health check answers now; retrying is the caller's decision. */
	h.max_attempts = 1;
	st = llm_http_do(c, &h, &resp, &attempts, &reason);
	if (st) {
		st = llm_fail(c, st, &resp, reason, attempts, NULL, h.path, why);
		goto out;
	}
	where = llm_where(c);
	reply = json_loadb(buf_str(&resp.body), resp.body.len, 0, NULL);
	models = kjson_arr(reply, "models");
	if (!models) {
		st = kith_why(why, KITH_EPROTO, "unexpected answer from %s: no model list", where);
		goto out;
	}
	if (!want)
		goto out;
	json_array_foreach(models, i, m) {
		const char *name = kjson_str(m, "name"), *model = kjson_str(m, "model");

		if ((name && same_model(want, name)) || (model && same_model(want, model)))
			goto out;
		if (name && names.len < 400)
			(void)buf_printf(&names, "%s%s", names.len ? ", " : "", name);
	}
	st = kith_why(why, KITH_ENOTFOUND, "model '%s' not found on %s (it has: %s; try `ollama pull %s`)",
		      want, where, names.len ? names.data : "no models", want);
out:
	buf_release(&names);
	free(where);
	free(reason);
	json_decref(reply);
	http_response_release(&resp);
	return st;
}

const struct llm_ops llm_ollama_ops = {
	.chat = chat,
	.embed = embed,
	.health = health,
};
