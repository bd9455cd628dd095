/* tool_out.c — what tools leave for the reply besides text (tools.h).
 *
 * A per-turn collection: attachments move in (a downloaded image is not
 * copied twice) and sources are deduplicated in first-seen order, so the
 * first search's best source stays first for search_append_source(). */
#include "agent/tools.h"

#include "channel/channel.h"
#include "core/alloc.h"

#include <string.h>

void tool_out_add_attachment(struct tool_out *o, struct attachment *a)
{
	size_t cap = o->nattachments;

	o->attachments = xgrow(o->attachments, &cap, o->nattachments + 1, sizeof(*o->attachments));
	o->attachments[o->nattachments++] = *a;
	memset(a, 0, sizeof(*a));
}

void tool_out_add_source(struct tool_out *o, const char *url)
{
	size_t cap = o->nsources;

	if (!url || !*url)
		return;
	for (size_t i = 0; i < o->nsources; i++)
		if (strcmp(o->sources[i], url) == 0)
			return;
	o->sources = xgrow(o->sources, &cap, o->nsources + 1, sizeof(*o->sources));
	o->sources[o->nsources++] = xstrdup(url);
}

void tool_out_release(struct tool_out *o)
{
	if (!o)
		return;
	attachments_free(o->attachments, o->nattachments);
	for (size_t i = 0; i < o->nsources; i++)
		free(o->sources[i]);
	free(o->sources);
	memset(o, 0, sizeof(*o));
}
