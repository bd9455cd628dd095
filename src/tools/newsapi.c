/* newsapi.c — NewsAPI.org /v2/everything: the request, the answer parser.
 *
 * NewsAPI's rate limits are per day (100 requests on the free plan), so a
 * 429 is not retried — another try in seconds would only spend a request
 * of tomorrow's allowance; a dropped connection and 5xx are retried once.
 * The parser never trusts a field's type: a title that is not a string is
 * an article without a title, which is dropped. */
#include "tools/newsapi.h"

#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"

#include <ctype.h>
#include <string.h>

#define TAG "news"

void newsapi_query_from_config(struct newsapi_query *q, const struct config *cfg)
{
	memset(q, 0, sizeof(*q));
	q->base_url = config_str(cfg, CFG_NEWS_API_URL);
	q->key = config_str(cfg, CFG_NEWS_API_KEY);
}

bool newsapi_available(const struct config *cfg)
{
	const char *k = config_str(cfg, CFG_NEWS_API_KEY);

	return k && *k;
}

/* ---- the request ---------------------------------------------------------- */

static void url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			(void)buf_append(b, s, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			(void)buf_append(b, e, 3);
		}
	}
}

/* A term as it goes into q: trimmed, inner quotes dropped, quoted when it
 * has more than one word.  NULL when nothing is left. */
static char *term_text(const char *t)
{
	struct buf b;
	bool space = false;
	size_t len;

	while (*t && isspace((unsigned char)*t))
		t++;
	len = strlen(t);
	while (len && isspace((unsigned char)t[len - 1]))
		len--;
	if (!len)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)t[i]))
			space = true;
	buf_init(&b, 0);
	if (space)
		(void)buf_puts(&b, "\"");
	for (size_t i = 0; i < len; i++)
		if (t[i] != '"' && (unsigned char)t[i] >= 0x20)
			(void)buf_append(&b, &t[i], 1);
	if (space)
		(void)buf_puts(&b, "\"");
	if (b.len == 0 || (space && b.len == 2)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

enum kith_status newsapi_build_url(const struct newsapi_query *q, char **url, char **why)
{
	struct buf qb, ub;
	int page = q->page_size > 0 ? q->page_size : NEWSAPI_PAGE_DEFAULT;

	*url = NULL;
	buf_init(&qb, 0);
	for (size_t i = 0; q->terms && q->terms[i]; i++) {
		char *t = term_text(q->terms[i]);

		if (!t)
			continue;
		if (qb.len + (qb.len ? 4 : 0) + strlen(t) <= NEWSAPI_Q_MAX) {
			if (qb.len)
				(void)buf_puts(&qb, " OR ");
			(void)buf_puts(&qb, t);
		}
		free(t);
	}
	if (!qb.len) {
		buf_release(&qb);
		return kith_why(why, KITH_EINVAL, "no news search terms");
	}
	if (page > NEWSAPI_PAGE_MAX)
		page = NEWSAPI_PAGE_MAX;
	buf_init(&ub, 0);
	(void)buf_printf(&ub, "%s/everything?q=", q->base_url ? q->base_url : "");
	url_escape(&ub, buf_str(&qb));
	if (q->from_ms > 0) {
		char iso[32];
		size_t n;

		clock_format_utc(q->from_ms, iso, sizeof(iso));
		n = strlen(iso);
		if (n && iso[n - 1] == 'Z')
			iso[n - 1] = '\0';
		(void)buf_puts(&ub, "&from=");
		url_escape(&ub, iso);
	}
	(void)buf_printf(&ub, "&sortBy=publishedAt&language=en&pageSize=%d", page);
	buf_release(&qb);
	*url = buf_detach(&ub);
	return KITH_OK;
}

/* ---- the answer ----------------------------------------------------------- */

void newsapi_result_release(struct newsapi_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].source);
		free(r->v[i].title);
		free(r->v[i].description);
		free(r->v[i].url);
		free(r->v[i].content);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int64_t days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool newsapi_parse_time(const char *s, int64_t *epoch_ms)
{
	int y, mo, d, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 0;
	const char *p;

	if (!s || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	p = s + 10;
	if (*p == 'T' || *p == ' ') {
		if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
			return false;
		p += 6;
		if (*p == ':') {
			if (!digits(p + 1, 2, &se))
				return false;
			p += 3;
		}
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++)
				;
		if (h > 23 || mi > 59 || se > 60)
			return false;
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			if (!digits(p + 1, 2, &oh))
				return false;
			p += 3;
			if (*p == ':')
				p++;
			if (!digits(p, 2, &om))
				return false;
			p += 2;
		}
	}
	if (*p)
		return false;
	*epoch_ms = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
		      se) - sign * (oh * 3600 + om * 60)) * 1000;
	return true;
}

/* A string field, capped and trimmed; "" when absent or not a string. */
static char *field(const json_t *o, const char *key)
{
	const char *s = kjson_str(o, key);
	size_t n, start = 0;

	if (!s)
		return xstrdup("");
	n = strlen(s);
	while (start < n && isspace((unsigned char)s[start]))
		start++;
	while (n > start && isspace((unsigned char)s[n - 1]))
		n--;
	if (n - start > NEWSAPI_FIELD_MAX) {
		n = start + NEWSAPI_FIELD_MAX;
		while (n > start && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;   /* keep UTF-8 whole */
	}
	return xstrndup(s + start, n - start);
}

static bool removed(const char *s)
{
	return strcmp(s, "[Removed]") == 0;
}

static enum kith_status error_status(const char *code)
{
	if (!code)
		return KITH_EHTTP;
	if (strcmp(code, "rateLimited") == 0 || strcmp(code, "apiKeyExhausted") == 0)
		return KITH_ERATELIMIT;
	if (strncmp(code, "apiKey", 6) == 0)
		return KITH_EAUTH;
	return KITH_EHTTP;
}

enum kith_status newsapi_parse(const char *p, size_t n, struct newsapi_result *out, char **why)
{
	json_t *j, *a;
	const char *status;
	enum kith_status rc = KITH_OK;
	size_t i, cap = 0;
	long long total;

	memset(out, 0, sizeof(*out));
	j = kjson_parse(p, n, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return kith_why(why, KITH_EPROTO, "NewsAPI's answer is not a JSON object");
	}
	status = kjson_str(j, "status");
	if (status && strcmp(status, "error") == 0) {
		const char *code = kjson_str(j, "code"), *msg = kjson_str(j, "message");

		rc = kith_why(why, error_status(code), "NewsAPI refused: %s%s%.200s",
			      code ? code : "error", msg ? ": " : "", msg ? msg : "");
		goto out;
	}
	if (!status || strcmp(status, "ok") != 0) {
		rc = kith_why(why, KITH_EPROTO, "NewsAPI's answer has no status \"ok\"");
		goto out;
	}
	if (kjson_int(j, "totalResults", &total))
		out->total = total;
	json_array_foreach(kjson_arr(j, "articles"), i, a) {
		struct newsapi_article art;
		const char *ts;

		if (out->n >= NEWSAPI_MAX_ARTICLES)
			break;
		if (!json_is_object(a)) {
			out->removed++;
			continue;
		}
		art.title = field(a, "title");
		art.url = field(a, "url");
		if (!*art.title || !*art.url || removed(art.title) || removed(art.url)) {
			free(art.title);
			free(art.url);
			out->removed++;
			continue;
		}
		art.source = field(kjson_obj(a, "source"), "name");
		art.description = field(a, "description");
		art.content = field(a, "content");
		if (removed(art.description))
			art.description[0] = '\0';
		if (removed(art.content))
			art.content[0] = '\0';
		ts = kjson_str(a, "publishedAt");
		if (!ts || !newsapi_parse_time(ts, &art.published_at))
			art.published_at = 0;
		out->v = xgrow(out->v, &cap, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = art;
	}
out:
	json_decref(j);
	return rc;
}

/* ---- the call ------------------------------------------------------------- */

static bool no_retry_429(const struct http_response *r, void *ud)
{
	(void)ud;
	return r->status == 429;
}

static enum kith_status failure(enum kith_status rc, const struct http_response *resp,
				const char *reason, char **why)
{
	if (rc == KITH_EHTTP) {
		struct newsapi_result tmp;
		char *msg = NULL;
		enum kith_status prc = newsapi_parse(buf_str(&resp->body), resp->body.len, &tmp, &msg);

		newsapi_result_release(&tmp);
		if (prc != KITH_OK && prc != KITH_EPROTO) {
			kith_why(why, prc, "%s (HTTP %ld)", msg, resp->status);
			free(msg);
			return prc;
		}
		free(msg);
		if (resp->status == 429)
			return kith_why(why, KITH_ERATELIMIT, "NewsAPI refused: rateLimited (HTTP 429)");
		if (resp->status == 401)
			return kith_why(why, KITH_EAUTH, "NewsAPI refused: apiKeyInvalid (HTTP 401)");
		return kith_why(why, KITH_EHTTP, "NewsAPI answered HTTP %ld", resp->status);
	}
	if (rc == KITH_ETIMEDOUT)
		return kith_why(why, rc, "NewsAPI did not answer in time");
	if (rc == KITH_ECANCELED)
		return kith_why(why, rc, "the news search was cancelled");
	if (rc == KITH_ETOOBIG)
		return kith_why(why, rc, "NewsAPI's answer is too big");
	return kith_why(why, rc, "cannot reach NewsAPI: %s", reason ? reason : kith_strerror(rc));
}

enum kith_status newsapi_search(const struct newsapi_query *q, struct newsapi_result *out,
				char **why)
{
	char *url = NULL, *key = NULL, *reason = NULL;
	const char *headers[3];
	struct http_request req = { 0 };
	struct http_retry policy = { 0 };
	struct http_response resp;
	enum kith_status rc;
	int attempts = 0;

	memset(out, 0, sizeof(*out));
	http_response_init(&resp);
	if (!q->key || !*q->key) {
		rc = kith_why(why, KITH_ECONFIG, "news is not configured (no NEWS_API_KEY)");
		goto out;
	}
	rc = newsapi_build_url(q, &url, why);
	if (rc)
		goto out;
	key = xasprintf("X-Api-Key: %s", q->key);
	headers[0] = key;
	headers[1] = "Accept: application/json";
	headers[2] = NULL;
	req.method = "GET";
	req.url = url;
	req.headers = headers;
	req.timeout_ms = q->timeout_ms > 0 ? q->timeout_ms : 30000;
	req.connect_timeout_ms = 10000;
	req.max_response = NEWSAPI_MAX_RESPONSE;
	req.cancel = q->cancel;
	policy.max_attempts = q->attempts > 0 ? q->attempts : 2;
	policy.base_ms = 500;
	policy.max_ms = 5000;
	policy.give_up = no_retry_429;
	rc = http_perform_retry(&req, &policy, &resp, &attempts, &reason);
	if (rc) {
		char *msg = NULL;

		rc = failure(rc, &resp, reason, &msg);
		if (rc != KITH_ECANCELED)
			log_warn(TAG, "news search failed after %d attempt%s: %s", attempts,
				 attempts == 1 ? "" : "s", msg);
		if (why && !*why)
			*why = msg;
		else
			free(msg);
		goto out;
	}
	rc = newsapi_parse(buf_str(&resp.body), resp.body.len, out, why);
out:
	free(reason);
	free(key);
	free(url);
	http_response_release(&resp);
	return rc;
}
