/* cmd.c — the command table and its dispatcher. */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "llm/llm.h"

#include <ctype.h>
#include <string.h>

static enum kith_status cmd_commands(const struct cmd_ctx *ctx, const char *args, char **reply);
static enum kith_status cmd_help(const struct cmd_ctx *ctx, const char *args, char **reply);
static enum kith_status cmd_model(const struct cmd_ctx *ctx, const char *args, char **reply);

static const struct cmd_entry commands[] = {
	{ "commands", "", "list the commands", cmd_commands },
	{ "help", "[command]", "explain a command, or list them all", cmd_help },
	{ "model", "", "show which LLM provider and models answer", cmd_model },
	{ "him_status", "", "HIM's health and counts: tiles, cache, memories, indexes",
	  cmd_him_status },
	{ "sel_status", "", "SEL's mood, state here and key settings", cmd_sel_status },
	{ "debug", "", "what shapes replies now: models, web search, memory", cmd_debug },
	{ "sel_agents", "", "the plugin agents: name, kind and what each does", cmd_sel_agents },
	{ "sel_run_agent", "NAME TEXT", "run a plugin agent on TEXT (owner only)",
	  cmd_sel_run_agent },
	{ "memory", "[N|NAME|forget N|NAME]",
	  "what I know about you, hottest first; details of one; or forget it", cmd_memory },
	{ "follow", "[TOPIC]", "follow news about TOPIC, or list what you follow", cmd_follow },
	{ "unfollow", "N|TOPIC", "stop following a topic and drop its events", cmd_unfollow },
	{ "events", "[N]", "recent news for what you follow, or one event in full", cmd_events },
	{ "learn", "[TOPIC]", "have me read up on TOPIC with a few web searches, or show progress",
	  cmd_learn },
	{ NULL, NULL, NULL, NULL },
};

const struct cmd_entry *cmd_table(void)
{
	return commands;
}

static const struct cmd_entry *find(struct slice name)
{
	for (const struct cmd_entry *c = commands; c->name; c++) {
		if (slice_eq(name, c->name))
			return c;
	}
	return NULL;
}

bool cmd_is_command(const char *text)
{
	return text && text[0] == '/' && isalpha((unsigned char)text[1]);
}

static void usage_line(struct buf *b, const struct cmd_entry *c)
{
	buf_printf(b, "/%s%s%s — %s\n", c->name, *c->args ? " " : "", c->args, c->help);
}

static enum kith_status cmd_commands(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct buf b = BUF_INIT(0);

	buf_puts(&b, "Commands:\n");
	for (const struct cmd_entry *c = commands; c->name; c++)
		usage_line(&b, c);
	b.len--;   /* no trailing newline */
	b.data[b.len] = '\0';
	*reply = buf_detach(&b);
	return KITH_OK;
}

static enum kith_status cmd_help(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct slice name = slice_cstr(args);
	const struct cmd_entry *c;
	struct buf b = BUF_INIT(0);

	if (name.n == 0)
		return cmd_commands(ctx, args, reply);
	if (name.p[0] == '/') {
		name.p++;
		name.n--;
	}
	c = find(name);
	if (!c) {
		*reply = xasprintf("There is no command /%s. Try /commands.", args[0] == '/' ? args + 1 : args);
		return KITH_ENOTFOUND;
	}
	usage_line(&b, c);
	b.len--;
	b.data[b.len] = '\0';
	*reply = buf_detach(&b);
	return KITH_OK;
}

static enum kith_status cmd_model(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const struct llm_client *llm = ctx->deps->llm;
	const struct llm_config *cfg = llm_client_config(llm);
	struct buf b = BUF_INIT(0);

	buf_printf(&b, "Provider: %s at %s", llm_provider_name(cfg->provider), cfg->base_url);
	for (int r = 0; r < LLM_ROLE_COUNT_; r++) {
		const char *m = llm_model(llm, (enum llm_role)r);

		buf_printf(&b, "\n%s: %s", llm_role_name((enum llm_role)r), m ? m : "(not configured)");
	}
	*reply = buf_detach(&b);
	return KITH_OK;
}

enum kith_status cmd_dispatch(const struct cmd_ctx *ctx, const char *text, char **reply)
{
	struct slice rest = slice_trim(slice_cstr(text + 1)), name, args = { "", 0 };
	const struct cmd_entry *c;
	char *argstr;
	enum kith_status rc;

	if (!slice_split(rest, ' ', &name, &args))
		args = slice_of("", 0);
	c = find(name);
	if (!c) {
		char *n = slice_dup(name);

		*reply = xasprintf("Unknown command /%s. Try /commands for the list.", n);
		free(n);
		return KITH_ENOTFOUND;
	}
	argstr = slice_dup(slice_trim(args));
	*reply = NULL;
	rc = c->run(ctx, argstr, reply);
	if (!*reply)
		*reply = xstrdup(rc ? kith_strerror(rc) : "Done.");
	free(argstr);
	return rc;
}

void cmd_write_help(FILE *out)
{
	for (const struct cmd_entry *c = commands; c->name; c++)
		fprintf(out, "  /%s%s%s\n      %s\n", c->name, *c->args ? " " : "", c->args, c->help);
}
