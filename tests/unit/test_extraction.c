/* test_extraction.c — the knowledge extraction job against the fake LLM
 * (util role, scripted structured replies) and the hashing embedder:
 * provenance, dedup, known-only mode, pre-notified facts, skipping, priority
 * and cancellation. */
#include "core/alloc.h"
#include "fakes/fake_llm.h"
#include "knowledge/knowledge.h"
#include "llm/embed.h"
#include "llm/llm.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"

#include <pthread.h>

struct fx {
	struct fake_llm *srv;
	struct llm_client *llm;
	struct embedder *emb;
	struct store *st;
	struct knowledge_extractor *kx;
};

static int dbn;

static void fx_open(struct fx *f)
{
	struct llm_config lc;
	struct knowledge_deps d = { 0 };
	char name[32];

	memset(f, 0, sizeof(*f));
	f->srv = fake_llm_start(FAKE_LLM_OLLAMA);
	llm_config_init(&lc);
	lc.base_url = xstrdup(f->srv ? fake_llm_url(f->srv) : "http://127.0.0.1:1");
	lc.models[LLM_ROLE_UTIL] = xstrdup("util-m");
	lc.max_attempts = 1;
	f->llm = llm_client_new(&lc);
	llm_config_release(&lc);
	f->emb = embedder_hash_new(0);
	snprintf(name, sizeof(name), "kx%d.db", ++dbn);
	f->st = storetest_open(name);
	d.st = f->st;
	d.llm = f->llm;
	d.emb = f->emb;
	knowledge_params_default(&d.params);
	d.params.semantic_threshold = 0.05;   /* hashing vectors are sparse */
	f->kx = knowledge_extractor_new(&d);
}

static void fx_close(struct fx *f)
{
	knowledge_extractor_free(f->kx);
	store_close(f->st);
	embedder_free(f->emb);
	llm_client_free(f->llm);
	fake_llm_stop(f->srv);
}

static void reply(struct fx *f, const char *json)
{
	struct fake_reply r = { .content = json };

	fake_llm_push(f->srv, &r);
}

static size_t chats(struct fx *f)
{
	size_t n = 0, total = fake_llm_request_count(f->srv);

	for (size_t i = 0; i < total; i++) {
		char *p = fake_llm_request_path(f->srv, i);

		n += p && strcmp(p, "/api/chat") == 0;
		free(p);
	}
	return n;
}

static int64_t add_msg(struct fx *f, enum msg_direction dir, const char *text, int64_t parent)
{
	struct new_message m = {
		.direction = dir, .channel = "console", .conversation = "c", .author_id =
			dir == MSG_INCOMING ? "u1" : "kith", .content = text, .parent_id = parent,
	};
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_message_add(f->st, &m, &id, &why), KITH_OK);
	return id;
}

static int64_t add_log(struct fx *f, const char *q, const char *resp, const char *trigger)
{
	struct store_search_log_new l = {
		.query = q, .response = resp, .trigger = trigger, .author_id = "u1",
	};
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_search_log_add(f->st, &l, &id, &why), KITH_OK);
	return id;
}

static size_t entity_count(struct fx *f)
{
	struct store_entity *e = NULL;
	size_t n = 0;
	char *why = NULL;

	CHECK_EQ(store_entities_for_user(f->st, "u1", 0, &e, &n, &why), KITH_OK);
	store_entities_free(e, n);
	return n;
}

static void drain(struct fx *f)
{
	for (int i = 0; i < 10 && knowledge_extract_due(f->kx, 0); i++)
		(void)knowledge_extract_run(f->kx, NULL);
}

static void test_message_to_entities(void)
{
	struct fx f;
	struct store_entity e;
	struct store_fact *facts = NULL;
	struct store_engagement *g = NULL;
	size_t n = 0, ng = 0;
	int64_t mid;
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	mid = add_msg(&f, MSG_INCOMING, "I really love the Mars rover, it drives on Mars", 0);
	reply(&f, "{\"entities\":[{\"name\":\"Mars Rover\",\"tagline\":\"robotic vehicle on mars\","
		  "\"sentiment\":\"positive\",\"facts\":[\"The Mars rover drives on Mars.\"]}]}");
	CHECK(knowledge_extract_due(f.kx, 0));
	CHECK_EQ(knowledge_extract_run(f.kx, NULL), SCHED_DID_WORK);
	REQUIRE(store_entity_find(f.st, "u1", "mars rover", &e, &why) == KITH_OK);
	CHECK_STR(e.tagline, "robotic vehicle on mars");
	CHECK(e.embedding != NULL && e.dim == EMBED_HASH_DIM);
	CHECK(e.heat > 3.0);
	CHECK_EQ(store_facts_for_entity(f.st, e.id, &facts, &n, &why), KITH_OK);
	REQUIRE(n == 1);
	CHECK_EQ(facts[0].source_message_id, mid);
	CHECK_EQ(facts[0].source_search_log_id, 0);
	CHECK(facts[0].notified_at != 0);     /* the user said it: already known */
	store_facts_free(facts, n);
	CHECK_EQ(store_engagements_for_entity(f.st, e.id, &g, &ng, &why), KITH_OK);
	CHECK_EQ(ng, 2);
	if (ng == 2) {   /* both kinds, in whichever order they were timed */
		bool explicit_first = strcmp(g[0].type, "explicit_statement") == 0;

		CHECK_STR(g[explicit_first ? 0 : 1].type, "explicit_statement");
		CHECK_STR(g[explicit_first ? 1 : 0].type, "message_mention");
	}
	store_engagements_free(g, ng);
	store_entity_release(&e);
	/* Done: nothing due, a second run asks nothing. */
	CHECK(!knowledge_extract_due(f.kx, 0));
	CHECK_EQ(knowledge_extract_run(f.kx, NULL), SCHED_NO_WORK);
	CHECK_EQ(chats(&f), 1);
	fx_close(&f);
}

static void test_search_log_and_duplicate(void)
{
	struct fx f;
	struct store_entity e;
	struct store_fact *facts = NULL;
	size_t n = 0;
	int64_t lid;
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	lid = add_log(&f, "mars rover news", "The Mars rover found clay.", "learn_command");
	reply(&f, "{\"entities\":[{\"name\":\"mars rover\",\"tagline\":\"robotic vehicle\","
		  "\"facts\":[\"The Mars rover found clay.\"]}]}");
	drain(&f);
	add_log(&f, "the mars rover", "The Mars Rover has six wheels.", "user_message");
	reply(&f, "{\"entities\":[{\"name\":\"The Mars Rover\",\"tagline\":\"a rover\","
		  "\"facts\":[\"The Mars Rover has six wheels.\", \"the mars rover found clay\"]}]}");
	drain(&f);
	CHECK_EQ(entity_count(&f), 1);
	REQUIRE(store_entity_find(f.st, "u1", "mars rover", &e, &why) == KITH_OK);
	CHECK_EQ(store_facts_for_entity(f.st, e.id, &facts, &n, &why), KITH_OK);
	CHECK_EQ(n, 2);      /* the repeated fact is not stored twice */
	if (n == 2) {
		CHECK_EQ(facts[0].source_search_log_id, lid);
		CHECK_EQ(facts[0].notified_at, 0);   /* learn search: news for the user */
		CHECK(facts[1].notified_at != 0);    /* their own search: known */
	}
	store_facts_free(facts, n);
	store_entity_release(&e);
	fx_close(&f);
}

static void test_known_only(void)
{
	struct fx f;
	struct store_entity e;
	struct store_entity_new ne = { .user = "u1", .name = "kef ls50" };
	struct store_fact *facts = NULL;
	size_t n = 0;
	int64_t id;
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	CHECK_EQ(store_entity_add(f.st, &ne, &id, &why), KITH_OK);
	add_log(&f, "kef ls50 review", "The KEF LS50 uses a Uni-Q driver. Sonos makes speakers.",
		"penny_enrichment");
	reply(&f, "{\"entities\":[{\"name\":\"kef ls50\",\"facts\":[\"It uses a Uni-Q driver.\"]},"
		  "{\"name\":\"sonos\",\"tagline\":\"speaker maker\",\"facts\":[\"Sonos makes speakers.\"]}]}");
	drain(&f);
	CHECK_EQ(entity_count(&f), 2 - 1);
	CHECK_EQ(store_facts_for_entity(f.st, id, &facts, &n, &why), KITH_OK);
	CHECK_EQ(n, 1);
	if (n)
		CHECK_EQ(facts[0].notified_at, 0);
	store_facts_free(facts, n);
	CHECK_EQ(store_entity_get(f.st, id, &e, &why), KITH_OK);
	CHECK(e.heat == 0);     /* enrichment is not user interest */
	store_entity_release(&e);
	fx_close(&f);
}

static void test_skips_without_llm(void)
{
	struct fx f;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	add_msg(&f, MSG_INCOMING, "ok thanks", 0);
	add_msg(&f, MSG_INCOMING, "/learn about the history of the mars rover", 0);
	CHECK(knowledge_extract_due(f.kx, 0));
	CHECK_EQ(knowledge_extract_run(f.kx, NULL), SCHED_DID_WORK);
	CHECK(!knowledge_extract_due(f.kx, 0));
	CHECK_EQ(chats(&f), 0);
	fx_close(&f);
}

static void test_follow_up(void)
{
	struct fx f;
	struct store_entity_new ne = { .user = "u1", .name = "mars rover" };
	struct store_entity e;
	int64_t id, out;
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	CHECK_EQ(store_entity_add(f.st, &ne, &id, &why), KITH_OK);
	out = add_msg(&f, MSG_OUTGOING, "The Mars rover found clay today.", 0);
	add_msg(&f, MSG_INCOMING, "wow, really?", out);
	drain(&f);
	CHECK_EQ(chats(&f), 0);
	CHECK_EQ(store_entity_get(f.st, id, &e, &why), KITH_OK);
	CHECK(e.heat >= 3.0);
	store_entity_release(&e);
	fx_close(&f);
}

static void test_priority(void)
{
	struct fx f;
	json_t *j;
	char *body;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	add_log(&f, "enrich query", "Enrichment text about things.", "penny_enrichment");
	add_log(&f, "search query", "Search text about things.", "user_message");
	add_msg(&f, MSG_INCOMING, "a message long enough to be read by the model", 0);
	reply(&f, "{\"entities\":[]}");
	reply(&f, "{\"entities\":[]}");
	reply(&f, "{\"entities\":[]}");
	/* The enrichment log has no known entity to look for: no call. */
	drain(&f);
	REQUIRE(chats(&f) == 2);
	j = fake_llm_request_json(f.srv, 0);
	body = j ? json_dumps(j, 0) : NULL;
	CHECK_CONTAINS(body, "User message");
	free(body);
	json_decref(j);
	j = fake_llm_request_json(f.srv, 1);
	body = j ? json_dumps(j, 0) : NULL;
	CHECK_CONTAINS(body, "search query");
	CHECK(body && strstr(body, "\"format\""));
	free(body);
	json_decref(j);
	CHECK(!knowledge_extract_due(f.kx, 0));
	fx_close(&f);
}

struct canceller {
	struct fake_llm *srv;
	struct cancel *c;
};

static void *cancel_soon(void *arg)
{
	struct canceller *k = arg;

	fake_llm_wait_requests(k->srv, 1, 5000);
	cancel_request(k->c);
	return NULL;
}

static void test_cancel_redo_once(void)
{
	struct fx f;
	struct fake_reply slow = {
		.content = "{\"entities\":[{\"name\":\"mars rover\",\"tagline\":\"rover\","
			   "\"facts\":[\"It has six wheels.\"]}]}",
		.delay_ms = 3000,
	};
	struct cancel c = { 0 };
	struct canceller k;
	pthread_t t;
	struct store_entity e;
	size_t n = 0;
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	add_msg(&f, MSG_INCOMING, "tell me everything about the mars rover please", 0);
	fake_llm_push(f.srv, &slow);
	k.srv = f.srv;
	k.c = &c;
	REQUIRE(pthread_create(&t, NULL, cancel_soon, &k) == 0);
	CHECK_EQ(knowledge_extract_run(f.kx, &c), SCHED_CANCELLED);
	pthread_join(t, NULL);
	CHECK_EQ(entity_count(&f), 0);
	CHECK(knowledge_extract_due(f.kx, 0));
	reply(&f, slow.content);
	CHECK_EQ(knowledge_extract_run(f.kx, NULL), SCHED_DID_WORK);
	CHECK_EQ(knowledge_extract_run(f.kx, NULL), SCHED_NO_WORK);
	CHECK_EQ(entity_count(&f), 1);
	REQUIRE(store_entity_find(f.st, "u1", "mars rover", &e, &why) == KITH_OK);
	CHECK_EQ(store_fact_count(f.st, e.id, &n, &why), KITH_OK);
	CHECK_EQ(n, 1);
	store_entity_release(&e);
	fx_close(&f);
}

static void test_structural_filter(void)
{
	static const char *const bad[] = {
		"", "   ", "2024", "3.14", "2024-03-01", "1/3/24", "q1 2024", "march", "may",
		"https://example.com/x", "www.example.com", "**bold thing**", "<b>x</b>",
		"1. first item", "{topic}", "a placeholder name", "the", "of the", "you",
		"the user", "one two three four five six seven eight nine", "--", NULL,
	};
	static const char *const good[] = {
		"mars rover", "kef ls50 meta", "gpt-4o", "python 3.12", "mastodon", "todo.txt app",
		"commercial lunar payload services", "ada lovelace", NULL,
	};

	for (size_t i = 0; bad[i]; i++)
		if (knowledge_name_valid(bad[i]))
			CHECK_STR("accepted", bad[i]);
	for (size_t i = 0; good[i]; i++)
		if (!knowledge_name_valid(good[i]))
			CHECK_STR("rejected", good[i]);
}

static void test_tcr(void)
{
	char *k;

	CHECK(knowledge_tcr("applied ai conference", "applied ai conf") > 0.66 &&
	      knowledge_tcr("applied ai conference", "applied ai conf") < 0.67);
	CHECK(knowledge_tcr("The Mars Rover", "mars rover") == 1.0);
	CHECK(knowledge_tcr("2026", "2026") == 0.0);
	CHECK(knowledge_tcr("agentica2026", "agentica") == 1.0);
	CHECK(knowledge_tcr_pass("clps", "commercial lunar payload services", 0.6));
	CHECK(!knowledge_tcr_pass("mars rover", "venus lander", 0.6));
	k = knowledge_name_key("The Mars Rover");
	CHECK_STR(k, "mars rover");
	free(k);
	k = knowledge_fact_norm("  - The  Rover has six wheels. ");
	CHECK_STR(k, "the rover has six wheels");
	free(k);
}

static void test_parser(void)
{
	struct knowledge_reply r;
	static const char fenced[] =
		"Sure!\n```json\n{\"entities\":[{\"name\":\" X1 \",\"facts\":[\"a\",7,\"\"]},"
		"{\"name\":5},{\"tagline\":\"no name\"}]}\n```";

	CHECK_EQ(knowledge_parse_reply(fenced, sizeof(fenced) - 1, &r, NULL), KITH_OK);
	REQUIRE(r.n == 1);
	CHECK_STR(r.ents[0].name, "X1");
	CHECK_STR(r.ents[0].tagline, "");
	CHECK_EQ(r.ents[0].nfacts, 1);
	knowledge_reply_release(&r);
	CHECK_EQ(knowledge_parse_reply("nope", 4, &r, NULL), KITH_EPROTO);
	CHECK_EQ(knowledge_parse_reply("{\"entities\":{}}", 15, &r, NULL), KITH_EPROTO);
	knowledge_reply_release(&r);
}

int main(void)
{
	RUN(test_message_to_entities);
	RUN(test_search_log_and_duplicate);
	RUN(test_known_only);
	RUN(test_skips_without_llm);
	RUN(test_follow_up);
	RUN(test_priority);
	RUN(test_cancel_redo_once);
	RUN(test_structural_filter);
	RUN(test_tcr);
	RUN(test_parser);
	return test_summary();
}
