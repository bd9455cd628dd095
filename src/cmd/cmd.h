/* cmd.h — slash commands, answered before the agent loop.
 *
 * One static table (cmd.c) lists every command with its arguments and help;
 * /commands, /help and the CLI's help text are generated from it.  A command
 * never reaches the LLM. */
#ifndef KITH_CMD_H
#define KITH_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "core/status.h"

struct agent_deps;
struct inbound;
struct plugins;
struct store;

struct attachment;

/* What a command hands back besides its text: files to attach (an image
 * from /draw).  Add with cmd_attach; the dispatcher sends and frees them. */
struct cmd_out {
	struct attachment *att;
	size_t natt;
};

struct cmd_ctx {
	const struct agent_deps *deps;
	struct store *st;          /* the calling thread's connection */
	const struct inbound *ev;  /* the message that carried the command; NULL
				    * from the console's CLI paths */
	struct plugins *plugins;   /* plugin agents (plugin/plugin.h); NULL = none loaded */
	struct cmd_out *out;       /* NULL = attachments are not wanted */
};

/* Who may run a command. */
enum cmd_who {
	CMD_ANYONE = 0,
	CMD_OWNER = 1,             /* APPROVAL_USER_ID only (unset = nobody) */
};

struct cmd_entry {
	const char *name;          /* without the slash, lower-case */
	const char *aliases;       /* other names, space-separated; NULL = none */
	const char *args;          /* usage of the arguments, "" for none */
	const char *help;          /* one line */
	enum cmd_who who;
	/* NULL = always available.  Otherwise returns NULL when the command
	 * can run here, or a sentence saying what to configure. */
	const char *(*needs)(const struct cmd_ctx *ctx);
	/* `args` is the trimmed text after the name (never NULL). */
	enum kith_status (*run)(const struct cmd_ctx *ctx, const char *args, char **reply);
};

/* Attach a file to the command's reply (copies everything). */
void cmd_attach(const struct cmd_ctx *ctx, const char *content_type, const char *filename,
		const void *data, size_t len);
void cmd_out_release(struct cmd_out *o);
/* The author of the command (NULL when unknown). */
const char *cmd_author(const struct cmd_ctx *ctx);
/* The precondition of the per-person commands: a database and a person to
 * act for.  Returns true with *user set; otherwise false with *reply and
 * *rc saying what is missing (`what` names the feature, "Muting"). */
bool cmd_person(const struct cmd_ctx *ctx, const char *what, const char **user, char **reply,
		enum kith_status *rc);
/* Whether the author is the owner (APPROVAL_USER_ID; unset = nobody). */
bool cmd_is_owner(const struct cmd_ctx *ctx);

/* Commands defined in files of their own, for the table. */
enum kith_status cmd_him_status(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_sel_status(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_debug(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_sel_agents(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_sel_run_agent(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_learn(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_unlearn(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_memory(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_follow(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_unfollow(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_events(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_config(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_forget(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_test(const struct cmd_ctx *ctx, const char *args, char **reply);
/* cmd_profile.c, cmd_mute.c */
enum kith_status cmd_profile(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_mute(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_unmute(const struct cmd_ctx *ctx, const char *args, char **reply);
/* cmd_draw.c */
enum kith_status cmd_draw(const struct cmd_ctx *ctx, const char *args, char **reply);
const char *cmd_draw_needs(const struct cmd_ctx *ctx);
/* cmd_schedule.c */
enum kith_status cmd_schedule(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_unschedule(const struct cmd_ctx *ctx, const char *args, char **reply);
/* cmd_github.c */
enum kith_status cmd_bug(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_feature(const struct cmd_ctx *ctx, const char *args, char **reply);
const char *cmd_github_needs(const struct cmd_ctx *ctx);
/* cmd_email.c */
enum kith_status cmd_email(const struct cmd_ctx *ctx, const char *args, char **reply);
const char *cmd_email_needs(const struct cmd_ctx *ctx);

/* "/word…" — a leading slash followed by a letter. */
bool cmd_is_command(const char *text);
/* Split "/name args…" into the lower-cased name and the trimmed arguments
 * (heap, both set when it returns true; false when `text` is not a
 * command).  The name ends at the first blank of any kind. */
bool cmd_parse_line(const char *text, char **name, char **args);
/* The command called `name` (or one of its aliases), case-insensitively;
 * NULL when there is none. */
const struct cmd_entry *cmd_find(const char *name);
/* Run the command in `text`.  *reply always receives the text to send back
 * (an explanation for unknown commands or bad arguments). */
enum kith_status cmd_dispatch(const struct cmd_ctx *ctx, const char *text, char **reply);
/* The table, terminated by an entry with name NULL. */
const struct cmd_entry *cmd_table(void);
void cmd_write_help(FILE *out);

#endif
