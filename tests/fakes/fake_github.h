/* fake_github.h — a fake of the two GitHub REST endpoints a GitHub App uses
 * to file issues.
 *
 *   POST /app/installations/{id}/access_tokens
 *       Authorization: Bearer <JWT>.  The JWT must be three base64url parts
 *       with header alg RS256, a signature that verifies with the public key
 *       the test gave (fake_github_set_app), iss = the App ID, iat not in the
 *       future (60 s leeway), exp in the future and at most 10 minutes (plus
 *       60 s leeway) ahead, as GitHub checks.  Failing any of that → 401
 *       {"message":"…","documentation_url":"…"}; an unknown installation →
 *       404.  Success → 201 {"token":"ghs_…","expires_at":"…","permissions":
 *       {"issues":"write"},"repository_selection":"selected"}.
 *   POST /repos/{owner}/{name}/issues
 *       Authorization: Bearer <token> (or "token <token>") naming a token
 *       this fake issued, else 401 "Bad credentials"; another repository →
 *       404; a body without a string title → 422.  Success → 201 with the
 *       issue: number, html_url, title, body, labels [{name}], state.
 *   No User-Agent → 403, as GitHub does; any other path → 404.
 *
 * Scripted replies (FIFO per endpoint) replace the answer to the next
 * requests that passed authentication checks, to test 401/403/500 and
 * malformed bodies.  "Now" is clock_now_ms(), so a test that pins the clock
 * pins the fake's too.  Every request is recorded (method, path, headers,
 * body) and every JWT seen is decoded and recorded.  Thread-safe. */
#ifndef KITH_FAKE_GITHUB_H
#define KITH_FAKE_GITHUB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fake_github_route {
	FAKE_GITHUB_TOKEN = 0,     /* POST /app/installations/{id}/access_tokens */
	FAKE_GITHUB_ISSUE = 1,     /* POST /repos/{owner}/{name}/issues */
};

struct fake_github_reply {
	int status;                /* 0 = 200 */
	const char *raw_body;      /* sent as is; NULL = {"message": "Scripted failure"} */
	int times;                 /* requests this reply serves (0 = 1) */
};

/* A JWT as the fake saw it. */
struct fake_github_jwt {
	bool verified;             /* the RS256 signature checked out */
	char *alg;                 /* header "alg" (owned), NULL if absent */
	char *iss;                 /* claim "iss" as text (owned), NULL if absent */
	long long iat, exp;        /* 0 when absent */
};

struct fake_github;

/* Start on an ephemeral loopback port; NULL (and a message) when it cannot. */
struct fake_github *fake_github_start(void);
void fake_github_stop(struct fake_github *f);   /* also frees */
/* Base URL for GITHUB_API_URL, "http://127.0.0.1:PORT"; owned by f. */
const char *fake_github_url(const struct fake_github *f);

/* The App: its ID, its public key (PEM "PUBLIC KEY"), the installation ID
 * and the repository ("owner/name") it is installed on.  Copied; false
 * when the key does not parse. */
bool fake_github_set_app(struct fake_github *f, const char *app_id, const char *public_pem,
			 const char *installation_id, const char *repo);
void fake_github_push(struct fake_github *f, enum fake_github_route route,
		      const struct fake_github_reply *r);   /* copies */

/* Recorded requests, in arrival order (strings: caller frees, NULL = none). */
size_t fake_github_request_count(struct fake_github *f);
char *fake_github_request_method(struct fake_github *f, size_t i);
char *fake_github_request_path(struct fake_github *f, size_t i);
char *fake_github_request_header(struct fake_github *f, size_t i, const char *name);
char *fake_github_request_body(struct fake_github *f, size_t i);
json_t *fake_github_request_json(struct fake_github *f, size_t i);   /* new reference */
bool fake_github_wait_requests(struct fake_github *f, size_t n, int timeout_ms);
/* Requests that reached a route (authorised or not). */
size_t fake_github_route_count(struct fake_github *f, enum fake_github_route route);
/* Issues created (201 answered). */
size_t fake_github_issue_count(struct fake_github *f);

/* The JWTs seen on token requests, in order; *out is a copy the caller
 * releases with fake_github_jwt_release.  false when there is no JWT i. */
size_t fake_github_jwt_count(struct fake_github *f);
bool fake_github_jwt(struct fake_github *f, size_t i, struct fake_github_jwt *out);
void fake_github_jwt_release(struct fake_github_jwt *j);

/* Answer bodies the fake produces, for tests and fuzz seeds (caller frees). */
char *fake_github_token_body(const char *token, const char *expires_at);
char *fake_github_issue_body(const char *repo, long long number, const char *title,
			     const char *body, const char *const *labels);

#endif
