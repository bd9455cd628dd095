/* fake_newsapi.c — NewsAPI's /v2/everything, scripted.
 *
 * Replies are deep-copied into a FIFO under one mutex; the HTTP plumbing,
 * the recording and the FIFO itself are fake_search_server.c's.  Bodies
 * are built with jansson, nulls included, so the client's parser meets
 * the nullable fields the real service sends. */
#include "fakes/fake_newsapi.h"
#include "fakes/fake_search_server.h"

#include "core/alloc.h"
#include "core/json.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PATH "/v2/everything"
#define TYPE "application/json; charset=utf-8"

struct item {
	struct fake_news_reply r;   /* owned copies of every string */
	struct fake_news_article *arts;
};

struct fake_newsapi {
	struct fss *srv;
	char *url;
	pthread_mutex_t lock;       /* guards what follows */
	struct fss_queue replies;   /* of struct item */
	char *key;
};

static struct item *item_new(const struct fake_news_reply *r)
{
	struct item *it = xcalloc(1, sizeof(*it));

	it->r = *r;
	it->r.raw_body = xstrdup(r->raw_body);
	it->r.code = xstrdup(r->code);
	it->r.message = xstrdup(r->message);
	it->arts = r->n ? xcalloc(r->n, sizeof(*it->arts)) : NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct fake_news_article *a = &r->articles[i];

		it->arts[i] = (struct fake_news_article){
			xstrdup(a->source), xstrdup(a->title), xstrdup(a->description),
			xstrdup(a->url), xstrdup(a->published_at), xstrdup(a->content),
		};
	}
	it->r.articles = it->arts;
	return it;
}

static void item_free(void *p)
{
	struct item *it = p;

	if (!it)
		return;
	for (size_t i = 0; i < it->r.n; i++) {
		free((char *)it->arts[i].source);
		free((char *)it->arts[i].title);
		free((char *)it->arts[i].description);
		free((char *)it->arts[i].url);
		free((char *)it->arts[i].published_at);
		free((char *)it->arts[i].content);
	}
	free(it->arts);
	free((char *)it->r.raw_body);
	free((char *)it->r.code);
	free((char *)it->r.message);
	free(it);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static char *error_body(int status, const char *code, const char *message)
{
	json_t *j = json_object();
	char *s;

	if (!code)
		code = status == 401 ? "apiKeyInvalid" : status == 429 ? "rateLimited"
			: status == 400 ? "parameterInvalid" : "unexpectedError";
	if (!message)
		message = status == 401 ? "Your API key is invalid or incorrect."
			: status == 429 ? "You have made too many requests recently."
			: "Something went wrong.";
	json_object_set_new(j, "status", json_string("error"));
	json_object_set_new(j, "code", json_string(code));
	json_object_set_new(j, "message", json_string(message));
	s = kjson_dump(j, false);
	json_decref(j);
	return s;
}

char *fake_newsapi_body(const struct fake_news_reply *r)
{
	json_t *root, *arts;
	char *s;

	if (r->raw_body)
		return xstrdup(r->raw_body);
	if (r->status >= 400)
		return error_body(r->status, r->code, r->message);
	root = json_object();
	arts = json_array();
	for (size_t i = 0; i < r->n; i++) {
		const struct fake_news_article *a = &r->articles[i];
		json_t *o = json_object(), *src = json_object();

		json_object_set_new(src, "id", json_null());
		json_object_set_new(src, "name", str_or_null(a->source));
		json_object_set_new(o, "source", src);
		json_object_set_new(o, "author", json_null());
		json_object_set_new(o, "title", str_or_null(a->title));
		json_object_set_new(o, "description", str_or_null(a->description));
		json_object_set_new(o, "url", str_or_null(a->url));
		json_object_set_new(o, "urlToImage", json_null());
		json_object_set_new(o, "publishedAt", json_string(a->published_at ? a->published_at
								  : "2026-11-20T12:00:00Z"));
		json_object_set_new(o, "content", str_or_null(a->content));
		json_array_append_new(arts, o);
	}
	json_object_set_new(root, "status", json_string("ok"));
	json_object_set_new(root, "totalResults", json_integer((json_int_t)r->n));
	json_object_set_new(root, "articles", arts);
	s = kjson_dump(root, false);
	json_decref(root);
	return s;
}

static void handle(void *ud, struct fss *srv, size_t index, const char *method, const char *path,
		   const char *body, size_t len, struct fss_answer *a)
{
	struct fake_newsapi *f = ud;
	struct item *it = NULL;
	char *key = fss_request_header(srv, index, "X-Api-Key");
	char *q = fss_request_arg(srv, index, "q");
	int status = 0;
	const char *code = NULL;
	bool last;

	(void)body;
	(void)len;
	pthread_mutex_lock(&f->lock);
	if (strcmp(method, "GET") != 0 || strcmp(path, PATH) != 0) {
		status = 404;
		code = "routeNotFound";
	} else if (f->key && !key) {
		status = 401;
		code = "apiKeyMissing";
	} else if (f->key && strcmp(key, f->key) != 0) {
		status = 401;
		code = "apiKeyInvalid";
	} else if (!q || !*q) {
		status = 400;
		code = "parametersMissing";
	} else {
		it = fss_queue_take(&f->replies, &last);
		if (it && !last)
			it = item_new(&it->r);   /* a copy to answer from outside the lock */
	}
	pthread_mutex_unlock(&f->lock);
	if (status) {
		fss_answer_text(a, status, TYPE, error_body(status, code, NULL));
	} else if (it) {
		a->delay_ms = it->r.delay_ms;
		a->hang_up = it->r.hang_up;
		fss_answer_text(a, it->r.status, TYPE, fake_newsapi_body(&it->r));
		item_free(it);
	} else {
		struct fake_news_reply none = { 0 };

		fss_answer_text(a, 0, TYPE, fake_newsapi_body(&none));
	}
	free(key);
	free(q);
}

struct fake_newsapi *fake_newsapi_start(void)
{
	struct fake_newsapi *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->srv = fss_start("fake_newsapi", handle, f);
	if (!f->srv) {
		fake_newsapi_stop(f);
		return NULL;
	}
	f->url = xasprintf("%s/v2", fss_url(f->srv));
	return f;
}

void fake_newsapi_stop(struct fake_newsapi *f)
{
	if (!f)
		return;
	fss_stop(f->srv);
	fss_queue_clear(&f->replies, item_free);
	free(f->key);
	free(f->url);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const char *fake_newsapi_url(const struct fake_newsapi *f)
{
	return f->url;
}

void fake_newsapi_set_key(struct fake_newsapi *f, const char *key)
{
	pthread_mutex_lock(&f->lock);
	free(f->key);
	f->key = xstrdup(key);
	pthread_mutex_unlock(&f->lock);
}

void fake_newsapi_push(struct fake_newsapi *f, const struct fake_news_reply *r)
{
	struct item *it = item_new(r);

	pthread_mutex_lock(&f->lock);
	fss_queue_push(&f->replies, it, r->times);
	pthread_mutex_unlock(&f->lock);
}

size_t fake_newsapi_request_count(struct fake_newsapi *f)
{
	return fss_request_count(f->srv);
}

char *fake_newsapi_request_path(struct fake_newsapi *f, size_t i)
{
	return fss_request_path(f->srv, i);
}

char *fake_newsapi_request_arg(struct fake_newsapi *f, size_t i, const char *name)
{
	return fss_request_arg(f->srv, i, name);
}

char *fake_newsapi_request_header(struct fake_newsapi *f, size_t i, const char *name)
{
	return fss_request_header(f->srv, i, name);
}

bool fake_newsapi_wait_requests(struct fake_newsapi *f, size_t n, int timeout_ms)
{
	return fss_wait_requests(f->srv, n, timeout_ms);
}
