/* channel.h — what every chat network adapter implements.
 *
 * A channel owns its connection and one I/O thread.  What arrives becomes a
 * normalised struct inbound pushed onto the runtime's queue; replies go out
 * through chan_send(), which is safe to call from any worker thread.  The
 * console is the embedded default; Discord and Signal plug in the same way. */
#ifndef KITH_CHANNEL_H
#define KITH_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "core/status.h"

struct queue;

enum inbound_kind {
	INBOUND_MESSAGE = 0,
	INBOUND_REACTION,
	INBOUND_EDIT,
	INBOUND_CLOSED,      /* the channel's input ended (console: Ctrl-D) */
};

struct attachment {
	char *content_type;
	char *filename;
	unsigned char *data;
	size_t len;
	char *url;            /* where to fetch it when data is NULL (Discord CDN), may be NULL */
};

/* Free n attachments and the array (NULL is fine). */
void attachments_free(struct attachment *a, size_t n);

struct channel;

/* One event from a channel.  Heap-owned; free with inbound_free(). */
struct inbound {
	enum inbound_kind kind;
	struct channel *channel;
	char *conversation;   /* channel id / thread / group / "default" */
	char *author_id;
	char *author_name;    /* may be NULL */
	char *text;           /* message text, reaction emoji, edited text */
	char *external_id;    /* platform message id, may be NULL */
	char *reply_to;       /* platform id of the quoted/replied message, may be NULL */
	int64_t created_at;   /* epoch ms */
	struct attachment *attachments;
	size_t nattachments;
	/* Filled by networks that know them (Discord); zero/NULL otherwise. */
	bool direct;          /* a one-to-one conversation (a DM) */
	bool author_is_bot;   /* the author is a bot account */
	bool mentions_self;   /* the message mentions this bot */
	char *reply_to_author;/* author id of the replied message; for a reaction,
			       * of the message reacted to; may be NULL */
	char *reply_to_text;  /* text of the replied message, may be NULL */
};

struct inbound *inbound_new(enum inbound_kind kind, struct channel *ch, const char *conversation,
			    const char *author_id, const char *text);
void inbound_free(struct inbound *ev);

struct channel_ops {
	const char *name;   /* "console", "discord", "signal" */
	/* Start the I/O thread; events go to `inbox`. */
	enum kith_status (*start)(struct channel *ch, struct queue *inbox, char **why);
	/* Stop intake and join the I/O thread.  Idempotent. */
	void (*stop)(struct channel *ch);
	enum kith_status (*send)(struct channel *ch, const char *conversation, const char *text,
				 const char *reply_to, const struct attachment *att, size_t natt,
				 char **why);
	/* Optional (NULL = not supported). */
	enum kith_status (*typing)(struct channel *ch, const char *conversation, int on);
	enum kith_status (*react)(struct channel *ch, const char *conversation,
				  const char *external_id, const char *emoji);
	/* Optional: the runtime finished handling `ev` (console re-prompts). */
	void (*turn_done)(struct channel *ch, const struct inbound *ev);
	void (*destroy)(struct channel *ch);
	/* Optional: this bot's own user id on the network (heap, caller
	 * frees), NULL while unknown (Discord: before READY). */
	char *(*self_id)(struct channel *ch);
	/* Optional: the platform id of the last message this channel sent to
	 * `conversation` (heap, caller frees), NULL when unknown — stored with
	 * kith's reply so reactions and quotes can find it. */
	char *(*last_sent_id)(struct channel *ch, const char *conversation);
};

struct channel {
	const struct channel_ops *ops;
	void *impl;
};

static inline const char *chan_name(const struct channel *ch)
{
	return ch->ops->name;
}

enum kith_status chan_start(struct channel *ch, struct queue *inbox, char **why) KITH_MUST_CHECK;
void chan_stop(struct channel *ch);
enum kith_status chan_send(struct channel *ch, const char *conversation, const char *text,
			   const char *reply_to, char **why) KITH_MUST_CHECK;
/* chan_send with attachments (images found for a reply). */
enum kith_status chan_send_with(struct channel *ch, const char *conversation, const char *text,
				const char *reply_to, const struct attachment *att, size_t natt,
				char **why) KITH_MUST_CHECK;
void chan_typing(struct channel *ch, const char *conversation, int on);
/* ops->last_sent_id, or NULL when the channel has none. */
char *chan_last_sent_id(struct channel *ch, const char *conversation);
void chan_turn_done(struct channel *ch, const struct inbound *ev);
/* The bot's own user id (heap, caller frees); NULL when the channel does
 * not know one. */
char *chan_self_id(struct channel *ch);
void chan_free(struct channel *ch);

/* The console channel: reads lines from `in_fd`, writes to `out`.  When
 * `interactive`, it shows a prompt and waits for each reply before
 * prompting again. */
struct channel *console_channel_new(int in_fd, FILE *out, int interactive, const char *user);

#endif
