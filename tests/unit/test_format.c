/* test_format.c — outgoing text: Markdown to Signal styled text (exact
 * input → output cases), tables to bullets, and splitting long text at
 * sensible places without cutting a UTF-8 sequence, a styled span or a
 * code block. */
#include "support/test.h"
#include "channel/format.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <string.h>

struct kase {
	const char *in, *out;
};

static void check_signal(const struct kase *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *got = fmt_markdown_to_signal(k[i].in);

		CHECK_STR(got, k[i].out);
		free(got);
	}
}

static void test_inline_styles(void)
{
	static const struct kase k[] = {
		{ "plain text", "plain text" },
		{ "**bold** and __bold__", "**bold** and **bold**" },
		{ "*italic* and _italic_", "*italic* and *italic*" },
		{ "~~gone~~ stays", "~gone~ stays" },
		{ "a ||secret|| here", "a ||secret|| here" },
		{ "use `ls -la` now", "use `ls -la` now" },
		{ "``a `tick` inside``", "`a 'tick' inside`" },
		{ "**bold with *italic* inside**", "**bold with italic inside**" },
		{ "***both***", "**both**" },
		{ "snake_case_name stays", "snake_case_name stays" },
		{ "2 * 3 = 6", "2 \xE2\x88\x97 3 = 6" },
		{ "Price: $100*", "Price: $100" },
		{ "About ~50 items", "About \xE2\x88\xBC" "50 items" },
		{ "a | b", "a \xE2\x88\xA3 b" },
		{ "\\*not italic\\*", "\xE2\x88\x97not italic\xE2\x88\x97" },
		{ "`a*b~c`", "`a\xE2\x88\x97" "b\xE2\x88\xBC" "c`" },
		{ "**unclosed bold", "unclosed bold" },
		{ "caf\xC3\xA9 *\xC3\xA9t\xC3\xA9*", "caf\xC3\xA9 *\xC3\xA9t\xC3\xA9*" },
	};

	check_signal(k, sizeof(k) / sizeof(k[0]));
}

static void test_links_and_urls(void)
{
	static const struct kase k[] = {
		{ "[Foo](https://example.com/~bar)", "Foo (https://example.com/%7Ebar)" },
		{ "see [the docs](https://x.org/a_b \"Title\")", "see the docs (https://x.org/a_b)" },
		{ "[https://x.org](https://x.org)", "https://x.org" },
		{ "![a cat](https://img.example/cat.png)", "a cat (https://img.example/cat.png)" },
		{ "go to https://example.com/*star*/~me.", "go to https://example.com/%2Astar%2A/%7Eme." },
		{ "(https://en.wikipedia.org/wiki/C_(language))",
		  "(https://en.wikipedia.org/wiki/C_(language))" },
		{ "**[bold link](https://a.b)**", "**bold link (https://a.b)**" },
		{ "[not a link] (x)", "[not a link] (x)" },
	};

	check_signal(k, sizeof(k) / sizeof(k[0]));
}

static void test_blocks(void)
{
	static const struct kase k[] = {
		{ "# Title\n\nText", "**Title**\n\nText" },
		{ "### *Deep* heading ###", "**Deep heading**" },
		{ "#hashtag stays", "#hashtag stays" },
		{ "above\n\n---\n\nbelow", "above\n\nbelow" },
		{ "> quoted\n> > twice", "quoted\ntwice" },
		{ "* one\n+ two\n- three\n  * nested", "- one\n- two\n- three\n  - nested" },
		{ "1. first\n2. second", "1. first\n2. second" },
		{ "line<br>next<br/>last<BR />", "line\nnext\nlast" },
		{ "a\n\n\n\n\nb", "a\n\nb" },
		{ "\n\n  text  \n\n", "text" },
		{ "```python\ndef f(x):\n    return x * 2\n\n```\nafter",
		  "`def f(x):`\n`    return x \xE2\x88\x97 2`\n\nafter" },
		{ "```\n| a | b |\n|---|---|\n```", "`\xE2\x88\xA3 a \xE2\x88\xA3 b \xE2\x88\xA3`\n"
		  "`\xE2\x88\xA3---\xE2\x88\xA3---\xE2\x88\xA3`" },
	};

	check_signal(k, sizeof(k) / sizeof(k[0]));
}

static void test_tables(void)
{
	char *s;

	s = fmt_tables_to_bullets("| Name | Age |\n|---|---:|\n| Ada | 36 |\n| Bob |  |\nafter");
	CHECK_STR(s, "- Name: Ada, Age: 36\n- Name: Bob\nafter");
	free(s);
	s = fmt_tables_to_bullets("intro\n\nCity | Pop\n:--|--\nOslo | 700k");
	CHECK_STR(s, "intro\n\n- City: Oslo, Pop: 700k");
	free(s);
	s = fmt_tables_to_bullets("| a \\| b | c |\n|---|---|\n| 1 | 2 |");
	CHECK_STR(s, "- a | b: 1, c: 2");
	free(s);
	s = fmt_tables_to_bullets("no | table\njust pipes");
	CHECK_STR(s, "no | table\njust pipes");
	free(s);
	s = fmt_tables_to_bullets("```\n| a |\n|---|\n| 1 |\n```");
	CHECK_STR(s, "```\n| a |\n|---|\n| 1 |\n```");
	free(s);
	s = fmt_markdown_to_signal("| A | B |\n|---|---|\n| **1** | 2 |");
	CHECK_STR(s, "- A: **1**, B: 2");
	free(s);
	s = fmt_tables_to_bullets("");
	CHECK_STR(s, "");
	free(s);
}

static size_t split(const char *text, size_t limit, unsigned flags, char ***p)
{
	size_t n = fmt_split(text, limit, flags, p);

	for (size_t i = 0; i < n; i++)
		CHECK(fmt_utf8_len((*p)[i], strlen((*p)[i])) <= limit);
	return n;
}

static void test_split_prefers_paragraphs_then_lines_then_sentences(void)
{
	char **p;
	size_t n;

	n = split("short", 100, 0, &p);
	CHECK_EQ(n, 1);
	CHECK_STR(p[0], "short");
	fmt_pieces_free(p, n);
	CHECK_EQ(fmt_split("  \n\n ", 100, 0, &p), 0);
	fmt_pieces_free(p, 0);

	n = split("First paragraph here.\nStill first.\n\nSecond paragraph that is long.", 50, 0, &p);
	CHECK_EQ(n, 2);
	CHECK_STR(p[0], "First paragraph here.\nStill first.");
	CHECK_STR(p[1], "Second paragraph that is long.");
	fmt_pieces_free(p, n);

	n = split("Line one is here\nLine two is here\nLine three", 36, 0, &p);
	CHECK_EQ(n, 2);
	CHECK_STR(p[0], "Line one is here\nLine two is here");
	fmt_pieces_free(p, n);

	n = split("One sentence here. Another one follows and goes on", 32, 0, &p);
	CHECK_EQ(n, 2);
	CHECK_STR(p[0], "One sentence here.");
	CHECK_STR(p[1], "Another one follows and goes on");
	fmt_pieces_free(p, n);

	n = split("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 16, 0, &p);
	CHECK_EQ(n, 3);
	CHECK_STR(p[0], "aaaaaaaaaaaaaaaa");
	fmt_pieces_free(p, n);
}

static void test_split_never_cuts_utf8(void)
{
	struct buf b = BUF_INIT(0);
	char **p;
	size_t n, total = 0;

	for (int i = 0; i < 100; i++)
		(void)buf_puts(&b, "\xF0\x9F\x98\x80");   /* 😀, 4 bytes */
	n = split(buf_str(&b), 30, 0, &p);
	CHECK_EQ(n, 4);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(strlen(p[i]) % 4, 0);
		total += fmt_utf8_len(p[i], strlen(p[i]));
	}
	CHECK_EQ(total, 100);
	fmt_pieces_free(p, n);
	buf_release(&b);
}

static void test_split_keeps_code_blocks_and_styles(void)
{
	struct buf b = BUF_INIT(0);
	char **p;
	size_t n;

	/* A block that fits in the next piece moves there whole. */
	(void)buf_puts(&b, "Intro text that is fairly long, about sixty characters in all.\n");
	(void)buf_puts(&b, "```\ncode line one\ncode line two\n```\nend");
	n = split(buf_str(&b), 70, 0, &p);
	CHECK_EQ(n, 2);
	CHECK_STR(p[0], "Intro text that is fairly long, about sixty characters in all.");
	CHECK_STR(p[1], "```\ncode line one\ncode line two\n```\nend");
	fmt_pieces_free(p, n);
	buf_reset(&b);

	/* A block too long for one piece is closed and reopened. */
	(void)buf_puts(&b, "```c\n");
	for (int i = 0; i < 10; i++)
		(void)buf_printf(&b, "int v%d = %d;\n", i, i);
	(void)buf_puts(&b, "```");
	n = split(buf_str(&b), 60, 0, &p);
	CHECK(n >= 2);
	for (size_t i = 0; i < n; i++) {
		const char *s = p[i];
		size_t fences = 0;

		for (const char *q = s; (q = strstr(q, "```")); q += 3)
			fences++;
		CHECK_EQ(fences % 2, 0);
		if (i > 0)
			CHECK(strncmp(s, "```c\n", 5) == 0);
	}
	fmt_pieces_free(p, n);
	buf_reset(&b);

	/* Signal styles: no break inside a span when a break outside exists. */
	(void)buf_puts(&b, "Some words first then **a bold span that runs long** and the end");
	n = split(buf_str(&b), 40, FMT_SPLIT_SIGNAL_STYLES, &p);
	CHECK(n >= 2);
	CHECK_STR(p[0], "Some words first then");
	fmt_pieces_free(p, n);
	buf_reset(&b);

	/* A span longer than a piece is closed and reopened. */
	(void)buf_puts(&b, "**");
	for (int i = 0; i < 30; i++)
		(void)buf_puts(&b, "bold ");
	(void)buf_puts(&b, "end**");
	n = split(buf_str(&b), 40, FMT_SPLIT_SIGNAL_STYLES, &p);
	CHECK(n >= 3);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(p[i]);

		CHECK(len >= 4 && strncmp(p[i], "**", 2) == 0 && strcmp(p[i] + len - 2, "**") == 0);
	}
	fmt_pieces_free(p, n);
	buf_release(&b);
}

static void test_for_signal(void)
{
	struct buf b = BUF_INIT(0);
	char **p;
	size_t n;

	for (int i = 0; i < 300; i++)
		(void)buf_printf(&b, "Sentence number %d is *here*. ", i);
	n = fmt_for_signal(buf_str(&b), &p);
	CHECK(n >= 4);
	for (size_t i = 0; i < n; i++)
		CHECK(fmt_utf8_len(p[i], strlen(p[i])) <= FMT_SIGNAL_LIMIT);
	fmt_pieces_free(p, n);
	buf_release(&b);
}

int main(void)
{
	RUN(test_inline_styles);
	RUN(test_links_and_urls);
	RUN(test_blocks);
	RUN(test_tables);
	RUN(test_split_prefers_paragraphs_then_lines_then_sentences);
	RUN(test_split_never_cuts_utf8);
	RUN(test_split_keeps_code_blocks_and_styles);
	RUN(test_for_signal);
	return test_summary();
}
