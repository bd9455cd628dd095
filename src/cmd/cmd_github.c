/* cmd_github.c — /bug and /feature: file a GitHub issue from a chat.
 *
 * Anyone who may talk to kith may file; the issue says which network it
 * came from and when, and — for a quote-reply to one of kith's own
 * messages — when that message was sent, so a maintainer can find it in
 * the logs.  It never carries who filed it: no user id, no name. */
#include "cmd/cmd.h"

#include "agent/agent.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "tools/github.h"

#include <stdlib.h>
#include <string.h>

#define TAG "github"

const char *cmd_github_needs(const struct cmd_ctx *ctx)
{
	return github_needs(ctx && ctx->deps ? ctx->deps->cfg : NULL);
}

/* "2026-11-21 21:41:55 UTC" into out (>= 24 bytes). */
static void utc_stamp(int64_t ms, char *out, size_t n)
{
	char iso[32];

	clock_format_utc(ms, iso, sizeof(iso));
	/* "YYYY-MM-DDTHH:MM:SSZ" */
	snprintf(out, n, "%.10s %.8s UTC", iso, iso + 11);
}

static const char *channel_name(const struct cmd_ctx *ctx)
{
	if (ctx->ev && ctx->ev->channel && ctx->ev->channel->ops && ctx->ev->channel->ops->name)
		return chan_name(ctx->ev->channel);
	return "console";
}

/* When the command quote-replies to a message kith sent: that message's
 * time (epoch ms), else 0.  A failed lookup only loses the line. */
static int64_t quoted_kith_message(const struct cmd_ctx *ctx)
{
	const struct inbound *ev = ctx->ev;
	struct store_message *m = NULL;
	size_t n = 0;
	int64_t id = 0, at = 0;
	char *why = NULL;

	if (!ev || !ctx->st || !((ev->reply_to && *ev->reply_to) ||
				 (ev->reply_to_text && *ev->reply_to_text)))
		return 0;
	if (store_message_find_quoted(ctx->st, channel_name(ctx),
				      ev->conversation ? ev->conversation : "default", ev->reply_to,
				      ev->reply_to_text, &id, &why) != KITH_OK) {
		log_warn(TAG, "could not find the quoted message: %s", why);
		free(why);
		return 0;
	}
	if (!id)
		return 0;
	if (store_messages_thread(ctx->st, id, 1, &m, &n, &why) != KITH_OK) {
		log_warn(TAG, "could not read the quoted message: %s", why);
		free(why);
		return 0;
	}
	if (n == 1 && m[0].id == id && m[0].direction == MSG_OUTGOING)
		at = m[0].created_at;
	store_messages_free(m, n);
	return at;
}

/* The description as valid UTF-8, cut to GITHUB_BODY_MAX bytes, then
 * where and when it was filed (heap). */
static char *issue_body(const struct cmd_ctx *ctx, const char *desc)
{
	struct buf b;
	char when[40], *clean = github_utf8_clean(desc, GITHUB_BODY_MAX);
	int64_t quoted = quoted_kith_message(ctx);

	buf_init(&b, 0);
	(void)buf_puts(&b, clean);
	free(clean);
	utc_stamp(clock_now_ms(), when, sizeof(when));
	(void)buf_printf(&b, "\n\n---\nFiled via %s at %s", channel_name(ctx), when);
	if (quoted > 0) {
		utc_stamp(quoted, when, sizeof(when));
		(void)buf_printf(&b, "\nRefers to message sent at %s", when);
	}
	return buf_detach(&b);
}

static enum kith_status file_issue(const struct cmd_ctx *ctx, const char *args, const char *label,
				   const char *what, const char *usage, char **reply)
{
	const char *labels[] = { label, NULL };
	const char *needs = cmd_github_needs(ctx);
	struct github_app g;
	struct github_issue is = { .labels = labels };
	char *title = NULL, *body = NULL, *url = NULL, *why = NULL;
	enum kith_status rc;

	*reply = NULL;
	if (needs) {
		*reply = xstrdup(needs);
		return KITH_ECONFIG;
	}
	while (*args == ' ' || *args == '\t' || *args == '\n' || *args == '\r')
		args++;
	if (!*args) {
		*reply = xstrdup(usage);
		return KITH_EINVAL;
	}
	github_app_from_config(&g, ctx->deps->cfg);
	title = github_issue_title(args);
	body = issue_body(ctx, args);
	is.title = title;
	is.body = body;
	rc = github_create_issue(&g, &is, &url, &why);
	if (rc == KITH_OK)
		*reply = xasprintf("%s filed: %s", what, url);
	else
		*reply = xasprintf("Couldn't file the issue: %s.", why ? why : kith_strerror(rc));
	free(title);
	free(body);
	free(url);
	free(why);
	return rc;
}

enum kith_status cmd_bug(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	return file_issue(ctx, args, "bug", "Bug",
			  "Usage: /bug DESCRIPTION — say what went wrong, and it becomes a GitHub "
			  "issue.", reply);
}

enum kith_status cmd_feature(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	return file_issue(ctx, args, "requirements", "Feature request",
			  "Usage: /feature DESCRIPTION — say what you would like kith to do, and it "
			  "becomes a GitHub issue.", reply);
}
