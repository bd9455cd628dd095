/* cmd_test.c — /test: a fresh kith in an isolated database
 * (agent/test_mode.h).
 *
 *   /test          this conversation's messages go to the test kith
 *   /test stop     back to the real one (the test database is deleted)
 *   /test PROMPT   one answer from a throw-away test kith */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "agent/test_mode.h"
#include "channel/channel.h"
#include "core/alloc.h"

#include <string.h>
#include <strings.h>

enum kith_status cmd_test(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct test_mode *tm = ctx->deps ? ctx->deps->test_mode : NULL;
	const char *channel, *conversation;
	char *why = NULL;
	enum kith_status rc;

	if (!tm || !ctx->ev || !ctx->ev->channel) {
		*reply = xstrdup("Test mode isn't available here.");
		return KITH_EUNSUPPORTED;
	}
	channel = chan_name(ctx->ev->channel);
	conversation = ctx->ev->conversation;
	if (!*args) {
		rc = test_mode_start(tm, channel, conversation, &why);
		if (rc == KITH_EEXIST)
			*reply = xstrdup("[TEST] Already in test mode. /test stop leaves it.");
		else if (rc)
			*reply = xasprintf("Couldn't start test mode: %s", why);
		else
			*reply = xstrdup("[TEST] Test mode: your messages here now go to a fresh me "
					 "with an empty database and no memories. /test stop ends it.");
		free(why);
		return rc == KITH_EEXIST ? KITH_OK : rc;
	}
	if (strcasecmp(args, "stop") == 0 || strcasecmp(args, "off") == 0) {
		if (test_mode_stop(tm, channel, conversation) == KITH_ENOTFOUND) {
			*reply = xstrdup("This conversation isn't in test mode.");
			return KITH_OK;
		}
		*reply = xstrdup("Test mode is over; the test database is gone.");
		return KITH_OK;
	}
	if (args[0] == '/') {
		*reply = xstrdup("Commands can't be tested inside /test: send the command itself.");
		return KITH_EINVAL;
	}
	{
		struct agent_turn_in in = {
			.channel = channel, .conversation = conversation,
			.author_id = ctx->ev->author_id, .author_name = ctx->ev->author_name,
			.text = args,
		};

		rc = test_mode_turn(tm, ctx->deps, &in, reply, &why);
		if (rc) {
			*reply = xasprintf("[TEST] Couldn't answer: %s", why ? why : kith_strerror(rc));
			free(why);
		}
	}
	return rc;
}
