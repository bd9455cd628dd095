/* jmap.h — a read-only JMAP client (RFC 8620 core, RFC 8621 mail) for
 * Fastmail, and the two agent tools built on it.
 *
 * The session resource (JMAP_SESSION_URL, "Authorization: Bearer <token>")
 * names the API URL and the mail account; both are cached and followed,
 * never built by hand.  A method response whose sessionState differs from
 * the cached session's state marks the cache stale, so the next call
 * fetches the session again; so do a 401 and an accountNotFound.
 *
 * Two requests are made: a search (Email/query, then Email/get on its ids
 * through a back-reference, in one POST) and a read (Email/get of given
 * ids with their body values).  The parsers work on bytes, so the fuzzer
 * and the tests can feed them directly; they never trust a field's type.
 * Errors come back as a status and a sentence: a refused token is
 * KITH_EAUTH ("the Fastmail token was refused"), a method-level error is
 * KITH_EHTTP naming the method and the JMAP error type.  The token never
 * appears in a sentence or a log line. */
#ifndef KITH_TOOLS_JMAP_H
#define KITH_TOOLS_JMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cancel.h"
#include "core/status.h"

struct tool_def;

#define JMAP_USING_CORE "urn:ietf:params:jmap:core"
#define JMAP_USING_MAIL "urn:ietf:params:jmap:mail"
#define JMAP_SEARCH_LIMIT 10          /* emails one search returns */
#define JMAP_READ_MAX_IDS 10          /* emails one read fetches */
#define JMAP_ID_MAX 255               /* RFC 8620 §1.2: 1–255 of [A-Za-z0-9_-] */
#define JMAP_FIELD_MAX 2000           /* bytes kept of a subject, preview or address list */
#define JMAP_MAX_RESPONSE ((size_t)8 << 20)

/* The cached part of a session resource (owned strings). */
struct jmap_session {
	char *api_url;        /* apiUrl */
	char *account_id;     /* primaryAccounts["urn:ietf:params:jmap:mail"] */
	char *state;          /* state; "" when the server sent none */
};

void jmap_session_release(struct jmap_session *s);

/* One email (owned strings; "" when the answer had none). */
struct jmap_email {
	char *id;
	char *subject;
	char *from;           /* "Name <email>, email, …" */
	char *to;             /* the same, read only */
	char *received_at;    /* receivedAt as sent (a UTCDate) */
	char *preview;        /* search only */
	char *body;           /* read only: plain text, cut at body_max characters */
};

struct jmap_emails {
	struct jmap_email *v;
	size_t n;
	char **not_found;     /* read only: requested ids the server does not know */
	size_t nnot_found;
};

void jmap_emails_release(struct jmap_emails *e);

/* What a search asks for; NULL or "" leaves a condition out.  after and
 * before are UTCDates ("2026-03-01T00:00:00Z"; see jmap_utc_date). */
struct jmap_filter {
	const char *text;
	const char *from;
	const char *subject;
	const char *after;
	const char *before;
};

/* Where and how to connect; read from the settings on every call. */
struct jmap_conn {
	const char *session_url;      /* JMAP_SESSION_URL */
	const char *token;            /* FASTMAIL_API_TOKEN */
	long timeout_ms;              /* per HTTP request; 0 = 30 s */
	const struct cancel *cancel;  /* may be NULL */
};

/* A session cache.  Thread-safe: calls may come from several workers. */
struct jmap_client;

struct jmap_client *jmap_client_new(void);
void jmap_client_free(struct jmap_client *c);
/* The process-wide client the tools use (never freed). */
struct jmap_client *jmap_shared(void);
/* Drop the cached session: the next call fetches it again. */
void jmap_client_forget(struct jmap_client *c);

/* Search: up to `limit` (1..JMAP_SEARCH_LIMIT; 0 = the maximum) emails,
 * newest first, with id, subject, from, receivedAt and preview.  `out` is
 * always initialised. */
enum kith_status jmap_search(struct jmap_client *c, const struct jmap_conn *conn,
			     const struct jmap_filter *f, int limit, struct jmap_emails *out,
			     char **why) KITH_MUST_CHECK;
/* Read up to JMAP_READ_MAX_IDS emails (KITH_EINVAL for more, or for an id
 * that is not a JMAP id), bodies cut at body_max characters (0 = no cut).
 * Emails come back in the server's order; unknown ids in out->not_found. */
enum kith_status jmap_read(struct jmap_client *c, const struct jmap_conn *conn,
			   const char *const *ids, size_t nids, size_t body_max,
			   struct jmap_emails *out, char **why) KITH_MUST_CHECK;

/* ---- pieces, public for the tests and the fuzzer ------------------------ */

/* A session resource body.  `out` is always initialised; KITH_EPROTO when
 * there is no apiUrl or no mail account. */
enum kith_status jmap_parse_session(const char *p, size_t n, struct jmap_session *out,
				    char **why) KITH_MUST_CHECK;
/* The methodResponses of a search ("0" Email/query, "1" Email/get) and of
 * a read ("0" Email/get).  *state (optional, caller frees) receives the
 * answer's sessionState (NULL when absent).  A method-level error is
 * KITH_EHTTP with the type in *why; *error_type (optional, caller frees)
 * receives the type. */
enum kith_status jmap_parse_search(const char *p, size_t n, struct jmap_emails *out,
				   char **state, char **error_type, char **why) KITH_MUST_CHECK;
enum kith_status jmap_parse_read(const char *p, size_t n, size_t body_max,
				 struct jmap_emails *out, char **state, char **error_type,
				 char **why) KITH_MUST_CHECK;

/* The text nodes of an HTML fragment: tags dropped (script and style with
 * their contents), line-breaking tags as newlines, the entities &amp; &lt;
 * &gt; &quot; &#39; &nbsp; and numeric references decoded, blank runs
 * squeezed.  Caller frees. */
char *jmap_html_text(const char *html, size_t n);
/* s cut to at most max_chars UTF-8 characters, with "\n\n[truncated]"
 * appended when cut.  Caller frees. */
char *jmap_truncate(const char *s, size_t max_chars);
/* A UTCDate for after/before: "YYYY-MM-DD" becomes "YYYY-MM-DDT00:00:00Z";
 * "YYYY-MM-DDTHH:MM:SSZ" (optional fraction dropped) is kept.  Anything
 * else is KITH_EINVAL with a sentence for the model.  Caller frees *out. */
enum kith_status jmap_utc_date(const char *s, char **out, char **why) KITH_MUST_CHECK;
/* Whether s is a JMAP id (1–255 of A-Z a-z 0-9 _ -). */
bool jmap_valid_id(const char *s);

/* What the model reads (caller frees): "Found N email(s):\n\n" + items, or
 * a no-match sentence; the read emails joined by "\n\n---\n\n". */
char *jmap_format_search(const struct jmap_emails *e);
char *jmap_format_read(const struct jmap_emails *e);

/* The agent tools (tools/tool_email.c): search_emails (text, from_addr,
 * subject, after, before; none required) and read_emails (email_ids).
 * They read FASTMAIL_API_TOKEN, JMAP_SESSION_URL, JMAP_REQUEST_TIMEOUT and
 * EMAIL_BODY_MAX_LENGTH on every call and use jmap_shared(). */
extern const struct tool_def tool_search_emails;
extern const struct tool_def tool_read_emails;

#endif
