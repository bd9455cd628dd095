/* signal.c — the Signal channel: receive frames in, REST out.
 *
 * The receiver (ws.c, or poll.c for the API's normal/native modes) only
 * copies raw frames onto a small internal queue, so a slow attachment
 * download or a full inbox never stalls the WebSocket's service thread.
 * One intake thread parses each frame, drops envelopes already seen (same
 * sender and timestamp: a reconnect or an overlapping poll can repeat
 * them), remembers messages for later quotes and reactions, downloads
 * attachments and queues the event; it also keeps typing indicators alive
 * (Signal clients drop one after about 15 s) until they are switched off.
 * Sends split long text at FMT_SIGNAL_LIMIT after converting Markdown to
 * Signal's styled text; only the first piece quotes, attachments go with
 * the last, and a piece that fails after its retries ends the send with
 * the reason logged — nothing is dropped silently.  Phone numbers appear in
 * log lines masked. */
#include "channel/signal/signal_int.h"
#include "channel/format.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/queue.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#define FRAME_QUEUE 256
#define PUSH_TURN_MS 100
#define RECENT_MESSAGES 512
#define SEEN_ENVELOPES 2048
#define TYPING_REFRESH_MS 10000
#define TYPING_MAX_MS 300000      /* a typing indicator nobody switched off */
#define MAX_TYPING 32

struct typing {
	char *conversation;
	int64_t started, sent;
};

struct signal {
	struct channel ch;
	char *number, *api_url;
	struct signal_config cfg;    /* strings point at the copies above */
	struct cancel cancel;
	struct sg_rest *rest;
	struct sg_ws *ws;
	struct sg_poll *poll;
	struct sg_recent *recent;
	struct sg_seen *seen;
	struct queue *frames;        /* raw frames (heap strings) */
	struct queue *inbox;
	pthread_t intake;
	bool started;

	pthread_mutex_t mu;          /* state and typing */
	enum signal_state state;
	struct typing typing[MAX_TYPING];
};

static const struct channel_ops signal_ops;

static struct signal *impl(struct channel *ch)
{
	return ch && ch->ops == &signal_ops ? ch->impl : NULL;
}

static void on_state(enum signal_state st, void *ud)
{
	struct signal *s = ud;

	pthread_mutex_lock(&s->mu);
	s->state = st;
	pthread_mutex_unlock(&s->mu);
}

/* Receiver thread: copy the frame for the intake thread. */
static bool on_frame(const char *p, size_t n, void *ud)
{
	struct signal *s = ud;
	char *copy = xstrndup(p, n);

	while (!cancel_requested(&s->cancel)) {
		enum kith_status st = queue_push(s->frames, copy, PUSH_TURN_MS);

		if (st == KITH_OK)
			return true;
		if (st != KITH_ETIMEDOUT)
			break;
	}
	free(copy);
	return false;
}

/* Queue an event, giving up only when the channel stops.  Takes ev. */
static bool deliver(struct signal *s, struct inbound *ev)
{
	while (!cancel_requested(&s->cancel)) {
		enum kith_status st = queue_push(s->inbox, ev, PUSH_TURN_MS);

		if (st == KITH_OK)
			return true;
		if (st != KITH_ETIMEDOUT)
			break;
	}
	inbound_free(ev);
	return false;
}

static void download(struct signal *s, const struct sg_event *e, struct inbound *ev)
{
	for (size_t i = 0; i < ev->nattachments; i++) {
		struct attachment *a = &ev->attachments[i];
		const struct sg_attachment *src = &e->atts[i];
		char *enc = sg_url_escape(src->id), *why = NULL, *ctype = NULL;

		a->url = xasprintf("%s/v1/attachments/%s", sg_rest_base(s->rest), enc);
		free(enc);
		if (src->size > 0 && s->cfg.max_attachment_bytes &&
		    (size_t)src->size > s->cfg.max_attachment_bytes) {
			log_warn("signal", "attachment %s is %lld bytes, over the %zu-byte limit; not "
				 "downloaded", src->id, src->size, s->cfg.max_attachment_bytes);
			continue;
		}
		if (sg_rest_attachment(s->rest, src->id, &a->data, &a->len, &ctype, &why) != KITH_OK) {
			log_warn("signal", "attachment %s not downloaded: %s", src->id, why);
			free(why);
			continue;
		}
		if (!a->content_type && ctype)
			a->content_type = xstrdup(ctype);
		free(ctype);
	}
}

static void handle_frame(struct signal *s, const char *frame)
{
	struct sg_event e;
	struct inbound *ev;
	char *why = NULL, *who;

	if (sg_envelope_parse(frame, strlen(frame), s->number, &e, &why) != KITH_OK) {
		log_warn("signal", "ignoring a receive frame: %s", why);
		free(why);
		return;
	}
	switch (e.kind) {
	case SG_ERROR:
		log_warn("signal", "signal-cli-rest-api reports: %s", e.text);
		goto out;
	case SG_IGNORE:
		who = sg_mask(e.source);
		log_debug("signal", "ignoring an envelope from %s: %s", who, e.ignored);
		free(who);
		goto out;
	default:
		break;
	}
	if (!sg_seen_first(s->seen, e.source, e.timestamp)) {
		log_debug("signal", "dropping a repeated envelope (timestamp %lld)",
			  (long long)e.timestamp);
		goto out;
	}
	if (e.kind == SG_MESSAGE)
		sg_recent_put(s->recent, e.conversation, e.timestamp, e.source, e.text);
	if (e.quote_id && e.quote_author)
		sg_recent_put(s->recent, e.conversation, e.quote_id, e.quote_author, e.quote_text);
	ev = sg_event_to_inbound(&e, &s->ch);
	if (!ev)
		goto out;
	download(s, &e, ev);
	(void)deliver(s, ev);
out:
	sg_event_release(&e);
}

/* Re-send typing indicators that are still on (intake thread). */
static void typing_refresh(struct signal *s)
{
	int64_t now = clock_mono_ms();
	char *due[MAX_TYPING];
	int n = 0;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < MAX_TYPING; i++) {
		struct typing *t = &s->typing[i];

		if (!t->conversation)
			continue;
		if (now - t->started > TYPING_MAX_MS) {
			free(t->conversation);
			t->conversation = NULL;
		} else if (now - t->sent >= TYPING_REFRESH_MS) {
			t->sent = now;
			due[n++] = xstrdup(t->conversation);
		}
	}
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < n; i++) {
		char *why = NULL;

		if (sg_rest_typing(s->rest, due[i], true, &why) != KITH_OK)
			log_debug("signal", "typing indicator not renewed: %s", why);
		free(why);
		free(due[i]);
	}
}

static void *intake_main(void *arg)
{
	struct signal *s = arg;
	void *item;

	for (;;) {
		enum kith_status st = queue_pop(s->frames, &item, PUSH_TURN_MS);

		if (st == KITH_OK) {
			if (!cancel_requested(&s->cancel))
				handle_frame(s, item);
			free(item);
		} else if (st != KITH_ETIMEDOUT) {
			break;
		}
		if (!cancel_requested(&s->cancel))
			typing_refresh(s);
	}
	return NULL;
}

static enum signal_receive pick_mode(struct signal *s)
{
	char *mode;
	enum signal_receive r = SIGNAL_RECEIVE_WEBSOCKET;

	if (s->cfg.receive != SIGNAL_RECEIVE_AUTO)
		return s->cfg.receive;
	mode = sg_rest_mode(s->rest);
	if (mode && (strcasecmp(mode, "normal") == 0 || strcasecmp(mode, "native") == 0))
		r = SIGNAL_RECEIVE_POLL;
	log_info("signal", "signal-cli-rest-api mode: %s; receiving by %s", mode ? mode : "unknown",
		 r == SIGNAL_RECEIVE_POLL ? "polling" : "WebSocket");
	free(mode);
	return r;
}

static enum kith_status signal_start(struct channel *ch, struct queue *inbox, char **why)
{
	struct signal *s = ch->impl;
	struct sg_receiver_config rc = { 0 };
	enum kith_status st;
	char *who;

	if (s->started)
		return KITH_OK;
	s->inbox = inbox;
	cancel_clear(&s->cancel);
	rc.api_url = s->api_url;
	rc.number = s->number;
	rc.reconnect_base_ms = s->cfg.reconnect_base_ms;
	rc.reconnect_max_ms = s->cfg.reconnect_max_ms;
	rc.poll_timeout_s = s->cfg.poll_timeout_s;
	rc.rest = s->rest;
	rc.on_frame = on_frame;
	rc.on_state = on_state;
	rc.ud = s;
	if (pick_mode(s) == SIGNAL_RECEIVE_POLL) {
		s->poll = sg_poll_new(&rc);
	} else {
		s->ws = sg_ws_new(&rc);
		/* Check the URL before any thread starts. */
		{
			bool tls;
			char *h = NULL, *p = NULL;
			int port;

			if (!sg_ws_target(s->api_url, s->number, &tls, &h, &port, &p)) {
				sg_ws_free(s->ws);
				s->ws = NULL;
				return kith_why(why, KITH_ECONFIG, "SIGNAL_API_URL \"%.100s\" is not an "
						"http:// or https:// URL", s->api_url);
			}
			free(h);
			free(p);
		}
	}
	s->frames = queue_new(FRAME_QUEUE);
	if (pthread_create(&s->intake, NULL, intake_main, s) != 0) {
		st = kith_why(why, KITH_EIO, "cannot start the Signal intake thread");
		goto fail;
	}
	st = s->poll ? sg_poll_start(s->poll, why) : sg_ws_start(s->ws, why);
	if (st) {
		cancel_request(&s->cancel);
		queue_close(s->frames);
		pthread_join(s->intake, NULL);
		goto fail;
	}
	s->started = true;
	who = sg_mask(s->number);
	log_info("signal", "channel started for %s (%s)", who, s->poll ? "polling" : "WebSocket");
	free(who);
	return KITH_OK;
fail:
	queue_free(s->frames);
	s->frames = NULL;
	sg_ws_free(s->ws);
	sg_poll_free(s->poll);
	s->ws = NULL;
	s->poll = NULL;
	return st;
}

static void signal_stop(struct channel *ch)
{
	struct signal *s = ch->impl;
	void *item;

	if (!s->started)
		return;
	cancel_request(&s->cancel);
	sg_ws_free(s->ws);
	sg_poll_free(s->poll);
	s->ws = NULL;
	s->poll = NULL;
	queue_close(s->frames);
	pthread_join(s->intake, NULL);
	while (queue_pop(s->frames, &item, 0) == KITH_OK)
		free(item);
	queue_free(s->frames);
	s->frames = NULL;
	s->started = false;
	on_state(SIGNAL_STOPPED, s);
}

/* The quote for a reply: the quoted message's author and text from what
 * the channel remembers; false when it does not know the message. */
static bool quote_for(struct signal *s, const char *conversation, const char *reply_to,
		      int64_t *ts, char **author, char **text)
{
	*ts = sg_parse_ts(reply_to);
	*author = *text = NULL;
	if (!*ts)
		return false;
	if (sg_recent_get(s->recent, conversation, *ts, author, text) && *author)
		return true;
	free(*author);
	free(*text);
	*author = *text = NULL;
	log_debug("signal", "replying to %s without a quote: message not remembered", reply_to);
	return false;
}

static enum kith_status signal_send(struct channel *ch, const char *conversation,
				    const char *text, const char *reply_to,
				    const struct attachment *att, size_t natt, char **why)
{
	struct signal *s = ch->impl;
	char **pieces = NULL, *qa = NULL, *qt = NULL, *who = NULL;
	int64_t qts = 0;
	bool quote;
	size_t n, i;
	enum kith_status st = KITH_OK;

	if (!sg_valid_recipient(conversation))
		return kith_why(why, KITH_EINVAL, "not a Signal recipient: \"%.40s\"",
				conversation ? conversation : "");
	n = fmt_for_signal(text ? text : "", &pieces);
	if (n == 0 && natt == 0)
		return kith_why(why, KITH_EINVAL, "nothing to send (empty message)");
	quote = reply_to && quote_for(s, conversation, reply_to, &qts, &qa, &qt);
	for (i = 0; i < n || (i == 0 && natt); i++) {
		bool last = i + 1 >= n;
		char *reason = NULL;
		char *body = sg_send_body(s->number, conversation, n ? pieces[i] : NULL,
					  i == 0 && quote ? qts : 0, qa, qt, last ? att : NULL,
					  last ? natt : 0);
		int64_t ts = 0;

		st = sg_rest_send(s->rest, body, &ts, &reason);
		free(body);
		if (st) {
			who = sg_mask(conversation);
			log_error("signal", "message to %s not sent (part %zu of %zu): %s", who, i + 1,
				  n ? n : 1, reason);
			kith_why(why, st, "%s", reason);
			free(reason);
			goto out;
		}
		if (ts)
			sg_recent_put(s->recent, conversation, ts, s->number, n ? pieces[i] : "");
		else
			log_debug("signal", "the send answer carried no timestamp");
	}
out:
	free(who);
	free(qa);
	free(qt);
	fmt_pieces_free(pieces, n);
	return st;
}

static enum kith_status signal_typing(struct channel *ch, const char *conversation, int on)
{
	struct signal *s = ch->impl;
	char *why = NULL;
	enum kith_status st;
	int64_t now = clock_mono_ms();
	int free_slot = -1, found = -1;

	if (!sg_valid_recipient(conversation))
		return KITH_EINVAL;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < MAX_TYPING; i++) {
		if (s->typing[i].conversation && strcmp(s->typing[i].conversation, conversation) == 0)
			found = i;
		else if (!s->typing[i].conversation && free_slot < 0)
			free_slot = i;
	}
	if (on && found < 0 && free_slot >= 0)
		s->typing[free_slot] = (struct typing){ xstrdup(conversation), now, now };
	else if (on && found >= 0)
		s->typing[found].sent = now;
	else if (!on && found >= 0) {
		free(s->typing[found].conversation);
		s->typing[found].conversation = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	st = sg_rest_typing(s->rest, conversation, on != 0, &why);
	if (st)
		log_debug("signal", "typing indicator failed: %s", why);
	free(why);
	return st;
}

static enum kith_status signal_react(struct channel *ch, const char *conversation,
				     const char *external_id, const char *emoji)
{
	struct signal *s = ch->impl;
	int64_t ts = sg_parse_ts(external_id);
	char *author = NULL, *why = NULL;
	enum kith_status st;

	if (!ts || !emoji || !*emoji || !sg_valid_recipient(conversation)) {
		log_warn("signal", "reaction not sent: it needs a conversation, a message timestamp "
			 "and an emoji");
		return KITH_EINVAL;
	}
	if (!sg_recent_get(s->recent, conversation, ts, &author, NULL) || !author) {
		free(author);
		author = NULL;
		/* One-to-one: a message we do not remember is most likely the
		 * other person's.  In a group we cannot guess. */
		if (strncmp(conversation, "group.", 6) != 0)
			author = xstrdup(conversation);
	}
	if (!author) {
		log_warn("signal", "reaction not sent: the author of message %s is unknown", external_id);
		return KITH_ENOTFOUND;
	}
	st = sg_rest_react(s->rest, conversation, emoji, author, ts, false, &why);
	if (st)
		log_warn("signal", "reaction not added: %s", why);
	free(why);
	free(author);
	return st;
}

static char *signal_self(struct channel *ch)
{
	struct signal *s = ch->impl;

	return xstrdup(s->number);
}

static void signal_destroy(struct channel *ch)
{
	struct signal *s = ch->impl;

	signal_stop(ch);
	for (int i = 0; i < MAX_TYPING; i++)
		free(s->typing[i].conversation);
	sg_rest_free(s->rest);
	sg_recent_free(s->recent);
	sg_seen_free(s->seen);
	pthread_mutex_destroy(&s->mu);
	free(s->number);
	free(s->api_url);
	free(s);
}

static const struct channel_ops signal_ops = {
	.name = "signal",
	.start = signal_start,
	.stop = signal_stop,
	.send = signal_send,
	.typing = signal_typing,
	.react = signal_react,
	.destroy = signal_destroy,
	.self_id = signal_self,
	.last_sent_id = signal_last_sent,
};

struct channel *signal_channel_new(const struct signal_config *cfg, char **why)
{
	struct signal *s;
	const char *url = cfg->api_url ? cfg->api_url : "http://localhost:8080";

	if (signal_check_number(cfg->number, why) != KITH_OK)
		return NULL;
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		kith_why(why, KITH_ECONFIG, "SIGNAL_API_URL \"%.100s\" is not an http:// or https:// URL",
			 url);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->ch.ops = &signal_ops;
	s->ch.impl = s;
	s->number = xstrdup(cfg->number);
	s->api_url = xstrdup(url);
	s->cfg = *cfg;
	s->cfg.number = s->number;
	s->cfg.api_url = s->api_url;
	if (!s->cfg.max_attachment_bytes)
		s->cfg.max_attachment_bytes = (size_t)50 << 20;
	s->rest = sg_rest_new(&s->cfg, &s->cancel);
	s->recent = sg_recent_new(RECENT_MESSAGES);
	s->seen = sg_seen_new(SEEN_ENVELOPES);
	pthread_mutex_init(&s->mu, NULL);
	return &s->ch;
}

enum signal_state signal_state(struct channel *ch)
{
	struct signal *s = impl(ch);
	enum signal_state st;

	if (!s)
		return SIGNAL_STOPPED;
	pthread_mutex_lock(&s->mu);
	st = s->state;
	pthread_mutex_unlock(&s->mu);
	return st;
}

char *signal_last_sent(struct channel *ch, const char *conversation)
{
	struct signal *s = impl(ch);
	int64_t ts = s ? sg_recent_last_by(s->recent, conversation, s->number) : 0;

	return ts ? xasprintf("%lld", (long long)ts) : NULL;
}
