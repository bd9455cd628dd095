/* fuzz_agent_output.c — the readers of what plugin agents send back
 * (plugin/reply.c): the shared-object child's records, an executable's
 * `--describe` text, and the cleaning every agent answer goes through.
 *
 * Input: byte 0 picks the reader (low 2 bits) and the cap (the rest), the
 * remaining bytes are what the agent wrote.  Whatever comes out must be
 * valid UTF-8 without control characters (newlines and tabs aside, and not
 * even those in one-line fields), within its cap, with at most the kept
 * number of keywords. */
#include "plugin/plugin_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Valid UTF-8 without C0/C1 controls or DEL; `lines` allows \n and \t. */
static void check_text(const char *s, size_t cap, int lines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (n > cap)
		__builtin_trap();
	if (n && (p[0] == ' ' || p[n - 1] == ' ' || p[0] == '\n' || p[n - 1] == '\n'))
		__builtin_trap();
	for (size_t i = 0; i < n;) {
		uint32_t c = p[i];
		size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (c >= 0x80 && (c < 0xc2 || c > 0xf4))
			__builtin_trap();
		if (i + k > n)
			__builtin_trap();
		for (size_t j = 1; j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				__builtin_trap();
			c = (c << 6) | (p[i + j] & 0x3f);
		}
		if (k == 2)
			c &= 0x7ff;
		else if (k == 3)
			c &= 0xffff;
		else if (k == 4)
			c &= 0x1fffff;
		if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff))
			__builtin_trap();
		if (c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\r' ||
		    (c < 0x20 && !(lines && (c == '\n' || c == '\t'))))
			__builtin_trap();
		i += k;
	}
}

static void check_keywords(char **k, size_t n)
{
	size_t i = 0;

	for (; k && k[i]; i++) {
		check_text(k[i], PLUGIN_KEYWORD_LEN, 0);
		if (!*k[i])
			__builtin_trap();
		for (const char *c = k[i]; *c; c++) {
			if (*c >= 'A' && *c <= 'Z')
				__builtin_trap();
		}
	}
	if (i > PLUGIN_KEYWORDS_MAX || (n != (size_t)-1 && i != n))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n, cap;
	char *why = NULL;

	if (size < 1)
		return 0;
	n = size - 1;
	cap = (size_t)(data[0] >> 2) * 8;
	switch (data[0] & 3) {
	case 0: {
		struct plugin_reply r;

		if (plugin_reply_parse(p, n, cap, &r, &why) == KITH_OK) {
			if (r.description)
				check_text(r.description, PLUGIN_DESCRIPTION_MAX, 0);
			if (r.error)
				check_text(r.error, PLUGIN_ERROR_MAX, 0);
			if (r.output)
				check_text(r.output, cap, 1);
			check_keywords(r.keywords, r.nkeywords);
			plugin_reply_release(&r);
		} else if (!why || r.output || r.description || r.keywords) {
			__builtin_trap();
		}
		break;
	}
	case 1: {
		char *d = NULL, **k = NULL;

		if (plugin_describe_parse(p, n, &d, &k, &why) == KITH_OK) {
			if (!d || !*d || !k)
				__builtin_trap();
			check_text(d, PLUGIN_DESCRIPTION_MAX, 0);
			check_keywords(k, (size_t)-1);
			free(d);
			plugin_strv_free(k);
		} else if (d || k) {
			__builtin_trap();
		}
		break;
	}
	default: {
		int one_line = (data[0] & 3) == 3;
		char *s = plugin_text_clean(p, n, cap, one_line);

		check_text(s, cap, !one_line);
		free(s);
		break;
	}
	}
	free(why);
	return 0;
}
