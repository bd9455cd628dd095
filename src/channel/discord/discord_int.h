/* discord_int.h — what the Discord channel's own files share.
 *
 * The pieces, one job each: events.c parses what Discord sends (gateway
 * payloads, dispatch events, REST bodies and rate-limit headers) without
 * side effects, so one fuzz target reaches all of it; policy.c holds the
 * gateway's rules as pure functions of "now" (heartbeat schedule, close
 * codes, backoff) so they are tested without a network or a clock;
 * ratelimit.c keeps the REST buckets; chunk.c splits long messages;
 * resthttp.c is one HTTP exchange that keeps the rate-limit headers;
 * rest.c is the REST API with its retry loop; gateway.c runs the WebSocket;
 * discord.c makes them a channel. */
#ifndef KITH_DISCORD_INT_H
#define KITH_DISCORD_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel/discord/discord.h"
#include "core/buf.h"
#include "core/cancel.h"
#include "core/status.h"

#define DC_MAX_CONTENT 2000          /* characters (code points) per message */
#define DC_MAX_GATEWAY_FRAME ((size_t)16 << 20)
#define DC_MAX_REST_BODY ((size_t)8 << 20)

/* ---- events.c: parsing ------------------------------------------------- */

enum dc_op {
	DC_OP_DISPATCH = 0, DC_OP_HEARTBEAT = 1, DC_OP_IDENTIFY = 2, DC_OP_RESUME = 6,
	DC_OP_RECONNECT = 7, DC_OP_INVALID_SESSION = 9, DC_OP_HELLO = 10,
	DC_OP_HEARTBEAT_ACK = 11,
};

/* One gateway payload {"op","d","s","t"}.  `root` owns d. */
struct dc_payload {
	int op;
	json_t *root;
	json_t *d;          /* borrowed from root; may be NULL or json null */
	long long s;        /* -1 when null/absent */
	const char *t;      /* borrowed; NULL unless a dispatch */
};

enum kith_status dc_payload_parse(const char *p, size_t n, struct dc_payload *out,
				  char **why) KITH_MUST_CHECK;
void dc_payload_release(struct dc_payload *pl);

struct dc_ready {
	char *session_id, *resume_url, *user_id, *username;
};
enum kith_status dc_parse_ready(const json_t *d, struct dc_ready *out, char **why) KITH_MUST_CHECK;
void dc_ready_release(struct dc_ready *r);

/* Hello's heartbeat_interval (ms, > 0). */
enum kith_status dc_parse_hello(const json_t *d, long *interval_ms, char **why) KITH_MUST_CHECK;

/* A message object (MESSAGE_CREATE / MESSAGE_UPDATE / REST).  For
 * MESSAGE_UPDATE only id and channel_id are required. */
enum kith_status dc_parse_message(const json_t *d, struct discord_message *out,
				  char **why) KITH_MUST_CHECK;
/* A JSON array of message objects (history), newest first as sent. */
enum kith_status dc_parse_messages(const char *p, size_t n, struct discord_message **out,
				   size_t *count, char **why) KITH_MUST_CHECK;

struct dc_reaction {
	char *user_id, *channel_id, *message_id, *guild_id;
	char *emoji;               /* "🔥" or "name:id" for custom emoji */
	char *message_author_id;   /* may be NULL */
};
enum kith_status dc_parse_reaction(const json_t *d, struct dc_reaction *out,
				   char **why) KITH_MUST_CHECK;
void dc_reaction_release(struct dc_reaction *r);

/* A dispatch event as a channel event: *out NULL for events that are not
 * forwarded (unknown types, the bot's own messages).  `self_id` may be
 * NULL before READY. */
enum kith_status dc_dispatch_to_inbound(const char *t, const json_t *d, struct channel *ch,
					const char *self_id, struct inbound **out,
					char **why) KITH_MUST_CHECK;

/* Snowflake → epoch ms (0 when not a snowflake). */
int64_t dc_snowflake_ms(const char *id);

/* GET /gateway/bot: url and session_start_limit.max_concurrency (>= 1). */
enum kith_status dc_parse_gateway_bot(const char *p, size_t n, char **url, int *max_concurrency,
				      char **why) KITH_MUST_CHECK;
/* A user object's id (GET /users/@me); caller frees. */
enum kith_status dc_parse_user_id(const char *p, size_t n, char **id, char **why) KITH_MUST_CHECK;
/* An error body {"message","code"}: "Unknown Channel (10003)"; caller frees;
 * NULL when the body has neither. */
char *dc_error_text(const char *p, size_t n);

/* Rate-limit information from one response. */
struct dc_rl_info {
	char *bucket;          /* X-RateLimit-Bucket, may be NULL */
	long remaining;        /* X-RateLimit-Remaining, -1 unknown */
	long reset_after_ms;   /* X-RateLimit-Reset-After, -1 unknown */
	long retry_after_ms;   /* 429: body retry_after, else Retry-After; -1 unknown */
	bool global;           /* 429: global flag (body or X-RateLimit-Global) */
};
void dc_rl_info_init(struct dc_rl_info *i);
void dc_rl_info_release(struct dc_rl_info *i);
/* Feed one raw header line ("Name: value\r\n"). */
void dc_rl_info_header(struct dc_rl_info *i, const char *line, size_t n);
/* Feed a 429 body. */
void dc_rl_info_body(struct dc_rl_info *i, const char *p, size_t n);
/* "1.5" seconds → 1500 ms; -1 unless a finite number >= 0 (capped at a day). */
long dc_seconds_to_ms(const char *s);

/* ---- policy.c: gateway rules ------------------------------------------ */

struct dc_heartbeat {
	long interval_ms;
	int64_t next_due;     /* when the next beat is due */
	bool awaiting_ack;    /* a beat went out and no ACK came back yet */
	bool running;
};

enum dc_hb_action { DC_HB_WAIT, DC_HB_SEND, DC_HB_ZOMBIE };

/* After Hello: the first beat at now + interval * jitter (jitter in [0,1)). */
void dc_hb_start(struct dc_heartbeat *hb, long interval_ms, double jitter, int64_t now);
/* What to do at `now`; *wait_ms gets the time until the next decision.
 * DC_HB_SEND schedules the following beat one interval on and expects an
 * ACK; DC_HB_ZOMBIE means the previous beat was never acknowledged. */
enum dc_hb_action dc_hb_tick(struct dc_heartbeat *hb, int64_t now, long *wait_ms);
void dc_hb_ack(struct dc_heartbeat *hb);
/* The server asked for a beat (op 1): it goes out now, off schedule. */
void dc_hb_requested(struct dc_heartbeat *hb);
void dc_hb_stop(struct dc_heartbeat *hb);

enum dc_close_action {
	DC_CLOSE_RESUME,      /* reconnect and resume the session */
	DC_CLOSE_IDENTIFY,    /* reconnect with a new session */
	DC_CLOSE_FATAL,       /* stop: retrying cannot help */
};
/* What a close code from the server means; *meaning gets Discord's name
 * for it ("Authentication failed"). */
enum dc_close_action dc_close_action(int code, const char **meaning);
/* Why a fatal close stops kith, in words for the person running it. */
const char *dc_close_advice(int code);

/* Exponential backoff: base * 2^(attempt-1), capped, with +-25% jitter
 * (r in [0,1)).  attempt >= 1. */
long dc_backoff_ms(long base_ms, long max_ms, int attempt, double r);

/* ---- ratelimit.c: REST buckets ----------------------------------------- */

struct dc_rl;
struct dc_rl *dc_rl_new(void);
void dc_rl_free(struct dc_rl *rl);

/* The route a request counts against: method, path with minor ids
 * replaced, the major parameter kept; reaction sub-routes share one.
 * "PUT /channels/1/messages/2/reactions/x/@me" → "PUT /channels/1/messages/:id/reactions".
 * Caller frees. */
char *dc_route_key(const char *method, const char *path);
/* 0 = send now (a slot is taken); else milliseconds to wait first. */
long dc_rl_acquire(struct dc_rl *rl, const char *route, int64_t now);
/* Learn from a response (any status).  429s block the bucket, or every
 * bucket when global, for retry_after. */
void dc_rl_update(struct dc_rl *rl, const char *route, long status, const struct dc_rl_info *info,
		  int64_t now);

/* ---- chunk.c ------------------------------------------------------------ */

/* Split `text` into pieces of at most `limit` code points, breaking at a
 * line end, else a sentence end, else a space in the last half of a piece,
 * else at a code point boundary.  Returns the count; *pieces (caller frees
 * each and the array).  Empty text gives 0 pieces. */
size_t dc_chunk(const char *text, size_t limit, char ***pieces);

/* ---- resthttp.c --------------------------------------------------------- */

struct dc_http_result {
	long status;                 /* 0 when no answer */
	struct buf body;
	struct dc_rl_info rl;
};
void dc_http_result_init(struct dc_http_result *r);
void dc_http_result_release(struct dc_http_result *r);

/* One exchange; KITH_OK for any HTTP answer (look at r->status), else a
 * transport failure (KITH_ECONNECT, KITH_ETIMEDOUT, KITH_ECANCELED,
 * KITH_ETOOBIG) with *why. */
enum kith_status dc_http_exchange(const char *method, const char *url,
				  const char *const *headers, const char *body, size_t body_len,
				  long timeout_ms, const struct cancel *cancel,
				  struct dc_http_result *r, char **why) KITH_MUST_CHECK;

/* ---- rest.c -------------------------------------------------------------- */

struct dc_rest;
struct dc_rest *dc_rest_new(const struct discord_config *cfg, const struct cancel *cancel);
void dc_rest_free(struct dc_rest *r);

/* One REST call with rate limiting and bounded retries (429, 5xx,
 * connection failures).  `content_type` NULL sends no body.  On KITH_OK
 * *out (optional) holds the 2xx answer. */
enum kith_status dc_rest_call(struct dc_rest *r, const char *method, const char *path,
			      const char *content_type, const char *body, size_t body_len,
			      struct dc_http_result *out, char **why) KITH_MUST_CHECK;

enum kith_status dc_rest_gateway_bot(struct dc_rest *r, char **url, int *max_concurrency,
				     char **why) KITH_MUST_CHECK;
enum kith_status dc_rest_me(struct dc_rest *r, char **user_id, char **why) KITH_MUST_CHECK;
/* Send text (split at 2000 characters; only the first piece replies to
 * reply_to) and attachments (multipart, with the last piece).  Never drops
 * a piece silently: a piece that fails after the retries ends the call
 * with the reason, logged. */
enum kith_status dc_rest_send(struct dc_rest *r, const char *channel_id, const char *text,
			      const char *reply_to, const struct attachment *att, size_t natt,
			      char **why) KITH_MUST_CHECK;
enum kith_status dc_rest_typing(struct dc_rest *r, const char *channel_id,
				char **why) KITH_MUST_CHECK;
enum kith_status dc_rest_react(struct dc_rest *r, const char *channel_id, const char *message_id,
			       const char *emoji, char **why) KITH_MUST_CHECK;
enum kith_status dc_rest_history(struct dc_rest *r, const char *channel_id, const char *before,
				 int limit, struct discord_message **out, size_t *n,
				 char **why) KITH_MUST_CHECK;
/* Percent-encode everything but unreserved characters; caller frees. */
char *dc_url_encode(const char *s);

/* ---- gateway.c ----------------------------------------------------------- */

struct dc_gateway;

struct dc_gateway_config {
	const char *token;
	long intents;
	long identify_spacing_ms;
	long invalid_session_min_ms, invalid_session_max_ms;
	long reconnect_base_ms, reconnect_max_ms;
	long hello_timeout_ms;
	/* Called on the gateway thread for each dispatch other than READY and
	 * RESUMED; return false when the event could not be handed on (the
	 * sequence number is then not advanced). */
	bool (*on_dispatch)(const char *t, const json_t *d, const char *self_id, void *ud);
	/* Called on the gateway thread once, when a fatal close stops it. */
	void (*on_fatal)(const char *reason, void *ud);
	void *ud;
};

struct dc_gateway *dc_gateway_new(const struct dc_gateway_config *cfg);
/* Connect to `url` (from /gateway/bot) on a new service thread. */
enum kith_status dc_gateway_start(struct dc_gateway *gw, const char *url, int max_concurrency,
				  char **why) KITH_MUST_CHECK;
void dc_gateway_stop(struct dc_gateway *gw);   /* joins; idempotent */
void dc_gateway_free(struct dc_gateway *gw);
enum discord_state dc_gateway_state(struct dc_gateway *gw, char **why);
char *dc_gateway_self_id(struct dc_gateway *gw);

/* Split ws[s]://host[:port][/path] for lws; false when malformed.  *path
 * gets the path with "?v=10&encoding=json" appended (caller frees). */
bool dc_gateway_url(const char *url, bool *tls, char **host, int *port, char **path);

#endif
