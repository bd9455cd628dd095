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

struct cmd_ctx {
	const struct agent_deps *deps;
	struct store *st;          /* the calling thread's connection */
	const struct inbound *ev;  /* the message that carried the command */
	struct plugins *plugins;   /* plugin agents (plugin/plugin.h); NULL = none loaded */
};

struct cmd_entry {
	const char *name;          /* without the slash */
	const char *args;          /* usage of the arguments, "" for none */
	const char *help;          /* one line */
	/* `args` is the trimmed text after the name (never NULL). */
	enum kith_status (*run)(const struct cmd_ctx *ctx, const char *args, char **reply);
};

/* Commands defined in files of their own, for the table. */
enum kith_status cmd_him_status(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_sel_status(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_debug(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_sel_agents(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_sel_run_agent(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_learn(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_memory(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_follow(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_unfollow(const struct cmd_ctx *ctx, const char *args, char **reply);
enum kith_status cmd_events(const struct cmd_ctx *ctx, const char *args, char **reply);

/* "/word…" — a leading slash followed by a letter. */
bool cmd_is_command(const char *text);
/* Run the command in `text`.  *reply always receives the text to send back
 * (an explanation for unknown commands or bad arguments). */
enum kith_status cmd_dispatch(const struct cmd_ctx *ctx, const char *text, char **reply);
/* The table, terminated by an entry with name NULL. */
const struct cmd_entry *cmd_table(void);
void cmd_write_help(FILE *out);

#endif
