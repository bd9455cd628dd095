/* test_events.c — the EventAgent with the fake NewsAPI and the hashing
 * embedder: a follow prompt creates events linked to entities, and the
 * three dedup layers (same URL, same headline up to case and punctuation,
 * near-identical headline by embedding) collapse repeats to one, within a
 * poll and across polls; prompts take turns; nothing due makes no request;
 * a cancel mid-request leaves nothing behind and the redo stores once. */
#include "core/alloc.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "fakes/fake_newsapi.h"
#include "knowledge/knowledge.h"
#include "llm/embed.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEY "news-key"
#define T0 1763640000000LL   /* 2025-11-20T12:00:00Z */

static int64_t fake_now = T0;
static struct fake_newsapi *fk;
static struct embedder *emb;

static int64_t now_fn(void *ctx)
{
	(void)ctx;
	return __atomic_load_n(&fake_now, __ATOMIC_ACQUIRE);
}

static void advance(int64_t ms)
{
	__atomic_add_fetch(&fake_now, ms, __ATOMIC_ACQ_REL);
}

static struct event_agent *agent_new(struct store *st)
{
	struct event_deps d = { .st = st, .emb = emb, .news_url = fake_newsapi_url(fk),
				.news_key = KEY, .news_attempts = 1, .news_timeout_ms = 10000 };

	event_params_default(&d.params);
	return event_agent_new(&d);
}

static int64_t add_prompt(struct store *st, const char *user, const char *prompt,
			  const char *terms)
{
	struct store_follow_prompt_new f = { .user = user, .prompt = prompt, .query_terms = terms };
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_follow_prompt_add(st, &f, &id, &why), KITH_OK);
	free(why);
	return id;
}

static int64_t add_entity(struct store *st, const char *name, const char *embed_text)
{
	struct store_entity_new e = { .user = "u", .name = name, .heat = 1.0 };
	float *v = NULL;
	int64_t id = 0;
	char *why = NULL;

	if (embed_text) {
		v = xcalloc(EMBED_HASH_DIM, sizeof(*v));
		CHECK_EQ(embedder_embed(emb, &embed_text, 1, v, NULL, &why), KITH_OK);
		e.embedding = v;
		e.dim = EMBED_HASH_DIM;
	}
	CHECK_EQ(store_entity_add(st, &e, &id, &why), KITH_OK);
	free(v);
	free(why);
	return id;
}

static size_t count_events(struct store *st, const char *user, struct store_event **ev)
{
	struct store_event *rows = NULL;
	size_t n = 0;
	char *why = NULL;

	CHECK_EQ(store_events_recent(st, user, 0, &rows, &n, &why), KITH_OK);
	free(why);
	if (ev)
		*ev = rows;
	else
		store_events_free(rows, n);
	return n;
}

static bool linked(struct store *st, int64_t event_id, int64_t entity_id)
{
	int64_t *ids = NULL;
	size_t n = 0;
	bool hit = false;
	char *why = NULL;

	CHECK_EQ(store_event_entities(st, event_id, &ids, &n, &why), KITH_OK);
	for (size_t i = 0; i < n; i++)
		hit = hit || ids[i] == entity_id;
	free(ids);
	free(why);
	return hit;
}

static const struct store_event *by_url(const struct store_event *ev, size_t n, const char *url)
{
	for (size_t i = 0; i < n; i++)
		if (ev[i].url && strcmp(ev[i].url, url) == 0)
			return &ev[i];
	return NULL;
}

static void test_headline_norm_and_terms(void)
{
	static const char terms[] = "[\"AI safety\", 3, \"  \", \" rust \"]";
	char *s = event_headline_norm("  SpaceX's  Starship: reaches ORBIT!  ");
	char **t;

	CHECK_STR(s, "spacexs starship reaches orbit");
	free(s);
	s = event_headline_norm("?!");
	CHECK_STR(s, "");
	free(s);
	t = event_parse_terms(terms, strlen(terms));
	REQUIRE(t != NULL);
	CHECK_STR(t[0], "AI safety");
	CHECK_STR(t[1], "rust");
	CHECK(t[2] == NULL);
	event_terms_free(t);
	CHECK(event_parse_terms("[]", 2) == NULL);
	CHECK(event_parse_terms("{\"a\":1}", 7) == NULL);
	CHECK(event_parse_terms("", 0) == NULL);
	CHECK(event_names_entity("SpaceX's Starship flies", "starship"));
	CHECK(event_names_entity("Mars Rover finds clay", "mars rover"));
	CHECK(!event_names_entity("Starships galore", "starship"));
	CHECK(!event_names_entity("A rust belt story", "rus"));
}

static void test_poll_dedups_and_links(void)
{
	static const struct fake_news_article first[] = {
		{ "Wired", "SpaceX Starship reaches orbit on fifth flight", "The rocket flew.",
		  "https://n.example/a", "2025-11-20T10:00:00Z", NULL },
		/* layer 1: the same URL under another title */
		{ "Wired", "Something else entirely", NULL, "https://n.example/a", NULL, NULL },
		/* layer 2: the same headline, other case and punctuation */
		{ "AP", "SPACEX starship reaches orbit, on fifth flight!", NULL,
		  "https://n.example/b", NULL, NULL },
		/* layer 3: the same headline reworded by one word */
		{ "AP", "SpaceX Starship reaches orbit on its fifth flight", NULL,
		  "https://n.example/c", NULL, NULL },
		{ "Reuters", "Orbital rocket test succeeds over Texas", "A quiet success.",
		  "https://n.example/d", NULL, NULL },
		{ "[Removed]", "[Removed]", "[Removed]", "https://removed.com", NULL, "[Removed]" },
	};
	static const struct fake_news_article second[] = {
		{ "Wired", "SpaceX Starship reaches orbit on fifth flight", NULL,
		  "https://n.example/a", NULL, NULL },
		{ "BBC", "SpaceX Starship reaches orbit on its fifth flight", NULL,
		  "https://n.example/e", NULL, NULL },
		{ "BBC", "Jupiter probe sends first images", NULL, "https://n.example/f", NULL, NULL },
	};
	struct fake_news_reply r1 = { .articles = first, .n = 6 };
	struct fake_news_reply r2 = { .articles = second, .n = 3 };
	struct store *st = storetest_open("events_dedup.db");
	struct event_agent *ea;
	struct event_run_stats s;
	struct store_event *ev = NULL;
	const struct store_event *a, *d;
	size_t n, before = fake_newsapi_request_count(fk);
	int64_t fp, starship, spacex, rover, rocket;
	char *v;

	REQUIRE(st);
	ea = agent_new(st);
	fp = add_prompt(st, "u", "space launches", "[\"Starship\",\"SpaceX\"]");
	starship = add_entity(st, "starship", NULL);
	spacex = add_entity(st, "spacex", NULL);
	rover = add_entity(st, "mars rover", "mars rover");
	/* Not named in any article: linked by its embedding alone. */
	rocket = add_entity(st, "test flights", "Orbital rocket test succeeds over Texas");

	CHECK(event_agent_due(ea, now_fn(NULL)));
	fake_newsapi_push(fk, &r1);
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_DID_WORK);
	event_agent_last_run(ea, &s);
	CHECK_EQ(s.prompt_id, fp);
	CHECK_EQ(s.articles, 5);
	CHECK_EQ(s.dup_url, 1);
	CHECK_EQ(s.dup_headline, 1);
	CHECK_EQ(s.dup_embedding, 1);
	CHECK_EQ(s.created, 2);
	REQUIRE(fake_newsapi_request_count(fk) == before + 1);
	v = fake_newsapi_request_arg(fk, before, "q");
	CHECK_STR(v, "Starship OR SpaceX");
	free(v);
	v = fake_newsapi_request_arg(fk, before, "from");
	CHECK_STR(v, "2025-11-13T12:00:00");   /* the 7-day window */
	free(v);

	n = count_events(st, "u", &ev);
	CHECK_EQ(n, 2);
	a = by_url(ev, n, "https://n.example/a");
	d = by_url(ev, n, "https://n.example/d");
	REQUIRE(a && d);
	CHECK_STR(a->headline, "SpaceX Starship reaches orbit on fifth flight");
	CHECK_STR(a->summary, "The rocket flew.");
	CHECK_EQ(a->follow_prompt_id, fp);
	CHECK_EQ(a->published_at, 1763632800000LL);
	CHECK_EQ(a->dim, EMBED_HASH_DIM);
	CHECK(linked(st, a->id, starship));
	CHECK(linked(st, a->id, spacex));
	CHECK(!linked(st, a->id, rover));
	CHECK(linked(st, d->id, rocket));
	CHECK(!linked(st, d->id, starship));
	CHECK(!linked(st, d->id, rover));
	store_events_free(ev, n);

	/* Polled: not due again until the interval has passed. */
	CHECK(!event_agent_due(ea, now_fn(NULL)));
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_newsapi_request_count(fk), before + 1);
	advance(600 * 1000);
	CHECK(event_agent_due(ea, now_fn(NULL)));

	/* The next poll: the stored events are the dedup reference. */
	fake_newsapi_push(fk, &r2);
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_DID_WORK);
	event_agent_last_run(ea, &s);
	CHECK_EQ(s.dup_url, 1);
	CHECK_EQ(s.dup_embedding, 1);
	CHECK_EQ(s.created, 1);
	CHECK_EQ(count_events(st, "u", NULL), 3);

	event_agent_free(ea);
	store_close(st);
}

static void test_round_robin(void)
{
	struct store *st = storetest_open("events_rr.db");
	struct event_agent *ea;
	struct event_run_stats s;
	size_t before = fake_newsapi_request_count(fk);
	int64_t p1, p2;
	char *v;

	REQUIRE(st);
	ea = agent_new(st);
	CHECK(!event_agent_due(ea, now_fn(NULL)));          /* no prompts at all */
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_NO_WORK);
	p1 = add_prompt(st, "u", "rust language news", NULL);  /* no terms: its text */
	p2 = add_prompt(st, "v", "jupiter", "[\"Juno probe\"]");

	CHECK_EQ(event_agent_run(ea, NULL), SCHED_DID_WORK);
	event_agent_last_run(ea, &s);
	CHECK_EQ(s.prompt_id, p1);
	advance(1000);
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_DID_WORK);
	event_agent_last_run(ea, &s);
	CHECK_EQ(s.prompt_id, p2);
	REQUIRE(fake_newsapi_request_count(fk) == before + 2);
	v = fake_newsapi_request_arg(fk, before, "q");
	CHECK_STR(v, "\"rust language news\"");
	free(v);
	v = fake_newsapi_request_arg(fk, before + 1, "q");
	CHECK_STR(v, "\"Juno probe\"");
	free(v);

	/* Nothing due: the cheap check says so and a run makes no request. */
	CHECK(!event_agent_due(ea, now_fn(NULL)));
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_NO_WORK);
	CHECK_EQ(fake_newsapi_request_count(fk), before + 2);

	/* p1 comes due first (polled longest ago) and goes first again. */
	advance(599 * 1000);
	CHECK(event_agent_due(ea, now_fn(NULL)));
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_DID_WORK);
	event_agent_last_run(ea, &s);
	CHECK_EQ(s.prompt_id, p1);
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_NO_WORK);   /* p2's interval not over */
	advance(1000);
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_DID_WORK);
	event_agent_last_run(ea, &s);
	CHECK_EQ(s.prompt_id, p2);
	CHECK_EQ(fake_newsapi_request_count(fk), before + 4);

	event_agent_free(ea);
	store_close(st);
}

struct canceller {
	struct cancel *c;
	size_t wait_for;
};

static void *cancel_on_request(void *arg)
{
	struct canceller *k = arg;

	fake_newsapi_wait_requests(fk, k->wait_for, 10000);
	cancel_request(k->c);
	return NULL;
}

static void test_cancel_leaves_nothing(void)
{
	static const struct fake_news_article arts[] = {
		{ "Wired", "Starship flies again", NULL, "https://c.example/1", NULL, NULL },
		{ "Wired", "Booster caught by tower", NULL, "https://c.example/2", NULL, NULL },
	};
	struct fake_news_reply slow = { .articles = arts, .n = 2, .delay_ms = 10000 };
	struct fake_news_reply fast = { .articles = arts, .n = 2 };
	struct store *st = storetest_open("events_cancel.db");
	struct cancel c = { 0 };
	struct canceller k = { .c = &c };
	struct event_agent *ea;
	struct event_run_stats s;
	pthread_t th;
	int64_t t0;

	REQUIRE(st);
	ea = agent_new(st);
	add_prompt(st, "u", "starship", "[\"Starship\"]");
	add_entity(st, "starship", NULL);
	k.wait_for = fake_newsapi_request_count(fk) + 1;
	fake_newsapi_push(fk, &slow);
	REQUIRE(pthread_create(&th, NULL, cancel_on_request, &k) == 0);
	t0 = clock_mono_ms();
	CHECK_EQ(event_agent_run(ea, &c), SCHED_CANCELLED);
	CHECK_INT(clock_mono_ms() - t0, <, 5000);   /* not the fake's 10 s delay */
	pthread_join(th, NULL);
	CHECK_EQ(count_events(st, "u", NULL), 0);
	CHECK(event_agent_due(ea, now_fn(NULL)));     /* not marked polled */

	/* Already cancelled: stops before any request. */
	k.wait_for = fake_newsapi_request_count(fk);
	CHECK_EQ(event_agent_run(ea, &c), SCHED_CANCELLED);
	CHECK_EQ(fake_newsapi_request_count(fk), k.wait_for);

	/* Redone: stored once, linked, polled. */
	cancel_clear(&c);
	fake_newsapi_push(fk, &fast);
	CHECK_EQ(event_agent_run(ea, &c), SCHED_DID_WORK);
	event_agent_last_run(ea, &s);
	CHECK_EQ(s.created, 2);
	CHECK_EQ(s.links, 1);
	CHECK_EQ(count_events(st, "u", NULL), 2);
	CHECK(!event_agent_due(ea, now_fn(NULL)));
	/* The same answer again after the interval stores nothing new. */
	advance(600 * 1000);
	fake_newsapi_push(fk, &fast);
	CHECK_EQ(event_agent_run(ea, &c), SCHED_DID_WORK);
	event_agent_last_run(ea, &s);
	CHECK_EQ(s.created, 0);
	CHECK_EQ(s.dup_url, 2);
	CHECK_EQ(count_events(st, "u", NULL), 2);

	event_agent_free(ea);
	store_close(st);
}

static void test_news_error_marks_polled(void)
{
	struct fake_news_reply limited = { .status = 429 };
	struct store *st = storetest_open("events_err.db");
	struct event_agent *ea;
	struct event_deps d = { 0 };

	REQUIRE(st);
	ea = agent_new(st);
	add_prompt(st, "u", "starship", NULL);
	fake_newsapi_push(fk, &limited);
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_FAILED);
	CHECK(!event_agent_due(ea, now_fn(NULL)));   /* asked again after the interval */
	CHECK_EQ(count_events(st, "u", NULL), 0);
	event_agent_free(ea);

	/* Without a key nothing is ever due. */
	d.st = st;
	event_params_default(&d.params);
	ea = event_agent_new(&d);
	advance(3600 * 1000);
	CHECK(!event_agent_due(ea, now_fn(NULL)));
	CHECK_EQ(event_agent_run(ea, NULL), SCHED_NO_WORK);
	event_agent_free(ea);
	store_close(st);
}

int main(void)
{
	clock_set_source(now_fn, NULL);
	emb = embedder_hash_new(0);
	fk = fake_newsapi_start();
	if (!fk)
		return 1;
	fake_newsapi_set_key(fk, KEY);
	RUN(test_headline_norm_and_terms);
	RUN(test_poll_dedups_and_links);
	RUN(test_round_robin);
	RUN(test_cancel_leaves_nothing);
	RUN(test_news_error_marks_polled);
	fake_newsapi_stop(fk);
	embedder_free(emb);
	clock_set_source(NULL, NULL);
	return test_summary();
}
