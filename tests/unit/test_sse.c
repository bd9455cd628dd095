/* test_sse.c — the SSE event parser: every split point, comments,
 * multi-line data, CRLF and lone CR, [DONE], caps and callback failures. */
#include "core/buf.h"
#include "llm/sse.h"
#include "support/test.h"

#include <string.h>

/* Collects events as "ev|ev|…". */
struct sink {
	struct buf out;
	int events;
	int fail_at;
};

static enum kith_status collect(const char *p, size_t n, void *ud)
{
	struct sink *s = ud;

	CHECK_EQ(p[n], '\0');
	s->events++;
	if (s->fail_at && s->events == s->fail_at)
		return KITH_EHTTP;
	if (s->out.len)
		(void)buf_append(&s->out, "|", 1);
	(void)buf_append(&s->out, p, n);
	return KITH_OK;
}

/* Feed `in` (n bytes) split at cut, then finish. */
static enum kith_status run_split(const char *in, size_t n, size_t cut, size_t max,
				  struct sink *s, bool *done)
{
	struct sse p;
	enum kith_status st;

	buf_init(&s->out, 0);
	s->events = 0;
	sse_init(&p, max, collect, s);
	st = sse_feed(&p, in, cut);
	if (!st)
		st = sse_feed(&p, in + cut, n - cut);
	if (!st)
		st = sse_finish(&p);
	if (done)
		*done = p.done;
	sse_release(&p);
	return st;
}

/* Every split point of `in` yields `want` and `done`. */
static void check_all_splits(const char *in, const char *want, int events, bool want_done)
{
	size_t n = strlen(in);

	for (size_t cut = 0; cut <= n; cut++) {
		struct sink s = { .fail_at = 0 };
		bool done = false;

		CHECK_EQ(run_split(in, n, cut, 256, &s, &done), KITH_OK);
		CHECK_STR(buf_str(&s.out), want);
		CHECK_EQ(s.events, events);
		CHECK_EQ(done, want_done);
		buf_release(&s.out);
	}
}

static void test_openrouter_stream(void)
{
	const char *in =
		": OPENROUTER PROCESSING\n\n"
		"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
		": OPENROUTER PROCESSING\n\n"
		"data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
		"data: [DONE]\n\n";

	check_all_splits(in, "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}|"
			 "{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}", 2, true);
}

static void test_multiline_and_fields(void)
{
	/* Two data lines join with "\n"; event/id/retry are ignored; "data"
	 * without a colon is an empty data line; no space after the colon
	 * is fine; only one leading space is stripped. */
	check_all_splits("event: message\nid: 7\nretry: 100\ndata: {\"a\":\ndata: 1}\n\n"
			 "data:x\n\ndata:  two spaces\n\ndata\ndata: y\n\n",
			 "{\"a\":\n1}|x| two spaces|\ny", 4, false);
	/* An event of only comments or only other fields dispatches nothing. */
	check_all_splits(":c1\n:c2\n\nevent: ping\n\n\n\n", "", 0, false);
}

static void test_line_endings(void)
{
	const char *want = "a|b|c";

	check_all_splits("data: a\r\n\r\ndata: b\r\n\r\ndata: c\r\n\r\n", want, 3, false);
	check_all_splits("data: a\r\rdata: b\r\rdata: c\r\r", want, 3, false);
	check_all_splits("data: a\n\rdata: b\r\n\ndata: c\n\n", want, 3, false);
}

static void test_byte_at_a_time_crlf(void)
{
	const char *in = "\xEF\xBB\xBF" "data: one\r\n\r\n: keep-alive\r\ndata: two\r\n"
			 "data: three\r\n\r\ndata: [DONE]\r\n\r\ndata: after\r\n\r\n";
	struct sink s = { .fail_at = 0 };
	struct sse p;

	buf_init(&s.out, 0);
	sse_init(&p, 64, collect, &s);
	for (size_t i = 0; in[i]; i++)
		CHECK_EQ(sse_feed(&p, in + i, 1), KITH_OK);
	CHECK_EQ(sse_finish(&p), KITH_OK);
	/* The BOM is dropped and nothing after [DONE] is delivered. */
	CHECK_STR(buf_str(&s.out), "one|two\nthree");
	CHECK(p.done);
	sse_release(&p);
	buf_release(&s.out);
}

static void test_unterminated_last_event(void)
{
	/* A server that closes right after the last data line. */
	check_all_splits("data: a\n\ndata: b", "a|b", 2, false);
	check_all_splits("data: a\n\ndata: [DONE]\n", "a", 1, true);
}

static void test_caps(void)
{
	struct sink s = { .fail_at = 0 };
	const char *ok = "data: 0123456789\n\n";
	const char *joined = "data: 01234\ndata: 56789\n\n";  /* 11 bytes joined */
	const char *big = "data: 0123456789a\n\n";

	for (size_t cut = 0; cut <= strlen(ok); cut++) {
		CHECK_EQ(run_split(ok, strlen(ok), cut, 10, &s, NULL), KITH_OK);
		CHECK_STR(buf_str(&s.out), "0123456789");
		buf_release(&s.out);
	}
	for (size_t cut = 0; cut <= strlen(big); cut++) {
		CHECK_EQ(run_split(big, strlen(big), cut, 10, &s, NULL), KITH_ETOOBIG);
		CHECK_EQ(s.events, 0);
		buf_release(&s.out);
	}
	CHECK_EQ(run_split(joined, strlen(joined), 3, 10, &s, NULL), KITH_ETOOBIG);
	buf_release(&s.out);
	/* No line breaks at all: the line buffer stops at the cap. */
	{
		struct sse p;
		enum kith_status st = KITH_OK;

		buf_init(&s.out, 0);
		sse_init(&p, 100, collect, &s);
		for (int i = 0; i < 1000 && !st; i++)
			st = sse_feed(&p, ": xxxxxxxxx", 11);
		CHECK_EQ(st, KITH_ETOOBIG);
		CHECK(p.line.len <= 100 + 64);
		CHECK_EQ(sse_feed(&p, "\n\n", 2), KITH_ETOOBIG);
		CHECK_EQ(sse_finish(&p), KITH_ETOOBIG);
		sse_release(&p);
		buf_release(&s.out);
	}
}

static void test_callback_stops(void)
{
	struct sink s = { .fail_at = 2 };
	const char *in = "data: a\n\ndata: b\n\ndata: c\n\n";

	CHECK_EQ(run_split(in, strlen(in), 5, 0, &s, NULL), KITH_EHTTP);
	CHECK_EQ(s.events, 2);
	CHECK_STR(buf_str(&s.out), "a");
	buf_release(&s.out);
}

static void test_nul_in_data(void)
{
	static const char in[] = "data: a\0b\n\n";
	struct sink s = { .fail_at = 0 };

	CHECK_EQ(run_split(in, sizeof(in) - 1, 4, 0, &s, NULL), KITH_OK);
	CHECK_EQ(s.out.len, 3);
	CHECK(memcmp(s.out.data, "a\0b", 3) == 0);
	buf_release(&s.out);
}

int main(void)
{
	RUN(test_openrouter_stream);
	RUN(test_multiline_and_fields);
	RUN(test_line_endings);
	RUN(test_byte_at_a_time_crlf);
	RUN(test_unterminated_last_event);
	RUN(test_caps);
	RUN(test_callback_stops);
	RUN(test_nul_in_data);
	return test_summary();
}
