/* test_penny_search.c — Penny's search-grounded replies end to end: `kith
 * run` on the fake Discord with the fake LLM, Perplexity and Serper.  A
 * message is answered from one search (text and image fetched in parallel),
 * the reply names its source and carries the image; search failures degrade
 * gracefully; image messages are not searched. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_discord.h"
#include "fakes/fake_files.h"
#include "fakes/fake_llm.h"
#include "fakes/fake_perplexity.h"
#include "fakes/fake_serper.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <signal.h>
#include <string.h>

#define TOKEN "kith-test-token"
#define DM_CHANNEL "2100000000000000077"
#define WAIT_MS 20000

static struct fake_llm *llm;
static struct fake_discord *discord;
static struct fake_perplexity *pplx;
static struct fake_serper *serper;
static struct fake_files *files;
static struct kith_env env;
static struct proc *kith;
static long posts_seen;   /* REST requests examined so far */

static const unsigned char png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
	0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
	0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
	0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
	0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

static void dm(const char *id, const char *content, const char *attachments)
{
	char *d = xasprintf("{\"id\":\"%s\",\"channel_id\":\"" DM_CHANNEL "\","
			    "\"author\":{\"id\":\"4000000000000000077\",\"username\":\"grace\"},"
			    "\"content\":\"%s\",\"mentions\":[],\"attachments\":%s}", id, content,
			    attachments ? attachments : "[]");

	fake_discord_dispatch(discord, "MESSAGE_CREATE", d);
	free(d);
}

/* The next POST …/messages after the ones already seen: its index, or -1. */
static long next_post(void)
{
	int64_t end = clock_mono_ms() + WAIT_MS;

	while (clock_mono_ms() < end) {
		size_t n = fake_discord_request_count(discord);

		for (size_t i = (size_t)posts_seen; i < n; i++) {
			char *m = fake_discord_request_method(discord, i);
			char *p = fake_discord_request_path(discord, i);
			bool hit = m && p && strcmp(m, "POST") == 0 &&
				   strstr(p, "/channels/" DM_CHANNEL "/messages") != NULL;

			free(m);
			free(p);
			if (hit) {
				posts_seen = (long)i + 1;
				return (long)i;
			}
		}
		fake_discord_wait_requests(discord, n + 1, 100);
	}
	return -1;
}

/* Message `which` (-1 = last) of the newest chat request to the main model. */
static json_t *last_chat(void)
{
	for (size_t i = fake_llm_request_count(llm); i-- > 0;) {
		json_t *req = fake_llm_request_json(llm, i);

		if (req && strcmp(kjson_str(req, "model") ? kjson_str(req, "model") : "",
				  "test-model") == 0)
			return req;
		json_decref(req);
	}
	return NULL;
}

static bool chat_mentions(const char *needle)
{
	json_t *req = last_chat();
	char *all = req ? json_dumps(req, 0) : NULL;
	bool hit = all && strstr(all, needle);

	free(all);
	json_decref(req);
	return hit;
}

static void test_message_is_answered_from_a_search(void)
{
	static const char *const cited[] = { "https://example.org/falcons", NULL };
	struct fake_pplx_reply text = { .text = "Peregrine falcons dive at over 300 km/h.",
					.citations = cited, .delay_ms = 300 };
	long at;
	char *body, *ctype, *input;
	int64_t p_in, p_out, s_in, s_out;

	fake_perplexity_push(pplx, &text);
	fake_serper_set_delay(serper, 300);
	fake_llm_push(llm, &(struct fake_reply){ .content = "They dive at over 300 km/h!" });
	dm("3000000000000000201", "how fast do peregrine falcons dive?", NULL);
	at = next_post();
	REQUIRE(at >= 0);

	/* Both searches ran, at the same time. */
	REQUIRE(fake_perplexity_request_count(pplx) == 1);
	REQUIRE(fake_serper_request_count(serper) >= 1);
	p_in = fake_perplexity_request_arrived(pplx, 0);
	p_out = fake_perplexity_request_answered(pplx, 0);
	s_in = fake_serper_request_arrived(serper, 0);
	s_out = fake_serper_request_answered(serper, 0);
	CHECK_INT(s_in, <, p_out);
	CHECK_INT(p_in, <, s_out);
	input = fake_perplexity_request_input(pplx, 0);
	CHECK_CONTAINS(input, "how fast do peregrine falcons dive?");
	CHECK_CONTAINS(input, "[Today is ");
	free(input);

	/* The model answered from the search, shown as the search tool's result. */
	CHECK(chat_mentions("Peregrine falcons dive at over 300 km/h."));
	CHECK(chat_mentions("Sources:"));

	/* The reply names its source and carries the image. */
	body = fake_discord_request_body(discord, (size_t)at);
	ctype = fake_discord_request_header(discord, (size_t)at, "Content-Type");
	REQUIRE(body && ctype);
	CHECK_CONTAINS(ctype, "multipart/form-data");
	CHECK_CONTAINS(body, "They dive at over 300 km/h!");
	CHECK_CONTAINS(body, "https://example.org/falcons");
	CHECK_CONTAINS(body, "image/png");
	free(body);
	free(ctype);
	CHECK_EQ(db_int(env.db_path, "SELECT count(*) FROM search_log WHERE query LIKE "
				     "'%peregrine falcons%' AND error IS NULL"), 1);
	fake_serper_set_delay(serper, 0);
}

static void test_perplexity_down_still_answers(void)
{
	struct fake_pplx_reply down = { .status = 500, .times = 5 };
	long at;
	char *body;
	size_t before = fake_perplexity_request_count(pplx);

	fake_perplexity_push(pplx, &down);
	fake_llm_push(llm, &(struct fake_reply){ .content = "I could not look that up just now." });
	dm("3000000000000000202", "what is the population of Reykjavik today?", NULL);
	at = next_post();
	REQUIRE(at >= 0);
	CHECK(fake_perplexity_request_count(pplx) > before);
	CHECK(chat_mentions("Failed to search"));
	body = fake_discord_request_body(discord, (size_t)at);
	CHECK_CONTAINS(body, "I could not look that up just now.");
	free(body);
	CHECK_EQ(db_int(env.db_path, "SELECT count(*) FROM messages WHERE content LIKE "
				     "'%population of Reykjavik%'"), 1);
	/* Drain what is left of the failing script. */
	fake_perplexity_stop(pplx);
	pplx = fake_perplexity_start();
	REQUIRE(pplx);
}

static void test_serper_down_gives_text_only(void)
{
	struct fake_pplx_reply text = { .text = "The Danube flows through ten countries." };
	struct fake_serper_reply down = { .status = 503, .times = 5 };
	long at;
	char *ctype, *body;

	fake_serper_push(serper, &down);
	fake_perplexity_push(pplx, &text);
	fake_llm_push(llm, &(struct fake_reply){ .content = "Ten countries." });
	dm("3000000000000000203", "how many countries does the Danube flow through?", NULL);
	at = next_post();
	REQUIRE(at >= 0);
	ctype = fake_discord_request_header(discord, (size_t)at, "Content-Type");
	body = fake_discord_request_body(discord, (size_t)at);
	CHECK(chat_mentions("The Danube flows through ten countries."));   /* text worked */
	CHECK(ctype && !strstr(ctype, "multipart"));                         /* no image */
	CHECK_CONTAINS(body, "Ten countries.");
	free(ctype);
	free(body);
}

static void test_image_message_is_not_searched(void)
{
	char *url = xasprintf("%s/bird.png", fake_files_url(files));
	char *att = xasprintf("[{\"id\":\"5000000000000000002\",\"filename\":\"bird.png\","
			      "\"content_type\":\"image/png\",\"size\":%zu,\"url\":\"%s\"}]",
			      sizeof(png), url);
	size_t before = fake_perplexity_request_count(pplx);
	long at;

	fake_llm_push(llm, &(struct fake_reply){ .content = "A robin on a fence post." });
	fake_llm_push(llm, &(struct fake_reply){ .content = "That's a robin!" });
	dm("3000000000000000204", "what bird is this?", att);
	at = next_post();
	CHECK(at >= 0);
	CHECK_EQ(fake_perplexity_request_count(pplx), before);
	CHECK(chat_mentions("A robin on a fence post."));
	free(att);
	free(url);
}

static void start_daemon(void)
{
	kith_env_set(&env, "PERPLEXITY_API_URL", fake_perplexity_url(pplx));
	kith = kith_start(&env, "run", NULL);
	REQUIRE(kith);
	REQUIRE(fake_discord_wait_op(discord, 2, fake_discord_op_count(discord, 2) + 1, WAIT_MS));
}

static void stop_daemon(void)
{
	struct proc_result r;

	kill(proc_pid(kith), SIGTERM);
	if (proc_wait(kith, WAIT_MS, &r) == 0) {
		CHECK_EQ(r.exit_code, 0);
		proc_result_release(&r);
	} else {
		proc_kill(kith);
		CHECK(!"kith did not stop on SIGTERM");
	}
	kith = NULL;
}

int main(void)
{
	llm = fake_llm_start(FAKE_LLM_OLLAMA);
	discord = fake_discord_start(TOKEN);
	pplx = fake_perplexity_start();
	serper = fake_serper_start();
	files = fake_files_start();
	if (!llm || !discord || !pplx || !serper || !files)
		return 1;
	fake_serper_add_image(serper, &(struct fake_serper_image){
		.path = "/img/falcon.png", .data = png, .len = sizeof(png),
		.content_type = "image/png" });
	fake_files_put(files, &(struct fake_file){ .path = "/bird.png", .data = png,
						  .len = sizeof(png), .content_type = "image/png" });
	kith_env_init(&env, "penny");
	kith_env_set(&env, "OLLAMA_API_URL", fake_llm_url(llm));
	kith_env_set(&env, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(&env, "OLLAMA_VISION_MODEL", "vision-model");
	kith_env_set(&env, "DISCORD_BOT_TOKEN", TOKEN);
	kith_env_set(&env, "DISCORD_API_URL", fake_discord_api_url(discord));
	kith_env_set(&env, "PERPLEXITY_API_KEY", "pplx-test-key");
	kith_env_set(&env, "SERPER_API_KEY", "serper-test-key");
	kith_env_set(&env, "SERPER_API_URL", fake_serper_url(serper));

	start_daemon();
	RUN(test_message_is_answered_from_a_search);
	RUN(test_perplexity_down_still_answers);
	stop_daemon();
	start_daemon();   /* with the new Perplexity fake's URL */
	RUN(test_serper_down_gives_text_only);
	RUN(test_image_message_is_not_searched);
	stop_daemon();

	kith_env_release(&env);
	fake_files_stop(files);
	fake_serper_stop(serper);
	fake_perplexity_stop(pplx);
	fake_discord_stop(discord);
	fake_llm_stop(llm);
	return test_summary();
}
