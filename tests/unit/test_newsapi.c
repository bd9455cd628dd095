/* test_newsapi.c — the NewsAPI client against the fake: the request's
 * shape (path, q with quoted phrases, from, sortBy, language, pageSize, the
 * key only in X-Api-Key), parsing (nulls tolerated, "[Removed]" and
 * unusable articles dropped, times), and errors in words (401
 * apiKeyInvalid, 429 rateLimited without a retry, cancel). */
#include "core/alloc.h"
#include "core/cancel.h"
#include "fakes/fake_newsapi.h"
#include "support/test.h"
#include "tools/newsapi.h"

#include <stdlib.h>
#include <string.h>

#define KEY "news-test-key"

static struct fake_newsapi *fk;

static void query_init(struct newsapi_query *q, const char *const *terms)
{
	memset(q, 0, sizeof(*q));
	q->base_url = fake_newsapi_url(fk);
	q->key = KEY;
	q->terms = terms;
	q->attempts = 1;
	q->timeout_ms = 5000;
}

static void test_request_shape(void)
{
	static const char *const terms[] = { "AI safety", " rust ", "", "say \"hi\" there", NULL };
	static const struct fake_news_article arts[] = {
		{ "TechCrunch", "Rust 2.0 lands", "A big release.", "https://a.example/rust", "2024-01-15T18:00:00Z", "First 200 chars" },
	};
	struct fake_news_reply r = { .articles = arts, .n = 1 };
	struct newsapi_query q;
	struct newsapi_result res;
	size_t before = fake_newsapi_request_count(fk);
	char *why = NULL, *v;

	query_init(&q, terms);
	q.from_ms = 1700000000000LL;   /* 2023-11-14T22:13:20Z */
	q.page_size = 7;
	fake_newsapi_push(fk, &r);
	REQUIRE(newsapi_search(&q, &res, &why) == KITH_OK);
	CHECK_EQ(res.n, 1);
	REQUIRE(fake_newsapi_request_count(fk) == before + 1);
	v = fake_newsapi_request_path(fk, before);
	CHECK_STR(v, "/v2/everything");
	free(v);
	v = fake_newsapi_request_arg(fk, before, "q");
	CHECK_STR(v, "\"AI safety\" OR rust OR \"say hi there\"");
	free(v);
	v = fake_newsapi_request_arg(fk, before, "from");
	CHECK_STR(v, "2023-11-14T22:13:20");
	free(v);
	v = fake_newsapi_request_arg(fk, before, "sortBy");
	CHECK_STR(v, "publishedAt");
	free(v);
	v = fake_newsapi_request_arg(fk, before, "language");
	CHECK_STR(v, "en");
	free(v);
	v = fake_newsapi_request_arg(fk, before, "pageSize");
	CHECK_STR(v, "7");
	free(v);
	v = fake_newsapi_request_header(fk, before, "X-Api-Key");
	CHECK_STR(v, KEY);
	free(v);
	v = fake_newsapi_request_arg(fk, before, "apiKey");   /* never in the URL */
	CHECK(v == NULL);
	free(v);
	newsapi_result_release(&res);
	free(why);
}

static void test_build_url_limits(void)
{
	static const char *const none[] = { "  ", "", NULL };
	char *terms[80], *url = NULL, *why = NULL;
	struct newsapi_query q;

	query_init(&q, none);
	CHECK_EQ(newsapi_build_url(&q, &url, &why), KITH_EINVAL);
	CHECK(url == NULL);
	free(why);
	why = NULL;
	for (int i = 0; i < 79; i++)
		terms[i] = xasprintf("term%02d", i);
	terms[79] = NULL;
	query_init(&q, (const char *const *)terms);
	q.page_size = 1000;
	REQUIRE(newsapi_build_url(&q, &url, &why) == KITH_OK);
	CHECK_CONTAINS(url, "pageSize=100");
	CHECK(strstr(url, "pageSize=1000") == NULL);
	CHECK(strstr(url, "term78") == NULL);   /* q stops at 500 bytes */
	CHECK_CONTAINS(url, "term00%20OR%20term01");
	free(url);
	for (int i = 0; i < 79; i++)
		free(terms[i]);
}

static void test_parse(void)
{
	static const char body[] =
		"{\"status\":\"ok\",\"totalResults\":4215,\"articles\":["
		"{\"source\":{\"id\":null,\"name\":\"Wired\"},\"author\":null,\"title\":\" Mars rover finds clay \","
		"\"description\":null,\"url\":\"https://w.example/1\",\"urlToImage\":null,"
		"\"publishedAt\":\"2024-01-15T18:00:00Z\",\"content\":null},"
		"{\"source\":{\"id\":null,\"name\":\"[Removed]\"},\"title\":\"[Removed]\",\"description\":\"[Removed]\","
		"\"url\":\"https://removed.com\",\"publishedAt\":\"1970-01-01T00:00:00Z\",\"content\":\"[Removed]\"},"
		"{\"title\":\"No url\",\"url\":null},"
		"{\"title\":42,\"url\":\"https://x.example\"},"
		"7,"
		"{\"source\":null,\"title\":\"Offset time\",\"url\":\"https://o.example\","
		"\"publishedAt\":\"2024-01-15T20:00:00.123+02:00\",\"description\":\"d\",\"content\":\"c\"},"
		"{\"title\":\"Bad time\",\"url\":\"https://b.example\",\"publishedAt\":\"yesterday\"}"
		"]}";
	struct newsapi_result r;
	char *why = NULL;
	int64_t t = 0;

	REQUIRE(newsapi_parse(body, strlen(body), &r, &why) == KITH_OK);
	CHECK_EQ(r.total, 4215);
	REQUIRE(r.n == 3);
	CHECK_EQ(r.removed, 4);
	CHECK_STR(r.v[0].title, "Mars rover finds clay");
	CHECK_STR(r.v[0].source, "Wired");
	CHECK_STR(r.v[0].description, "");
	CHECK_STR(r.v[0].content, "");
	CHECK_EQ(r.v[0].published_at, 1705341600000LL);
	CHECK_STR(r.v[1].source, "");
	CHECK_EQ(r.v[1].published_at, 1705341600000LL);   /* 20:00+02:00 = 18:00Z */
	CHECK_EQ(r.v[2].published_at, 0);
	newsapi_result_release(&r);
	CHECK(newsapi_parse_time("2024-02-29", &t) && t == 1709164800000LL);
	CHECK(!newsapi_parse_time("2024-13-01T00:00:00Z", &t));
	CHECK(!newsapi_parse_time("2024-01-01T00:00:00Zjunk", &t));
	CHECK_EQ(newsapi_parse("[]", 2, &r, &why), KITH_EPROTO);
	CHECK_EQ(r.n, 0);
	free(why);
	why = NULL;
	CHECK_EQ(newsapi_parse("{\"status\":\"ok\"}", 15, &r, &why), KITH_OK);
	CHECK_EQ(r.n, 0);
	free(why);
}

static void test_errors(void)
{
	static const char *const terms[] = { "rust", NULL };
	struct fake_news_reply limited = { .status = 429 };
	struct fake_news_reply server = { .status = 500, .times = 2 };
	struct fake_news_reply plain = { .status = 503, .raw_body = "<html>down</html>" };
	struct newsapi_query q;
	struct newsapi_result res;
	size_t before;
	char *why = NULL;

	query_init(&q, terms);
	q.key = "wrong";
	CHECK_EQ(newsapi_search(&q, &res, &why), KITH_EAUTH);
	CHECK_CONTAINS(why, "apiKeyInvalid");
	CHECK(strstr(why, "wrong") == NULL);
	free(why);
	why = NULL;

	query_init(&q, terms);
	q.attempts = 3;
	before = fake_newsapi_request_count(fk);
	fake_newsapi_push(fk, &limited);
	CHECK_EQ(newsapi_search(&q, &res, &why), KITH_ERATELIMIT);
	CHECK_CONTAINS(why, "rateLimited");
	CHECK_EQ(fake_newsapi_request_count(fk), before + 1);   /* a daily limit: no retry */
	free(why);
	why = NULL;

	query_init(&q, terms);
	q.attempts = 1;
	fake_newsapi_push(fk, &server);
	CHECK_EQ(newsapi_search(&q, &res, &why), KITH_EHTTP);
	CHECK_CONTAINS(why, "unexpectedError");
	free(why);
	why = NULL;
	CHECK_EQ(newsapi_search(&q, &res, &why), KITH_EHTTP);
	free(why);
	why = NULL;
	fake_newsapi_push(fk, &plain);
	CHECK_EQ(newsapi_search(&q, &res, &why), KITH_EHTTP);
	CHECK_CONTAINS(why, "HTTP 503");
	free(why);
	why = NULL;

	q.key = NULL;
	CHECK_EQ(newsapi_search(&q, &res, &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "NEWS_API_KEY");
	free(why);
	why = NULL;
}

static void test_cancel(void)
{
	static const char *const terms[] = { "rust", NULL };
	struct fake_news_reply slow = { .delay_ms = 10000 };
	struct cancel c = { 0 };
	struct newsapi_query q;
	struct newsapi_result res;
	char *why = NULL;

	query_init(&q, terms);
	q.cancel = &c;
	cancel_request(&c);
	fake_newsapi_push(fk, &slow);
	CHECK_EQ(newsapi_search(&q, &res, &why), KITH_ECANCELED);
	CHECK_EQ(res.n, 0);
	free(why);
}

int main(void)
{
	fk = fake_newsapi_start();
	if (!fk)
		return 1;
	fake_newsapi_set_key(fk, KEY);
	RUN(test_request_shape);
	RUN(test_build_url_limits);
	RUN(test_parse);
	RUN(test_errors);
	RUN(test_cancel);
	fake_newsapi_stop(fk);
	return test_summary();
}
