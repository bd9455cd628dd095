/* fake_jmap.c — Fastmail's JMAP, in memory.
 *
 * The HTTP plumbing and the recording are fake_search_server.c's.  The
 * mailbox and the failure script sit under one mutex, held while a whole
 * request is answered: requests are small and a test never needs two to
 * run at once.  Answers are built with jansson from the mailbox, so every
 * filter, back-reference and property list a client sends is really
 * interpreted rather than matched against canned bodies. */
#include "fakes/fake_jmap.h"
#include "fakes/fake_search_server.h"

#include "core/alloc.h"
#include "core/json.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SESSION_PATH "/jmap/session"
#define TYPE "application/json; charset=utf-8"
#define MAIL "urn:ietf:params:jmap:mail"

struct mail {
	char *id, *from_name, *from_email, *to_name, *to_email, *subject, *received_at, *text,
		*html, *preview;
};

struct fake_jmap {
	struct fss *srv;
	char *session_url;
	pthread_mutex_t lock;       /* guards what follows */
	char *token, *account, *api_path, *state;
	struct mail *mails;
	size_t n, cap;
	char *fail_method, *fail_type;
	int fail_status, fail_times;
	size_t session_fetches;
};

static bool icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (!hay)
		return false;
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return !*needle;
}

static json_t *addr(const char *name, const char *email)
{
	return json_pack("[{s:o,s:s}]", "name", name ? json_string(name) : json_null(), "email",
			 email ? email : "");
}

static char *problem(int status, const char *type, const char *detail)
{
	json_t *j = json_pack("{s:s,s:i,s:s}", "type", type, "status", status, "detail", detail);
	char *s = kjson_dump(j, false);

	json_decref(j);
	return s;
}

/* ---- the session --------------------------------------------------------- */

static char *session_body(struct fake_jmap *f)
{
	char *api = xasprintf("%s%s", fss_url(f->srv), f->api_path);
	json_t *j = json_pack(
		"{s:{s:{s:i,s:i},s:{}},s:{s:{s:s,s:b,s:b,s:{s:{}}}},s:{s:s},s:s,s:s,s:s}",
		"capabilities", "urn:ietf:params:jmap:core", "maxCallsInRequest", 16,
		"maxObjectsInGet", 500, MAIL, "accounts", f->account, "name", "owner@example.com",
		"isPersonal", 1, "isReadOnly", 0, "accountCapabilities", MAIL, "primaryAccounts",
		MAIL, f->account, "username", "owner@example.com", "apiUrl", api, "state", f->state);
	char *s = kjson_dump(j, false);

	json_decref(j);
	free(api);
	return s;
}

/* ---- methods ------------------------------------------------------------- */

static json_t *method_error(const char *type, const char *desc)
{
	json_t *e = json_pack("{s:s}", "type", type);

	if (desc)
		json_object_set_new(e, "description", json_string(desc));
	return e;
}

static bool matches(const struct mail *m, const json_t *filter, const char **bad)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)filter, k, v) {
		const char *s = json_string_value(v);

		if (!s) {
			*bad = k;
			return false;
		}
		if (strcmp(k, "text") == 0) {
			if (!icontains(m->subject, s) && !icontains(m->text, s) &&
			    !icontains(m->html, s) && !icontains(m->from_name, s) &&
			    !icontains(m->from_email, s) && !icontains(m->to_email, s))
				return false;
		} else if (strcmp(k, "from") == 0) {
			if (!icontains(m->from_name, s) && !icontains(m->from_email, s))
				return false;
		} else if (strcmp(k, "subject") == 0) {
			if (!icontains(m->subject, s))
				return false;
		} else if (strcmp(k, "after") == 0) {
			if (strcmp(m->received_at, s) < 0)
				return false;
		} else if (strcmp(k, "before") == 0) {
			if (strcmp(m->received_at, s) >= 0)
				return false;
		} else {
			*bad = k;
			return false;
		}
	}
	return true;
}

static int newest_first(const void *a, const void *b)
{
	const struct mail *x = *(const struct mail *const *)a, *y = *(const struct mail *const *)b;

	return strcmp(y->received_at, x->received_at);
}

static json_t *email_query(struct fake_jmap *f, const json_t *args, const char **name)
{
	const json_t *filter = kjson_obj(args, "filter");
	json_t *sort = kjson_arr(args, "sort"), *ids, *fv = json_object_get(args, "filter");
	struct mail **hits;
	size_t nh = 0;
	long long limit = 256;
	const char *bad = NULL;

	*name = "Email/query";
	if (fv && !json_is_null(fv) && !filter)
		return method_error("invalidArguments", "filter must be an object");
	for (size_t i = 0; i < json_array_size(sort); i++) {
		const char *p = kjson_str(json_array_get(sort, i), "property");

		if (!p || strcmp(p, "receivedAt") != 0)
			return method_error("unsupportedSort", p);
	}
	if (json_object_get(args, "limit") && (!kjson_int(args, "limit", &limit) || limit < 0))
		return method_error("invalidArguments", "limit");
	hits = xcalloc(f->n + 1, sizeof(*hits));
	for (size_t i = 0; i < f->n; i++) {
		if (!filter || matches(&f->mails[i], filter, &bad))
			hits[nh++] = &f->mails[i];
		if (bad) {
			free(hits);
			return method_error("unsupportedFilter", bad);
		}
	}
	qsort(hits, nh, sizeof(*hits), newest_first);
	ids = json_array();
	for (size_t i = 0; i < nh && (long long)i < limit; i++)
		json_array_append_new(ids, json_string(hits[i]->id));
	free(hits);
	return json_pack("{s:s,s:s,s:b,s:i,s:o}", "accountId", f->account, "queryState", "q1",
			 "canCalculateChanges", 0, "position", 0, "ids", ids);
}

/* "#ids": the ids an earlier response of this request produced. */
static json_t *resolve_ids(const json_t *ref, const json_t *responses)
{
	const char *of = kjson_str(ref, "resultOf"), *name = kjson_str(ref, "name");
	const char *path = kjson_str(ref, "path");
	size_t i;
	json_t *r;

	if (!of || !name || !path || (strcmp(path, "/ids") != 0 && strcmp(path, "/ids/*") != 0))
		return NULL;
	json_array_foreach(responses, i, r) {
		const char *rn = json_string_value(json_array_get(r, 0));
		const char *rid = json_string_value(json_array_get(r, 2));

		if (rn && rid && strcmp(rn, name) == 0 && strcmp(rid, of) == 0)
			return kjson_arr(json_array_get(r, 1), "ids");
	}
	return NULL;
}

static bool wants(const json_t *props, const char *p)
{
	size_t i;
	json_t *v;

	if (!props)
		return true;
	json_array_foreach(props, i, v)
		if (json_string_value(v) && strcmp(json_string_value(v), p) == 0)
			return true;
	return false;
}

static json_t *part(const char *id, const char *type)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "partId", id, "blobId", id, "type", type, "charset",
			 "utf-8");
}

static json_t *email_json(const struct mail *m, const json_t *props, bool text_values,
			  bool html_values)
{
	json_t *o = json_pack("{s:s}", "id", m->id), *tb = json_array(), *hb = json_array();
	json_t *values = json_object();

	if (m->text) {
		json_array_append_new(tb, part("1", "text/plain"));
		if (!m->html)
			json_array_append_new(hb, part("1", "text/plain"));
	}
	if (m->html) {
		json_array_append_new(hb, part("2", "text/html"));
		if (!m->text)   /* RFC 8621 §4.1.4: HTML stands in for the text body */
			json_array_append_new(tb, part("2", "text/html"));
	}
	if (m->text && text_values)
		json_object_set_new(values, "1", json_pack("{s:s,s:b,s:b}", "value", m->text,
							   "isEncodingProblem", 0, "isTruncated", 0));
	if (m->html && (html_values || (text_values && !m->text)))
		json_object_set_new(values, "2", json_pack("{s:s,s:b,s:b}", "value", m->html,
							   "isEncodingProblem", 0, "isTruncated", 0));
	if (wants(props, "subject"))
		json_object_set_new(o, "subject", json_string(m->subject));
	if (wants(props, "from"))
		json_object_set_new(o, "from", addr(m->from_name, m->from_email));
	if (wants(props, "to"))
		json_object_set_new(o, "to", addr(m->to_name, m->to_email));
	if (wants(props, "receivedAt"))
		json_object_set_new(o, "receivedAt", json_string(m->received_at));
	if (wants(props, "preview"))
		json_object_set_new(o, "preview", json_string(m->preview));
	if (wants(props, "textBody"))
		json_object_set(o, "textBody", tb);
	if (wants(props, "htmlBody"))
		json_object_set(o, "htmlBody", hb);
	if (wants(props, "bodyValues"))
		json_object_set(o, "bodyValues", values);
	json_decref(tb);
	json_decref(hb);
	json_decref(values);
	return o;
}

static json_t *email_get(struct fake_jmap *f, const json_t *args, const json_t *responses,
			 const char **name)
{
	const json_t *ids = kjson_arr(args, "ids"), *ref = kjson_obj(args, "#ids");
	const json_t *props = kjson_arr(args, "properties");
	bool tv = false, hv = false;
	json_t *list, *nf;
	size_t i;
	json_t *v;

	*name = "Email/get";
	if (ref && json_object_get(args, "ids"))
		return method_error("invalidArguments", "both ids and #ids");
	if (ref) {
		ids = resolve_ids(ref, responses);
		if (!ids)
			return method_error("invalidResultReference", NULL);
	} else if (!ids) {
		return method_error("requestTooLarge", "ids is null");
	}
	(void)kjson_bool(args, "fetchTextBodyValues", &tv);
	(void)kjson_bool(args, "fetchHTMLBodyValues", &hv);
	list = json_array();
	nf = json_array();
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		const struct mail *m = NULL;

		for (size_t k = 0; id && k < f->n && !m; k++)
			if (strcmp(f->mails[k].id, id) == 0)
				m = &f->mails[k];
		if (m)
			json_array_append_new(list, email_json(m, props, tv, hv));
		else if (id)
			json_array_append_new(nf, json_string(id));
	}
	return json_pack("{s:s,s:s,s:o,s:o}", "accountId", f->account, "state", "e1", "list", list,
			 "notFound", nf);
}

static void api(struct fake_jmap *f, const char *body, size_t len, struct fss_answer *a)
{
	json_t *req = kjson_parse(body, len, NULL), *calls = kjson_arr(req, "methodCalls");
	json_t *using = kjson_arr(req, "using"), *responses, *call, *root;
	bool mail = false;
	size_t i;
	json_t *u;

	if (!json_is_object(req) || !calls || !using) {
		fss_answer_text(a, 400, "application/problem+json",
				problem(400, req ? "urn:ietf:params:jmap:error:notRequest"
						 : "urn:ietf:params:jmap:error:notJSON",
					"not a JMAP request"));
		json_decref(req);
		return;
	}
	json_array_foreach(using, i, u)
		mail = mail || (json_string_value(u) && strcmp(json_string_value(u), MAIL) == 0);
	responses = json_array();
	json_array_foreach(calls, i, call) {
		const char *m = json_string_value(json_array_get(call, 0));
		const json_t *args = json_array_get(call, 1);
		const char *id = json_string_value(json_array_get(call, 2));
		const char *acct = kjson_str(args, "accountId");
		const char *name = "error";
		json_t *out;

		if (!m || !json_is_object(args) || !id) {
			json_decref(responses);
			json_decref(req);
			fss_answer_text(a, 400, "application/problem+json",
					problem(400, "urn:ietf:params:jmap:error:notRequest",
						"malformed method call"));
			return;
		}
		if (f->fail_method && strcmp(f->fail_method, m) == 0) {
			out = method_error(f->fail_type, "scripted failure");
			free(f->fail_method);
			free(f->fail_type);
			f->fail_method = f->fail_type = NULL;
		} else if (!mail || (strcmp(m, "Email/query") != 0 && strcmp(m, "Email/get") != 0)) {
			out = method_error("unknownMethod", m);
		} else if (!acct || strcmp(acct, f->account) != 0) {
			out = method_error("accountNotFound", NULL);
		} else if (strcmp(m, "Email/query") == 0) {
			out = email_query(f, args, &name);
		} else {
			out = email_get(f, args, responses, &name);
		}
		if (kjson_str(out, "type") && !json_object_get(out, "accountId"))
			name = "error";
		json_array_append_new(responses, json_pack("[s,o,s]", name, out, id));
	}
	root = json_pack("{s:o,s:s}", "methodResponses", responses, "sessionState", f->state);
	fss_answer_text(a, 0, TYPE, kjson_dump(root, false));
	json_decref(root);
	json_decref(req);
}

static void handle(void *ud, struct fss *srv, size_t index, const char *method, const char *path,
		   const char *body, size_t len, struct fss_answer *a)
{
	struct fake_jmap *f = ud;
	char *auth = fss_request_header(srv, index, "Authorization");
	char *want;

	pthread_mutex_lock(&f->lock);
	want = f->token ? xasprintf("Bearer %s", f->token) : NULL;
	if (want && (!auth || strcmp(auth, want) != 0)) {
		fss_answer_text(a, 401, "text/plain", xstrdup("Authorization header not a valid format"));
	} else if (strcmp(path, "/.well-known/jmap") == 0 && strcmp(method, "GET") == 0) {
		/* RFC 8620 §2.2: the well-known URL redirects to the session. */
		a->location = xstrdup(f->session_url);
		fss_answer_text(a, 301, "text/plain", xstrdup("Moved"));
	} else if (strcmp(path, SESSION_PATH) == 0 && strcmp(method, "GET") == 0) {
		f->session_fetches++;
		fss_answer_text(a, 0, TYPE, session_body(f));
	} else if (strcmp(path, f->api_path) == 0 && strcmp(method, "POST") == 0) {
		if (f->fail_times > 0) {
			f->fail_times--;
			fss_answer_text(a, f->fail_status, "application/problem+json",
					problem(f->fail_status, "urn:ietf:params:jmap:error:limit",
						"scripted failure"));
		} else {
			api(f, body, len, a);
		}
	} else {
		fss_answer_text(a, 404, "text/plain", xstrdup("not found"));
	}
	pthread_mutex_unlock(&f->lock);
	free(want);
	free(auth);
}

struct fake_jmap *fake_jmap_start(void)
{
	struct fake_jmap *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->account = xstrdup("u1a2b3");
	f->api_path = xstrdup("/jmap/api/");
	f->state = xstrdup("s1");
	f->srv = fss_start("fake_jmap", handle, f);
	if (!f->srv) {
		fake_jmap_stop(f);
		return NULL;
	}
	f->session_url = xasprintf("%s%s", fss_url(f->srv), SESSION_PATH);
	return f;
}

void fake_jmap_stop(struct fake_jmap *f)
{
	if (!f)
		return;
	fss_stop(f->srv);
	for (size_t i = 0; i < f->n; i++) {
		struct mail *m = &f->mails[i];

		free(m->id);
		free(m->from_name);
		free(m->from_email);
		free(m->to_name);
		free(m->to_email);
		free(m->subject);
		free(m->received_at);
		free(m->text);
		free(m->html);
		free(m->preview);
	}
	free(f->mails);
	free(f->token);
	free(f->account);
	free(f->api_path);
	free(f->state);
	free(f->fail_method);
	free(f->fail_type);
	free(f->session_url);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const char *fake_jmap_session_url(const struct fake_jmap *f)
{
	return f->session_url;
}

static void set(struct fake_jmap *f, char **field, const char *value)
{
	pthread_mutex_lock(&f->lock);
	free(*field);
	*field = xstrdup(value);
	pthread_mutex_unlock(&f->lock);
}

void fake_jmap_set_token(struct fake_jmap *f, const char *token)
{
	set(f, &f->token, token);
}

void fake_jmap_set_account(struct fake_jmap *f, const char *account)
{
	set(f, &f->account, account);
}

void fake_jmap_set_api_path(struct fake_jmap *f, const char *path)
{
	set(f, &f->api_path, path);
}

void fake_jmap_set_state(struct fake_jmap *f, const char *state)
{
	set(f, &f->state, state);
}

void fake_jmap_add(struct fake_jmap *f, const struct fake_jmap_email *e)
{
	struct mail *m;

	pthread_mutex_lock(&f->lock);
	f->mails = xgrow(f->mails, &f->cap, f->n + 1, sizeof(*f->mails));
	m = &f->mails[f->n++];
	m->id = e->id ? xstrdup(e->id) : xasprintf("M%zu", f->n);
	m->from_name = xstrdup(e->from_name);
	m->from_email = xstrdup(e->from_email ? e->from_email : "someone@example.com");
	m->to_name = xstrdup(e->to_name);
	m->to_email = xstrdup(e->to_email ? e->to_email : "owner@example.com");
	m->subject = xstrdup(e->subject ? e->subject : "");
	m->received_at = xstrdup(e->received_at ? e->received_at : "2026-03-01T09:00:00Z");
	m->text = xstrdup(e->text);
	m->html = xstrdup(e->html);
	m->preview = e->preview ? xstrdup(e->preview)
			       : xstrndup(e->text ? e->text : "", e->text ? strnlen(e->text, 80) : 0);
	pthread_mutex_unlock(&f->lock);
}

void fake_jmap_fail_method(struct fake_jmap *f, const char *method, const char *type)
{
	pthread_mutex_lock(&f->lock);
	free(f->fail_method);
	free(f->fail_type);
	f->fail_method = xstrdup(method);
	f->fail_type = xstrdup(type);
	pthread_mutex_unlock(&f->lock);
}

void fake_jmap_fail_http(struct fake_jmap *f, int status, int times)
{
	pthread_mutex_lock(&f->lock);
	f->fail_status = status;
	f->fail_times = times;
	pthread_mutex_unlock(&f->lock);
}

size_t fake_jmap_request_count(struct fake_jmap *f)
{
	return fss_request_count(f->srv);
}

char *fake_jmap_request_method(struct fake_jmap *f, size_t i)
{
	return fss_request_method(f->srv, i);
}

char *fake_jmap_request_path(struct fake_jmap *f, size_t i)
{
	return fss_request_path(f->srv, i);
}

char *fake_jmap_request_header(struct fake_jmap *f, size_t i, const char *name)
{
	return fss_request_header(f->srv, i, name);
}

json_t *fake_jmap_request_json(struct fake_jmap *f, size_t i)
{
	return fss_request_json(f->srv, i);
}

size_t fake_jmap_session_fetches(struct fake_jmap *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->session_fetches;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool fake_jmap_wait_requests(struct fake_jmap *f, size_t n, int timeout_ms)
{
	return fss_wait_requests(f->srv, n, timeout_ms);
}
