/* fake_github.c — GitHub's App token and issue endpoints, checked like the
 * real service checks them.
 *
 * The HTTP plumbing, the request record and the reply FIFO are
 * fake_search_server.c's.  The JWT is verified independently of the client
 * (OpenSSL EVP_DigestVerify with the public key, base64url decoded by
 * libsodium), so a client that signs the wrong bytes or with the wrong key
 * is caught here, not trusted. */
#include "fakes/fake_github.h"
#include "fakes/fake_search_server.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define TYPE "application/json; charset=utf-8"
#define DOCS "https://docs.github.com/rest"
#define LEEWAY_S 60

struct item {
	struct fake_github_reply r;   /* owned raw_body */
};

struct fake_github {
	struct fss *srv;
	pthread_mutex_t lock;         /* guards what follows */
	char *app_id, *installation_id, *repo;
	EVP_PKEY *pub;
	struct fss_queue replies[2];
	char **tokens;                /* issued */
	size_t ntokens, captokens;
	struct fake_github_jwt *jwts;
	size_t njwts, capjwts;
	size_t routes[2];
	size_t issues;
};

static struct item *item_new(const struct fake_github_reply *r)
{
	struct item *it = xcalloc(1, sizeof(*it));

	it->r = *r;
	it->r.raw_body = xstrdup(r->raw_body);
	return it;
}

static void item_free(void *p)
{
	struct item *it = p;

	if (!it)
		return;
	free((char *)it->r.raw_body);
	free(it);
}

static char *message_body(const char *message)
{
	json_t *j = json_object();
	char *s;

	kjson_set_str(j, "message", message);
	kjson_set_str(j, "documentation_url", DOCS);
	s = kjson_dump(j, false);
	json_decref(j);
	return s;
}

char *fake_github_token_body(const char *token, const char *expires_at)
{
	json_t *j = json_object(), *perm = json_object();
	char *s;

	kjson_set_str(j, "token", token);
	kjson_set_str(j, "expires_at", expires_at);
	kjson_set_str(perm, "issues", "write");
	kjson_set_str(perm, "metadata", "read");
	json_object_set_new(j, "permissions", perm);
	kjson_set_str(j, "repository_selection", "selected");
	s = kjson_dump(j, false);
	json_decref(j);
	return s;
}

char *fake_github_issue_body(const char *repo, long long number, const char *title,
			     const char *body, const char *const *labels)
{
	json_t *j = json_object(), *ls = json_array(), *user = json_object();
	char *s, *u;

	json_object_set_new(j, "id", json_integer(1000000 + number));
	json_object_set_new(j, "number", json_integer(number));
	u = xasprintf("https://api.github.com/repos/%s/issues/%lld", repo, number);
	kjson_set_str(j, "url", u);
	free(u);
	u = xasprintf("https://github.com/%s/issues/%lld", repo, number);
	kjson_set_str(j, "html_url", u);
	free(u);
	kjson_set_str(j, "state", "open");
	kjson_set_str(j, "title", title);
	json_object_set_new(j, "body", body ? json_string(body) : json_null());
	for (size_t i = 0; labels && labels[i]; i++) {
		json_t *l = json_object();

		kjson_set_str(l, "name", labels[i]);
		kjson_set_str(l, "color", "d73a4a");
		json_array_append_new(ls, l);
	}
	json_object_set_new(j, "labels", ls);
	kjson_set_str(user, "login", "kith-app[bot]");
	kjson_set_str(user, "type", "Bot");
	json_object_set_new(j, "user", user);
	json_object_set_new(j, "assignee", json_null());
	s = kjson_dump(j, false);
	json_decref(j);
	return s;
}

/* ---- the JWT --------------------------------------------------------------- */

static unsigned char *b64url_decode(const char *p, size_t n, size_t *len)
{
	unsigned char *out = xmalloc(n + 1);

	if (sodium_base642bin(out, n + 1, p, n, NULL, len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
		free(out);
		return NULL;
	}
	out[*len] = '\0';
	return out;
}

static json_t *b64url_json(const char *p, size_t n)
{
	size_t len = 0;
	unsigned char *raw = b64url_decode(p, n, &len);
	json_t *j = raw ? kjson_parse((const char *)raw, len, NULL) : NULL;

	free(raw);
	return j;
}

/* Decode and check the JWT (called under f->lock); records it and returns
 * NULL when it is acceptable, else the message for the 401. */
static const char *check_jwt(struct fake_github *f, const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	struct fake_github_jwt rec = { 0 };
	json_t *hdr = NULL, *claims = NULL, *iss;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	long long now = clock_now_ms() / 1000;
	const char *err = NULL;

	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return "A JSON web token could not be decoded";
	hdr = b64url_json(jwt, (size_t)(d1 - jwt));
	claims = b64url_json(d1 + 1, (size_t)(d2 - d1 - 1));
	sig = b64url_decode(d2 + 1, strlen(d2 + 1), &siglen);
	if (!json_is_object(hdr) || !json_is_object(claims) || !sig) {
		err = "A JSON web token could not be decoded";
		goto out;
	}
	rec.alg = xstrdup(kjson_str(hdr, "alg"));
	iss = json_object_get(claims, "iss");
	if (json_is_string(iss))
		rec.iss = xstrdup(json_string_value(iss));
	else if (json_is_integer(iss))
		rec.iss = xasprintf("%lld", (long long)json_integer_value(iss));
	(void)kjson_int(claims, "iat", &rec.iat);
	(void)kjson_int(claims, "exp", &rec.exp);
	if (f->pub) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		rec.verified = md &&
			EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, f->pub) == 1 &&
			EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt,
					 (size_t)(d2 - jwt)) == 1;
		EVP_MD_CTX_free(md);
		ERR_clear_error();
	}
	f->jwts = xgrow(f->jwts, &f->capjwts, f->njwts + 1, sizeof(*f->jwts));
	f->jwts[f->njwts++] = rec;
	if (!rec.alg || strcmp(rec.alg, "RS256") != 0)
		err = "'alg' must be RS256";
	else if (!rec.verified)
		err = "A JSON web token could not be decoded";
	else if (!rec.iss || !f->app_id || strcmp(rec.iss, f->app_id) != 0)
		err = "'Issuer' claim ('iss') must be an Integer";
	else if (!rec.iat || rec.iat > now + LEEWAY_S)
		err = "'Issued at' claim ('iat') must be an Integer representing a time in the past";
	else if (!rec.exp || rec.exp <= now)
		err = "'Expiration time' claim ('exp') must be a numeric value representing the "
		      "future time at which the assertion expires";
	else if (rec.exp > now + 600 + LEEWAY_S)
		err = "'Expiration time' claim ('exp') is too far in the future";
out:
	json_decref(hdr);
	json_decref(claims);
	free(sig);
	return err;
}

/* ---- routing --------------------------------------------------------------- */

static char *bearer(struct fss *srv, size_t index)
{
	char *h = fss_request_header(srv, index, "Authorization"), *v = NULL;

	if (h && strncmp(h, "Bearer ", 7) == 0)
		v = xstrdup(h + 7);
	else if (h && strncmp(h, "token ", 6) == 0)
		v = xstrdup(h + 6);
	free(h);
	return v;
}

static bool token_known(struct fake_github *f, const char *t)
{
	for (size_t i = 0; t && i < f->ntokens; i++)
		if (strcmp(f->tokens[i], t) == 0)
			return true;
	return false;
}

/* "/app/installations/{id}/access_tokens" → id (heap) */
static char *token_route(const char *path)
{
	static const char pre[] = "/app/installations/", post[] = "/access_tokens";
	size_t n = strlen(path), lp = sizeof(pre) - 1, ls = sizeof(post) - 1;

	if (n <= lp + ls || strncmp(path, pre, lp) != 0 || strcmp(path + n - ls, post) != 0)
		return NULL;
	return xstrndup(path + lp, n - lp - ls);
}

/* "/repos/{owner}/{name}/issues" → "owner/name" (heap) */
static char *issue_route(const char *path)
{
	static const char pre[] = "/repos/", post[] = "/issues";
	size_t n = strlen(path), lp = sizeof(pre) - 1, ls = sizeof(post) - 1;

	if (n <= lp + ls || strncmp(path, pre, lp) != 0 || strcmp(path + n - ls, post) != 0)
		return NULL;
	return xstrndup(path + lp, n - lp - ls);
}

static void answer_scripted(struct fss_answer *a, struct item *it)
{
	fss_answer_text(a, it->r.status, TYPE,
			it->r.raw_body ? xstrdup(it->r.raw_body) : message_body("Scripted failure"));
}

static void handle_token(struct fake_github *f, struct fss *srv, size_t index, const char *inst,
			 struct fss_answer *a)
{
	char *jwt = bearer(srv, index);
	const char *err;
	struct item *it;
	bool last;

	f->routes[FAKE_GITHUB_TOKEN]++;
	if (!jwt) {
		fss_answer_text(a, 401, TYPE, message_body("A JSON web token could not be decoded"));
		return;
	}
	err = check_jwt(f, jwt);
	free(jwt);
	if (err) {
		fss_answer_text(a, 401, TYPE, message_body(err));
		return;
	}
	if (!f->installation_id || strcmp(inst, f->installation_id) != 0) {
		fss_answer_text(a, 404, TYPE, message_body("Not Found"));
		return;
	}
	it = fss_queue_take(&f->replies[FAKE_GITHUB_TOKEN], &last);
	if (it) {
		answer_scripted(a, it);
		if (last)
			item_free(it);
		return;
	}
	{
		char exp[32], *tok = xasprintf("ghs_fake%04zuTOKENabcdefghijklmnopqrstuv",
					       f->ntokens + 1);

		clock_format_utc(clock_now_ms() + 3600 * 1000, exp, sizeof(exp));
		f->tokens = xgrow(f->tokens, &f->captokens, f->ntokens + 1, sizeof(*f->tokens));
		f->tokens[f->ntokens++] = tok;
		fss_answer_text(a, 201, TYPE, fake_github_token_body(tok, exp));
	}
}

static void handle_issue(struct fake_github *f, struct fss *srv, size_t index, const char *repo,
			 const char *body, size_t len, struct fss_answer *a)
{
	char *tok = bearer(srv, index);
	json_t *j = NULL, *ls;
	const char **labels = NULL;
	struct item *it;
	bool last;
	size_t i, nl;

	f->routes[FAKE_GITHUB_ISSUE]++;
	if (!token_known(f, tok)) {
		fss_answer_text(a, 401, TYPE, message_body("Bad credentials"));
		goto out;
	}
	if (!f->repo || strcmp(repo, f->repo) != 0) {
		fss_answer_text(a, 404, TYPE, message_body("Not Found"));
		goto out;
	}
	it = fss_queue_take(&f->replies[FAKE_GITHUB_ISSUE], &last);
	if (it) {
		answer_scripted(a, it);
		if (last)
			item_free(it);
		goto out;
	}
	j = kjson_parse(body, len, NULL);
	if (!json_is_object(j) || !kjson_str(j, "title")) {
		fss_answer_text(a, 422, TYPE, message_body("Invalid request.\n\n\"title\" wasn't supplied."));
		goto out;
	}
	ls = kjson_arr(j, "labels");
	nl = ls ? json_array_size(ls) : 0;
	labels = xcalloc(nl + 1, sizeof(*labels));
	for (i = 0; i < nl; i++)
		labels[i] = json_string_value(json_array_get(ls, i));
	labels[nl] = NULL;
	for (i = 0; i < nl; i++)
		if (!labels[i]) {
			fss_answer_text(a, 422, TYPE, message_body("Invalid request."));
			goto out;
		}
	f->issues++;
	fss_answer_text(a, 201, TYPE,
			fake_github_issue_body(repo, (long long)f->issues, kjson_str(j, "title"),
					       kjson_str(j, "body"), labels));
out:
	free(labels);
	json_decref(j);
	free(tok);
}

static void handle(void *ud, struct fss *srv, size_t index, const char *method, const char *path,
		   const char *body, size_t len, struct fss_answer *a)
{
	struct fake_github *f = ud;
	char *ua = fss_request_header(srv, index, "User-Agent");
	char *inst = token_route(path), *repo = issue_route(path);

	pthread_mutex_lock(&f->lock);
	if (!ua || !*ua)
		fss_answer_text(a, 403, TYPE, message_body("Request forbidden by administrative "
							   "rules. Please make sure your request "
							   "has a User-Agent header"));
	else if (inst && strcmp(method, "POST") == 0)
		handle_token(f, srv, index, inst, a);
	else if (repo && strcmp(method, "POST") == 0)
		handle_issue(f, srv, index, repo, body, len, a);
	else
		fss_answer_text(a, 404, TYPE, message_body("Not Found"));
	pthread_mutex_unlock(&f->lock);
	free(ua);
	free(inst);
	free(repo);
}

/* ---- lifecycle and records ------------------------------------------------ */

struct fake_github *fake_github_start(void)
{
	struct fake_github *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->srv = fss_start("fake_github", handle, f);
	if (!f->srv) {
		fake_github_stop(f);
		return NULL;
	}
	return f;
}

void fake_github_jwt_release(struct fake_github_jwt *j)
{
	if (!j)
		return;
	free(j->alg);
	free(j->iss);
	memset(j, 0, sizeof(*j));
}

void fake_github_stop(struct fake_github *f)
{
	if (!f)
		return;
	fss_stop(f->srv);
	for (int r = 0; r < 2; r++)
		fss_queue_clear(&f->replies[r], item_free);
	for (size_t i = 0; i < f->ntokens; i++)
		free(f->tokens[i]);
	free(f->tokens);
	for (size_t i = 0; i < f->njwts; i++)
		fake_github_jwt_release(&f->jwts[i]);
	free(f->jwts);
	EVP_PKEY_free(f->pub);
	free(f->app_id);
	free(f->installation_id);
	free(f->repo);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const char *fake_github_url(const struct fake_github *f)
{
	return fss_url(f->srv);
}

bool fake_github_set_app(struct fake_github *f, const char *app_id, const char *public_pem,
			 const char *installation_id, const char *repo)
{
	BIO *bio = BIO_new_mem_buf(public_pem, -1);
	EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	ERR_clear_error();
	if (!pk)
		return false;
	pthread_mutex_lock(&f->lock);
	EVP_PKEY_free(f->pub);
	f->pub = pk;
	free(f->app_id);
	free(f->installation_id);
	free(f->repo);
	f->app_id = xstrdup(app_id);
	f->installation_id = xstrdup(installation_id);
	f->repo = xstrdup(repo);
	pthread_mutex_unlock(&f->lock);
	return true;
}

void fake_github_push(struct fake_github *f, enum fake_github_route route,
		      const struct fake_github_reply *r)
{
	struct item *it = item_new(r);

	pthread_mutex_lock(&f->lock);
	fss_queue_push(&f->replies[route == FAKE_GITHUB_ISSUE], it, r->times);
	pthread_mutex_unlock(&f->lock);
}

size_t fake_github_request_count(struct fake_github *f)
{
	return fss_request_count(f->srv);
}

char *fake_github_request_method(struct fake_github *f, size_t i)
{
	return fss_request_method(f->srv, i);
}

char *fake_github_request_path(struct fake_github *f, size_t i)
{
	return fss_request_path(f->srv, i);
}

char *fake_github_request_header(struct fake_github *f, size_t i, const char *name)
{
	return fss_request_header(f->srv, i, name);
}

char *fake_github_request_body(struct fake_github *f, size_t i)
{
	return fss_request_body(f->srv, i);
}

json_t *fake_github_request_json(struct fake_github *f, size_t i)
{
	return fss_request_json(f->srv, i);
}

bool fake_github_wait_requests(struct fake_github *f, size_t n, int timeout_ms)
{
	return fss_wait_requests(f->srv, n, timeout_ms);
}

size_t fake_github_route_count(struct fake_github *f, enum fake_github_route route)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->routes[route == FAKE_GITHUB_ISSUE];
	pthread_mutex_unlock(&f->lock);
	return n;
}

size_t fake_github_issue_count(struct fake_github *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->issues;
	pthread_mutex_unlock(&f->lock);
	return n;
}

size_t fake_github_jwt_count(struct fake_github *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->njwts;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool fake_github_jwt(struct fake_github *f, size_t i, struct fake_github_jwt *out)
{
	bool ok;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&f->lock);
	ok = i < f->njwts;
	if (ok) {
		*out = f->jwts[i];
		out->alg = xstrdup(f->jwts[i].alg);
		out->iss = xstrdup(f->jwts[i].iss);
	}
	pthread_mutex_unlock(&f->lock);
	return ok;
}
