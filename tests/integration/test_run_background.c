/* test_run_background.c — `kith run` does background work once people are
 * idle: after a DM on the fake Discord, the scheduler's extraction job asks
 * the utility model for entities and facts and stores them; /debug shows the
 * job and the day's budget; a like on the message that named an entity
 * becomes an engagement with it. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_discord.h"
#include "fakes/fake_llm.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <signal.h>
#include <string.h>

#define TOKEN "kith-test-token"
#define DM_CHANNEL "2100000000000000055"
#define USER "4000000000000000055"
#define WAIT_MS 20000

static struct fake_llm *llm;
static struct fake_discord *discord;

static void dm(const char *id, const char *content)
{
	char *d = xasprintf("{\"id\":\"%s\",\"channel_id\":\"" DM_CHANNEL "\","
			    "\"author\":{\"id\":\"" USER "\",\"username\":\"lin\"},"
			    "\"content\":\"%s\",\"mentions\":[],\"attachments\":[]}", id, content);

	fake_discord_dispatch(discord, "MESSAGE_CREATE", d);
	free(d);
}

/* The content of the first POST to the DM channel at or after *from. */
static char *next_post(size_t *from)
{
	int64_t end = clock_mono_ms() + WAIT_MS;

	while (clock_mono_ms() < end) {
		size_t n = fake_discord_request_count(discord);

		for (size_t i = *from; i < n; i++) {
			char *m = fake_discord_request_method(discord, i);
			char *p = fake_discord_request_path(discord, i);
			bool hit = m && p && strcmp(m, "POST") == 0 &&
				   strstr(p, "/channels/" DM_CHANNEL "/messages");

			free(m);
			free(p);
			if (hit) {
				char *body = fake_discord_request_body(discord, i);
				json_t *j = body ? json_loads(body, 0, NULL) : NULL;
				char *content = xstrdup(kjson_str(j, "content"));

				json_decref(j);
				free(body);
				*from = i + 1;
				return content;
			}
		}
		fake_discord_wait_requests(discord, n + 1, 100);
	}
	return NULL;
}

static void test_extraction_runs_when_idle(void)
{
	struct kith_env e;
	struct proc *p;
	struct proc_result r;
	size_t seen = 0;
	char *reply;
	long long entities = 0;
	int64_t end;

	kith_env_init(&e, "run-background");
	kith_env_set(&e, "OLLAMA_API_URL", fake_llm_url(llm));
	kith_env_set(&e, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(&e, "OLLAMA_BACKGROUND_MODEL", "util-model");
	kith_env_set(&e, "DISCORD_BOT_TOKEN", TOKEN);
	kith_env_set(&e, "DISCORD_API_URL", fake_discord_api_url(discord));
	kith_env_set(&e, "IDLE_SECONDS", "1");
	kith_env_set(&e, "SCHEDULER_TICK_INTERVAL", "0.05");
	kith_env_set(&e, "MAINTENANCE_INTERVAL_SECONDS", "1");
	kith_env_set(&e, "EXTRACTION_ENTITY_SEMANTIC_THRESHOLD", "0.05");
	p = kith_start(&e, "run", NULL);
	REQUIRE(p);
	REQUIRE(fake_discord_wait_op(discord, 2, fake_discord_op_count(discord, 2) + 1, WAIT_MS));

	/* The reply first; the extraction's answer is next in the fake's queue. */
	fake_llm_push(llm, &(struct fake_reply){ .content = "Congratulations on Biscuit!" });
	fake_llm_push(llm, &(struct fake_reply){
		.content = "{\"entities\":[{\"name\":\"Biscuit\",\"tagline\":\"lin's greyhound\","
			   "\"sentiment\":\"positive\",\"facts\":[\"Biscuit is a greyhound that Lin "
			   "adopted.\"]}]}" });
	dm("3000000000000000301", "I just adopted a greyhound called Biscuit");
	reply = next_post(&seen);
	CHECK_STR(reply, "Congratulations on Biscuit!");
	free(reply);

	/* Once Lin has been quiet for IDLE_SECONDS the extraction runs. */
	end = clock_mono_ms() + WAIT_MS;
	while (clock_mono_ms() < end &&
	       (entities = db_int(e.db_path, "SELECT count(*) FROM entities WHERE name LIKE "
					      "'%biscuit%'")) < 1)
		fake_llm_wait_requests(llm, fake_llm_request_count(llm) + 1, 100);
	CHECK_EQ(entities, 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM facts WHERE content LIKE '%greyhound%'"),
		 1);
	{
		bool util = false;

		for (size_t i = 0; i < fake_llm_request_count(llm); i++) {
			json_t *req = fake_llm_request_json(llm, i);

			util |= req && kjson_str(req, "model") &&
				strcmp(kjson_str(req, "model"), "util-model") == 0;
			json_decref(req);
		}
		CHECK(util);
	}

	/* /debug lists the job and the budget. */
	dm("3000000000000000302", "/debug");
	reply = next_post(&seen);
	REQUIRE(reply);
	CHECK_CONTAINS(reply, "extraction");
	CHECK_CONTAINS(reply, "budget");
	free(reply);

	/* A like on the message that named Biscuit becomes an engagement. */
	fake_discord_dispatch(discord, "MESSAGE_REACTION_ADD",
			      "{\"user_id\":\"" USER "\",\"channel_id\":\"" DM_CHANNEL "\","
			      "\"message_id\":\"3000000000000000301\","
			      "\"emoji\":{\"id\":null,\"name\":\"\xF0\x9F\x91\x8D\"}}");
	end = clock_mono_ms() + WAIT_MS;
	while (clock_mono_ms() < end &&
	       db_int(e.db_path, "SELECT count(*) FROM engagements WHERE type = 'emoji_reaction'") < 1)
		fake_discord_wait_requests(discord, fake_discord_request_count(discord) + 1, 100);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM reactions WHERE processed = 1 AND "
				   "target_message_id IS NOT NULL"), 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM engagements WHERE type = 'emoji_reaction'"),
		 1);

	kill(proc_pid(p), SIGTERM);
	REQUIRE(proc_wait(p, WAIT_MS, &r) == 0);
	CHECK_EQ(r.exit_code, 0);
	proc_result_release(&r);
	kith_env_release(&e);
}

/* Requests the fake received for the utility model. */
static size_t util_requests(void)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_llm_request_count(llm); i++) {
		json_t *req = fake_llm_request_json(llm, i);
		const char *m = req ? kjson_str(req, "model") : NULL;

		n += m && strcmp(m, "util-model") == 0;
		json_decref(req);
	}
	return n;
}

static bool wait_util_requests(size_t n)
{
	int64_t end = clock_mono_ms() + WAIT_MS;

	while (util_requests() < n && clock_mono_ms() < end)
		fake_llm_wait_requests(llm, fake_llm_request_count(llm) + 1, 100);
	return util_requests() >= n;
}

/* A person writes while a background model call is in flight: the call is
 * cancelled, the reply comes at once (long before the slow call would have
 * ended), and the cancelled extraction runs again once they are idle —
 * once: the entity and its fact are stored one time. */
static void test_foreground_cancels_background(void)
{
	struct kith_env e;
	struct proc *p;
	struct proc_result r;
	size_t seen = 0, util0;
	char *reply;
	int64_t sent_at, end;
	long long entities = 0;

	kith_env_init(&e, "run-cancel");
	kith_env_set(&e, "OLLAMA_API_URL", fake_llm_url(llm));
	kith_env_set(&e, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(&e, "OLLAMA_BACKGROUND_MODEL", "util-model");
	kith_env_set(&e, "DISCORD_BOT_TOKEN", TOKEN);
	kith_env_set(&e, "DISCORD_API_URL", fake_discord_api_url(discord));
	kith_env_set(&e, "IDLE_SECONDS", "1");
	kith_env_set(&e, "SCHEDULER_TICK_INTERVAL", "0.05");
	kith_env_set(&e, "MAINTENANCE_INTERVAL_SECONDS", "1");
	kith_env_set(&e, "EXTRACTION_ENTITY_SEMANTIC_THRESHOLD", "0.05");
	kith_env_set(&e, "LLM_MAX_RETRIES", "0");
	kith_env_set(&e, "APPROVAL_USER_ID", USER);
	kith_env_set(&e, "OLLAMA_IMAGE_MODEL", "painter");
	p = kith_start(&e, "run", NULL);
	REQUIRE(p);
	REQUIRE(fake_discord_wait_op(discord, 2, fake_discord_op_count(discord, 2) + 1, WAIT_MS));
	util0 = util_requests();
	seen = fake_discord_request_count(discord);

	/* The reply, then an extraction answer that takes 30 s to come. */
	fake_llm_push(llm, &(struct fake_reply){ .content = "What a lovely name." });
	fake_llm_push(llm, &(struct fake_reply){ .content = "{\"entities\":[]}",
						   .delay_ms = 30000 });
	dm("3000000000000000401", "We named the new kitten Pepper");
	reply = next_post(&seen);
	CHECK_STR(reply, "What a lovely name.");
	free(reply);
	REQUIRE(wait_util_requests(util0 + 1));   /* the slow call is in flight */

	/* Lin writes: the answer comes now, not after the slow call. */
	fake_llm_push(llm, &(struct fake_reply){ .content = "Hello again!" });
	fake_llm_push(llm, &(struct fake_reply){
		.content = "{\"entities\":[{\"name\":\"Pepper\",\"tagline\":\"lin's kitten\","
			   "\"sentiment\":\"positive\",\"facts\":[\"Pepper is the kitten Lin "
			   "named.\"]}]}" });
	sent_at = clock_mono_ms();
	dm("3000000000000000402", "hi");
	reply = next_post(&seen);
	CHECK_STR(reply, "Hello again!");
	CHECK(clock_mono_ms() - sent_at < 15000);
	free(reply);

	/* Idle again: the extraction is redone (both messages), once. */
	end = clock_mono_ms() + WAIT_MS;
	while (clock_mono_ms() < end &&
	       (entities = db_int(e.db_path, "SELECT count(*) FROM entities WHERE name LIKE "
					      "'%pepper%'")) < 1)
		fake_llm_wait_requests(llm, fake_llm_request_count(llm) + 1, 100);
	CHECK_EQ(entities, 1);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM facts WHERE content LIKE '%Pepper%'"), 1);
	CHECK_EQ(util_requests(), util0 + 2);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE direction = 'incoming' AND"
				   " id NOT IN (SELECT message_id FROM knowledge_extracted)"), 0);

	/* /config over Discord: the owner changes the idle threshold and the
	 * running scheduler uses it without a restart; nothing enters the
	 * conversation. */
	dm("3000000000000000403", "/config IDLE_SECONDS 7");
	reply = next_post(&seen);
	CHECK_STR(reply, "IDLE_SECONDS is now 7.");
	free(reply);
	{
		bool applied = false;

		end = clock_mono_ms() + WAIT_MS;
		for (int i = 0; !applied && clock_mono_ms() < end; i++) {
			char *id = xasprintf("30000000000000005%02d", i);

			dm(id, "/debug");
			free(id);
			reply = next_post(&seen);
			applied = reply && strstr(reply, "idle after 7s");
			free(reply);
		}
		CHECK(applied);
	}
	dm("3000000000000000404", "/config IDLE_SECONDS lots");
	reply = next_post(&seen);
	CHECK_CONTAINS(reply, "Not changed");
	free(reply);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages WHERE content LIKE '/config%'"), 0);

	/* /mute over Discord, and /draw: the picture goes out as an attachment
	 * (multipart) with the reply. */
	dm("3000000000000000405", "/mute");
	reply = next_post(&seen);
	CHECK_CONTAINS(reply, "Muted");
	free(reply);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM user_mutes WHERE user = '" USER "'"), 1);
	{
		static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
						     0, 0, 0, 13, 'I', 'H', 'D', 'R' };
		size_t before = fake_discord_request_count(discord);
		bool attached = false;

		fake_llm_set_image(llm, png, sizeof(png));
		dm("3000000000000000406", "/draw a lighthouse at dusk");
		end = clock_mono_ms() + WAIT_MS;
		while (!attached && clock_mono_ms() < end) {
			size_t n = fake_discord_request_count(discord);

			for (size_t i = before; i < n && !attached; i++) {
				char *ct = fake_discord_request_header(discord, i, "Content-Type");
				char *body = fake_discord_request_body(discord, i);

				attached = ct && body && strstr(ct, "multipart/form-data") &&
					   strstr(body, "image/png") && strstr(body, "Here you go.");
				free(ct);
				free(body);
			}
			if (!attached)
				fake_discord_wait_requests(discord, n + 1, 100);
		}
		CHECK(attached);
		seen = fake_discord_request_count(discord);
	}
	CHECK(db_int(e.db_path, "SELECT count(*) FROM command_log WHERE command = 'config'") >= 2);

	kill(proc_pid(p), SIGTERM);
	REQUIRE(proc_wait(p, WAIT_MS, &r) == 0);
	CHECK_EQ(r.exit_code, 0);
	proc_result_release(&r);
	kith_env_release(&e);
}

int main(void)
{
	llm = fake_llm_start(FAKE_LLM_OLLAMA);
	discord = fake_discord_start(TOKEN);
	if (!llm || !discord)
		return 1;
	RUN(test_extraction_runs_when_idle);
	RUN(test_foreground_cancels_background);
	fake_discord_stop(discord);
	fake_llm_stop(llm);
	return test_summary();
}
