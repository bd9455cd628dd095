/* test_dotenv.c — the .env dialect, one edge case per check. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "support/test.h"

/* Collects pairs as "K=V\n" lines so expectations read like the input. */
static void collect(const char *key, const char *value, void *ud)
{
	struct buf *b = ud;

	(void)buf_printf(b, "%s=%s|", key, value);
}

/* Parse `text`; returns "K=V|K=V|" or "ERR:<why>" (caller frees). */
static char *parse(const char *text)
{
	struct buf b = BUF_INIT(0);
	char *why = NULL;
	enum kith_status rc = dotenv_parse(text, strlen(text), collect, &b, &why);

	if (rc != KITH_OK) {
		char *r = xasprintf("ERR:%s", why ? why : "(no why)");

		free(why);
		buf_release(&b);
		return r;
	}
	CHECK(why == NULL);
	return buf_detach(&b);
}

#define EXPECT(text, want) \
	do { char *got_ = parse(text); CHECK_STR(got_, want); free(got_); } while (0)

static void test_basic(void)
{
	EXPECT("", "");
	EXPECT("A=1", "A=1|");
	EXPECT("A=1\nB=2\n", "A=1|B=2|");
	EXPECT("a_b.c=x", "a_b.c=x|");
	EXPECT("_X=1", "_X=1|");
	EXPECT("A=", "A=|");
	EXPECT("A=\nB=2", "A=|B=2|");
	EXPECT("A = spaced  ", "A=spaced|");
	EXPECT("  A=1", "A=1|");
}

static void test_comments_and_blanks(void)
{
	EXPECT("# comment\n\n   \n\tA=1\n# another", "A=1|");
	EXPECT("A=value # comment", "A=value|");
	EXPECT("A=value\t# comment", "A=value|");
	EXPECT("A=val#ue", "A=val#ue|");
	EXPECT("A=#fff", "A=#fff|");
	EXPECT("A= # only a comment", "A=|");
	EXPECT("A=x #c1 #c2", "A=x|");
}

static void test_export(void)
{
	EXPECT("export A=1", "A=1|");
	EXPECT("export   A=1", "A=1|");
	EXPECT("export\tA=1", "A=1|");
	EXPECT("export=1", "export=1|");
	EXPECT("exporter=1", "exporter=1|");
}

static void test_crlf(void)
{
	EXPECT("A=1\r\nB=2\r\n", "A=1|B=2|");
	EXPECT("A='x'\r\nB=\"y\"\r\n", "A=x|B=y|");
	EXPECT("A=1 # c\r\n", "A=1|");
	EXPECT("A=1\r", "A=1|");
}

static void test_single_quotes(void)
{
	EXPECT("A='lit $X \\n'", "A=lit $X \\n|");
	EXPECT("A='a # not comment'", "A=a # not comment|");
	EXPECT("A='two\nlines'\nB=1", "A=two\nlines|B=1|");
	EXPECT("A=''", "A=|");
	EXPECT("A='x' # trailing comment", "A=x|");
	EXPECT("A=  'x'", "A=x|");
}

static void test_double_quotes(void)
{
	EXPECT("A=\"a\\nb\"", "A=a\nb|");
	EXPECT("A=\"t\\tt\"", "A=t\tt|");
	EXPECT("A=\"q\\\"q\"", "A=q\"q|");
	EXPECT("A=\"b\\\\s\"", "A=b\\s|");
	EXPECT("A=\"keep \\x\"", "A=keep \\x|");
	EXPECT("A=\"multi\nline\nvalue\"\nB=2", "A=multi\nline\nvalue|B=2|");
	EXPECT("A=\"# not a comment\"", "A=# not a comment|");
	EXPECT("A=\"\"", "A=|");
	EXPECT("A=\"x\" # c", "A=x|");
}

static void test_last_line_without_newline(void)
{
	EXPECT("A=1\nB=two words", "A=1|B=two words|");
	EXPECT("A=1\n# comment at end", "A=1|");
}

static void test_bom(void)
{
	EXPECT("\xEF\xBB\xBF" "A=1", "A=1|");
}

static void test_errors_name_the_line(void)
{
	EXPECT("A=1\nno equals here\n", "ERR:line 2: expected KEY=VALUE (no '=' found)");
	EXPECT("A=1\nB=2\n1BAD=3", "ERR:line 3: expected a variable name (letters, digits, '_' or '.', not starting with a digit)");
	EXPECT("BAD-KEY=1", "ERR:line 1: invalid character in variable name");
	EXPECT("A=\"open\nB=2", "ERR:line 1: unterminated double-quoted value");
	EXPECT("X=1\nA='open", "ERR:line 2: unterminated single-quoted value");
	EXPECT("A='x' y", "ERR:line 1: unexpected text after the closing quote");
	EXPECT("A=\"x\"y", "ERR:line 1: unexpected text after the closing quote");
	EXPECT("=1", "ERR:line 1: expected a variable name (letters, digits, '_' or '.', not starting with a digit)");
	EXPECT("export", "ERR:line 1: expected KEY=VALUE (no '=' found)");
	/* Line numbers count the lines inside multi-line values. */
	EXPECT("A=\"1\n2\n3\"\nbad", "ERR:line 4: expected KEY=VALUE (no '=' found)");
	EXPECT("A='1\r\n2'\r\n\r\nbad", "ERR:line 4: expected KEY=VALUE (no '=' found)");
}

static void test_pairs_before_error_are_delivered(void)
{
	EXPECT("A=1\nB=2\n!", "ERR:line 3: expected a variable name (letters, digits, '_' or '.', not starting with a digit)");
	{
		struct buf b = BUF_INIT(0);
		char *why = NULL;
		const char *t = "A=1\nB=2\n!";

		CHECK_EQ(dotenv_parse(t, strlen(t), collect, &b, &why), KITH_EINVAL);
		CHECK_STR(buf_str(&b), "A=1|B=2|");
		free(why);
		buf_release(&b);
	}
}

static void test_nul_bytes(void)
{
	static const char t[] = "A=1\nB=x\0y\nC=3";
	struct buf b = BUF_INIT(0);
	char *why = NULL;

	CHECK_EQ(dotenv_parse(t, sizeof(t) - 1, collect, &b, &why), KITH_EINVAL);
	CHECK_STR(buf_str(&b), "A=1|");
	CHECK_CONTAINS(why, "line 2: NUL byte");
	free(why);
	buf_release(&b);
}

static void test_length_is_respected(void)
{
	/* Only the first n bytes count, even if the text goes on. */
	struct buf b = BUF_INIT(0);
	char *why = NULL;

	CHECK_EQ(dotenv_parse("A=12345", 4, collect, &b, &why), KITH_OK);
	CHECK_STR(buf_str(&b), "A=12|");
	buf_release(&b);
}

int main(void)
{
	RUN(test_basic);
	RUN(test_comments_and_blanks);
	RUN(test_export);
	RUN(test_crlf);
	RUN(test_single_quotes);
	RUN(test_double_quotes);
	RUN(test_last_line_without_newline);
	RUN(test_bom);
	RUN(test_errors_name_the_line);
	RUN(test_pairs_before_error_are_delivered);
	RUN(test_nul_bytes);
	RUN(test_length_is_respected);
	return test_summary();
}
