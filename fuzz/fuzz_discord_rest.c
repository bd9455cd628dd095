/* fuzz_discord_rest.c — parsing Discord's REST answers: message objects,
 * history arrays, /gateway/bot, user objects, error bodies, rate-limit
 * headers and 429 bodies.
 *
 * Input: a header block, a blank line ("\r\n\r\n" or "\n\n"), then a body.
 * Each header line feeds the rate-limit reader, the body feeds every body
 * parser, and the result drives the bucket table, whose answers must stay
 * sane (no negative waits) whatever the headers claimed. */
#include "channel/discord/discord_int.h"
#include "channel/format.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *body = end;
	struct dc_rl_info info;
	struct dc_rl *rl;
	struct discord_message *msgs;
	size_t n;
	char *s;
	int mc;

	for (const char *q = p; q + 1 < end; q++) {
		if (q[0] == '\n' && q[1] == '\n') {
			body = q + 2;
			break;
		}
		if (q + 3 < end && !memcmp(q, "\r\n\r\n", 4)) {
			body = q + 4;
			break;
		}
	}
	dc_rl_info_init(&info);
	for (const char *line = p; line < body;) {
		const char *nl = memchr(line, '\n', (size_t)(body - line));
		size_t len = nl ? (size_t)(nl - line + 1) : (size_t)(body - line);

		dc_rl_info_header(&info, line, len);
		line += len;
	}
	dc_rl_info_body(&info, body, (size_t)(end - body));

	rl = dc_rl_new();
	for (long status = 200; status <= 429; status += 229) {
		dc_rl_update(rl, "POST /channels/1/messages", status, &info, 1000);
		if (dc_rl_acquire(rl, "POST /channels/1/messages", 1000) < 0 ||
		    dc_rl_acquire(rl, "GET /users/@me", 2000) < 0)
			__builtin_trap();
	}
	dc_rl_free(rl);
	dc_rl_info_release(&info);

	if (dc_parse_messages(body, (size_t)(end - body), &msgs, &n, NULL) == KITH_OK)
		discord_messages_free(msgs, n);
	if (dc_parse_gateway_bot(body, (size_t)(end - body), &s, &mc, NULL) == KITH_OK) {
		if (!s || mc < 1)
			__builtin_trap();
		free(s);
	}
	if (dc_parse_user_id(body, (size_t)(end - body), &s, NULL) == KITH_OK)
		free(s);
	free(dc_error_text(body, (size_t)(end - body)));
	/* The body as text to send: chunking must terminate and cover it. */
	s = strndup(body, (size_t)(end - body));
	if (s) {
		char **pieces;
		size_t k = dc_chunk(s, 64, &pieces);

		for (size_t i = 0; i < k; i++) {
			if (fmt_utf8_len(pieces[i], strlen(pieces[i])) > 64)
				__builtin_trap();
			free(pieces[i]);
		}
		free(pieces);
		free(s);
	}
	return 0;
}
