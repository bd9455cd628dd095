/* test_http.c — http_perform and its retry loop against the fake LLM server
 * (used here as a plain HTTP server), and Retry-After parsing. */
#include "core/alloc.h"
#include "core/clock.h"
#include "core/http.h"
#include "fakes/fake_llm.h"
#include "fakes/fake_jmap.h"
#include "support/test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static struct fake_llm *fake;

static void test_retry_after_parse(void)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	int64_t at = 784111777LL * 1000;

	CHECK_EQ(http_parse_retry_after("0", at), 0);
	CHECK_EQ(http_parse_retry_after(" 120 ", at), 120000);
	CHECK_EQ(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at - 5000), 5000);
	CHECK_EQ(http_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", at - 1000), 1000);
	CHECK_EQ(http_parse_retry_after("Sun Nov  6 08:49:37 1994", at - 2000), 2000);
	/* A date in the past means now. */
	CHECK_EQ(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at + 9000), 0);
	CHECK_EQ(http_parse_retry_after("soon", at), -1);
	CHECK_EQ(http_parse_retry_after("12abc", at), -1);
	CHECK_EQ(http_parse_retry_after("-5", at), -1);
	CHECK_EQ(http_parse_retry_after("", at), -1);
	CHECK_EQ(http_parse_retry_after(NULL, at), -1);
	CHECK(http_parse_retry_after("99999999999999999999", at) > 0);
}

static void test_retryable(void)
{
	CHECK(http_status_retryable(408));
	CHECK(http_status_retryable(429));
	CHECK(http_status_retryable(500));
	CHECK(http_status_retryable(503));
	CHECK(!http_status_retryable(400));
	CHECK(!http_status_retryable(401));
	CHECK(!http_status_retryable(402));
	CHECK(!http_status_retryable(404));
	CHECK(!http_status_retryable(200));
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", fake_llm_port(fake), path);
}

static void test_get_and_headers(void)
{
	char *u = url("/api/tags");
	const char *hdrs[] = { "X-Test: yes", "Authorization: Bearer abcd", NULL };
	struct http_request req = { .url = u, .headers = hdrs, .timeout_ms = 5000 };
	struct http_response resp;
	char *why = NULL, *h;

	http_response_init(&resp);
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_OK);
	CHECK(why == NULL);
	CHECK_EQ(resp.status, 200);
	CHECK_CONTAINS(buf_str(&resp.body), "\"models\"");
	CHECK_CONTAINS(resp.content_type, "application/json");
	CHECK_EQ(resp.received, resp.body.len);
	h = fake_llm_request_header(fake, fake_llm_request_count(fake) - 1, "X-Test");
	CHECK_STR(h, "yes");
	free(h);
	h = fake_llm_request_method(fake, fake_llm_request_count(fake) - 1);
	CHECK_STR(h, "GET");
	free(h);
	http_response_release(&resp);
	free(u);
}

/* Redirects are followed only when asked for (the JMAP fake's well-known
 * address answers 301 to its session resource). */
static void test_redirects(void)
{
	struct fake_jmap *j = fake_jmap_start();
	const char *base, *slash;
	char *u, *why = NULL;
	struct http_response resp;
	struct http_request req = { .method = "GET", .timeout_ms = 5000 };

	REQUIRE(j);
	base = fake_jmap_session_url(j);
	slash = strstr(base, "/jmap/session");
	REQUIRE(slash);
	u = xasprintf("%.*s/.well-known/jmap", (int)(slash - base), base);
	req.url = u;
	http_response_init(&resp);
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_EHTTP);
	CHECK_EQ(resp.status, 301);
	free(why);
	why = NULL;
	req.max_redirects = 3;
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_OK);
	CHECK_EQ(resp.status, 200);
	CHECK_CONTAINS(buf_str(&resp.body), "primaryAccounts");
	CHECK_EQ(fake_jmap_session_fetches(j), 1);
	http_response_release(&resp);
	free(u);
	fake_jmap_stop(j);
}

static void test_error_body_kept(void)
{
	char *u = url("/api/chat");
	const char *body = "{\"model\":\"x\",\"stream\":false,\"messages\":[{\"role\":\"user\","
			   "\"content\":\"hi\"}]}";
	struct fake_reply r = { .status = 503, .retry_after = "7" };
	struct http_request req = { .url = u, .body = body, .body_len = strlen(body),
				    .timeout_ms = 5000 };
	struct http_response resp;
	char *why = NULL;

	fake_llm_push(fake, &r);
	http_response_init(&resp);
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_EHTTP);
	CHECK_STR(why, "HTTP 503");
	CHECK_EQ(resp.status, 503);
	CHECK_STR(resp.retry_after, "7");
	CHECK_CONTAINS(buf_str(&resp.body), "server busy");
	free(why);
	http_response_release(&resp);
	free(u);
}

struct collect {
	struct buf got;
	int calls;
	int stop_after;
};

static enum kith_status on_data(const char *p, size_t n, void *ud)
{
	struct collect *c = ud;

	c->calls++;
	(void)buf_append(&c->got, p, n);
	return c->stop_after && c->calls >= c->stop_after ? KITH_EPROTO : KITH_OK;
}

static void test_streaming_and_abort(void)
{
	char *u = url("/api/chat");
	const char *body = "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	struct fake_reply r = { .content = "a fairly long streamed answer", .chunk_chars = 2 };
	struct collect c = { BUF_INIT(0), 0, 0 };
	struct http_request req = { .url = u, .body = body, .body_len = strlen(body),
				    .timeout_ms = 5000, .on_data = on_data, .ud = &c };
	struct http_retry policy = { .max_attempts = 3, .base_ms = 1, .max_ms = 5 };
	struct http_response resp;
	size_t before;
	int attempts = 0;
	char *why = NULL;

	fake_llm_push(fake, &r);
	http_response_init(&resp);
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_OK);
	CHECK(resp.streamed_any);
	CHECK_EQ(resp.body.len, 0);
	CHECK_EQ(resp.received, c.got.len);
	CHECK_CONTAINS(buf_str(&c.got), "\"done\":true");
	CHECK_CONTAINS(resp.content_type, "application/x-ndjson");

	/* The reader stops the transfer: its status comes back, and nothing
	 * is retried once data was delivered. */
	buf_reset(&c.got);
	c.calls = 0;
	c.stop_after = 1;
	fake_llm_push(fake, &r);
	before = fake_llm_request_count(fake);
	CHECK_EQ(http_perform_retry(&req, &policy, &resp, &attempts, &why), KITH_EPROTO);
	CHECK_EQ(attempts, 1);
	CHECK_EQ(fake_llm_request_count(fake) - before, 1);
	CHECK(why != NULL);
	free(why);
	buf_release(&c.got);
	http_response_release(&resp);
	free(u);
}

static void test_cap(void)
{
	char *u = url("/api/tags");
	struct http_request req = { .url = u, .timeout_ms = 5000, .max_response = 10 };
	struct http_response resp;
	char *why = NULL;

	http_response_init(&resp);
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_ETOOBIG);
	CHECK_STR(why, "answer larger than 10 bytes");
	free(why);
	http_response_release(&resp);
	free(u);
}

static bool never(const struct http_response *r, void *ud)
{
	(void)r;
	++*(int *)ud;
	return true;
}

static void test_retry_policy(void)
{
	char *u = url("/api/chat");
	const char *body = "{\"model\":\"x\",\"stream\":false,\"messages\":[{\"role\":\"user\","
			   "\"content\":\"hi\"}]}";
	struct fake_reply busy = { .status = 429 }, ok = { .content = "fine" };
	struct http_request req = { .url = u, .body = body, .body_len = strlen(body),
				    .timeout_ms = 5000 };
	int asked = 0;
	struct http_retry policy = { .max_attempts = 4, .base_ms = 1, .max_ms = 10 };
	struct http_retry stop = { .max_attempts = 4, .give_up = never, .ud = &asked };
	struct http_response resp;
	int attempts = 0;
	char *why = NULL;

	http_response_init(&resp);
	fake_llm_push(fake, &busy);
	fake_llm_push(fake, &busy);
	fake_llm_push(fake, &ok);
	CHECK_EQ(http_perform_retry(&req, &policy, &resp, &attempts, &why), KITH_OK);
	CHECK_EQ(attempts, 3);
	CHECK_CONTAINS(buf_str(&resp.body), "fine");

	fake_llm_push(fake, &busy);
	CHECK_EQ(http_perform_retry(&req, &stop, &resp, &attempts, &why), KITH_EHTTP);
	CHECK_EQ(attempts, 1);
	CHECK_EQ(asked, 1);
	CHECK_STR(why, "HTTP 429");
	free(why);
	why = NULL;

	/* No policy: one try. */
	fake_llm_push(fake, &busy);
	CHECK_EQ(http_perform_retry(&req, NULL, &resp, &attempts, &why), KITH_EHTTP);
	CHECK_EQ(attempts, 1);
	free(why);
	http_response_release(&resp);
	free(u);
}

static void test_failures_in_words(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct http_request req = { .timeout_ms = 5000 };
	struct http_response resp;
	struct cancel cancelled = { 0 };
	char *why = NULL, *u;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	u = xasprintf("http://127.0.0.1:%d/", ntohs(a.sin_port));
	http_response_init(&resp);

	req.url = u;
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_ECONNECT);
	CHECK_STR(why, "connection refused");
	CHECK_EQ(resp.status, 0);
	free(why);
	why = NULL;

	req.url = "ftp://127.0.0.1/";
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_EINVAL);
	free(why);
	why = NULL;

	req.url = "http://[::1";
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_EINVAL);
	free(why);
	why = NULL;

	cancel_request(&cancelled);
	req.url = u;
	req.cancel = &cancelled;
	CHECK_EQ(http_perform(&req, &resp, &why), KITH_ECANCELED);
	CHECK_STR(why, "cancelled");
	free(why);
	why = NULL;

	/* A server slower than the deadline. */
	{
		struct fake_reply slow = { .content = "late", .delay_ms = 3000 };
		const char *body = "{\"model\":\"x\",\"stream\":false,\"messages\":[{\"role\":"
				   "\"user\",\"content\":\"hi\"}]}";
		char *cu = url("/api/chat");
		struct http_request treq = { .url = cu, .body = body, .body_len = strlen(body),
					     .timeout_ms = 200 };
		int64_t t0 = clock_mono_ms();

		fake_llm_push(fake, &slow);
		CHECK_EQ(http_perform(&treq, &resp, &why), KITH_ETIMEDOUT);
		CHECK_STR(why, "no complete answer within 200 ms");
		CHECK(clock_mono_ms() - t0 < 2000);
		free(why);
		free(cu);
	}
	http_response_release(&resp);
	free(u);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!fake) {
		fprintf(stderr, "cannot start the fake server\n");
		return 1;
	}
	RUN(test_retry_after_parse);
	RUN(test_retryable);
	RUN(test_get_and_headers);
	RUN(test_redirects);
	RUN(test_error_body_kept);
	RUN(test_streaming_and_abort);
	RUN(test_cap);
	RUN(test_retry_policy);
	RUN(test_failures_in_words);
	fake_llm_stop(fake);
	return test_summary();
}
