/* cmd_mute.c — /mute and /unmute: whether kith may speak first to this
 * person.
 *
 * A muted person gets no proactive messages: the notification agent
 * (knowledge/notify.c) skips them, leaving what it would have told them
 * untold, so /unmute later still brings the news.  Tasks they scheduled
 * themselves still run: they asked for those.  The state is one row in the
 * store (store_user_mute), so it survives restarts and every worker thread
 * sees it. */
#include "cmd/cmd.h"

#include "core/alloc.h"
#include "store/store.h"

#include <stdlib.h>

enum kith_status cmd_mute(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const char *user;
	char *why = NULL;
	enum kith_status rc;

	(void)args;
	if (!cmd_person(ctx, "Muting", &user, reply, &rc))
		return rc;
	rc = store_user_mute(ctx->st, user, &why);
	if (rc == KITH_OK) {
		*reply = xstrdup("Muted. I won't message you first any more (news, facts, /learn "
				 "results); your scheduled tasks still run. /unmute to undo.");
	} else if (rc == KITH_EEXIST) {
		*reply = xstrdup("You're already muted. /unmute to hear from me again.");
		rc = KITH_OK;
	} else {
		*reply = xasprintf("I couldn't mute you: %s", why ? why : kith_strerror(rc));
	}
	free(why);
	return rc;
}

enum kith_status cmd_unmute(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const char *user;
	char *why = NULL;
	enum kith_status rc;

	(void)args;
	if (!cmd_person(ctx, "Muting", &user, reply, &rc))
		return rc;
	rc = store_user_unmute(ctx->st, user, &why);
	if (rc == KITH_OK) {
		*reply = xstrdup("Unmuted. I'll tell you about new things again.");
	} else if (rc == KITH_ENOTFOUND) {
		*reply = xstrdup("You weren't muted.");
		rc = KITH_OK;
	} else {
		*reply = xasprintf("I couldn't unmute you: %s", why ? why : kith_strerror(rc));
	}
	free(why);
	return rc;
}
