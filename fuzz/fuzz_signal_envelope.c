/* fuzz_signal_envelope.c — the Signal receive-frame parser and everything
 * else that reads signal-cli-rest-api's answers.
 *
 * Input: one receive frame as the WebSocket would deliver it.  It goes
 * through the envelope parser (with and without an account number of our
 * own) and, when it parses, the event → struct inbound conversion; the
 * same bytes are also offered to the poll-array, /v2/send answer, error
 * body and /v1/about readers, and the text goes through the Signal
 * formatter and splitter, so hostile shapes meet every reader. */
#include "channel/signal/signal_int.h"
#include "channel/format.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	static const char *const selves[] = { "+15559990000", NULL };
	char **frames = NULL, *fail = NULL, *s, *text;
	size_t n = 0;
	int64_t ts;

	for (size_t k = 0; k < 2; k++) {
		struct sg_event e;
		struct inbound *ev;

		if (sg_envelope_parse(p, size, selves[k], &e, NULL) != KITH_OK)
			continue;
		if ((e.kind == SG_MESSAGE || e.kind == SG_REACTION || e.kind == SG_EDIT) &&
		    (!e.source || !e.conversation || !e.text || !e.timestamp))
			__builtin_trap();
		ev = sg_event_to_inbound(&e, NULL);
		if (ev && (!ev->conversation || !ev->author_id || !ev->text || !ev->external_id))
			__builtin_trap();
		if (ev && ev->nattachments != e.natts)
			__builtin_trap();
		inbound_free(ev);
		sg_event_release(&e);
	}
	if (sg_parse_receive_array(p, size, &frames, &n, NULL) == KITH_OK) {
		for (size_t i = 0; i < n; i++)
			free(frames[i]);
		free(frames);
	}
	sg_parse_send_answer(p, size, &ts, &fail);
	if (ts < 0)
		__builtin_trap();
	free(fail);
	free(sg_error_text(p, size));
	free(sg_parse_about_mode(p, size));
	text = xstrndup(p, size);
	if (strlen(text) < 20000) {
		char **pieces = NULL;
		size_t np = fmt_for_signal(text, &pieces);

		for (size_t i = 0; i < np; i++)
			if (fmt_utf8_len(pieces[i], strlen(pieces[i])) > FMT_SIGNAL_LIMIT)
				__builtin_trap();
		fmt_pieces_free(pieces, np);
		np = fmt_split(text, 16, FMT_SPLIT_SIGNAL_STYLES, &pieces);
		for (size_t i = 0; i < np; i++)
			if (fmt_utf8_len(pieces[i], strlen(pieces[i])) > 16 || !*pieces[i])
				__builtin_trap();
		fmt_pieces_free(pieces, np);
	}
	s = signal_group_conversation(text);
	free(s);
	free(text);
	return 0;
}
