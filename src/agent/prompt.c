/* prompt.c — the system prompt.
 *
 * Built fresh for every turn so what it states (the time, the mood and
 * the person's profile from presence, the recalled memories) is never
 * stale.  The persona comes from configuration; the rest
 * is kith's own guidance to the model. */
#include "agent/agent.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/tz.h"

#include <string.h>

char *agent_system_prompt(const struct agent_deps *deps, const struct agent_turn_in *in,
			  int64_t now_ms, const char *memories)
{
	struct buf b = BUF_INIT(0);
	char when[128];
	char *why = NULL;
	const char *zone = deps->timezone && *deps->timezone ? deps->timezone : "UTC";

	buf_puts(&b, deps->persona && *deps->persona
			     ? deps->persona
			     : "You are kith, a friendly companion who remembers people and conversations.");
	buf_puts(&b, "\n\n");
	if (tz_format_now(zone, now_ms / 1000, when, sizeof(when), &why) == KITH_OK) {
		buf_printf(&b, "It is now %s (time zone %s).\n", when, zone);
	} else {
		buf_printf(&b, "The current time is unknown (%s).\n", why ? why : "no time zone");
	}
	free(why);
	buf_printf(&b, "You are chatting on %s with %s.\n", in->channel,
		   in->author_name && *in->author_name ? in->author_name : in->author_id);
	buf_puts(&b,
		 "Reply in plain conversational text, briefly unless asked for detail. "
		 "Use a tool when it gives you facts you lack; never claim to have done "
		 "something no tool result shows you did.");
	if (in->presence && *in->presence) {
		buf_puts(&b, "\n\n");
		buf_puts(&b, in->presence);
	}
	if (memories && *memories) {
		buf_puts(&b, "\n\n");
		buf_puts(&b, memories);
	}
	if (in->agent_result && *in->agent_result)
		buf_printf(&b, "\n\nFor this message one of your agents has already run; its "
			       "answer:\n%s\nAnswer the person from it in your own words, and do not "
			       "add anything it did not say.", in->agent_result);
	return buf_detach(&b);
}

char *agent_clean_reply(const char *text)
{
	struct buf b = BUF_INIT(0);
	const char *p = text ? text : "";
	struct slice s;
	char *out;

	for (;;) {
		const char *open = strstr(p, "<think>");
		const char *close = open ? strstr(open, "</think>") : NULL;

		if (!open || !close) {
			buf_puts(&b, p);
			break;
		}
		buf_append(&b, p, (size_t)(open - p));
		p = close + strlen("</think>");
	}
	s = slice_trim(slice_of(buf_str(&b), b.len));
	out = slice_dup(s);
	buf_release(&b);
	return out;
}
