/* scope.c — scopes, and names and keys derived from scopes and texts.
 *
 * memory_scope_for() is the one rule for which scope a conversation's
 * memories go to, shared by the agent and `kith backfill` so that what is
 * backfilled is recalled in the conversation it came from.
 *
 * A scope is any text ("global", "discord:1234/5678"); HIM names allow only
 * [A-Za-z0-9_.-]{1,64} without a leading '.' or "..".  The snapshot name
 * keeps the scope readable where it can and appends 16 hex digits of the
 * raw scope's blake3 whenever it had to change anything, so two scopes can
 * only share a name if they are the same text. */
#include "memory/memory_int.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "him/blake3.h"

#include <stdio.h>
#include <string.h>

#define NAME_HASH_HEX 16

void memory_scope_for(const char *global_id, const char *channel, const char *conversation,
		      char out[MEMORY_SCOPE_MAX + 1])
{
	char *key;

	if (global_id && *global_id) {
		snprintf(out, MEMORY_SCOPE_MAX + 1, "%s", global_id);
		return;
	}
	key = xasprintf("%s:%s", channel ? channel : "", conversation ? conversation : "");
	if (strlen(key) <= MEMORY_SCOPE_MAX) {
		snprintf(out, MEMORY_SCOPE_MAX + 1, "%s", key);
	} else {
		char hex[2 * BLAKE3_OUT_LEN + 1];

		blake3_hex(key, strlen(key), hex);
		snprintf(out, MEMORY_SCOPE_MAX + 1, "conv-%.40s", hex);
	}
	free(key);
}

static bool name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

void memory_scope_name(const char *scope, char out[HIM_NAME_MAX + 1])
{
	size_t n = strlen(scope), k = 0;
	bool changed = n == 0 || n > HIM_NAME_MAX;

	for (size_t i = 0; i < n && k < HIM_NAME_MAX; i++) {
		char c = scope[i];

		if (!name_char((unsigned char)c) || (k == 0 && c == '.') ||
		    (c == '.' && k > 0 && out[k - 1] == '.')) {
			c = '_';
			changed = true;
		}
		out[k++] = c;
	}
	out[k] = '\0';
	if (changed) {
		char hex[2 * BLAKE3_OUT_LEN + 1];
		size_t keep = HIM_NAME_MAX - 1 - NAME_HASH_HEX;

		blake3_hex(scope, n, hex);
		if (k > keep)
			k = keep;
		/* "x." + "-": a trailing '.' before '-' is fine; ".." cannot form */
		out[k++] = '-';
		memcpy(out + k, hex, NAME_HASH_HEX);
		out[k + NAME_HASH_HEX] = '\0';
	}
}

void memory_digest(const char *scope, const char *text, char out[65])
{
	struct blake3 h;
	uint8_t d[BLAKE3_OUT_LEN];
	bool space = false, started = false;

	blake3_init(&h);
	blake3_update(&h, scope, strlen(scope));
	blake3_update(&h, "\0", 1);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		unsigned char c = *p;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			space = started;
			continue;
		}
		if (space)
			blake3_update(&h, " ", 1);
		space = false;
		started = true;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		blake3_update(&h, &c, 1);
	}
	blake3_finalize(&h, d, sizeof d);
	blake3_to_hex(d, sizeof d, out);
}

char *memory_embed_text(const char *speaker, const char *text, const char *context)
{
	/* The speaker's name is part of what was said ("what did Ana paint?");
	 * context words help a short turn be found by the topic around it. */
	return xasprintf("%s%s%s%s%s", speaker && *speaker ? speaker : "",
			 speaker && *speaker ? ": " : "", text, context && *context ? "\n" : "",
			 context && *context ? context : "");
}
