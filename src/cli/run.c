/* run.c — `kith run`: the daemon.  Starts every configured channel side by
 * side on one dispatcher, and runs until SIGINT/SIGTERM or until every
 * channel has closed (a fatal Discord close code closes its channel).
 *
 * CHANNEL_TYPE picks the channels: "auto" runs Discord when
 * DISCORD_BOT_TOKEN is set and Signal when SIGNAL_NUMBER is (both side by
 * side when both are), else the console; "console", "discord" and "signal"
 * force one.  As in Penny, the template's placeholder number counts as "not
 * configured" for auto; any other unusable SIGNAL_NUMBER stops kith with
 * the reason.  Background work (Penny's knowledge jobs, SEL's pings and
 * hormone decay) runs on the scheduler beside them. */
#include "cli/cli.h"
#include "agent/dispatcher.h"
#include "agent/presence.h"
#include "channel/channel.h"
#include "channel/discord/discord.h"
#include "channel/signal/signal.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "store/store.h"

#include <string.h>
#include <unistd.h>

#define MAX_CHANNELS 4
#define WORKERS 4

struct channels {
	struct channel *ch[MAX_CHANNELS];
	int n;
};

static int add_discord(struct app *app, struct channels *cs)
{
	struct discord_config dc = { 0 };
	char *why = NULL;
	struct channel *ch;

	dc.token = config_str(app->cfg, CFG_DISCORD_BOT_TOKEN);
	dc.api_url = config_str(app->cfg, CFG_DISCORD_API_URL);
	if (!dc.token) {
		fprintf(stderr, "kith: CHANNEL_TYPE=discord needs DISCORD_BOT_TOKEN (the bot's token "
				"from the Discord developer portal)\n");
		return EXIT_USAGE;
	}
	if (!(ch = discord_channel_new(&dc, &why))) {
		fprintf(stderr, "kith: %s\n", why ? why : "cannot set up Discord");
		free(why);
		return EXIT_USAGE;
	}
	cs->ch[cs->n++] = ch;
	return 0;
}

static int add_signal(struct app *app, struct channels *cs)
{
	struct signal_config sc = { 0 };
	char *why = NULL;
	struct channel *ch;

	sc.number = config_str(app->cfg, CFG_SIGNAL_NUMBER);
	sc.api_url = config_str(app->cfg, CFG_SIGNAL_API_URL);
	/* json-rpc mode pushes over a WebSocket, normal/native modes are
	 * polled: ask the API which it runs. */
	sc.receive = SIGNAL_RECEIVE_AUTO;
	if (!(ch = signal_channel_new(&sc, &why))) {
		fprintf(stderr, "kith: %s\n", why ? why : "cannot set up Signal");
		free(why);
		return EXIT_USAGE;
	}
	cs->ch[cs->n++] = ch;
	return 0;
}

/* Penny's has_signal: a number that is not the template's placeholder. */
static bool signal_configured(struct app *app)
{
	const char *n = config_str(app->cfg, CFG_SIGNAL_NUMBER);

	return n && *n && strcmp(n, "+1234567890") != 0;
}

static int pick_channels(struct app *app, struct channels *cs)
{
	const char *type = config_str(app->cfg, CFG_CHANNEL_TYPE);
	bool discord = config_str(app->cfg, CFG_DISCORD_BOT_TOKEN) != NULL;
	bool signal = signal_configured(app);
	bool is_auto = strcmp(type, "auto") == 0;
	int rc = 0;

	if (strcmp(type, "discord") == 0 || (is_auto && discord))
		rc = add_discord(app, cs);
	if (!rc && (strcmp(type, "signal") == 0 || (is_auto && signal)))
		rc = add_signal(app, cs);
	if (!rc && (strcmp(type, "console") == 0 || cs->n == 0)) {
		int interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

		if (is_auto && config_str(app->cfg, CFG_SIGNAL_NUMBER) && !signal)
			log_warn("kith", "SIGNAL_NUMBER is the placeholder +1234567890; not starting Signal");
		cs->ch[cs->n++] = console_channel_new(STDIN_FILENO, stdout, interactive,
						      getenv("USER"));
	}
	return rc;
}

/* Background work's way to a channel by name: only networks that can reach a
 * person unprompted (not the console). */
static struct channel *channel_by_name(const char *name, void *ud)
{
	struct channels *cs = ud;

	for (int i = 0; i < cs->n; i++)
		if (strcmp(chan_name(cs->ch[i]), name) == 0 && strcmp(name, "console") != 0)
			return cs->ch[i];
	return NULL;
}

/* Penny's start-up announcement, kept to the owner: one line with the
 * version and commit in the owner's last direct conversation on each
 * network (where they last spoke to kith one to one).  Nobody else is
 * messaged, and an unset APPROVAL_USER_ID means nobody.  Where to send is
 * decided before the channels start, so a message that arrives during
 * start-up does not make kith announce itself to someone already talking. */
struct announcement {
	char *conversation[MAX_CHANNELS];   /* per channel, NULL = not there */
};

static void announce_plan(struct app *app, struct channels *cs, struct announcement *a)
{
	const char *owner = config_str(app->cfg, CFG_APPROVAL_USER_ID);

	memset(a, 0, sizeof(*a));
	if (!config_bool(app->cfg, CFG_STARTUP_ANNOUNCEMENT) || !owner)
		return;
	for (int i = 0; i < cs->n; i++) {
		struct store_presence_user u = { 0 };
		const char *name = chan_name(cs->ch[i]);
		char *why = NULL;

		if (strcmp(name, "console") == 0 ||
		    store_presence_user_get(app->st, name, owner, &u, &why) != KITH_OK) {
			free(why);
			continue;
		}
		if (u.last_conversation && u.last_direct)
			a->conversation[i] = xstrdup(u.last_conversation);
		store_presence_user_release(&u);
	}
}

static void announce_send(struct channels *cs, struct announcement *a)
{
	char *text = xasprintf("\xF0\x9F\x91\x8B I'm back: kith %s (%s).", KITH_VERSION, KITH_COMMIT);

	for (int i = 0; i < cs->n; i++) {
		char *why = NULL;

		if (a->conversation[i] &&
		    chan_send(cs->ch[i], a->conversation[i], text, NULL, &why) != KITH_OK) {
			log_warn("kith", "start-up announcement on %s: %s", chan_name(cs->ch[i]),
				 why ? why : "?");
			free(why);
		}
		free(a->conversation[i]);
		a->conversation[i] = NULL;
	}
	free(text);
}

/* A channel that stopped for good (Discord's fatal close codes) makes the
 * daemon exit non-zero with the reason. */
static int channel_failures(struct channels *cs)
{
	int failed = 0;

	for (int i = 0; i < cs->n; i++) {
		char *why = NULL;

		if (strcmp(chan_name(cs->ch[i]), "discord") == 0 &&
		    discord_state(cs->ch[i], &why) == DISCORD_FAILED) {
			fprintf(stderr, "kith: Discord stopped: %s\n", why ? why : "fatal error");
			failed = 1;
		}
		free(why);
	}
	return failed;
}

int cli_run(int argc, char **argv)
{
	struct app app;
	struct dispatcher *d = NULL;
	struct channels cs = { 0 };
	struct background *bg = NULL;
	struct announcement hello = { { NULL } };
	sigset_t signals;
	char *why = NULL;
	int rc, by_signal, started = 0;

	/* Before anything starts a thread (app_init does: memory, plugins),
	 * or SIGTERM could land on one of them and end kith unceremoniously. */
	cli_block_signals(&signals);
	rc = app_init(&app, APP_STORE | APP_AGENT | APP_AGENTS);
	if (rc)
		goto out;
	if ((rc = pick_channels(&app, &cs)))
		goto out;
	/* Before the dispatcher: its workers read deps.sched. */
	if ((rc = background_start(&app, channel_by_name, &cs, &bg)))
		goto out;
	announce_plan(&app, &cs, &hello);
	d = dispatcher_new(&app.deps, config_db_path(app.cfg), WORKERS);
	if (dispatcher_start(d, &why) != KITH_OK)
		goto fail;
	for (; started < cs.n; started++) {
		if (chan_start(cs.ch[started], dispatcher_inbox(d), &why) != KITH_OK)
			goto fail;
		log_info("kith", "%s channel started", chan_name(cs.ch[started]));
	}
	announce_send(&cs, &hello);
	by_signal = cli_wait_for_end(d, &signals, cs.n);
	rc = channel_failures(&cs);
	goto stop;
fail:
	fprintf(stderr, "kith: %s\n", why ? why : "cannot start");
	free(why);
	rc = 1;
	by_signal = 1;
stop:
	background_quiesce(bg);   /* its jobs send on the channels: stop them first */
	for (int i = 0; i < started; i++)
		chan_stop(cs.ch[i]);
	dispatcher_stop(d, by_signal);
	log_info("kith", "stopped");
out:
	for (int i = 0; i < MAX_CHANNELS; i++)
		free(hello.conversation[i]);
	dispatcher_free(d);
	background_stop(&app, bg);   /* after the workers: they call into it */
	for (int i = 0; i < cs.n; i++)
		chan_free(cs.ch[i]);
	app_release(&app);
	return rc;
}
