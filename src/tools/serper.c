/* serper.c — the image half of a search: Serper's image search, then the
 * first picture that actually downloads as an image.
 *
 * Search results point anywhere: at pages, at SVGs, at servers that answer
 * with HTML or never answer.  So a candidate must name a picture type in
 * its URL (jpg, jpeg, png, gif, webp), must not be on a blocked domain,
 * must download within the time limit and the size cap, and the answer must
 * say it is one of those types (or be a generic octet-stream, when the
 * extension decides).  The first candidate that passes wins.  The whole
 * image phase is bounded by twice IMAGE_DOWNLOAD_TIMEOUT, so a string of
 * slow servers cannot hold a reply much longer than the text search.
 * Nothing here fails a search: the caller treats every error as "no image". */
#include "tools/search_int.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define TAG "search"

void search_image_release(struct search_image *img)
{
	if (!img)
		return;
	free(img->data);
	free(img->mime);
	free(img->url);
	memset(img, 0, sizeof(*img));
}

enum kith_status serper_parse(const char *body, size_t n, char ***urls, size_t *nurls,
			      char **why)
{
	json_t *root = kjson_parse(body, n, NULL), *img;
	size_t i, cap = 0;

	*urls = NULL;
	*nurls = 0;
	if (!json_is_object(root)) {
		json_decref(root);
		return kith_why(why, KITH_EPROTO, "Serper answered something that is not JSON");
	}
	json_array_foreach(kjson_arr(root, "images"), i, img) {
		const char *u = kjson_str(img, "imageUrl");

		if (!u || !*u)
			continue;
		*urls = xgrow(*urls, &cap, *nurls + 2, sizeof(**urls));
		(*urls)[(*nurls)++] = xstrdup(u);
		(*urls)[*nurls] = NULL;
	}
	json_decref(root);
	return KITH_OK;
}

static const struct {
	const char *ext, *mime;
} kinds[] = {
	{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "png", "image/png" },
	{ "gif", "image/gif" },  { "webp", "image/webp" },
};

const char *serper_image_ext(const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL, *end, *seg, *dot = NULL;
	char ext[8];
	size_t len;

	if (!p)
		return NULL;
	p += 3;
	end = p + strcspn(p, "?#");
	seg = memchr(p, '/', (size_t)(end - p));
	if (!seg)
		return NULL;   /* no path at all */
	for (const char *q = seg; q < end; q++) {
		if (*q == '/') {
			seg = q + 1;
			dot = NULL;
		} else if (*q == '.') {
			dot = q;
		}
	}
	if (!dot)
		return NULL;
	len = (size_t)(end - dot - 1);
	if (len == 0 || len >= sizeof(ext))
		return NULL;
	for (size_t i = 0; i < len; i++)
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);
	ext[len] = '\0';
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].ext, ext) == 0)
			return kinds[i].ext;
	return NULL;
}

const char *serper_image_mime(const char *content_type, const char *ext)
{
	char type[64];
	size_t n = 0;
	const char *p = content_type ? content_type : "";

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ';' && n + 1 < sizeof(type))
		type[n++] = (char)tolower((unsigned char)*p++);
	while (n && (type[n - 1] == ' ' || type[n - 1] == '\t'))
		n--;
	type[n] = '\0';
	if (!n || strcmp(type, "application/octet-stream") == 0 ||
	    strcmp(type, "binary/octet-stream") == 0) {
		for (size_t i = 0; ext && i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strcasecmp(kinds[i].ext, ext) == 0)
				return kinds[i].mime;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].mime, type) == 0)
			return kinds[i].mime;
	return NULL;
}

/* Milliseconds left before `deadline` (monotonic), capped at `cap`. */
static long budget(int64_t deadline, long cap)
{
	int64_t left = deadline - clock_mono_ms();

	if (left <= 0)
		return 0;
	return left < cap ? (long)left : cap;
}

static enum kith_status image_search(const struct search_opts *o, const char *query,
				     long timeout_ms, char ***urls, size_t *nurls, char **why)
{
	json_t *body = json_object();
	char *text, *url, *key, *reason = NULL;
	const char *headers[3];
	struct http_request req = { 0 };
	struct http_response resp;
	enum kith_status rc;

	json_object_set_new(body, "q", json_string(query));
	json_object_set_new(body, "num", json_integer(o->image_max_results > 0 ?
						      o->image_max_results : 3));
	text = kjson_dump(body, false);
	url = xasprintf("%s/images", o->serper_url);
	key = xasprintf("X-API-KEY: %s", o->serper_key);
	headers[0] = key;
	headers[1] = "Content-Type: application/json";
	headers[2] = NULL;
	req.url = url;
	req.headers = headers;
	req.body = text;
	req.body_len = strlen(text);
	req.timeout_ms = timeout_ms;
	req.max_response = (size_t)1 << 20;
	req.cancel = o->cancel;
	http_response_init(&resp);
	rc = http_perform(&req, &resp, &reason);
	if (rc == KITH_EHTTP)
		rc = kith_why(why, rc, "Serper answered HTTP %ld", resp.status);
	else if (rc)
		rc = kith_why(why, rc, "Serper: %s", reason ? reason : kith_strerror(rc));
	else
		rc = serper_parse(buf_str(&resp.body), resp.body.len, urls, nurls, why);
	http_response_release(&resp);
	free(reason);
	free(key);
	free(url);
	free(text);
	json_decref(body);
	return rc;
}

/* Download one candidate; KITH_OK fills *out. */
static enum kith_status download(const struct search_opts *o, const char *url, const char *ext,
				 long timeout_ms, struct search_image *out, char **why)
{
	struct http_request req = { 0 };
	struct http_response resp;
	const char *mime;
	char *reason = NULL;
	enum kith_status rc;

	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return kith_why(why, KITH_EINVAL, "not an http(s) URL");
	req.method = "GET";
	req.url = url;
	req.timeout_ms = timeout_ms;
	req.max_response = o->image_max_bytes ? o->image_max_bytes : SEARCH_IMAGE_MAX_BYTES;
	req.cancel = o->cancel;
	http_response_init(&resp);
	rc = http_perform(&req, &resp, &reason);
	if (rc) {
		rc = kith_why(why, rc, "%s", reason ? reason : kith_strerror(rc));
		goto out;
	}
	mime = serper_image_mime(resp.content_type, ext);
	if (!mime) {
		rc = kith_why(why, KITH_EUNSUPPORTED, "content type %s is not an image we send",
			      resp.content_type ? resp.content_type : "(none)");
		goto out;
	}
	if (!resp.body.len) {
		rc = kith_why(why, KITH_EPROTO, "empty image");
		goto out;
	}
	out->len = resp.body.len;
	out->data = (unsigned char *)buf_detach(&resp.body);
	out->mime = xstrdup(mime);
	out->url = xstrdup(url);
out:
	http_response_release(&resp);
	free(reason);
	return rc;
}

enum kith_status serper_find_image(const struct search_opts *o, const char *query,
				   struct search_image *out, char **why)
{
	long each = o->image_timeout_ms > 0 ? o->image_timeout_ms : 15000;
	int64_t deadline = clock_mono_ms() + 2 * (int64_t)each;
	char **urls = NULL, *last = NULL;
	size_t nurls = 0, tried = 0;
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	if (!o->serper_key || !*o->serper_key)
		return kith_why(why, KITH_ECONFIG, "no SERPER_API_KEY");
	rc = image_search(o, query, each, &urls, &nurls, why);
	if (rc)
		goto out;
	rc = KITH_ENOTFOUND;
	for (size_t i = 0; i < nurls; i++) {
		const char *ext = serper_image_ext(urls[i]);
		long left = budget(deadline, each);
		char *reason = NULL;

		if (!ext || search_url_blocked(urls[i], o->blocked))
			continue;
		if (!left || (o->cancel && cancel_requested(o->cancel)))
			break;
		tried++;
		if (download(o, urls[i], ext, left, out, &reason) == KITH_OK) {
			free(reason);
			rc = KITH_OK;
			break;
		}
		log_debug(TAG, "image %zu of %zu skipped: %s", i + 1, nurls, reason);
		free(last);
		last = reason;
	}
	if (rc)
		rc = kith_why(why, KITH_ENOTFOUND, "no usable image among %zu result%s (%zu tried%s%s)",
			      nurls, nurls == 1 ? "" : "s", tried, last ? "; last: " : "",
			      last ? last : "");
out:
	free(last);
	search_terms_free(urls);
	return rc;
}
