/* fake_perplexity.c — Perplexity's /v1/responses, scripted.
 *
 * Replies are deep-copied into a FIFO under one mutex; the HTTP plumbing,
 * the recording and the FIFO itself are fake_search_server.c's.  The body
 * is built with jansson in the Responses API's shape, so the client's
 * parser meets the same nesting (and the same null-tolerant corners) as
 * with the real service. */
#include "fakes/fake_perplexity.h"
#include "fakes/fake_search_server.h"

#include "core/alloc.h"
#include "core/json.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct item {
	struct fake_pplx_reply r;   /* owned copies of every string */
};

struct fake_perplexity {
	struct fss *srv;
	pthread_mutex_t lock;       /* guards what follows */
	struct fss_queue replies;   /* of struct item */
	struct item *dflt;          /* NULL = built-in */
	char *key;
};

static const char *const *copy_list(const char *const *v)
{
	size_t n = 0;
	char **c;

	if (!v)
		return NULL;
	while (v[n])
		n++;
	c = xcalloc(n + 1, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return (const char *const *)c;
}

static void free_list(const char *const *v)
{
	for (size_t i = 0; v && v[i]; i++)
		free((char *)v[i]);
	free((void *)v);
}

static struct item *item_new(const struct fake_pplx_reply *r)
{
	struct item *it = xcalloc(1, sizeof(*it));

	it->r = *r;
	it->r.text = xstrdup(r->text);
	it->r.raw_body = xstrdup(r->raw_body);
	it->r.error_body = xstrdup(r->error_body);
	it->r.search_results = copy_list(r->search_results);
	it->r.citations = copy_list(r->citations);
	return it;
}

static void item_free(void *p)
{
	struct item *it = p;

	if (!it)
		return;
	free((char *)it->r.text);
	free((char *)it->r.raw_body);
	free((char *)it->r.error_body);
	free_list(it->r.search_results);
	free_list(it->r.citations);
	free(it);
}

char *fake_perplexity_body(const struct fake_pplx_reply *r)
{
	json_t *root, *output, *msg, *content, *part, *ann;
	char *text;

	if (r->raw_body)
		return xstrdup(r->raw_body);
	root = json_object();
	output = json_array();
	json_object_set_new(root, "id", json_string("resp_fake"));
	json_object_set_new(root, "object", json_string("response"));
	json_object_set_new(root, "model", json_string("sonar-pro"));
	json_object_set_new(root, "status", json_string("completed"));
	if (r->search_results) {
		json_t *item = json_object(), *results = json_array();

		for (size_t i = 0; r->search_results[i]; i++) {
			json_t *res = json_object();

			json_object_set_new(res, "url", json_string(r->search_results[i]));
			json_object_set_new(res, "title", json_string("A result"));
			json_object_set_new(res, "snippet", json_string("…"));
			json_array_append_new(results, res);
		}
		json_object_set_new(item, "type", json_string("search_results"));
		json_object_set_new(item, "queries", json_pack("[s]", "fake"));
		json_object_set_new(item, "results", results);
		json_array_append_new(output, item);
	}
	msg = json_object();
	content = json_array();
	part = json_object();
	ann = json_array();
	for (size_t i = 0; r->citations && r->citations[i]; i++)
		json_array_append_new(ann, json_pack("{s:s,s:s,s:i,s:i}", "type", "url_citation",
						     "url", r->citations[i], "start_index", 0,
						     "end_index", 0));
	json_object_set_new(part, "type", json_string("output_text"));
	json_object_set_new(part, "text", json_string(r->text ? r->text : ""));
	json_object_set_new(part, "annotations", ann);
	json_array_append_new(content, part);
	json_object_set_new(msg, "type", json_string("message"));
	json_object_set_new(msg, "role", json_string("assistant"));
	json_object_set_new(msg, "status", json_string("completed"));
	json_object_set_new(msg, "content", content);
	json_array_append_new(output, msg);
	json_object_set_new(root, "output", output);
	if (r->top_level_text && r->text)
		json_object_set_new(root, "output_text", json_string(r->text));
	text = kjson_dump(root, false);
	json_decref(root);
	return text;
}

static void error_answer(const struct fake_pplx_reply *r, struct fss_answer *a)
{
	if (r->error_body)
		fss_answer_text(a, r->status, "application/json", xstrdup(r->error_body));
	else if (r->status == 401)
		fss_answer_text(a, r->status, "text/html",
				xstrdup("<html><head><title>401 Authorization Required</title>"
					"</head><body><center><h1>401 Authorization Required"
					"</h1></center><hr><center>openresty</center></body>"
					"</html>"));
	else
		fss_answer_text(a, r->status, "application/json",
				xasprintf("{\"error\":{\"message\":\"fake failure %d\","
					  "\"type\":\"server_error\",\"code\":%d}}", r->status,
					  r->status));
}

static bool authorised(struct fake_perplexity *f, const char *header)
{
	return !f->key || (header && strncmp(header, "Bearer ", 7) == 0 &&
			   strcmp(header + 7, f->key) == 0);
}

static void handle(void *ud, struct fss *s, size_t idx, const char *method, const char *path,
		   const char *body, size_t len, struct fss_answer *a)
{
	struct fake_perplexity *f = ud;
	char *auth = fss_request_header(s, idx, "Authorization");
	json_t *req = kjson_parse(body, len, NULL);
	struct item *it = NULL, *used = NULL;
	bool last;
	struct fake_pplx_reply builtin = { .text = "Fake search results.", .top_level_text = true };
	bool ok;

	if (strcmp(method, "POST") != 0 || strcmp(path, "/v1/responses") != 0) {
		struct fake_pplx_reply nf = { .status = 404 };

		error_answer(&nf, a);
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	ok = authorised(f, auth);
	if (ok) {
		it = fss_queue_take(&f->replies, &last);
		if (last)
			used = it;   /* freed after use */
		if (!it)
			it = f->dflt;
	}
	if (!ok) {
		struct fake_pplx_reply unauth = { .status = 401 };

		error_answer(&unauth, a);
	} else if (!kjson_str(req, "input") || !kjson_str(req, "preset")) {
		struct fake_pplx_reply bad = { .status = 400, .error_body =
			"{\"error\":{\"message\":\"input and preset are required\","
			"\"type\":\"invalid_request\",\"code\":400}}" };

		error_answer(&bad, a);
	} else {
		const struct fake_pplx_reply *r = it ? &it->r : &builtin;

		a->delay_ms = r->delay_ms;
		a->hang_up = r->hang_up;
		if (r->status >= 400) {
			error_answer(r, a);
		} else {
			fss_answer_text(a, r->status, "application/json", fake_perplexity_body(r));
		}
	}
	pthread_mutex_unlock(&f->lock);
	item_free(used);
out:
	json_decref(req);
	free(auth);
}

struct fake_perplexity *fake_perplexity_start(void)
{
	struct fake_perplexity *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->srv = fss_start("fake_perplexity", handle, f);
	if (!f->srv) {
		fake_perplexity_stop(f);
		return NULL;
	}
	return f;
}

void fake_perplexity_stop(struct fake_perplexity *f)
{
	if (!f)
		return;
	fss_stop(f->srv);
	fss_queue_clear(&f->replies, item_free);
	item_free(f->dflt);
	free(f->key);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const char *fake_perplexity_url(const struct fake_perplexity *f)
{
	return fss_url(f->srv);
}

void fake_perplexity_set_key(struct fake_perplexity *f, const char *key)
{
	pthread_mutex_lock(&f->lock);
	free(f->key);
	f->key = xstrdup(key);
	pthread_mutex_unlock(&f->lock);
}

void fake_perplexity_push(struct fake_perplexity *f, const struct fake_pplx_reply *r)
{
	struct item *it = item_new(r);

	pthread_mutex_lock(&f->lock);
	fss_queue_push(&f->replies, it, r->times);
	pthread_mutex_unlock(&f->lock);
}

void fake_perplexity_set_default(struct fake_perplexity *f, const struct fake_pplx_reply *r)
{
	struct item *it = r ? item_new(r) : NULL, *old;

	pthread_mutex_lock(&f->lock);
	old = f->dflt;
	f->dflt = it;
	pthread_mutex_unlock(&f->lock);
	item_free(old);
}

size_t fake_perplexity_request_count(struct fake_perplexity *f)
{
	return fss_request_count(f->srv);
}

json_t *fake_perplexity_request_json(struct fake_perplexity *f, size_t i)
{
	return fss_request_json(f->srv, i);
}

char *fake_perplexity_request_input(struct fake_perplexity *f, size_t i)
{
	json_t *j = fss_request_json(f->srv, i);
	char *s = xstrdup(kjson_str(j, "input"));

	json_decref(j);
	return s;
}

char *fake_perplexity_request_header(struct fake_perplexity *f, size_t i, const char *name)
{
	return fss_request_header(f->srv, i, name);
}

char *fake_perplexity_request_path(struct fake_perplexity *f, size_t i)
{
	return fss_request_path(f->srv, i);
}

int64_t fake_perplexity_request_arrived(struct fake_perplexity *f, size_t i)
{
	return fss_request_arrived(f->srv, i);
}

int64_t fake_perplexity_request_answered(struct fake_perplexity *f, size_t i)
{
	return fss_request_answered(f->srv, i);
}

bool fake_perplexity_wait_requests(struct fake_perplexity *f, size_t n, int timeout_ms)
{
	return fss_wait_requests(f->srv, n, timeout_ms);
}
