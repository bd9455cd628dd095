/* jmap.c — the JMAP client: session cache, the two requests, their parsers,
 * and turning email into text a model can read.
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

/* A copy of s cut at max bytes without splitting a UTF-8 sequence. */
static char *capped(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return xstrndup(s, n);
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
	char *out = t ? capped(p ? p + 1 : t, 80) : NULL;

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

/* ---- parsing ------------------------------------------------------------- */

/* Cut at max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* A string field, capped; "" when absent or not a string. */
static char *field(const json_t *o, const char *key)
{
	const char *s = kjson_str(o, key);
	size_t n;

	if (!s)
		return xstrdup("");
	n = strlen(s);
	return xstrndup(s, utf8_cut(s, n, JMAP_FIELD_MAX));
}

/* An EmailAddress[] as "Name <email>, email, …" (capped). */
static char *addresses(const json_t *list)
{
	struct buf b = BUF_INIT(JMAP_FIELD_MAX);
	size_t i;
	json_t *a;
	char *out;

	json_array_foreach(list, i, a) {
		const char *name = kjson_str(a, "name"), *email = kjson_str(a, "email");

		if (!email && !name)
			continue;
		if (b.len && buf_puts(&b, ", ") != KITH_OK)
			break;
		if (name && *name && email && *email) {
			if (buf_printf(&b, "%s <%s>", name, email) != KITH_OK)
				break;
		} else if (buf_puts(&b, email && *email ? email : name) != KITH_OK) {
			break;
		}
	}
	out = xstrndup(buf_str(&b), utf8_cut(buf_str(&b), b.len, JMAP_FIELD_MAX));
	buf_release(&b);
	return out;
}

/* The response to call `id`: its arguments, or an error.  Checks the shape
 * [name, args, id] and that the method is `name`. */
static enum kith_status find_response(const json_t *root, const char *id, const char *name,
				      json_t **args, char **error_type, char **why)
{
	json_t *r;
	size_t i;

	json_array_foreach(kjson_arr(root, "methodResponses"), i, r) {
		const char *rname = json_string_value(json_array_get(r, 0));
		json_t *rargs = json_array_get(r, 1);
		const char *rid = json_string_value(json_array_get(r, 2));

		if (!json_is_array(r) || !rname || !json_is_object(rargs) || !rid ||
		    strcmp(rid, id) != 0)
			continue;
		if (strcmp(rname, "error") == 0) {
			const char *type = kjson_str(rargs, "type");
			const char *desc = kjson_str(rargs, "description");

			if (error_type)
				*error_type = capped(type ? type : "unknown", 80);
			return kith_why(why, KITH_EHTTP, "Fastmail refused %s: %.80s%s%.200s", name,
					type ? type : "unknown error", desc ? " — " : "",
					desc ? desc : "");
		}
		if (strcmp(rname, name) != 0)
			continue;
		*args = rargs;
		return KITH_OK;
	}
	return kith_why(why, KITH_EPROTO, "Fastmail's answer has no %s result", name);
}

static json_t *parse_root(const char *p, size_t n, char **state, char **why)
{
	json_t *j = kjson_parse(p, n, NULL);

	if (state)
		*state = NULL;
	if (!json_is_object(j) || !json_is_array(kjson_arr(j, "methodResponses"))) {
		json_decref(j);
		kith_why(why, KITH_EPROTO, "Fastmail's answer is not a JMAP response");
		return NULL;
	}
	if (state && kjson_str(j, "sessionState"))
		*state = capped(kjson_str(j, "sessionState"), 200);
	return j;
}

static void push_email(struct jmap_emails *out, size_t *cap, const struct jmap_email *m)
{
	out->v = xgrow(out->v, cap, out->n + 1, sizeof(*out->v));
	out->v[out->n++] = *m;
}

enum kith_status jmap_parse_session(const char *p, size_t n, struct jmap_session *out,
				    char **why)
{
	json_t *j = kjson_parse(p, n, NULL);
	const char *api = kjson_str(j, "apiUrl");
	const char *acct = kjson_str(kjson_obj(j, "primaryAccounts"), JMAP_USING_MAIL);
	const char *state = kjson_str(j, "state");
	enum kith_status rc = KITH_OK;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		rc = kith_why(why, KITH_EPROTO, "Fastmail's session answer is not a JSON object");
	else if (!json_is_object(kjson_obj(kjson_obj(j, "capabilities"), JMAP_USING_MAIL)))
		rc = kith_why(why, KITH_EPROTO, "this JMAP server does not offer mail");
	else if (!api || !*api || strlen(api) > 2000)
		rc = kith_why(why, KITH_EPROTO, "Fastmail's session answer has no apiUrl");
	else if (!acct || !jmap_valid_id(acct))
		rc = kith_why(why, KITH_EPROTO, "the Fastmail token gives no mail account");
	if (!rc) {
		out->api_url = xstrdup(api);
		out->account_id = xstrdup(acct);
		out->state = capped(state ? state : "", 200);
	}
	json_decref(j);
	return rc;
}

enum kith_status jmap_parse_search(const char *p, size_t n, struct jmap_emails *out,
				   char **state, char **error_type, char **why)
{
	json_t *root, *q = NULL, *g = NULL, *m;
	enum kith_status rc;
	size_t i, cap = 0;

	memset(out, 0, sizeof(*out));
	if (error_type)
		*error_type = NULL;
	root = parse_root(p, n, state, why);
	if (!root)
		return KITH_EPROTO;
	rc = find_response(root, "0", "Email/query", &q, error_type, why);
	if (!rc)
		rc = find_response(root, "1", "Email/get", &g, error_type, why);
	if (rc)
		goto out;
	json_array_foreach(kjson_arr(g, "list"), i, m) {
		struct jmap_email e = { 0 };
		const char *id = kjson_str(m, "id");

		if (out->n >= JMAP_SEARCH_LIMIT * 10)
			break;
		if (!id || !jmap_valid_id(id))
			continue;
		e.id = xstrdup(id);
		e.subject = field(m, "subject");
		e.from = addresses(kjson_arr(m, "from"));
		e.to = xstrdup("");
		e.received_at = field(m, "receivedAt");
		e.preview = field(m, "preview");
		push_email(out, &cap, &e);
	}
out:
	json_decref(root);
	if (rc)
		jmap_emails_release(out);
	return rc;
}

/* The values of a part list, in order, HTML parts as their text (a server
 * lists an HTML-only email's text/html part under textBody too). */
static void part_values(const json_t *parts, const json_t *values, bool html_only,
			struct buf *b)
{
	size_t i;
	json_t *part;

	json_array_foreach(parts, i, part) {
		const char *pid = kjson_str(part, "partId"), *type = kjson_str(part, "type");
		const char *v = pid ? kjson_str(kjson_obj(values, pid), "value") : NULL;
		bool html = type && strncasecmp(type, "text/html", 9) == 0;

		if (!v || !*v || (html_only && !html))
			continue;
		if (b->len)
			(void)buf_puts(b, "\n");
		if (html) {
			char *t = jmap_html_text(v, strlen(v));

			(void)buf_puts(b, t);
			free(t);
		} else {
			(void)buf_puts(b, v);
		}
	}
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static char *body_of(const json_t *m, size_t body_max)
{
	const json_t *values = kjson_obj(m, "bodyValues");
	struct buf b = BUF_INIT(0);
	char *out;

	part_values(kjson_arr(m, "textBody"), values, false, &b);
	if (blank(buf_str(&b), b.len)) {
		buf_reset(&b);
		part_values(kjson_arr(m, "htmlBody"), values, true, &b);
	}
	out = body_max ? jmap_truncate(buf_str(&b), body_max) : xstrdup(buf_str(&b));
	buf_release(&b);
	return out;
}

enum kith_status jmap_parse_read(const char *p, size_t n, size_t body_max,
				 struct jmap_emails *out, char **state, char **error_type,
				 char **why)
{
	json_t *root, *g = NULL, *m;
	enum kith_status rc;
	size_t i, cap = 0, nf_cap = 0;

	memset(out, 0, sizeof(*out));
	if (error_type)
		*error_type = NULL;
	root = parse_root(p, n, state, why);
	if (!root)
		return KITH_EPROTO;
	rc = find_response(root, "0", "Email/get", &g, error_type, why);
	if (rc)
		goto out;
	json_array_foreach(kjson_arr(g, "list"), i, m) {
		struct jmap_email e = { 0 };
		const char *id = kjson_str(m, "id");

		if (out->n >= JMAP_READ_MAX_IDS)
			break;
		if (!id || !jmap_valid_id(id))
			continue;
		e.id = xstrdup(id);
		e.subject = field(m, "subject");
		e.from = addresses(kjson_arr(m, "from"));
		e.to = addresses(kjson_arr(m, "to"));
		e.received_at = field(m, "receivedAt");
		e.preview = xstrdup("");
		e.body = body_of(m, body_max);
		push_email(out, &cap, &e);
	}
	json_array_foreach(kjson_arr(g, "notFound"), i, m) {
		const char *id = json_string_value(m);

		if (out->nnot_found >= JMAP_READ_MAX_IDS)
			break;
		if (!id || !jmap_valid_id(id))
			continue;
		out->not_found = xgrow(out->not_found, &nf_cap, out->nnot_found + 1,
				       sizeof(*out->not_found));
		out->not_found[out->nnot_found++] = xstrdup(id);
	}
out:
	json_decref(root);
	if (rc)
		jmap_emails_release(out);
	return rc;
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

/* ---- text ------------------------------------------------------------------ */

bool jmap_valid_id(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-')
			return false;
	return n >= 1 && n <= JMAP_ID_MAX;
}

static void put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	(void)buf_append(b, u, n);
}

/* An entity at s (just after '&'): appends its text and returns the bytes
 * used after the '&', or 0 when it is not one we decode. */
static size_t entity(const char *s, size_t n, struct buf *b)
{
	static const struct { const char *name; const char *text; } named[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" },
		{ "#39;", "'" }, { "apos;", "'" }, { "nbsp;", " " },
	};

	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++) {
		size_t k = strlen(named[i].name);

		if (n >= k && strncasecmp(s, named[i].name, k) == 0) {
			(void)buf_puts(b, named[i].text);
			return k;
		}
	}
	if (n >= 3 && s[0] == '#') {
		bool hex = s[1] == 'x' || s[1] == 'X';
		size_t j = hex ? 2 : 1, start = j;
		unsigned long cp = 0;

		for (; j < n && j < start + 7 && (hex ? isxdigit((unsigned char)s[j])
						     : isdigit((unsigned char)s[j])); j++)
			cp = cp * (hex ? 16 : 10) +
			     (unsigned long)(isdigit((unsigned char)s[j])
						     ? s[j] - '0' : (tolower((unsigned char)s[j]) - 'a' + 10));
		if (j > start && j < n && s[j] == ';') {
			put_utf8(b, cp);
			return j + 1;
		}
	}
	return 0;
}

/* Whether the tag name at s (after '<' and an optional '/') is `name`. */
static bool tag_is(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(s, name, k) == 0 &&
	       (isspace((unsigned char)s[k]) || s[k] == '>' || s[k] == '/');
}

static bool breaks_line(const char *s, size_t n)
{
	static const char *const tags[] = { "br", "p", "div", "tr", "li", "h1", "h2", "h3",
					    "h4", "h5", "h6", "table", "ul", "ol", "blockquote" };

	if (n && *s == '/') {
		s++;
		n--;
	}
	for (size_t i = 0; i < sizeof(tags) / sizeof(*tags); i++)
		if (tag_is(s, n, tags[i]))
			return true;
	return false;
}

/* Squeeze the raw text: spaces and tabs run into one, blank lines into at
 * most one, lines trimmed. */
static char *squeeze(const char *s, size_t n)
{
	struct buf b = BUF_INIT(0);
	int newlines = 0;
	bool space = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			newlines++;
			space = false;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			space = true;
		} else {
			if (b.len && newlines)
				(void)buf_puts(&b, newlines > 1 ? "\n\n" : "\n");
			else if (b.len && space)
				(void)buf_puts(&b, " ");
			newlines = 0;
			space = false;
			(void)buf_append(&b, s + i, 1);
		}
	}
	return buf_detach(&b);
}

char *jmap_html_text(const char *html, size_t n)
{
	struct buf raw = BUF_INIT(0);
	const char *skip_until = NULL;   /* inside <script> or <style> */
	size_t i = 0;
	char *out;

	while (i < n) {
		if (html[i] == '<') {
			const char *t = html + i + 1;
			size_t left = n - i - 1;
			const char *end = memchr(t, '>', left);
			size_t len = end ? (size_t)(end - t) : left;

			if (skip_until) {
				if (left > 1 && *t == '/' && tag_is(t + 1, left - 1, skip_until))
					skip_until = NULL;
			} else if (left >= 3 && strncmp(t, "!--", 3) == 0) {
				const char *close = NULL;

				for (size_t k = 3; k + 2 < left; k++)
					if (t[k] == '-' && t[k + 1] == '-' && t[k + 2] == '>') {
						close = t + k;
						break;
					}
				i = close ? (size_t)(close - html) + 3 : n;
				continue;
			} else if (tag_is(t, left, "script")) {
				skip_until = "script";
			} else if (tag_is(t, left, "style")) {
				skip_until = "style";
			} else if (breaks_line(t, left)) {
				(void)buf_puts(&raw, "\n");
			} else if (tag_is(t, left, "td") || tag_is(t, left, "th")) {
				(void)buf_puts(&raw, " ");
			}
			i += 1 + len + (end ? 1 : 0);
			continue;
		}
		if (skip_until) {
			i++;
			continue;
		}
		if (html[i] == '&') {
			size_t used = entity(html + i + 1, n - i - 1, &raw);

			if (used) {
				i += 1 + used;
				continue;
			}
		}
		(void)buf_append(&raw, html + i, 1);
		i++;
	}
	out = squeeze(buf_str(&raw), raw.len);
	buf_release(&raw);
	return out;
}

char *jmap_truncate(const char *s, size_t max_chars)
{
	size_t chars = 0, i = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			continue;
		if (chars == max_chars)
			return xasprintf("%.*s\n\n[truncated]", (int)i, s);
		chars++;
	}
	return xstrdup(s);
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool date_ok(const char *s)
{
	int mo, d;

	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
		return false;
	mo = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

static bool time_ok(const char *s)
{
	return digits(s, 2) && s[2] == ':' && digits(s + 3, 2) && s[5] == ':' && digits(s + 6, 2) &&
	       (s[0] - '0') * 10 + (s[1] - '0') <= 23 && (s[3] - '0') * 10 + (s[4] - '0') <= 59 &&
	       (s[6] - '0') * 10 + (s[7] - '0') <= 60;
}

enum kith_status jmap_utc_date(const char *s, char **out, char **why)
{
	size_t n = s ? strlen(s) : 0, k = 19;

	*out = NULL;
	if (n == 10 && date_ok(s)) {
		*out = xasprintf("%sT00:00:00Z", s);
		return KITH_OK;
	}
	if (n >= 20 && date_ok(s) && (s[10] == 'T' || s[10] == 't') && time_ok(s + 11)) {
		if (s[k] == '.')
			for (k++; k < n && isdigit((unsigned char)s[k]); k++)
				;
		if (k + 1 == n && (s[k] == 'Z' || s[k] == 'z')) {
			*out = xasprintf("%.10sT%.8sZ", s, s + 11);
			return KITH_OK;
		}
	}
	return kith_why(why, KITH_EINVAL, "'%.40s' is not a UTC date: use YYYY-MM-DD or "
			"YYYY-MM-DDTHH:MM:SSZ", s ? s : "");
}

char *jmap_format_search(const struct jmap_emails *e)
{
	struct buf b = BUF_INIT(0);

	if (!e->n)
		return xstrdup("No emails matched that search.");
	(void)buf_printf(&b, "Found %zu email(s):\n\n", e->n);
	for (size_t i = 0; i < e->n; i++) {
		const struct jmap_email *m = &e->v[i];

		(void)buf_printf(&b, "%s[%s] %s from %s: %s\n%s", i ? "\n\n" : "", m->id,
				 m->received_at, *m->from ? m->from : "(unknown sender)",
				 *m->subject ? m->subject : "(no subject)", m->preview);
	}
	return buf_detach(&b);
}

char *jmap_format_read(const struct jmap_emails *e)
{
	struct buf b = BUF_INIT(0);

	for (size_t i = 0; i < e->n; i++) {
		const struct jmap_email *m = &e->v[i];

		(void)buf_printf(&b, "%sSubject: %s\nFrom: %s\nDate: %s\n\n%s", i ? "\n\n---\n\n" : "",
				 *m->subject ? m->subject : "(no subject)",
				 *m->from ? m->from : "(unknown sender)", m->received_at,
				 m->body && *m->body ? m->body : "(no text body)");
	}
	if (e->nnot_found) {
		(void)buf_puts(&b, b.len ? "\n\n---\n\nNot found: " : "No email was found with the "
			       "id(s): ");
		for (size_t i = 0; i < e->nnot_found; i++)
			(void)buf_printf(&b, "%s%s", i ? ", " : "", e->not_found[i]);
	}
	if (!b.len)
		(void)buf_puts(&b, "No emails were found with those ids.");
	return buf_detach(&b);
}
