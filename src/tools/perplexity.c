/* perplexity.c — the text half of a search: Perplexity's Responses API.
 *
 * One POST {base}/v1/responses {"preset":"pro-search","input":…} with a
 * Bearer key, retried once on a connection failure, 408, 429 or 5xx.  The
 * parser tolerates a null or oddly typed anything: a field that is not what
 * it should be is skipped, never trusted.  Errors never quote the request
 * (it carries the query) and never the key (http.c logs no headers and the
 * key is a registered log secret). */
#include "tools/search_int.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"

#include <string.h>

#define TAG "search"
#define PRESET "pro-search"

void perplexity_answer_release(struct perplexity_answer *a)
{
	if (!a)
		return;
	free(a->text);
	for (size_t i = 0; i < a->nurls; i++)
		free(a->urls[i]);
	free(a->urls);
	memset(a, 0, sizeof(*a));
}

/* URLs seen so far with how often the answer cited them. */
struct cited {
	const char *url;   /* borrowed from the JSON */
	int count;
	size_t order;      /* first appearance */
};

struct tally {
	struct cited *v;
	size_t n, cap;
};

static void tally_add(struct tally *t, const char *url, int inc)
{
	if (!url || !*url)
		return;
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].url, url) == 0) {
			t->v[i].count += inc;
			return;
		}
	}
	t->v = xgrow(t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n].url = url;
	t->v[t->n].count = inc;
	t->v[t->n].order = t->n;
	t->n++;
}

static int by_count(const void *a, const void *b)
{
	const struct cited *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void message_item(const json_t *item, struct buf *text, struct tally *t)
{
	json_t *part;
	size_t i;

	json_array_foreach(kjson_arr(item, "content"), i, part) {
		const char *s = kjson_str(part, "text");
		json_t *ann;
		size_t j;

		if (s && *s) {
			if (text->len)
				(void)buf_puts(text, "\n\n");
			(void)buf_puts(text, s);
		}
		json_array_foreach(kjson_arr(part, "annotations"), j, ann)
			tally_add(t, kjson_str(ann, "url"), 1);
	}
}

enum kith_status perplexity_parse(const char *body, size_t n, const char *const *blocked,
				  struct perplexity_answer *out, char **why)
{
	json_t *root = kjson_parse(body, n, NULL), *item;
	struct buf joined = BUF_INIT(0);
	struct tally t = { 0 };
	const char *text;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(root)) {
		json_decref(root);
		return kith_why(why, KITH_EPROTO, "Perplexity answered something that is not JSON");
	}
	json_array_foreach(kjson_arr(root, "output"), i, item) {
		const char *type = kjson_str(item, "type");
		json_t *res;
		size_t j;

		if (type && strcmp(type, "search_results") == 0) {
			json_array_foreach(kjson_arr(item, "results"), j, res)
				tally_add(&t, kjson_str(res, "url"), 0);
		} else if (type && strcmp(type, "message") == 0) {
			message_item(item, &joined, &t);
		}
	}
	text = kjson_str(root, "output_text");
	if (!text || !*text)
		text = buf_str(&joined);
	out->text = search_clean_text(text);
	if (!*out->text) {
		free(out->text);
		out->text = xstrdup(SEARCH_NO_RESULTS);
	}
	if (t.n)
		qsort(t.v, t.n, sizeof(*t.v), by_count);
	for (i = 0; i < t.n && out->nurls < SEARCH_MAX_SOURCES; i++) {
		if (search_url_blocked(t.v[i].url, blocked))
			continue;
		if (!out->urls)
			out->urls = xcalloc(SEARCH_MAX_SOURCES, sizeof(*out->urls));
		out->urls[out->nurls++] = xstrdup(t.v[i].url);
	}
	free(t.v);
	buf_release(&joined);
	json_decref(root);
	return KITH_OK;
}

/* The reason a failed call gives the model: short, no URL, no key. */
static char *failure(enum kith_status rc, const struct http_response *resp, const char *reason)
{
	if (rc == KITH_EHTTP && (resp->status == 401 || resp->status == 403))
		return xasprintf("Perplexity rejected the API key (HTTP %ld)", resp->status);
	if (rc == KITH_EHTTP) {
		json_t *j = kjson_parse(buf_str(&resp->body), resp->body.len, NULL);
		const char *msg = kjson_str(kjson_obj(j, "error"), "message");
		char *s;

		if (!msg)
			msg = kjson_str(j, "message");
		s = msg ? xasprintf("Perplexity answered HTTP %ld: %.200s", resp->status, msg)
			: xasprintf("Perplexity answered HTTP %ld", resp->status);
		json_decref(j);
		return s;
	}
	if (rc == KITH_ETIMEDOUT)
		return xstrdup("Perplexity did not answer in time");
	if (rc == KITH_ECANCELED)
		return xstrdup("the search was cancelled");
	return xasprintf("cannot reach Perplexity: %s", reason ? reason : kith_strerror(rc));
}

enum kith_status perplexity_search(const struct search_opts *o, const char *input,
				   struct perplexity_answer *out, char **why)
{
	json_t *body = json_object();
	char *text = NULL, *url = NULL, *auth = NULL, *reason = NULL;
	const char *headers[3];
	struct http_request req = { 0 };
	struct http_retry policy = { 0 };
	struct http_response resp;
	enum kith_status rc;
	int attempts = 0;

	memset(out, 0, sizeof(*out));
	http_response_init(&resp);
	if (!o->perplexity_key || !*o->perplexity_key) {
		rc = kith_why(why, KITH_ECONFIG, "web search is not configured (no PERPLEXITY_API_KEY)");
		goto out;
	}
	json_object_set_new(body, "preset", json_string(PRESET));
	json_object_set_new(body, "input", json_string(input));
	text = kjson_dump(body, false);
	url = xasprintf("%s/v1/responses", o->perplexity_url);
	auth = xasprintf("Authorization: Bearer %s", o->perplexity_key);
	headers[0] = auth;
	headers[1] = "Content-Type: application/json";
	headers[2] = NULL;
	req.url = url;
	req.headers = headers;
	req.body = text;
	req.body_len = strlen(text);
	req.timeout_ms = o->text_timeout_ms;
	req.connect_timeout_ms = 10000;
	req.max_response = SEARCH_TEXT_MAX_BYTES;
	req.cancel = o->cancel;
	policy.max_attempts = o->text_attempts > 0 ? o->text_attempts : 2;
	policy.base_ms = 500;
	policy.max_ms = 5000;
	rc = http_perform_retry(&req, &policy, &resp, &attempts, &reason);
	if (rc) {
		char *msg = failure(rc, &resp, reason);

		log_warn(TAG, "Perplexity search failed after %d attempt%s: %s", attempts,
			 attempts == 1 ? "" : "s", msg);
		if (why && !*why)
			*why = msg;
		else
			free(msg);
		goto out;
	}
	rc = perplexity_parse(buf_str(&resp.body), resp.body.len, o->blocked, out, why);
out:
	free(reason);
	free(auth);
	free(url);
	free(text);
	json_decref(body);
	http_response_release(&resp);
	return rc;
}
