/* system_agent_argv.c — the word splitter for `bash <cmd>` and the quoting
 * that sends an argv to a tmux shell.
 *
 * The splitter accepts the quoting people type (so `grep "a b" f` works) and
 * nothing that a shell would *do*: no expansion, no operators, no globs.
 * Such text is refused rather than passed on literally, because the person
 * who typed `ls; rm -rf ~` meant two commands and should hear that kith
 * will not run them as one.  Quoting back for tmux is the inverse: each word
 * in single quotes, inside which a POSIX shell interprets nothing. */
#include "tools/system_agent.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"

void system_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static const char *operator_name(char c)
{
	switch (c) {
	case ';': return "';' (command separator)";
	case '&': return "'&' (background / and-list)";
	case '|': return "'|' (pipe / or-list)";
	case '<': return "'<' (redirection)";
	case '>': return "'>' (redirection)";
	case '(': case ')': return "parentheses (subshell)";
	case '$': return "'$' (expansion)";
	case '`': return "'`' (command substitution)";
	case '\n': case '\r': return "a line break (command separator)";
	case '*': case '?': case '[': return "a glob character (*, ? or [)";
	default: return NULL;
	}
}

enum kith_status system_argv_split(const char *text, size_t len, char ***argv, size_t *argc,
				   char **why)
{
	struct buf word = BUF_INIT(0);
	char **out = NULL;
	size_t n = 0, cap = 0, i = 0;
	bool in_word = false;
	enum kith_status st = KITH_OK;

	*argv = NULL;
	*argc = 0;
	if (len > SYSTEM_ARGV_MAX_INPUT)
		return kith_why(why, KITH_ETOOBIG, "the command is longer than %zu bytes",
				SYSTEM_ARGV_MAX_INPUT);
	if (memchr(text, '\0', len))
		return kith_why(why, KITH_EINVAL, "the command contains a NUL byte");
	while (i <= len) {
		char c = i < len ? text[i] : ' ';
		const char *op;

		if (c == ' ' || c == '\t') {
			if (in_word) {
				if (n + 1 >= SYSTEM_ARGV_MAX_WORDS) {
					st = kith_why(why, KITH_ETOOBIG, "more than %d words",
						      SYSTEM_ARGV_MAX_WORDS - 1);
					goto out;
				}
				out = xgrow(out, &cap, n + 2, sizeof(*out));
				out[n++] = xstrndup(word.data ? word.data : "", word.len);
				out[n] = NULL;
				buf_reset(&word);
				in_word = false;
			}
			i++;
			continue;
		}
		if (!in_word && (c == '~' || c == '#')) {
			st = kith_why(why, KITH_EINVAL, "a word starting with '%c' would be %s by a "
				      "shell; kith runs the command without one — quote it to mean it "
				      "literally", c, c == '~' ? "expanded" : "a comment");
			goto out;
		}
		in_word = true;
		if (c == '\'') {
			const char *end = memchr(text + i + 1, '\'', len - i - 1);

			if (!end) {
				st = kith_why(why, KITH_EINVAL, "unterminated single quote");
				goto out;
			}
			(void)buf_append(&word, text + i + 1, (size_t)(end - text) - i - 1);
			i = (size_t)(end - text) + 1;
			continue;
		}
		if (c == '"') {
			i++;
			for (;;) {
				if (i >= len) {
					st = kith_why(why, KITH_EINVAL, "unterminated double quote");
					goto out;
				}
				c = text[i];
				if (c == '"')
					break;
				if (c == '\\' && i + 1 < len && strchr("\"\\$`\n", text[i + 1])) {
					if (text[i + 1] != '\n')
						(void)buf_append(&word, text + i + 1, 1);
					i += 2;
					continue;
				}
				if (c == '$' || c == '`') {
					st = kith_why(why, KITH_EINVAL, "%s inside double quotes would be "
						      "expanded by a shell; kith does no expansion — use "
						      "single quotes or \\%c", operator_name(c), c);
					goto out;
				}
				(void)buf_append(&word, &c, 1);
				i++;
			}
			i++;
			continue;
		}
		if (c == '\\') {
			if (i + 1 >= len) {
				st = kith_why(why, KITH_EINVAL, "the command ends with a lone backslash");
				goto out;
			}
			if (text[i + 1] != '\n')   /* backslash-newline joins lines */
				(void)buf_append(&word, text + i + 1, 1);
			i += 2;
			continue;
		}
		op = operator_name(c);
		if (op) {
			st = kith_why(why, KITH_EINVAL, "refused: %s is shell syntax, and kith runs "
				      "`bash` commands as one program with its arguments, without a "
				      "shell (quote it to pass it as text)", op);
			goto out;
		}
		(void)buf_append(&word, &c, 1);
		i++;
	}
	if (n == 0) {
		st = kith_why(why, KITH_EINVAL, "empty command");
		goto out;
	}
	*argv = out;
	*argc = n;
	out = NULL;
out:
	if (out) {
		out[n] = NULL;
		system_argv_free(out);
	}
	buf_release(&word);
	return st;
}

char *system_shell_quote(const char *const *argv)
{
	struct buf b = BUF_INIT(0);

	for (size_t i = 0; argv[i]; i++) {
		if (i)
			(void)buf_puts(&b, " ");
		(void)buf_puts(&b, "'");
		for (const char *p = argv[i]; *p; p++) {
			if (*p == '\'')
				(void)buf_puts(&b, "'\\''");
			else
				(void)buf_append(&b, p, 1);
		}
		(void)buf_puts(&b, "'");
	}
	return buf_detach(&b);
}
