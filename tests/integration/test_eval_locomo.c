/* test_eval_locomo.c — `kith eval locomo` end to end on the hand-written
 * tests/data/locomo-mini.json with the hashing embedder: the JSON report,
 * exact figures where they do not depend on ranking (at k = 50 every turn
 * of the six is retrieved), the table, and usage errors. */
#include "support/test.h"
#include "support/itest.h"
#include "core/alloc.h"
#include "core/json.h"

#include <math.h>
#include <stdlib.h>

static char *mini_path(void)
{
	const char *dir = getenv("KITH_TEST_DATA");
	return xasprintf("%s/locomo-mini.json", dir && *dir ? dir : "tests/data");
}

static double at(json_t *o, const char *table, const char *cat, const char *k)
{
	json_t *v = json_object_get(kjson_obj(kjson_obj(o, table), cat), k);
	return json_is_number(v) ? json_number_value(v) : -1;
}

static void test_json_report(void)
{
	struct kith_env e;
	struct proc_result r;
	char *path = mini_path();
	json_t *o;

	kith_env_init(&e, "eval-json");
	REQUIRE(kith_run(&e, NULL, &r, "eval", "locomo", path, "--json", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	o = kjson_parse(r.out, strlen(r.out), NULL);
	REQUIRE(o);
	CHECK_STR(kjson_str(o, "embedder"), "hash-v1:384");
	long long q = 0;
	CHECK(kjson_int(o, "questions", &q) && q == 3);
	/* @50: q1 1, q2 1, q3 1/2 (D9:9 is no turn) */
	CHECK(fabs(at(o, "recall", "overall", "50") - 2.5 / 3) < 1e-9);
	CHECK(fabs(at(o, "session_recall", "overall", "50") - 2.5 / 3) < 1e-9);
	CHECK(fabs(at(o, "recall", "single-hop", "50") - 1) < 1e-9);
	double r5 = at(o, "recall", "overall", "5");
	CHECK(r5 >= 0 && r5 <= 2.5 / 3 + 1e-9);
	/* the puppy's name is found first */
	CHECK(fabs(at(o, "recall", "single-hop", "5") - 1) < 1e-9);
	long long split = 0, missing = 0, none = 0;
	json_t *mal = kjson_obj(o, "malformed");
	CHECK(kjson_int(mal, "split", &split) && split == 1);
	CHECK(kjson_int(mal, "missing", &missing) && missing == 1);
	CHECK(kjson_int(mal, "no_evidence", &none) && none == 1);
	json_decref(o);
	proc_result_release(&r);
	kith_env_release(&e);
	free(path);
}

static void test_table_and_usage(void)
{
	struct kith_env e;
	struct proc_result r;
	char *path = mini_path();

	kith_env_init(&e, "eval-table");
	REQUIRE(kith_run(&e, NULL, &r, "eval", "locomo", path, "--k", "1,3", "--category", "4",
			 NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_CONTAINS(r.out, "4 single-hop");
	CHECK_CONTAINS(r.out, "overall");
	CHECK_CONTAINS(r.out, "@3");
	CHECK_CONTAINS(r.out, "skipped/malformed");
	proc_result_release(&r);

	REQUIRE(kith_run(&e, NULL, &r, "eval", "locomo", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	proc_result_release(&r);
	REQUIRE(kith_run(&e, NULL, &r, "eval", "locomo", path, "--k", "0", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	proc_result_release(&r);
	REQUIRE(kith_run(&e, NULL, &r, "eval", "locomo", "/nonexistent/x.json", NULL) == 0);
	CHECK_EQ(r.exit_code, 1);
	CHECK_CONTAINS(r.err, "x.json");
	proc_result_release(&r);
	kith_env_release(&e);
	free(path);
}

int main(void)
{
	RUN(test_json_report);
	RUN(test_table_and_usage);
	return test_summary();
}
