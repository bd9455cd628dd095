/* test_search.c — web search: Perplexity text and Serper image together.
 *
 * The pure parts first (redaction, cleaning, blocked domains, URL ranking,
 * the parsers, the sources helpers), then whole searches against the fake
 * Perplexity and fake Serper: what goes on the wire, the two requests in
 * flight at once (proved from the fakes' arrival and answer times, not by
 * timing the search), every way the text can fail ("Failed to search: …"),
 * every way an image is passed over, text-only answers when the image side
 * fails, search_log rows, and the "search" tool through the registry with
 * its image and sources handed to the turn. */
#include "agent/tools.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "fakes/fake_perplexity.h"
#include "fakes/fake_serper.h"
#include "store/store.h"
#include "support/test.h"
#include "tools/search_int.h"

#include <stdio.h>
#include <string.h>

static struct fake_perplexity *pplx;
static struct fake_serper *serper;

/* 2026-03-05 02:00 UTC: still March 4 in Los Angeles. */
#define NOW_MS 1772676000000LL

static const unsigned char JPEG[] = { 0xFF, 0xD8, 0xFF, 0xE0, 'j', 'f', 'i', 'f', 0xFF, 0xD9 };
static const unsigned char PNG[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 1, 2, 3 };

static bool starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void opts_for_fakes(struct search_opts *o)
{
	static const char *const blocked[] = { "play.google.com", "apps.apple.com", NULL };

	memset(o, 0, sizeof(*o));
	o->perplexity_url = fake_perplexity_url(pplx);
	o->perplexity_key = "pplx-test-key";
	o->serper_url = fake_serper_url(serper);
	o->serper_key = "serper-test-key";
	o->blocked = blocked;
	o->text_timeout_ms = 10000;
	o->image_timeout_ms = 5000;
	o->image_max_results = 3;
	o->text_attempts = 1;
	o->timezone = "America/Los_Angeles";
	o->now_ms = NOW_MS;
}

/* Fresh fakes for each test that talks to them. */
static void fresh_fakes(void)
{
	fake_perplexity_stop(pplx);
	fake_serper_stop(serper);
	pplx = fake_perplexity_start();
	serper = fake_serper_start();
	fake_perplexity_set_key(pplx, "pplx-test-key");
	fake_serper_set_key(serper, "serper-test-key");
}

static void add_served(const char *path, const void *data, size_t len, const char *type,
		       int status)
{
	struct fake_serper_image im = { .path = path, .data = data, .len = len,
					.content_type = type, .status = status };

	fake_serper_add_image(serper, &im);
}

/* ---- redaction ----------------------------------------------------------- */

static void check_redact(const char *text, const char *const *terms, const char *want)
{
	char *got = search_redact(text, terms);

	CHECK_STR(got, want);
	free(got);
}

static void test_redact(void)
{
	static const char *const jared[] = { "Jared", NULL };
	static const char *const full[] = { "Jared Lockhart", "Jared", "Lockhart", NULL };
	static const char *const empty[] = { "", NULL };

	check_redact("what does Jared like", jared, "what does like");
	check_redact("JARED and jared and jArEd", jared, "and and");
	check_redact("Jaredson is not Jared", jared, "Jaredson is not");
	check_redact("hi Jared, Jared's cat", jared, "hi , 's cat");
	check_redact("gifts for Jared Lockhart in Toronto", full, "gifts for in Toronto");
	check_redact("  spaced   out  ", empty, "spaced out");
	check_redact("keep single spaces\nand a newline", NULL, "keep single spaces\nand a newline");
	check_redact("Jared", jared, "");
	check_redact("café Jared", jared, "café");
}

static void test_redact_terms(void)
{
	char **t = search_redact_terms("Jared  Lockhart", "find restaurants near me");

	REQUIRE(t != NULL);
	CHECK_STR(t[0], "Jared Lockhart");
	CHECK_STR(t[1], "Jared");
	CHECK_STR(t[2], "Lockhart");
	CHECK(t[3] == NULL);
	search_terms_free(t);
	/* The user names themselves: nothing is redacted. */
	CHECK(search_redact_terms("Jared Lockhart", "who else is called jared?") == NULL);
	t = search_redact_terms("Jared", "Jaredson facts");
	CHECK(t != NULL);
	search_terms_free(t);
	CHECK(search_redact_terms(NULL, "x") == NULL);
	CHECK(search_redact_terms("   ", "x") == NULL);
}

/* ---- cleaning ------------------------------------------------------------ */

static void check_clean(const char *in, const char *want)
{
	char *got = search_clean_text(in);

	CHECK_STR(got, want);
	free(got);
}

static void test_clean_text(void)
{
	check_clean("The sky is blue[1][2].", "The sky is blue.");
	check_clean("Rayleigh scattering[web:3] and [attached_file:1]more", "Rayleigh scattering and more");
	check_clean("## Heading\nbody", "Heading\nbody");
	check_clean("####### seven", "####### seven");
	check_clean("**bold** and *italic* and ***both***", "bold and italic and both");
	check_clean("- one\n- two\n* three", "one\ntwo\nthree");
	check_clean("a\n\n\n\n\nb", "a\n\nb");
	check_clean("  \n padded \n\n ", "padded");
	check_clean("see [the docs](https://x.org)", "see [the docs](https://x.org)");
	check_clean("[note] kept? no: [a b] is kept", "kept? no: [a b] is kept");
	check_clean("2 * 3 = 6", "2 * 3 = 6");
	check_clean("***", "*");
	check_clean("**unclosed\nline**", "**unclosed\nline**");
	check_clean("", "");
}

static void test_url_blocked(void)
{
	static const char *const b[] = { "play.google.com", ".apps.apple.com", "example.org", NULL };

	CHECK(search_url_blocked("https://play.google.com/store/apps/x", b));
	CHECK(search_url_blocked("https://PLAY.google.com./x", b));
	CHECK(search_url_blocked("https://apps.apple.com/us/app/x", b));
	CHECK(search_url_blocked("http://cdn.example.org:8080/a.jpg", b));
	CHECK(search_url_blocked("https://user@example.org/", b));
	CHECK(!search_url_blocked("https://notexample.org/", b));
	CHECK(!search_url_blocked("https://google.com/", b));
	CHECK(!search_url_blocked("https://example.com/?u=play.google.com", b));
	CHECK(!search_url_blocked("not a url", b));
	CHECK(!search_url_blocked("https://play.google.com/", NULL));
}

/* ---- the Perplexity parser ----------------------------------------------- */

static void parse_ok(const char *body, struct perplexity_answer *a)
{
	static const char *const blocked[] = { "play.google.com", "apps.apple.com", NULL };
	char *why = NULL;

	CHECK_EQ(perplexity_parse(body, strlen(body), blocked, a, &why), KITH_OK);
	CHECK(why == NULL);
	free(why);
}

static void test_parse_text(void)
{
	struct perplexity_answer a;

	parse_ok("{\"output_text\":\"**Top** answer[1]\",\"output\":[]}", &a);
	CHECK_STR(a.text, "Top answer");
	CHECK_EQ(a.nurls, 0);
	perplexity_answer_release(&a);

	/* No output_text: the message items' text parts, joined. */
	parse_ok("{\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\","
		 "\"text\":\"first\"},{\"type\":\"output_text\",\"text\":\"second\"}]},"
		 "{\"type\":\"message\",\"content\":[{\"text\":\"third\"}]}]}", &a);
	CHECK_STR(a.text, "first\n\nsecond\n\nthird");
	perplexity_answer_release(&a);

	parse_ok("{\"output_text\":\"\",\"output\":[]}", &a);
	CHECK_STR(a.text, SEARCH_NO_RESULTS);
	perplexity_answer_release(&a);
}

static void test_parse_nulls(void)
{
	static const char *const bodies[] = {
		"{}",
		"{\"output\":null}",
		"{\"output\":[null,1,\"x\",{}]}",
		"{\"output\":[{\"type\":\"search_results\",\"results\":null}]}",
		"{\"output\":[{\"type\":\"search_results\",\"results\":[null,{\"url\":null},{}]}]}",
		"{\"output\":[{\"type\":\"message\",\"content\":null}]}",
		"{\"output\":[{\"type\":\"message\",\"content\":[null,{\"text\":null,"
		"\"annotations\":null},{\"annotations\":[null,{\"url\":5}]}]}]}",
		"{\"output_text\":null,\"output\":{\"type\":\"message\"}}",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct perplexity_answer a;

		parse_ok(bodies[i], &a);
		CHECK_STR(a.text, SEARCH_NO_RESULTS);
		CHECK_EQ(a.nurls, 0);
		perplexity_answer_release(&a);
	}
}

static void test_parse_not_json(void)
{
	struct perplexity_answer a;
	char *why = NULL;

	CHECK_EQ(perplexity_parse("<html>", 6, NULL, &a, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "not JSON");
	free(why);
	why = NULL;
	CHECK_EQ(perplexity_parse("[1]", 3, NULL, &a, &why), KITH_EPROTO);
	free(why);
	CHECK(a.text == NULL);
}

static void test_parse_ranks_urls(void)
{
	static const char *const results[] = {
		"https://a.example/", "https://b.example/", "https://play.google.com/app",
		"https://c.example/", NULL,
	};
	static const char *const cited[] = {
		"https://c.example/", "https://d.example/", "https://c.example/",
		"https://apps.apple.com/x", "https://apps.apple.com/x", "https://apps.apple.com/x",
		"https://b.example/", "https://e.example/", "https://f.example/", NULL,
	};
	struct fake_pplx_reply r = { .text = "x", .search_results = results, .citations = cited };
	char *body = fake_perplexity_body(&r);
	struct perplexity_answer a;

	parse_ok(body, &a);
	/* c cited twice; then b, d, e, f once (order of first appearance:
	 * b came in the search results before d); a never cited; the blocked
	 * apple URL (cited three times) and the Play URL are gone; five kept. */
	REQUIRE(a.nurls == 5);
	CHECK_STR(a.urls[0], "https://c.example/");
	CHECK_STR(a.urls[1], "https://b.example/");
	CHECK_STR(a.urls[2], "https://d.example/");
	CHECK_STR(a.urls[3], "https://e.example/");
	CHECK_STR(a.urls[4], "https://f.example/");
	perplexity_answer_release(&a);
	free(body);
}

/* ---- the Serper parser and image rules ----------------------------------- */

static void test_serper_parse(void)
{
	const char *body = "{\"images\":[{\"imageUrl\":\"https://x/a.jpg\"},null,{\"imageUrl\":5},"
			   "{\"title\":\"no url\"},{\"imageUrl\":\"https://x/b.png\"}]}";
	char **urls = NULL, *why = NULL;
	size_t n = 0;

	CHECK_EQ(serper_parse(body, strlen(body), &urls, &n, &why), KITH_OK);
	REQUIRE(n == 2);
	CHECK_STR(urls[0], "https://x/a.jpg");
	CHECK_STR(urls[1], "https://x/b.png");
	CHECK(urls[2] == NULL);
	search_terms_free(urls);
	CHECK_EQ(serper_parse("{\"images\":null}", 15, &urls, &n, &why), KITH_OK);
	CHECK_EQ(n, 0);
	CHECK_EQ(serper_parse("nope", 4, &urls, &n, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "not JSON");
	free(why);
}

static void test_image_ext_and_mime(void)
{
	CHECK_STR(serper_image_ext("https://x.org/a/b/cat.JPG"), "jpg");
	CHECK_STR(serper_image_ext("https://x.org/cat.jpeg?w=200#frag"), "jpeg");
	CHECK_STR(serper_image_ext("http://x.org/p.webp"), "webp");
	CHECK(serper_image_ext("https://x.org/cat.svg") == NULL);
	CHECK(serper_image_ext("https://x.org/cat") == NULL);
	CHECK(serper_image_ext("https://x.org/a.jpg/view") == NULL);
	CHECK(serper_image_ext("https://x.org") == NULL);
	CHECK(serper_image_ext("https://img.jpg") == NULL);
	CHECK(serper_image_ext("https://x.org/a.jpgx") == NULL);
	CHECK(serper_image_ext(NULL) == NULL);

	CHECK_STR(serper_image_mime("image/png", "jpg"), "image/png");
	CHECK_STR(serper_image_mime(" Image/JPEG ; charset=binary", "png"), "image/jpeg");
	CHECK_STR(serper_image_mime("application/octet-stream", "png"), "image/png");
	CHECK_STR(serper_image_mime("binary/octet-stream", "jpg"), "image/jpeg");
	CHECK_STR(serper_image_mime(NULL, "gif"), "image/gif");
	CHECK(serper_image_mime("text/html", "jpg") == NULL);
	CHECK(serper_image_mime("image/svg+xml", "png") == NULL);
	CHECK(serper_image_mime("application/octet-stream", NULL) == NULL);
}

/* ---- sources and the model's text ---------------------------------------- */

static void test_sources_helpers(void)
{
	static const char *const src[] = { "https://a.example/x", "https://b.example/" };
	char *s;
	struct search_result r = { 0 };

	s = search_sources_block(src, 2);
	CHECK_STR(s, "Sources:\n1. https://a.example/x\n2. https://b.example/");
	free(s);
	CHECK(search_sources_block(src, 0) == NULL);

	s = search_append_source("It is sunny.", src, 2);
	CHECK_STR(s, "It is sunny.\n\nhttps://a.example/x");
	free(s);
	s = search_append_source("See https://c.example for more.", src, 2);
	CHECK_STR(s, "See https://c.example for more.");
	free(s);
	s = search_append_source("It is sunny.", src, 0);
	CHECK_STR(s, "It is sunny.");
	free(s);
	s = search_append_source("", src, 1);
	CHECK_STR(s, "https://a.example/x");
	free(s);

	r.text = "The answer.";
	r.sources = (char **)src;
	r.nsources = 2;
	s = search_format_for_model(&r);
	CHECK(starts_with(s, "The answer.\n\nSources:\n1. https://a.example/x\n2. https://b.example/\n\n"));
	CHECK_CONTAINS(s, "Do not search again");
	free(s);
	r.text = NULL;
	r.error = "Perplexity answered HTTP 500";
	s = search_format_for_model(&r);
	CHECK_STR(s, "Failed to search: Perplexity answered HTTP 500");
	free(s);
}

static void test_date_prefix(void)
{
	char *p = search_date_prefix("America/Los_Angeles", NOW_MS);

	CHECK_STR(p, "[Today is March 04, 2026] ");
	free(p);
	p = search_date_prefix("UTC", NOW_MS);
	CHECK_STR(p, "[Today is March 05, 2026] ");
	free(p);
	p = search_date_prefix("Not/AZone", NOW_MS);
	CHECK_STR(p, "[Today is March 05, 2026] ");
	free(p);
	p = search_date_prefix(NULL, NOW_MS);
	CHECK_STR(p, "[Today is March 05, 2026] ");
	free(p);
}

/* ---- whole searches against the fakes ------------------------------------ */

static void test_request_shapes(void)
{
	static const char *const redact[] = { "Jared Lockhart", "Jared", "Lockhart", NULL };
	struct search_opts o;
	struct search_result r;
	json_t *j;
	char *h;

	fresh_fakes();
	add_served("/img/cat.jpg", JPEG, sizeof(JPEG), "image/jpeg", 0);
	opts_for_fakes(&o);
	o.redact = redact;
	CHECK_EQ(search_run(&o, "best gift for Jared   Lockhart's dog", &r, NULL), KITH_OK);
	CHECK_STR(r.query, "best gift for 's dog");

	REQUIRE(fake_perplexity_request_count(pplx) == 1);
	h = fake_perplexity_request_path(pplx, 0);
	CHECK_STR(h, "/v1/responses");
	free(h);
	h = fake_perplexity_request_header(pplx, 0, "Authorization");
	CHECK_STR(h, "Bearer pplx-test-key");
	free(h);
	h = fake_perplexity_request_header(pplx, 0, "Content-Type");
	CHECK_STR(h, "application/json");
	free(h);
	j = fake_perplexity_request_json(pplx, 0);
	CHECK_STR(kjson_str(j, "preset"), "pro-search");
	CHECK_STR(kjson_str(j, "input"), "[Today is March 04, 2026] best gift for 's dog");
	CHECK_EQ(json_object_size(j), 2);
	json_decref(j);

	REQUIRE(fake_serper_count_path(serper, "/images") == 1);
	h = fake_serper_request_header(serper, 0, "X-API-KEY");
	CHECK_STR(h, "serper-test-key");
	free(h);
	j = fake_serper_request_json(serper, 0);
	CHECK_STR(kjson_str(j, "q"), "best gift for 's dog");
	{
		long long num = 0;

		CHECK(kjson_int(j, "num", &num));
		CHECK_EQ(num, 3);
	}
	json_decref(j);
	CHECK_STR(r.text, "Fake search results.");
	CHECK(r.image.data != NULL);
	search_result_release(&r);
}

static void test_parallel(void)
{
	struct fake_pplx_reply slow = { .text = "slow text", .delay_ms = 300 };
	struct search_opts o;
	struct search_result r;
	int64_t p_in, p_out, s_in, s_out;
	size_t s_idx = 0;

	fresh_fakes();
	fake_perplexity_push(pplx, &slow);
	fake_serper_set_delay(serper, 300);
	add_served("/img/a.png", PNG, sizeof(PNG), "image/png", 0);
	opts_for_fakes(&o);
	CHECK_EQ(search_run(&o, "parallel please", &r, NULL), KITH_OK);
	CHECK_STR(r.text, "slow text");
	CHECK(r.image.data != NULL);

	/* The Serper search is the first request the Serper fake saw. */
	REQUIRE(fake_perplexity_request_count(pplx) == 1);
	REQUIRE(fake_serper_request_count(serper) >= 1);
	p_in = fake_perplexity_request_arrived(pplx, 0);
	p_out = fake_perplexity_request_answered(pplx, 0);
	s_in = fake_serper_request_arrived(serper, s_idx);
	s_out = fake_serper_request_answered(serper, s_idx);
	CHECK(p_in > 0 && p_out > 0 && s_in > 0 && s_out > 0);
	/* Each request arrived before the other was answered: both in flight. */
	CHECK_INT(s_in, <, p_out);
	CHECK_INT(p_in, <, s_out);
	search_result_release(&r);
}

static void expect_text_failure(const char *needle, long timeout_ms)
{
	struct search_opts o;
	struct search_result r;
	char *why = NULL, *model;

	opts_for_fakes(&o);
	if (timeout_ms)
		o.text_timeout_ms = timeout_ms;
	CHECK(search_run(&o, "will it fail", &r, &why) != KITH_OK);
	CHECK(r.text == NULL);
	CHECK_CONTAINS(r.error, needle);
	CHECK_CONTAINS(why, needle);
	model = search_format_for_model(&r);
	CHECK(strncmp(model, "Failed to search: ", 18) == 0);
	CHECK_CONTAINS(model, needle);
	CHECK_EQ(r.nsources, 0);
	free(model);
	free(why);
	search_result_release(&r);
}

static void test_text_failures(void)
{
	struct fake_pplx_reply e500 = { .status = 500 }, e401 = { .status = 401 };
	struct fake_pplx_reply slow = { .text = "late", .delay_ms = 3000 };
	struct fake_pplx_reply gone = { .hang_up = true };
	struct fake_pplx_reply junk = { .raw_body = "not json at all" };

	fresh_fakes();
	fake_perplexity_push(pplx, &e500);
	expect_text_failure("HTTP 500", 0);
	fake_perplexity_push(pplx, &e401);
	expect_text_failure("rejected the API key", 0);
	fake_perplexity_push(pplx, &slow);
	expect_text_failure("did not answer in time", 300);
	fake_perplexity_push(pplx, &gone);
	expect_text_failure("cannot reach Perplexity", 0);
	fake_perplexity_push(pplx, &junk);
	expect_text_failure("not JSON", 0);
	/* A wrong key: the fake's HTML 401. */
	fake_perplexity_set_key(pplx, "another-key");
	expect_text_failure("rejected the API key", 0);
}

static void test_text_retried_once(void)
{
	struct fake_pplx_reply e503 = { .status = 503 };
	struct search_opts o;
	struct search_result r;

	fresh_fakes();
	fake_perplexity_push(pplx, &e503);
	opts_for_fakes(&o);
	o.text_attempts = 2;
	o.skip_images = true;
	CHECK_EQ(search_run(&o, "retry me", &r, NULL), KITH_OK);
	CHECK_EQ(fake_perplexity_request_count(pplx), 2);
	CHECK_STR(r.text, "Fake search results.");
	search_result_release(&r);
}

static void expect_text_only(const char *why_needle)
{
	struct search_opts o;
	struct search_result r;

	opts_for_fakes(&o);
	o.image_timeout_ms = 400;
	CHECK_EQ(search_run(&o, "text only", &r, NULL), KITH_OK);
	CHECK_STR(r.text, "Fake search results.");
	CHECK(r.image.data == NULL);
	CHECK_CONTAINS(r.image_error, why_needle);
	search_result_release(&r);
}

static void test_image_failures_degrade(void)
{
	struct fake_serper_reply e500 = { .status = 500 };
	struct fake_serper_reply credits = { .status = 400,
		.body = "{\"message\":\"Not enough credits\",\"statusCode\":400}" };
	struct fake_serper_reply slow = { .delay_ms = 3000 };
	struct fake_serper_reply junk = { .body = "<html>" };

	fresh_fakes();
	add_served("/img/ok.jpg", JPEG, sizeof(JPEG), "image/jpeg", 0);
	fake_serper_push(serper, &e500);
	expect_text_only("HTTP 500");
	fake_serper_push(serper, &credits);
	expect_text_only("HTTP 400");
	fake_serper_push(serper, &slow);
	expect_text_only("Serper");
	fake_serper_push(serper, &junk);
	expect_text_only("not JSON");
	fake_serper_set_key(serper, "other");
	expect_text_only("HTTP 403");
	fake_serper_set_key(serper, "serper-test-key");
	/* No usable image at all. */
	fake_serper_clear_images(serper);
	add_served("/img/page.html", "<p>", 3, "text/html", 0);
	expect_text_only("no usable image");
}

static void test_image_choice(void)
{
	static const unsigned char big[64] = { 0 };
	struct fake_serper_image blocked = { .image_url = "https://play.google.com/shot.png" };
	struct search_opts o;
	struct search_result r;
	char *want;

	fresh_fakes();
	/* In order: a bad extension (never downloaded), a blocked host (never
	 * downloaded), a .jpg that is HTML, a 404, one over the size cap, then
	 * an octet-stream .png: the first acceptable. */
	add_served("/img/vector.svg", "<svg/>", 6, "image/svg+xml", 0);
	fake_serper_add_image(serper, &blocked);
	add_served("/img/fake.jpg", "<html>", 6, "text/html", 0);
	add_served("/img/missing.jpg", "gone", 4, "text/plain", 404);
	add_served("/img/huge.jpg", big, sizeof(big), "image/jpeg", 0);
	add_served("/img/raw.png", PNG, sizeof(PNG), "application/octet-stream", 0);
	add_served("/img/later.gif", "GIF89a", 6, "image/gif", 0);
	opts_for_fakes(&o);
	o.image_max_results = 10;
	o.image_max_bytes = 32;
	CHECK_EQ(search_run(&o, "pick an image", &r, NULL), KITH_OK);
	REQUIRE(r.image.data != NULL);
	CHECK_STR(r.image.mime, "image/png");
	CHECK_EQ(r.image.len, sizeof(PNG));
	CHECK(memcmp(r.image.data, PNG, sizeof(PNG)) == 0);
	want = xasprintf("%s/img/raw.png", fake_serper_url(serper));
	CHECK_STR(r.image.url, want);
	free(want);
	CHECK_EQ(fake_serper_count_path(serper, "/img/vector.svg"), 0);
	CHECK_EQ(fake_serper_count_path(serper, "/img/fake.jpg"), 1);
	CHECK_EQ(fake_serper_count_path(serper, "/img/missing.jpg"), 1);
	CHECK_EQ(fake_serper_count_path(serper, "/img/huge.jpg"), 1);
	CHECK_EQ(fake_serper_count_path(serper, "/img/later.gif"), 0);
	search_result_release(&r);
}

static void test_image_count_asked(void)
{
	struct search_opts o;
	struct search_result r;

	fresh_fakes();
	add_served("/img/1.svg", "x", 1, "image/svg+xml", 0);
	add_served("/img/2.svg", "x", 1, "image/svg+xml", 0);
	add_served("/img/3.svg", "x", 1, "image/svg+xml", 0);
	add_served("/img/4.jpg", JPEG, sizeof(JPEG), "image/jpeg", 0);
	opts_for_fakes(&o);   /* IMAGE_MAX_RESULTS 3: the fourth is never listed */
	CHECK_EQ(search_run(&o, "three only", &r, NULL), KITH_OK);
	CHECK(r.image.data == NULL);
	CHECK_EQ(fake_serper_count_path(serper, "/img/4.jpg"), 0);
	search_result_release(&r);
}

static void test_skip_images_and_no_key(void)
{
	struct search_opts o;
	struct search_result r;

	fresh_fakes();
	add_served("/img/ok.jpg", JPEG, sizeof(JPEG), "image/jpeg", 0);
	opts_for_fakes(&o);
	o.skip_images = true;
	CHECK_EQ(search_run(&o, "just text", &r, NULL), KITH_OK);
	CHECK(r.image.data == NULL);
	search_result_release(&r);
	opts_for_fakes(&o);
	o.serper_key = NULL;
	CHECK_EQ(search_run(&o, "no serper key", &r, NULL), KITH_OK);
	CHECK(r.image.data == NULL);
	search_result_release(&r);
	CHECK_EQ(fake_serper_request_count(serper), 0);
	CHECK_EQ(fake_perplexity_request_count(pplx), 2);

	opts_for_fakes(&o);
	o.perplexity_key = NULL;
	CHECK_EQ(search_run(&o, "no key", &r, NULL), KITH_ECONFIG);
	CHECK_CONTAINS(r.error, "PERPLEXITY_API_KEY");
	search_result_release(&r);
	/* A query that redaction empties is not sent. */
	{
		static const char *const me[] = { "Jared", NULL };

		opts_for_fakes(&o);
		o.redact = me;
		CHECK_EQ(search_run(&o, " jared ", &r, NULL), KITH_EINVAL);
		CHECK_CONTAINS(r.error, "empty");
		search_result_release(&r);
	}
	CHECK_EQ(fake_perplexity_request_count(pplx), 2);
}

static void test_cancel(void)
{
	struct fake_pplx_reply slow = { .text = "late", .delay_ms = 5000 };
	struct cancel c = { 0 };
	struct search_opts o;
	struct search_result r;

	fresh_fakes();
	fake_perplexity_push(pplx, &slow);
	opts_for_fakes(&o);
	cancel_request(&c);
	o.cancel = &c;
	CHECK(search_run(&o, "cancelled", &r, NULL) != KITH_OK);
	CHECK(r.text == NULL);
	search_result_release(&r);
}

/* ---- the search log ------------------------------------------------------ */

static struct store *open_store(const char *name)
{
	char *path = test_path(name), *why = NULL;
	struct store *st = NULL;

	if (store_open(path, &st, &why) != KITH_OK || store_migrate(st, NULL, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "store: %s", why ? why : "?");
		store_close(st);
		st = NULL;
	}
	free(why);
	free(path);
	return st;
}

static void test_search_log_rows(void)
{
	static const char *const cites[] = { "https://a.example/", "https://b.example/", NULL };
	static const char *const me[] = { "Jared", NULL };
	struct fake_pplx_reply good = { .text = "**Answer**[1]", .citations = cites };
	struct fake_pplx_reply bad = { .status = 500 };
	struct store *st = open_store("search-log.db");
	struct store_search_log *rows = NULL;
	struct search_opts o;
	struct search_result r;
	size_t n = 0;
	char *want;

	REQUIRE(st != NULL);
	fresh_fakes();
	add_served("/img/ok.jpg", JPEG, sizeof(JPEG), "image/jpeg", 0);
	fake_perplexity_push(pplx, &good);
	fake_perplexity_push(pplx, &bad);
	opts_for_fakes(&o);
	o.store = st;
	o.redact = me;
	o.author_id = "user-1";
	CHECK_EQ(search_run(&o, "what does Jared like", &r, NULL), KITH_OK);
	CHECK(r.log_id > 0);
	search_result_release(&r);
	o.skip_images = true;
	CHECK(search_run(&o, "second search", &r, NULL) != KITH_OK);
	search_result_release(&r);

	CHECK_EQ(store_search_log_recent(st, 10, &rows, &n, NULL), KITH_OK);
	REQUIRE(n == 2);
	/* Newest first: the failure. */
	CHECK_STR(rows[0].query, "second search");
	CHECK_STR(rows[0].response, "");
	CHECK_CONTAINS(rows[0].error, "HTTP 500");
	CHECK(rows[0].image_url == NULL);
	CHECK_EQ(rows[0].nsources, 0);
	CHECK_STR(rows[1].query, "what does like");
	CHECK_STR(rows[1].response, "Answer");
	CHECK(rows[1].error == NULL);
	REQUIRE(rows[1].nsources == 2);
	CHECK_STR(rows[1].sources[0], "https://a.example/");
	CHECK_STR(rows[1].sources[1], "https://b.example/");
	want = xasprintf("%s/img/ok.jpg", fake_serper_url(serper));
	CHECK_STR(rows[1].image_url, want);
	free(want);
	CHECK_STR(rows[1].trigger, "user_message");
	CHECK_STR(rows[1].author_id, "user-1");
	CHECK(rows[1].duration_ms >= 0);
	CHECK(!rows[1].extracted);
	store_search_logs_free(rows, n);
	store_close(st);
}

/* ---- the tool ------------------------------------------------------------ */

static struct config *config_for_fakes(void)
{
	char *e[8], *why = NULL;
	struct config *cfg = NULL;

	e[0] = xasprintf("KITH_DATA_DIR=%s", test_tmpdir());
	e[1] = xasprintf("PERPLEXITY_API_URL=%s", fake_perplexity_url(pplx));
	e[2] = xstrdup("PERPLEXITY_API_KEY=pplx-test-key");
	e[3] = xasprintf("SERPER_API_URL=%s", fake_serper_url(serper));
	e[4] = xstrdup("SERPER_API_KEY=serper-test-key");
	e[5] = xstrdup("URL_BLOCKLIST_DOMAINS=blocked.example");
	e[6] = xstrdup("SEL_TIMEZONE=UTC");
	e[7] = NULL;
	if (config_load(&cfg, (const char *const *)e, test_tmpdir(), &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "config: %s", why ? why : "?");
	for (int i = 0; e[i]; i++)
		free(e[i]);
	free(why);
	return cfg;
}

static void test_tool(void)
{
	static const char *const cites[] = { "https://blocked.example/a", "https://a.example/",
					     "https://b.example/", NULL };
	struct fake_pplx_reply good = { .text = "The answer.", .citations = cites };
	struct fake_pplx_reply bad = { .status = 500, .times = 2 };   /* and its retry */
	struct tool_registry *reg = tools_new();
	struct store *st = open_store("tool.db");
	struct config *cfg;
	struct tool_out out = { 0 };
	struct tool_ctx ctx = { 0 };
	json_t *args = kjson_parse("{\"query\":\"news for Ann\"}", 24, NULL);
	char *result = NULL;
	json_t *in;

	fresh_fakes();
	add_served("/img/ok.jpg", JPEG, sizeof(JPEG), "image/jpeg", 0);
	cfg = config_for_fakes();
	REQUIRE(cfg != NULL && st != NULL);
	CHECK(search_available(cfg));
	tools_add(reg, &tool_search);
	fake_perplexity_push(pplx, &good);
	ctx.cfg = cfg;
	ctx.timezone = "UTC";
	ctx.now_ms = NOW_MS;
	ctx.store = st;
	ctx.out = &out;
	ctx.user_name = "Ann";
	ctx.message = "what is new today";
	CHECK_EQ(tools_call(reg, &ctx, "search", args, NULL, &result), KITH_OK);
	CHECK(starts_with(result, "The answer.\n\nSources:\n1. https://a.example/\n"
				  "2. https://b.example/\n\n"));
	in = fake_perplexity_request_json(pplx, 0);
	CHECK_STR(kjson_str(in, "input"), "[Today is March 05, 2026] news for");
	json_decref(in);
	REQUIRE(out.nsources == 2);
	CHECK_STR(out.sources[0], "https://a.example/");
	REQUIRE(out.nattachments == 1);
	CHECK_STR(out.attachments[0].content_type, "image/jpeg");
	CHECK_STR(out.attachments[0].filename, "search-image.jpg");
	CHECK_EQ(out.attachments[0].len, sizeof(JPEG));
	free(result);

	/* A failed search reaches the model as text, and leaves nothing. */
	fake_perplexity_push(pplx, &bad);
	CHECK_EQ(tools_call(reg, &ctx, "search", args, NULL, &result), KITH_OK);
	CHECK(strncmp(result, "Failed to search: ", 18) == 0);
	CHECK_EQ(out.nattachments, 1);
	CHECK_EQ(out.nsources, 2);
	free(result);

	/* A missing query is the registry's error, before any request. */
	{
		json_t *none = json_object();
		size_t before = fake_perplexity_request_count(pplx);

		CHECK_EQ(tools_call(reg, &ctx, "search", none, NULL, &result), KITH_EINVAL);
		CHECK_CONTAINS(result, "query");
		CHECK_EQ(fake_perplexity_request_count(pplx), before);
		free(result);
		json_decref(none);
	}
	{
		char *reply = search_append_source("Here you go.",
						   (const char *const *)out.sources, out.nsources);

		CHECK_STR(reply, "Here you go.\n\nhttps://a.example/");
		free(reply);
	}
	tool_out_release(&out);
	json_decref(args);
	tools_free(reg);
	config_free(cfg);
	store_close(st);
}

static void test_tool_out(void)
{
	struct tool_out o = { 0 };
	struct attachment a = { 0 };

	tool_out_add_source(&o, "https://a/");
	tool_out_add_source(&o, "https://b/");
	tool_out_add_source(&o, "https://a/");
	tool_out_add_source(&o, "");
	tool_out_add_source(&o, NULL);
	CHECK_EQ(o.nsources, 2);
	a.content_type = xstrdup("image/png");
	a.data = xmalloc(3);
	a.len = 3;
	tool_out_add_attachment(&o, &a);
	CHECK(a.data == NULL && a.content_type == NULL);
	CHECK_EQ(o.nattachments, 1);
	tool_out_release(&o);
	CHECK_EQ(o.nsources, 0);
}

int main(void)
{
	RUN(test_redact);
	RUN(test_redact_terms);
	RUN(test_clean_text);
	RUN(test_url_blocked);
	RUN(test_parse_text);
	RUN(test_parse_nulls);
	RUN(test_parse_not_json);
	RUN(test_parse_ranks_urls);
	RUN(test_serper_parse);
	RUN(test_image_ext_and_mime);
	RUN(test_sources_helpers);
	RUN(test_date_prefix);
	RUN(test_request_shapes);
	RUN(test_parallel);
	RUN(test_text_failures);
	RUN(test_text_retried_once);
	RUN(test_image_failures_degrade);
	RUN(test_image_choice);
	RUN(test_image_count_asked);
	RUN(test_skip_images_and_no_key);
	RUN(test_cancel);
	RUN(test_search_log_rows);
	RUN(test_tool);
	RUN(test_tool_out);
	fake_perplexity_stop(pplx);
	fake_serper_stop(serper);
	return test_summary();
}
