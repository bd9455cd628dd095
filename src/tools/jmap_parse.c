/* jmap_parse.c — reading Fastmail's answers: the session resource and the
 * method responses of a search and a read.  Everything is typed before use
 * (a subject that is not a string is "", an address list that is not an
 * array is empty) and every field is capped; fuzz/fuzz_jmap.c drives it. */
#include "tools/jmap.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/utf8.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- parsing ------------------------------------------------------------- */

/* A string field, capped; "" when absent or not a string. */
static char *field(const json_t *o, const char *key)
{
	const char *s = kjson_str(o, key);
	size_t n;

	if (!s)
		return xstrdup("");
	n = strlen(s);
	return xstrndup(s, utf8_prefix(s, n, JMAP_FIELD_MAX));
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
	out = xstrndup(buf_str(&b), utf8_prefix(buf_str(&b), b.len, JMAP_FIELD_MAX));
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
				*error_type = utf8_dup_max(type ? type : "unknown", 80);
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
		*state = utf8_dup_max(kjson_str(j, "sessionState"), 200);
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
		out->state = utf8_dup_max(state ? state : "", 200);
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
