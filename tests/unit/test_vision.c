/* test_vision.c — image attachments described by the vision model.
 *
 * Against the fake LLM in both dialects (the image must arrive base64 in
 * the provider's shape and decode to the same bytes) and a fake file
 * server for attachments that are links: captions in their lines, every
 * way an image can fail (too big, not an image, 404, a link that is not
 * http, a model error, an empty answer, the per-message caps) ending in
 * the fallback line and a log line, never a failure of the whole call. */
#include "agent/vision.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "fakes/fake_files.h"
#include "fakes/fake_llm.h"
#include "llm/llm.h"
#include "support/test.h"

#include <stdio.h>
#include <string.h>

#define UNDESCRIBED "[an image that could not be described]"

static struct fake_llm *ollama, *openai;
static struct fake_files *files;
static char *logpath;

static struct llm_client *client_for(struct fake_llm *f, enum llm_provider p, bool vision)
{
	struct llm_config cfg;
	struct llm_client *c;

	llm_config_init(&cfg);
	cfg.provider = p;
	cfg.base_url = xstrdup(fake_llm_url(f));
	cfg.models[LLM_ROLE_MAIN] = xstrdup("main-model");
	if (vision)
		cfg.models[LLM_ROLE_VISION] = xstrdup("llava");
	cfg.timeout_ms = 20000;
	cfg.connect_timeout_ms = 5000;
	cfg.max_attempts = 1;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);
	return c;
}

/* A PNG-looking blob of n bytes (the signature, then a pattern with NULs). */
static unsigned char *png_bytes(size_t n)
{
	unsigned char *p = xmalloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + (i >> 9));
	memcpy(p, "\x89PNG\r\n\x1a\n", n < 8 ? n : 8);
	return p;
}

static const unsigned char jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F',
				      0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0xff, 0xd9 };

static struct attachment inline_att(const char *name, const char *type, unsigned char *data,
				    size_t len)
{
	struct attachment a = { 0 };

	a.filename = (char *)name;
	a.content_type = (char *)type;
	a.data = data;
	a.len = len;
	return a;
}

static struct attachment link_att(const char *name, const char *type, char *url)
{
	struct attachment a = { 0 };

	a.filename = (char *)name;
	a.content_type = (char *)type;
	a.url = url;
	return a;
}

/* Whether the log file so far contains `needle`. */
static bool log_has(const char *needle)
{
	FILE *fp = fopen(logpath, "r");
	struct buf b = BUF_INIT(0);
	char chunk[4096];
	size_t n;
	bool found;

	if (!fp)
		return false;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		(void)buf_append(&b, chunk, n);
	fclose(fp);
	found = strstr(buf_str(&b), needle) != NULL;
	buf_release(&b);
	return found;
}

static void caption_in(struct fake_llm *f, enum llm_provider p)
{
	struct llm_client *c = client_for(f, p, true);
	struct fake_reply r = { .content = "  A ginger cat asleep on a keyboard.\n\n"
					   "The screen reads [git push].  " };
	unsigned char *png = png_bytes(3000), *got;
	struct attachment att[2];
	size_t n0 = fake_llm_request_count(f), len;
	json_t *sent, *msg;
	char *captions = NULL, *mime = NULL;

	att[0] = inline_att("notes.txt", "text/plain", (unsigned char *)"hello", 5);
	att[1] = inline_att("cat.png", "image/png", png, 3000);
	fake_llm_push(f, &r);
	CHECK_EQ(agent_caption_images(c, att, 2, NULL, &captions), 1);
	CHECK_STR(captions, "[image 1: A ginger cat asleep on a keyboard. The screen reads "
		  "(git push).]");

	/* One call to the vision model, with the bytes base64-encoded. */
	REQUIRE(fake_llm_request_count(f) == n0 + 1);
	sent = fake_llm_request_json(f, n0);
	CHECK_STR(kjson_str(sent, "model"), "llava");
	msg = json_array_get(kjson_arr(sent, "messages"), 0);
	CHECK_STR(kjson_str(msg, "role"), "user");
	CHECK_EQ(fake_llm_request_image_count(f, n0), 1);
	got = fake_llm_request_image(f, n0, 0, &len, &mime);
	CHECK(got && len == 3000 && memcmp(got, png, len) == 0);
	if (p == LLM_PROVIDER_OLLAMA) {
		CHECK(mime == NULL);
		CHECK_CONTAINS(kjson_str(msg, "content"), "Describe this image");
		CHECK(strncmp(json_string_value(json_array_get(kjson_arr(msg, "images"), 0)),
			      "iVBORw0KGg", 10) == 0);
	} else {
		json_t *parts = kjson_arr(msg, "content");

		CHECK_STR(mime, "image/png");
		CHECK_CONTAINS(kjson_str(json_array_get(parts, 0), "text"), "visible");
		CHECK(strncmp(kjson_str(kjson_obj(json_array_get(parts, 1), "image_url"), "url"),
			      "data:image/png;base64,iVBORw0KGg", 32) == 0);
	}
	free(got);
	free(mime);
	json_decref(sent);
	free(captions);
	free(png);
	llm_client_free(c);
}

static void test_caption_ollama(void)
{
	caption_in(ollama, LLM_PROVIDER_OLLAMA);
}

static void test_caption_openai(void)
{
	caption_in(openai, LLM_PROVIDER_OPENAI);
}

/* A link is downloaded, then described; the type comes from the bytes. */
static void test_url_downloaded(void)
{
	struct llm_client *c = client_for(openai, LLM_PROVIDER_OPENAI, true);
	struct fake_file ff = { "/attachments/1/photo.jpg", jpeg, sizeof(jpeg), "image/jpeg", 0 };
	struct fake_reply r = { .content = "A photo of a beach." };
	char *url = fake_files_url_for(files, "/attachments/1/photo.jpg?ex=1&hm=abc");
	struct attachment att = link_att("photo.jpg", NULL, url);
	size_t n0 = fake_llm_request_count(openai), f0 = fake_files_request_count(files), len;
	unsigned char *got;
	char *captions = NULL, *mime = NULL, *path, *method;

	fake_files_put(files, &ff);
	fake_llm_push(openai, &r);
	CHECK_EQ(agent_caption_images(c, &att, 1, NULL, &captions), 1);
	CHECK_STR(captions, "[image 1: A photo of a beach.]");
	REQUIRE(fake_files_request_count(files) == f0 + 1);
	path = fake_files_request_path(files, f0);
	method = fake_files_request_method(files, f0);
	CHECK_STR(path, "/attachments/1/photo.jpg");
	CHECK_STR(method, "GET");
	REQUIRE(fake_llm_request_count(openai) == n0 + 1);
	got = fake_llm_request_image(openai, n0, 0, &len, &mime);
	CHECK(got && len == sizeof(jpeg) && memcmp(got, jpeg, len) == 0);
	CHECK_STR(mime, "image/jpeg");
	free(got);
	free(mime);
	free(path);
	free(method);
	free(captions);
	free(url);
	llm_client_free(c);
}

/* Each way a link can fail: the fallback line, a log line, no model call. */
static void link_fails(struct llm_client *c, const char *url, const char *logged)
{
	struct attachment att = link_att("pic.png", "image/png", (char *)url);
	size_t n0 = fake_llm_request_count(ollama);
	char *captions = NULL;

	CHECK_EQ(agent_caption_images(c, &att, 1, NULL, &captions), 1);
	CHECK_STR(captions, UNDESCRIBED);
	CHECK_EQ(fake_llm_request_count(ollama), n0);
	if (!log_has(logged))
		test_fail_(__FILE__, __LINE__, "the log has no \"%s\" (for %s)", logged, url);
	free(captions);
}

static void test_download_failures(void)
{
	struct llm_client *c = client_for(ollama, LLM_PROVIDER_OLLAMA, true);
	size_t big = VISION_MAX_IMAGE_BYTES + 1;
	unsigned char *huge = png_bytes(big);
	struct fake_file over = { "/big.png", huge, big, "image/png", 0 };
	struct fake_file html = { "/page.png", "<html>hi</html>", 15, "text/html; charset=utf-8", 0 };
	struct fake_file none = { "/untyped.png", jpeg, sizeof(jpeg), NULL, 0 };
	struct fake_file empty = { "/empty.png", "", 0, "image/png", 0 };
	char *u;
	size_t f0;

	fake_files_put(files, &over);
	fake_files_put(files, &html);
	fake_files_put(files, &none);
	fake_files_put(files, &empty);
	u = fake_files_url_for(files, "/big.png");
	link_fails(c, u, "passed 8388608 bytes");
	free(u);
	u = fake_files_url_for(files, "/page.png");
	link_fails(c, u, "served text/html, not an image");
	free(u);
	u = fake_files_url_for(files, "/untyped.png");
	link_fails(c, u, "served no Content-Type, not an image");
	free(u);
	u = fake_files_url_for(files, "/empty.png");
	link_fails(c, u, "served an empty body");
	free(u);
	u = fake_files_url_for(files, "/nothing-here.png?sig=secret");
	link_fails(c, u, "HTTP 404");
	CHECK(!log_has("sig=secret"));    /* query strings stay out of the log */
	free(u);

	f0 = fake_files_request_count(files);
	link_fails(c, "file:///etc/passwd", "only http and https links are fetched");
	link_fails(c, "ftp://example.com/cat.png", "only http and https links are fetched");
	CHECK_EQ(fake_files_request_count(files), f0);
	free(huge);
	llm_client_free(c);
}

/* In-memory images past the caps, of a format models cannot read, or with
 * nothing in them. */
static void test_inline_failures(void)
{
	struct llm_client *c = client_for(ollama, LLM_PROVIDER_OLLAMA, true);
	size_t big = VISION_MAX_IMAGE_BYTES + 1;
	unsigned char *huge = png_bytes(big);
	struct attachment att[3];
	size_t n0 = fake_llm_request_count(ollama);
	char *captions = NULL;

	att[0] = inline_att("huge.png", "image/png", huge, big);
	att[1] = inline_att("logo.svg", "image/svg+xml", (unsigned char *)"<svg/>", 6);
	att[2] = inline_att("blank.png", "image/png", NULL, 0);
	CHECK_EQ(agent_caption_images(c, att, 3, NULL, &captions), 3);
	CHECK_STR(captions, UNDESCRIBED "\n" UNDESCRIBED "\n" UNDESCRIBED);
	CHECK_EQ(fake_llm_request_count(ollama), n0);
	CHECK(log_has("huge.png"));
	CHECK(log_has("image/svg+xml is not a format vision models read"));
	CHECK(log_has("neither data nor a link"));
	free(captions);
	free(huge);
	llm_client_free(c);
}

/* All of a message's images together stay under VISION_MAX_TOTAL_BYTES. */
static void test_total_bytes(void)
{
	struct llm_client *c = client_for(ollama, LLM_PROVIDER_OLLAMA, true);
	size_t each = (size_t)6 << 20;
	unsigned char *img = png_bytes(each);
	struct fake_reply a = { .content = "First." }, b = { .content = "Second." };
	struct attachment att[3];
	size_t n0 = fake_llm_request_count(ollama);
	char *captions = NULL;

	for (int i = 0; i < 3; i++)
		att[i] = inline_att("big.png", "image/png", img, each);
	fake_llm_push(ollama, &a);
	fake_llm_push(ollama, &b);
	CHECK_EQ(agent_caption_images(c, att, 3, NULL, &captions), 3);
	CHECK_STR(captions, "[image 1: First.]\n[image 2: Second.]\n" UNDESCRIBED);
	CHECK_EQ(fake_llm_request_count(ollama), n0 + 2);
	CHECK(log_has("over the limit of 4194304"));
	free(captions);
	free(img);
	llm_client_free(c);
}

/* Without a vision model images are named, and nothing is fetched or asked. */
static void test_no_vision_model(void)
{
	struct llm_client *c = client_for(ollama, LLM_PROVIDER_OLLAMA, false);
	char *url = fake_files_url_for(files, "/cat.png");
	struct attachment att[3];
	size_t n0 = fake_llm_request_count(ollama), f0 = fake_files_request_count(files);
	char *captions = NULL;

	att[0] = inline_att("cat.png", "image/png", (unsigned char *)jpeg, sizeof(jpeg));
	att[1] = link_att("dog\n]photo.JPG", NULL, url);
	att[2] = inline_att(NULL, "image/gif", (unsigned char *)"GIF89a", 6);
	CHECK_EQ(agent_caption_images(c, att, 3, NULL, &captions), 3);
	CHECK_STR(captions, "[an image: cat.png]\n[an image: dog )photo.JPG]\n[an image]");
	CHECK_EQ(fake_llm_request_count(ollama), n0);
	CHECK_EQ(fake_files_request_count(files), f0);
	free(captions);
	captions = (char *)"x";
	CHECK_EQ(agent_caption_images(NULL, att, 1, NULL, &captions), 1);
	CHECK_STR(captions, "[an image: cat.png]");
	free(captions);
	free(url);
	llm_client_free(c);
}

/* A model error or an empty answer costs only that image's line. */
static void test_model_failures(void)
{
	struct llm_client *c = client_for(ollama, LLM_PROVIDER_OLLAMA, true);
	struct fake_reply fail = { .status = 500, .error_body = "{\"error\":\"runner crashed\"}" };
	struct fake_reply blank = { .content = " \n " };
	struct fake_reply ok = { .content = "<think>hmm</think>A red bicycle." };
	struct attachment att[3];
	char *captions = NULL;

	for (int i = 0; i < 3; i++)
		att[i] = inline_att("x.jpg", "image/jpeg", (unsigned char *)jpeg, sizeof(jpeg));
	fake_llm_push(ollama, &fail);
	fake_llm_push(ollama, &blank);
	fake_llm_push(ollama, &ok);
	CHECK_EQ(agent_caption_images(c, att, 3, NULL, &captions), 3);
	CHECK_STR(captions, UNDESCRIBED "\n" UNDESCRIBED "\n[image 3: A red bicycle.]");
	CHECK(log_has("runner crashed"));
	CHECK(log_has("the vision model answered with no words"));
	free(captions);

	/* The vision role's model missing on the server is just another failure. */
	{
		const char *const models[] = { "main-model", NULL };

		fake_llm_set_models(ollama, models);
		CHECK_EQ(agent_caption_images(c, att, 1, NULL, &captions), 1);
		CHECK_STR(captions, UNDESCRIBED);
		CHECK(log_has("model 'llava' not found"));
		fake_llm_set_models(ollama, NULL);
		free(captions);
	}
	llm_client_free(c);
}

/* At most VISION_MAX_IMAGES are looked at; a line counts the rest.  Other
 * attachments do not count, and a message without images gives NULL. */
static void test_limits_and_skips(void)
{
	struct llm_client *c = client_for(ollama, LLM_PROVIDER_OLLAMA, true);
	struct attachment att[7];
	size_t n0 = fake_llm_request_count(ollama);
	char *captions = (char *)"x";

	att[0] = inline_att("a.pdf", "application/pdf", (unsigned char *)"%PDF", 4);
	for (int i = 1; i < 7; i++)
		att[i] = inline_att("p.png", NULL, png_bytes(64), 64);
	CHECK_EQ(agent_caption_images(c, att, 1, NULL, &captions), 0);
	CHECK(captions == NULL);
	CHECK_EQ(agent_caption_images(c, att, 0, NULL, &captions), 0);
	CHECK(captions == NULL);

	fake_llm_set_default_reply(ollama, "A tiny picture.");
	CHECK_EQ(agent_caption_images(c, att, 7, NULL, &captions), 6);
	CHECK_STR(captions, "[image 1: A tiny picture.]\n[image 2: A tiny picture.]\n"
		  "[image 3: A tiny picture.]\n[image 4: A tiny picture.]\n"
		  "[2 more images not described]");
	CHECK_EQ(fake_llm_request_count(ollama), n0 + 4);
	fake_llm_set_default_reply(ollama, "ok");
	free(captions);
	for (int i = 1; i < 7; i++)
		free(att[i].data);
	llm_client_free(c);
}

/* A long answer is cut at a character boundary. */
static void test_long_caption_cut(void)
{
	struct llm_client *c = client_for(ollama, LLM_PROVIDER_OLLAMA, true);
	struct buf b = BUF_INIT(0);
	struct fake_reply r = { 0 };
	struct attachment att = inline_att("x.jpg", "image/jpeg", (unsigned char *)jpeg,
					   sizeof(jpeg));
	char *captions = NULL;
	json_t *utf8;
	size_t len;

	(void)buf_puts(&b, "x");
	for (int i = 0; i < 400; i++)
		(void)buf_puts(&b, "\xc3\xa9");       /* é, two bytes */
	r.content = buf_str(&b);
	fake_llm_push(ollama, &r);
	CHECK_EQ(agent_caption_images(c, &att, 1, NULL, &captions), 1);
	REQUIRE(captions);
	len = strlen(captions);
	/* "[image 1: " + 599 bytes (x + 299 é) + "…" + "]" */
	CHECK_EQ(len, 10 + 599 + 3 + 1);
	CHECK(strcmp(captions + len - 4, "\xe2\x80\xa6]") == 0);
	utf8 = json_string(captions);           /* NULL for invalid UTF-8 */
	CHECK(utf8 != NULL);
	json_decref(utf8);
	free(captions);
	buf_release(&b);
	llm_client_free(c);
}

static void test_is_image(void)
{
	struct attachment a = { 0 };

	a.content_type = (char *)"IMAGE/PNG; q=1";
	CHECK(agent_attachment_is_image(&a));
	a.content_type = (char *)"application/octet-stream";
	a.filename = (char *)"holiday.WebP";
	CHECK(agent_attachment_is_image(&a));
	a.filename = (char *)"report.pdf";
	CHECK(!agent_attachment_is_image(&a));
	a.content_type = NULL;
	a.filename = NULL;
	CHECK(!agent_attachment_is_image(&a));
	a.content_type = (char *)"image/";
	CHECK(!agent_attachment_is_image(&a));
}

/* A cancelled turn looks at nothing. */
static void test_cancelled(void)
{
	struct llm_client *c = client_for(ollama, LLM_PROVIDER_OLLAMA, true);
	struct cancel cancel = { 0 };
	struct attachment att = inline_att("x.jpg", "image/jpeg", (unsigned char *)jpeg,
					   sizeof(jpeg));
	size_t n0 = fake_llm_request_count(ollama);
	char *captions = NULL;

	cancel_request(&cancel);
	CHECK_EQ(agent_caption_images(c, &att, 1, &cancel, &captions), 1);
	CHECK_STR(captions, UNDESCRIBED);
	CHECK_EQ(fake_llm_request_count(ollama), n0);
	free(captions);
	llm_client_free(c);
}

int main(void)
{
	char *why = NULL;
	int rc;

	ollama = fake_llm_start(FAKE_LLM_OLLAMA);
	openai = fake_llm_start(FAKE_LLM_OPENAI);
	files = fake_files_start();
	logpath = test_path("vision.log");
	if (!ollama || !openai || !files || log_open_file(logpath, LOG_INFO, 0, 0, &why)) {
		fprintf(stderr, "cannot set up: %s\n", why ? why : "a fake did not start");
		return 1;
	}
	RUN(test_caption_ollama);
	RUN(test_caption_openai);
	RUN(test_url_downloaded);
	RUN(test_download_failures);
	RUN(test_inline_failures);
	RUN(test_total_bytes);
	RUN(test_no_vision_model);
	RUN(test_model_failures);
	RUN(test_limits_and_skips);
	RUN(test_long_caption_cut);
	RUN(test_is_image);
	RUN(test_cancelled);
	log_close();
	rc = test_summary();
	fake_files_stop(files);
	fake_llm_stop(openai);
	fake_llm_stop(ollama);
	free(logpath);
	return rc;
}
