/* test_plugin_reply.c — reading what agents send back: the shared-object
 * child's records, `--describe` output, and cleaning any agent text. */
#include "support/test.h"
#include "core/buf.h"
#include "plugin/plugin_int.h"

#include <stdlib.h>

static void add(struct buf *b, char tag, const char *text)
{
	char hdr[32];
	size_t n = strlen(text);

	(void)buf_append(b, hdr, plugin_record_header(tag, n, hdr));
	(void)buf_append(b, text, n);
	(void)buf_append(b, "\n", 1);
}

static void test_clean_text(void)
{
	char *s;

	s = plugin_text_clean("  hello\r\nworld \t\n\n", 18, 100, false);
	CHECK_STR(s, "hello\nworld");
	free(s);
	s = plugin_text_clean("a\nb\tc", 5, 100, true);
	CHECK_STR(s, "a b c");
	free(s);
	/* control characters go, invalid UTF-8 becomes U+FFFD, NUL is dropped */
	s = plugin_text_clean("x\x1b[31my\x00z\xff!", 11, 100, false);
	CHECK_STR(s, "x[31myz\xef\xbf\xbd!");
	free(s);
	/* overlong, surrogate and too-large forms are invalid */
	s = plugin_text_clean("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80", 11, 100, false);
	CHECK_STR(s, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
		     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	/* the cap cuts on a character boundary */
	s = plugin_text_clean("caf\xc3\xa9", 5, 4, false);
	CHECK_STR(s, "caf");
	free(s);
	s = plugin_text_clean("", 0, 10, false);
	CHECK_STR(s, "");
	free(s);
}

static void test_records_round_trip(void)
{
	struct buf b = BUF_INIT(0);
	struct plugin_reply r;
	char *why = NULL;

	add(&b, 'V', "1");
	add(&b, 'D', "Rolls\ndice");
	add(&b, 'K', "Dice");
	add(&b, 'K', "roll");
	add(&b, 'K', "dice");
	add(&b, 'K', "");
	add(&b, 'S', "-3");
	add(&b, 'O', "line one\nline two");
	CHECK_EQ(plugin_reply_parse(b.data, b.len, 1000, &r, &why), KITH_OK);
	CHECK(r.has_abi);
	CHECK_EQ(r.abi, 1);
	CHECK_STR(r.description, "Rolls dice");
	CHECK_EQ(r.nkeywords, 2);
	CHECK_STR(r.keywords[0], "dice");
	CHECK_STR(r.keywords[1], "roll");
	CHECK(r.keywords[2] == NULL);
	CHECK(r.has_status);
	CHECK_EQ(r.status, -3);
	CHECK_STR(r.output, "line one\nline two");
	CHECK(r.error == NULL);
	plugin_reply_release(&r);
	buf_release(&b);
}

static void expect_bad(const char *data, size_t n, enum kith_status want)
{
	struct plugin_reply r;
	char *why = NULL;

	CHECK_EQ(plugin_reply_parse(data, n, 16, &r, &why), want);
	CHECK(why != NULL);
	CHECK(r.description == NULL && r.output == NULL);
	free(why);
}

static void test_records_rejected(void)
{
	struct plugin_reply r;
	char *why = NULL;

	expect_bad("X1:a\n", 5, KITH_EPROTO);              /* unknown tag */
	expect_bad("D:a\n", 4, KITH_EPROTO);               /* no length */
	expect_bad("D5:ab\n", 6, KITH_EPROTO);             /* cut short */
	expect_bad("D2:abc\n", 7, KITH_EPROTO);            /* no newline after */
	expect_bad("D17:aaaaaaaaaaaaaaaaa\n", 22, KITH_ETOOBIG);
	expect_bad("D99999999999:", 13, KITH_EPROTO);      /* too many digits */
	expect_bad("D1:a\nD1:b\n", 10, KITH_EPROTO);       /* repeated */
	expect_bad("V2:1x\n", 6, KITH_EPROTO);             /* not a number */
	expect_bad("S11:99999999999\n", 16, KITH_EPROTO);  /* out of range */
	expect_bad("V1:1\nV1:1\n", 10, KITH_EPROTO);
	expect_bad("D1:a\n\0", 6, KITH_EPROTO);
	/* empty is a valid, empty reply */
	CHECK_EQ(plugin_reply_parse("", 0, 16, &r, &why), KITH_OK);
	CHECK(!r.has_abi && !r.has_status);
	plugin_reply_release(&r);
}

static void test_describe_output(void)
{
	char *d = NULL, **k = NULL, *why = NULL;
	const char *out = "\n  Counts words \nkeywords: Word Count, wordcount,, count\nmore\n";

	CHECK_EQ(plugin_describe_parse(out, strlen(out), &d, &k, &why), KITH_OK);
	CHECK_STR(d, "Counts words");
	CHECK_STR(k[0], "word count");
	CHECK_STR(k[1], "wordcount");
	CHECK_STR(k[2], "count");
	CHECK(k[3] == NULL);
	free(d);
	plugin_strv_free(k);

	out = "KEYWORDS: alpha beta\nGreek letters";
	CHECK_EQ(plugin_describe_parse(out, strlen(out), &d, &k, &why), KITH_OK);
	CHECK_STR(d, "Greek letters");
	CHECK_STR(k[0], "alpha");
	CHECK_STR(k[1], "beta");
	free(d);
	plugin_strv_free(k);

	CHECK_EQ(plugin_describe_parse("\n \n\x01", 4, &d, &k, &why), KITH_EPROTO);
	CHECK(d == NULL && k == NULL);
	CHECK_CONTAINS(why, "no description");
	free(why);
}

static void test_numbers(void)
{
	char b[16];

	CHECK_EQ(plugin_itoa(0, b), 1);
	CHECK_STR(b, "0");
	plugin_itoa(-2147483647 - 1, b);
	CHECK_STR(b, "-2147483648");
	CHECK_EQ(plugin_record_header('O', 12345, b), 7);
	CHECK(memcmp(b, "O12345:", 7) == 0);
}

int main(void)
{
	RUN(test_clean_text);
	RUN(test_records_round_trip);
	RUN(test_records_rejected);
	RUN(test_describe_output);
	RUN(test_numbers);
	return test_summary();
}
