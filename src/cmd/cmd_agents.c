/* cmd_agents.c — /sel_agents and /sel_run_agent: the plugin agents
 * (plugin/plugin.h) seen and run by hand.
 *
 * Listing is open to everyone.  Running is the owner's alone: the author
 * must be APPROVAL_USER_ID, and when no approver is configured nobody may
 * run an agent this way (SEL let everyone through then; kith does not). */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "plugin/plugin.h"

#include <string.h>

enum kith_status cmd_sel_agents(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct plugin_info *a = NULL;
	struct buf b = BUF_INIT(0);
	size_t n;

	(void)args;
	if (!ctx->plugins) {
		*reply = xstrdup("Plugin agents are not loaded here.");
		return KITH_EUNSUPPORTED;
	}
	n = plugins_list(ctx->plugins, &a);
	if (n == 0) {
		*reply = xasprintf("No agents in %s. An agent is a NAME.so built against "
				   "include/kith/plugin.h or an executable (docs/plugins.md).",
				   plugins_dir(ctx->plugins));
		return KITH_OK;
	}
	buf_printf(&b, "Agents in %s (%zu):", plugins_dir(ctx->plugins), n);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "\n- %s (%s): %s", a[i].name, plugin_kind_name(a[i].kind),
			   a[i].description);
	plugin_info_free(a, n);
	*reply = buf_detach(&b);
	return KITH_OK;
}

/* Whether the author of the command is the configured approver. */
static enum kith_status owner_only(const struct cmd_ctx *ctx, char **reply)
{
	const struct config *cfg = ctx->deps ? ctx->deps->cfg : NULL;
	const char *owner = cfg ? config_str(cfg, CFG_APPROVAL_USER_ID) : NULL;
	const char *author = ctx->ev ? ctx->ev->author_id : NULL;

	if (!owner || !*owner) {
		*reply = xstrdup("Only the owner may run agents, and no owner is configured: set "
				 "APPROVAL_USER_ID to your user id.");
		return KITH_EAUTH;
	}
	if (!author || strcmp(author, owner) != 0) {
		*reply = xstrdup("Only the owner may run agents.");
		return KITH_EAUTH;
	}
	return KITH_OK;
}

enum kith_status cmd_sel_run_agent(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct slice all = slice_trim(slice_cstr(args)), name_s, text_s;
	char *name, *text, *result = NULL, *why = NULL;
	enum kith_status rc = owner_only(ctx, reply);

	if (rc)
		return rc;
	if (!ctx->plugins) {
		*reply = xstrdup("Plugin agents are not loaded here.");
		return KITH_EUNSUPPORTED;
	}
	if (!slice_split(all, ' ', &name_s, &text_s)) {
		name_s = all;
		text_s = slice_of("", 0);
	}
	if (name_s.n == 0) {
		*reply = xstrdup("Usage: /sel_run_agent NAME TEXT. /sel_agents lists the agents.");
		return KITH_EINVAL;
	}
	name = slice_dup(name_s);
	text = slice_dup(slice_trim(text_s));
	if (!plugins_has(ctx->plugins, name)) {
		*reply = xasprintf("There is no agent named %s. /sel_agents lists them.", name);
		rc = KITH_ENOTFOUND;
		goto out;
	}
	rc = plugins_run(ctx->plugins, name, text, &result, &why);
	*reply = plugin_format_result(name, rc ? why : result);
	if (rc == KITH_OK && ctx->deps && ctx->st && ctx->ev) {
		struct agent_turn_in in = {
			.channel = ctx->ev->channel ? chan_name(ctx->ev->channel) : "console",
			.conversation = ctx->ev->conversation,
			.author_id = ctx->ev->author_id,
			.author_name = ctx->ev->author_name,
			.text = ctx->ev->text,
			.created_at = ctx->ev->created_at,
		};

		agent_remember_action(ctx->deps, ctx->st, &in, name, text);
	}
out:
	free(result);
	free(why);
	free(name);
	free(text);
	return rc;
}
