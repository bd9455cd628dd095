/* rest.c — signal-cli-rest-api over HTTP: send, typing, reactions,
 * attachment downloads, receive polls and /v1/about.
 *
 * One retry loop decides what is worth another try: no connection, a 5xx,
 * a 408, and the 400s that signal-cli gives for its own network trouble
 * (a SocketException or UnexpectedErrorException in the error text, which
 * Penny retries too) — with bounded exponential backoff.  A 429 is Signal's
 * rate limit with a captcha challenge, which waiting seconds does not lift,
 * so it is final; so are other 4xx.  A send whose answer never came (a
 * timeout) is not retried either, since it may have gone out; the caller
 * logs it.  Paths carry the account number, so log lines name the
 * operation instead of the path. */
#include "channel/signal/signal_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEF_BASE_MS 500
#define DEF_MAX_MS 8000
#define DEF_ATTEMPTS 5
#define DEF_TIMEOUT_MS 60000
#define DEF_MAX_ATTACHMENT ((size_t)50 << 20)

struct sg_rest {
	char *base;          /* without a trailing slash */
	char *number;        /* raw */
	char *number_path;   /* URL-escaped */
	const struct cancel *cancel;
	long base_ms, max_ms, timeout_ms;
	int attempts;
	size_t max_attachment;
	unsigned seed;
	pthread_mutex_t mu;  /* guards seed */
};

struct sg_rest *sg_rest_new(const struct signal_config *cfg, const struct cancel *cancel)
{
	struct sg_rest *r = xcalloc(1, sizeof(*r));
	size_t n;

	r->base = xstrdup(cfg->api_url ? cfg->api_url : "http://localhost:8080");
	n = strlen(r->base);
	while (n > 0 && r->base[n - 1] == '/')
		r->base[--n] = '\0';
	r->number = xstrdup(cfg->number ? cfg->number : "");
	r->number_path = sg_url_escape(r->number);
	r->cancel = cancel;
	r->base_ms = cfg->send_base_ms > 0 ? cfg->send_base_ms : DEF_BASE_MS;
	r->max_ms = cfg->send_max_ms > 0 ? cfg->send_max_ms : DEF_MAX_MS;
	r->attempts = cfg->send_max_attempts > 0 ? cfg->send_max_attempts : DEF_ATTEMPTS;
	r->timeout_ms = cfg->http_timeout_ms > 0 ? cfg->http_timeout_ms : DEF_TIMEOUT_MS;
	r->max_attachment = cfg->max_attachment_bytes ? cfg->max_attachment_bytes : DEF_MAX_ATTACHMENT;
	r->seed = (unsigned)clock_mono_ms() ^ (unsigned)(uintptr_t)r;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void sg_rest_free(struct sg_rest *r)
{
	if (!r)
		return;
	free(r->base);
	free(r->number);
	free(r->number_path);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

const char *sg_rest_base(const struct sg_rest *r)
{
	return r->base;
}

static double draw(struct sg_rest *r)
{
	double v;

	pthread_mutex_lock(&r->mu);
	v = (double)rand_r(&r->seed) / ((double)RAND_MAX + 1.0);
	pthread_mutex_unlock(&r->mu);
	return v;
}

static bool transient_400(const struct http_response *res)
{
	const char *b = buf_str(&res->body);

	return res->status == 400 &&
	       (strstr(b, "SocketException") || strstr(b, "UnexpectedErrorException"));
}

/* Why a final HTTP answer failed, in words (caller frees). */
static char *http_reason(const struct http_response *res)
{
	char *text = sg_error_text(buf_str(&res->body), res->body.len);
	char *r;

	if (res->status == 429)
		r = xasprintf("Signal rate-limits this account (HTTP 429%s%s); a captcha challenge "
			      "must be solved via /v1/accounts/{number}/rate-limit-challenge",
			      text ? ": " : "", text ? text : "");
	else
		r = xasprintf("HTTP %ld%s%s", res->status, text ? ": " : "", text ? text : "");
	free(text);
	return r;
}

struct call {
	const char *what;        /* "send", "typing indicator", … for messages */
	const char *method;
	char *path;              /* owned */
	const char *body;
	int attempts;            /* 1 = no retry */
	bool idempotent;         /* a timeout may be retried */
	size_t max_response;
	long timeout_ms;
};

static enum kith_status call(struct sg_rest *r, const struct call *c, struct http_response *res,
			     char **why)
{
	static const char *const json_hdr[] = { "Content-Type: application/json", NULL };
	char *url = xasprintf("%s%s", r->base, c->path), *last = NULL;
	struct http_request req = { 0 };
	enum kith_status st = KITH_OK;
	int attempt;

	req.method = c->method;
	req.url = url;
	req.headers = c->body ? json_hdr : NULL;
	req.body = c->body;
	req.body_len = c->body ? strlen(c->body) : 0;
	req.timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : r->timeout_ms;
	req.connect_timeout_ms = 10000;
	req.max_response = c->max_response;
	req.cancel = r->cancel;
	for (attempt = 1;; attempt++) {
		bool again;
		long w;

		free(last);
		last = NULL;
		st = http_perform(&req, res, &last);
		if (st == KITH_OK)
			goto out;
		again = st == KITH_ECONNECT || (st == KITH_ETIMEDOUT && c->idempotent) ||
			(st == KITH_EHTTP && (res->status >= 500 || res->status == 408 ||
					      transient_400(res)));
		if (st == KITH_EHTTP) {
			free(last);
			last = http_reason(res);
		}
		if (!again || attempt >= c->attempts) {
			if (again && c->attempts > 1)
				kith_why(why, st, "%s failed after %d tries: %s", c->what, attempt, last);
			else if (st == KITH_ETIMEDOUT && !c->idempotent)
				kith_why(why, st, "%s: %s (it may or may not have been delivered)", c->what,
					 last);
			else
				kith_why(why, st, "%s: %s", c->what, last);
			goto out;
		}
		w = sg_backoff_ms(r->base_ms, r->max_ms, attempt, draw(r));
		log_info("signal", "%s failed (%s); try %d of %d in %ld ms", c->what, last, attempt + 1,
			 c->attempts, w);
		if (clock_sleep_unless(w, r->cancel)) {
			st = kith_why(why, KITH_ECANCELED, "%s: cancelled", c->what);
			goto out;
		}
	}
out:
	free(last);
	free(url);
	return st;
}

/* A filename safe inside a data: URL parameter. */
static char *safe_filename(const char *fn)
{
	char *s = xstrdup(fn && *fn ? fn : "file");

	for (char *p = s; *p; p++)
		if (*p == ';' || *p == ',' || *p == '"' || (unsigned char)*p < 0x20)
			*p = '_';
	return s;
}

char *sg_send_body(const char *number, const char *recipient, const char *text,
		   int64_t quote_ts, const char *quote_author, const char *quote_text,
		   const struct attachment *att, size_t natt)
{
	json_t *o = json_object(), *list;
	char *out;

	if (text && *text)
		json_object_set_new(o, "message", json_string(text));
	json_object_set_new(o, "number", json_string(number));
	json_object_set_new(o, "recipients", json_pack("[s]", recipient));
	json_object_set_new(o, "text_mode", json_string("styled"));
	if (quote_ts > 0 && quote_author && *quote_author) {
		json_object_set_new(o, "quote_timestamp", json_integer((json_int_t)quote_ts));
		json_object_set_new(o, "quote_author", json_string(quote_author));
		if (quote_text)
			json_object_set_new(o, "quote_message", json_string(quote_text));
	}
	if (natt) {
		list = json_array();
		for (size_t i = 0; i < natt; i++) {
			char *b64 = sg_base64(att[i].data ? att[i].data : (const unsigned char *)"",
					      att[i].len);
			char *fn = safe_filename(att[i].filename);
			char *item = xasprintf("data:%s;filename=%s;base64,%s",
					       att[i].content_type && *att[i].content_type
					       ? att[i].content_type : "application/octet-stream",
					       fn, b64);

			json_array_append_new(list, json_string(item));
			free(item);
			free(fn);
			free(b64);
		}
		json_object_set_new(o, "base64_attachments", list);
	}
	out = kjson_dump(o, false);
	json_decref(o);
	return out;
}

enum kith_status sg_rest_send(struct sg_rest *r, const char *body, int64_t *ts, char **why)
{
	struct http_response res;
	struct call c = { "send", "POST", xstrdup("/v2/send"), body, r->attempts, false, 0, 0 };
	enum kith_status st;

	*ts = 0;
	http_response_init(&res);
	for (int round = 1;; round++) {
		char *failures = NULL;

		st = call(r, &c, &res, why);
		if (st)
			break;
		sg_parse_send_answer(buf_str(&res.body), res.body.len, ts, &failures);
		if (!failures)
			break;
		/* The array form reports per-recipient failures; a network
		 * failure is worth another try, the others are final. */
		if (strstr(failures, "NETWORK_FAILURE") && round < r->attempts) {
			long w = sg_backoff_ms(r->base_ms, r->max_ms, round, draw(r));

			log_info("signal", "send reported %s; try %d of %d in %ld ms", failures,
				 round + 1, r->attempts, w);
			free(failures);
			if (clock_sleep_unless(w, r->cancel)) {
				st = kith_why(why, KITH_ECANCELED, "send: cancelled");
				break;
			}
			continue;
		}
		st = kith_why(why, KITH_EHTTP, "send: Signal did not deliver it: %s", failures);
		free(failures);
		break;
	}
	http_response_release(&res);
	free(c.path);
	return st;
}

enum kith_status sg_rest_typing(struct sg_rest *r, const char *recipient, bool on, char **why)
{
	struct http_response res;
	json_t *o = json_pack("{s:s}", "recipient", recipient);
	char *body = kjson_dump(o, false);
	struct call c = { "typing indicator", on ? "PUT" : "DELETE",
			  xasprintf("/v1/typing-indicator/%s", r->number_path), body, 2, true, 0,
			  10000 };
	enum kith_status st;

	http_response_init(&res);
	st = call(r, &c, &res, why);
	http_response_release(&res);
	free(c.path);
	free(body);
	json_decref(o);
	return st;
}

enum kith_status sg_rest_react(struct sg_rest *r, const char *recipient, const char *emoji,
			       const char *target_author, int64_t target_ts, bool remove,
			       char **why)
{
	struct http_response res;
	json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "recipient", recipient, "reaction", emoji,
			      "target_author", target_author, "timestamp", (json_int_t)target_ts);
	char *body = kjson_dump(o, false);
	struct call c = { "reaction", remove ? "DELETE" : "POST",
			  xasprintf("/v1/reactions/%s", r->number_path), body, r->attempts, false, 0,
			  0 };
	enum kith_status st;

	http_response_init(&res);
	st = call(r, &c, &res, why);
	http_response_release(&res);
	free(c.path);
	free(body);
	json_decref(o);
	return st;
}

enum kith_status sg_rest_attachment(struct sg_rest *r, const char *id, unsigned char **data,
				    size_t *len, char **ctype, char **why)
{
	struct http_response res;
	char *enc = sg_url_escape(id);
	struct call c = { "attachment download", "GET", xasprintf("/v1/attachments/%s", enc), NULL,
			  r->attempts, true, r->max_attachment, 0 };
	enum kith_status st;

	*data = NULL;
	*len = 0;
	if (ctype)
		*ctype = NULL;
	http_response_init(&res);
	st = call(r, &c, &res, why);
	if (!st) {
		*len = res.body.len;
		*data = (unsigned char *)buf_detach(&res.body);
		if (ctype)
			*ctype = xstrdup(res.content_type);
	}
	http_response_release(&res);
	free(c.path);
	free(enc);
	return st;
}

enum kith_status sg_rest_poll(struct sg_rest *r, long timeout_s, struct buf *body, char **why)
{
	struct http_response res;
	struct call c = { "receive poll", "GET",
			  xasprintf("/v1/receive/%s?timeout=%ld&ignore_attachments=false&"
				    "ignore_stories=true&max_messages=0&send_read_receipts=false",
				    r->number_path, timeout_s), NULL, 1, true, SG_MAX_POLL_BODY,
			  timeout_s * 1000 + r->timeout_ms };
	enum kith_status st;

	http_response_init(&res);
	st = call(r, &c, &res, why);
	buf_reset(body);
	if (!st && buf_append(body, buf_str(&res.body), res.body.len) != KITH_OK)
		st = kith_why(why, KITH_ETOOBIG, "receive poll: answer too large");
	http_response_release(&res);
	free(c.path);
	return st;
}

char *sg_rest_mode(struct sg_rest *r)
{
	struct http_response res;
	struct call c = { "about", "GET", xstrdup("/v1/about"), NULL, 1, true, 1 << 16, 10000 };
	char *mode = NULL, *why = NULL;

	http_response_init(&res);
	if (call(r, &c, &res, &why) == KITH_OK)
		mode = sg_parse_about_mode(buf_str(&res.body), res.body.len);
	else
		log_debug("signal", "%s", why);
	free(why);
	http_response_release(&res);
	free(c.path);
	return mode;
}
