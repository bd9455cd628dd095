/* test_enrich.c — the EnrichAgent against the fake Perplexity with a fake
 * clock: the entity with the highest heat ÷ facts, exactly one search per
 * run logged with trigger penny_enrichment, the backoff and its reset, the
 * entities it must skip, and the query modes. */
#include "core/alloc.h"
#include "fakes/fake_perplexity.h"
#include "knowledge/knowledge.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"
#include "tools/search.h"

#define SEC 1000LL
#define T0 ((int64_t)1767225600000LL)  /* 2026-01-01T00:00:00Z */

struct fx {
	struct fake_perplexity *pplx;
	struct search_opts so;
	struct store *st;
	struct knowledge_enricher *ke;
	int64_t now;
};

static int dbn;

static int64_t fake_now(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static void fx_open(struct fx *f)
{
	struct knowledge_enrich_deps d = { 0 };
	char name[32];

	memset(f, 0, sizeof(*f));
	f->now = T0;
	f->pplx = fake_perplexity_start();
	f->so.perplexity_url = f->pplx ? fake_perplexity_url(f->pplx) : "http://127.0.0.1:1";
	f->so.perplexity_key = "pk";
	f->so.text_timeout_ms = 5000;
	f->so.image_timeout_ms = 1000;
	f->so.text_attempts = 1;
	snprintf(name, sizeof(name), "en%d.db", ++dbn);
	f->st = storetest_open(name);
	d.st = f->st;
	d.search = &f->so;
	knowledge_params_default(&d.params);
	knowledge_notify_params_default(&d.np);
	d.now_ms = fake_now;
	d.now_ctx = f;
	f->ke = knowledge_enricher_new(&d);
}

static void fx_close(struct fx *f)
{
	knowledge_enricher_free(f->ke);
	store_close(f->st);
	fake_perplexity_stop(f->pplx);
}

static int64_t add_entity(struct fx *f, const char *name, const char *tagline, double heat,
			  size_t facts, bool vetoed)
{
	struct store_entity_new e = { .user = "u1", .name = name, .tagline = tagline,
				      .created_at = f->now };
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_entity_add(f->st, &e, &id, &why), KITH_OK);
	CHECK_EQ(store_entity_set_heat(f->st, id, heat, 0, vetoed, &why), KITH_OK);
	for (size_t i = 0; i < facts; i++) {
		char text[64];
		struct store_fact_new n = { .entity_id = id, .content = text,
					    .learned_at = f->now, .notified_at = f->now };

		snprintf(text, sizeof(text), "%s fact %zu.", name, i + 1);
		CHECK_EQ(store_fact_add(f->st, &n, NULL, &why), KITH_OK);
	}
	return id;
}

static enum sched_outcome tick(struct fx *f)
{
	if (!knowledge_enrich_due(f->ke, f->now))
		return SCHED_NO_WORK;
	return knowledge_enrich_run(f->ke, NULL);
}

static void test_picks_by_heat_per_fact(void)
{
	struct fx f;
	struct store_search_log *logs = NULL;
	struct store_entity e;
	size_t n = 0;
	int64_t b;
	char *in, *why = NULL;

	fx_open(&f);
	REQUIRE(f.pplx && f.st);
	(void)add_entity(&f, "alpha", NULL, 4.0, 4, false);      /* 4 / 4 = 1 */
	b = add_entity(&f, "bravo", "a band", 3.0, 1, false);    /* 3 / 1 = 3 */
	(void)add_entity(&f, "charlie", NULL, 9.0, 0, true);     /* vetoed */
	(void)add_entity(&f, "delta", NULL, 0.2, 0, false);      /* below 0.3 */
	CHECK(knowledge_enrich_due(f.ke, f.now));
	CHECK_EQ(knowledge_enrich_run(f.ke, NULL), SCHED_DID_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 1);
	in = fake_perplexity_request_input(f.pplx, 0);
	CHECK_CONTAINS(in, "Tell me more about bravo (a band)");
	CHECK_CONTAINS(in, "bravo fact 1.");
	free(in);
	CHECK_EQ(store_search_log_recent(f.st, 0, &logs, &n, &why), KITH_OK);
	REQUIRE(n == 1);
	CHECK_STR(logs[0].trigger, "penny_enrichment");
	CHECK_STR(logs[0].author_id, "u1");
	CHECK(!logs[0].extracted);
	CHECK(!logs[0].image_url);
	store_search_logs_free(logs, n);
	CHECK_EQ(store_entity_get(f.st, b, &e, &why), KITH_OK);
	CHECK_EQ(e.last_enriched_at, T0);
	store_entity_release(&e);
	fx_close(&f);
}

static void test_backoff_and_reset(void)
{
	struct fx f;

	fx_open(&f);
	REQUIRE(f.pplx && f.st);
	(void)add_entity(&f, "alpha", NULL, 4.0, 1, false);
	(void)add_entity(&f, "bravo", NULL, 3.0, 1, false);
	(void)add_entity(&f, "charlie", NULL, 2.0, 1, false);
	CHECK_EQ(tick(&f), SCHED_DID_WORK);                  /* alpha; wait 900 s */
	CHECK(!knowledge_enrich_due(f.ke, f.now + 899 * SEC));
	f.now += 899 * SEC;
	CHECK_EQ(knowledge_enrich_run(f.ke, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 1);
	f.now += 1 * SEC;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);                  /* bravo (alpha's cooldown) */
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 2);
	/* Doubled: 1800 s. */
	f.now += 900 * SEC;
	CHECK(!knowledge_enrich_due(f.ke, f.now));
	/* The user writes: one interval from then. */
	knowledge_enrich_user_active(f.ke, f.now);
	f.now += 899 * SEC;
	CHECK(!knowledge_enrich_due(f.ke, f.now));
	f.now += 1 * SEC;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);                  /* charlie */
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 3);
	/* All three are in their 7-day cooldown now: nothing due, no search. */
	f.now += 86400 * SEC;
	CHECK(!knowledge_enrich_due(f.ke, f.now));
	CHECK_EQ(knowledge_enrich_run(f.ke, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 3);
	fx_close(&f);
}

static void test_skips_untold_facts(void)
{
	struct fx f;
	int64_t a;
	struct store_fact_new n = { .content = "An untold fact.", .learned_at = T0 };
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.pplx && f.st);
	a = add_entity(&f, "alpha", NULL, 4.0, 0, false);
	n.entity_id = a;
	CHECK_EQ(store_fact_add(f.st, &n, NULL, &why), KITH_OK);
	CHECK(!knowledge_enrich_due(f.ke, f.now));
	CHECK_EQ(knowledge_enrich_run(f.ke, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 0);
	fx_close(&f);
}

static void test_no_key_never_due(void)
{
	struct fx f;

	fx_open(&f);
	REQUIRE(f.pplx && f.st);
	(void)add_entity(&f, "alpha", NULL, 4.0, 1, false);
	f.so.perplexity_key = NULL;
	CHECK(!knowledge_enrich_due(f.ke, f.now));
	CHECK_EQ(knowledge_enrich_run(f.ke, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_perplexity_request_count(f.pplx), 0);
	fx_close(&f);
}

static void test_query_modes(void)
{
	const char *facts[] = { "one.", "two.", "three.", "four.", "five." };
	char *q;

	q = knowledge_enrich_query("alpha", "a band", NULL, 0, 5, 2026);
	CHECK_STR(q, "alpha (a band)");
	free(q);
	q = knowledge_enrich_query("alpha", NULL, facts, 2, 5, 2026);
	CHECK_STR(q, "Tell me more about alpha. I already know:\n- one.\n- two.\n\n"
		     "What else is important to know?");
	free(q);
	q = knowledge_enrich_query("alpha", "a band", facts, 5, 5, 2026);
	CHECK_STR(q, "alpha (a band) latest news updates 2026");
	free(q);
}

int main(void)
{
	RUN(test_picks_by_heat_per_fact);
	RUN(test_backoff_and_reset);
	RUN(test_skips_untold_facts);
	RUN(test_no_key_never_due);
	RUN(test_query_modes);
	return test_summary();
}
