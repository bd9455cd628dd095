/* test_run_discord.c — `kith run` end to end on Discord: a MESSAGE_CREATE on
 * the fake gateway becomes a reply on the fake REST API, with what kith
 * remembers in the prompt; a bad token stops the daemon with the reason. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_discord.h"
#include "fakes/fake_files.h"
#include "fakes/fake_llm.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <signal.h>
#include <string.h>

#define TOKEN "kith-test-token"
#define DM_CHANNEL "2100000000000000009"
#define WAIT_MS 20000

static struct fake_llm *llm;
static struct fake_discord *discord;
static struct fake_files *files;

/* A 1×1 PNG. */
static const unsigned char png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
	0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
	0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
	0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
	0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

static void env_for_fakes(struct kith_env *e, const char *name, const char *token)
{
	kith_env_init(e, name);
	kith_env_set(e, "OLLAMA_API_URL", fake_llm_url(llm));
	kith_env_set(e, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(e, "DISCORD_BOT_TOKEN", token);
	kith_env_set(e, "DISCORD_API_URL", fake_discord_api_url(discord));
	kith_env_set(e, "OLLAMA_VISION_MODEL", "vision-model");
}

static void dm_with(const char *id, const char *content, const char *attachments)
{
	char *d = xasprintf("{\"id\":\"%s\",\"channel_id\":\"" DM_CHANNEL "\","
			    "\"author\":{\"id\":\"4000000000000000042\",\"username\":\"ada\"},"
			    "\"content\":\"%s\",\"timestamp\":\"2026-11-22T10:00:00.000000+00:00\","
			    "\"mentions\":[],\"attachments\":%s}", id, content, attachments);

	fake_discord_dispatch(discord, "MESSAGE_CREATE", d);
	free(d);
}

static void dm(const char *id, const char *content)
{
	dm_with(id, content, "[]");
}

/* The newest chat request (not a vision call): index, or -1. */
static long last_chat_request(void)
{
	for (size_t i = fake_llm_request_count(llm); i-- > 0;) {
		json_t *req = fake_llm_request_json(llm, i);
		const char *model = kjson_str(req, "model");
		bool chat = model && strcmp(model, "test-model") == 0;

		json_decref(req);
		if (chat)
			return (long)i;
	}
	return -1;
}

/* Index of the first POST …/channels/DM_CHANNEL/messages at or after
 * `from`, waiting up to WAIT_MS; -1 if none came. */
static long wait_post(size_t from)
{
	int64_t end = clock_mono_ms() + WAIT_MS;

	while (clock_mono_ms() < end) {
		size_t n = fake_discord_request_count(discord);

		for (size_t i = from; i < n; i++) {
			char *m = fake_discord_request_method(discord, i);
			char *p = fake_discord_request_path(discord, i);
			bool hit = m && p && strcmp(m, "POST") == 0 &&
				   strstr(p, "/channels/" DM_CHANNEL "/messages") != NULL;

			free(m);
			free(p);
			if (hit)
				return (long)i;
		}
		fake_discord_wait_requests(discord, n + 1, 100);
	}
	return -1;
}

/* Message `which` of the newest chat request (-1 = the last one). */
static char *chat_message(int which)
{
	long i = last_chat_request();
	json_t *req = i >= 0 ? fake_llm_request_json(llm, (size_t)i) : NULL;
	json_t *msgs = kjson_arr(req, "messages");
	size_t at = which >= 0 ? (size_t)which : (msgs ? json_array_size(msgs) - 1 : 0);
	char *r = msgs ? xstrdup(kjson_str(json_array_get(msgs, at), "content")) : NULL;

	json_decref(req);
	return r;
}

static void test_dm_gets_a_reply_with_memory(void)
{
	struct kith_env e;
	struct proc_result r;
	struct proc *p;
	long at;
	char *body, *sys;
	json_t *j;

	env_for_fakes(&e, "run-dm", TOKEN);
	p = kith_start(&e, "run", NULL);
	REQUIRE(p);
	REQUIRE(fake_discord_wait_op(discord, 2, 1, WAIT_MS));   /* Identify */

	fake_llm_push(llm, &(struct fake_reply){ .content = "Genmaicha, noted!" });
	dm("3000000000000000101", "Please remember that my favourite tea is genmaicha.");
	at = wait_post(0);
	CHECK(at >= 0);
	body = at >= 0 ? fake_discord_request_body(discord, (size_t)at) : NULL;
	j = body ? json_loads(body, 0, NULL) : NULL;
	CHECK_STR(kjson_str(j, "content"), "Genmaicha, noted!");
	json_decref(j);
	free(body);

	fake_llm_push(llm, &(struct fake_reply){ .content = "You love genmaicha." });
	dm("3000000000000000102", "Which tea do I like best, do you remember?");
	at = wait_post((size_t)at + 1);
	CHECK(at >= 0);
	sys = chat_message(0);
	REQUIRE(sys);
	CHECK_CONTAINS(sys, "my favourite tea is genmaicha");   /* memory */
	CHECK_CONTAINS(sys, "discord");
	CHECK_CONTAINS(sys, "dopamine");                        /* mood levels */
	free(sys);

	/* A picture: the vision model describes it, the caption reaches the
	 * reply's prompt with the message. */
	{
		char *url = xasprintf("%s/cat.png", fake_files_url(files));
		char *att = xasprintf("[{\"id\":\"5000000000000000001\",\"filename\":\"cat.png\","
				      "\"content_type\":\"image/png\",\"size\":%zu,\"url\":\"%s\"}]",
				      sizeof(png), url);
		char *last;
		size_t before = fake_llm_request_count(llm);

		fake_llm_push(llm, &(struct fake_reply){ .content = "A ginger cat asleep on a red sofa." });
		fake_llm_push(llm, &(struct fake_reply){ .content = "What a sleepy cat!" });
		dm_with("3000000000000000103", "look who is napping", att);
		at = wait_post((size_t)at + 1);
		CHECK(at >= 0);
		CHECK(fake_llm_request_count(llm) >= before + 2);
		CHECK_EQ(fake_llm_request_image_count(llm, before), 1);
		last = chat_message(-1);
		REQUIRE(last);
		CHECK_CONTAINS(last, "look who is napping");
		CHECK_CONTAINS(last, "[Images]");
		CHECK_CONTAINS(last, "ginger cat asleep on a red sofa");
		free(last);
		free(att);
		free(url);
	}
	/* A reply quoting the first answer continues that thread: the model
	 * sees the thread, not the messages in between. */
	{
		char *d = xasprintf(
			"{\"id\":\"3000000000000000104\",\"channel_id\":\"" DM_CHANNEL "\","
			"\"author\":{\"id\":\"4000000000000000042\",\"username\":\"ada\"},"
			"\"content\":\"and which green tea goes with it?\",\"mentions\":[],"
			"\"attachments\":[],\"message_reference\":{\"message_id\":\"3000000000000000900\"},"
			"\"referenced_message\":{\"id\":\"3000000000000000900\","
			"\"content\":\"Genmaicha, noted!\",\"author\":{\"id\":\"1\",\"username\":\"kith\"}}}");
		long i;
		json_t *req, *msgs;

		fake_llm_push(llm, &(struct fake_reply){ .content = "Sencha." });
		fake_discord_dispatch(discord, "MESSAGE_CREATE", d);
		free(d);
		at = wait_post((size_t)at + 1);
		CHECK(at >= 0);
		i = last_chat_request();
		req = i >= 0 ? fake_llm_request_json(llm, (size_t)i) : NULL;
		msgs = kjson_arr(req, "messages");
		REQUIRE(msgs && json_array_size(msgs) == 4);   /* system + the 3-message thread */
		CHECK_CONTAINS(kjson_str(json_array_get(msgs, 1), "content"), "favourite tea");
		CHECK_STR(kjson_str(json_array_get(msgs, 2), "content"), "Genmaicha, noted!");
		CHECK_STR(kjson_str(json_array_get(msgs, 3), "content"),
			  "and which green tea goes with it?");
		json_decref(req);
	}
	/* A Markdown table (Discord shows none) arrives as bullets. */
	{
		char *b;
		json_t *tj;

		fake_llm_push(llm, &(struct fake_reply){
			.content = "| Tea | Caffeine |\n|---|---|\n| Sencha | medium |\n| Genmaicha | low |" });
		dm("3000000000000000105", "Can you compare my teas in a table for me?");
		at = wait_post((size_t)at + 1);
		REQUIRE(at >= 0);
		b = fake_discord_request_body(discord, (size_t)at);
		tj = b ? json_loads(b, 0, NULL) : NULL;
		CHECK_STR(kjson_str(tj, "content"),
			  "- Tea: Sencha, Caffeine: medium\n- Tea: Genmaicha, Caffeine: low");
		json_decref(tj);
		free(b);
	}
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE channel='discord' AND "
				   "conversation='" DM_CHANNEL "' AND direction='outgoing'"), 5);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages m JOIN messages p ON "
				   "m.parent_id = p.id WHERE m.content LIKE 'and which green tea%' "
				   "AND p.content = 'Genmaicha, noted!'"), 1);

	kill(proc_pid(p), SIGTERM);
	REQUIRE(proc_wait(p, WAIT_MS, &r) == 0);
	CHECK_EQ(r.exit_code, 0);
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_bad_token_stops_with_the_reason(void)
{
	struct kith_env e;
	struct proc_result r;

	env_for_fakes(&e, "run-badtoken", "not-the-token");
	REQUIRE(kith_run(&e, NULL, &r, "run", NULL) == 0);
	CHECK_EQ(r.exit_code, 1);
	CHECK_CONTAINS(r.err, "DISCORD_BOT_TOKEN");
	proc_result_release(&r);
	kith_env_release(&e);
}

/* Signal is a channel now; an unusable number stops kith with the reason
 * instead of silently running something else. */
static void test_signal_placeholder_number_is_refused(void)
{
	static const char *const numbers[] = { "+1234567890", "your-number" };
	struct kith_env e;
	struct proc_result r;

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		kith_env_init(&e, i ? "run-signal-placeholder2" : "run-signal-placeholder");
		kith_env_set(&e, "CHANNEL_TYPE", "signal");
		kith_env_set(&e, "SIGNAL_NUMBER", numbers[i]);
		REQUIRE(kith_run(&e, NULL, &r, "run", NULL) == 0);
		CHECK_EQ(r.exit_code, 2);
		CHECK_CONTAINS(r.err, "SIGNAL_NUMBER");
		CHECK_CONTAINS(r.err, "placeholder");
		proc_result_release(&r);
		kith_env_release(&e);
	}
	kith_env_init(&e, "run-signal-unset");
	kith_env_set(&e, "CHANNEL_TYPE", "signal");
	REQUIRE(kith_run(&e, NULL, &r, "run", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "SIGNAL_NUMBER is not set");
	proc_result_release(&r);
	kith_env_release(&e);
}

int main(void)
{
	llm = fake_llm_start(FAKE_LLM_OLLAMA);
	discord = fake_discord_start(TOKEN);
	files = fake_files_start();
	if (!llm || !discord || !files)
		return 1;
	fake_files_put(files, &(struct fake_file){ .path = "/cat.png", .data = png, .len = sizeof(png),
						  .content_type = "image/png" });
	RUN(test_dm_gets_a_reply_with_memory);
	RUN(test_bad_token_stops_with_the_reason);
	RUN(test_signal_placeholder_number_is_refused);
	fake_files_stop(files);
	fake_discord_stop(discord);
	fake_llm_stop(llm);
	return test_summary();
}
