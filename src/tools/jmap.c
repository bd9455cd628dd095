/* jmap.c — the JMAP client: session cache and the two requests (the
 * parsers are in jmap_parse.c, email-as-text in jmap_text.c).
 *
 * The session is cached per (session URL, token) pair under one mutex and
 * fetched lazily; HTTP happens outside the lock, so a slow Fastmail never
 * blocks another worker's cache look-up for longer than a string copy.
 * Everything read from the network is typed before use: a subject that is
 * not a string is "", an address list that is not an array is empty. */
#include "tools/jmap.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/utf8.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define TAG "jmap"

struct jmap_client {
	pthread_mutex_t lock;        /* guards what follows */
	char *key_url;               /* the session URL the cache is for */
	char *key_token;             /* and the token (kept in memory only) */
	struct jmap_session s;
	bool valid;
};

void jmap_session_release(struct jmap_session *s)
{
	if (!s)
		return;
	free(s->api_url);
	free(s->account_id);
	free(s->state);
	memset(s, 0, sizeof(*s));
}

static void email_release(struct jmap_email *m)
{
	free(m->id);
	free(m->subject);
	free(m->from);
	free(m->to);
	free(m->received_at);
	free(m->preview);
	free(m->body);
}

void jmap_emails_release(struct jmap_emails *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		email_release(&e->v[i]);
	free(e->v);
	for (size_t i = 0; i < e->nnot_found; i++)
		free(e->not_found[i]);
	free(e->not_found);
	memset(e, 0, sizeof(*e));
}

/* ---- the client ---------------------------------------------------------- */

struct jmap_client *jmap_client_new(void)
{
	struct jmap_client *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void jmap_client_free(struct jmap_client *c)
{
	if (!c)
		return;
	jmap_session_release(&c->s);
	free(c->key_url);
	free(c->key_token);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct jmap_client *jmap_shared(void)
{
	static struct jmap_client shared = { .lock = PTHREAD_MUTEX_INITIALIZER };

	return &shared;
}

void jmap_client_forget(struct jmap_client *c)
{
	pthread_mutex_lock(&c->lock);
	c->valid = false;
	pthread_mutex_unlock(&c->lock);
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* A copy of the cached session for conn, if there is a valid one. */
static bool cache_get(struct jmap_client *c, const struct jmap_conn *conn, struct jmap_session *out)
{
	bool hit;

	pthread_mutex_lock(&c->lock);
	hit = c->valid && same(c->key_url, conn->session_url) && same(c->key_token, conn->token);
	if (hit) {
		out->api_url = xstrdup(c->s.api_url);
		out->account_id = xstrdup(c->s.account_id);
		out->state = xstrdup(c->s.state);
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void cache_put(struct jmap_client *c, const struct jmap_conn *conn,
		      const struct jmap_session *s)
{
	pthread_mutex_lock(&c->lock);
	jmap_session_release(&c->s);
	free(c->key_url);
	free(c->key_token);
	c->key_url = xstrdup(conn->session_url);
	c->key_token = xstrdup(conn->token);
	c->s.api_url = xstrdup(s->api_url);
	c->s.account_id = xstrdup(s->account_id);
	c->s.state = xstrdup(s->state);
	c->valid = true;
	pthread_mutex_unlock(&c->lock);
}

/* An answer's sessionState that differs from the session it was sent with
 * means the session changed (new accounts, a moved apiUrl): fetch it again
 * next time. */
static void cache_check_state(struct jmap_client *c, const struct jmap_session *used,
			      const char *state)
{
	if (!state || same(state, used->state))
		return;
	pthread_mutex_lock(&c->lock);
	if (c->valid && same(c->s.state, used->state)) {
		c->valid = false;
		log_info(TAG, "the session state changed; the session will be fetched again");
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- HTTP ---------------------------------------------------------------- */

/* An error answer's RFC 7807 problem type, shortened ("limit"), or NULL. */
static char *problem_type(const struct http_response *r)
{
	json_t *j = kjson_parse(buf_str(&r->body), r->body.len, NULL);
	const char *t = kjson_str(j, "type");
	const char *p = t ? strrchr(t, ':') : NULL;
	char *out = t ? utf8_dup_max(p ? p + 1 : t, 80) : NULL;

	json_decref(j);
	return out;
}

static enum kith_status http_failure(enum kith_status rc, const struct http_response *resp,
				     const char *reason, const char *what, char **why)
{
	if (rc == KITH_EHTTP) {
		char *type;

		if (resp->status == 401)
			return kith_why(why, KITH_EAUTH, "the Fastmail token was refused (HTTP 401)");
		if (resp->status == 403)
			return kith_why(why, KITH_EAUTH, "the Fastmail token may not read mail (HTTP 403)");
		if (resp->status == 429)
			return kith_why(why, KITH_ERATELIMIT, "Fastmail is rate limiting requests (HTTP 429)");
		type = problem_type(resp);
		kith_why(why, KITH_EHTTP, "Fastmail answered HTTP %ld to the %s%s%s%s", resp->status,
			 what, type ? " (" : "", type ? type : "", type ? ")" : "");
		free(type);
		return KITH_EHTTP;
	}
	if (rc == KITH_ETIMEDOUT)
		return kith_why(why, rc, "Fastmail did not answer the %s in time", what);
	if (rc == KITH_ECANCELED)
		return kith_why(why, rc, "the email search was cancelled");
	if (rc == KITH_ETOOBIG)
		return kith_why(why, rc, "Fastmail's answer to the %s is too big", what);
	return kith_why(why, rc, "cannot reach Fastmail: %s", reason ? reason : kith_strerror(rc));
}

/* One exchange with Fastmail; resp holds the 2xx answer. */
static enum kith_status exchange(const struct jmap_conn *conn, const char *url, const char *body,
				 const char *what, struct http_response *resp, char **why)
{
	char *auth = xasprintf("Authorization: Bearer %s", conn->token);
	const char *headers[] = { auth, "Accept: application/json",
				  body ? "Content-Type: application/json" : NULL, NULL };
	struct http_request req = {
		.method = body ? NULL : "GET", .url = url, .headers = headers, .body = body,
		.body_len = body ? strlen(body) : 0,
		.timeout_ms = conn->timeout_ms > 0 ? conn->timeout_ms : 30000,
		.connect_timeout_ms = 10000, .max_response = JMAP_MAX_RESPONSE,
		.cancel = conn->cancel,
		/* The session may be asked for at /.well-known/jmap, which
		 * redirects (RFC 8620 §2.2); API calls are never redirected. */
		.max_redirects = body ? 0 : 3,
	};
	/* Both requests only read, so a retry cannot do anything twice. */
	struct http_retry policy = { .max_attempts = 2, .base_ms = 500, .max_ms = 5000 };
	char *reason = NULL;
	enum kith_status rc;

	rc = http_perform_retry(&req, &policy, resp, NULL, &reason);
	if (rc) {
		char *msg = NULL;

		rc = http_failure(rc, resp, reason, what, &msg);
		if (rc != KITH_ECANCELED)
			log_warn(TAG, "%s failed: %s", what, msg);
		if (why && !*why)
			*why = msg;
		else
			free(msg);
	}
	free(reason);
	/* The header held the token: wipe it before handing the memory back. */
	memset(auth, 0, strlen(auth));
	free(auth);
	return rc;
}

/* apiUrl as an absolute URL: a path-only one is taken relative to the
 * session URL's origin. */
static char *absolute_url(const char *session_url, const char *api_url)
{
	const char *scheme, *slash;

	if (api_url[0] != '/' || api_url[1] == '/')
		return xstrdup(api_url);
	scheme = strstr(session_url, "://");
	if (!scheme)
		return xstrdup(api_url);
	slash = strchr(scheme + 3, '/');
	return xasprintf("%.*s%s", (int)(slash ? slash - session_url : (long)strlen(session_url)),
			 session_url, api_url);
}

static enum kith_status get_session(struct jmap_client *c, const struct jmap_conn *conn,
				    struct jmap_session *out, char **why)
{
	struct http_response resp;
	enum kith_status rc;
	char *api;

	memset(out, 0, sizeof(*out));
	if (!conn->token || !*conn->token)
		return kith_why(why, KITH_ECONFIG, "email is not configured (no FASTMAIL_API_TOKEN)");
	if (!conn->session_url || !*conn->session_url)
		return kith_why(why, KITH_ECONFIG, "no JMAP_SESSION_URL is set");
	if (cache_get(c, conn, out))
		return KITH_OK;
	http_response_init(&resp);
	rc = exchange(conn, conn->session_url, NULL, "session request", &resp, why);
	if (!rc)
		rc = jmap_parse_session(buf_str(&resp.body), resp.body.len, out, why);
	http_response_release(&resp);
	if (rc) {
		jmap_session_release(out);
		return rc;
	}
	api = absolute_url(conn->session_url, out->api_url);
	free(out->api_url);
	out->api_url = api;
	cache_put(c, conn, out);
	return KITH_OK;
}

/* POST the method calls; on a 401 or an unknown account the cached
 * session goes (a new token or account may have replaced it). */
typedef enum kith_status (*parse_fn)(const char *p, size_t n, void *ud, char **state,
				     char **error_type, char **why);

static enum kith_status call(struct jmap_client *c, const struct jmap_conn *conn,
			     json_t *(*build)(const struct jmap_session *s, void *ud), void *build_ud,
			     parse_fn parse, void *parse_ud, const char *what, char **why)
{
	struct jmap_session s;
	struct http_response resp;
	char *body = NULL, *state = NULL, *etype = NULL;
	json_t *req;
	enum kith_status rc;

	rc = get_session(c, conn, &s, why);
	if (rc)
		return rc;
	req = build(&s, build_ud);
	body = kjson_dump(req, false);
	json_decref(req);
	http_response_init(&resp);
	rc = exchange(conn, s.api_url, body, what, &resp, why);
	if (rc == KITH_EAUTH || rc == KITH_EHTTP)
		jmap_client_forget(c);
	if (!rc) {
		rc = parse(buf_str(&resp.body), resp.body.len, parse_ud, &state, &etype, why);
		cache_check_state(c, &s, state);
		if (etype && (strcmp(etype, "accountNotFound") == 0 ||
			      strcmp(etype, "accountNotSupportedByMethod") == 0))
			jmap_client_forget(c);
		if (rc)
			log_warn(TAG, "%s: %s", what, etype ? etype : "unreadable answer");
	}
	http_response_release(&resp);
	free(state);
	free(etype);
	free(body);
	jmap_session_release(&s);
	return rc;
}

/* ---- building requests --------------------------------------------------- */

static json_t *request(json_t *calls)
{
	return json_pack("{s:[s,s],s:o}", "using", JMAP_USING_CORE, JMAP_USING_MAIL,
			 "methodCalls", calls);
}

static json_t *strings(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

struct search_args {
	const struct jmap_filter *f;
	int limit;
};

static json_t *build_search(const struct jmap_session *s, void *ud)
{
	static const char *const props[] = { "id", "subject", "from", "receivedAt", "preview" };
	const struct search_args *a = ud;
	json_t *filter = json_object(), *query, *get;

	kjson_set_str(filter, "text", a->f->text && *a->f->text ? a->f->text : NULL);
	kjson_set_str(filter, "from", a->f->from && *a->f->from ? a->f->from : NULL);
	kjson_set_str(filter, "subject", a->f->subject && *a->f->subject ? a->f->subject : NULL);
	kjson_set_str(filter, "after", a->f->after && *a->f->after ? a->f->after : NULL);
	kjson_set_str(filter, "before", a->f->before && *a->f->before ? a->f->before : NULL);
	query = json_pack("{s:s,s:[{s:s,s:b}],s:i}", "accountId", s->account_id, "sort",
			  "property", "receivedAt", "isAscending", 0, "limit", a->limit);
	if (json_object_size(filter))
		json_object_set(query, "filter", filter);
	json_decref(filter);
	get = json_pack("{s:s,s:{s:s,s:s,s:s},s:o}", "accountId", s->account_id, "#ids",
			"resultOf", "0", "name", "Email/query", "path", "/ids", "properties",
			strings(props, sizeof(props) / sizeof(*props)));
	return request(json_pack("[[s,o,s],[s,o,s]]", "Email/query", query, "0", "Email/get", get,
				 "1"));
}

struct read_args {
	const char *const *ids;
	size_t n;
};

static json_t *build_read(const struct jmap_session *s, void *ud)
{
	static const char *const props[] = { "id", "subject", "from", "to", "receivedAt",
					     "textBody", "htmlBody", "bodyValues" };
	const struct read_args *a = ud;
	json_t *get = json_pack("{s:s,s:o,s:o,s:b,s:b}", "accountId", s->account_id, "ids",
				strings(a->ids, a->n), "properties",
				strings(props, sizeof(props) / sizeof(*props)),
				"fetchTextBodyValues", 1, "fetchHTMLBodyValues", 1);

	return request(json_pack("[[s,o,s]]", "Email/get", get, "0"));
}

/* ---- the calls ------------------------------------------------------------ */

static enum kith_status parse_search_cb(const char *p, size_t n, void *ud, char **state,
					char **error_type, char **why)
{
	return jmap_parse_search(p, n, ud, state, error_type, why);
}

struct read_parse {
	struct jmap_emails *out;
	size_t body_max;
};

static enum kith_status parse_read_cb(const char *p, size_t n, void *ud, char **state,
				      char **error_type, char **why)
{
	struct read_parse *rp = ud;

	return jmap_parse_read(p, n, rp->body_max, rp->out, state, error_type, why);
}

enum kith_status jmap_search(struct jmap_client *c, const struct jmap_conn *conn,
			     const struct jmap_filter *f, int limit, struct jmap_emails *out,
			     char **why)
{
	struct search_args a = { f, limit > 0 && limit <= JMAP_SEARCH_LIMIT ? limit
									 : JMAP_SEARCH_LIMIT };

	memset(out, 0, sizeof(*out));
	return call(c, conn, build_search, &a, parse_search_cb, out, "email search", why);
}

enum kith_status jmap_read(struct jmap_client *c, const struct jmap_conn *conn,
			   const char *const *ids, size_t nids, size_t body_max,
			   struct jmap_emails *out, char **why)
{
	struct read_args a = { ids, nids };
	struct read_parse rp = { out, body_max };

	memset(out, 0, sizeof(*out));
	if (nids == 0)
		return kith_why(why, KITH_EINVAL, "no email ids were given");
	if (nids > JMAP_READ_MAX_IDS)
		return kith_why(why, KITH_EINVAL, "at most %d emails can be read at once",
				JMAP_READ_MAX_IDS);
	for (size_t i = 0; i < nids; i++)
		if (!jmap_valid_id(ids[i]))
			return kith_why(why, KITH_EINVAL, "'%.60s' is not an email id from "
					"search_emails", ids[i] ? ids[i] : "");
	return call(c, conn, build_read, &a, parse_read_cb, &rp, "email read", why);
}
