/* vision.c — image attachments described in words for the prompt.
 *
 * SEL captions each image attachment with "Briefly describe this image
 * for conversational context" and Penny with "Describe this image in
 * detail"; kith asks for one or two sentences that include any visible
 * text, since a screenshot's words are usually the point of it.  One model
 * call per image, so one bad image costs only its own line.
 *
 * Everything an image needs passes through caps before it costs memory or a
 * model call: the number of images, the bytes of each and of all together
 * (downloads are capped by http.c as they arrive), the download time, and
 * the length of what the model says.  A caption is untrusted text going
 * into a prompt: it is flattened to one line, its brackets are softened so
 * it cannot close its own "[image N: …]", and it is cut at a character
 * boundary.  The image's type is taken from its bytes when they say
 * (PNG, JPEG, GIF, WebP), else from what the sender declared. */
#include "agent/vision.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/log.h"
#include "llm/llm.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define VISION_PROMPT \
	"Describe this image in one or two sentences for someone who cannot see it: " \
	"what it shows, and any text visible in it, quoted. " \
	"Answer with the description only."
#define UNDESCRIBED "[an image that could not be described]"
#define NAME_MAX_BYTES 80          /* bytes of a file name shown */
#define CONNECT_TIMEOUT_MS 5000

/* Extensions that name image files, and the type each means. */
static const struct {
	const char *ext;
	const char *mime;
} extensions[] = {
	{ "png", "image/png" },   { "jpg", "image/jpeg" },  { "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },   { "webp", "image/webp" }, { "bmp", "image/bmp" },
	{ "heic", "image/heic" }, { "tif", "image/tiff" },  { "tiff", "image/tiff" },
	{ "svg", "image/svg+xml" }, { "avif", "image/avif" },
};

/* What vision models take: the formats both Ollama's and OpenAI's accept. */
static const char *const describable[] = { "image/png", "image/jpeg", "image/gif",
					   "image/webp" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A Content-Type without parameters, lower-cased ("image/jpg" is
 * image/jpeg); NULL when empty.  Caller frees. */
static char *media_type(const char *ct)
{
	size_t n = 0;
	char *t;

	if (!ct)
		return NULL;
	while (isspace((unsigned char)*ct))
		ct++;
	while (ct[n] && ct[n] != ';' && !isspace((unsigned char)ct[n]))
		n++;
	if (n == 0)
		return NULL;
	t = xstrndup(ct, n);
	for (char *p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strcmp(t, "image/jpg") == 0) {
		free(t);
		t = xstrdup("image/jpeg");
	}
	return t;
}

static bool is_image_type(const char *t)
{
	return t && strncmp(t, "image/", 6) == 0 && t[6];
}

/* The type a file name's extension means, or NULL. */
static const char *type_from_name(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;

	for (size_t i = 0; dot && i < NELEM(extensions); i++) {
		if (strcasecmp(dot + 1, extensions[i].ext) == 0)
			return extensions[i].mime;
	}
	return NULL;
}

/* The type the bytes themselves announce, or NULL. */
static const char *type_from_bytes(const unsigned char *p, size_t n)
{
	if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 3 && memcmp(p, "\xff\xd8\xff", 3) == 0)
		return "image/jpeg";
	if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

static bool is_describable(const char *t)
{
	for (size_t i = 0; t && i < NELEM(describable); i++) {
		if (strcmp(t, describable[i]) == 0)
			return true;
	}
	return false;
}

bool agent_attachment_is_image(const struct attachment *a)
{
	char *t = media_type(a->content_type);
	bool yes = is_image_type(t);

	/* A generic type (application/octet-stream) does not rule out a
	 * name that says image. */
	if (!yes)
		yes = type_from_name(a->filename) != NULL;
	free(t);
	return yes;
}

/* The longest prefix of s[0..n) that does not end inside a UTF-8
 * character. */
static size_t utf8_cut(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i > 0) {
		unsigned char lead = (unsigned char)s[i - 1];
		size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;

		if (n - (i - 1) >= want)
			return n;
		return i - 1;
	}
	return n;
}

/* Untrusted text as one tidy line: whitespace runs become one space,
 * control characters go, [ ] become ( ), at most `max` bytes (cut at a
 * character boundary, marked with "…").  Caller frees. */
static char *one_line(const char *s, size_t max)
{
	struct buf b = BUF_INIT(0);
	bool space = false;
	size_t cut;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isspace(c)) {
			space = b.len > 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (space)
			(void)buf_append(&b, " ", 1);
		space = false;
		c = c == '[' ? '(' : c == ']' ? ')' : c;
		(void)buf_append(&b, &c, 1);
	}
	if (b.len > max) {
		cut = utf8_cut(b.data, max);
		while (cut > 0 && b.data[cut - 1] == ' ')
			cut--;
		b.len = cut;
		b.data[cut] = '\0';
		(void)buf_puts(&b, "…");
	}
	return buf_detach(&b);
}

/* Reasoning some local models put before the answer. */
static const char *after_thinking(const char *s)
{
	const char *end = NULL, *p = s;

	while ((p = strstr(p, "</think>"))) {
		p += strlen("</think>");
		end = p;
	}
	return end ? end : s;
}

/* A URL for a log line: no query string (CDN links carry signatures). */
static char *url_for_log(const char *url)
{
	return xstrndup(url, strcspn(url, "?#"));
}

static bool http_url(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* GET url into *img (bytes and declared type), at most `cap` bytes. */
static enum kith_status download(const char *url, size_t cap, const struct cancel *cancel,
				 struct llm_image *img, char **why)
{
	struct http_request req = { 0 };
	struct http_response resp;
	char *reason = NULL, *type = NULL;
	enum kith_status st;

	if (!http_url(url))
		return kith_why(why, KITH_EINVAL, "only http and https links are fetched");
	http_response_init(&resp);
	req.method = "GET";
	req.url = url;
	req.timeout_ms = VISION_DOWNLOAD_TIMEOUT_MS;
	req.connect_timeout_ms = CONNECT_TIMEOUT_MS;
	req.max_response = cap;
	req.cancel = cancel;
	st = http_perform(&req, &resp, &reason);
	if (st == KITH_ETOOBIG) {
		kith_why(why, st, "the download passed %zu bytes", cap);
		goto out;
	}
	if (st) {
		kith_why(why, st, "download failed: %s", reason ? reason : kith_strerror(st));
		goto out;
	}
	type = media_type(resp.content_type);
	if (!is_image_type(type)) {
		st = kith_why(why, KITH_EPROTO, "the link served %s, not an image",
			      type ? type : "no Content-Type");
		goto out;
	}
	if (resp.body.len == 0) {
		st = kith_why(why, KITH_EPROTO, "the link served an empty body");
		goto out;
	}
	img->len = resp.body.len;
	img->data = (unsigned char *)buf_detach(&resp.body);
	img->mime = type;
	type = NULL;
out:
	free(type);
	free(reason);
	http_response_release(&resp);
	return st;
}

/* Ask the vision model about one image (taken over by this call); the
 * caption, tidied, in *caption. */
static enum kith_status describe(struct llm_client *llm, struct llm_image *img,
				 const struct cancel *cancel, char **caption, char **why)
{
	struct llm_msg msg;
	struct llm_request req = { 0 };
	struct llm_response out;
	const char *text;
	enum kith_status st;

	llm_msg_init(&msg, LLM_MSG_USER, VISION_PROMPT);
	/* The message owns its images: hand over the bytes rather than copy
	 * megabytes. */
	msg.images = xmalloc(sizeof(*msg.images));
	msg.images[0] = *img;
	msg.nimages = 1;
	memset(img, 0, sizeof(*img));
	req.role = LLM_ROLE_VISION;
	req.msgs = &msg;
	req.nmsgs = 1;
	req.cancel = cancel;
	req.temperature = -1;
	st = llm_chat(llm, &req, &out, why);
	if (st == KITH_OK) {
		text = after_thinking(out.content);
		*caption = one_line(text, VISION_CAPTION_MAX);
		if (!(*caption)[0]) {
			free(*caption);
			*caption = NULL;
			st = kith_why(why, KITH_EPROTO, "the vision model answered with no words");
		}
	}
	llm_response_release(&out);
	llm_msg_release(&msg);
	return st;
}

/* The bytes of one image attachment, within `room` bytes; the type from the
 * bytes, else the one declared, else the file name's. */
static enum kith_status obtain(const struct attachment *a, size_t room,
			       const struct cancel *cancel, struct llm_image *img, char **why)
{
	size_t cap = room < VISION_MAX_IMAGE_BYTES ? room : VISION_MAX_IMAGE_BYTES;
	const char *sniffed;
	char *declared = NULL;
	enum kith_status st;

	memset(img, 0, sizeof(*img));
	if (cap == 0)
		return kith_why(why, KITH_ETOOBIG, "the message's images passed %zu bytes in all",
				(size_t)VISION_MAX_TOTAL_BYTES);
	if (a->data && a->len) {
		if (a->len > cap)
			return kith_why(why, KITH_ETOOBIG, "it is %zu bytes, over the limit of %zu",
					a->len, cap);
		img->data = xmalloc(a->len);
		memcpy(img->data, a->data, a->len);
		img->len = a->len;
	} else if (a->url && a->url[0]) {
		if ((st = download(a->url, cap, cancel, img, why)))
			return st;
		declared = img->mime;
		img->mime = NULL;
	} else {
		return kith_why(why, KITH_EINVAL, "it has neither data nor a link");
	}
	if (!is_image_type(declared)) {
		free(declared);
		declared = media_type(a->content_type);
	}
	if (!is_image_type(declared)) {
		free(declared);
		declared = xstrdup(type_from_name(a->filename));
	}
	sniffed = type_from_bytes(img->data, img->len);
	img->mime = sniffed ? xstrdup(sniffed) : declared;
	if (sniffed)
		free(declared);
	if (!is_describable(img->mime))
		return kith_why(why, KITH_EUNSUPPORTED, "%s is not a format vision models read",
				img->mime ? img->mime : "an unknown type");
	return KITH_OK;
}

static void image_release(struct llm_image *img)
{
	free(img->data);
	free(img->mime);
	memset(img, 0, sizeof(*img));
}

/* "[an image: cat.png]", the line for an image no model looks at. */
static void name_only(struct buf *out, const struct attachment *a)
{
	char *name = a->filename && a->filename[0] ? one_line(a->filename, NAME_MAX_BYTES) : NULL;

	if (name && name[0])
		(void)buf_printf(out, "[an image: %s]", name);
	else
		(void)buf_puts(out, "[an image]");
	free(name);
}

size_t agent_caption_images(struct llm_client *llm, const struct attachment *att, size_t n,
			    const struct cancel *cancel, char **captions)
{
	bool have_model = llm && llm_model(llm, LLM_ROLE_VISION);
	struct buf out = BUF_INIT(0);
	size_t images = 0, used = 0;

	*captions = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct attachment *a = &att[i];
		struct llm_image img = { 0 };
		char *caption = NULL, *why = NULL, *where;
		enum kith_status st;

		if (!agent_attachment_is_image(a))
			continue;
		if (++images > VISION_MAX_IMAGES)
			continue;
		if (out.len)
			(void)buf_append(&out, "\n", 1);
		if (!have_model) {
			name_only(&out, a);
			continue;
		}
		st = cancel_requested(cancel) ? KITH_ECANCELED
		     : obtain(a, VISION_MAX_TOTAL_BYTES - used, cancel, &img, &why);
		if (st == KITH_OK) {
			used += img.len;
			st = describe(llm, &img, cancel, &caption, &why);
		}
		image_release(&img);
		if (st == KITH_OK) {
			(void)buf_printf(&out, "[image %zu: %s]", images, caption);
		} else {
			(void)buf_puts(&out, UNDESCRIBED);
			where = a->url && !(a->data && a->len) ? url_for_log(a->url) : NULL;
			if (st == KITH_ECANCELED)
				log_debug("vision", "image %zu left undescribed: cancelled", images);
			else
				log_warn("vision", "cannot describe image %zu (%s%s%s): %s", images,
					 a->filename ? a->filename : "unnamed", where ? ", " : "",
					 where ? where : "", why ? why : kith_strerror(st));
			free(where);
		}
		free(caption);
		free(why);
	}
	if (images > VISION_MAX_IMAGES) {
		size_t more = images - VISION_MAX_IMAGES;

		log_info("vision", "%zu image(s) over the limit of %d left undescribed", more,
			 VISION_MAX_IMAGES);
		(void)buf_printf(&out, "\n[%zu more image%s not described]", more,
				 more == 1 ? "" : "s");
	}
	if (!have_model && images)
		log_info("vision", "no vision model is configured; %zu image(s) named, not described",
			 images);
	if (images)
		*captions = buf_detach(&out);
	buf_release(&out);
	return images;
}
