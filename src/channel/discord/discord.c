/* discord.c — the Discord channel: gateway events in, REST out.
 *
 * start() asks REST for the gateway URL first, so a wrong token or an
 * unreachable API fails there with a clear reason instead of inside a
 * reconnect loop; then the gateway runs on its own thread and hands each
 * dispatch to on_dispatch(), which turns it into a struct inbound and
 * queues it.  A full inbox holds the gateway thread back (bounded memory);
 * while it waits the heartbeat may lapse, which only costs a resume, and an
 * event that could not be queued is not counted as seen, so the resume
 * brings it again.  A fatal close code is reported as INBOUND_CLOSED with
 * the reason, so the runtime stops instead of idling without a network.
 * Sends, typing and reactions run REST on the caller's thread. */
#include "channel/discord/discord_int.h"
#include "channel/format.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/queue.h"

#include <string.h>

#define PUSH_TURN_MS 100

struct discord {
	struct channel ch;
	char *token, *api_url;
	struct discord_config cfg;   /* strings point at the copies above */
	struct cancel cancel;
	struct dc_rest *rest;
	struct dc_gateway *gw;
	struct queue *inbox;
	bool started;
};

static const struct channel_ops discord_ops;

static struct discord *impl(struct channel *ch)
{
	return ch && ch->ops == &discord_ops ? ch->impl : NULL;
}

/* Queue an event, giving up only when the channel stops or the inbox
 * closes.  Takes ev. */
static bool deliver(struct discord *d, struct inbound *ev)
{
	while (!cancel_requested(&d->cancel)) {
		enum kith_status st = queue_push(d->inbox, ev, PUSH_TURN_MS);

		if (st == KITH_OK)
			return true;
		if (st != KITH_ETIMEDOUT)
			break;
	}
	inbound_free(ev);
	return false;
}

static bool on_dispatch(const char *t, const json_t *data, const char *self_id, void *ud)
{
	struct discord *d = ud;
	struct inbound *ev = NULL;
	char *why = NULL;

	if (dc_dispatch_to_inbound(t, data, &d->ch, self_id, &ev, &why) != KITH_OK) {
		log_warn("discord", "ignoring a malformed %s event: %s", t, why);
		free(why);
		return true;
	}
	return ev ? deliver(d, ev) : true;
}

static void on_fatal(const char *reason, void *ud)
{
	struct discord *d = ud;

	(void)deliver(d, inbound_new(INBOUND_CLOSED, &d->ch, "discord", "discord", reason));
}

static enum kith_status discord_start(struct channel *ch, struct queue *inbox, char **why)
{
	struct discord *d = ch->impl;
	char *url = NULL, *reason = NULL;
	int maxc = 1;
	enum kith_status st;

	if (d->started)
		return KITH_OK;
	d->inbox = inbox;
	cancel_clear(&d->cancel);
	st = dc_rest_gateway_bot(d->rest, &url, &maxc, &reason);
	if (st) {
		kith_why(why, st, "discord: cannot get the gateway address: %s", reason);
		goto out;
	}
	st = dc_gateway_start(d->gw, url, maxc, why);
	if (st)
		goto out;
	d->started = true;
	log_info("discord", "channel started");
out:
	free(url);
	free(reason);
	return st;
}

static void discord_stop(struct channel *ch)
{
	struct discord *d = ch->impl;

	if (!d->started)
		return;
	cancel_request(&d->cancel);
	dc_gateway_stop(d->gw);
	d->started = false;
}

static enum kith_status discord_send(struct channel *ch, const char *conversation,
				     const char *text, const char *reply_to,
				     const struct attachment *att, size_t natt, char **why)
{
	struct discord *d = ch->impl;
	/* Discord renders Markdown but not tables: a table becomes bullets. */
	char *fitted = fmt_tables_to_bullets(text ? text : "");
	enum kith_status st = dc_rest_send(d->rest, conversation, fitted, reply_to, att, natt, why);

	free(fitted);
	return st;
}

static enum kith_status discord_typing(struct channel *ch, const char *conversation, int on)
{
	struct discord *d = ch->impl;
	char *why = NULL;
	enum kith_status st;

	/* Typing lasts ten seconds or until our message arrives; there is
	 * nothing to switch off. */
	if (!on)
		return KITH_OK;
	st = dc_rest_typing(d->rest, conversation, &why);
	if (st)
		log_debug("discord", "typing indicator failed: %s", why);
	free(why);
	return st;
}

static enum kith_status discord_react(struct channel *ch, const char *conversation,
				      const char *external_id, const char *emoji)
{
	struct discord *d = ch->impl;
	char *why = NULL;
	enum kith_status st = dc_rest_react(d->rest, conversation, external_id, emoji, &why);

	if (st)
		log_warn("discord", "reaction not added: %s", why);
	free(why);
	return st;
}

static void discord_destroy(struct channel *ch)
{
	struct discord *d = ch->impl;

	discord_stop(ch);
	dc_gateway_free(d->gw);
	dc_rest_free(d->rest);
	free(d->token);
	free(d->api_url);
	free(d);
}

static const struct channel_ops discord_ops = {
	.name = "discord",
	.start = discord_start,
	.stop = discord_stop,
	.send = discord_send,
	.typing = discord_typing,
	.react = discord_react,
	.destroy = discord_destroy,
	.self_id = discord_self_id,
};

struct channel *discord_channel_new(const struct discord_config *cfg, char **why)
{
	struct discord *d;
	struct dc_gateway_config g;

	if (!cfg->token || !*cfg->token) {
		kith_why(why, KITH_ECONFIG, "discord: DISCORD_BOT_TOKEN is not set");
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->ch.ops = &discord_ops;
	d->ch.impl = d;
	d->token = xstrdup(cfg->token);
	d->api_url = xstrdup(cfg->api_url ? cfg->api_url : "https://discord.com/api/v10");
	d->cfg = *cfg;
	d->cfg.token = d->token;
	d->cfg.api_url = d->api_url;
	log_add_secret(d->token);
	d->rest = dc_rest_new(&d->cfg, &d->cancel);
	memset(&g, 0, sizeof(g));
	g.token = d->token;
	g.intents = DISCORD_INTENTS;
	g.identify_spacing_ms = cfg->identify_spacing_ms;
	g.invalid_session_min_ms = cfg->invalid_session_min_ms;
	g.invalid_session_max_ms = cfg->invalid_session_max_ms;
	g.reconnect_base_ms = cfg->reconnect_base_ms;
	g.reconnect_max_ms = cfg->reconnect_max_ms;
	g.hello_timeout_ms = cfg->hello_timeout_ms;
	g.on_dispatch = on_dispatch;
	g.on_fatal = on_fatal;
	g.ud = d;
	d->gw = dc_gateway_new(&g);
	return &d->ch;
}

enum discord_state discord_state(struct channel *ch, char **why)
{
	struct discord *d = impl(ch);

	return d ? dc_gateway_state(d->gw, why) : DISCORD_STOPPED;
}

char *discord_self_id(struct channel *ch)
{
	struct discord *d = impl(ch);

	return d ? dc_gateway_self_id(d->gw) : NULL;
}

enum kith_status discord_history(struct channel *ch, const char *channel_id, const char *before,
				 int limit, struct discord_message **out, size_t *n, char **why)
{
	struct discord *d = impl(ch);

	*out = NULL;
	*n = 0;
	if (!d)
		return kith_why(why, KITH_EINVAL, "not a Discord channel");
	return dc_rest_history(d->rest, channel_id, before, limit, out, n, why);
}
