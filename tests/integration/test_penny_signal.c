/* test_penny_signal.c — Penny's conversation on Signal, end to end: `kith
 * run` on the fake signal-cli-rest-api with the fake LLM, Perplexity and
 * Serper.  A message is answered from a search with its source and the
 * image attached; a group message is answered in the group; a quote-reply
 * brings its thread to the model; a reaction on a reply is recorded. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_llm.h"
#include "fakes/fake_perplexity.h"
#include "fakes/fake_serper.h"
#include "fakes/fake_signal.h"
#include "channel/signal/signal.h"
#include "core/alloc.h"
#include "core/json.h"

#include <signal.h>
#include <string.h>

#define ME "+15559990000"
#define ADA "+15551230001"
#define GROUP_ID "c2lnbmFsLWdyb3VwLWlkLWZvci10ZXN0cw=="
#define WAIT_MS 20000

static struct fake_llm *llm;
static struct fake_signal *sig;
static struct fake_perplexity *pplx;
static struct fake_serper *serper;
static struct kith_env env;
static size_t sends_seen;

static const unsigned char png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
	0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
	0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
	0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
	0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

static void push(long long ts, const char *data_fields)
{
	char *e = xasprintf("{\"source\":\"" ADA "\",\"sourceNumber\":\"" ADA "\","
			    "\"sourceName\":\"Ada\",\"sourceDevice\":1,\"timestamp\":%lld,"
			    "\"dataMessage\":{\"timestamp\":%lld,%s}}", ts, ts, data_fields);

	fake_signal_push_envelope(sig, e);
	free(e);
}

/* The body of the next successful POST /v2/send (new ref), or NULL. */
static json_t *next_send(void)
{
	long i = fake_signal_wait_for(sig, "POST", "/v2/send", sends_seen, WAIT_MS);

	if (i < 0)
		return NULL;
	sends_seen = (size_t)i + 1;
	return fake_signal_request_json(sig, (size_t)i);
}

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

static void test_answer_from_a_search_with_source_and_image(void)
{
	static const char *const cited[] = { "https://example.org/aurora", NULL };
	struct fake_pplx_reply text = { .text = "Auroras are strongest near the equinoxes.",
					.citations = cited };
	json_t *b;
	const char *msg;
	json_t *atts;

	fake_perplexity_push(pplx, &text);
	fake_llm_push(llm, &(struct fake_reply){ .content = "Best around the **equinoxes**." });
	push(1700000100000LL, "\"message\":\"when are northern lights best?\"");
	b = next_send();
	REQUIRE(b);
	msg = kjson_str(b, "message");
	CHECK_CONTAINS(msg, "equinoxes");
	CHECK_CONTAINS(msg, "https://example.org/aurora");
	atts = kjson_arr(b, "base64_attachments");
	REQUIRE(atts && json_array_size(atts) == 1);
	CHECK(strncmp(json_string_value(json_array_get(atts, 0)), "data:image/png", 14) == 0);
	CHECK_EQ(fake_perplexity_request_count(pplx), 1);
	CHECK(fake_serper_request_count(serper) >= 1);
	json_decref(b);
}

static void test_group_message_is_answered_in_the_group(void)
{
	char *group = signal_group_conversation(GROUP_ID);
	json_t *b;

	fake_llm_push(llm, &(struct fake_reply){ .content = "Hello, everyone." });
	push(1700000200000LL, "\"message\":\"hi all, kith are you here?\",\"groupInfo\":{\"groupId\":\""
			      GROUP_ID "\",\"type\":\"DELIVER\"}");
	b = next_send();
	REQUIRE(b);
	CHECK_STR(json_string_value(json_array_get(kjson_arr(b, "recipients"), 0)), group);
	CHECK_CONTAINS(kjson_str(b, "message"), "Hello, everyone.");
	json_decref(b);
	free(group);
}

static void test_quote_reply_brings_the_thread(void)
{
	json_t *b, *req, *msgs;
	char *fields;

	/* Chatter in the same conversation after the quoted answer. */
	fake_llm_push(llm, &(struct fake_reply){ .content = "Nice boots!" });
	push(1700000250000LL, "\"message\":\"by the way I bought new hiking boots today\"");
	b = next_send();
	REQUIRE(b);
	json_decref(b);

	fake_llm_push(llm, &(struct fake_reply){ .content = "A quiet night helps too." });
	fields = xasprintf("\"message\":\"and the best time of night?\",\"quote\":{\"id\":1700000100999,"
			   "\"author\":\"" ME "\",\"authorNumber\":\"" ME "\","
			   "\"text\":\"Best around the equinoxes.\"}");
	push(1700000300000LL, fields);
	free(fields);
	b = next_send();
	REQUIRE(b);
	json_decref(b);
	req = last_chat();
	msgs = kjson_arr(req, "messages");
	REQUIRE(msgs);
	{
		char *all;

		/* The conversation part (the system prompt may recall anything). */
		json_array_remove(msgs, 0);
		all = json_dumps(msgs, 0);
		/* The thread: the question, the answer quoted, the follow-up — and
		 * not the group chatter in between. */
		CHECK_CONTAINS(all, "when are northern lights best?");
		CHECK_CONTAINS(all, "and the best time of night?");
		CHECK(!strstr(all, "new hiking boots"));
		free(all);
	}
	json_decref(req);
}

static void test_reaction_on_a_reply_is_recorded(void)
{
	push(1700000400000LL, "\"reaction\":{\"emoji\":\"\xF0\x9F\x91\x8D\",\"targetAuthor\":\"" ME "\","
			      "\"targetAuthorNumber\":\"" ME "\",\"targetSentTimestamp\":1700000100999,"
			      "\"isRemove\":false}");
	/* Poll the database: the reaction lands as an engagement signal. */
	for (int i = 0; i < 200; i++) {
		if (db_int(env.db_path, "SELECT count(*) FROM reactions WHERE emoji = '\xF0\x9F\x91\x8D'"
					" AND author_id = '" ADA "'") == 1)
			break;
		fake_signal_wait_requests(sig, fake_signal_request_count(sig) + 1, 50);
	}
	CHECK_EQ(db_int(env.db_path, "SELECT count(*) FROM reactions WHERE emoji = '\xF0\x9F\x91\x8D'"
				     " AND author_id = '" ADA "' AND channel = 'signal'"), 1);
}

int main(void)
{
	struct proc *kith;
	struct proc_result r;

	llm = fake_llm_start(FAKE_LLM_OLLAMA);
	sig = fake_signal_start(ME, FAKE_SIGNAL_JSON_RPC);
	pplx = fake_perplexity_start();
	serper = fake_serper_start();
	if (!llm || !sig || !pplx || !serper)
		return 1;
	fake_serper_add_image(serper, &(struct fake_serper_image){
		.path = "/img/aurora.png", .data = png, .len = sizeof(png),
		.content_type = "image/png" });
	kith_env_init(&env, "penny-signal");
	kith_env_set(&env, "OLLAMA_API_URL", fake_llm_url(llm));
	kith_env_set(&env, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(&env, "CHANNEL_TYPE", "signal");
	kith_env_set(&env, "SIGNAL_NUMBER", ME);
	kith_env_set(&env, "SIGNAL_API_URL", fake_signal_url(sig));
	kith_env_set(&env, "PERPLEXITY_API_KEY", "pplx-test-key");
	kith_env_set(&env, "PERPLEXITY_API_URL", fake_perplexity_url(pplx));
	kith_env_set(&env, "SERPER_API_KEY", "serper-test-key");
	kith_env_set(&env, "SERPER_API_URL", fake_serper_url(serper));
	kith = kith_start(&env, "run", NULL);
	if (!kith || !fake_signal_wait_ws_connections(sig, 1, WAIT_MS))
		return 1;

	RUN(test_answer_from_a_search_with_source_and_image);
	RUN(test_group_message_is_answered_in_the_group);
	RUN(test_quote_reply_brings_the_thread);
	RUN(test_reaction_on_a_reply_is_recorded);

	kill(proc_pid(kith), SIGTERM);
	if (proc_wait(kith, WAIT_MS, &r) == 0) {
		CHECK_EQ(r.exit_code, 0);
		proc_result_release(&r);
	} else {
		proc_kill(kith);
	}
	kith_env_release(&env);
	fake_serper_stop(serper);
	fake_perplexity_stop(pplx);
	fake_signal_stop(sig);
	fake_llm_stop(llm);
	return test_summary();
}
