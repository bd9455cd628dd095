/* cmd.c — the command table and its dispatcher.
 *
 * One row per command: its name and aliases, arguments, one line of help,
 * who may run it and, for commands that need an optional service, what has
 * to be configured.  Dispatch, /commands and /help all read the table.
 * Every run — refused ones too — goes to the command log, never into the
 * conversation. */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "llm/llm.h"
#include "store/store.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static enum kith_status cmd_commands(const struct cmd_ctx *ctx, const char *args, char **reply);
static enum kith_status cmd_model(const struct cmd_ctx *ctx, const char *args, char **reply);

#define ANY CMD_ANYONE
#define OWNER CMD_OWNER

static const struct cmd_entry commands[] = {
	{ "commands", "help", "[command]", "list the commands, or explain one", ANY, NULL,
	  cmd_commands },
	{ "debug", NULL, "", "versions, models, web search, memory, background jobs and budget",
	  ANY, NULL, cmd_debug },
	{ "model", NULL, "", "which LLM provider and models answer", ANY, NULL, cmd_model },
	{ "config", NULL, "[KEY [VALUE|reset]]",
	  "runtime settings: list them, show one, change one (owner only)", ANY, NULL,
	  cmd_config },
	{ "memory", NULL, "[N|NAME|forget N|NAME]",
	  "what I know about you, hottest first; details of one; or forget it", ANY, NULL,
	  cmd_memory },
	{ "forget", NULL, "N|NAME", "forget something I know about you, with its facts", ANY,
	  NULL, cmd_forget },
	{ "learn", NULL, "[TOPIC]",
	  "have me read up on TOPIC with a few web searches, or show progress", ANY, NULL,
	  cmd_learn },
	{ "unlearn", NULL, "[N]",
	  "the topics you had me learn; forget one with what I learned from it", ANY, NULL,
	  cmd_unlearn },
	{ "follow", NULL, "[TOPIC]", "follow news about TOPIC, or list what you follow", ANY, NULL,
	  cmd_follow },
	{ "unfollow", NULL, "N|TOPIC", "stop following a topic and drop its events", ANY, NULL,
	  cmd_unfollow },
	{ "events", NULL, "[N]", "recent news for what you follow, or one event in full", ANY,
	  NULL, cmd_events },
	{ "profile", NULL, "[name|location|birthday|timezone VALUE | free text | clear]",
	  "your name, location, time zone and date of birth", ANY, NULL, cmd_profile },
	{ "mute", NULL, "", "stop the messages I send you unasked (news, facts, /learn results, "
	  "check-ins)", ANY, NULL, cmd_mute },
	{ "unmute", NULL, "", "let me message you unasked again", ANY, NULL, cmd_unmute },
	{ "schedule", NULL, "[WHEN WHAT]",
	  "your scheduled tasks, or add one: /schedule every weekday at 9am the weather "
	  "(or a cron line: 0 9 * * 1-5 the weather)", ANY, NULL, cmd_schedule },
	{ "unschedule", NULL, "N", "remove scheduled task N (as /schedule numbers them)", ANY,
	  NULL, cmd_unschedule },
	{ "draw", NULL, "PROMPT", "draw a picture with the Ollama image model", ANY,
	  cmd_draw_needs, cmd_draw },
	{ "bug", NULL, "DESCRIPTION", "file a bug report as a GitHub issue", ANY,
	  cmd_github_needs, cmd_bug },
	{ "feature", NULL, "DESCRIPTION", "file a feature request as a GitHub issue", ANY,
	  cmd_github_needs, cmd_feature },
	{ "email", NULL, "QUESTION", "answer a question from your Fastmail email (owner only)",
	  OWNER, cmd_email_needs, cmd_email },
	{ "test", NULL, "[stop|PROMPT]",
	  "talk to a fresh me with an empty database; /test stop ends it", ANY, NULL, cmd_test },
	{ "sel_status", "status", "", "SEL's mood, state here and key settings", ANY, NULL,
	  cmd_sel_status },
	{ "him_status", NULL, "", "HIM's health and counts: tiles, cache, memories, indexes", ANY,
	  NULL, cmd_him_status },
	{ "sel_agents", "agents", "", "the plugin agents: name, kind and what each does", ANY,
	  NULL, cmd_sel_agents },
	{ "sel_run_agent", "run_agent", "NAME TEXT", "run a plugin agent on TEXT (owner only)",
	  OWNER, NULL, cmd_sel_run_agent },
	{ NULL, NULL, NULL, NULL, ANY, NULL, NULL },
};

#undef ANY
#undef OWNER

const struct cmd_entry *cmd_table(void)
{
	return commands;
}

/* Whether `name` is one of the space-separated words of `list`. */
static bool in_list(const char *list, struct slice name)
{
	const char *p = list;

	while (p && *p) {
		size_t n = strcspn(p, " ");

		if (n == name.n && strncasecmp(p, name.p, n) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

static const struct cmd_entry *find(struct slice name)
{
	for (const struct cmd_entry *c = commands; c->name; c++) {
		if ((strlen(c->name) == name.n && strncasecmp(c->name, name.p, name.n) == 0) ||
		    in_list(c->aliases, name))
			return c;
	}
	return NULL;
}

bool cmd_is_command(const char *text)
{
	return text && text[0] == '/' && isalpha((unsigned char)text[1]);
}

const char *cmd_author(const struct cmd_ctx *ctx)
{
	return ctx->ev && ctx->ev->author_id && *ctx->ev->author_id ? ctx->ev->author_id : NULL;
}

bool cmd_person(const struct cmd_ctx *ctx, const char *what, const char **user, char **reply,
		enum kith_status *rc)
{
	*user = cmd_author(ctx);
	if (!ctx->st) {
		*reply = xasprintf("%s needs the database, and none is open here.", what);
		*rc = KITH_EUNSUPPORTED;
		return false;
	}
	if (!*user) {
		*reply = xasprintf("%s is only for a person, and I can't tell who is asking.", what);
		*rc = KITH_EINVAL;
		return false;
	}
	return true;
}

bool cmd_is_owner(const struct cmd_ctx *ctx)
{
	const struct config *cfg = ctx->deps ? ctx->deps->cfg : NULL;
	const char *owner = cfg ? config_str(cfg, CFG_APPROVAL_USER_ID) : NULL;
	const char *author = cmd_author(ctx);

	return owner && *owner && author && strcmp(owner, author) == 0;
}

void cmd_attach(const struct cmd_ctx *ctx, const char *content_type, const char *filename,
		const void *data, size_t len)
{
	struct cmd_out *o = ctx->out;
	struct attachment *a;

	if (!o)
		return;
	o->att = xrealloc(o->att, (o->natt + 1) * sizeof(*o->att));
	a = &o->att[o->natt++];
	memset(a, 0, sizeof(*a));
	a->content_type = xstrdup(content_type ? content_type : "application/octet-stream");
	a->filename = xstrdup(filename ? filename : "file");
	a->data = xmalloc(len ? len : 1);
	if (len)
		memcpy(a->data, data, len);
	a->len = len;
}

void cmd_out_release(struct cmd_out *o)
{
	if (!o)
		return;
	attachments_free(o->att, o->natt);
	o->att = NULL;
	o->natt = 0;
}

static void usage_line(struct buf *b, const struct cmd_ctx *ctx, const struct cmd_entry *c)
{
	const char *missing = c->needs ? c->needs(ctx) : NULL;

	buf_printf(b, "/%s%s%s — %s", c->name, *c->args ? " " : "", c->args, c->help);
	if (missing)
		buf_puts(b, " (not set up here)");
	buf_puts(b, "\n");
}

static void chop_newline(struct buf *b)
{
	if (b->len && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
}

static enum kith_status cmd_commands(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct slice name = slice_trim(slice_cstr(args));
	const struct cmd_entry *c;
	struct buf b = BUF_INIT(0);

	if (name.n && name.p[0] == '/') {
		name.p++;
		name.n--;
	}
	if (name.n == 0) {
		buf_puts(&b, "Commands:\n");
		for (c = commands; c->name; c++)
			usage_line(&b, ctx, c);
		chop_newline(&b);
		*reply = buf_detach(&b);
		return KITH_OK;
	}
	c = find(name);
	if (!c) {
		char *n = slice_dup(name);

		*reply = xasprintf("There is no command /%s. Try /commands.", n);
		free(n);
		return KITH_ENOTFOUND;
	}
	usage_line(&b, ctx, c);
	if (c->aliases)
		buf_printf(&b, "Also: /%s\n", c->aliases);
	if (c->who == CMD_OWNER)
		buf_puts(&b, "Only the owner (APPROVAL_USER_ID) may run it.\n");
	if (c->needs && c->needs(ctx))
		buf_printf(&b, "%s\n", c->needs(ctx));
	chop_newline(&b);
	*reply = buf_detach(&b);
	return KITH_OK;
}

static enum kith_status cmd_model(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const struct llm_client *llm = ctx->deps->llm;
	const struct llm_config *cfg = llm_client_config(llm);
	struct buf b = BUF_INIT(0);

	(void)args;
	buf_printf(&b, "Provider: %s at %s", llm_provider_name(cfg->provider), cfg->base_url);
	for (int r = 0; r < LLM_ROLE_COUNT_; r++) {
		const char *m = llm_model(llm, (enum llm_role)r);

		buf_printf(&b, "\n%s: %s", llm_role_name((enum llm_role)r), m ? m : "(not configured)");
	}
	*reply = buf_detach(&b);
	return KITH_OK;
}

/* The command log: who ran what and what came back. */
static void log_run(const struct cmd_ctx *ctx, const char *name, const char *args,
		    enum kith_status rc, const char *reply)
{
	struct store_command_run r = {
		.channel = ctx->ev && ctx->ev->channel ? chan_name(ctx->ev->channel) : "console",
		.conversation = ctx->ev ? ctx->ev->conversation : "default",
		.author_id = cmd_author(ctx), .command = name, .args = args,
		.status = rc ? kith_strerror(rc) : "ok", .reply = reply,
	};
	char *why = NULL;

	if (!ctx->st)
		return;
	if (store_command_log_add(ctx->st, &r, &why) != KITH_OK) {
		log_warn("cmd", "could not log /%s: %s", name, why);
		free(why);
	}
}

/* Only /bug may answer a quoted message: a command in a thread would be
 * read as part of the conversation it quotes. */
static bool quoted(const struct cmd_ctx *ctx)
{
	return ctx->ev && ((ctx->ev->reply_to && *ctx->ev->reply_to) ||
			   (ctx->ev->reply_to_text && *ctx->ev->reply_to_text));
}

bool cmd_parse_line(const char *text, char **name, char **args)
{
	struct slice rest;
	size_t i = 0;

	*name = *args = NULL;
	if (!cmd_is_command(text))
		return false;
	rest = slice_trim(slice_cstr(text + 1));
	/* The name ends at the first blank of any kind ("/config\tKEY"). */
	while (i < rest.n && !isspace((unsigned char)rest.p[i]))
		i++;
	*name = slice_dup(slice_of(rest.p, i));
	for (char *p = *name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*args = slice_dup(slice_trim(slice_of(rest.p + i, rest.n - i)));
	return true;
}

const struct cmd_entry *cmd_find(const char *name)
{
	return name ? find(slice_cstr(name)) : NULL;
}

enum kith_status cmd_dispatch(const struct cmd_ctx *ctx, const char *text, char **reply)
{
	const struct cmd_entry *c;
	char *argstr, *namestr;
	const char *missing;
	enum kith_status rc;

	*reply = NULL;
	if (!cmd_parse_line(text, &namestr, &argstr)) {
		*reply = xstrdup("That is not a command: commands start with / and a letter.");
		return KITH_EINVAL;
	}
	c = find(slice_cstr(namestr));
	if (!c) {
		*reply = xasprintf("Unknown command /%.64s. Try /commands for the list.", namestr);
		rc = KITH_ENOTFOUND;
	} else if (quoted(ctx) && strcmp(c->name, "bug") != 0) {
		*reply = xstrdup("Commands can't be used in threads: send it as a message of its own.");
		rc = KITH_EINVAL;
	} else if (c->who == CMD_OWNER && !cmd_is_owner(ctx)) {
		const char *owner = ctx->deps && ctx->deps->cfg
					    ? config_str(ctx->deps->cfg, CFG_APPROVAL_USER_ID) : NULL;

		*reply = owner && *owner
				 ? xasprintf("Only the owner may use /%s.", c->name)
				 : xasprintf("Only the owner may use /%s, and no owner is configured: "
					     "set APPROVAL_USER_ID to your user id.", c->name);
		rc = KITH_EAUTH;
	} else if (c->needs && (missing = c->needs(ctx)) != NULL) {
		*reply = xasprintf("/%s is not set up here. %s", c->name, missing);
		rc = KITH_EUNSUPPORTED;
	} else {
		rc = c->run(ctx, argstr, reply);
		if (!*reply)
			*reply = xstrdup(rc ? kith_strerror(rc) : "Done.");
	}
	log_run(ctx, c ? c->name : namestr, argstr, rc, *reply);
	free(argstr);
	free(namestr);
	return rc;
}

void cmd_write_help(FILE *out)
{
	for (const struct cmd_entry *c = commands; c->name; c++)
		fprintf(out, "  /%s%s%s\n      %s\n", c->name, *c->args ? " " : "", c->args, c->help);
}
