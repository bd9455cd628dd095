/* dispatcher.c — router thread and conversation workers. */
#include "agent/dispatcher.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "core/alloc.h"
#include "core/cancel.h"
#include "core/log.h"
#include "core/queue.h"
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

static void reply(struct inbound *ev, const char *text)
{
	char *why = NULL;

	if (chan_send(ev->channel, ev->conversation, text, ev->external_id, &why) != KITH_OK) {
		log_error("dispatch", "could not send a reply on %s: %s", chan_name(ev->channel), why);
		free(why);
	}
}

static void handle_message(struct worker *w, struct inbound *ev)
{
	const struct agent_deps *deps = w->d->deps;
	struct agent_turn_in in = {
		.channel = chan_name(ev->channel), .conversation = ev->conversation,
		.author_id = ev->author_id, .author_name = ev->author_name, .text = ev->text,
		.external_id = ev->external_id, .created_at = ev->created_at,
		.cancel = &w->d->cancel,
	};
	struct agent_turn_out out;
	char *why = NULL, *text = NULL;
	enum kith_status rc;

	if (cmd_is_command(ev->text)) {
		struct cmd_ctx ctx = { .deps = deps, .st = w->st, .ev = ev };

		cmd_dispatch(&ctx, ev->text, &text);
		reply(ev, text);
		free(text);
		return;
	}
	chan_typing(ev->channel, ev->conversation, 1);
	rc = agent_turn(deps, w->st, &in, &out, &why);
	chan_typing(ev->channel, ev->conversation, 0);
	if (rc == KITH_OK) {
		reply(ev, out.reply);
	} else if (rc != KITH_ECANCELED) {
		log_error("agent", "turn failed: %s", why ? why : kith_strerror(rc));
		text = xasprintf("Sorry, I can't answer right now: %s", why ? why : kith_strerror(rc));
		reply(ev, text);
		free(text);
	}
	free(why);
	agent_turn_out_release(&out);
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
		case INBOUND_EDIT:
			log_debug("dispatch", "ignoring a %s event from %s",
				  ev->kind == INBOUND_REACTION ? "reaction" : "edit",
				  chan_name(ev->channel));
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
