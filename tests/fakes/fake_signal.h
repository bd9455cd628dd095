/* fake_signal.h — a scriptable fake signal-cli-rest-api.
 *
 * One libwebsockets server on http://127.0.0.1 (ephemeral port) serves, as
 * the real API does on one port (../shared/reference/protocols.md §2):
 *   GET  /v1/receive/{number}   WebSocket push (json-rpc mode), or a JSON
 *                               array of queued frames (normal mode; waits
 *                               up to ?timeout= seconds, at most 1, for one)
 *   POST /v2/send               201 {"timestamp":"<ms>"} (or the array form,
 *                               or plain text), with the API's 400 checks
 *   PUT/DELETE /v1/typing-indicator/{number}, POST/DELETE /v1/reactions/{number}
 *                               204, with the API's 400 checks
 *   GET  /v1/attachments/{id}   the stored bytes, or 404
 *   GET  /v1/about              the mode
 * Envelopes pushed while no WebSocket is connected wait and are delivered
 * on the next connection (or poll); frames not yet written when a
 * connection drops go back to the front of that queue.  Every HTTP request
 * is recorded (method, path with query, body, status given), including
 * failed ones; WebSocket connections with their path.  Thread-safe; tests
 * poll with deadlines. */
#ifndef KITH_FAKE_SIGNAL_H
#define KITH_FAKE_SIGNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct fake_signal;

enum fake_signal_mode {
	FAKE_SIGNAL_JSON_RPC = 0,   /* WebSocket receive; a plain GET gets 400 */
	FAKE_SIGNAL_NORMAL,         /* receive by GET; no WebSocket */
};

/* Start the fake for account `number`.  NULL (and a message on stderr)
 * when it cannot start. */
struct fake_signal *fake_signal_start(const char *number, enum fake_signal_mode mode);
void fake_signal_stop(struct fake_signal *f);   /* also frees */

const char *fake_signal_url(const struct fake_signal *f);   /* http://127.0.0.1:PORT */

/* ---- receiving ---- */
/* Queue {"envelope": <envelope_json>, "account": <number>} for delivery. */
void fake_signal_push_envelope(struct fake_signal *f, const char *envelope_json);
/* Queue a raw frame as it is ({"error": …}, another account's, junk). */
void fake_signal_push_frame(struct fake_signal *f, const char *frame);
/* Frames waiting for a connection or a poll. */
size_t fake_signal_pending(struct fake_signal *f);
/* Drop the live WebSocket without a close frame (a network failure). */
void fake_signal_drop(struct fake_signal *f);
/* While false, WebSocket upgrades are refused (the client keeps retrying). */
void fake_signal_accept(struct fake_signal *f, bool on);
size_t fake_signal_ws_connections(struct fake_signal *f);   /* ever accepted */
bool fake_signal_wait_ws_connections(struct fake_signal *f, size_t n, int timeout_ms);
bool fake_signal_ws_live(struct fake_signal *f);
char *fake_signal_ws_path(struct fake_signal *f, size_t i);  /* caller frees */

/* ---- REST script ---- */
enum fake_signal_answer {
	FAKE_SIGNAL_ANSWER_OBJECT = 0,  /* {"timestamp":"<ms>"} (released versions) */
	FAKE_SIGNAL_ANSWER_ARRAY,       /* [{"timestamp":"<ms>"}] (current master) */
	FAKE_SIGNAL_ANSWER_TEXT,        /* 201 with a plain-text body, no timestamp */
};
void fake_signal_send_answer(struct fake_signal *f, enum fake_signal_answer a);
/* The next `times` (0 = 1) requests matching method (NULL = any) and path
 * prefix (NULL = any) get `status` with `body` (NULL = {"error":"fake
 * failure"}) instead of the normal answer. */
void fake_signal_fail(struct fake_signal *f, const char *method, const char *path_prefix,
		      int status, const char *body, int times);
/* An attachment served at /v1/attachments/{id}. */
void fake_signal_put_attachment(struct fake_signal *f, const char *id, const void *data,
				size_t len, const char *content_type);

/* ---- records ---- */
size_t fake_signal_request_count(struct fake_signal *f);
bool fake_signal_wait_requests(struct fake_signal *f, size_t n, int timeout_ms);
/* Copies the caller frees; NULL past the end. */
char *fake_signal_request_method(struct fake_signal *f, size_t i);
char *fake_signal_request_path(struct fake_signal *f, size_t i);
char *fake_signal_request_body(struct fake_signal *f, size_t i);
json_t *fake_signal_request_json(struct fake_signal *f, size_t i);   /* new ref or NULL */
int fake_signal_request_status(struct fake_signal *f, size_t i);
/* Index of the first request at or after `from` with `method` and a path
 * starting with `prefix`, waiting up to timeout_ms; -1 if none came. */
long fake_signal_wait_for(struct fake_signal *f, const char *method, const char *prefix,
			  size_t from, int timeout_ms);
/* How many such requests were answered 2xx. */
size_t fake_signal_count_ok(struct fake_signal *f, const char *method, const char *prefix);

#endif
