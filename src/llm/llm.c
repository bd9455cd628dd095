/* llm.c — the provider-neutral half of the LLM layer.
 *
 * Configuration, message helpers, the dispatch of llm_chat/llm_embed/
 * llm_health to the provider table, the answer accumulator both providers
 * fill, and the one place where a failed HTTP exchange becomes a sentence a
 * person can act on ("cannot reach Ollama at …: connection refused").
 * Keeping the wording here means both providers fail in the same words. */
#include "llm/llm_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "llm/ndjson.h"
#include "llm/sse.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

static const char *const role_names[LLM_ROLE_COUNT_] = {
	[LLM_ROLE_MAIN] = "main",
	[LLM_ROLE_UTIL] = "util",
	[LLM_ROLE_VISION] = "vision",
	[LLM_ROLE_EMBED] = "embed",
	[LLM_ROLE_IMAGE] = "image",
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
	st = providers[c->cfg.provider].ops->chat(c, req, model, temp, out, why);
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
	return providers[c->cfg.provider].ops->embed(c, model, texts, n, vecs, dim, cancel, why);
}

enum kith_status llm_health(struct llm_client *c, char **why)
{
	return providers[c->cfg.provider].ops->health(c, why);
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
	if (a->ncalls >= LLM_MAX_CALLS)
		return NULL;
	a->calls = xgrow(a->calls, &a->calls_cap, a->ncalls + 1, sizeof(*a->calls));
	tc = &a->calls[a->ncalls++];
	memset(tc, 0, sizeof(*tc));
	tc->index = index;
	buf_init(&tc->args, a->max);
	return tc;
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

/* ---- errors ---- */

/* A server message can be a page of HTML; a sentence needs a line. */
static char *clip(const char *s, size_t n)
{
	struct slice t = slice_trim(slice_of(s, n));
	struct buf b = BUF_INIT(0);

	if (t.n > 300)
		t.n = 300;
	for (size_t i = 0; i < t.n; i++) {
		char ch = t.p[i];

		(void)buf_append(&b, (ch == '\n' || ch == '\r' || ch == '\t') ? " " : &ch, 1);
	}
	if (slice_trim(slice_of(s, n)).n > 300)
		(void)buf_puts(&b, "…");
	if (b.len == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

char *llm_error_text(const json_t *err)
{
	const char *msg;
	json_t *code, *meta;
	struct buf b = BUF_INIT(0);
	char *r;

	if (json_is_string(err))
		return clip(json_string_value(err), json_string_length(err));
	if (!json_is_object(err))
		return NULL;
	msg = kjson_str(err, "message");
	(void)buf_puts(&b, msg ? msg : "unspecified error");
	code = json_object_get(err, "code");
	/* A numeric code repeats the HTTP status; a string one adds a hint. */
	if (json_is_string(code))
		(void)buf_printf(&b, " (%s)", json_string_value(code));
	meta = kjson_obj(err, "metadata");
	if (kjson_str(meta, "raw"))
		(void)buf_printf(&b, ": %s", kjson_str(meta, "raw"));
	r = clip(b.data, b.len);
	buf_release(&b);
	return r;
}

char *llm_body_error_text(const char *body, size_t n)
{
	json_t *j;
	char *r = NULL;

	if (!body || n == 0)
		return NULL;
	j = json_loadb(body, n, 0, NULL);
	if (j) {
		json_t *e = json_object_get(j, "error");

		if (e)
			r = llm_error_text(e);
		else if (kjson_str(j, "message"))
			r = llm_error_text(j);
		json_decref(j);
		if (r)
			return r;
	}
	return clip(body, n);
}

char *llm_where(const struct llm_client *c)
{
	if (c->cfg.provider == LLM_PROVIDER_OLLAMA)
		return xasprintf("Ollama at %s", c->cfg.base_url);
	return xasprintf("%s endpoint at %s", llm_provider_name(c->cfg.provider), c->cfg.base_url);
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay && *hay; hay++) {
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	}
	return false;
}

enum kith_status llm_fail(const struct llm_client *c, enum kith_status st,
			  const struct http_response *resp, const char *reason,
			  int attempts, const char *model, const char *path, char **why)
{
	char *where = llm_where(c);
	char *server = NULL, after[48] = "", detail[512] = "";
	const char *r = reason ? reason : kith_strerror(st);
	long code = resp ? resp->status : 0;

	if (attempts > 1)
		snprintf(after, sizeof(after), " (after %d attempts)", attempts);
	if (st == KITH_EHTTP && resp)
		server = llm_body_error_text(resp->body.data, resp->body.len);
	if (server)
		snprintf(detail, sizeof(detail), ": %s", server);

	switch (st) {
	case KITH_ECONNECT:
		if (resp && resp->streamed_any)
			st = kith_why(why, st, "the connection to %s broke during the answer: %s",
				      where, r);
		else
			st = kith_why(why, st, "cannot reach %s: %s%s", where, r, after);
		break;
	case KITH_ETIMEDOUT:
		st = kith_why(why, st, "%s did not answer in time: %s%s", where, r, after);
		break;
	case KITH_ECANCELED:
		st = kith_why(why, st, "request to %s was cancelled", where);
		break;
	case KITH_ETOOBIG:
		st = kith_why(why, st, "the answer from %s is too big: %s", where, r);
		break;
	case KITH_EINVAL:
		st = kith_why(why, KITH_ECONFIG, "cannot use the URL of %s: %s", where, r);
		break;
	case KITH_EHTTP:
		if (code == 401) {
			if (c->cfg.api_key)
				st = kith_why(why, KITH_EAUTH, "%s rejected the API key (401)%s",
					      where, detail);
			else
				st = kith_why(why, KITH_EAUTH,
					      "%s wants an API key (401) and none is configured%s",
					      where, detail);
		} else if (code == 403) {
			st = kith_why(why, KITH_EAUTH, "%s refused the request (403)%s", where,
				      detail);
		} else if (code == 404 && model &&
			   (contains_ci(server, model) || contains_ci(server, "model") ||
			    contains_ci(server, "endpoints"))) {
			if (c->cfg.provider == LLM_PROVIDER_OLLAMA)
				st = kith_why(why, KITH_ENOTFOUND,
					      "model '%s' not found on %s (try `ollama pull %s`)",
					      model, where, model);
			else
				st = kith_why(why, KITH_ENOTFOUND, "model '%s' not found on %s%s",
					      model, where, detail);
		} else if (code == 404) {
			st = kith_why(why, KITH_ENOTFOUND,
				      "%s answered 404 for %s%s; is the base URL right?", where,
				      path ? path : "that path", detail);
		} else if (code == 429) {
			st = kith_why(why, KITH_ERATELIMIT, "rate limited by %s after %d attempt%s%s",
				      where, attempts, attempts == 1 ? "" : "s", detail);
		} else if (code == 402) {
			st = kith_why(why, st, "%s refused the request for lack of credits (402)%s",
				      where, detail);
		} else if (code >= 500) {
			st = kith_why(why, st, "%s failed with HTTP %ld%s%s", where, code, after,
				      detail);
		} else {
			st = kith_why(why, st, "%s rejected the request (HTTP %ld)%s", where, code,
				      detail);
		}
		break;
	default:
		st = kith_why(why, st, "unexpected answer from %s: %s", where, r);
		break;
	}
	free(server);
	free(where);
	return st;
}

/* ---- HTTP ---- */

enum kith_status llm_http_do(const struct llm_client *c, const struct llm_http *h,
			     struct http_response *resp, int *attempts, char **reason)
{
	const struct llm_config *cfg = &c->cfg;
	char *owned[6] = { 0 };
	const char *hdrs[8];
	size_t nh = 0, no = 0;
	struct http_request req = { 0 };
	struct http_retry policy = { 0 };
	char *url = xasprintf("%s%s", cfg->base_url, h->path);
	enum kith_status st;

	if (h->body)
		hdrs[nh++] = "Content-Type: application/json";
	hdrs[nh++] = h->event_stream ? "Accept: text/event-stream" : "Accept: application/json";
	if (cfg->api_key)
		hdrs[nh++] = owned[no++] = xasprintf("Authorization: Bearer %s", cfg->api_key);
	if (cfg->provider == LLM_PROVIDER_OPENAI && cfg->referer && cfg->referer[0])
		hdrs[nh++] = owned[no++] = xasprintf("HTTP-Referer: %s", cfg->referer);
	if (cfg->provider == LLM_PROVIDER_OPENAI && cfg->title && cfg->title[0])
		hdrs[nh++] = owned[no++] = xasprintf("X-Title: %s", cfg->title);
	hdrs[nh] = NULL;

	req.method = h->method;
	req.url = url;
	req.headers = hdrs;
	req.body = h->body;
	req.body_len = h->body ? strlen(h->body) : 0;
	req.timeout_ms = cfg->timeout_ms;
	req.connect_timeout_ms = cfg->connect_timeout_ms;
	req.max_response = cfg->max_response_bytes;
	req.cancel = h->cancel;
	req.on_data = h->on_data;
	req.ud = h->ud;

	policy.max_attempts = h->max_attempts > 0 ? h->max_attempts : cfg->max_attempts;
	policy.base_ms = cfg->retry_base_ms;
	policy.max_ms = cfg->retry_max_ms;
	policy.hint_ms = h->hint_ms;
	policy.give_up = h->give_up;

	st = http_perform_retry(&req, &policy, resp, attempts, reason);
	for (size_t i = 0; i < no; i++)
		free(owned[i]);
	free(url);
	return st;
}

/* ---- one chat exchange ---- */

struct chat_run {
	const struct llm_wire *w;
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

enum kith_status llm_run_chat(struct llm_client *c, const struct llm_request *req,
			      const char *model, const struct llm_wire *w,
			      struct llm_response *out, char **why)
{
	struct chat_run r;
	struct http_response resp;
	struct llm_http h = { 0 };
	char *reason = NULL, *error = NULL;
	size_t max = c->cfg.max_response_bytes;
	enum kith_status st;

	r.w = w;
	llm_acc_init(&r.acc, max, req->stream ? req->on_delta : NULL, req->ud);
	ndjson_init(&r.nd, max, run_line, &r);
	sse_init(&r.sse, max, run_event, &r);
	http_response_init(&resp);

	h.method = "POST";
	h.path = w->path;
	h.body = out->request_json;
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
		char *where = llm_where(c);

		if (st == KITH_EHTTP)
			kith_why(why, st, "%s reported an error: %s", where, r.acc.why);
		else if (st == KITH_ETOOBIG)
			kith_why(why, st, "the answer from %s is too big: %s", where, r.acc.why);
		else
			kith_why(why, st, "unexpected answer from %s: %s", where, r.acc.why);
		free(where);
		if (st == KITH_EHTTP)
			error = xstrdup(r.acc.why);
	} else if (st) {
		st = llm_fail(c, st, &resp, reason, out->attempts, model, w->path, why);
	}

	llm_acc_finish(&r.acc, out);
	if (req->stream && resp.streamed_any) {
		json_t *j = w->reassemble(out, error);

		out->response_json = kjson_dump(j, false);
		json_decref(j);
	} else if (resp.body.len) {
		out->response_json = xstrdup(resp.body.data);
	}
	free(error);
	free(reason);
	ndjson_release(&r.nd);
	sse_release(&r.sse);
	llm_acc_release(&r.acc);
	http_response_release(&resp);
	return st;
}
