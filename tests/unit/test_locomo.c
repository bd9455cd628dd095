/* test_locomo.c — the LoCoMo loader (tests/data/locomo-mini.json and odd
 * shapes), its date parser and the retrieval metric, checked exactly. */
#include "support/test.h"
#include "core/alloc.h"
#include "memory/locomo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static char *slurp(const char *name, size_t *len)
{
	const char *dir = getenv("KITH_TEST_DATA");
	char *path = xasprintf("%s/%s", dir && *dir ? dir : "tests/data", name);
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	free(path);
	if (!f)
		return NULL;
	buf = xmalloc(1 << 16);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static struct locomo *load_mini(void)
{
	size_t len = 0;
	char *buf = slurp("locomo-mini.json", &len);
	struct locomo *l = NULL;
	char *why = NULL;

	if (!buf)
		return NULL;
	if (locomo_parse(buf, len, &l, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "locomo_parse: %s", why ? why : "?");
		free(why);
	}
	free(buf);
	return l;
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void test_dates(void)
{
	int64_t ms = 0;

	CHECK(locomo_parse_date("1:56 pm on 8 May, 2023", &ms));
	CHECK_EQ(ms, 1683554160000LL);   /* 2023-05-08T13:56:00Z */
	CHECK(locomo_parse_date("12:05 am on 1 January, 2020", &ms));
	CHECK_EQ(ms, 1577837100000LL);   /* 2020-01-01T00:05:00Z */
	CHECK(locomo_parse_date("12:00 PM on 29 February, 2024", &ms));
	CHECK_EQ(ms, 1709208000000LL);
	CHECK(!locomo_parse_date("13:00 pm on 8 May, 2023", &ms));
	CHECK(!locomo_parse_date("1:56 pm on 8 Mayo, 2023", &ms));
	CHECK(!locomo_parse_date("1:56 pm on 8 May, 2023 extra", &ms));
	CHECK(!locomo_parse_date("", &ms));
	CHECK(!locomo_parse_date(NULL, &ms));
	CHECK_EQ(locomo_session_of("D12:3"), 12);
	CHECK_EQ(locomo_session_of("D12"), -1);
	CHECK_EQ(locomo_session_of("X1:2"), -1);
}

static void test_load_mini(void)
{
	struct locomo *l = load_mini();
	const struct locomo_conv *c;

	REQUIRE(l);
	REQUIRE(l->n == 1);
	c = &l->convs[0];
	CHECK_STR(c->id, "mini-1");
	REQUIRE(c->nturns == 6);
	CHECK_STR(c->turns[0].dia_id, "D1:1");
	CHECK_EQ(c->turns[0].session, 1);
	CHECK_EQ(c->turns[0].at_ms, 1683554160000LL);
	CHECK_STR(c->turns[2].text, "Biscuit loves it there. [shares a photo: a dog running on a sandy beach]");
	CHECK_EQ(c->turns[3].session, 2);
	REQUIRE(c->nqs == 4);
	/* "D1:2; D2:1" is split */
	REQUIRE(c->qs[1].nevidence == 2);
	CHECK_STR(c->qs[1].evidence[0], "D1:2");
	CHECK_STR(c->qs[1].evidence[1], "D2:1");
	CHECK_EQ(c->qs[1].category, 1);
	CHECK_EQ(l->stats.split, 1);
	CHECK_EQ(l->stats.missing, 1);       /* D9:9 */
	CHECK_EQ(l->stats.no_evidence, 1);
	CHECK_EQ(l->stats.invalid, 0);
	locomo_free(l);
}

static void test_metric_exact(void)
{
	struct locomo *l = load_mini();
	static const int ks[] = { 1, 2, 5 };
	struct locomo_score s;
	const char *r0[] = { "D1:3", "D1:1" };             /* q0: found at 2 */
	const char *r1[] = { "D2:1", "D2:3", "D1:1", "D1:2", "D2:2" }; /* q1: 1 at 1, 2 at 4 */
	const char *r2[] = { "D2:2" };                     /* q2: 1 of 2 (D9:9 missing) */

	REQUIRE(l);
	locomo_score_init(&s, ks, 3);
	const struct locomo_conv *c = &l->convs[0];
	locomo_score_add(&s, &c->qs[0], r0, 2);
	locomo_score_add(&s, &c->qs[1], r1, 5);
	locomo_score_add(&s, &c->qs[2], r2, 1);
	locomo_score_add(&s, &c->qs[3], r2, 1);            /* no evidence: skipped */
	CHECK_EQ(s.count[0], 3);
	CHECK_EQ(s.skipped, 1);
	CHECK_EQ(s.count[4], 1);
	/* @1: q0 0, q1 .5, q2 .5;  @2: 1, .5, .5;  @5: 1, 1, .5 */
	CHECK(near(locomo_score_mean(&s, 0, 0, false), 1.0 / 3));
	CHECK(near(locomo_score_mean(&s, 0, 1, false), 2.0 / 3));
	CHECK(near(locomo_score_mean(&s, 0, 2, false), 2.5 / 3));
	CHECK(near(locomo_score_mean(&s, 4, 0, false), 0));
	CHECK(near(locomo_score_mean(&s, 4, 1, false), 1));
	CHECK(near(locomo_score_mean(&s, 1, 0, false), 0.5));
	CHECK(near(locomo_score_mean(&s, 2, 2, false), 0.5));
	CHECK(near(locomo_score_mean(&s, 3, 2, false), 0));   /* no question: 0 */
	/* sessions @1: q0 {1} vs {1} → 1; q1 {1,2} vs {2} → .5; q2 {2,9} vs {2} → .5 */
	CHECK(near(locomo_score_mean(&s, 0, 0, true), 2.0 / 3));
	/* @5: q1 sessions {2,1} → 1 */
	CHECK(near(locomo_score_mean(&s, 0, 2, true), 2.5 / 3));
	locomo_free(l);
}

static void test_rejects_bad_shapes(void)
{
	static const char *const bad[] = { "", "{", "{}", "[1]", "[{\"qa\": []}]", "\"x\"" };
	struct locomo *l = NULL;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *why = NULL;

		CHECK(locomo_parse(bad[i], strlen(bad[i]), &l, &why) != KITH_OK);
		CHECK(why != NULL);
		CHECK(l == NULL);
		free(why);
	}
}

static void test_odd_evidence(void)
{
	static const char doc[] =
		"[{\"conversation\": {\"session_1\": [{\"speaker\": \"A\", \"dia_id\": \"D1:1\","
		" \"text\": \"t\"}, {\"speaker\": 1, \"dia_id\": \"D1:2\", \"text\": \"x\"}]},"
		" \"qa\": [{\"question\": \"q\", \"category\": 4,"
		" \"evidence\": [\"D:1:1\", \"D\", \"D1:1, D1:1\", 7]}]}]";
	struct locomo *l = NULL;
	char *why = NULL;

	REQUIRE(locomo_parse(doc, sizeof doc - 1, &l, &why) == KITH_OK);
	CHECK_EQ(l->convs[0].nturns, 1);
	CHECK_EQ(l->stats.bad_turns, 1);
	REQUIRE(l->convs[0].qs[0].nevidence == 1);      /* all the same id */
	CHECK_STR(l->convs[0].qs[0].evidence[0], "D1:1");
	CHECK_EQ(l->stats.repaired, 1);
	CHECK_EQ(l->stats.invalid, 2);                  /* "D" and 7 */
	CHECK_EQ(l->stats.split, 1);
	CHECK_STR(l->convs[0].id, "conv-0");
	locomo_free(l);
}

int main(void)
{
	RUN(test_dates);
	RUN(test_load_mini);
	RUN(test_metric_exact);
	RUN(test_rejects_bad_shapes);
	RUN(test_odd_evidence);
	return test_summary();
}
