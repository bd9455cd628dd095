/* github.c — a GitHub App client: the JWT, installation tokens, issues
 * (titles and answer parsing are in github_text.c).
 *
 * The JWT is built by hand (three base64url parts) and signed with OpenSSL's
 * EVP_DigestSign over SHA-256, so no JWT library is needed; the key is read
 * for each new token (once an hour at most), never kept in memory.  The
 * token request is retried on a dropped connection and 5xx; the issue POST
 * only when no answer came at all, since a retry after GitHub answered
 * could file the same issue twice.  GitHub's answers are never trusted: a
 * token with a CR or LF could smuggle a header, so only printable ASCII is
 * accepted. */
#include "tools/github.h"

#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define TAG "github"
#define ACCEPT "Accept: application/vnd.github+json"
#define API_VERSION "X-GitHub-Api-Version: 2022-11-28"
#define USER_AGENT "User-Agent: kith/" KITH_VERSION

/* ---- settings ------------------------------------------------------------- */

void github_app_from_config(struct github_app *g, const struct config *cfg)
{
	memset(g, 0, sizeof(*g));
	g->api_url = config_str(cfg, CFG_GITHUB_API_URL);
	g->app_id = config_str(cfg, CFG_GITHUB_APP_ID);
	g->key_path = config_str(cfg, CFG_GITHUB_APP_PRIVATE_KEY_PATH);
	g->installation_id = config_str(cfg, CFG_GITHUB_APP_INSTALLATION_ID);
	g->repo = config_str(cfg, CFG_GITHUB_REPO);
}

static bool repo_part_ok(const char *p, size_t n)
{
	if (n == 0 || n > 100 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

bool github_repo_valid(const char *repo)
{
	const char *slash = repo ? strchr(repo, '/') : NULL;

	return slash && repo_part_ok(repo, (size_t)(slash - repo)) &&
	       repo_part_ok(slash + 1, strlen(slash + 1));
}

static bool set(const struct config *cfg, enum cfg_id id)
{
	const char *s = cfg ? config_str(cfg, id) : NULL;

	return s && *s;
}

const char *github_needs(const struct config *cfg)
{
	if (!set(cfg, CFG_GITHUB_APP_ID) || !set(cfg, CFG_GITHUB_APP_PRIVATE_KEY_PATH) ||
	    !set(cfg, CFG_GITHUB_APP_INSTALLATION_ID) || !set(cfg, CFG_GITHUB_REPO))
		return "Set GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY_PATH, GITHUB_APP_INSTALLATION_ID "
		       "and GITHUB_REPO to file issues.";
	if (!github_repo_valid(config_str(cfg, CFG_GITHUB_REPO)))
		return "GITHUB_REPO must name the repository as owner/name to file issues.";
	return NULL;
}

/* ---- the JWT --------------------------------------------------------------- */

char *github_b64url(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = xmalloc(cap);

	sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* Never prompt on the terminal for an encrypted key: refuse it. */
static int no_passphrase(char *buf, int size, int rwflag, void *ud)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)ud;
	return -1;
}

static enum kith_status load_key(const char *path, EVP_PKEY **out, char **why)
{
	BIO *bio;
	EVP_PKEY *pk;

	*out = NULL;
	if (!path || !*path)
		return kith_why(why, KITH_ECONFIG, "GITHUB_APP_PRIVATE_KEY_PATH is not set");
	bio = BIO_new_file(path, "r");
	if (!bio) {
		ERR_clear_error();
		return kith_why(why, KITH_ECONFIG, "cannot read the GitHub App private key %s", path);
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!pk)
		return kith_why(why, KITH_ECONFIG,
				"%s is not an unencrypted PEM private key", path);
	if (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pk);
		return kith_why(why, KITH_ECONFIG, "%s is not an RSA key (GitHub Apps use RSA)",
				path);
	}
	*out = pk;
	return KITH_OK;
}

enum kith_status github_app_jwt(const char *app_id, const char *key_path, int64_t now_s,
				char **jwt, char **why)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	json_t *claims = NULL;
	char *cj = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL, *input = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	enum kith_status rc;

	*jwt = NULL;
	if (!app_id || !*app_id)
		return kith_why(why, KITH_ECONFIG, "GITHUB_APP_ID is not set");
	rc = load_key(key_path, &pk, why);
	if (rc)
		goto out;
	claims = json_object();
	json_object_set_new(claims, "iat", json_integer((json_int_t)(now_s - GITHUB_JWT_BACKDATE_S)));
	json_object_set_new(claims, "exp", json_integer((json_int_t)(now_s + GITHUB_JWT_LIFETIME_S)));
	kjson_set_str(claims, "iss", app_id);
	cj = kjson_dump(claims, false);
	h64 = github_b64url(header, strlen(header));
	c64 = github_b64url(cj, strlen(cj));
	input = xasprintf("%s.%s", h64, c64);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		rc = kith_why(why, KITH_ECONFIG, "cannot sign with the GitHub App key");
		goto out;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		rc = kith_why(why, KITH_ECONFIG, "cannot sign with the GitHub App key");
		goto out;
	}
	s64 = github_b64url(sig, siglen);
	/* Not registered with log_add_secret: the JWT only ever travels in a
	 * request header, which nothing logs, and it dies in ten minutes; the
	 * registry has no eviction, so one entry per token is enough. */
	*jwt = xasprintf("%s.%s", input, s64);
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	json_decref(claims);
	free(cj);
	free(h64);
	free(c64);
	free(s64);
	free(input);
	free(sig);
	return rc;
}

/* ---- the token cache ------------------------------------------------------ */

struct cached {
	struct cached *next;
	char *key;        /* api_url + " " + installation id */
	char *token;
	int64_t until_ms;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached *cache;   /* guarded by cache_lock */

static char *cache_key(const struct github_app *g)
{
	return xasprintf("%s %s", g->api_url ? g->api_url : "", g->installation_id);
}

static char *cache_get(const char *key, int64_t now)
{
	char *t = NULL;

	pthread_mutex_lock(&cache_lock);
	for (struct cached *c = cache; c; c = c->next)
		if (strcmp(c->key, key) == 0 && now < c->until_ms)
			t = xstrdup(c->token);
	pthread_mutex_unlock(&cache_lock);
	return t;
}

/* token NULL = forget the entry */
static void cache_put(const char *key, const char *token, int64_t until_ms)
{
	struct cached **pp, *c;

	pthread_mutex_lock(&cache_lock);
	for (pp = &cache; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			break;
	c = *pp;
	/* The token it replaces has expired or been refused: no longer a
	 * secret worth masking. */
	if (c && c->token && (!token || strcmp(c->token, token) != 0))
		log_remove_secret(c->token);
	if (c && !token) {
		*pp = c->next;
		free(c->key);
		free(c->token);
		free(c);
	} else if (token) {
		if (!c) {
			c = xcalloc(1, sizeof(*c));
			c->key = xstrdup(key);
			c->next = cache;
			cache = c;
		}
		free(c->token);
		c->token = xstrdup(token);
		c->until_ms = until_ms;
	}
	pthread_mutex_unlock(&cache_lock);
}

void github_token_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	while (cache) {
		struct cached *c = cache;

		cache = c->next;
		free(c->key);
		free(c->token);
		free(c);
	}
	pthread_mutex_unlock(&cache_lock);
}

/* ---- the calls ------------------------------------------------------------ */

/* A sentence for a failed exchange; `what` says which ("the token request"). */
static enum kith_status transport_failure(enum kith_status rc, const char *what,
					  const char *reason, char **why)
{
	if (rc == KITH_ETIMEDOUT)
		return kith_why(why, rc, "GitHub did not answer %s in time", what);
	if (rc == KITH_ECANCELED)
		return kith_why(why, rc, "%s was cancelled", what);
	if (rc == KITH_ETOOBIG)
		return kith_why(why, rc, "GitHub's answer to %s is too big", what);
	return kith_why(why, rc, "cannot reach GitHub: %s", reason ? reason : kith_strerror(rc));
}

static void request_init(struct http_request *req, const struct github_app *g, const char *url,
			 const char *const *headers, const char *body)
{
	memset(req, 0, sizeof(*req));
	req->method = "POST";
	req->url = url;
	req->headers = headers;
	req->body = body;
	req->body_len = strlen(body);
	req->timeout_ms = g->timeout_ms > 0 ? g->timeout_ms : 30000;
	req->connect_timeout_ms = 10000;
	req->max_response = GITHUB_MAX_RESPONSE;
	req->cancel = g->cancel;
}

static enum kith_status token_refused(const struct http_response *resp, const struct github_app *g,
				      char **why)
{
	char *msg = github_parse_error(buf_str(&resp->body), resp->body.len);
	const char *m = msg ? msg : "no reason given";
	enum kith_status rc;

	switch (resp->status) {
	case 401:
	case 403:
		rc = kith_why(why, KITH_EAUTH, "GitHub refused the App's credentials (HTTP %ld: %s); "
			      "check GITHUB_APP_ID and the private key", resp->status, m);
		break;
	case 404:
		rc = kith_why(why, KITH_ENOTFOUND, "GitHub has no installation %s of this App "
			      "(HTTP 404); check GITHUB_APP_INSTALLATION_ID", g->installation_id);
		break;
	case 429:
		rc = kith_why(why, KITH_ERATELIMIT, "GitHub is rate limiting the App (HTTP 429)");
		break;
	default:
		rc = kith_why(why, KITH_EHTTP, "GitHub answered the token request with HTTP %ld: %s",
			      resp->status, m);
	}
	free(msg);
	return rc;
}

enum kith_status github_installation_token(const struct github_app *g, char **token, char **why)
{
	char *key = NULL, *jwt = NULL, *auth = NULL, *url = NULL, *reason = NULL;
	const char *headers[5];
	struct http_request req;
	struct http_retry policy = { 0 };
	struct http_response resp;
	int64_t now = clock_now_ms();
	enum kith_status rc;

	*token = NULL;
	http_response_init(&resp);
	if (!g->installation_id || !*g->installation_id || !g->api_url || !*g->api_url) {
		rc = kith_why(why, KITH_ECONFIG, "GitHub is not configured");
		goto out;
	}
	key = cache_key(g);
	*token = cache_get(key, now);
	if (*token) {
		rc = KITH_OK;
		goto out;
	}
	rc = github_app_jwt(g->app_id, g->key_path, now / 1000, &jwt, why);
	if (rc) {
		log_warn(TAG, "no App JWT: %s", why && *why ? *why : kith_strerror(rc));
		goto out;
	}
	auth = xasprintf("Authorization: Bearer %s", jwt);
	headers[0] = auth;
	headers[1] = ACCEPT;
	headers[2] = API_VERSION;
	headers[3] = USER_AGENT;
	headers[4] = NULL;
	url = xasprintf("%s/app/installations/%s/access_tokens", g->api_url, g->installation_id);
	request_init(&req, g, url, headers, "");
	policy.max_attempts = g->attempts > 0 ? g->attempts : 2;
	policy.base_ms = 500;
	policy.max_ms = 5000;
	rc = http_perform_retry(&req, &policy, &resp, NULL, &reason);
	if (rc == KITH_EHTTP)
		rc = token_refused(&resp, g, why);
	else if (rc)
		rc = transport_failure(rc, "the token request", reason, why);
	if (!rc)
		rc = github_parse_token(buf_str(&resp.body), resp.body.len, token, NULL, why);
	if (rc) {
		log_warn(TAG, "no installation token: %s", why && *why ? *why : kith_strerror(rc));
		goto out;
	}
	log_add_secret(*token);
	cache_put(key, *token, now + (int64_t)GITHUB_TOKEN_TTL_S * 1000);
	log_info(TAG, "new installation token for installation %s", g->installation_id);
out:
	if (jwt) {
		sodium_memzero(jwt, strlen(jwt));
		sodium_memzero(auth, strlen(auth));
	}
	free(jwt);
	free(auth);
	free(url);
	free(key);
	free(reason);
	http_response_release(&resp);
	return rc;
}

static enum kith_status issue_refused(const struct http_response *resp, const struct github_app *g,
				      char **why)
{
	char *msg = github_parse_error(buf_str(&resp->body), resp->body.len);
	const char *m = msg ? msg : "no reason given";
	enum kith_status rc;

	switch (resp->status) {
	case 401:
		rc = kith_why(why, KITH_EAUTH, "GitHub did not accept the installation token "
			      "(HTTP 401: %s)", m);
		break;
	case 403:
		rc = kith_why(why, KITH_EAUTH, "the GitHub App may not create issues in %s "
			      "(HTTP 403: %s); give it the Issues read and write permission and "
			      "install it on the repository", g->repo, m);
		break;
	case 404:
		rc = kith_why(why, KITH_ENOTFOUND, "GitHub cannot find %s, or the App is not "
			      "installed on it (HTTP 404)", g->repo);
		break;
	case 410:
		rc = kith_why(why, KITH_EHTTP, "issues are turned off in %s (HTTP 410)", g->repo);
		break;
	case 429:
		rc = kith_why(why, KITH_ERATELIMIT, "GitHub is rate limiting the App (HTTP 429)");
		break;
	default:
		rc = kith_why(why, KITH_EHTTP, "GitHub answered HTTP %ld: %s", resp->status, m);
	}
	free(msg);
	return rc;
}

/* Retry only when no answer came: after any answer the issue may exist. */
static bool no_retry_after_answer(const struct http_response *r, void *ud)
{
	(void)ud;
	return r->status != 0;
}

enum kith_status github_create_issue(const struct github_app *g, const struct github_issue *is,
				     char **html_url, char **why)
{
	char *token = NULL, *auth = NULL, *url = NULL, *body = NULL, *reason = NULL, *key = NULL;
	const char *headers[6];
	struct http_request req;
	struct http_retry policy = { 0 };
	struct http_response resp;
	json_t *j = NULL, *labels;
	long long number = 0;
	enum kith_status rc;

	*html_url = NULL;
	http_response_init(&resp);
	if (!github_repo_valid(g->repo)) {
		rc = kith_why(why, KITH_ECONFIG, "GITHUB_REPO is not owner/name");
		goto out;
	}
	if (!is->title || !*is->title) {
		rc = kith_why(why, KITH_EINVAL, "an issue needs a title");
		goto out;
	}
	rc = github_installation_token(g, &token, why);
	if (rc)
		goto out;
	j = json_object();
	kjson_set_str(j, "title", is->title);
	kjson_set_str(j, "body", is->body ? is->body : "");
	labels = json_array();
	for (size_t i = 0; is->labels && is->labels[i]; i++)
		json_array_append_new(labels, json_string(is->labels[i]));
	json_object_set_new(j, "labels", labels);
	body = kjson_dump(j, false);
	auth = xasprintf("Authorization: Bearer %s", token);
	headers[0] = auth;
	headers[1] = ACCEPT;
	headers[2] = API_VERSION;
	headers[3] = USER_AGENT;
	headers[4] = "Content-Type: application/json";
	headers[5] = NULL;
	url = xasprintf("%s/repos/%s/issues", g->api_url, g->repo);
	request_init(&req, g, url, headers, body);
	policy.max_attempts = 2;
	policy.base_ms = 500;
	policy.max_ms = 2000;
	policy.give_up = no_retry_after_answer;
	rc = http_perform_retry(&req, &policy, &resp, NULL, &reason);
	if (rc == KITH_EHTTP) {
		if (resp.status == 401) {   /* revoked or expired early: fetch anew next time */
			key = cache_key(g);
			cache_put(key, NULL, 0);
		}
		rc = issue_refused(&resp, g, why);
	} else if (rc) {
		rc = transport_failure(rc, "the issue request", reason, why);
	}
	if (!rc)
		rc = github_parse_issue(buf_str(&resp.body), resp.body.len, html_url, &number, why);
	if (rc) {
		log_warn(TAG, "could not file an issue in %s: %s", g->repo,
			 why && *why ? *why : kith_strerror(rc));
		goto out;
	}
	log_info(TAG, "filed issue #%lld in %s", number, g->repo);
out:
	if (auth)
		sodium_memzero(auth, strlen(auth));
	if (token)
		sodium_memzero(token, strlen(token));
	json_decref(j);
	free(token);
	free(auth);
	free(url);
	free(body);
	free(reason);
	free(key);
	http_response_release(&resp);
	return rc;
}
