/* test_ndjson.c — the NDJSON line splitter: every split point, CRLF, blank
 * lines, the per-line cap and callback failures. */
#include "core/buf.h"
#include "llm/ndjson.h"
#include "support/test.h"

#include <string.h>

/* Collects lines as "line|line|…". */
struct sink {
	struct buf out;
	int lines;
	int fail_at;     /* line number whose callback fails, 0 = none */
};

static enum kith_status collect(const char *p, size_t n, void *ud)
{
	struct sink *s = ud;

	s->lines++;
	if (s->fail_at && s->lines == s->fail_at)
		return KITH_EPROTO;
	if (s->out.len)
		(void)buf_append(&s->out, "|", 1);
	(void)buf_append(&s->out, p, n);
	return KITH_OK;
}

/* Feed `in` split at `cut`, then finish; return the status. */
static enum kith_status run_split(const char *in, size_t cut, size_t max, struct sink *s)
{
	struct ndjson nd;
	size_t n = strlen(in);
	enum kith_status st;

	buf_init(&s->out, 0);
	s->lines = 0;
	ndjson_init(&nd, max, collect, s);
	st = ndjson_feed(&nd, in, cut);
	if (!st)
		st = ndjson_feed(&nd, in + cut, n - cut);
	if (!st)
		st = ndjson_finish(&nd);
	ndjson_release(&nd);
	return st;
}

static void test_every_split(void)
{
	const char *in = "{\"a\":1}\n{\"b\":2}\r\n\n   \n{\"c\":\"x\\ny\"}\n";
	const char *want = "{\"a\":1}|{\"b\":2}|{\"c\":\"x\\ny\"}";

	for (size_t cut = 0; cut <= strlen(in); cut++) {
		struct sink s = { .fail_at = 0 };

		CHECK_EQ(run_split(in, cut, 64, &s), KITH_OK);
		CHECK_STR(buf_str(&s.out), want);
		CHECK_EQ(s.lines, 3);
		buf_release(&s.out);
	}
}

static void test_byte_at_a_time(void)
{
	const char *in = "{\"x\":1}\r\n{\"y\":2}\n{\"z\":3}";
	struct sink s = { .fail_at = 0 };
	struct ndjson nd;

	buf_init(&s.out, 0);
	ndjson_init(&nd, 16, collect, &s);
	for (size_t i = 0; in[i]; i++)
		CHECK_EQ(ndjson_feed(&nd, in + i, 1), KITH_OK);
	CHECK_STR(buf_str(&s.out), "{\"x\":1}|{\"y\":2}");
	/* The last line had no '\n': finish delivers it. */
	CHECK_EQ(ndjson_finish(&nd), KITH_OK);
	CHECK_STR(buf_str(&s.out), "{\"x\":1}|{\"y\":2}|{\"z\":3}");
	ndjson_release(&nd);
	buf_release(&s.out);
}

static void test_line_cap(void)
{
	struct sink s = { .fail_at = 0 };
	const char *in = "0123456789\nabcdefghijk\n";

	/* A 10-byte line fits a 10-byte cap at every split; 11 bytes do not. */
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		CHECK_EQ(run_split(in, cut, 10, &s), KITH_ETOOBIG);
		CHECK_STR(buf_str(&s.out), "0123456789");
		buf_release(&s.out);
	}
	/* "\r\n" after a line exactly at the cap is not over it. */
	for (size_t cut = 0; cut <= 12; cut++) {
		CHECK_EQ(run_split("0123456789\r\n", cut, 10, &s), KITH_OK);
		CHECK_STR(buf_str(&s.out), "0123456789");
		buf_release(&s.out);
	}
	/* A stream that never sends '\n' stops at the cap, not at EOF. */
	{
		struct ndjson nd;
		enum kith_status st = KITH_OK;

		buf_init(&s.out, 0);
		ndjson_init(&nd, 100, collect, &s);
		for (int i = 0; i < 1000 && !st; i++)
			st = ndjson_feed(&nd, "xxxxxxxxxx", 10);
		CHECK_EQ(st, KITH_ETOOBIG);
		CHECK(nd.partial.len <= 101);
		/* Sticky: later feeds keep failing. */
		CHECK_EQ(ndjson_feed(&nd, "\n", 1), KITH_ETOOBIG);
		CHECK_EQ(ndjson_finish(&nd), KITH_ETOOBIG);
		ndjson_release(&nd);
		buf_release(&s.out);
	}
}

static void test_callback_stops(void)
{
	struct sink s = { .fail_at = 2 };

	CHECK_EQ(run_split("a\nb\nc\n", 1, 0, &s), KITH_EPROTO);
	CHECK_EQ(s.lines, 2);
	CHECK_STR(buf_str(&s.out), "a");
	buf_release(&s.out);
}

static void test_empty_and_blank(void)
{
	struct sink s = { .fail_at = 0 };

	CHECK_EQ(run_split("", 0, 8, &s), KITH_OK);
	CHECK_EQ(s.lines, 0);
	buf_release(&s.out);
	CHECK_EQ(run_split("\n\r\n \t\n", 2, 8, &s), KITH_OK);
	CHECK_EQ(s.lines, 0);
	buf_release(&s.out);
}

int main(void)
{
	RUN(test_every_split);
	RUN(test_byte_at_a_time);
	RUN(test_line_cap);
	RUN(test_callback_stops);
	RUN(test_empty_and_blank);
	return test_summary();
}
