/* fuzz_jmap.c — the JMAP session parser, the search and read response
 * parsers, the HTML-to-text reducer, truncation and the date normaliser.
 *
 * Input: any bytes, as a session body and as methodResponses.  A failed
 * parse keeps nothing; a search never keeps an email without a valid id;
 * a read never keeps more than JMAP_READ_MAX_IDS emails nor a body longer
 * than the cut (plus its marker); HTML text is never longer than its
 * input; a normalised date is always 20 bytes ending in Z. */
#include "tools/jmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CUT 64   /* characters; a UTF-8 character is at most 4 bytes */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct jmap_session s;
	struct jmap_emails e;
	char *raw, *t, *fmt;

	if (jmap_parse_session(p, size, &s, NULL) == KITH_OK) {
		if (!s.api_url || !*s.api_url || !jmap_valid_id(s.account_id) || !s.state)
			__builtin_trap();
	} else if (s.api_url || s.account_id) {
		__builtin_trap();
	}
	jmap_session_release(&s);

	if (jmap_parse_search(p, size, &e, NULL, NULL, NULL) != KITH_OK && e.n)
		__builtin_trap();
	for (size_t i = 0; i < e.n; i++)
		if (!jmap_valid_id(e.v[i].id) || !e.v[i].subject || !e.v[i].from ||
		    strlen(e.v[i].subject) > JMAP_FIELD_MAX || strlen(e.v[i].from) > JMAP_FIELD_MAX)
			__builtin_trap();
	fmt = jmap_format_search(&e);
	free(fmt);
	jmap_emails_release(&e);

	if (jmap_parse_read(p, size, CUT, &e, NULL, NULL, NULL) != KITH_OK && e.n)
		__builtin_trap();
	if (e.n > JMAP_READ_MAX_IDS || e.nnot_found > JMAP_READ_MAX_IDS)
		__builtin_trap();
	for (size_t i = 0; i < e.n; i++)
		if (!e.v[i].body || strlen(e.v[i].body) > CUT * 4 + strlen("\n\n[truncated]"))
			__builtin_trap();
	fmt = jmap_format_read(&e);
	free(fmt);
	jmap_emails_release(&e);

	t = jmap_html_text(p, size);
	if (strlen(t) > size)
		__builtin_trap();
	free(t);

	raw = malloc(size + 1);
	if (raw) {
		memcpy(raw, data, size);
		raw[size] = '\0';
		t = jmap_truncate(raw, CUT);
		free(t);
		if (jmap_utc_date(raw, &t, NULL) == KITH_OK) {
			if (strlen(t) != 20 || t[19] != 'Z')
				__builtin_trap();
			free(t);
		} else if (t) {
			__builtin_trap();
		}
		(void)jmap_valid_id(raw);
		free(raw);
	}
	return 0;
}
