/* discord.h — the Discord channel: gateway v10 in, REST v10 out.
 *
 * discord_channel_new() gives a struct channel (channel.h) whose start()
 * fetches the gateway URL over REST, then runs the WebSocket gateway on its
 * own libwebsockets service thread; sends, typing and reactions go out over
 * REST on the caller's thread, through one shared rate limiter.  Every
 * interval that matters (identify spacing, invalid-session wait, reconnect
 * and REST backoff) is in the configuration so tests can shorten it; zero
 * means Discord's documented value.  The bot token never reaches a log line
 * (it is registered with log_add_secret()). */
#ifndef KITH_DISCORD_H
#define KITH_DISCORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel/channel.h"
#include "core/status.h"

/* Gateway intents: GUILDS | GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS |
 * DIRECT_MESSAGES | DIRECT_MESSAGE_REACTIONS | MESSAGE_CONTENT. */
#define DISCORD_INTENTS ((1L << 0) | (1L << 9) | (1L << 10) | (1L << 12) | (1L << 13) | (1L << 15))

struct discord_config {
	const char *token;            /* DISCORD_BOT_TOKEN (required) */
	const char *api_url;          /* DISCORD_API_URL, e.g. https://discord.com/api/v10 */
	/* Tuning: 0 = the production value in brackets. */
	long identify_spacing_ms;     /* between Identifies per concurrency slot [5000] */
	long invalid_session_min_ms;  /* wait after op 9 d=false … [1000] */
	long invalid_session_max_ms;  /* … chosen at random up to this [5000] */
	long reconnect_base_ms;       /* first wait after a failed connection [1000] */
	long reconnect_max_ms;        /* cap on that wait [60000] */
	long hello_timeout_ms;        /* connection without Hello is dropped [20000] */
	long rest_base_ms;            /* first REST backoff (5xx, connection) [500] */
	long rest_max_ms;             /* cap on one REST wait, 429s included [60000] */
	int rest_max_attempts;        /* tries per REST call [8] */
	long rest_timeout_ms;         /* one REST exchange [30000] */
};

/* The channel; NULL (and *why) when the configuration is unusable. */
struct channel *discord_channel_new(const struct discord_config *cfg, char **why);

enum discord_state {
	DISCORD_STOPPED = 0,    /* not started, or stopped */
	DISCORD_CONNECTING,     /* connecting, identifying or resuming */
	DISCORD_READY,          /* READY or RESUMED received */
	DISCORD_FAILED,         /* a fatal close code: will not reconnect */
};

/* Current state; *why (optional, caller frees) gets the failure reason in
 * DISCORD_FAILED. */
enum discord_state discord_state(struct channel *ch, char **why);
/* The bot's user id from READY (caller frees), NULL before READY. */
char *discord_self_id(struct channel *ch);

/* One message from the REST API or the gateway. */
struct discord_attachment {
	char *url, *content_type, *filename;
	long long size;
};

struct discord_message {
	char *id, *channel_id, *guild_id;        /* guild_id NULL in DMs */
	char *author_id, *author_name;           /* name: global_name, else username */
	bool author_bot;
	char *content;
	char *reply_to;                          /* message_reference.message_id */
	char *reply_to_author, *reply_to_text;   /* from referenced_message */
	char **mentions;                         /* user ids */
	size_t nmentions;
	struct discord_attachment *attachments;
	size_t nattachments;
	int64_t created_at;                      /* epoch ms, from the snowflake */
};

void discord_message_release(struct discord_message *m);
void discord_messages_free(struct discord_message *v, size_t n);

/* Channel history, newest first: up to `limit` (1–100) messages before
 * message id `before` (NULL = the latest).  *out (caller frees with
 * discord_messages_free) and *n.  Honours the rate limits. */
enum kith_status discord_history(struct channel *ch, const char *channel_id, const char *before,
				 int limit, struct discord_message **out, size_t *n,
				 char **why) KITH_MUST_CHECK;

#endif
