/* resthttp.c — one HTTP exchange with Discord, keeping the headers that
 * carry its rate limits.
 *
 * core/http.c keeps only Retry-After and Content-Type; Discord's limiter
 * needs X-RateLimit-Bucket/Remaining/Reset-After/Global on every answer, so
 * this is a small libcurl exchange of its own.  It does not retry (rest.c's
 * loop does, with the buckets in mind) and, like core/http.c, never logs a
 * request header, so the Authorization header cannot reach a log line.  A
 * cancel token is checked from curl's progress callback. */
#include "channel/discord/discord_int.h"
#include "core/alloc.h"
#include "core/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

void dc_http_result_init(struct dc_http_result *r)
{
	r->status = 0;
	buf_init(&r->body, DC_MAX_REST_BODY);
	dc_rl_info_init(&r->rl);
}

void dc_http_result_release(struct dc_http_result *r)
{
	buf_release(&r->body);
	dc_rl_info_release(&r->rl);
	dc_http_result_init(r);
}

struct xfer {
	struct dc_http_result *r;
	const struct cancel *cancel;
	bool too_big;
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;

	if (buf_append(&x->r->body, p, n) != KITH_OK) {
		x->too_big = true;
		return 0;
	}
	return n;
}

static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new header block (after a 1xx) starts afresh. */
		dc_rl_info_release(&x->r->rl);
		return n;
	}
	dc_rl_info_header(&x->r->rl, p, n);
	return n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct xfer *x = ud;

	return cancel_requested(x->cancel) ? 1 : 0;
}

enum kith_status dc_http_exchange(const char *method, const char *url,
				  const char *const *headers, const char *body, size_t body_len,
				  long timeout_ms, const struct cancel *cancel,
				  struct dc_http_result *r, char **why)
{
	struct xfer x = { r, cancel, false };
	struct curl_slist *hdrs = NULL, *t;
	char errbuf[CURL_ERROR_SIZE] = "";
	enum kith_status st = KITH_OK;
	CURLcode rc;
	CURL *e;

	dc_http_result_release(r);
	pthread_once(&once, global_init);
	if (cancel_requested(cancel))
		return kith_why(why, KITH_ECANCELED, "cancelled");
	e = curl_easy_init();
	if (!e)
		return kith_why(why, KITH_EIO, "libcurl failed to create a handle");
	for (const char *const *h = headers; h && *h; h++) {
		t = curl_slist_append(hdrs, *h);
		if (!t)
			KITH_BUG("libcurl out of memory");
		hdrs = t;
	}
	t = curl_slist_append(hdrs, "Expect:");
	if (!t)
		KITH_BUG("libcurl out of memory");
	hdrs = t;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_USERAGENT,
			 "DiscordBot (https://github.com/kith, " KITH_VERSION ")");
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
	}
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	if (rc == CURLE_OK)
		goto out;
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		st = kith_why(why, KITH_ECANCELED, "cancelled");
	else if (rc == CURLE_WRITE_ERROR && x.too_big)
		st = kith_why(why, KITH_ETOOBIG, "answer larger than %zu bytes", (size_t)DC_MAX_REST_BODY);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		st = kith_why(why, KITH_ETIMEDOUT, "no answer within %ld ms", timeout_ms);
	else if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
		st = kith_why(why, KITH_EINVAL, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else
		st = kith_why(why, KITH_ECONNECT, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	r->status = 0;
out:
	log_debug("discord", "%s %s -> %ld", method, url, r->status);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	return st;
}
