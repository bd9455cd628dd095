/* fake_jmap.h — a scriptable fake of Fastmail's JMAP (RFC 8620/8621).
 *
 * On 127.0.0.1 with an ephemeral port it serves the session resource
 * (GET /jmap/session: capabilities, accounts, primaryAccounts for mail,
 * an apiUrl pointing at itself, state) and the API (POST to the apiUrl's
 * path) with Email/query (filter text, from, subject, after, before;
 * sorted by receivedAt newest first; limit) and Email/get (ids, or the
 * back-reference "#ids" {resultOf, name, path "/ids" or "/ids/ *" without the space};
 * properties; textBody, htmlBody and bodyValues with fetchTextBodyValues /
 * fetchHTMLBodyValues; notFound).  An HTML-only email lists its text/html
 * part under textBody too, as RFC 8621 has servers do.  Method-level
 * errors come as ["error",{"type"},callId]; a request that is not JSON
 * is a 400 problem document.  Both resources require the bearer token when
 * one is set (401 otherwise).  Every request is recorded.  Thread-safe. */
#ifndef KITH_FAKE_JMAP_H
#define KITH_FAKE_JMAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct fake_jmap_email {
	const char *id;             /* NULL = "M<n>" (n from 1, in order added) */
	const char *from_name;      /* NULL = no name */
	const char *from_email;
	const char *to_name;
	const char *to_email;       /* NULL = "owner@example.com" */
	const char *subject;
	const char *received_at;    /* UTCDate; NULL = "2026-03-01T09:00:00Z" */
	const char *text;           /* text/plain body; NULL = none */
	const char *html;           /* text/html body; NULL = none */
	const char *preview;        /* NULL = the first 80 bytes of text */
};

struct fake_jmap;

struct fake_jmap *fake_jmap_start(void);
void fake_jmap_stop(struct fake_jmap *f);   /* also frees */
/* "http://127.0.0.1:PORT/jmap/session", owned by f. */
const char *fake_jmap_session_url(const struct fake_jmap *f);

/* Require "Authorization: Bearer <token>" (copied; NULL = accept any). */
void fake_jmap_set_token(struct fake_jmap *f, const char *token);
/* The mail account id (default "u1a2b3") and the apiUrl path (default
 * "/jmap/api/"); the session serves both. */
void fake_jmap_set_account(struct fake_jmap *f, const char *account);
void fake_jmap_set_api_path(struct fake_jmap *f, const char *path);
/* The session state (default "s1"), sent as state and sessionState. */
void fake_jmap_set_state(struct fake_jmap *f, const char *state);
/* Add an email to the mailbox (copied). */
void fake_jmap_add(struct fake_jmap *f, const struct fake_jmap_email *e);
/* The next call of `method` ("Email/query", "Email/get") answers
 * ["error",{"type":type},callId] instead (once). */
void fake_jmap_fail_method(struct fake_jmap *f, const char *method, const char *type);
/* The next `times` API requests are answered with HTTP `status`. */
void fake_jmap_fail_http(struct fake_jmap *f, int status, int times);

/* Recorded requests, in arrival order (copies the caller frees). */
size_t fake_jmap_request_count(struct fake_jmap *f);
char *fake_jmap_request_method(struct fake_jmap *f, size_t i);
char *fake_jmap_request_path(struct fake_jmap *f, size_t i);
char *fake_jmap_request_header(struct fake_jmap *f, size_t i, const char *name);
json_t *fake_jmap_request_json(struct fake_jmap *f, size_t i);   /* new reference or NULL */
/* How many requests were session fetches (GET of the session resource). */
size_t fake_jmap_session_fetches(struct fake_jmap *f);
bool fake_jmap_wait_requests(struct fake_jmap *f, size_t n, int timeout_ms);

#endif
