/* channel.c — the channel-independent parts: events and dispatch wrappers. */
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/clock.h"

struct inbound *inbound_new(enum inbound_kind kind, struct channel *ch, const char *conversation,
			    const char *author_id, const char *text)
{
	struct inbound *ev = xcalloc(1, sizeof(*ev));

	ev->kind = kind;
	ev->channel = ch;
	ev->conversation = xstrdup(conversation ? conversation : "default");
	ev->author_id = xstrdup(author_id ? author_id : "unknown");
	ev->text = xstrdup(text ? text : "");
	ev->created_at = clock_now_ms();
	return ev;
}

void attachments_free(struct attachment *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++) {
		free(a[i].content_type);
		free(a[i].filename);
		free(a[i].data);
		free(a[i].url);
	}
	free(a);
}

void inbound_free(struct inbound *ev)
{
	if (!ev)
		return;
	attachments_free(ev->attachments, ev->nattachments);
	free(ev->conversation);
	free(ev->author_id);
	free(ev->author_name);
	free(ev->text);
	free(ev->external_id);
	free(ev->reply_to);
	free(ev->reply_to_author);
	free(ev->reply_to_text);
	free(ev);
}

enum kith_status chan_start(struct channel *ch, struct queue *inbox, char **why)
{
	return ch->ops->start(ch, inbox, why);
}

void chan_stop(struct channel *ch)
{
	ch->ops->stop(ch);
}

enum kith_status chan_send(struct channel *ch, const char *conversation, const char *text,
			   const char *reply_to, char **why)
{
	return ch->ops->send(ch, conversation, text, reply_to, NULL, 0, why);
}

enum kith_status chan_send_with(struct channel *ch, const char *conversation, const char *text,
				const char *reply_to, const struct attachment *att, size_t natt,
				char **why)
{
	return ch->ops->send(ch, conversation, text, reply_to, att, natt, why);
}

char *chan_last_sent_id(struct channel *ch, const char *conversation)
{
	return ch->ops->last_sent_id ? ch->ops->last_sent_id(ch, conversation) : NULL;
}

void chan_typing(struct channel *ch, const char *conversation, int on)
{
	if (ch->ops->typing)
		(void)ch->ops->typing(ch, conversation, on);
}

void chan_turn_done(struct channel *ch, const struct inbound *ev)
{
	if (ch->ops->turn_done)
		ch->ops->turn_done(ch, ev);
}

char *chan_self_id(struct channel *ch)
{
	return ch->ops->self_id ? ch->ops->self_id(ch) : NULL;
}

void chan_free(struct channel *ch)
{
	if (ch)
		ch->ops->destroy(ch);
}
