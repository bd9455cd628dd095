/* test_draw.c — /draw and tools/draw.c against the fake Ollama's
 * /api/generate: the request sent, the image attached with its sniffed
 * type, a text model's answer, malformed base64, a non-image, 404 not
 * retried, 503 retried, the needs check and the usage answers. */
#include "support/test.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/json.h"
#include "fakes/fake_llm.h"
#include "llm/llm.h"
#include "tools/draw.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
				     0, 0, 0, 13, 'I', 'H', 'D', 'R' };
static const unsigned char jpeg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F' };
static const unsigned char webp[] = { 'R', 'I', 'F', 'F', 4, 0, 0, 0, 'W', 'E', 'B', 'P' };

struct fx {
	struct fake_llm *srv;
	struct config *cfg;
	struct agent_deps deps;
	struct cmd_out out;
};

static void fx_open(struct fx *f, bool image_model)
{
	const char *env[] = { "KITH_DATA_DIR=/nonexistent-kith-test",
			      image_model ? "OLLAMA_IMAGE_MODEL=flux-m" : "KITH_TEST_UNUSED=1",
			      NULL };
	struct llm_config lc;
	char *why = NULL;

	memset(f, 0, sizeof(*f));
	f->srv = fake_llm_start(FAKE_LLM_OLLAMA);
	CHECK_EQ(config_load(&f->cfg, env, "/nonexistent-kith-test", &why), KITH_OK);
	free(why);
	llm_config_init(&lc);
	lc.base_url = xstrdup(f->srv ? fake_llm_url(f->srv) : "http://127.0.0.1:1");
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.max_attempts = 3;
	lc.retry_base_ms = 1;
	f->deps.llm = llm_client_new(&lc);
	llm_config_release(&lc);
	f->deps.cfg = f->cfg;
}

static void fx_close(struct fx *f)
{
	cmd_out_release(&f->out);
	llm_client_free(f->deps.llm);
	config_free(f->cfg);
	fake_llm_stop(f->srv);
}

static char *draw(struct fx *f, const char *args, enum kith_status *rc)
{
	struct inbound ev = { .conversation = "default", .author_id = "ana" };
	struct cmd_ctx ctx = { .deps = &f->deps, .ev = &ev, .out = &f->out };
	char *reply = NULL;

	*rc = cmd_draw(&ctx, args, &reply);
	return reply;
}

static void test_draw_ok(void)
{
	struct fx f;
	enum kith_status rc;
	json_t *req;
	char *r, *path;

	fx_open(&f, true);
	REQUIRE(f.srv && f.cfg);
	fake_llm_set_image(f.srv, png, sizeof(png));
	r = draw(&f, "a lighthouse at dusk", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Here you go.");
	free(r);
	REQUIRE(f.out.natt == 1);
	CHECK_STR(f.out.att[0].content_type, "image/png");
	CHECK_STR(f.out.att[0].filename, "drawing.png");
	CHECK_EQ(f.out.att[0].len, sizeof(png));
	CHECK(memcmp(f.out.att[0].data, png, sizeof(png)) == 0);
	REQUIRE(fake_llm_request_count(f.srv) == 1);
	path = fake_llm_request_path(f.srv, 0);
	CHECK_STR(path, "/api/generate");
	free(path);
	req = fake_llm_request_json(f.srv, 0);
	CHECK_STR(kjson_str(req, "model"), "flux-m");
	CHECK_STR(kjson_str(req, "prompt"), "a lighthouse at dusk");
	CHECK(json_is_false(json_object_get(req, "stream")));
	json_decref(req);

	/* JPEG and WebP are recognised too */
	fake_llm_set_image(f.srv, jpeg, sizeof(jpeg));
	r = draw(&f, "cat", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(r);
	REQUIRE(f.out.natt == 2);
	CHECK_STR(f.out.att[1].content_type, "image/jpeg");
	CHECK_STR(f.out.att[1].filename, "drawing.jpg");
	fake_llm_set_image(f.srv, webp, sizeof(webp));
	r = draw(&f, "dog", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(r);
	REQUIRE(f.out.natt == 3);
	CHECK_STR(f.out.att[2].content_type, "image/webp");
	fx_close(&f);
}

static void test_draw_failures(void)
{
	struct fx f;
	enum kith_status rc;
	char *r;
	size_t before;
	static const char *const known[] = { "main-m", NULL };

	fx_open(&f, true);
	REQUIRE(f.srv && f.cfg);
	/* a text model: no image */
	r = draw(&f, "a cat", &rc);
	CHECK_EQ(rc, KITH_EPROTO);
	CHECK_CONTAINS(r, "Couldn't draw that: the model sent no image");
	free(r);
	/* malformed base64, and bytes that are no picture */
	fake_llm_set_image_base64(f.srv, "not base64!!");
	r = draw(&f, "a cat", &rc);
	CHECK_EQ(rc, KITH_EPROTO);
	CHECK_CONTAINS(r, "not valid base64");
	free(r);
	fake_llm_set_image(f.srv, "hello world", 11);
	r = draw(&f, "a cat", &rc);
	CHECK_EQ(rc, KITH_EPROTO);
	CHECK_CONTAINS(r, "not a PNG, JPEG or WebP");
	free(r);
	CHECK_EQ(f.out.natt, 0);
	/* 503 twice, then the picture: retried */
	fake_llm_set_image(f.srv, png, sizeof(png));
	fake_llm_fail_generates(f.srv, 503, 2);
	before = fake_llm_request_count(f.srv);
	r = draw(&f, "a cat", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(r);
	CHECK_EQ(fake_llm_request_count(f.srv) - before, 3);
	CHECK_EQ(f.out.natt, 1);
	/* model not pulled: 404, one request, said plainly */
	fake_llm_set_models(f.srv, known);
	before = fake_llm_request_count(f.srv);
	r = draw(&f, "a cat", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_CONTAINS(r, "Couldn't draw that: model 'flux-m' not found");
	free(r);
	CHECK_EQ(fake_llm_request_count(f.srv) - before, 1);
	/* usage */
	r = draw(&f, "", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "Usage: /draw PROMPT");
	free(r);
	fx_close(&f);
}

static void test_draw_needs(void)
{
	struct fx f;
	struct cmd_ctx ctx = { 0 };
	enum kith_status rc;
	char *r;

	fx_open(&f, false);
	REQUIRE(f.cfg);
	ctx.deps = &f.deps;
	CHECK_STR(cmd_draw_needs(&ctx),
		  "Set OLLAMA_IMAGE_MODEL (an Ollama image-generation model) to use /draw.");
	r = draw(&f, "a cat", &rc);
	CHECK_EQ(rc, KITH_EUNSUPPORTED);
	free(r);
	CHECK_EQ(fake_llm_request_count(f.srv), 0);
	fx_close(&f);
	fx_open(&f, true);
	ctx.deps = &f.deps;
	CHECK(cmd_draw_needs(&ctx) == NULL);
	fx_close(&f);
}

static void test_parse(void)
{
	struct draw_image img;
	char *why = NULL;
	const char *t;

	t = "{\"image\":\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==\"}";
	CHECK_EQ(draw_parse_response(t, strlen(t), &img, &why), KITH_OK);
	CHECK_STR(img.mime, "image/png");
	CHECK_EQ(img.len, sizeof(png));
	draw_image_release(&img);
	t = "{\"images\":[\"iVBORw0KGgo\\nAAAANSUhEUg==\"]}";
	CHECK_EQ(draw_parse_response(t, strlen(t), &img, &why), KITH_OK);
	draw_image_release(&img);
	t = "{\"error\":\"out of memory\"}";
	CHECK_EQ(draw_parse_response(t, strlen(t), &img, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "out of memory");
	free(why);
	why = NULL;
	CHECK_EQ(draw_parse_response("[]", 2, &img, &why), KITH_EPROTO);
	free(why);
	why = NULL;
	t = "{\"image\":\"\"}";
	CHECK_EQ(draw_parse_response(t, strlen(t), &img, &why), KITH_EPROTO);
	free(why);
	CHECK(draw_sniff("GIF89a", 6) == NULL);
	CHECK(draw_sniff(png, 4) == NULL);
}

int main(void)
{
	RUN(test_draw_ok);
	RUN(test_draw_failures);
	RUN(test_draw_needs);
	RUN(test_parse);
	return test_summary();
}
