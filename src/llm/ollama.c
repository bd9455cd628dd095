/* ollama.c — Ollama's native API: /api/chat, /api/embed, /api/tags.
 *
 * The native API rather than Ollama's OpenAI shim because it is the one
 * that reports thinking, done_reason and token counts reliably and takes a
 * JSON schema as `format` directly.  Tool-call arguments travel as JSON
 * objects both ways; images ride on a message as bare base64 strings.
 * Streams are NDJSON; any line may be {"error":…}
 * (a model crash mid-answer keeps status 200), so every line is checked. */
#include "llm/llm_int.h"
#include "core/alloc.h"
#include "core/json.h"

#include <string.h>

/* Tool calls as Ollama takes and gives them: arguments as an object. */
static json_t *calls_json(const struct llm_tool_call *calls, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct llm_tool_call *tc = &calls[i];
		json_t *fn = json_object(), *call = json_object();

		kjson_set_str(fn, "name", tc->name ? tc->name : "");
		json_object_set_new(fn, "arguments", llm_args_object(tc));
		kjson_set_str(call, "id", tc->id);
		json_object_set_new(call, "function", fn);
		json_array_append_new(arr, call);
	}
	return arr;
}

static json_t *build_message(const struct llm_msg *m, bool record)
{
	json_t *o = json_object();

	json_object_set_new(o, "role", json_string(llm_msg_role_name(m->role)));
	json_object_set_new(o, "content", json_string(m->content ? m->content : ""));
	if (m->nimages) {
		/* Bare base64: Ollama takes no data: prefix and no MIME type. */
		json_t *imgs = json_array();

		for (size_t i = 0; i < m->nimages; i++)
			json_array_append_new(imgs, llm_image_json(&m->images[i], false, record));
		json_object_set_new(o, "images", imgs);
	}
	if (m->role == LLM_MSG_ASSISTANT && m->ncalls)
		json_object_set_new(o, "tool_calls", calls_json(m->calls, m->ncalls));
	if (m->role == LLM_MSG_TOOL) {
		kjson_set_str(o, "tool_name", m->tool_name);
		kjson_set_str(o, "tool_call_id", m->tool_call_id);
	}
	return o;
}

static json_t *build_chat(const struct llm_client *c, const struct llm_request *req,
			  const char *model, double temp, bool record)
{
	json_t *b = json_object(), *msgs = json_array(), *opts = json_object();

	json_object_set_new(b, "model", json_string(model));
	for (size_t i = 0; i < req->nmsgs; i++)
		json_array_append_new(msgs, build_message(&req->msgs[i], record));
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
		enum kith_status st;

		if (!fn)
			return llm_acc_fail(a, KITH_EPROTO, "a tool call has no function");
		/* Ollama sends each call whole, so every entry is a new one. */
		call = llm_acc_call(a, (long)a->ncalls);
		if (!call)
			return KITH_EPROTO;
		call->id = xstrdup(kjson_str(tc, "id"));
		call->name = xstrdup(kjson_str(fn, "name"));
		args = json_object_get(fn, "arguments");
		if (json_is_object(args))
			call->args_obj = json_incref(args);
		else if (args && !json_is_null(args) && (st = llm_acc_args(a, call, args)))
			return st;
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
	if (err && !json_is_null(err))
		return llm_acc_server_error(a, err);
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
	if (out->ncalls)
		json_object_set_new(m, "tool_calls", calls_json(out->calls, out->ncalls));
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

/* {"embeddings":[[…],…]}, in the order of the input. */
static enum kith_status take_embeddings(const json_t *reply, struct llm_vecs *vs, char **bad)
{
	json_t *embs = kjson_arr(reply, "embeddings"), *e;
	size_t i;
	enum kith_status st;

	if (!embs || json_array_size(embs) != vs->n)
		return kith_why(bad, KITH_EPROTO, "expected %zu embeddings", vs->n);
	json_array_foreach(embs, i, e) {
		if ((st = llm_vecs_put(vs, i, e, bad)))
			return st;
	}
	return KITH_OK;
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
	struct llm_http h = { 0 };
	json_t *reply = NULL, *models, *m;
	struct buf names = BUF_INIT(0);
	char *where = NULL;
	size_t i;
	enum kith_status st;

	h.method = "GET";
	h.path = "/api/tags";
	/* A health check answers now; retrying is the caller's decision. */
	h.max_attempts = 1;
	st = llm_json_exchange(c, &h, NULL, &reply, why);
	if (st)
		goto out;
	models = kjson_arr(reply, "models");
	if (!models) {
		st = llm_answer_fail(c, KITH_EPROTO, "no model list", why);
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
	where = llm_where(c);
	st = kith_why(why, KITH_ENOTFOUND, "model '%s' not found on %s (it has: %s; try `ollama pull %s`)",
		      want, where, names.len ? names.data : "no models", want);
out:
	free(where);
	buf_release(&names);
	json_decref(reply);
	return st;
}

const struct llm_ops llm_ollama_ops = {
	.chat_path = "/api/chat",
	.sse = false,
	.build_chat = build_chat,
	.chunk = ollama_chunk,
	.reassemble = reassemble,
	.embed_path = "/api/embed",
	.take_embeddings = take_embeddings,
	.health = health,
};
