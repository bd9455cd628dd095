/* cmd_sel.c — /sel_status: SEL's mood and state in this conversation, and
 * the settings that shape it.
 *
 * Read-only: the mood is shown decayed to now (presence_view) without
 * saving, so asking does not move it. */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "agent/presence.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"

#include <string.h>

static size_t list_len(const char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static void ago(int64_t ms, char *out, size_t n)
{
	int64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, n, "%lld s ago", (long long)(s > 0 ? s : 0));
	else if (s < 3600)
		snprintf(out, n, "%lld min ago", (long long)(s / 60));
	else if (s < 172800)
		snprintf(out, n, "%lld h ago", (long long)(s / 3600));
	else
		snprintf(out, n, "%lld days ago", (long long)(s / 86400));
}

enum kith_status cmd_sel_status(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct presence_settings ps;
	struct presence_view v;
	struct buf b = BUF_INIT(0);
	char mood[128], when[48], *why = NULL;
	const char *channel = ctx->ev ? chan_name(ctx->ev->channel) : "console";
	const char *conversation = ctx->ev ? ctx->ev->conversation : "default";
	enum kith_status rc;

	(void)args;
	presence_settings_get(ctx->deps, &ps);
	rc = presence_view(ctx->deps, ctx->st, channel, conversation, &v, &why);
	if (rc) {
		*reply = xasprintf("No presence state available: %s", why ? why : kith_strerror(rc));
		free(why);
		return rc;
	}
	hormones_mood(&v.levels, mood, sizeof(mood));
	buf_printf(&b, "Mood (%s%s): %s\n", v.mood_key, v.known ? "" : ", nothing felt yet", mood);
	for (int i = 0; i < HORMONE_COUNT; i++)
		buf_printf(&b, "%s%s %.2f", i ? ", " : "Levels: ", hormones_name((enum hormone)i),
			   v.levels.v[i]);
	buf_printf(&b, "\nMessages since my last reply here: %d\n", v.messages_since_reply);
	if (v.last_reply_at > 0)
		ago(clock_now_ms() - v.last_reply_at, when, sizeof(when));
	buf_printf(&b, "Last reply here: %s\n", v.last_reply_at > 0 ? when : "never");
	buf_printf(&b, "People known: %zu\n", v.users);
	buf_printf(&b, "Settings: timezone %s; memory recall limit %d; whitelist %zu channel%s%s; "
		       "global mood %s",
		   ps.timezone, agent_recall_limit(ctx->deps),
		   list_len(ps.whitelist), list_len(ps.whitelist) == 1 ? "" : "s",
		   list_len(ps.whitelist) ? "" : " (all allowed)", ps.global_mood ? "on" : "off");
	if (ps.global_mood)
		buf_printf(&b, " (%s)", ps.mood_id);
	*reply = buf_detach(&b);
	return KITH_OK;
}
