/* llm.c — the provider-neutral half of the LLM layer.
 *
 * Configuration, message helpers, the answer accumulator both providers
 * fill, and llm_chat/llm_embed/llm_health: each exchange is run here once,
 * from the facts in the provider's struct llm_ops (paths, body builders,
 * chunk parsers, reply shapes), so streaming, records, caps and error
 * sentences cannot drift between providers.  HTTP and the wording of
 * failures live in llm_http.c. */
#include "llm/llm_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "llm/ndjson.h"
#include "llm/sse.h"

#include <sodium.h>
#include <stdarg.h>
#include <string.h>

static const char *const role_names[LLM_ROLE_COUNT_] = {
	[LLM_ROLE_MAIN] = "main",
	[LLM_ROLE_UTIL] = "util",
	[LLM_ROLE_VISION] = "vision",
	[LLM_ROLE_EMBED] = "embed",
	[LLM_ROLE_IMAGE] = "image",
};

/* Both providers call the speakers of a conversation by these names. */
static const char *const msg_roles[] = {
	[LLM_MSG_SYSTEM] = "system",
	[LLM_MSG_USER] = "user",
	[LLM_MSG_ASSISTANT] = "assistant",
	[LLM_MSG_TOOL] = "tool",
};

static const struct {
	const char *name;
	const char *default_url;
	const struct llm_ops *ops;
} providers[] = {
	[LLM_PROVIDER_OLLAMA] = { "Ollama", "http://localhost:11434", &llm_ollama_ops },
	[LLM_PROVIDER_OPENAI] = { "OpenAI-compatible", "https://openrouter.ai/api/v1",
				  &llm_openai_ops },
};

#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

const char *llm_role_name(enum llm_role r)
{
	return (unsigned)r < LLM_ROLE_COUNT_ ? role_names[r] : "?";
}

const char *llm_msg_role_name(enum llm_msg_role r)
{
	KITH_ASSERT((unsigned)r < sizeof(msg_roles) / sizeof(msg_roles[0]));
	return msg_roles[r];
}

const char *llm_provider_name(enum llm_provider p)
{
	return (unsigned)p < NPROVIDERS ? providers[p].name : "?";
}

void llm_config_init(struct llm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->provider = LLM_PROVIDER_OLLAMA;
	for (int i = 0; i < LLM_ROLE_COUNT_; i++)
		c->temperature[i] = -1;
	c->top_p = -1;
	c->timeout_ms = 120000;
	c->connect_timeout_ms = 10000;
	c->max_attempts = 4;
	c->retry_base_ms = 500;
	c->retry_max_ms = 30000;
	c->max_response_bytes = HTTP_DEFAULT_MAX_RESPONSE;
}

void llm_config_release(struct llm_config *c)
{
	free(c->base_url);
	free(c->api_key);
	for (int i = 0; i < LLM_ROLE_COUNT_; i++)
		free(c->models[i]);
	free(c->referer);
	free(c->title);
	llm_config_init(c);
}

void llm_msg_init(struct llm_msg *m, enum llm_msg_role role, const char *content)
{
	memset(m, 0, sizeof(*m));
	m->role = role;
	m->content = xstrdup(content);
}

void llm_msg_add_image(struct llm_msg *m, const void *data, size_t len, const char *mime)
{
	struct llm_image *im;

	KITH_ASSERT(data && len > 0 && mime && mime[0]);
	m->images = xrealloc(m->images, (m->nimages + 1) * sizeof(*m->images));
	im = &m->images[m->nimages++];
	im->data = xmalloc(len);
	memcpy(im->data, data, len);
	im->len = len;
	im->mime = xstrdup(mime);
}

json_t *llm_image_json(const struct llm_image *im, bool data_url, bool record)
{
	char *text, *prefix;
	size_t plen, blen;
	json_t *v;

	if (record) {
		text = xasprintf("<image %zu bytes %s>", im->len, im->mime);
		v = json_string(text);
		free(text);
		return v;
	}
	prefix = data_url ? xasprintf("data:%s;base64,", im->mime) : xstrdup("");
	plen = strlen(prefix);
	blen = sodium_base64_ENCODED_LEN(im->len, sodium_base64_VARIANT_ORIGINAL);
	text = xmalloc(plen + blen);
	memcpy(text, prefix, plen);
	sodium_bin2base64(text + plen, blen, im->data, im->len, sodium_base64_VARIANT_ORIGINAL);
	v = json_stringn(text, strlen(text));
	free(prefix);
	free(text);
	/* Only a MIME type that is not UTF-8 can make jansson refuse. */
	return v ? v : json_string("");
}

void llm_tool_call_copy(struct llm_tool_call *dst, const struct llm_tool_call *src)
{
	dst->id = xstrdup(src->id);
	dst->name = xstrdup(src->name);
	dst->arguments = src->arguments ? json_deep_copy(src->arguments) : NULL;
	dst->arguments_raw = xstrdup(src->arguments_raw);
}

void llm_tool_call_release(struct llm_tool_call *c)
{
	free(c->id);
	free(c->name);
	json_decref(c->arguments);
	free(c->arguments_raw);
	memset(c, 0, sizeof(*c));
}

void llm_msg_release(struct llm_msg *m)
{
	free(m->content);
	for (size_t i = 0; i < m->ncalls; i++)
		llm_tool_call_release(&m->calls[i]);
	free(m->calls);
	free(m->tool_name);
	free(m->tool_call_id);
	for (size_t i = 0; i < m->nimages; i++) {
		free(m->images[i].data);
		free(m->images[i].mime);
	}
	free(m->images);
	memset(m, 0, sizeof(*m));
}

static void response_init(struct llm_response *r)
{
	memset(r, 0, sizeof(*r));
	r->prompt_tokens = r->completion_tokens = -1;
}

void llm_response_release(struct llm_response *r)
{
	free(r->content);
	free(r->thinking);
	for (size_t i = 0; i < r->ncalls; i++)
		llm_tool_call_release(&r->calls[i]);
	free(r->calls);
	free(r->finish_reason);
	free(r->model);
	free(r->request_json);
	free(r->response_json);
	response_init(r);
}

struct llm_client *llm_client_new(const struct llm_config *cfg)
{
	struct llm_client *c = xcalloc(1, sizeof(*c));
	struct llm_config *d = &c->cfg;
	size_t n;

	*d = *cfg;
	if ((unsigned)d->provider >= NPROVIDERS)
		d->provider = LLM_PROVIDER_OLLAMA;
	d->base_url = xstrdup(cfg->base_url && cfg->base_url[0] ? cfg->base_url
				  : providers[d->provider].default_url);
	n = strlen(d->base_url);
	while (n > 0 && d->base_url[n - 1] == '/')
		d->base_url[--n] = '\0';
	d->api_key = cfg->api_key && cfg->api_key[0] ? xstrdup(cfg->api_key) : NULL;
	for (int i = 0; i < LLM_ROLE_COUNT_; i++)
		d->models[i] = cfg->models[i] && cfg->models[i][0] ? xstrdup(cfg->models[i]) : NULL;
	d->referer = xstrdup(cfg->referer);
	d->title = xstrdup(cfg->title);
	if (d->timeout_ms < 0)
		d->timeout_ms = 0;
	if (d->max_attempts < 1)
		d->max_attempts = 1;
	if (!d->max_response_bytes)
		d->max_response_bytes = HTTP_DEFAULT_MAX_RESPONSE;
	/* log.c masks it everywhere, even inside a URL or an echoed body. */
	log_add_secret(d->api_key);
	return c;
}

void llm_client_free(struct llm_client *c)
{
	if (!c)
		return;
	llm_config_release(&c->cfg);
	free(c);
}

const struct llm_config *llm_client_config(const struct llm_client *c)
{
	return &c->cfg;
}

const char *llm_model(const struct llm_client *c, enum llm_role r)
{
	return (unsigned)r < LLM_ROLE_COUNT_ ? c->cfg.models[r] : NULL;
}

/* ---- accumulator ---- */

void llm_acc_init(struct llm_acc *a, size_t max,
		  void (*on_delta)(const char *, size_t, void *), void *ud)
{
	memset(a, 0, sizeof(*a));
	buf_init(&a->content, max);
	buf_init(&a->thinking, max);
	a->prompt_tokens = a->completion_tokens = -1;
	a->max = max;
	a->on_delta = on_delta;
	a->ud = ud;
}

void llm_acc_release(struct llm_acc *a)
{
	buf_release(&a->content);
	buf_release(&a->thinking);
	for (size_t i = 0; i < a->ncalls; i++) {
		free(a->calls[i].id);
		free(a->calls[i].name);
		buf_release(&a->calls[i].args);
		json_decref(a->calls[i].args_obj);
	}
	free(a->calls);
	free(a->finish_reason);
	free(a->model);
	free(a->id);
	free(a->why);
	llm_acc_init(a, a->max, a->on_delta, a->ud);
}

enum kith_status llm_acc_fail(struct llm_acc *a, enum kith_status st, const char *fmt, ...)
{
	va_list ap;

	if (a->why)
		return st;
	va_start(ap, fmt);
	a->why = xvasprintf(fmt, ap);
	va_end(ap);
	return st;
}

enum kith_status llm_acc_content(struct llm_acc *a, const char *s, size_t n)
{
	if (n == 0)
		return KITH_OK;
	if (buf_append(&a->content, s, n))
		return llm_acc_fail(a, KITH_ETOOBIG, "the answer is longer than %zu bytes", a->max);
	if (a->on_delta)
		a->on_delta(s, n, a->ud);
	return KITH_OK;
}

enum kith_status llm_acc_thinking(struct llm_acc *a, const char *s, size_t n)
{
	if (n && buf_append(&a->thinking, s, n))
		return llm_acc_fail(a, KITH_ETOOBIG, "the reasoning is longer than %zu bytes", a->max);
	return KITH_OK;
}

struct llm_acc_call *llm_acc_call(struct llm_acc *a, long index)
{
	struct llm_acc_call *tc;

	for (size_t i = 0; i < a->ncalls; i++) {
		if (a->calls[i].index == index)
			return &a->calls[i];
	}
	if (a->ncalls >= LLM_MAX_CALLS) {
		(void)llm_acc_fail(a, KITH_EPROTO, "more than %d tool calls", LLM_MAX_CALLS);
		return NULL;
	}
	a->calls = xgrow(a->calls, &a->calls_cap, a->ncalls + 1, sizeof(*a->calls));
	tc = &a->calls[a->ncalls++];
	memset(tc, 0, sizeof(*tc));
	tc->index = index;
	buf_init(&tc->args, a->max);
	return tc;
}

enum kith_status llm_acc_args(struct llm_acc *a, struct llm_acc_call *call, const json_t *args)
{
	enum kith_status st;

	if (json_is_string(args)) {
		st = buf_append(&call->args, json_string_value(args), json_string_length(args));
	} else {
		char *t = kjson_dump(args, false);

		st = buf_puts(&call->args, t);
		free(t);
	}
	return st ? llm_acc_fail(a, KITH_ETOOBIG, "tool arguments too long") : KITH_OK;
}

enum kith_status llm_acc_server_error(struct llm_acc *a, const json_t *err)
{
	char *t = llm_error_text(err);
	enum kith_status st = llm_acc_fail(a, KITH_EHTTP, "%s", t ? t : "unspecified error");

	free(t);
	return st;
}

/* Arguments text to a JSON object.  An empty string means "no arguments"
 * (some servers send "" for parameterless tools); anything that is not a
 * JSON object gives NULL, and the raw text stays for the caller to show. */
static json_t *parse_args(const char *text)
{
	struct slice s = slice_trim(slice_cstr(text));
	json_t *v;

	if (s.n == 0)
		return json_object();
	v = json_loadb(s.p, s.n, 0, NULL);
	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

json_t *llm_args_object(const struct llm_tool_call *tc)
{
	json_t *v = NULL;

	if (json_is_object(tc->arguments))
		return json_deep_copy(tc->arguments);
	if (tc->arguments_raw)
		v = parse_args(tc->arguments_raw);
	return v ? v : json_object();
}

json_t *llm_tool_defs(const json_t *tools)
{
	json_t *out = json_array();
	size_t i;
	json_t *t;

	json_array_foreach(tools, i, t) {
		json_t *fn;

		if (kjson_obj(t, "function")) {
			json_array_append_new(out, json_deep_copy(t));
			continue;
		}
		fn = json_deep_copy(t);
		if (!json_is_object(fn)) {
			json_decref(fn);
			continue;
		}
		json_array_append_new(out, json_pack("{s:s, s:o}", "type", "function",
						     "function", fn));
	}
	return out;
}

void llm_acc_finish(struct llm_acc *a, struct llm_response *out)
{
	free(out->content);
	out->content = buf_detach(&a->content);
	free(out->thinking);
	out->thinking = a->thinking.len ? buf_detach(&a->thinking) : NULL;
	if (a->ncalls) {
		out->calls = xcalloc(a->ncalls, sizeof(*out->calls));
		out->ncalls = a->ncalls;
	}
	for (size_t i = 0; i < a->ncalls; i++) {
		struct llm_acc_call *s = &a->calls[i];
		struct llm_tool_call *d = &out->calls[i];

		d->id = s->id && s->id[0] ? xstrdup(s->id) : xasprintf("call_%zu", i);
		d->name = xstrdup(s->name ? s->name : "");
		if (s->args_obj) {
			d->arguments = json_incref(s->args_obj);
			d->arguments_raw = kjson_dump(s->args_obj, false);
		} else {
			d->arguments_raw = buf_detach(&s->args);
			d->arguments = parse_args(d->arguments_raw);
		}
	}
	if (a->finish_reason) {
		free(out->finish_reason);
		out->finish_reason = a->finish_reason;
		a->finish_reason = NULL;
	}
	if (a->model) {
		free(out->model);
		out->model = a->model;
		a->model = NULL;
	}
	out->prompt_tokens = a->prompt_tokens;
	out->completion_tokens = a->completion_tokens;
	llm_acc_release(a);
}

/* ---- one chat exchange ---- */

struct chat_run {
	const struct llm_ops *w;
	struct llm_acc acc;
	struct ndjson nd;
	struct sse sse;
};

static enum kith_status run_object(struct chat_run *r, const char *p, size_t n,
				   const char *what)
{
	json_t *j = json_loadb(p, n, 0, NULL);
	enum kith_status st;

	if (!j)
		return llm_acc_fail(&r->acc, KITH_EPROTO, "%s is not JSON", what);
	st = r->w->chunk(&r->acc, j);
	json_decref(j);
	return st;
}

static enum kith_status run_line(const char *p, size_t n, void *ud)
{
	return run_object(ud, p, n, "a line of the stream");
}

static enum kith_status run_event(const char *p, size_t n, void *ud)
{
	return run_object(ud, p, n, "an event of the stream");
}

static enum kith_status run_data(const char *p, size_t n, void *ud)
{
	struct chat_run *r = ud;
	enum kith_status st = r->w->sse ? sse_feed(&r->sse, p, n) : ndjson_feed(&r->nd, p, n);

	if (st == KITH_ETOOBIG)
		return llm_acc_fail(&r->acc, st, "a piece of the stream is longer than %zu bytes",
				    r->acc.max);
	return st;
}

static enum kith_status run_finish(struct chat_run *r)
{
	enum kith_status st = r->w->sse ? sse_finish(&r->sse) : ndjson_finish(&r->nd);

	if (st == KITH_ETOOBIG)
		return llm_acc_fail(&r->acc, st, "a piece of the stream is longer than %zu bytes",
				    r->acc.max);
	if (st == KITH_OK && !r->acc.done && !(r->w->sse && r->sse.done))
		st = llm_acc_fail(&r->acc, KITH_EPROTO,
				  "the stream ended before the answer was complete");
	return st;
}

static bool has_images(const struct llm_request *req)
{
	for (size_t i = 0; i < req->nmsgs; i++) {
		if (req->msgs[i].nimages)
			return true;
	}
	return false;
}

/* POST the provider's body for req and fill `out`, request and response
 * records included.  With images the body sent and the one recorded
 * differ: megabytes of base64 have no place in llm_calls. */
static enum kith_status run_chat(struct llm_client *c, const struct llm_request *req,
				 const char *model, double temp, struct llm_response *out,
				 char **why)
{
	const struct llm_ops *w = providers[c->cfg.provider].ops;
	json_t *body = w->build_chat(c, req, model, temp, false);
	struct chat_run r;
	struct http_response resp;
	struct llm_http h = { 0 };
	char *reason = NULL, *error = NULL, *sent;
	size_t max = c->cfg.max_response_bytes;
	enum kith_status st;

	sent = kjson_dump(body, false);
	json_decref(body);
	if (has_images(req)) {
		body = w->build_chat(c, req, model, temp, true);
		out->request_json = kjson_dump(body, false);
		json_decref(body);
	} else {
		out->request_json = sent;
	}
	r.w = w;
	llm_acc_init(&r.acc, max, req->stream ? req->on_delta : NULL, req->ud);
	ndjson_init(&r.nd, max, run_line, &r);
	sse_init(&r.sse, max, run_event, &r);
	http_response_init(&resp);

	h.method = "POST";
	h.path = w->chat_path;
	h.body = sent;
	h.cancel = req->cancel;
	h.event_stream = req->stream && w->sse;
	h.hint_ms = w->hint_ms;
	h.give_up = w->give_up;
	if (req->stream) {
		h.on_data = run_data;
		h.ud = &r;
	}
	st = llm_http_do(c, &h, &resp, &out->attempts, &reason);
	out->http_status = resp.status;
	if (st == KITH_OK && req->stream)
		st = run_finish(&r);
	else if (st == KITH_OK)
		st = run_object(&r, buf_str(&resp.body), resp.body.len, "the answer");
	if (st == KITH_OK && !r.acc.saw_answer)
		st = llm_acc_fail(&r.acc, KITH_EPROTO, "the answer has no message in it");

	if (st && r.acc.why) {
		llm_answer_fail(c, st, r.acc.why, why);
		if (st == KITH_EHTTP)
			error = xstrdup(r.acc.why);
	} else if (st) {
		st = llm_fail(c, st, &resp, reason, out->attempts, model, w->chat_path, why);
	}

	llm_acc_finish(&r.acc, out);
	if (req->stream && resp.streamed_any) {
		json_t *j = w->reassemble(out, error);

		out->response_json = kjson_dump(j, false);
		json_decref(j);
	} else if (resp.body.len) {
		out->response_json = xstrdup(resp.body.data);
	}
	if (sent != out->request_json)
		free(sent);
	free(error);
	free(reason);
	ndjson_release(&r.nd);
	sse_release(&r.sse);
	llm_acc_release(&r.acc);
	http_response_release(&resp);
	return st;
}

/* ---- embeddings ---- */

enum kith_status llm_vecs_put(struct llm_vecs *vs, size_t i, const json_t *arr, char **bad)
{
	size_t k;
	json_t *x;

	KITH_ASSERT(i < vs->n);
	if (!vs->v) {
		vs->dim = json_array_size(arr);
		if (vs->dim == 0)
			return kith_why(bad, KITH_EPROTO, "empty embedding");
		vs->v = xcalloc(vs->n * vs->dim, sizeof(float));
	}
	if (!json_is_array(arr) || json_array_size(arr) != vs->dim)
		return kith_why(bad, KITH_EPROTO, "embeddings of different sizes");
	json_array_foreach(arr, k, x) {
		if (!json_is_number(x))
			return kith_why(bad, KITH_EPROTO, "non-numeric embedding");
		vs->v[i * vs->dim + k] = (float)json_number_value(x);
	}
	return KITH_OK;
}

static enum kith_status run_embed(struct llm_client *c, const char *model,
				  const char *const *texts, size_t n, float **vecs, size_t *dim,
				  const struct cancel *cancel, char **why)
{
	const struct llm_ops *w = providers[c->cfg.provider].ops;
	json_t *body = json_object(), *input = json_array(), *reply = NULL;
	struct llm_vecs vs = { .n = n };
	struct llm_http h = { 0 };
	char *text, *bad = NULL;
	enum kith_status st;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(input, json_string(texts[i] ? texts[i] : ""));
	json_object_set_new(body, "model", json_string(model));
	json_object_set_new(body, "input", input);
	if (w->encoding_format)
		json_object_set_new(body, "encoding_format", json_string(w->encoding_format));
	text = kjson_dump(body, false);
	h.method = "POST";
	h.path = w->embed_path;
	h.body = text;
	h.cancel = cancel;
	h.hint_ms = w->hint_ms;
	h.give_up = w->give_up;
	st = llm_json_exchange(c, &h, model, &reply, why);
	if (st == KITH_OK && (st = w->take_embeddings(reply, &vs, &bad)))
		llm_answer_fail(c, st, bad ? bad : "malformed embeddings", why);
	if (st == KITH_OK) {
		*vecs = vs.v;
		*dim = vs.dim;
		vs.v = NULL;
	}
	free(vs.v);
	free(bad);
	free(text);
	json_decref(reply);
	json_decref(body);
	return st;
}

/* ---- entry points ---- */

enum kith_status llm_chat(struct llm_client *c, const struct llm_request *req,
			  struct llm_response *out, char **why)
{
	int64_t t0 = clock_mono_ms();
	const char *model;
	double temp;
	enum kith_status st;

	response_init(out);
	model = llm_model(c, req->role);
	if (!model) {
		st = kith_why(why, KITH_ECONFIG, "no model is configured for the %s role",
			      llm_role_name(req->role));
		goto out;
	}
	out->model = xstrdup(model);
	temp = req->temperature >= 0 ? req->temperature : c->cfg.temperature[req->role];
	st = run_chat(c, req, model, temp, out, why);
	if (st == KITH_OK && !out->content)
		out->content = xstrdup("");
out:
	out->duration_ms = clock_mono_ms() - t0;
	log_debug("llm", "chat %s/%s: %s, %d attempt(s), %lld ms, tokens %ld in %ld out",
		  llm_role_name(req->role), model ? model : "-", kith_strerror(st),
		  out->attempts, (long long)out->duration_ms, out->prompt_tokens,
		  out->completion_tokens);
	return st;
}

enum kith_status llm_embed(struct llm_client *c, const char *const *texts, size_t n,
			   float **vecs, size_t *dim, const struct cancel *cancel, char **why)
{
	const char *model = llm_model(c, LLM_ROLE_EMBED);

	*vecs = NULL;
	*dim = 0;
	if (!model)
		return kith_why(why, KITH_ECONFIG, "no model is configured for the embed role");
	if (n == 0)
		return KITH_OK;
	return run_embed(c, model, texts, n, vecs, dim, cancel, why);
}

enum kith_status llm_health(struct llm_client *c, char **why)
{
	return providers[c->cfg.provider].ops->health(c, why);
}
