/* fuzz_discord_gateway.c — the Discord gateway payload parser and the
 * dispatch event parsers.
 *
 * Input: one gateway payload as the gateway would send it.  It goes through
 * the envelope parser; whatever op it carries, its d is then offered to
 * every parser the gateway thread could reach (Hello, READY, messages,
 * reactions, and the event → struct inbound conversion under each event
 * name), with and without a bot id, so hostile shapes meet every reader. */
#include "channel/discord/discord_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"READY", "RESUMED", "MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_REACTION_ADD",
	"GUILD_CREATE", "TYPING_START",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dc_payload pl;
	struct dc_ready ready;
	struct discord_message m;
	struct dc_reaction r;
	struct inbound *ev;
	long iv;

	if (dc_payload_parse((const char *)data, size, &pl, NULL) != KITH_OK)
		return 0;
	if (dc_parse_hello(pl.d, &iv, NULL) == KITH_OK && iv <= 0)
		__builtin_trap();
	if (dc_parse_ready(pl.d, &ready, NULL) == KITH_OK) {
		if (!ready.session_id || !ready.user_id)
			__builtin_trap();
		dc_ready_release(&ready);
	}
	if (dc_parse_message(pl.d, &m, NULL) == KITH_OK) {
		if (!m.id || !m.channel_id)
			__builtin_trap();
		discord_message_release(&m);
	}
	if (dc_parse_reaction(pl.d, &r, NULL) == KITH_OK)
		dc_reaction_release(&r);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (int self = 0; self < 2; self++) {
			ev = NULL;
			if (dc_dispatch_to_inbound(names[i], pl.d, NULL,
						   self ? "1000000000000000001" : NULL, &ev, NULL) != KITH_OK &&
			    ev)
				__builtin_trap();   /* no event on failure */
			if (ev && (!ev->conversation || !ev->author_id || !ev->text))
				__builtin_trap();
			inbound_free(ev);
		}
	}
	if (pl.t) {
		ev = NULL;
		if (dc_dispatch_to_inbound(pl.t, pl.d, NULL, NULL, &ev, NULL) != KITH_OK && ev)
			__builtin_trap();
		inbound_free(ev);
	}
	dc_payload_release(&pl);
	return 0;
}
