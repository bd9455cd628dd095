/* ask.c — `kith ask TEXT…`: one turn, reply on stdout, then exit.
 *
 * Ctrl-C cancels the turn in flight (the message stays stored). */
#include "cli/cli.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/cancel.h"
#include "store/store.h"

#include <signal.h>
#include <string.h>

static struct cancel interrupted;

static void on_signal(int sig)
{
	(void)sig;
	cancel_request(&interrupted);
}

int cli_ask(int argc, char **argv)
{
	struct app app;
	struct buf text = BUF_INIT(0);
	struct agent_turn_out out;
	struct sigaction sa;
	char *why = NULL;
	int rc;

	for (int i = 1; i < argc; i++)
		buf_printf(&text, "%s%s", i > 1 ? " " : "", argv[i]);
	if (slice_trim(slice_of(buf_str(&text), text.len)).n == 0) {
		fprintf(stderr, "usage: kith ask TEXT…  (the message to send)\n");
		buf_release(&text);
		return EXIT_USAGE;
	}
	rc = app_init(&app, APP_STORE | APP_AGENT | APP_QUIET);
	if (rc)
		goto out;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	{
		struct agent_turn_in in = {
			.channel = "console", .conversation = "default", .author_id = "owner",
			.author_name = getenv("USER"), .text = buf_str(&text),
			.cancel = &interrupted,
		};

		if (agent_turn(&app.deps, app.st, &in, &out, &why) == KITH_OK) {
			printf("%s\n", out.reply);
			rc = 0;
		} else {
			fprintf(stderr, "kith: %s\n", why ? why : "the turn failed");
			rc = 1;
		}
		agent_turn_out_release(&out);
		free(why);
	}
out:
	app_release(&app);
	buf_release(&text);
	return rc;
}
