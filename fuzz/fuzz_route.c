/* fuzz_route.c — the HTTP path matcher and percent-decoder on any bytes.
 *
 * Input: "PATTERN\nPATH"; without a newline the whole input is a path tried
 * against a few fixed patterns.  Besides "no crash, no sanitizer report"
 * it checks what the matcher promises its handlers: a match yields exactly
 * one non-empty capture per ":name" segment, none containing '/' or being
 * "." or ".."; a refusal always says why and leaves nothing allocated.  The
 * decoder never grows its input, and what httpd_show makes is printable
 * ASCII only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd/httpd_int.h"

static const char *const patterns[] = {
	"/", "/v1/tiles/:stream/:snapshot", "/v1/snapshots/:id/merge", "/:a/:b", "/healthz",
};

static void never_called(const struct httpd_req *req, struct httpd_resp *resp)
{
	abort();
}

static size_t count_captures(const char *pattern)
{
	size_t n = 0;

	for (const char *p = pattern; (p = strchr(p, '/')); p++)
		if (p[1] == ':')
			n++;
	return n;
}

static void check_match(const char *pattern, const char *path)
{
	char *params[HTTPD_MAX_PARAMS], *why = NULL;
	size_t n = 99;
	enum httpd_match m = httpd_match(pattern, path, params, &n, &why);

	switch (m) {
	case HTTPD_MATCH:
		if (why || n != count_captures(pattern) || n > HTTPD_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < n; i++) {
			const char *v = params[i];

			if (!v[0] || strchr(v, '/') || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
				abort();
			free(params[i]);
		}
		break;
	case HTTPD_BAD_PARAM:
		if (!why || strncmp(why, "path segment '", 14) != 0 || n != 0)
			abort();
		break;
	case HTTPD_NO_MATCH:
		if (why || n != 0)
			abort();
		break;
	default:
		abort();
	}
	free(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Private copies, so reading past the end is caught by ASan. */
	char *copy = malloc(size + 1), *nl, *out = NULL, *shown;
	size_t outlen = 0;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	copy[size] = '\0';

	if (httpd_pct_decode(copy, size, &out, &outlen) == KITH_OK) {
		if (outlen > size || out[outlen] != '\0')
			abort();
		free(out);
	} else if (!memchr(copy, '%', size)) {
		abort();
	}
	shown = httpd_show(copy, size, 64);
	for (const char *p = shown; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			abort();
	if (strlen(shown) > 3 * 64 + 3)
		abort();
	free(shown);
	(void)httpd_is_loopback(copy);

	nl = strchr(copy, '\n');
	if (nl) {
		struct httpd_route table[2];

		*nl = '\0';
		check_match(copy, nl + 1);
		memset(table, 0, sizeof(table));
		table[0].method = "GET";
		table[0].pattern = copy;
		table[0].fn = never_called;
		if (httpd_check_routes(table, NULL) == KITH_OK &&
		    count_captures(copy) > HTTPD_MAX_PARAMS)
			abort();
	} else {
		for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
			check_match(patterns[i], copy);
	}
	free(copy);
	return 0;
}
