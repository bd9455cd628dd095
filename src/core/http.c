/* http.c — libcurl behind http_perform() and its retry loop.
 *
 * Every call gets its own easy handle inside its own multi handle and is
 * driven by curl_multi_poll() in 100 ms turns; between turns we look at the
 * cancel token.  That keeps cancellation independent of curl's callbacks
 * (which do not run while a server is silent) and costs nothing measurable.
 * Errors become a status plus a short lower-case reason the caller wraps in
 * a sentence naming the service. */
#include "core/http.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define POLL_TURN_MS 100
/* Error answers are for reading, not for storing; past this we stop. */
#define ERROR_BODY_MAX ((size_t)64 << 10)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	curl_version_info_data *v;

	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (global_rc != CURLE_OK)
		return;
	v = curl_version_info(CURLVERSION_NOW);
	log_debug("http", "libcurl %s (%s)", v->version, v->ssl_version ? v->ssl_version : "no TLS");
}

/* State shared with curl's callbacks for one exchange. */
struct xfer {
	const struct http_request *req;
	struct http_response *resp;
	CURL *easy;
	size_t cap;
	enum kith_status cb_status; /* why on_write stopped the transfer */
	bool error_truncated;       /* stopped reading an error body on purpose */
};

void http_response_init(struct http_response *r)
{
	r->status = 0;
	buf_init(&r->body, 0);
	r->retry_after = NULL;
	r->content_type = NULL;
	r->streamed_any = false;
	r->received = 0;
}

void http_response_release(struct http_response *r)
{
	buf_release(&r->body);
	free(r->retry_after);
	free(r->content_type);
	http_response_init(r);
}

bool http_status_retryable(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static bool is_2xx(long code)
{
	return code >= 200 && code <= 299;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	struct http_response *r = x->resp;
	size_t n = size * nmemb;
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (!is_2xx(code)) {
		size_t room = ERROR_BODY_MAX - r->body.len;

		r->received += n;
		if (n > room) {
			(void)buf_append(&r->body, p, room);
			x->error_truncated = true;
			return 0;
		}
		(void)buf_append(&r->body, p, n);
		return n;
	}
	if (n > x->cap - r->received) {
		x->cb_status = KITH_ETOOBIG;
		return 0;
	}
	r->received += n;
	if (x->req->on_data) {
		enum kith_status st;

		r->streamed_any = true;
		st = x->req->on_data(p, n, x->req->ud);
		if (st) {
			x->cb_status = st;
			return 0;
		}
		return n;
	}
	/* Cannot pass the cap: received was checked above. */
	(void)buf_append(&r->body, p, n);
	return n;
}

static char *header_value(struct slice line, const char *name)
{
	struct slice head, rest;

	if (!slice_split(line, ':', &head, &rest))
		return NULL;
	head = slice_trim(head);
	if (head.n != strlen(name) || strncasecmp(head.p, name, head.n) != 0)
		return NULL;
	return slice_dup(slice_trim(rest));
}

static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	struct http_response *r = x->resp;
	size_t n = size * nitems;
	struct slice line = slice_trim(slice_of(p, n));
	char *v;

	/* A new status line starts a new header block (after a 1xx). */
	if (slice_starts_with(line, "HTTP/")) {
		free(r->retry_after);
		free(r->content_type);
		r->retry_after = r->content_type = NULL;
		return n;
	}
	if ((v = header_value(line, "Retry-After"))) {
		free(r->retry_after);
		r->retry_after = v;
	} else if ((v = header_value(line, "Content-Type"))) {
		free(r->content_type);
		r->content_type = v;
	}
	return n;
}

/* "10 s" for whole seconds, else "1500 ms". */
static void fmt_ms(char *out, size_t n, long ms)
{
	if (ms >= 1000 && ms % 1000 == 0)
		snprintf(out, n, "%ld s", ms / 1000);
	else
		snprintf(out, n, "%ld ms", ms);
}

/* curl's messages start with a capital; ours are mid-sentence. */
static char *lower_first(const char *s)
{
	char *r = xstrdup(s);

	if (r[0] && isupper((unsigned char)r[0]) && !(r[1] && isupper((unsigned char)r[1])))
		r[0] = (char)tolower((unsigned char)r[0]);
	return r;
}

static enum kith_status reason(char **why, enum kith_status st, const char *text)
{
	char *t;

	if (!why || *why)
		return st;
	t = lower_first(text);
	*why = t;
	return st;
}

static enum kith_status map_curl_error(CURLcode rc, struct xfer *x, const char *errbuf,
				       char **why)
{
	const char *text = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	char tmp[128], d[32];
	long oserr = 0;
	curl_off_t connect_us = 0;

	switch (rc) {
	case CURLE_WRITE_ERROR:
		if (x->cb_status == KITH_ETOOBIG) {
			snprintf(tmp, sizeof(tmp), "answer larger than %zu bytes", x->cap);
			return reason(why, KITH_ETOOBIG, tmp);
		}
		if (x->cb_status)
			return reason(why, x->cb_status, "reading the answer failed");
		return reason(why, KITH_EIO, text);
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr)
			text = strerror_r((int)oserr, tmp, sizeof(tmp));
		return reason(why, KITH_ECONNECT, text);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return reason(why, KITH_ECONNECT, text);
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
		if (connect_us == 0 && x->req->connect_timeout_ms > 0) {
			/* Never connected: a connection failure, worth a retry. */
			fmt_ms(d, sizeof(d), x->req->connect_timeout_ms);
			snprintf(tmp, sizeof(tmp), "could not connect within %s", d);
			return reason(why, KITH_ECONNECT, tmp);
		} else {
			fmt_ms(d, sizeof(d), x->req->timeout_ms);
			snprintf(tmp, sizeof(tmp), "no complete answer within %s", d);
		}
		return reason(why, KITH_ETIMEDOUT, tmp);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return reason(why, KITH_EINVAL, text);
	case CURLE_FILESIZE_EXCEEDED:
		return reason(why, KITH_ETOOBIG, text);
	case CURLE_OUT_OF_MEMORY:
		KITH_BUG("libcurl out of memory");
	default:
		/* Send/receive errors, empty replies, TLS failures: the
		 * connection did not carry the exchange through. */
		return reason(why, KITH_ECONNECT, text);
	}
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *s)
{
	struct curl_slist *n = curl_slist_append(l, s);

	if (!n)
		KITH_BUG("libcurl out of memory");
	return n;
}

static void set_method(CURL *e, const struct http_request *req)
{
	const char *m = req->method ? req->method : (req->body ? "POST" : "GET");

	if (strcmp(m, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(m, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
}

/* Drive the transfer until done or cancelled.  CURLE_OK in *rc on a
 * finished transfer; returns KITH_ECANCELED or KITH_EIO (multi failure). */
static enum kith_status drive(CURLM *m, CURL *e, const struct cancel *cancel, CURLcode *rc)
{
	int running = 1;
	CURLMsg *msg;
	int left;

	*rc = CURLE_OK;
	for (;;) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			return KITH_EIO;
		if (!running)
			break;
		if (cancel_requested(cancel))
			return KITH_ECANCELED;
		if (curl_multi_poll(m, NULL, 0, POLL_TURN_MS, NULL) != CURLM_OK)
			return KITH_EIO;
	}
	while ((msg = curl_multi_info_read(m, &left))) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == e)
			*rc = msg->data.result;
	}
	return KITH_OK;
}

enum kith_status http_perform(const struct http_request *req, struct http_response *resp,
			      char **why)
{
	struct xfer x = { 0 };
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	CURL *e = NULL;
	CURLM *m = NULL;
	CURLcode rc = CURLE_OK;
	enum kith_status st = KITH_OK;
	int64_t t0 = clock_mono_ms();

	http_response_release(resp);
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		st = kith_why(why, KITH_EIO, "libcurl failed to initialise: %s",
			      curl_easy_strerror(global_rc));
		goto out;
	}
	if (!req->url) {
		st = kith_why(why, KITH_EINVAL, "no URL");
		goto out;
	}
	if (cancel_requested(req->cancel)) {
		st = kith_why(why, KITH_ECANCELED, "cancelled");
		goto out;
	}
	e = curl_easy_init();
	m = curl_multi_init();
	if (!e || !m) {
		st = kith_why(why, KITH_EIO, "libcurl failed to create a handle");
		goto out;
	}
	x.req = req;
	x.resp = resp;
	x.easy = e;
	x.cap = req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;
	errbuf[0] = '\0';

	for (const char *const *h = req->headers; h && *h; h++)
		hdrs = slist_add(hdrs, *h);
	/* No "Expect: 100-continue" round trip before large bodies. */
	hdrs = slist_add(hdrs, "Expect:");

	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kith/" KITH_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (req->max_redirects > 0) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)req->max_redirects);
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
				 strncasecmp(req->url, "https:", 6) == 0 ? "https" : "http,https");
#endif
	}
	if (req->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->connect_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	set_method(e, req);

	if (curl_multi_add_handle(m, e) != CURLM_OK) {
		st = kith_why(why, KITH_EIO, "libcurl failed to start the transfer");
		goto out;
	}
	st = drive(m, e, req->cancel, &rc);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_multi_remove_handle(m, e);
	if (st == KITH_ECANCELED) {
		reason(why, st, "cancelled");
		goto out;
	}
	if (st) {
		reason(why, st, "libcurl multi interface failed");
		goto out;
	}
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x.error_truncated)) {
		st = map_curl_error(rc, &x, errbuf, why);
		goto out;
	}
	if (!is_2xx(resp->status)) {
		st = kith_why(why, KITH_EHTTP, "HTTP %ld", resp->status);
		goto out;
	}
out:
	if (e) {
		log_debug("http", "%s %s -> %ld, %zu bytes, %lld ms: %s",
			  req->method ? req->method : (req->body ? "POST" : "GET"),
			  req->url ? req->url : "(none)", resp->status, resp->received,
			  (long long)(clock_mono_ms() - t0), kith_strerror(st));
	}
	if (m)
		curl_multi_cleanup(m);
	if (e)
		curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	return st;
}

long http_parse_retry_after(const char *value, int64_t now_ms)
{
	static const char *const formats[] = {
		"%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
		"%a %b %d %H:%M:%S %Y",      /* asctime */
	};
	struct slice s;
	char *text;
	long r = -1;

	if (!value)
		return -1;
	s = slice_trim(slice_cstr(value));
	if (s.n == 0)
		return -1;
	text = slice_dup(s);
	if (isdigit((unsigned char)text[0])) {
		char *end;
		long secs;

		errno = 0;
		secs = strtol(text, &end, 10);
		if (*end == '\0') {
			if (errno == ERANGE || secs > LONG_MAX / 1000)
				secs = LONG_MAX / 1000;
			r = secs * 1000;
		}
		goto out;
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm;
		const char *end;
		int64_t at;

		memset(&tm, 0, sizeof(tm));
		end = strptime(text, formats[i], &tm);
		if (!end || *end)
			continue;
		at = (int64_t)timegm(&tm) * 1000;
		r = at > now_ms ? (long)(at - now_ms) : 0;
		break;
	}
out:
	free(text);
	return r;
}

/* splitmix64 over a shared counter: jitter needs spread, not secrecy. */
static uint64_t jitter_random(void)
{
	static uint64_t state;
	uint64_t z = __atomic_add_fetch(&state, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);

	z ^= (uint64_t)clock_mono_ms() << 20;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Wait before retry `n` (1 = the first retry). */
static long retry_delay(const struct http_response *r, const struct http_retry *p, int n)
{
	long cap = p->max_ms > 0 ? p->max_ms : 30000;
	long d = -1;

	if (r->retry_after)
		d = http_parse_retry_after(r->retry_after, clock_now_ms());
	if (d < 0 && p->hint_ms)
		d = p->hint_ms(r, p->ud);
	if (d < 0) {
		long exp = p->base_ms > 0 ? p->base_ms : 500;

		/* Equal jitter: half fixed so waits still grow, half random
		 * so clients that failed together do not retry together. */
		for (int i = 1; i < n && exp < cap; i++)
			exp *= 2;
		if (exp > cap)
			exp = cap;
		d = exp / 2 + (long)(jitter_random() % (uint64_t)(exp / 2 + 1));
	}
	return d > cap ? cap : d;
}

static bool should_retry(enum kith_status st, const struct http_response *r,
			 const struct http_retry *p)
{
	if (r->streamed_any)
		return false;
	/* A request that used its whole time budget is not retried: a model
	 * that needed that long will most likely need it again, and the person
	 * waiting should hear about it now rather than after several budgets. */
	if (st == KITH_ECONNECT)
		return true;
	if (st != KITH_EHTTP || !http_status_retryable(r->status))
		return false;
	return !(p->give_up && p->give_up(r, p->ud));
}

enum kith_status http_perform_retry(const struct http_request *req,
				    const struct http_retry *policy,
				    struct http_response *resp, int *attempts, char **why)
{
	static const struct http_retry once = { .max_attempts = 1 };
	const struct http_retry *p = policy ? policy : &once;
	int max = p->max_attempts > 1 ? p->max_attempts : 1;
	int n = 0;
	char *last = NULL;
	enum kith_status st;

	for (;;) {
		long delay;

		free(last);
		last = NULL;
		n++;
		st = http_perform(req, resp, &last);
		if (st == KITH_OK || n >= max || !should_retry(st, resp, p))
			break;
		delay = retry_delay(resp, p, n);
		log_info("http", "%s %s: %s; retry %d of %d in %ld ms",
			 req->method ? req->method : (req->body ? "POST" : "GET"), req->url,
			 last ? last : kith_strerror(st), n, max - 1, delay);
		if (clock_sleep_unless(delay, req->cancel)) {
			st = KITH_ECANCELED;
			free(last);
			last = xstrdup("cancelled");
			break;
		}
	}
	if (attempts)
		*attempts = n;
	if (st && why && !*why) {
		*why = last;
		last = NULL;
	}
	free(last);
	return st;
}
