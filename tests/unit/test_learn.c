/* test_learn.c — /learn and the LearnAgent against the fake LLM (util role
 * writes the queries) and the fake Perplexity: the command saves a prompt
 * and shows progress; the job makes one search per run in the model's
 * order, waits while a search is unextracted, completes on an empty query
 * or a spent budget, redoes a cancelled step once, and is never due
 * without a search key.  Also the query parser. */
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "core/alloc.h"
#include "fakes/fake_llm.h"
#include "fakes/fake_perplexity.h"
#include "knowledge/knowledge.h"
#include "llm/llm.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"
#include "tools/search.h"

#include <stdlib.h>
#include <string.h>

#define T0 ((int64_t)1767225600000LL)  /* 2026-01-01T00:00:00Z */

struct fx {
	struct fake_llm *srv;
	struct fake_perplexity *pplx;
	struct llm_client *llm;
	struct search_opts so;
	struct store *st;
	struct knowledge_learner *kl;
	int64_t now;
};

static int dbn;

static int64_t fake_now(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static void fx_open(struct fx *f)
{
	struct llm_config lc;
	struct knowledge_learn_deps d = { 0 };
	char name[32];

	memset(f, 0, sizeof(*f));
	f->now = T0;
	f->srv = fake_llm_start(FAKE_LLM_OLLAMA);
	f->pplx = fake_perplexity_start();
	llm_config_init(&lc);
	lc.base_url = xstrdup(f->srv ? fake_llm_url(f->srv) : "http://127.0.0.1:1");
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.models[LLM_ROLE_UTIL] = xstrdup("util-m");
	lc.max_attempts = 1;
	f->llm = llm_client_new(&lc);
	llm_config_release(&lc);
	f->so.perplexity_url = f->pplx ? fake_perplexity_url(f->pplx) : "http://127.0.0.1:1";
	f->so.perplexity_key = "pk";
	f->so.text_timeout_ms = 5000;
	f->so.image_timeout_ms = 1000;
	f->so.text_attempts = 1;
	snprintf(name, sizeof(name), "learn%d.db", ++dbn);
	f->st = storetest_open(name);
	d.st = f->st;
	d.llm = f->llm;
	d.search = &f->so;
	d.now_ms = fake_now;
	d.now_ctx = f;
	f->kl = knowledge_learner_new(&d);
}

static void fx_close(struct fx *f)
{
	knowledge_learner_free(f->kl);
	store_close(f->st);
	llm_client_free(f->llm);
	fake_llm_stop(f->srv);
	fake_perplexity_stop(f->pplx);
}

static void say(struct fx *f, const char *content)
{
	struct fake_reply r = { .content = content };

	fake_llm_push(f->srv, &r);
}

static enum sched_outcome tick(struct fx *f)
{
	if (!knowledge_learn_due(f->kl, f->now))
		return SCHED_NO_WORK;
	return knowledge_learn_run(f->kl, NULL);
}

static int64_t add_prompt(struct fx *f, const char *topic, int searches)
{
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_learn_prompt_add(f->st, "u1", topic, searches, &id, &why), KITH_OK);
	return id;
}

static struct store_learn_prompt get_prompt(struct fx *f, int64_t id)
{
	struct store_learn_prompt *lp = NULL, out;
	size_t n = 0;
	char *why = NULL;

	memset(&out, 0, sizeof(out));
	CHECK_EQ(store_learn_prompts_list(f->st, NULL, NULL, &lp, &n, &why), KITH_OK);
	for (size_t i = 0; i < n; i++)
		if (lp[i].id == id) {
			out = lp[i];
			memset(&lp[i], 0, sizeof(lp[i]));
		}
	store_learn_prompts_free(lp, n);
	return out;
}

static void check_prompt(struct fx *f, int64_t id, const char *status, int remaining)
{
	struct store_learn_prompt p = get_prompt(f, id);

	CHECK_STR(p.status, status);
	CHECK_EQ(p.searches_remaining, remaining);
	free(p.user);
	free(p.prompt);
	free(p.status);
}

/* The extraction read every search so far. */
static void extract_all(struct fx *f)
{
	struct store_search_log *logs = NULL;
	size_t n = 0;
	char *why = NULL;

	CHECK_EQ(store_search_log_unextracted(f->st, 0, &logs, &n, &why), KITH_OK);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(store_search_log_mark_extracted(f->st, logs[i].id, &why), KITH_OK);
	store_search_logs_free(logs, n);
}

static void check_search(struct fx *f, size_t i, const char *query)
{
	char *in = fake_perplexity_request_input(f->pplx, i);

	CHECK_CONTAINS(in, query);
	free(in);
}

static void test_searches_one_by_one(void)
{
	struct fx f;
	struct store_search_log *logs = NULL;
	size_t n = 0, nlogs = 0, pending = 0;
	int64_t id;
	char *body, *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.pplx && f.st);
	id = add_prompt(&f, "medieval castles", 3);
	say(&f, "{\"query\": \"history of medieval castles\"}");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 1);
	check_search(&f, 0, "history of medieval castles");
	check_prompt(&f, id, "active", 2);
	/* Gated until the extraction has read the first answer. */
	CHECK(!knowledge_learn_due(f.kl, f.now));
	CHECK_EQ(knowledge_learn_run(f.kl, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 1);
	CHECK_EQ(fake_llm_request_count(f.srv), 1);
	extract_all(&f);
	say(&f, "```json\n{\"query\": \"castle siege warfare\"}\n```");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 2);
	check_search(&f, 1, "castle siege warfare");
	/* The follow-up prompt showed the model the earlier search. */
	body = fake_llm_request_body(f.srv, 1);
	CHECK_CONTAINS(body, "Topic: medieval castles");
	CHECK_CONTAINS(body, "Search 1: history of medieval castles");
	CHECK_CONTAINS(body, "Fake search results.");
	free(body);
	check_prompt(&f, id, "active", 1);
	extract_all(&f);
	say(&f, "{\"query\": \"famous castles in Wales\"}");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	check_search(&f, 2, "famous castles in Wales");
	/* Budget spent: completed in the same step, nothing more to do. */
	check_prompt(&f, id, "completed", 0);
	extract_all(&f);
	CHECK(!knowledge_learn_due(f.kl, f.now));
	CHECK_EQ(knowledge_learn_run(f.kl, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 3);
	CHECK_EQ(store_learn_prompt_progress(f.st, id, &nlogs, &pending, &why), KITH_OK);
	CHECK_EQ(nlogs, 3);
	CHECK_EQ(pending, 0);
	CHECK_EQ(store_search_log_recent(f.st, 0, &logs, &n, &why), KITH_OK);
	REQUIRE(n == 3);
	for (size_t i = 0; i < n; i++) {
		CHECK_STR(logs[i].trigger, "learn_command");
		CHECK_STR(logs[i].author_id, "u1");
		CHECK(!logs[i].image_url);
	}
	store_search_logs_free(logs, n);
	fx_close(&f);
}

static void test_empty_query_completes(void)
{
	struct fx f;
	int64_t id;

	fx_open(&f);
	REQUIRE(f.srv && f.pplx && f.st);
	id = add_prompt(&f, "sourdough", 5);
	/* No usable first query: the topic itself is searched. */
	say(&f, "{\"query\": \"\"}");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	check_search(&f, 0, "sourdough");
	extract_all(&f);
	say(&f, "{\"query\": null}");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 1);
	check_prompt(&f, id, "completed", 4);
	CHECK(!knowledge_learn_due(f.kl, f.now));
	fx_close(&f);
}

static void test_repeated_query_completes(void)
{
	struct fx f;
	int64_t id;

	fx_open(&f);
	REQUIRE(f.srv && f.pplx && f.st);
	id = add_prompt(&f, "tides", 5);
	say(&f, "{\"query\": \"how tides work\"}");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	extract_all(&f);
	say(&f, "{\"query\": \"How Tides Work\"}");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 1);
	check_prompt(&f, id, "completed", 4);
	fx_close(&f);
}

static void test_cancel_redone_once(void)
{
	struct fx f;
	struct cancel c = { 0 };
	int64_t id;

	fx_open(&f);
	REQUIRE(f.srv && f.pplx && f.st);
	id = add_prompt(&f, "volcanoes", 2);
	cancel_request(&c);
	CHECK(knowledge_learn_due(f.kl, f.now));
	CHECK_EQ(knowledge_learn_run(f.kl, &c), SCHED_CANCELLED);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 0);
	check_prompt(&f, id, "active", 2);
	/* Retried: exactly one search. */
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 1);
	check_prompt(&f, id, "active", 1);
	CHECK(!knowledge_learn_due(f.kl, f.now));
	fx_close(&f);
}

static void test_no_key_never_due(void)
{
	struct fx f;

	fx_open(&f);
	REQUIRE(f.srv && f.pplx && f.st);
	(void)add_prompt(&f, "jazz", 3);
	f.so.perplexity_key = NULL;
	CHECK(!knowledge_learn_due(f.kl, f.now));
	CHECK_EQ(knowledge_learn_run(f.kl, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 0);
	CHECK_EQ(fake_llm_request_count(f.srv), 0);
	fx_close(&f);
}

static void test_prompts_step_independently(void)
{
	struct fx f;
	int64_t a, b;

	fx_open(&f);
	REQUIRE(f.srv && f.pplx && f.st);
	a = add_prompt(&f, "alpha topic", 2);
	b = add_prompt(&f, "bravo topic", 2);
	say(&f, "{\"query\": \"alpha one\"}");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);           /* the oldest first */
	say(&f, "{\"query\": \"bravo one\"}");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);           /* alpha is gated: bravo */
	check_search(&f, 0, "alpha one");
	check_search(&f, 1, "bravo one");
	check_prompt(&f, a, "active", 1);
	check_prompt(&f, b, "active", 1);
	CHECK(!knowledge_learn_due(f.kl, f.now));
	fx_close(&f);
}

/* ---- /learn ---------------------------------------------------------------- */

static char *learn_cmd(struct store *st, const char *user, const char *text, enum kith_status *rc)
{
	struct agent_deps deps = { 0 };
	struct inbound ev = { 0 };
	struct cmd_ctx ctx = { .deps = &deps, .st = st, .ev = &ev };
	char *reply = NULL;

	ev.author_id = (char *)user;
	*rc = cmd_dispatch(&ctx, text, &reply);
	return reply;
}

static void test_command(void)
{
	struct store *st = storetest_open("learncmd.db");
	struct store_learn_prompt *lp = NULL;
	size_t n = 0;
	enum kith_status rc;
	char *reply, *why = NULL;
	int64_t log_id = 0;
	struct store_search_log_new sl = { .query = "q", .response = "r",
					   .trigger = "learn_command", .author_id = "u1" };

	REQUIRE(st);
	reply = learn_cmd(st, "u1", "/learn", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(reply, "Nothing being actively researched right now");
	free(reply);
	reply = learn_cmd(st, "u1", "/learn   vintage synthesizers  ", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(reply, "Okay, I'll learn more about vintage synthesizers");
	CHECK_CONTAINS(reply, "PERPLEXITY_API_KEY");   /* no configuration: no key */
	free(reply);
	CHECK_EQ(store_learn_prompts_list(st, "u1", "active", &lp, &n, &why), KITH_OK);
	REQUIRE(n == 1);
	CHECK_STR(lp[0].prompt, "vintage synthesizers");
	CHECK_EQ(lp[0].searches_remaining, 3);
	reply = learn_cmd(st, "u1", "/learn", &rc);
	CHECK_CONTAINS(reply, "**Learning Status**\n1. **vintage synthesizers** (searching, 3 left)");
	free(reply);
	/* Another person sees only their own. */
	reply = learn_cmd(st, "u2", "/learn", &rc);
	CHECK_CONTAINS(reply, "Nothing being actively researched");
	free(reply);
	/* A finished topic still being read, then read. */
	CHECK_EQ(store_search_log_add(st, &sl, &log_id, &why), KITH_OK);
	CHECK_EQ(store_search_log_set_learn_prompt(st, log_id, lp[0].id, &why), KITH_OK);
	CHECK_EQ(store_learn_prompt_set_status(st, lp[0].id, "completed", &why), KITH_OK);
	reply = learn_cmd(st, "u1", "/learn", &rc);
	CHECK_CONTAINS(reply, "1. **vintage synthesizers** (reading, 0 of 1 processed)");
	free(reply);
	CHECK_EQ(store_search_log_mark_extracted(st, log_id, &why), KITH_OK);
	reply = learn_cmd(st, "u1", "/learn", &rc);
	CHECK_CONTAINS(reply, "1. **vintage synthesizers** ✓");
	free(reply);
	/* Announced topics are no longer listed. */
	CHECK_EQ(store_learn_prompt_announced(st, lp[0].id, 0, &why), KITH_OK);
	reply = learn_cmd(st, "u1", "/learn", &rc);
	CHECK_CONTAINS(reply, "Nothing being actively researched");
	free(reply);
	store_learn_prompts_free(lp, n);
	store_close(st);
}

/* ---- the parser ----------------------------------------------------------- */

/* Parse a string literal (its length without the NUL). */
#define PARSE(lit, ...) knowledge_learn_parse_query(lit, sizeof(lit) - 1, __VA_ARGS__)

static void test_parse_query(void)
{
	char *q = NULL, *why = NULL, big[1200];

	CHECK_EQ(PARSE("{\"query\": \"  a b \"}", &q, &why), KITH_OK);
	CHECK_STR(q, "a b");
	free(q);
	CHECK_EQ(PARSE("Sure!\n{\"query\":\"x\\ny\"} ok", &q, &why),
		 KITH_OK);
	CHECK_STR(q, "x y");
	free(q);
	CHECK_EQ(PARSE("{\"query\": null}", &q, &why), KITH_OK);
	CHECK(q == NULL);
	CHECK_EQ(PARSE("{\"query\": \" \"}", &q, &why), KITH_OK);
	CHECK(q == NULL);
	CHECK_EQ(PARSE("{\"other\": 1}", &q, &why), KITH_OK);
	CHECK(q == NULL);
	CHECK_EQ(PARSE("{\"query\": 7}", &q, &why), KITH_OK);
	CHECK(q == NULL);
	CHECK_EQ(PARSE("no json", &q, NULL), KITH_EPROTO);
	CHECK(q == NULL);
	CHECK_EQ(knowledge_learn_parse_query(NULL, 0, &q, NULL), KITH_EPROTO);
	memcpy(big, "{\"query\":\"", 10);
	memset(big + 10, 'a', 1000);
	memcpy(big + 1010, "\"}", 3);
	CHECK_EQ(knowledge_learn_parse_query(big, strlen(big), &q, &why), KITH_OK);
	REQUIRE(q);
	CHECK_EQ(strlen(q), LEARN_QUERY_MAX);
	free(q);
	free(why);
}

int main(void)
{
	RUN(test_searches_one_by_one);
	RUN(test_empty_query_completes);
	RUN(test_repeated_query_completes);
	RUN(test_cancel_redone_once);
	RUN(test_no_key_never_due);
	RUN(test_prompts_step_independently);
	RUN(test_command);
	RUN(test_parse_query);
	return test_summary();
}
