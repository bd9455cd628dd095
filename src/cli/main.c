/* main.c — the kith command: find the subcommand in the table and run it. */
#include "cli/cli.h"
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

struct subcommand {
	const char *name;
	const char *usage;
	const char *help;
	int (*run)(int argc, char **argv);
};

static int cli_help(int argc, char **argv);

static const struct subcommand subcommands[] = {
	{ "chat", "", "chat with kith in this terminal (the default)", cli_chat },
	{ "ask", "TEXT…", "send one message, print the reply and exit", cli_ask },
	{ "run", "", "run the daemon: Discord when DISCORD_BOT_TOKEN is set, else the console",
	  cli_run },
	{ "him", "serve|profile|fsck", "the HIM memory service, its hardware profile and store check",
	  cli_him },
	{ "backfill", "[--restart]", "import Discord channel history into memory (resumable)",
	  cli_backfill },
	{ "tmuxd", "[--port N]", "the tmux control API, a remote shell for the owner",
	  cli_tmuxd },
	{ "hostexec", "[--port N]", "the host-exec API: runs allow-listed programs",
	  cli_hostexec },
	{ "eval", "locomo PATH", "retrieval quality of memory on the LoCoMo benchmark", cli_eval },
	{ "config", "", "print the effective configuration and where each value came from",
	  cli_config },
	{ "migrate", "[--validate]", "apply database migrations (or only check the list)",
	  cli_migrate },
	{ "version", "", "print version and library versions", cli_version },
	{ "help", "", "show this help", cli_help },
	{ NULL, NULL, NULL, NULL },
};

static int cli_help(int argc, char **argv)
{
	puts("usage: kith [SUBCOMMAND] [ARGS…]\n\nSubcommands:");
	for (const struct subcommand *s = subcommands; s->name; s++)
		printf("  %-8s %-13s %s\n", s->name, s->usage, s->help);
	puts("\nIn a chat, these slash commands are answered directly:");
	cmd_write_help(stdout);
	puts("\nConfiguration comes from the environment and .env files; `kith config` shows it.");
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "chat";

	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		return cli_help(argc, argv);
	if (strcmp(name, "--version") == 0)
		return cli_version(argc, argv);
	for (const struct subcommand *s = subcommands; s->name; s++) {
		if (strcmp(s->name, name) == 0)
			return s->run(argc > 1 ? argc - 1 : 1, argc > 1 ? argv + 1 : argv);
	}
	fprintf(stderr, "kith: unknown subcommand '%s' (try `kith help`)\n", name);
	return EXIT_USAGE;
}
