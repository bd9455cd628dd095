/* test_heat.c — the heat engine against pinned values.
 *
 * Every expected number was computed outside the C code: by hand (worked in
 * the comments) or with an independent Python re-statement of the rules
 * (penny-digest §3 with the seed's numbers: touch +3.0, ×0.85 per cycle,
 * 3-cycle cooldown, ignore ×0.6, veto to 0), printed with %.17g. */
#include "support/test.h"
#include "mind/heat.h"

#include <math.h>

#define CHECK_NEAR(a, b, eps) \
	do { double a_ = (a), b_ = (b); \
	     if (!(fabs(a_ - b_) <= (eps))) \
		     test_fail_(__FILE__, __LINE__, "%s ~= %s  (%.17g vs %.17g)", #a, #b, a_, b_); \
	} while (0)

static double total(const struct heat_entity *e, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += e[i].heat;
	return s;
}

static void set_heats(struct heat_entity *e, const double *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		e[i].heat = h[i];
		e[i].cooldown = 0;
		e[i].vetoed = false;
	}
}

static void check_heats(const struct heat_entity *e, const double *want, size_t n, double eps,
			const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (!(fabs(e[i].heat - want[i]) <= eps))
			test_fail_(__FILE__, __LINE__, "%s: entity %zu heat %.17g, want %.17g", what, i,
				   e[i].heat, want[i]);
}

static void test_defaults(void)
{
	struct heat_params p;

	heat_params_default(&p);
	CHECK_NEAR(p.touch, 3.0, 0);
	CHECK_NEAR(p.decay, 0.85, 0);
	CHECK_EQ(p.cooldown_cycles, 3);
	CHECK_NEAR(p.ignore_penalty, 0.6, 0);
	CHECK_NEAR(p.radiation_rate, 0.5, 0);
	CHECK_NEAR(p.radiation_threshold, 0.5, 0);
	CHECK_EQ(p.radiation_top_k, 5);
}

static void test_touch(void)
{
	struct heat_params p;
	struct heat_entity e = { 0 };

	heat_params_default(&p);
	heat_touch(&e, &p);
	CHECK_NEAR(e.heat, 3.0, 0);   /* from 0: +3.0 */
	e.heat = 2.5;
	heat_touch(&e, &p);
	CHECK_NEAR(e.heat, 5.5, 1e-15);  /* flat, not diminishing */
	/* During cooldown the user's own engagement still counts. */
	e.cooldown = 2;
	heat_touch(&e, &p);
	CHECK_NEAR(e.heat, 8.5, 1e-15);
	CHECK_EQ(e.cooldown, 2);
}

static void test_decay(void)
{
	struct heat_params p;
	struct heat_entity e = { .heat = 10.0 };

	heat_params_default(&p);
	heat_decay(&e, 1, &p);
	CHECK_NEAR(e.heat, 8.5, 1e-12);
	/* Three cycles at once = 10 × 0.85³ = 6.14125; same as one by one. */
	e.heat = 10.0;
	heat_decay(&e, 3, &p);
	CHECK_NEAR(e.heat, 6.14125, 1e-12);
	e.heat = 10.0;
	for (int i = 0; i < 3; i++)
		heat_decay(&e, 1, &p);
	CHECK_NEAR(e.heat, 6.14125, 1e-12);
	heat_decay(&e, 0, &p);
	heat_decay(&e, -4, &p);
	CHECK_NEAR(e.heat, 6.14125, 1e-12);
	/* Half-life in cycles: 0.85^n = 0.5 at n = ln 0.5 / ln 0.85 ≈ 4.27, so
	 * after 4 cycles more than half remains and after 5 less. */
	e.heat = 1.0;
	heat_decay(&e, 4, &p);
	CHECK(e.heat > 0.5);
	heat_decay(&e, 1, &p);
	CHECK(e.heat < 0.5);
}

static void test_radiation_pair(void)
{
	/* The reference's own example: hot 10 and cold 0 with identical
	 * embeddings end at 5 and 5. */
	static const double sim[] = { 1, 1, 1, 1 };
	struct heat_matrix m = { sim, 2 };
	struct heat_params p;
	struct heat_entity e[2] = { { .heat = 10.0 }, { .heat = 0.0 } };

	heat_params_default(&p);
	heat_radiate(e, 2, heat_matrix_sim, &m, &p);
	CHECK_NEAR(e[0].heat, 5.0, 1e-12);
	CHECK_NEAR(e[1].heat, 5.0, 1e-12);
	/* Equal heats: nothing is strictly cooler, nothing moves. */
	heat_radiate(e, 2, heat_matrix_sim, &m, &p);
	CHECK_NEAR(e[0].heat, 5.0, 0);
	CHECK_NEAR(e[1].heat, 5.0, 0);
}

/* Five entities; the fifth has no embedding (NaN). */
#define NA NAN
static const double sim5[] = {
	1,   .9,  .6,  .4,  NA,
	.9,  1,   .7,  .55, NA,
	.6,  .7,  1,   .5,  NA,
	.4,  .55, .5,  1,   NA,
	NA,  NA,  NA,  NA,  1,
};

static void test_radiation_conserves(void)
{
	/* By hand: 0 (10) gives 5 to 1 (.9) and 2 (.6): 3 and 2 (3 at .4 is
	 * below the threshold).  1 (4) gives 2 to 2 (.7) and 3 (.55): 1.12 and
	 * .88.  2 (2) gives 1 to 3 (.5, the threshold counts).  3 (1) has no
	 * cooler neighbour; 4 has no embedding.  → 5, 5, 4.12, 2.88, 7. */
	static const double h[] = { 10, 4, 2, 1, 7 };
	static const double want[] = { 5, 5, 4.1200000000000001, 2.8799999999999999, 7 };
	struct heat_matrix m = { sim5, 5 };
	struct heat_params p;
	struct heat_entity e[5];

	heat_params_default(&p);
	set_heats(e, h, 5);
	heat_radiate(e, 5, heat_matrix_sim, &m, &p);
	check_heats(e, want, 5, 1e-12, "radiate");
	CHECK_NEAR(total(e, 5), 24.0, 1e-12);

	/* Entity 2 cooling down receives nothing: 0 gives all 5 to 1, 1 gives
	 * 2 to 3 alone, 2 still gives 1 to 3.  → 5, 7, 1, 4, 7. */
	set_heats(e, h, 5);
	e[2].cooldown = 2;
	heat_radiate(e, 5, heat_matrix_sim, &m, &p);
	{
		static const double want_cd[] = { 5, 7, 1, 4, 7 };

		check_heats(e, want_cd, 5, 1e-12, "radiate with cooldown");
	}
	CHECK_NEAR(total(e, 5), 24.0, 1e-12);

	/* The order of the array does not matter: reverse it. */
	{
		static const double hr[] = { 7, 1, 2, 4, 10 };
		double simr[25];
		struct heat_matrix mr = { simr, 5 };

		for (int i = 0; i < 5; i++)
			for (int j = 0; j < 5; j++)
				simr[i * 5 + j] = sim5[(4 - i) * 5 + (4 - j)];
		set_heats(e, hr, 5);
		heat_radiate(e, 5, heat_matrix_sim, &mr, &p);
		for (int i = 0; i < 5; i++)
			CHECK_NEAR(e[i].heat, want[4 - i], 1e-12);
	}
}

static void test_radiation_top_k(void)
{
	/* One source (8) and seven cold neighbours at .95 .9 .85 .8 .75 .7
	 * .65: only the top five (sum 4.25) share the budget 4, so neighbour
	 * j gets 4·sim/4.25 (.95 → 0.894117647…); .7 and .65 get nothing. */
	static const double want[] = { 4, 0.89411764705882346, 0.84705882352941175,
				       0.79999999999999993, 0.75294117647058822,
				       0.70588235294117652, 0, 0 };
	static const double s0[] = { 1, .95, .9, .85, .8, .75, .7, .65 };
	double sim[64] = { 0 };
	struct heat_matrix m = { sim, 8 };
	struct heat_params p;
	struct heat_entity e[8] = { { .heat = 8.0 } };

	for (int j = 0; j < 8; j++) {
		sim[j] = s0[j];
		sim[j * 8] = s0[j];
		sim[j * 8 + j] = 1;
	}
	heat_params_default(&p);
	heat_radiate(e, 8, heat_matrix_sim, &m, &p);
	check_heats(e, want, 8, 1e-12, "top-k");
	CHECK_NEAR(total(e, 8), 8.0, 1e-12);
	/* Orthogonal (below threshold) entities get nothing at all. */
	for (int j = 1; j < 8; j++)
		sim[j] = sim[j * 8] = 0.49;
	for (int j = 0; j < 8; j++)
		e[j].heat = j == 0 ? 8.0 : 0.0;
	heat_radiate(e, 8, heat_matrix_sim, &m, &p);
	CHECK_NEAR(e[0].heat, 8.0, 0);
	CHECK_NEAR(total(e, 8), 8.0, 0);
}

/* A bigger random-ish set: the total stays put to 1e-12 over many cycles
 * of radiation alone. */
static void test_radiation_total_many(void)
{
	enum { N = 40 };
	double sim[N * N];
	struct heat_matrix m = { sim, N };
	struct heat_params p;
	struct heat_entity e[N];
	uint32_t x = 12345;
	double before;

	for (int i = 0; i < N; i++) {
		for (int j = 0; j <= i; j++) {
			x = x * 1103515245u + 12345u;
			sim[i * N + j] = sim[j * N + i] = i == j ? 1.0 : (double)(x >> 8) / 16777216.0;
		}
		x = x * 1103515245u + 12345u;
		e[i].heat = (double)(x >> 16) / 4096.0;
		e[i].cooldown = i % 7 == 0 ? 1 : 0;
		e[i].vetoed = i % 11 == 5;
	}
	heat_params_default(&p);
	before = total(e, N);
	for (int c = 0; c < 50; c++)
		heat_radiate(e, N, heat_matrix_sim, &m, &p);
	CHECK_NEAR(total(e, N), before, 1e-12);
	for (int i = 0; i < N; i++)
		CHECK(e[i].heat >= 0.0);
}

static void test_cooldown(void)
{
	static const double sim[] = { 1 };
	struct heat_matrix m = { sim, 1 };
	struct heat_params p;
	struct heat_entity e = { .heat = 4.0 };

	heat_params_default(&p);
	CHECK(heat_eligible(&e));
	heat_start_cooldown(&e, &p);
	CHECK_EQ(e.cooldown, 3);
	/* Sits out exactly three cycles. */
	for (int c = 1; c <= 3; c++) {
		CHECK(!heat_eligible(&e));
		heat_cycle(&e, 1, heat_matrix_sim, &m, &p);
	}
	CHECK_EQ(e.cooldown, 0);
	CHECK(heat_eligible(&e));
	CHECK_NEAR(e.heat, 4.0 * 0.614125, 1e-12);  /* 0.85³ */
	heat_tick_cooldown(&e);
	CHECK_EQ(e.cooldown, 0);
}

static void test_penalty_and_veto(void)
{
	struct heat_params p;
	struct heat_entity e = { .heat = 10.0 };

	heat_params_default(&p);
	heat_penalize_ignore(&e, &p);
	CHECK_NEAR(e.heat, 6.0, 1e-12);
	heat_penalize_ignore(&e, &p);
	CHECK_NEAR(e.heat, 3.6, 1e-12);
	heat_veto(&e);
	CHECK_NEAR(e.heat, 0.0, 0);
	CHECK(e.vetoed);
	CHECK(!heat_eligible(&e));
	/* A vetoed entity is not warmed by a hot twin… */
	{
		static const double sim[] = { 1, 1, 1, 1 };
		struct heat_matrix m = { sim, 2 };
		struct heat_entity two[2] = { { .heat = 10.0 }, e };

		heat_radiate(two, 2, heat_matrix_sim, &m, &p);
		CHECK_NEAR(two[0].heat, 10.0, 0);
		CHECK_NEAR(two[1].heat, 0.0, 0);
	}
	/* …and only a touch brings it back. */
	heat_touch(&e, &p);
	CHECK(!e.vetoed);
	CHECK_NEAR(e.heat, 3.0, 0);
	CHECK(heat_eligible(&e));
}

static double sim_new4(void *ctx, size_t i)
{
	static const double s[] = { 0.8, 0.3, 0.99, NA };

	(void)ctx;
	return s[i];
}

static double sim_none(void *ctx, size_t i)
{
	(void)ctx;
	(void)i;
	return -0.2;
}

static void test_intrinsic(void)
{
	/* Known heats 6, 2, 0, 4; similarity to the new one .8, .3, .99, NaN.
	 * The third is cold and the fourth has no embedding, so the hot set is
	 * {6, 2}: best .8, mean 4 → 1.0 + 3.2 = 4.2 (relevance .5: 3.7). */
	static const struct heat_entity known[] = { { 6.0, 0, false }, { 2.0, 0, false },
						    { 0.0, 0, false }, { 4.0, 0, false } };
	struct heat_params p;

	heat_params_default(&p);
	CHECK_NEAR(heat_intrinsic(known, 4, sim_new4, NULL, HEAT_NO_RELEVANCE, &p),
		   4.2000000000000002, 1e-12);
	CHECK_NEAR(heat_intrinsic(known, 4, sim_new4, NULL, 0.5, &p), 3.7000000000000002, 1e-12);
	/* The reference's cases: nothing known → the novelty base 1.0;
	 * relevance 0.5 → 0.5; relevance 0 → 0. */
	CHECK_NEAR(heat_intrinsic(NULL, 0, sim_new4, NULL, HEAT_NO_RELEVANCE, &p), 1.0, 0);
	CHECK_NEAR(heat_intrinsic(NULL, 0, sim_new4, NULL, 0.5, &p), 0.5, 0);
	CHECK_NEAR(heat_intrinsic(NULL, 0, sim_new4, NULL, 0.0, &p), 0.0, 0);
	/* Only negative similarity to hot ones: no inheritance. */
	CHECK_NEAR(heat_intrinsic(known, 4, sim_none, NULL, HEAT_NO_RELEVANCE, &p), 1.0, 0);
}

static void test_scores(void)
{
	struct heat_params p;
	struct heat_entity e[] = { { 2.0, 0, false }, { 5.0, 1, false }, { 3.0, 0, false },
				   { 3.0, 0, false }, { 9.0, 0, true }, { 0.0, 0, false } };
	bool news[] = { true, true, false, true, true, true };
	size_t order[6];

	heat_params_default(&p);
	/* 1 is cooling, 4 vetoed, 5 cold: 2 and 3 tie at 3.0 → the lower. */
	CHECK_EQ(heat_hottest(e, 6, NULL), 2);
	CHECK_EQ(heat_hottest(e, 6, news), 3);   /* 2 has no news */
	e[3].cooldown = 1;
	CHECK_EQ(heat_hottest(e, 6, news), 0);
	e[0].heat = 0.0;
	CHECK_EQ(heat_hottest(e, 6, news), 6);   /* none */
	e[0].heat = 2.0;
	e[3].cooldown = 0;
	heat_rank(e, 6, order);
	{
		static const size_t want[] = { 4, 1, 2, 3, 0, 5 };

		for (int i = 0; i < 6; i++)
			CHECK_EQ(order[i], want[i]);
	}
	/* Enrichment: heat ÷ facts, 0 facts counts as 1, below 0.3 excluded. */
	CHECK_NEAR(heat_enrich_priority(3.0, 4, &p), 0.75, 1e-15);
	CHECK_NEAR(heat_enrich_priority(3.0, 0, &p), 3.0, 0);
	CHECK_NEAR(heat_enrich_priority(0.3, 1, &p), 0.3, 0);
	CHECK(heat_enrich_priority(0.29, 1, &p) < 0);
	CHECK(heat_enrich_priority(NAN, 1, &p) < 0);
	/* Events: 2.5 + 2^(−12/24) = 3.2071067811865475. */
	CHECK_NEAR(heat_event_score(2.5, 12, 24), 3.2071067811865475, 1e-12);
	CHECK_NEAR(heat_event_score(1.0, -3, 24), 2.0, 0);
	CHECK_NEAR(heat_event_score(1.0, 5, 0), 1.0, 0);
	/* Legacy: .7·2^(−7/14) − .8 + .2·2^(−28/14) = −0.25502525316941677. */
	{
		static const struct heat_engagement g[] = { { 1, 0.7, 7 }, { -1, 0.8, -2 },
							    { 1, 0.2, 28 }, { 0, 0.9, 0 } };

		CHECK_NEAR(heat_engagement_score(g, 4, 14), -0.25502525316941677, 1e-12);
	}
}

static void test_sanitize(void)
{
	struct heat_entity e = { NAN, -2, false };

	heat_sanitize(&e);
	CHECK_NEAR(e.heat, 0, 0);
	CHECK_EQ(e.cooldown, 0);
	e.heat = -1;
	heat_sanitize(&e);
	CHECK_NEAR(e.heat, 0, 0);
	e.heat = INFINITY;
	heat_sanitize(&e);
	CHECK_NEAR(e.heat, 0, 0);
}

/* Four entities A B C D over four notification cycles, as the agent would
 * drive them.  Python: decay → radiate → tick each cycle. */
static void test_scenario(void)
{
	static const double sim[] = {
		1, .8, .2, .6,
		.8, 1, .5, .1,
		.2, .5, 1, .3,
		.6, .1, .3, 1,
	};
	struct heat_matrix m = { sim, 4 };
	struct heat_params p;
	struct heat_entity e[4] = { { 0 } };

	heat_params_default(&p);
	heat_touch(&e[0], &p);           /* A mentioned twice */
	heat_touch(&e[0], &p);
	e[2].heat = heat_intrinsic(e, 0, sim_new4, NULL, HEAT_NO_RELEVANCE, &p);  /* C new: 1.0 */
	CHECK_NEAR(e[2].heat, 1.0, 0);

	/* Cycle 1 by hand: decay → 5.1, 0, .85, 0.  A gives 2.55 to B (.8)
	 * and D (.6): 1.457142…, 1.092857…; C gives .425 to B (.5).  */
	heat_cycle(e, 4, heat_matrix_sim, &m, &p);
	{
		static const double w[] = { 2.5499999999999998, 1.8821428571428573,
					    0.42499999999999999, 1.0928571428571427 };
		check_heats(e, w, 4, 1e-12, "cycle 1");
	}
	CHECK_EQ(heat_hottest(e, 4, NULL), 0);
	heat_start_cooldown(&e[0], &p);  /* A notified */
	heat_cycle(e, 4, heat_matrix_sim, &m, &p);
	{
		static const double w[] = { 1.08375, 1.4191964285714287, 1.1611607142857143,
					    1.3933928571428571 };
		check_heats(e, w, 4, 1e-12, "cycle 2");
	}
	CHECK_EQ(e[0].cooldown, 2);
	CHECK_EQ(heat_hottest(e, 4, NULL), 1);
	heat_penalize_ignore(&e[0], &p);  /* A's notification was ignored */
	heat_touch(&e[3], &p);            /* D came up in conversation */
	heat_cycle(e, 4, heat_matrix_sim, &m, &p);
	{
		static const double w[] = { 0.55271249999999994, 0.60315848214285717,
					    1.5901450892857143, 3.734383928571428 };
		check_heats(e, w, 4, 1e-12, "cycle 3");
	}
	CHECK_EQ(e[0].cooldown, 1);
	heat_veto(&e[1]);                 /* thumbs-down on B */
	heat_cycle(e, 4, heat_matrix_sim, &m, &p);
	{
		static const double w[] = { 0.46980562499999995, 0, 1.3516233258928572,
					    3.1742263392857137 };
		check_heats(e, w, 4, 1e-12, "cycle 4");
	}
	CHECK_EQ(e[0].cooldown, 0);
	CHECK_NEAR(total(e, 4), 4.9956552901785711, 1e-12);
	CHECK_EQ(heat_hottest(e, 4, NULL), 3);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_touch);
	RUN(test_decay);
	RUN(test_radiation_pair);
	RUN(test_radiation_conserves);
	RUN(test_radiation_top_k);
	RUN(test_radiation_total_many);
	RUN(test_cooldown);
	RUN(test_penalty_and_veto);
	RUN(test_intrinsic);
	RUN(test_scores);
	RUN(test_sanitize);
	RUN(test_scenario);
	return test_summary();
}
