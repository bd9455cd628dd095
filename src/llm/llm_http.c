/* llm_http.c — the LLM layer's HTTP exchanges and the words for their failures.
 *
 * Every request either provider makes goes through llm_http_do() (headers,
 * timeouts, caps, retry policy from the configuration), and every failure
 * becomes a sentence here, so both providers fail in the same words:
 * "cannot reach Ollama at …: connection refused".  A transport or HTTP
 * failure is worded by llm_fail(); an answer that arrived but is wrong (an
 * error in a 200 body, a malformed reply) by llm_answer_fail(). */
#include "llm/llm_int.h"
#include "core/alloc.h"
#include "core/json.h"

#include <string.h>
#include <strings.h>

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

enum kith_status llm_json_exchange(const struct llm_client *c, const struct llm_http *h,
				   const char *model, json_t **reply, char **why)
{
	struct http_response resp;
	char *reason = NULL;
	int attempts = 0;
	enum kith_status st;

	*reply = NULL;
	http_response_init(&resp);
	st = llm_http_do(c, h, &resp, &attempts, &reason);
	if (st)
		st = llm_fail(c, st, &resp, reason, attempts, model, h->path, why);
	else
		*reply = json_loadb(buf_str(&resp.body), resp.body.len, 0, NULL);
	free(reason);
	http_response_release(&resp);
	return st;
}

enum kith_status llm_answer_fail(const struct llm_client *c, enum kith_status st,
				 const char *what, char **why)
{
	char *where = llm_where(c);

	if (st == KITH_EHTTP)
		kith_why(why, st, "%s reported an error: %s", where, what);
	else if (st == KITH_ETOOBIG)
		kith_why(why, st, "the answer from %s is too big: %s", where, what);
	else
		kith_why(why, st, "unexpected answer from %s: %s", where, what);
	free(where);
	return st;
}
