/* fuzz_newsapi.c — the NewsAPI answer parser and the EventAgent's small
 * parsers.
 *
 * Input: a /v2/everything body.  newsapi_parse() must never keep more than
 * NEWSAPI_MAX_ARTICLES articles, never one without a title or URL nor a
 * "[Removed]" one, and never a field longer than NEWSAPI_FIELD_MAX.  The
 * same bytes then go through the follow prompt's query_terms parser, the
 * headline normaliser (never longer than its input) and the time parser. */
#include "knowledge/knowledge.h"
#include "tools/newsapi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s)
{
	if (!s || strlen(s) > NEWSAPI_FIELD_MAX)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct newsapi_result r;
	char *raw, *norm, **terms;
	int64_t t;

	if (newsapi_parse((const char *)data, size, &r, NULL) != KITH_OK && r.n)
		__builtin_trap();   /* an error keeps no articles */
	if (r.n > NEWSAPI_MAX_ARTICLES)
		__builtin_trap();
	for (size_t i = 0; i < r.n; i++) {
		const struct newsapi_article *a = &r.v[i];

		check_field(a->title);
		check_field(a->url);
		check_field(a->source);
		check_field(a->description);
		check_field(a->content);
		if (!*a->title || !*a->url || strcmp(a->title, "[Removed]") == 0)
			__builtin_trap();
		norm = event_headline_norm(a->title);
		if (strlen(norm) > strlen(a->title))
			__builtin_trap();
		free(norm);
	}
	newsapi_result_release(&r);

	terms = event_parse_terms((const char *)data, size);
	for (size_t i = 0; terms && i <= EVENT_MAX_TERMS; i++) {
		if (i == EVENT_MAX_TERMS && terms[i])
			__builtin_trap();
		if (!terms[i])
			break;
		if (!*terms[i] || strlen(terms[i]) > EVENT_TERM_MAX)
			__builtin_trap();
	}
	event_terms_free(terms);

	raw = malloc(size + 1);
	if (raw) {
		memcpy(raw, data, size);
		raw[size] = '\0';
		norm = event_headline_norm(raw);
		if (strlen(norm) > strlen(raw))
			__builtin_trap();
		free(norm);
		(void)newsapi_parse_time(raw, &t);
		(void)event_names_entity(raw, "starship");
		free(raw);
	}
	return 0;
}
