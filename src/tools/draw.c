/* draw.c — Ollama image generation (draw.h).
 *
 * The answer is one JSON object holding up to DRAW_MAX_IMAGE bytes as
 * base64, so the read cap is set from that (4/3 of it plus room for the
 * JSON around it) rather than the HTTP client's 8 MiB default.  Decoding
 * uses libsodium's strict base64 (the library already links it), ignoring
 * line breaks. */
#include "tools/draw.h"

#include "core/alloc.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAG "draw"
#define DRAW_MAX_RESPONSE (DRAW_MAX_IMAGE / 3 * 4 + ((size_t)1 << 20))

void draw_image_release(struct draw_image *img)
{
	if (!img)
		return;
	free(img->data);
	memset(img, 0, sizeof(*img));
}

const char *draw_sniff(const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return "image/jpeg";
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

static const char *filename_for(const char *mime)
{
	if (strcmp(mime, "image/jpeg") == 0)
		return "drawing.jpg";
	if (strcmp(mime, "image/webp") == 0)
		return "drawing.webp";
	return "drawing.png";
}

static enum kith_status decode(const char *s, size_t n, struct draw_image *out, char **why)
{
	static const int variants[2] = { sodium_base64_VARIANT_ORIGINAL,
					 sodium_base64_VARIANT_ORIGINAL_NO_PADDING };
	size_t cap;
	unsigned char *bin;

	/* "data:image/png;base64,…" */
	if (n > 5 && memcmp(s, "data:", 5) == 0) {
		const char *comma = memchr(s, ',', n);

		if (!comma)
			return kith_why(why, KITH_EPROTO, "the image is not base64");
		n -= (size_t)(comma + 1 - s);
		s = comma + 1;
	}
	if (n == 0)
		return kith_why(why, KITH_EPROTO, "the model sent an empty image");
	if (n / 4 * 3 > DRAW_MAX_IMAGE + 3)
		return kith_why(why, KITH_ETOOBIG, "the image is larger than %zu MB",
				DRAW_MAX_IMAGE >> 20);
	cap = n / 4 * 3 + 3;
	bin = xmalloc(cap);
	for (int i = 0; i < 2; i++) {
		const char *end = NULL;
		size_t len = 0;

		if (sodium_base642bin(bin, cap, s, n, " \t\r\n", &len, &end, variants[i]) == 0 &&
		    end == s + n) {
			const char *mime = draw_sniff(bin, len);

			if (len > DRAW_MAX_IMAGE) {
				free(bin);
				return kith_why(why, KITH_ETOOBIG, "the image is larger than %zu MB",
						DRAW_MAX_IMAGE >> 20);
			}
			if (!mime) {
				free(bin);
				return kith_why(why, KITH_EPROTO,
						"the model sent something that is not a PNG, JPEG "
						"or WebP image");
			}
			out->data = bin;
			out->len = len;
			out->mime = mime;
			out->filename = filename_for(mime);
			return KITH_OK;
		}
	}
	free(bin);
	return kith_why(why, KITH_EPROTO, "the image is not valid base64");
}

enum kith_status draw_parse_response(const char *body, size_t n, struct draw_image *out,
				     char **why)
{
	json_t *root, *imgs;
	const char *b64;
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	root = kjson_parse(body, n, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return kith_why(why, KITH_EPROTO, "the answer is not a JSON object");
	}
	b64 = kjson_str(root, "image");
	imgs = kjson_arr(root, "images");
	if (!b64 && imgs && json_is_string(json_array_get(imgs, 0)))
		b64 = json_string_value(json_array_get(imgs, 0));
	if (!b64) {
		const char *err = kjson_str(root, "error");

		rc = err ? kith_why(why, KITH_EPROTO, "the server said: %.200s", err)
			 : kith_why(why, KITH_EPROTO, "the model sent no image (is it an "
						      "image-generation model?)");
	} else {
		rc = decode(b64, strlen(b64), out, why);
	}
	json_decref(root);
	return rc;
}

/* Ollama's {"error": "…"} from an error answer, else the HTTP reason. */
static char *server_error(const struct http_response *r, const char *fallback)
{
	json_t *root = kjson_parse(r->body.data ? r->body.data : "", r->body.len, NULL);
	const char *e = kjson_str(root, "error");
	char *out = e ? xasprintf("%.200s", e) : xstrdup(fallback ? fallback : "error");

	json_decref(root);
	return out;
}

enum kith_status draw_generate(const struct draw_params *p, const char *prompt,
			       struct draw_image *out, char **why)
{
	static const char *const hdrs[] = { "Content-Type: application/json",
					    "Accept: application/json", NULL };
	struct http_request req = { 0 };
	struct http_retry policy = { 0 };
	struct http_response resp;
	json_t *body;
	char *text, *url, *reason = NULL;
	int attempts = 0;
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	if (!p->base_url || !*p->base_url || !p->model || !*p->model)
		return kith_why(why, KITH_ECONFIG, "no image model is configured");
	if (!prompt || !*prompt || strlen(prompt) > DRAW_PROMPT_MAX)
		return kith_why(why, KITH_EINVAL, "the prompt must be 1 to %d characters",
				DRAW_PROMPT_MAX);
	body = json_pack("{s:s,s:s,s:b}", "model", p->model, "prompt", prompt, "stream", 0);
	if (!body)
		return kith_why(why, KITH_EINVAL, "the prompt is not valid text");
	text = kjson_dump(body, false);
	json_decref(body);
	{
		size_t bl = strlen(p->base_url);

		while (bl && p->base_url[bl - 1] == '/')
			bl--;
		url = xasprintf("%.*s/api/generate", (int)bl, p->base_url);
	}
	req.url = url;
	req.headers = hdrs;
	req.body = text;
	req.body_len = strlen(text);
	req.timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : DRAW_DEFAULT_TIMEOUT_MS;
	req.connect_timeout_ms = 10000;
	req.max_response = DRAW_MAX_RESPONSE;
	req.cancel = p->cancel;
	policy.max_attempts = p->max_attempts > 0 ? p->max_attempts : 3;
	policy.base_ms = p->retry_base_ms > 0 ? p->retry_base_ms : 500;
	policy.max_ms = 30000;

	http_response_init(&resp);
	rc = http_perform_retry(&req, &policy, &resp, &attempts, &reason);
	if (rc == KITH_OK) {
		rc = draw_parse_response(resp.body.data ? resp.body.data : "", resp.body.len, out,
					 why);
	} else if (rc == KITH_EHTTP && resp.status == 404) {
		rc = kith_why(why, KITH_ENOTFOUND, "model '%s' not found on Ollama at %s",
			      p->model, p->base_url);
	} else if (rc == KITH_EHTTP) {
		char *e = server_error(&resp, reason);

		rc = kith_why(why, KITH_EHTTP, "Ollama answered HTTP %ld: %s", resp.status, e);
		free(e);
	} else if (rc == KITH_ECONNECT) {
		rc = kith_why(why, rc, "cannot reach Ollama at %s: %s", p->base_url,
			      reason ? reason : "connection failed");
	} else if (rc == KITH_ETIMEDOUT) {
		rc = kith_why(why, rc, "the image model took longer than %ld seconds",
			      req.timeout_ms / 1000);
	} else if (rc == KITH_ETOOBIG) {
		rc = kith_why(why, rc, "the image is larger than %zu MB", DRAW_MAX_IMAGE >> 20);
	} else {
		rc = kith_why(why, rc, "%s", reason ? reason : kith_strerror(rc));
	}
	if (rc)
		log_warn(TAG, "drawing failed after %d attempt%s: %s", attempts,
			 attempts == 1 ? "" : "s", why && *why ? *why : kith_strerror(rc));
	http_response_release(&resp);
	free(reason);
	free(text);
	free(url);
	return rc;
}
