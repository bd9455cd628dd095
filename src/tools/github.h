/* github.h — filing issues through a GitHub App (/bug and /feature).
 *
 * The App authenticates in two steps: a short JWT (RS256, signed with the
 * App's PEM private key, iss = the App ID, iat 60 s in the past to absorb
 * clock skew, exp 10 minutes ahead) buys an installation token at
 * POST /app/installations/{id}/access_tokens; the token then authorises
 * POST /repos/{owner}/{name}/issues.  Installation tokens live an hour, so
 * they are cached process-wide for GITHUB_TOKEN_TTL_S, keyed by API URL and
 * installation ID; a 401 from the issues endpoint drops the cached token.
 *
 * The JWT, the token and the key never reach a log line or a *why: tokens
 * are registered with log_add_secret() as soon as they exist.  The parsers
 * work on buffers so the fuzzer and the tests feed them bytes directly. */
#ifndef KITH_TOOLS_GITHUB_H
#define KITH_TOOLS_GITHUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"

struct config;

#define GITHUB_TOKEN_TTL_S 3300          /* cache an installation token (GitHub: 1 h) */
#define GITHUB_JWT_BACKDATE_S 60         /* iat = now - 60 */
#define GITHUB_JWT_LIFETIME_S 600        /* exp = now + 600 (GitHub's maximum) */
#define GITHUB_TITLE_CHARS 60            /* characters of the description in a title */
#define GITHUB_TITLE_MAX 256             /* bytes */
#define GITHUB_BODY_MAX 60000            /* bytes of description kept (GitHub: 65536 chars) */
#define GITHUB_FIELD_MAX 2048            /* bytes accepted for a token or html_url */
#define GITHUB_MAX_RESPONSE ((size_t)1 << 20)

/* Where and as whom to file (borrowed strings). */
struct github_app {
	const char *api_url;           /* GITHUB_API_URL, e.g. https://api.github.com */
	const char *app_id;            /* GITHUB_APP_ID */
	const char *key_path;          /* GITHUB_APP_PRIVATE_KEY_PATH (relative = from the cwd) */
	const char *installation_id;   /* GITHUB_APP_INSTALLATION_ID */
	const char *repo;              /* GITHUB_REPO, "owner/name" */
	long timeout_ms;               /* per request; 0 = 30 s */
	int attempts;                  /* tries of the token request; 0 = 2 */
	const struct cancel *cancel;   /* may be NULL */
};

/* An issue to open (borrowed strings). */
struct github_issue {
	const char *title;
	const char *body;
	const char *const *labels;     /* NULL-terminated, or NULL for none */
};

/* Fill `g` from the settings (borrowed from cfg). */
void github_app_from_config(struct github_app *g, const struct config *cfg);
/* NULL when `cfg` has everything /bug needs, else a static sentence naming
 * the settings to set (or saying GITHUB_REPO is malformed).  cfg NULL =
 * nothing configured. */
const char *github_needs(const struct config *cfg);
/* "owner/name": both parts non-empty, letters, digits, '-', '_', '.', and
 * neither "." nor "..". */
bool github_repo_valid(const char *repo);

/* The title for a description (heap, caller frees): whitespace runs become
 * one space; up to GITHUB_TITLE_CHARS characters as is; longer ones are cut
 * at the last space before that many characters, or at that many characters
 * when there is no space, on a UTF-8 boundary, with "..." appended.  Never
 * longer than GITHUB_TITLE_MAX bytes. */
char *github_issue_title(const char *description);

/* `s` as valid UTF-8 (heap, caller frees): each byte that does not start a
 * valid sequence becomes U+FFFD; at most `max` bytes, whole characters
 * only.  JSON strings must be UTF-8 (jansson refuses anything else). */
char *github_utf8_clean(const char *s, size_t max);

/* base64url without padding (heap, caller frees). */
char *github_b64url(const void *p, size_t n);

/* A signed App JWT for `app_id` at `now_s` (epoch seconds) with the PEM RSA
 * private key at `key_path` (heap, caller frees; a secret).  KITH_ECONFIG
 * when the key cannot be read or is not an RSA private key. */
enum kith_status github_app_jwt(const char *app_id, const char *key_path, int64_t now_s,
				char **jwt, char **why) KITH_MUST_CHECK;

/* Parse the access_tokens answer: *token (heap, a secret) must be a
 * non-empty printable ASCII string of at most GITHUB_FIELD_MAX bytes;
 * *expires_at (heap, may be NULL to ignore) gets "expires_at" or "". */
enum kith_status github_parse_token(const char *p, size_t n, char **token, char **expires_at,
				    char **why) KITH_MUST_CHECK;
/* Parse the created issue: *html_url (heap) an http(s) URL without control
 * characters; *number (may be NULL) its number, 0 when absent. */
enum kith_status github_parse_issue(const char *p, size_t n, char **html_url, long long *number,
				    char **why) KITH_MUST_CHECK;
/* GitHub's error body {"message": …}: the message, cleaned of control
 * characters and cut to 200 bytes (heap), or NULL when there is none. */
char *github_parse_error(const char *p, size_t n);

/* An installation token for g, from the cache or a fresh request (heap,
 * caller frees).  Errors in words: KITH_EAUTH for 401/403 (wrong App ID or
 * key), KITH_ENOTFOUND for 404 (wrong installation), KITH_ECONFIG for a
 * key that cannot be used. */
enum kith_status github_installation_token(const struct github_app *g, char **token,
					   char **why) KITH_MUST_CHECK;
/* Forget every cached token (tests; a key rotation). */
void github_token_cache_clear(void);

/* The whole filing: token, POST /repos/{repo}/issues, parse.  *html_url
 * (heap) is the new issue's page.  The POST is not retried after GitHub
 * answered (a retry could file the issue twice).  KITH_EAUTH for 401/403
 * (with a sentence about the Issues permission), KITH_ENOTFOUND for 404,
 * KITH_ERATELIMIT for 429, KITH_EHTTP otherwise, KITH_EPROTO for an
 * answer that is not an issue. */
enum kith_status github_create_issue(const struct github_app *g, const struct github_issue *is,
				     char **html_url, char **why) KITH_MUST_CHECK;

#endif
