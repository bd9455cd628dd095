/* fuzz_perplexity.c — the Perplexity answer parser and the text cleaner.
 *
 * Input: a /v1/responses body.  perplexity_parse() must never fail on a
 * JSON object, never keep more than SEARCH_MAX_SOURCES URLs nor a blocked
 * one, and always give a text; the cleaner and redaction then run over
 * whatever text came out, and cleaning must be idempotent on text that
 * has no Markdown left to strip (checked loosely: it never grows). */
#include "tools/search_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const blocked[] = { "play.google.com", "apps.apple.com", NULL };
	static const char *const terms[] = { "Jared", "a", "", NULL };
	struct perplexity_answer a;
	char *raw, *again, *red;

	if (perplexity_parse((const char *)data, size, blocked, &a, NULL) != KITH_OK)
		return 0;
	if (!a.text || a.nurls > SEARCH_MAX_SOURCES)
		__builtin_trap();
	for (size_t i = 0; i < a.nurls; i++)
		if (!a.urls[i] || search_url_blocked(a.urls[i], blocked))
			__builtin_trap();
	again = search_clean_text(a.text);
	if (strlen(again) > strlen(a.text))
		__builtin_trap();
	red = search_redact(a.text, terms);
	if (strlen(red) > strlen(a.text))
		__builtin_trap();
	/* The raw bytes as text, too: the cleaner sees hostile Markdown. */
	raw = malloc(size + 1);
	if (raw) {
		memcpy(raw, data, size);
		raw[size] = '\0';
		free(search_clean_text(raw));
		free(search_redact(raw, terms));
		free(raw);
	}
	free(red);
	free(again);
	perplexity_answer_release(&a);
	return 0;
}
