/* signal_int.h — what the Signal channel's own files share.
 *
 * One job per file: envelope.c parses what signal-cli-rest-api sends
 * (envelopes, the poll array, send answers) without side effects, so one
 * fuzz target reaches all of it; ids.c holds number validation, group ids,
 * masking and the small encoders; recent.c remembers recent messages (for
 * quotes and reactions) and which envelopes were already seen; rest.c is
 * the REST API with its retry rules; ws.c and poll.c are the two ways of
 * receiving, each on its own thread, handing raw frames to signal.c, which
 * makes it all a channel. */
#ifndef KITH_SIGNAL_INT_H
#define KITH_SIGNAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel/signal/signal.h"
#include "core/buf.h"
#include "core/cancel.h"
#include "core/http.h"
#include "core/status.h"

#define SG_MAX_FRAME ((size_t)4 << 20)      /* one WebSocket message */
#define SG_MAX_POLL_BODY ((size_t)32 << 20) /* one poll answer */
#define SG_MAX_QUOTE_TEXT 1000              /* bytes of text remembered per message */

/* ---- envelope.c: parsing ------------------------------------------------- */

enum sg_kind {
	SG_IGNORE = 0,   /* nothing for us (typing, receipts, sync, …); see `ignored` */
	SG_MESSAGE,
	SG_REACTION,
	SG_EDIT,
	SG_ERROR,        /* the API reported an error: {"error": "…"} */
};

struct sg_attachment {
	char *id, *content_type, *filename;
	long long size;    /* -1 unknown */
};

struct sg_event {
	enum sg_kind kind;
	const char *ignored;        /* static: why SG_IGNORE, for debug logs */
	char *source;               /* sender: number, else uuid, else legacy source */
	char *source_name;          /* may be NULL */
	int64_t timestamp;          /* the message id */
	char *group_id;             /* groupInfo.groupId, NULL for 1:1 */
	char *conversation;         /* source, or "group.<base64>" */
	char *text;                 /* message text, reaction emoji, error text */
	int64_t quote_id;           /* 0 = no quote */
	char *quote_author, *quote_text;
	struct sg_attachment *atts;
	size_t natts;
	int64_t target_ts;          /* reaction / edit target */
	char *target_author;
	bool mentions_self;
};

/* One receive frame {"envelope": …, "account": …} (or {"error": …}).
 * `self` is our number: envelopes for another account and our own
 * messages are ignored.  KITH_EPROTO for text that is not such an object. */
enum kith_status sg_envelope_parse(const char *p, size_t n, const char *self,
				   struct sg_event *out, char **why) KITH_MUST_CHECK;
void sg_event_release(struct sg_event *e);

/* The channel event for a parsed message/reaction/edit (attachments
 * without data; the caller downloads them).  NULL for other kinds. */
struct inbound *sg_event_to_inbound(const struct sg_event *e, struct channel *ch);

/* A poll answer: a JSON array of frames → each element as JSON text.
 * *frames (caller frees each and the array) and *count. */
enum kith_status sg_parse_receive_array(const char *p, size_t n, char ***frames, size_t *count,
					char **why) KITH_MUST_CHECK;

/* A /v2/send answer: {"timestamp": "…"|N}, [{"timestamp": …, "errors": …}]
 * or anything else (older versions answer plain text): *ts gets the
 * timestamp or 0; *failures (caller frees, NULL when none) lists the
 * per-recipient failure reasons ("NETWORK_FAILURE"), comma-separated. */
void sg_parse_send_answer(const char *p, size_t n, int64_t *ts, char **failures);

/* The "error" text of an error body (caller frees), NULL when none. */
char *sg_error_text(const char *p, size_t n);

/* GET /v1/about: the "mode" ("json-rpc", "normal", "native"), caller
 * frees; NULL when absent. */
char *sg_parse_about_mode(const char *p, size_t n);

/* ---- ids.c ------------------------------------------------------------- */

/* "+15551230001" → "+1555•••••01"; anything else (uuids, group ids) keeps
 * its first 6 characters.  For log lines.  Caller frees. */
char *sg_mask(const char *id);
/* Standard base64 (caller frees). */
char *sg_base64(const void *p, size_t n);
/* Percent-encode all but unreserved characters (caller frees). */
char *sg_url_escape(const char *s);
/* A decimal timestamp (1..2^62) → value; 0 when not one. */
int64_t sg_parse_ts(const char *s);
/* A conversation id safe to send to: a number, uuid, username or group. */
bool sg_valid_recipient(const char *s);

/* ---- recent.c: message memory and dedupe --------------------------------- */

struct sg_recent;
struct sg_recent *sg_recent_new(size_t capacity);
void sg_recent_free(struct sg_recent *r);
/* Remember a message (text truncated to SG_MAX_QUOTE_TEXT bytes). */
void sg_recent_put(struct sg_recent *r, const char *conversation, int64_t ts,
		   const char *author, const char *text);
/* Author and text of a remembered message (caller frees both); false when
 * unknown.  Either out pointer may be NULL. */
bool sg_recent_get(struct sg_recent *r, const char *conversation, int64_t ts, char **author,
		   char **text);
/* Newest message by `author` in `conversation`: its timestamp, 0 if none. */
int64_t sg_recent_last_by(struct sg_recent *r, const char *conversation, const char *author);

/* A bounded set of (source, timestamp) pairs seen. */
struct sg_seen;
struct sg_seen *sg_seen_new(size_t capacity);
void sg_seen_free(struct sg_seen *s);
/* True the first time a pair is offered (and remembers it). */
bool sg_seen_first(struct sg_seen *s, const char *source, int64_t ts);

/* ---- rest.c ------------------------------------------------------------- */

struct sg_rest;
struct sg_rest *sg_rest_new(const struct signal_config *cfg, const struct cancel *cancel);
void sg_rest_free(struct sg_rest *r);
const char *sg_rest_base(const struct sg_rest *r);

/* The JSON body of a /v2/send (caller frees).  quote_ts 0 = no quote. */
char *sg_send_body(const char *number, const char *recipient, const char *text,
		   int64_t quote_ts, const char *quote_author, const char *quote_text,
		   const struct attachment *att, size_t natt);

/* One /v2/send with the retry rules; *ts gets the sent timestamp (0 when
 * the answer carried none). */
enum kith_status sg_rest_send(struct sg_rest *r, const char *body, int64_t *ts,
			      char **why) KITH_MUST_CHECK;
enum kith_status sg_rest_typing(struct sg_rest *r, const char *recipient, bool on,
				char **why) KITH_MUST_CHECK;
enum kith_status sg_rest_react(struct sg_rest *r, const char *recipient, const char *emoji,
			       const char *target_author, int64_t target_ts, bool remove,
			       char **why) KITH_MUST_CHECK;
/* GET /v1/attachments/{id} into *data and *len (caller frees); *ctype (may be
 * NULL) the answer's Content-Type. */
enum kith_status sg_rest_attachment(struct sg_rest *r, const char *id, unsigned char **data,
				    size_t *len, char **ctype, char **why) KITH_MUST_CHECK;
/* One poll: GET /v1/receive/{number}?timeout=…; *body the JSON array. */
enum kith_status sg_rest_poll(struct sg_rest *r, long timeout_s, struct buf *body,
			      char **why) KITH_MUST_CHECK;
/* GET /v1/about → the mode (caller frees), NULL when it cannot tell. */
char *sg_rest_mode(struct sg_rest *r);

/* ---- ws.c / poll.c: receiving ---------------------------------------------- */

/* Hand one raw frame to the channel (called on the receiving thread);
 * false when the channel is stopping. */
typedef bool (*sg_frame_fn)(const char *p, size_t n, void *ud);
/* Connection state changes, for signal_state(). */
typedef void (*sg_state_fn)(enum signal_state st, void *ud);

struct sg_receiver_config {
	const char *api_url;          /* http(s)://host[:port][/prefix] */
	const char *number;
	long reconnect_base_ms, reconnect_max_ms;
	long poll_timeout_s;
	struct sg_rest *rest;         /* polling uses it */
	sg_frame_fn on_frame;
	sg_state_fn on_state;
	void *ud;
};

struct sg_ws;
struct sg_ws *sg_ws_new(const struct sg_receiver_config *cfg);
enum kith_status sg_ws_start(struct sg_ws *w, char **why) KITH_MUST_CHECK;
void sg_ws_stop(struct sg_ws *w);    /* joins; idempotent */
void sg_ws_free(struct sg_ws *w);
/* http://h:p/x → ws://h:p/x/v1/receive/<number>; false when malformed. */
bool sg_ws_target(const char *api_url, const char *number, bool *tls, char **host, int *port,
		  char **path);

struct sg_poll;
struct sg_poll *sg_poll_new(const struct sg_receiver_config *cfg);
enum kith_status sg_poll_start(struct sg_poll *p, char **why) KITH_MUST_CHECK;
void sg_poll_stop(struct sg_poll *p);
void sg_poll_free(struct sg_poll *p);

/* Exponential backoff: base * 2^(attempt-1), capped, +-25% jitter (r in
 * [0,1)); attempt >= 1. */
long sg_backoff_ms(long base_ms, long max_ms, int attempt, double r);

#endif
