/* rest.c — Discord's REST API: messages, typing, reactions, history.
 *
 * Every call goes through dc_rest_call(): wait for the route's bucket (and
 * the global limit), send, learn from the rate-limit headers, and retry 429s
 * (after retry_after), 5xx and connection failures with bounded exponential
 * backoff.  Other 4xx answers are final: retrying a bad request cannot make
 * it good.  A message longer than 2000 characters goes out as several, in
 * order; a piece that still fails ends the send with the reason logged, so
 * nothing is dropped without a trace.  Attachments go as multipart/form-data
 * with payload_json, built here (the shape is simple and fixed). */
#include "channel/discord/discord_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASE_MS 500
#define DEFAULT_MAX_MS 60000
#define DEFAULT_ATTEMPTS 8
#define DEFAULT_TIMEOUT_MS 30000

struct dc_rest {
	char *base;          /* without a trailing slash */
	char *auth;          /* "Authorization: Bot …" */
	struct dc_rl *rl;
	const struct cancel *cancel;
	long base_ms, max_ms, timeout_ms;
	int attempts;
	unsigned seed;       /* backoff jitter */
	pthread_mutex_t mu;  /* guards seed */
};

struct dc_rest *dc_rest_new(const struct discord_config *cfg, const struct cancel *cancel)
{
	struct dc_rest *r = xcalloc(1, sizeof(*r));
	size_t n;

	r->base = xstrdup(cfg->api_url ? cfg->api_url : "https://discord.com/api/v10");
	n = strlen(r->base);
	while (n > 0 && r->base[n - 1] == '/')
		r->base[--n] = '\0';
	r->auth = xasprintf("Authorization: Bot %s", cfg->token ? cfg->token : "");
	r->rl = dc_rl_new();
	r->cancel = cancel;
	r->base_ms = cfg->rest_base_ms > 0 ? cfg->rest_base_ms : DEFAULT_BASE_MS;
	r->max_ms = cfg->rest_max_ms > 0 ? cfg->rest_max_ms : DEFAULT_MAX_MS;
	r->timeout_ms = cfg->rest_timeout_ms > 0 ? cfg->rest_timeout_ms : DEFAULT_TIMEOUT_MS;
	r->attempts = cfg->rest_max_attempts > 0 ? cfg->rest_max_attempts : DEFAULT_ATTEMPTS;
	r->seed = (unsigned)clock_mono_ms();
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void dc_rest_free(struct dc_rest *r)
{
	if (!r)
		return;
	dc_rl_free(r->rl);
	free(r->base);
	free(r->auth);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static double draw(struct dc_rest *r)
{
	double v;

	pthread_mutex_lock(&r->mu);
	v = (double)rand_r(&r->seed) / ((double)RAND_MAX + 1.0);
	pthread_mutex_unlock(&r->mu);
	return v;
}

/* Sleep, cut short by a cancel; false when cancelled. */
static bool wait_ms(struct dc_rest *r, long ms)
{
	if (ms <= 0)
		return !cancel_requested(r->cancel);
	return !clock_sleep_unless(ms, r->cancel);
}

static enum kith_status final_http_error(const char *method, const char *path,
					 struct dc_http_result *res, char **why)
{
	char *text = dc_error_text(buf_str(&res->body), res->body.len);
	enum kith_status st = res->status == 401 ? KITH_EAUTH : KITH_EHTTP;

	if (res->status == 401)
		kith_why(why, st, "Discord rejected the bot token (HTTP 401%s%s); check DISCORD_BOT_TOKEN",
			 text ? ": " : "", text ? text : "");
	else
		kith_why(why, st, "Discord answered HTTP %ld to %s %s%s%s", res->status, method, path,
			 text ? ": " : "", text ? text : "");
	free(text);
	return st;
}

enum kith_status dc_rest_call(struct dc_rest *r, const char *method, const char *path,
			      const char *content_type, const char *body, size_t body_len,
			      struct dc_http_result *out, char **why)
{
	struct dc_http_result res;
	char *route = dc_route_key(method, path);
	char *url = xasprintf("%s%s", r->base, path);
	char *ctype = content_type ? xasprintf("Content-Type: %s", content_type) : NULL;
	const char *headers[] = { r->auth, ctype, NULL };
	enum kith_status st = KITH_OK;
	char *last = NULL;
	int attempt;

	dc_http_result_init(&res);
	for (attempt = 1;; attempt++) {
		long w;

		/* Wait for the bucket; another thread may take the slot first,
		 * so ask again after each wait.  A limit longer than we are
		 * willing to block a caller for ends the call instead. */
		while ((w = dc_rl_acquire(r->rl, route, clock_mono_ms())) > 0) {
			if (w > r->max_ms) {
				st = kith_why(why, KITH_ERATELIMIT,
					      "%s %s: Discord's rate limit asks to wait %ld s", method,
					      path, (w + 999) / 1000);
				goto out;
			}
			log_debug("discord", "%s waits %ld ms for its rate limit", route, w);
			if (!wait_ms(r, w)) {
				st = kith_why(why, KITH_ECANCELED, "cancelled");
				goto out;
			}
		}
		free(last);
		last = NULL;
		st = dc_http_exchange(method, url, headers, body, body_len, r->timeout_ms, r->cancel,
				      &res, &last);
		if (st == KITH_ECANCELED || st == KITH_EINVAL || st == KITH_ETOOBIG) {
			kith_why(why, st, "%s %s: %s", method, path, last);
			goto out;
		}
		if (st == KITH_OK) {
			if (res.status == 429)
				dc_rl_info_body(&res.rl, buf_str(&res.body), res.body.len);
			dc_rl_update(r->rl, route, res.status, &res.rl, clock_mono_ms());
			if (res.status >= 200 && res.status <= 299)
				goto out;
			if (res.status != 429 && res.status < 500) {
				st = final_http_error(method, path, &res, why);
				goto out;
			}
			free(last);
			last = res.status == 429 ? xasprintf("rate limited (HTTP 429%s)",
							     res.rl.global ? ", global" : "")
				: xasprintf("HTTP %ld", res.status);
		}
		if (attempt >= r->attempts)
			break;
		/* 429: the bucket (or the global limit) now holds the wait. */
		w = res.status == 429 ? 0 : dc_backoff_ms(r->base_ms, r->max_ms, attempt, draw(r));
		log_info("discord", "%s %s failed (%s); try %d of %d in %ld ms", method, path, last,
			 attempt + 1, r->attempts, w);
		if (!wait_ms(r, w)) {
			st = kith_why(why, KITH_ECANCELED, "cancelled");
			goto out;
		}
	}
	st = res.status == 429 ? KITH_ERATELIMIT : st ? st : KITH_EHTTP;
	kith_why(why, st, "%s %s failed after %d tries: %s", method, path, r->attempts,
		 last ? last : "no answer");
out:
	if (out && st == KITH_OK) {
		dc_http_result_release(out);
		*out = res;
		dc_http_result_init(&res);
	}
	dc_http_result_release(&res);
	free(last);
	free(route);
	free(url);
	free(ctype);
	return st;
}

enum kith_status dc_rest_gateway_bot(struct dc_rest *r, char **url, int *max_concurrency,
				     char **why)
{
	struct dc_http_result res;
	enum kith_status st;

	*url = NULL;
	dc_http_result_init(&res);
	st = dc_rest_call(r, "GET", "/gateway/bot", NULL, NULL, 0, &res, why);
	if (!st)
		st = dc_parse_gateway_bot(buf_str(&res.body), res.body.len, url, max_concurrency, why);
	dc_http_result_release(&res);
	return st;
}

enum kith_status dc_rest_me(struct dc_rest *r, char **user_id, char **why)
{
	struct dc_http_result res;
	enum kith_status st;

	*user_id = NULL;
	dc_http_result_init(&res);
	st = dc_rest_call(r, "GET", "/users/@me", NULL, NULL, 0, &res, why);
	if (!st)
		st = dc_parse_user_id(buf_str(&res.body), res.body.len, user_id, why);
	dc_http_result_release(&res);
	return st;
}

char *dc_url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT(0);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			(void)buf_append(&b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			(void)buf_append(&b, e, 3);
		}
	}
	return buf_detach(&b);
}

/* Ids go into paths: digits only, so nothing can be smuggled in. */
static bool is_snowflake(const char *s)
{
	if (!s || !*s || strlen(s) > 24)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static json_t *message_json(const char *content, const char *reply_to)
{
	json_t *o = json_object();

	if (content)
		json_object_set_new(o, "content", json_string(content));
	if (reply_to) {
		json_object_set_new(o, "message_reference",
				    json_pack("{s:s, s:b}", "message_id", reply_to,
					      "fail_if_not_exists", 0));
	}
	/* A reply never pings anyone by accident: mentions in model output
	 * stay text. */
	json_object_set_new(o, "allowed_mentions", json_pack("{s:[], s:b}", "parse", "replied_user", 1));
	return o;
}

#define BOUNDARY "kith-discord-7d1c3b9a5e"

static void multipart_build(struct buf *b, json_t *payload, const struct attachment *att,
			    size_t natt)
{
	json_t *list = json_array();
	char *pj;

	for (size_t i = 0; i < natt; i++)
		json_array_append_new(list, json_pack("{s:I, s:s}", "id", (json_int_t)i, "filename",
						      att[i].filename ? att[i].filename : "file"));
	json_object_set_new(payload, "attachments", list);
	pj = kjson_dump(payload, false);
	(void)buf_printf(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n"
			 "Content-Type: application/json\r\n\r\n%s\r\n", pj);
	free(pj);
	for (size_t i = 0; i < natt; i++) {
		const char *fn = att[i].filename ? att[i].filename : "file";
		struct buf safe = BUF_INIT(0);

		/* Quotes and line breaks cannot appear in a header value. */
		for (const char *c = fn; *c; c++)
			(void)buf_append(&safe, (*c == '"' || *c == '\r' || *c == '\n' || *c == '\\') ? "_" : c, 1);
		(void)buf_printf(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"files[%zu]\"; "
				 "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n", i, buf_str(&safe),
				 att[i].content_type ? att[i].content_type : "application/octet-stream");
		if (att[i].len)
			(void)buf_append(b, att[i].data, att[i].len);
		(void)buf_puts(b, "\r\n");
		buf_release(&safe);
	}
	(void)buf_puts(b, "--" BOUNDARY "--\r\n");
}

static enum kith_status post_message(struct dc_rest *r, const char *path, const char *content,
				     const char *reply_to, const struct attachment *att,
				     size_t natt, char **why)
{
	json_t *payload = message_json(content, reply_to);
	enum kith_status st;

	if (natt) {
		struct buf body = BUF_INIT(0);

		multipart_build(&body, payload, att, natt);
		st = dc_rest_call(r, "POST", path, "multipart/form-data; boundary=" BOUNDARY,
				  buf_str(&body), body.len, NULL, why);
		buf_release(&body);
	} else {
		char *body = kjson_dump(payload, false);

		st = dc_rest_call(r, "POST", path, "application/json", body, strlen(body), NULL, why);
		free(body);
	}
	json_decref(payload);
	return st;
}

enum kith_status dc_rest_send(struct dc_rest *r, const char *channel_id, const char *text,
			      const char *reply_to, const struct attachment *att, size_t natt,
			      char **why)
{
	char **pieces = NULL;
	size_t n, i;
	char *path;
	enum kith_status st = KITH_OK;

	if (!is_snowflake(channel_id))
		return kith_why(why, KITH_EINVAL, "not a Discord channel id: \"%.40s\"",
				channel_id ? channel_id : "");
	if (reply_to && !is_snowflake(reply_to))
		reply_to = NULL;
	path = xasprintf("/channels/%s/messages", channel_id);
	n = dc_chunk(text ? text : "", DC_MAX_CONTENT, &pieces);
	if (n == 0 && natt == 0) {
		st = kith_why(why, KITH_EINVAL, "nothing to send (empty message)");
		goto out;
	}
	for (i = 0; i < n || (i == 0 && natt); i++) {
		bool last = i + 1 >= n;
		char *reason = NULL;

		st = post_message(r, path, n ? pieces[i] : NULL, i == 0 ? reply_to : NULL,
				  last ? att : NULL, last ? natt : 0, &reason);
		if (st) {
			log_error("discord", "message to channel %s not sent (part %zu of %zu): %s",
				  channel_id, i + 1, n ? n : 1, reason);
			kith_why(why, st, "%s", reason);
			free(reason);
			goto out;
		}
	}
out:
	for (i = 0; i < n; i++)
		free(pieces[i]);
	free(pieces);
	free(path);
	return st;
}

enum kith_status dc_rest_typing(struct dc_rest *r, const char *channel_id, char **why)
{
	char *path;
	enum kith_status st;

	if (!is_snowflake(channel_id))
		return kith_why(why, KITH_EINVAL, "not a Discord channel id");
	path = xasprintf("/channels/%s/typing", channel_id);
	st = dc_rest_call(r, "POST", path, NULL, NULL, 0, NULL, why);
	free(path);
	return st;
}

enum kith_status dc_rest_react(struct dc_rest *r, const char *channel_id, const char *message_id,
			       const char *emoji, char **why)
{
	char *path, *enc;
	enum kith_status st;

	if (!is_snowflake(channel_id) || !is_snowflake(message_id) || !emoji || !*emoji)
		return kith_why(why, KITH_EINVAL, "a reaction needs a channel id, a message id and an emoji");
	enc = dc_url_encode(emoji);
	path = xasprintf("/channels/%s/messages/%s/reactions/%s/@me", channel_id, message_id, enc);
	st = dc_rest_call(r, "PUT", path, NULL, NULL, 0, NULL, why);
	free(enc);
	free(path);
	return st;
}

enum kith_status dc_rest_history(struct dc_rest *r, const char *channel_id, const char *before,
				 int limit, struct discord_message **out, size_t *n, char **why)
{
	struct dc_http_result res;
	char *path;
	enum kith_status st;

	*out = NULL;
	*n = 0;
	if (!is_snowflake(channel_id) || (before && !is_snowflake(before)))
		return kith_why(why, KITH_EINVAL, "history needs numeric channel and message ids");
	if (limit < 1 || limit > 100)
		limit = limit < 1 ? 1 : 100;
	path = before ? xasprintf("/channels/%s/messages?limit=%d&before=%s", channel_id, limit, before)
		: xasprintf("/channels/%s/messages?limit=%d", channel_id, limit);
	dc_http_result_init(&res);
	st = dc_rest_call(r, "GET", path, NULL, NULL, 0, &res, why);
	if (!st)
		st = dc_parse_messages(buf_str(&res.body), res.body.len, out, n, why);
	dc_http_result_release(&res);
	free(path);
	return st;
}
