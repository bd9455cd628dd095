/* dispatcher.c — router thread and conversation workers.
 *
 * A message goes: ignored authors and channels dropped → slash commands
 * answered from the table → presence decides (agent/presence.h) → a quiet
 * decision stores and remembers the message without a model call; a reply
 * runs the agent turn with the mood's temperature and prompt text, keeps
 * "typing…" up for the mood's typing delay, sends, and resets the reply
 * counters.  Reactions go to presence. */
#include "agent/dispatcher.h"
#include "agent/test_mode.h"
#include "agent/vision.h"
#include "agent/agent.h"
#include "agent/presence.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "core/alloc.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/queue.h"
#include "sched/scheduler.h"
#include "store/store.h"

#include <pthread.h>
#include <string.h>

#define INBOX_CAPACITY 256
#define WORKER_QUEUE_CAPACITY 64

struct worker {
	struct dispatcher *d;
	struct queue *q;
	struct store *st;
	pthread_t thread;
	int index;
};

struct dispatcher {
	const struct agent_deps *deps;
	char *db_path;
	struct queue *inbox;
	struct worker *workers;
	int nworkers;
	pthread_t router;
	int started;
	struct cancel cancel;   /* set on a cancelling stop */
	int closed_channels;    /* atomic */
};

struct dispatcher *dispatcher_new(const struct agent_deps *deps, const char *db_path,
				  int nworkers)
{
	struct dispatcher *d = xcalloc(1, sizeof(*d));

	d->deps = deps;
	d->db_path = xstrdup(db_path);
	d->nworkers = nworkers > 0 ? nworkers : 2;
	d->inbox = queue_new(INBOX_CAPACITY);
	d->workers = xcalloc((size_t)d->nworkers, sizeof(*d->workers));
	for (int i = 0; i < d->nworkers; i++) {
		d->workers[i].d = d;
		d->workers[i].index = i;
		d->workers[i].q = queue_new(WORKER_QUEUE_CAPACITY);
	}
	return d;
}

struct queue *dispatcher_inbox(struct dispatcher *d)
{
	return d->inbox;
}

int dispatcher_closed_channels(struct dispatcher *d)
{
	return __atomic_load_n(&d->closed_channels, __ATOMIC_ACQUIRE);
}

/* FNV-1a over channel name and conversation. */
static unsigned route(const struct inbound *ev)
{
	unsigned h = 2166136261u;
	const char *parts[2] = { chan_name(ev->channel), ev->conversation };

	for (int i = 0; i < 2; i++) {
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		h = (h ^ 0xff) * 16777619u;
	}
	return h;
}

static bool reply_with(struct inbound *ev, const char *text, const struct tool_out *found)
{
	char *why = NULL;

	if (chan_send_with(ev->channel, ev->conversation, text, ev->external_id,
			   found ? found->attachments : NULL, found ? found->nattachments : 0,
			   &why) != KITH_OK) {
		log_error("dispatch", "could not send a reply on %s: %s", chan_name(ev->channel), why);
		free(why);
		return false;
	}
	return true;
}

static bool reply(struct inbound *ev, const char *text)
{
	return reply_with(ev, text, NULL);
}

/* Show "typing…" for what is left of the mood's typing delay after the
 * turn took `spent_ms` (a fast model does not make kith answer inhumanly
 * fast; a slow one adds nothing).  Only where typing shows; a cancelling
 * stop cuts the wait short. */
static void typing_pause(struct worker *w, struct inbound *ev, double delay_s, int64_t spent_ms)
{
	int64_t left = (int64_t)(delay_s * 1000.0) - spent_ms;

	if (ev->channel->ops->typing && left > 0)
		(void)clock_sleep_unless(left, &w->d->cancel);
}

/* Keep the platform id the reply got, so a reaction or a quote can find it. */
static void note_sent_id(struct worker *w, struct inbound *ev, int64_t reply_id)
{
	char *ext = reply_id ? chan_last_sent_id(ev->channel, ev->conversation) : NULL;
	char *why = NULL;

	if (ext && store_message_set_external_id(w->st, reply_id, ext, &why) != KITH_OK) {
		log_warn("dispatch", "could not record a sent message's id: %s", why);
		free(why);
	}
	free(ext);
}

static void handle_message(struct worker *w, struct inbound *ev)
{
	const struct agent_deps *deps = w->d->deps;
	struct agent_turn_in in = {
		.channel = chan_name(ev->channel), .conversation = ev->conversation,
		.author_id = ev->author_id, .author_name = ev->author_name, .text = ev->text,
		.external_id = ev->external_id, .created_at = ev->created_at,
		.cancel = &w->d->cancel, .reply_to = ev->reply_to, .reply_to_text = ev->reply_to_text,
	};
	struct agent_turn_out out = { 0 };
	struct presence_turn pt = { 0 };
	char *why = NULL, *text = NULL, *images = NULL, *self = chan_self_id(ev->channel);
	char *agent_context = NULL;
	enum kith_status rc;
	int64_t started;
	bool foreground = false;

	if (presence_ignores(deps, ev, self))
		goto done;
	if (cmd_is_command(ev->text)) {
		struct cmd_out co = { 0 };
		struct tool_out files = { 0 };
		struct cmd_ctx ctx = { .deps = deps, .st = w->st, .ev = ev, .plugins = deps->plugins,
				       .out = &co };

		(void)cmd_dispatch(&ctx, ev->text, &text);
		files.attachments = co.att;
		files.nattachments = co.natt;
		reply_with(ev, text, co.natt ? &files : NULL);
		cmd_out_release(&co);
		if (deps->sched)   /* commands never cancel background work */
			sched_note_command(deps->sched);
		goto done;
	}
	/* A person wrote: background work stops now and waits until they are
	 * idle again. */
	if (deps->sched) {
		sched_foreground_begin(deps->sched);
		foreground = true;
	}
	if (deps->on_person_wrote)
		deps->on_person_wrote(deps->on_person_wrote_ud, ev->author_id, clock_now_ms());
	/* /test: a fresh kith answers, nothing of the real one is touched. */
	if (test_mode_active(deps->test_mode, in.channel, ev->conversation)) {
		if (test_mode_turn(deps->test_mode, deps, &in, &text, &why) == KITH_OK)
			reply(ev, text);
		else if (why)
			log_warn("dispatch", "test turn failed: %s", why);
		goto done;
	}
	presence_on_message(deps, w->st, ev, self, &w->d->cancel, &pt);
	if (pt.verdict == PRESENCE_IGNORE)
		goto done;
	in.remember = pt.remember;
	/* A request for one of the agents is answered by it whether or not
	 * presence would have spoken. */
	if (agent_delegate(deps, w->st, &in, pt.verdict == PRESENCE_REPLY, &text,
			   &agent_context)) {
		if (agent_observe(deps, w->st, &in, NULL, &why) != KITH_OK)
			log_error("agent", "could not store a message: %s", why ? why : "?");
		reply(ev, text);
		goto done;
	}
	in.agent_result = agent_context;   /* the model chose an agent: answer from it */
	if (pt.verdict == PRESENCE_SILENT) {
		if (agent_observe(deps, w->st, &in, NULL, &why) != KITH_OK)
			log_error("agent", "could not store a message: %s", why ? why : "?");
		goto done;
	}
	in.temperature = pt.temperature;
	in.presence = pt.prompt;
	/* Pictures are described before the turn so the model (and the memory
	 * of this message) knows what was shown. */
	if (ev->nattachments)
		(void)agent_caption_images(deps->llm, ev->attachments, ev->nattachments,
					   &w->d->cancel, &images);
	in.images = images;
	started = clock_mono_ms();
	chan_typing(ev->channel, ev->conversation, 1);
	rc = agent_turn(deps, w->st, &in, &out, &why);
	if (rc == KITH_OK)
		typing_pause(w, ev, pt.typing_delay_s, clock_mono_ms() - started);
	chan_typing(ev->channel, ev->conversation, 0);
	if (rc == KITH_OK) {
		if (reply_with(ev, out.reply, &out.found)) {
			note_sent_id(w, ev, out.reply_id);
			presence_replied(w->st, in.channel, ev->conversation, clock_now_ms());
		}
	} else if (rc != KITH_ECANCELED) {
		log_error("agent", "turn failed: %s", why ? why : kith_strerror(rc));
		text = xasprintf("Sorry, I can't answer right now: %s", why ? why : kith_strerror(rc));
		reply(ev, text);
	}
	agent_turn_out_release(&out);
done:
	if (foreground)
		sched_foreground_end(deps->sched);
	presence_turn_release(&pt);
	free(agent_context);
	free(images);
	free(text);
	free(why);
	free(self);
}

static void handle_reaction(struct worker *w, struct inbound *ev)
{
	char *self = chan_self_id(ev->channel), *why = NULL;
	struct new_reaction r = {
		.channel = chan_name(ev->channel), .conversation = ev->conversation,
		.author_id = ev->author_id, .emoji = ev->text,
		.target_external_id = ev->reply_to ? ev->reply_to : ev->external_id,
		.created_at = ev->created_at,
	};

	if (!presence_ignores(w->d->deps, ev, self) && ev->author_id && ev->text && *ev->text &&
	    store_reaction_add(w->st, &r, NULL, NULL, &why) != KITH_OK) {
		log_warn("dispatch", "could not record a reaction: %s", why);
		free(why);
	}

	(void)presence_on_reaction(w->d->deps, w->st, ev, self);
	free(self);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	void *item;

	while (queue_pop(w->q, &item, -1) == KITH_OK) {
		struct inbound *ev = item;

		switch (ev->kind) {
		case INBOUND_MESSAGE:
			handle_message(w, ev);
			break;
		case INBOUND_CLOSED:
			__atomic_add_fetch(&w->d->closed_channels, 1, __ATOMIC_ACQ_REL);
			break;
		case INBOUND_REACTION:
			handle_reaction(w, ev);
			break;
		case INBOUND_EDIT:
			log_debug("dispatch", "ignoring an edit from %s", chan_name(ev->channel));
			break;
		}
		chan_turn_done(ev->channel, ev);
		inbound_free(ev);
	}
	return NULL;
}

static void *router_main(void *arg)
{
	struct dispatcher *d = arg;
	void *item;

	while (queue_pop(d->inbox, &item, -1) == KITH_OK) {
		struct inbound *ev = item;
		struct worker *w = &d->workers[route(ev) % (unsigned)d->nworkers];

		if (queue_push(w->q, ev, -1) != KITH_OK)
			inbound_free(ev);
	}
	for (int i = 0; i < d->nworkers; i++)
		queue_close(d->workers[i].q);
	return NULL;
}

enum kith_status dispatcher_start(struct dispatcher *d, char **why)
{
	enum kith_status rc;
	int i;

	for (i = 0; i < d->nworkers; i++) {
		rc = store_open(d->db_path, &d->workers[i].st, why);
		if (rc)
			return rc;
	}
	for (i = 0; i < d->nworkers; i++) {
		if (pthread_create(&d->workers[i].thread, NULL, worker_main, &d->workers[i]) != 0)
			KITH_BUG("cannot start a worker thread");
	}
	if (pthread_create(&d->router, NULL, router_main, d) != 0)
		KITH_BUG("cannot start the router thread");
	d->started = 1;
	return KITH_OK;
}

void dispatcher_stop(struct dispatcher *d, int cancel)
{
	if (!d->started)
		return;
	if (cancel)
		cancel_request(&d->cancel);
	queue_close(d->inbox);
	pthread_join(d->router, NULL);
	for (int i = 0; i < d->nworkers; i++)
		pthread_join(d->workers[i].thread, NULL);
	d->started = 0;
}

void dispatcher_free(struct dispatcher *d)
{
	void *item;

	if (!d)
		return;
	dispatcher_stop(d, 1);
	while (queue_pop(d->inbox, &item, 0) == KITH_OK)
		inbound_free(item);
	for (int i = 0; i < d->nworkers; i++) {
		while (queue_pop(d->workers[i].q, &item, 0) == KITH_OK)
			inbound_free(item);
		queue_free(d->workers[i].q);
		store_close(d->workers[i].st);
	}
	queue_free(d->inbox);
	free(d->workers);
	free(d->db_path);
	free(d);
}
