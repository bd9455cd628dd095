/* fake_serper.c — Serper's /images, scripted, plus the images themselves.
 *
 * Registered images are deep copies in one array under a mutex; the
 * search answer and the downloads both read it, so a test sets up a result
 * list once and every part of the image path (listing, extension, download,
 * Content-Type, status, delay) is under its control. */
#include "fakes/fake_serper.h"
#include "fakes/fake_search_server.h"

#include "core/alloc.h"
#include "core/json.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct image {
	char *path, *image_url, *content_type;
	unsigned char *data;
	size_t len;
	int status, delay_ms;
};

struct item {
	struct fake_serper_reply r;   /* body owned */
};

struct fake_serper {
	struct fss *srv;
	char *base;                   /* copy of the server URL, for imageUrl */
	pthread_mutex_t lock;         /* guards what follows */
	struct image *images;
	size_t nimages, imgcap;
	struct fss_queue replies;     /* of struct item */
	int delay_ms;
	char *key;
};

static void item_free(void *p)
{
	struct item *it = p;

	if (!it)
		return;
	free((char *)it->r.body);
	free(it);
}

static void image_release(struct image *im)
{
	free(im->path);
	free(im->image_url);
	free(im->content_type);
	free(im->data);
}

/* The search answer for `num` images (lock held). */
static char *search_body(struct fake_serper *f, const char *q, long long num)
{
	json_t *root = json_object(), *images = json_array();
	char *text;

	json_object_set_new(root, "searchParameters",
			    json_pack("{s:s,s:s,s:s,s:s,s:I}", "q", q ? q : "", "gl", "us", "hl",
				      "en", "type", "images", "num", (json_int_t)num));
	for (size_t i = 0; i < f->nimages && (long long)i < num; i++) {
		const struct image *im = &f->images[i];
		char *url = im->path ? xasprintf("%s%s", f->base, im->path) : xstrdup(im->image_url);

		json_array_append_new(images, json_pack(
			"{s:s,s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:i}",
			"title", "A picture", "imageUrl", url, "imageWidth", 800,
			"imageHeight", 600, "thumbnailUrl", "https://encrypted-tbn0.gstatic.com/x",
			"source", "Example", "domain", "example.com", "link",
			"https://example.com/page", "position", (int)i + 1));
		free(url);
	}
	json_object_set_new(root, "images", images);
	json_object_set_new(root, "credits", json_integer(1));
	text = kjson_dump(root, false);
	json_decref(root);
	return text;
}

static void handle_search(struct fake_serper *f, struct fss *s, size_t idx, const char *body,
			  size_t len, struct fss_answer *a)
{
	char *key = fss_request_header(s, idx, "X-API-KEY");
	json_t *req = kjson_parse(body, len, NULL);
	struct item *it, *used = NULL;
	long long num = 10;
	bool last;

	pthread_mutex_lock(&f->lock);
	if (f->key && (!key || strcmp(key, f->key) != 0)) {
		fss_answer_text(a, 403, "application/json",
			 xstrdup("{\"message\":\"Unauthorized.\",\"statusCode\":403}"));
		goto out;
	}
	it = fss_queue_take(&f->replies, &last);
	if (last)
		used = it;
	if (it) {
		int st = it->r.status ? it->r.status : 200;

		a->delay_ms = it->r.delay_ms;
		a->hang_up = it->r.hang_up;
		fss_answer_text(a, st, "application/json",
			 it->r.body ? xstrdup(it->r.body)
				    : xasprintf("{\"message\":\"fake failure\",\"statusCode\":%d}", st));
		goto out;
	}
	if (!json_is_object(req) || !kjson_str(req, "q")) {
		fss_answer_text(a, 400, "application/json",
			 xstrdup("{\"message\":\"Missing query parameter\",\"statusCode\":400}"));
		goto out;
	}
	(void)kjson_int(req, "num", &num);
	a->delay_ms = f->delay_ms;
	fss_answer_text(a, 200, "application/json", search_body(f, kjson_str(req, "q"), num));
out:
	pthread_mutex_unlock(&f->lock);
	item_free(used);
	json_decref(req);
	free(key);
}

static void handle(void *ud, struct fss *s, size_t idx, const char *method, const char *path,
		   const char *body, size_t len, struct fss_answer *a)
{
	struct fake_serper *f = ud;

	if (strcmp(method, "POST") == 0 && strcmp(path, "/images") == 0) {
		handle_search(f, s, idx, body, len, a);
		return;
	}
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nimages; i++) {
		const struct image *im = &f->images[i];

		if (!im->path || strcmp(im->path, path) != 0 || strcmp(method, "GET") != 0)
			continue;
		a->status = im->status ? im->status : 200;
		a->content_type = NULL;
		a->owned = xmalloc(im->len ? im->len : 1);
		if (im->len)
			memcpy(a->owned, im->data, im->len);
		a->body = a->owned;
		a->len = im->len;
		a->delay_ms = im->delay_ms;
		if (im->content_type) {   /* must outlive the lock */
			a->owned_type = xstrdup(im->content_type);
			a->content_type = a->owned_type;
		}
		pthread_mutex_unlock(&f->lock);
		return;
	}
	pthread_mutex_unlock(&f->lock);
	fss_answer_text(a, 404, "text/plain", xstrdup("not found\n"));
}

struct fake_serper *fake_serper_start(void)
{
	struct fake_serper *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->srv = fss_start("fake_serper", handle, f);
	if (!f->srv) {
		fake_serper_stop(f);
		return NULL;
	}
	pthread_mutex_lock(&f->lock);
	f->base = xstrdup(fss_url(f->srv));
	pthread_mutex_unlock(&f->lock);
	return f;
}

void fake_serper_stop(struct fake_serper *f)
{
	if (!f)
		return;
	fss_stop(f->srv);
	fss_queue_clear(&f->replies, item_free);
	fake_serper_clear_images(f);
	free(f->images);
	free(f->base);
	free(f->key);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const char *fake_serper_url(const struct fake_serper *f)
{
	return fss_url(f->srv);
}

void fake_serper_set_key(struct fake_serper *f, const char *key)
{
	pthread_mutex_lock(&f->lock);
	free(f->key);
	f->key = xstrdup(key);
	pthread_mutex_unlock(&f->lock);
}

void fake_serper_add_image(struct fake_serper *f, const struct fake_serper_image *img)
{
	struct image im = { 0 };

	im.path = xstrdup(img->path);
	im.image_url = xstrdup(img->image_url ? img->image_url : "");
	im.content_type = xstrdup(img->content_type);
	im.data = xmalloc(img->len ? img->len : 1);
	if (img->len)
		memcpy(im.data, img->data, img->len);
	im.len = img->len;
	im.status = img->status;
	im.delay_ms = img->delay_ms;
	pthread_mutex_lock(&f->lock);
	f->images = xgrow(f->images, &f->imgcap, f->nimages + 1, sizeof(*f->images));
	f->images[f->nimages++] = im;
	pthread_mutex_unlock(&f->lock);
}

void fake_serper_clear_images(struct fake_serper *f)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nimages; i++)
		image_release(&f->images[i]);
	f->nimages = 0;
	pthread_mutex_unlock(&f->lock);
}

void fake_serper_set_delay(struct fake_serper *f, int ms)
{
	pthread_mutex_lock(&f->lock);
	f->delay_ms = ms;
	pthread_mutex_unlock(&f->lock);
}

void fake_serper_push(struct fake_serper *f, const struct fake_serper_reply *r)
{
	struct item *it = xcalloc(1, sizeof(*it));

	it->r = *r;
	it->r.body = xstrdup(r->body);
	pthread_mutex_lock(&f->lock);
	fss_queue_push(&f->replies, it, r->times);
	pthread_mutex_unlock(&f->lock);
}

size_t fake_serper_request_count(struct fake_serper *f)
{
	return fss_request_count(f->srv);
}

char *fake_serper_request_path(struct fake_serper *f, size_t i)
{
	return fss_request_path(f->srv, i);
}

char *fake_serper_request_method(struct fake_serper *f, size_t i)
{
	return fss_request_method(f->srv, i);
}

char *fake_serper_request_header(struct fake_serper *f, size_t i, const char *name)
{
	return fss_request_header(f->srv, i, name);
}

json_t *fake_serper_request_json(struct fake_serper *f, size_t i)
{
	return fss_request_json(f->srv, i);
}

int64_t fake_serper_request_arrived(struct fake_serper *f, size_t i)
{
	return fss_request_arrived(f->srv, i);
}

int64_t fake_serper_request_answered(struct fake_serper *f, size_t i)
{
	return fss_request_answered(f->srv, i);
}

bool fake_serper_wait_requests(struct fake_serper *f, size_t n, int timeout_ms)
{
	return fss_wait_requests(f->srv, n, timeout_ms);
}

size_t fake_serper_count_path(struct fake_serper *f, const char *path)
{
	size_t n = 0, total = fss_request_count(f->srv);

	for (size_t i = 0; i < total; i++) {
		char *p = fss_request_path(f->srv, i);

		n += p && strcmp(p, path) == 0;
		free(p);
	}
	return n;
}
