/* signal.h — the Signal channel, through signal-cli-rest-api.
 *
 * signal_channel_new() gives a struct channel (channel.h).  Messages come
 * in over the json-rpc WebSocket (GET {api}/v1/receive/{number}, the
 * default) or, for the API's normal/native modes, by polling the same path
 * over plain HTTP; either way a receive thread only collects raw frames and
 * one intake thread parses them, drops duplicates (same sender and
 * timestamp), downloads attachments and queues struct inbound events.
 * Sends (POST /v2/send), typing and reactions run on the caller's thread
 * with bounded retries.  Conversations are the peer's number (or uuid) for
 * one-to-one chats and "group.<base64>" — the id form the API expects —
 * for groups; message ids (external_id, reply_to) are Signal timestamps in
 * milliseconds, as text.  Every interval is in the configuration so tests
 * can shorten it; zero means the production value in brackets.
 *
 * Outgoing ids: chan_send() has no way to hand back the id of what it
 * sent, so the channel remembers the timestamps itself (quotes of and
 * reactions on kith's messages resolve through that memory), and
 * signal_last_sent() tells a caller the newest one per conversation. */
#ifndef KITH_SIGNAL_H
#define KITH_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

#include "channel/channel.h"
#include "core/status.h"

enum signal_receive {
	SIGNAL_RECEIVE_WEBSOCKET = 0, /* json-rpc mode: WebSocket push (default) */
	SIGNAL_RECEIVE_POLL,          /* normal/native mode: GET /v1/receive */
	SIGNAL_RECEIVE_AUTO,          /* ask GET /v1/about; WebSocket unless it says
				       * normal or native */
};

struct signal_config {
	const char *number;           /* SIGNAL_NUMBER, E.164 (required) */
	const char *api_url;          /* SIGNAL_API_URL [http://localhost:8080] */
	enum signal_receive receive;
	/* Tuning: 0 = the production value in brackets. */
	long reconnect_base_ms;       /* first wait after a lost receive [1000] */
	long reconnect_max_ms;        /* cap on that wait [60000] */
	long poll_timeout_s;          /* server-side wait per poll [1] */
	long send_base_ms;            /* first wait before a send is retried [500] */
	long send_max_ms;             /* cap on one wait [8000] */
	int send_max_attempts;        /* tries per send, typing or reaction [5] */
	long http_timeout_ms;         /* one HTTP exchange [60000] */
	size_t max_attachment_bytes;  /* larger downloads are skipped [50 MiB] */
};

/* The channel; NULL (and *why) when the configuration is unusable — a
 * missing or placeholder SIGNAL_NUMBER, an API URL that is not http(s). */
struct channel *signal_channel_new(const struct signal_config *cfg, char **why);

/* SIGNAL_NUMBER as kith accepts it: E.164 ("+" and 7–15 digits) and not a
 * placeholder ("+1234567890", "your-number", empty).  *why says how to
 * fix it. */
enum kith_status signal_check_number(const char *number, char **why) KITH_MUST_CHECK;

/* The conversation id for a group: "group." + base64(groupInfo.groupId).
 * Caller frees. */
char *signal_group_conversation(const char *group_id);

enum signal_state {
	SIGNAL_STOPPED = 0,
	SIGNAL_CONNECTING,     /* (re)connecting or waiting to */
	SIGNAL_RECEIVING,      /* WebSocket open, or the last poll succeeded */
};
enum signal_state signal_state(struct channel *ch);

/* Timestamp (as text, caller frees) of the newest message kith sent to
 * `conversation`, NULL when none is remembered. */
char *signal_last_sent(struct channel *ch, const char *conversation);

#endif
