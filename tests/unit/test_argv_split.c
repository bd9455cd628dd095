/* test_argv_split.c — the system agent's word splitter and the quoting that
 * sends an argv to a tmux shell (src/tools/system_agent_argv.c). */
#include "support/test.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/spawn.h"
#include "tools/system_agent.h"

#include <stdlib.h>

/* Split `text`; NULL when refused.  The words are joined with '|' so one
 * string comparison checks them all. */
static char *split(const char *text, size_t len, char **why)
{
	char **argv = NULL;
	size_t argc = 0;
	struct buf b = BUF_INIT(0);

	if (system_argv_split(text, len, &argv, &argc, why) != KITH_OK) {
		CHECK(argv == NULL);
		return NULL;
	}
	for (size_t i = 0; i < argc; i++)
		(void)buf_printf(&b, "%s%s", i ? "|" : "", argv[i]);
	CHECK(argv[argc] == NULL);
	system_argv_free(argv);
	return buf_detach(&b);
}

static void check_split(const char *text, const char *want)
{
	char *why = NULL, *got = split(text, strlen(text), &why);

	if (!got)
		test_fail_(__FILE__, __LINE__, "split(%s) refused: %s", text, why ? why : "");
	else
		CHECK_STR(got, want);
	free(got);
	free(why);
}

static void check_refused(const char *text, size_t len, const char *why_part)
{
	char *why = NULL, *got = split(text, len, &why);

	if (got)
		test_fail_(__FILE__, __LINE__, "split(%s) accepted: %s", text, got);
	CHECK_CONTAINS(why, why_part);
	free(got);
	free(why);
}

static void test_plain_words(void)
{
	check_split("ls -la", "ls|-la");
	check_split("  ls \t -la  /tmp ", "ls|-la|/tmp");
	check_split("echo", "echo");
	check_split("df -h /home/user/a.b_c-d", "df|-h|/home/user/a.b_c-d");
	check_split("key=value a:b @x %y +z ,w", "key=value|a:b|@x|%y|+z|,w");
	check_split("echo x~y a#b", "echo|x~y|a#b");
}

static void test_quotes(void)
{
	check_split("echo 'a b'", "echo|a b");
	check_split("echo \"a b\"", "echo|a b");
	check_split("echo 'it'\\''s'", "echo|it's");
	check_split("echo \"it's\"", "echo|it's");
	check_split("echo 'say \"hi\"'", "echo|say \"hi\"");
	check_split("echo a'b'\"c\"d", "echo|abcd");
	check_split("echo '' x", "echo||x");
	check_split("echo \"\"", "echo|");
	/* Inside single quotes nothing is special. */
	check_split("echo '; && | > $(id) `id` $HOME * ~ #'", "echo|; && | > $(id) `id` $HOME * ~ #");
	/* Inside double quotes the operators are text, $ and ` must be escaped. */
	check_split("echo \"a; b | c > d\"", "echo|a; b | c > d");
	check_split("echo \"\\$HOME \\`id\\` \\\\ \\\"\"", "echo|$HOME `id` \\ \"");
	check_split("echo \"a\\nb\"", "echo|a\\nb");
	check_split("grep \"x y\" 'f g.txt'", "grep|x y|f g.txt");
}

static void test_backslashes(void)
{
	check_split("echo a\\ b", "echo|a b");
	check_split("echo \\;", "echo|;");
	check_split("echo \\$HOME \\| \\> \\& \\*", "echo|$HOME|||>|&|*");
	check_split("echo \\'", "echo|'");
	check_split("echo a\\\nb", "echo|ab");
	check_split("echo \\~ \\#", "echo|~|#");
	check_refused("echo \\", 6, "lone backslash");
}

static void test_operators_are_refused(void)
{
	static const char *const cases[][2] = {
		{ "ls; rm -rf ~", "';'" },
		{ "ls;rm -rf ~", "';'" },
		{ "ls && rm -rf ~", "'&'" },
		{ "ls & rm", "'&'" },
		{ "ls || rm", "'|'" },
		{ "ls | sh", "'|'" },
		{ "echo x > /etc/passwd", "'>'" },
		{ "echo x >> f", "'>'" },
		{ "cat < /etc/shadow", "'<'" },
		{ "echo $(rm -rf ~)", "'$'" },
		{ "echo $HOME", "'$'" },
		{ "echo ${HOME}", "'$'" },
		{ "echo `rm -rf ~`", "'`'" },
		{ "echo \"$(id)\"", "'$'" },
		{ "echo \"`id`\"", "'`'" },
		{ "(rm -rf ~)", "parentheses" },
		{ "ls\nrm -rf ~", "line break" },
		{ "ls\r\nrm", "line break" },
		{ "rm *", "glob" },
		{ "ls ?", "glob" },
		{ "ls [a]", "glob" },
		{ "rm -rf ~", "'~'" },
		{ "ls ~/x", "'~'" },
		{ "ls # comment", "'#'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_refused(cases[i][0], strlen(cases[i][0]), cases[i][1]);
}

static void test_malformed(void)
{
	check_refused("", 0, "empty");
	check_refused("   \t ", 5, "empty");
	check_refused("echo 'abc", 9, "unterminated single");
	check_refused("echo \"abc", 9, "unterminated double");
	check_refused("echo \"abc\\\"", 11, "unterminated double");
	check_refused("echo a\0b", 8, "NUL");
	check_refused("\0", 1, "NUL");
}

static void test_limits(void)
{
	size_t big = SYSTEM_ARGV_MAX_INPUT + 1;
	char *long_text = xmalloc(big + 1), *why = NULL, *got;
	struct buf many = BUF_INIT(0);

	memset(long_text, 'a', big);
	long_text[big] = '\0';
	check_refused(long_text, big, "longer than");
	/* A single word just under the cap is fine. */
	got = split(long_text, SYSTEM_ARGV_MAX_INPUT, &why);
	CHECK(got && strlen(got) == SYSTEM_ARGV_MAX_INPUT);
	free(got);
	free(why);
	why = NULL;
	for (int i = 0; i < SYSTEM_ARGV_MAX_WORDS - 1; i++)
		(void)buf_puts(&many, "w ");
	got = split(many.data, many.len, &why);
	CHECK(got != NULL);
	free(got);
	(void)buf_puts(&many, "w");
	check_refused(many.data, many.len, "words");
	buf_release(&many);
	free(long_text);
}

/* system_shell_quote: the quoted line, run by a real shell, gives back the
 * same words — checked with /bin/sh printing each argument between <>. */
static void check_roundtrip(const char *const *words)
{
	const char *pre[] = { "printf", "<%s>", NULL };
	struct buf want = BUF_INIT(0), out = BUF_INIT(1 << 20), line = BUF_INIT(0);
	char *q1 = system_shell_quote(pre), *q2 = system_shell_quote(words), *why = NULL;
	struct spawn_result r;

	for (size_t i = 0; words[i]; i++)
		(void)buf_printf(&want, "<%s>", words[i]);
	(void)buf_printf(&line, "%s %s", q1, q2);
	{
		const char *argv[] = { "sh", "-c", buf_str(&line), NULL };

		REQUIRE(spawn_capture(argv, 10000, 1 << 20, &out, &r, &why) == KITH_OK);
	}
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(buf_str(&out), buf_str(&want));
	buf_release(&want);
	buf_release(&out);
	buf_release(&line);
	free(q1);
	free(q2);
	free(why);
}

static void test_shell_quote(void)
{
	const char *simple[] = { "ls", "-la", NULL };
	const char *empty[] = { "", NULL };
	const char *quote[] = { "it's", NULL };
	char *q;

	q = system_shell_quote(simple);
	CHECK_STR(q, "'ls' '-la'");
	free(q);
	q = system_shell_quote(empty);
	CHECK_STR(q, "''");
	free(q);
	q = system_shell_quote(quote);
	CHECK_STR(q, "'it'\\''s'");
	free(q);
	{
		const char *none[] = { NULL };

		q = system_shell_quote(none);
		CHECK_STR(q, "");
		free(q);
	}
}

static void test_shell_quote_roundtrips(void)
{
	const char *hostile[] = {
		"a b", "it's", "'", "''", "'\\''", "\"", "$(touch /tmp/kith-pwned)",
		"`touch /tmp/kith-pwned`", "$HOME", "${HOME}", "; rm -rf ~", "&& false", "| cat",
		"> /tmp/kith-pwned", "*", "?", "~", "#x", "\\", "\\'", "a\nb", "\t", "!", "!!",
		"%s", "-n", "--", "", "'$(x)'", "\"'\"'\"", NULL,
	};
	const char *simple[] = { "hello", NULL };

	check_roundtrip(simple);
	check_roundtrip(hostile);
	for (size_t i = 0; hostile[i]; i++) {
		const char *one[] = { hostile[i], NULL };

		check_roundtrip(one);
	}
}

/* What the splitter accepts, quoted and run by a shell, is what it split. */
static void test_split_then_quote(void)
{
	static const char *const lines[] = {
		"printf '<%s>' 'a b' \"c;d\" e\\ f \"\\$x\" 'it'\\''s'",
		"printf '<%s>' '$(id)' \"|\" \\> \\~",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char **argv = NULL, *why = NULL;
		size_t argc = 0;

		REQUIRE(system_argv_split(lines[i], strlen(lines[i]), &argv, &argc, &why) == KITH_OK);
		check_roundtrip((const char *const *)argv + 2);
		system_argv_free(argv);
	}
}

int main(void)
{
	RUN(test_plain_words);
	RUN(test_quotes);
	RUN(test_backslashes);
	RUN(test_operators_are_refused);
	RUN(test_malformed);
	RUN(test_limits);
	RUN(test_shell_quote);
	RUN(test_shell_quote_roundtrips);
	RUN(test_split_then_quote);
	return test_summary();
}
