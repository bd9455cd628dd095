/* fuzz_github.c — every parser of GitHub's answers, and the issue title.
 *
 * Input: any bytes, read as an access_tokens answer, a created issue and an
 * error body.  A token must come back non-empty printable ASCII (it goes
 * into a header), an html_url an http(s) URL without control characters,
 * an error message at most 200 bytes without control characters; a failed
 * parse keeps nothing.  The same bytes as a description must give a title
 * of at most GITHUB_TITLE_MAX bytes of valid UTF-8 without control
 * characters, and cleaning must respect its byte limit. */
#include "tools/github.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char *token = NULL, *exp = NULL, *url = NULL, *msg, *raw, *title, *clean;
	long long num = -1;

	if (github_parse_token(p, size, &token, &exp, NULL) == KITH_OK) {
		check_printable(token, GITHUB_FIELD_MAX);
		if (!exp)
			__builtin_trap();
	} else if (token || exp) {
		__builtin_trap();
	}
	free(token);
	free(exp);

	if (github_parse_issue(p, size, &url, &num, NULL) == KITH_OK) {
		check_printable(url, GITHUB_FIELD_MAX);
		if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
			__builtin_trap();
		if (num < 0)
			__builtin_trap();
	} else if (url) {
		__builtin_trap();
	}
	free(url);

	msg = github_parse_error(p, size);
	if (msg) {
		if (strlen(msg) > 200)
			__builtin_trap();
		for (const char *c = msg; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7F)
				__builtin_trap();
	}
	free(msg);

	raw = malloc(size + 1);
	if (raw) {
		size_t n;

		memcpy(raw, data, size);
		raw[size] = '\0';
		title = github_issue_title(raw);
		n = strlen(title);
		if (n > GITHUB_TITLE_MAX)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)title[i] < 0x20 || title[i] == 0x7F)
				__builtin_trap();
		clean = github_utf8_clean(title, (size_t)-1);   /* valid UTF-8 is unchanged */
		if (strcmp(clean, title) != 0)
			__builtin_trap();
		free(clean);
		free(title);
		clean = github_utf8_clean(raw, 100);
		if (strlen(clean) > 100)
			__builtin_trap();
		free(clean);
		free(raw);
	}
	return 0;
}
