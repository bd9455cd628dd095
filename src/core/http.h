/* http.h — one small HTTP client over libcurl for every outbound call.
 *
 * The LLM clients, the chat platforms' REST APIs and the search tools all
 * need the same few things: a deadline, a cap on what is read, streaming of
 * the body to a parser, cancellation from another thread and bounded retries
 * that honour Retry-After.  Each call drives a private curl multi handle with
 * curl_multi_poll() in 100 ms turns, checking the cancel token every turn, so
 * a cancel ends a call within about a tenth of a second however the server
 * behaves.  Connections are not pooled across calls: simplicity over the few
 * milliseconds a TCP handshake costs next to a model's answer.
 *
 * Nothing here logs a request header, so Authorization never reaches a log
 * line (log.c also masks registered secrets in URLs and bodies). */
#ifndef KITH_CORE_HTTP_H
#define KITH_CORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/cancel.h"
#include "core/status.h"

#define HTTP_DEFAULT_MAX_RESPONSE ((size_t)8 << 20)

struct http_request {
	const char *method;          /* NULL = POST with a body, else GET */
	const char *url;
	const char *const *headers;  /* NULL-terminated "Name: value" list, or NULL */
	const char *body;            /* not copied; must outlive the call */
	size_t body_len;
	long timeout_ms;             /* whole exchange; 0 = no limit */
	long connect_timeout_ms;     /* 0 = curl's default */
	size_t max_response;         /* cap on bytes read; 0 = 8 MiB */
	const struct cancel *cancel; /* may be NULL */
	/* Follow up to this many redirects (0 = none: a 3xx is the answer).
	 * Never from https to http; credentials in headers are not sent to
	 * another host (libcurl's rule). */
	int max_redirects;
	/* Streaming: when set, the body of a 2xx answer goes here piece by
	 * piece instead of into resp->body.  A non-zero status aborts the
	 * transfer and becomes the call's result (the callback says why
	 * through its own ud).  Error answers are always buffered. */
	enum kith_status (*on_data)(const char *p, size_t n, void *ud);
	void *ud;
};

struct http_response {
	long status;          /* HTTP status of the last answer, 0 if none */
	struct buf body;      /* whole body unless streamed; always for non-2xx
			       * (error bodies are truncated at 64 KiB) */
	char *retry_after;    /* Retry-After header value, or NULL */
	char *content_type;   /* Content-Type header value, or NULL */
	bool streamed_any;    /* on_data has been called at least once */
	size_t received;      /* body bytes read (streamed or not) */
};

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);

/* One exchange.  `resp` must have been initialised; what it held before is
 * released.  Returns KITH_OK for a 2xx answer; otherwise:
 *   KITH_ECONNECT   no connection, or it broke ("connection refused")
 *   KITH_ETIMEDOUT  a deadline passed
 *   KITH_ECANCELED  req->cancel was requested
 *   KITH_ETOOBIG    the answer passed req->max_response
 *   KITH_EHTTP      a non-2xx answer (resp->status and resp->body set)
 *   KITH_EINVAL     a malformed URL or request
 *   anything on_data returned.
 * *why (optional, caller frees) gets a short reason without the URL, for the
 * caller to put in its own sentence: "connection refused", "HTTP 404". */
enum kith_status http_perform(const struct http_request *req, struct http_response *resp,
			      char **why) KITH_MUST_CHECK;

struct http_retry {
	int max_attempts;     /* tries including the first; < 1 = 1 */
	long base_ms;         /* first backoff */
	long max_ms;          /* cap on any single wait, Retry-After included */
	/* Optional: a delay the service asked for in some other way than
	 * Retry-After (OpenRouter's X-RateLimit-Reset in the error body).
	 * Return milliseconds to wait, or < 0 for none. */
	long (*hint_ms)(const struct http_response *r, void *ud);
	/* Optional: true when a retryable-looking answer must not be retried
	 * (a daily cap that will not lift in seconds). */
	bool (*give_up)(const struct http_response *r, void *ud);
	void *ud;
};

/* http_perform with retries on KITH_ECONNECT (including a connect timeout)
 * and HTTP 408, 429 and 5xx — not when the whole request timed out; never once on_data has been fed (the caller has already
 * acted on part of the answer) and never after a cancel.  The wait before
 * retry n is Retry-After if present, else the hint, else exponential
 * backoff base*2^(n-1) with jitter; all capped by max_ms and cut short by a
 * cancel.  *attempts (optional) gets the number of tries made; `resp` and
 * *why describe the last one. */
enum kith_status http_perform_retry(const struct http_request *req,
				    const struct http_retry *policy,
				    struct http_response *resp, int *attempts,
				    char **why) KITH_MUST_CHECK;

/* True for the statuses worth another try: 408, 429 and 5xx. */
bool http_status_retryable(long status);

/* A Retry-After value (delta-seconds or an HTTP-date) as milliseconds from
 * now_ms (epoch ms), >= 0; -1 when it cannot be parsed. */
long http_parse_retry_after(const char *value, int64_t now_ms);

#endif
