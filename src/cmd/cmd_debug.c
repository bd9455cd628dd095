/* cmd_debug.c — /debug: what shapes kith's answers right now, for the owner
 * who wonders why a reply came out the way it did: the models, whether
 * replies are grounded in a web search (and why not), memory, and the
 * background jobs with today's proactive budget.  Never
 * prints a secret; only whether one is set. */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "llm/llm.h"
#include "plugin/plugin.h"
#include "sched/scheduler.h"
#include "tools/search.h"

/* Plugin agents loaded, and who may use system access and how. */
static void agents_line(struct buf *b, const struct agent_deps *d, const struct config *cfg)
{
	const char *owner = cfg ? config_str(cfg, CFG_APPROVAL_USER_ID) : NULL;
	struct plugin_info *a = NULL;
	size_t n = d->plugins ? plugins_list(d->plugins, &a) : 0;

	plugin_info_free(a, n);
	buf_printf(b, "- Agents: %zu plugin agent%s loaded", n, n == 1 ? "" : "s");
	if (!d->system)
		buf_puts(b, "; no system agent here\n");
	else if (!owner || !*owner)
		buf_puts(b, "; system access off (APPROVAL_USER_ID is not set, so nobody may use it)\n");
	else
		buf_printf(b, "; system access for the owner only, commands run %s%s\n",
			   cfg && config_str(cfg, CFG_TMUX_CONTROL_TOKEN)
				   ? "through the tmux control API" : "directly (no TMUX_CONTROL_TOKEN)",
			   cfg && config_bool(cfg, CFG_SYSTEM_SHELL_MODE) ? ", shell mode on" : "");
}

enum kith_status cmd_debug(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const struct agent_deps *d = ctx->deps;
	const struct config *cfg = d->cfg;
	struct buf b = BUF_INIT(0);

	buf_printf(&b, "Debug — kith %s (commit %s)\n", KITH_VERSION, KITH_COMMIT);
	if (d->llm) {
		const struct llm_config *lc = llm_client_config(d->llm);

		buf_printf(&b, "- LLM: %s at %s\n", llm_provider_name(lc->provider), lc->base_url);
		for (int r = 0; r < LLM_ROLE_COUNT_; r++) {
			const char *m = llm_model(d->llm, (enum llm_role)r);

			buf_printf(&b, "  - %s model: %s\n", llm_role_name((enum llm_role)r),
				   m ? m : "(none)");
		}
	}
	if (d->always_search) {
		buf_printf(&b, "- Web search: on — every message except image messages is answered "
			       "from one Perplexity search%s\n",
			   cfg && config_str(cfg, CFG_SERPER_API_KEY)
				   ? ", with an image from Serper"
				   : " (no SERPER_API_KEY: no images)");
	} else {
		buf_puts(&b, "- Web search: off — PERPLEXITY_API_KEY is not set, so replies come "
			     "from the model alone, without the search tool\n");
	}
	buf_printf(&b, "- Memory: %s", d->memory ? "on" : "off");
	if (d->memory)
		buf_printf(&b, ", %d memories per prompt, %s\n", agent_recall_limit(d),
			   d->memory_scope ? "one memory shared by every conversation"
					   : "one memory per conversation");
	else
		buf_puts(&b, "\n");
	buf_printf(&b, "- Steps per message: %d, recent messages in context: %d\n",
		   d->max_steps > 0 ? d->max_steps
		   : cfg ? (int)config_int(cfg, CFG_MESSAGE_MAX_STEPS) : 5,
		   d->recent_limit > 0 ? d->recent_limit : 20);
	agents_line(&b, d, cfg);
	if (d->sched) {
		char line[2048];

		buf_puts(&b, "- Background work:\n");
		if (sched_status(d->sched, line, sizeof(line)))
			buf_printf(&b, "%s\n", line);
		if (d->budget && sched_budget_status(d->budget, clock_now_ms(), line, sizeof(line)))
			buf_printf(&b, "  budget: %s\n", line);
	} else {
		buf_puts(&b, "- Background work: not running in this process (it runs in `kith run`)\n");
	}
	*reply = buf_detach(&b);
	(void)args;
	return KITH_OK;
}
