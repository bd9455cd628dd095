/* cmd_email.c — /email QUESTION: answer a question about the owner's mail.
 *
 * A small agent task (agent/agent_task.h) with two tools, search_emails and
 * read_emails (tools/jmap.h), on the main model: the model searches, reads
 * what looks relevant and answers.  Mail is private, so only the owner may
 * ask, whatever the command table says; nothing is stored in the
 * conversation and the token never reaches a reply. */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "agent/agent_task.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/tz.h"
#include "llm/llm.h"
#include "tools/jmap.h"

#include <string.h>

#define MAX_STEPS 5

static const char *token(const struct cmd_ctx *ctx)
{
	const struct config *cfg = ctx->deps ? ctx->deps->cfg : NULL;
	const char *t = cfg ? config_str(cfg, CFG_FASTMAIL_API_TOKEN) : NULL;

	return t && *t ? t : NULL;
}

const char *cmd_email_needs(const struct cmd_ctx *ctx)
{
	return token(ctx) ? NULL
			  : "Set FASTMAIL_API_TOKEN (a Fastmail API token with mail read access) "
			    "to use /email.";
}

static char *system_prompt(const struct cmd_ctx *ctx, int64_t now_ms)
{
	const char *zone = ctx->deps->timezone && *ctx->deps->timezone ? ctx->deps->timezone : "UTC";
	char today[128];
	char *why = NULL;

	if (tz_format_now(zone, now_ms / 1000, today, sizeof(today), &why) != KITH_OK) {
		free(why);
		zone = "UTC";
		clock_format_utc(now_ms, today, sizeof(today));
	}
	return xasprintf(
		"You answer the owner's questions about their own email. You can use two tools: "
		"search_emails finds messages (by words, sender, subject and UTC dates) and lists "
		"each with its id in brackets; read_emails gives the full text of messages by id. "
		"Search first, then read the messages that look relevant before you answer; try a "
		"different search when the first finds nothing useful. Answer from what the emails "
		"say, not from guesses, and name the subject and date of the emails you rely on. "
		"If nothing relevant turns up, say so plainly. Keep the answer short.\n\n"
		"Now: %s (%s).", today, zone);
}

enum kith_status cmd_email(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct tool_registry *reg = NULL;
	struct agent_task_result res;
	struct tool_ctx tctx = { 0 };
	struct agent_task task = { 0 };
	char *system = NULL, *why = NULL;
	const char *missing;
	int64_t now = clock_now_ms();
	enum kith_status rc;

	*reply = NULL;
	memset(&res, 0, sizeof(res));
	if (!cmd_is_owner(ctx)) {
		*reply = xstrdup("Email is private: only the owner may use /email.");
		return KITH_EAUTH;
	}
	if ((missing = cmd_email_needs(ctx)) != NULL) {
		*reply = xstrdup(missing);
		return KITH_EUNSUPPORTED;
	}
	if (!args || !*args) {
		*reply = xstrdup("Usage: /email QUESTION — for example /email when does my flight "
				 "to Lisbon leave?");
		return KITH_EINVAL;
	}
	if (!ctx->deps->llm) {
		*reply = xstrdup("Couldn't search your email: no language model is configured.");
		return KITH_ECONFIG;
	}
	reg = tools_new();
	tools_add(reg, &tool_search_emails);
	tools_add(reg, &tool_read_emails);
	system = system_prompt(ctx, now);
	tctx.cfg = ctx->deps->cfg;
	tctx.timezone = ctx->deps->timezone;
	tctx.now_ms = now;
	tctx.author_id = cmd_author(ctx);
	if (ctx->ev) {
		tctx.conversation = ctx->ev->conversation;
		tctx.message = ctx->ev->text;
	}
	task.llm = ctx->deps->llm;
	task.role = LLM_ROLE_MAIN;
	task.system = system;
	task.tools = reg;
	task.ctx = &tctx;
	task.prompt = args;
	task.max_steps = MAX_STEPS;
	task.cancel = NULL;   /* commands carry no cancel token */
	rc = agent_task_run(&task, &res, &why);
	if (rc) {
		log_warn("email", "/email failed: %s", why ? why : kith_strerror(rc));
		*reply = xasprintf("Couldn't search your email: %s", why ? why : kith_strerror(rc));
	} else {
		log_info("email", "/email answered after %d model call%s and %d tool call%s",
			 res.llm_calls, res.llm_calls == 1 ? "" : "s", res.tool_calls,
			 res.tool_calls == 1 ? "" : "s");
		*reply = res.text;
		res.text = NULL;
	}
	agent_task_result_release(&res);
	tools_free(reg);
	free(system);
	free(why);
	return rc;
}
