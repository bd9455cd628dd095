/* fake_discord.h — a scriptable fake Discord: gateway v10 and REST v10.
 *
 * The gateway is a libwebsockets server on ws://127.0.0.1 (ephemeral
 * port), the REST API a libmicrohttpd server under /api/v10 on another,
 * both per ../shared/reference/protocols.md §1.  The gateway sends Hello,
 * ACKs heartbeats, answers Identify with READY (s = 1) and a GUILD_CREATE,
 * keeps a replay buffer per session and answers Resume by replaying what
 * the client missed, then RESUMED (or op 9 false for an unknown session);
 * it closes 4004 on a wrong token, 4013/4014 on bad intents, 4002 on bad
 * JSON, 4003 on a payload before Identify, 4005 on a second Identify.
 * Tests script dispatches, op 7, op 9, op 1, closes with any code and
 * withheld ACKs; REST answers 429s (bucket or global) and 5xx on demand and
 * enforces configured buckets.  Everything received is recorded: gateway
 * payloads with their connection and arrival time, connections with their
 * path, REST requests with method, raw path, headers, body and the status
 * given.  Thread-safe; times are clock_mono_ms(). */
#ifndef KITH_FAKE_DISCORD_H
#define KITH_FAKE_DISCORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_discord;

/* Start both servers; `token` is the bot token the fake accepts.  NULL
 * (and a message on stderr) when they cannot start. */
struct fake_discord *fake_discord_start(const char *token);
void fake_discord_stop(struct fake_discord *f);   /* also frees */

const char *fake_discord_api_url(const struct fake_discord *f);  /* http://127.0.0.1:P/api/v10 */
const char *fake_discord_ws_url(const struct fake_discord *f);   /* ws://127.0.0.1:P */
/* READY's resume_gateway_url is ws_url + "/resume", so a test can tell a
 * resume connection from a fresh one by its path. */

/* ---- gateway script ---- */
void fake_discord_set_heartbeat_interval(struct fake_discord *f, long ms); /* default 45000 */
/* Intents Identify may ask for (default: all); others close with 4014. */
void fake_discord_set_allowed_intents(struct fake_discord *f, long mask);
void fake_discord_withhold_acks(struct fake_discord *f, bool on);
/* While on, a Resume gets no answer (the connection stays un-resumed, so
 * dispatches wait in the replay buffer); turning it off answers it. */
void fake_discord_hold_resume(struct fake_discord *f, bool on);
/* Resume replays the whole session, already-seen events included (to
 * test that the client skips them). */
void fake_discord_replay_all(struct fake_discord *f, bool on);
/* Dispatch event `t` with data `d_json` on the newest session: sent now
 * when its connection is live, otherwise kept for the replay on resume.
 * Returns its sequence number (0 when there is no session yet). */
long long fake_discord_dispatch(struct fake_discord *f, const char *t, const char *d_json);
/* Send {"op":op,"d":d_json} on the live connection (d_json NULL = null):
 * 7 Reconnect, 9 Invalid Session ("true"/"false"), 1 Heartbeat request. */
void fake_discord_send_op(struct fake_discord *f, int op, const char *d_json);
/* Close the live connection with `code`. */
void fake_discord_close(struct fake_discord *f, int code);

/* ---- gateway records ---- */
size_t fake_discord_connections(struct fake_discord *f);
/* Path and query of connection i ("/resume?v=10&encoding=json"); caller frees. */
char *fake_discord_connection_path(struct fake_discord *f, size_t i);
/* Close code the client sent on connection i (0 = none yet / dropped). */
int fake_discord_connection_close_code(struct fake_discord *f, size_t i);
size_t fake_discord_payload_count(struct fake_discord *f);
json_t *fake_discord_payload(struct fake_discord *f, size_t i);   /* new ref, NULL past end */
int fake_discord_payload_op(struct fake_discord *f, size_t i);    /* -1 past end / not JSON */
int64_t fake_discord_payload_time(struct fake_discord *f, size_t i);
size_t fake_discord_payload_conn(struct fake_discord *f, size_t i);
/* Count of received payloads with `op`; wait until there are n. */
size_t fake_discord_op_count(struct fake_discord *f, int op);
bool fake_discord_wait_op(struct fake_discord *f, int op, size_t n, int timeout_ms);
bool fake_discord_wait_connections(struct fake_discord *f, size_t n, int timeout_ms);
/* Id of the newest session (caller frees), NULL before any Identify. */
char *fake_discord_session_id(struct fake_discord *f);
/* Whether a connection is open and identified/resumed right now. */
bool fake_discord_live(struct fake_discord *f);

/* ---- REST script ---- */
struct fake_discord_reply {
	const char *method;       /* NULL = any */
	const char *path_prefix;  /* after /api/v10, e.g. "/channels/1/messages"; NULL = any */
	int status;               /* 429, 500, 502, … */
	const char *retry_after;  /* 429: body retry_after in seconds, e.g. "0.05" */
	bool global;              /* 429: the global limit */
	int times;                /* how many requests it answers (0 = 1) */
};
void fake_discord_push_reply(struct fake_discord *f, const struct fake_discord_reply *r);
/* A bucket: requests matching method and prefix share `limit` per window
 * of `window_ms`; the fake sends X-RateLimit-* headers and answers 429
 * when the client exceeds it. */
void fake_discord_set_bucket(struct fake_discord *f, const char *method, const char *path_prefix,
			     const char *bucket, int limit, long window_ms);
/* A message in a channel's history (ids are snowflake strings). */
void fake_discord_add_message(struct fake_discord *f, const char *channel_id, const char *id,
			      const char *author_id, const char *content);
/* Channel-history holds, to interrupt a client between pages: the first
 * `serve` history GETs (counted from the fake's start) are answered, later
 * ones wait unanswered until released (or the fake stops).  serve < 0 =
 * hold nothing (the default). */
void fake_discord_hold_history(struct fake_discord *f, long serve);
void fake_discord_release_history(struct fake_discord *f);
/* History GETs received so far, held ones included; wait until n. */
size_t fake_discord_history_requests(struct fake_discord *f);
bool fake_discord_wait_history(struct fake_discord *f, size_t n, int timeout_ms);

/* ---- REST records ---- */
size_t fake_discord_request_count(struct fake_discord *f);
bool fake_discord_wait_requests(struct fake_discord *f, size_t n, int timeout_ms);
/* Copies the caller frees; NULL past end.  Path is raw (still
 * percent-encoded) and includes the query, without the /api/v10 prefix. */
char *fake_discord_request_method(struct fake_discord *f, size_t i);
char *fake_discord_request_path(struct fake_discord *f, size_t i);
char *fake_discord_request_body(struct fake_discord *f, size_t i);
char *fake_discord_request_header(struct fake_discord *f, size_t i, const char *name);
int fake_discord_request_status(struct fake_discord *f, size_t i);
int64_t fake_discord_request_time(struct fake_discord *f, size_t i);
/* For a message POST (JSON or multipart): the JSON payload (new ref) and
 * the number of files[n] parts. */
json_t *fake_discord_request_payload(struct fake_discord *f, size_t i, int *nfiles);

#endif
