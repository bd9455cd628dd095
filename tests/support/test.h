/* test.h — the in-house unit-test harness.
 *
 * A test file defines `static void test_x(void)` functions and a main that
 * calls RUN(test_x) for each, then `return test_summary();`.  CHECK* record
 * a failure (file:line and the expression) and carry on, so one run shows
 * every broken expectation.  The summary line "N passed, N failed" is what
 * CI reads. */
#ifndef KITH_TEST_H
#define KITH_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

extern int test_failures_in_case_;

void test_fail_(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void test_run_(const char *name, void (*fn)(void));
int test_summary(void);

/* A fresh, empty temporary directory for this test process (removed at
 * exit); the returned string lives until exit. */
const char *test_tmpdir(void);
/* Path of a file that lives in test_tmpdir(); caller frees. */
char *test_path(const char *name);

#define RUN(fn) test_run_(#fn, fn)

#define CHECK(cond) \
	do { if (!(cond)) test_fail_(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)
#define CHECK_INT(a, op, b) \
	do { long long a_ = (long long)(a), b_ = (long long)(b); \
	     if (!(a_ op b_)) test_fail_(__FILE__, __LINE__, "%s %s %s  (%lld vs %lld)", \
					 #a, #op, #b, a_, b_); } while (0)
#define CHECK_EQ(a, b) CHECK_INT(a, ==, b)
#define CHECK_STR(a, b) \
	do { const char *a_ = (a), *b_ = (b); \
	     if (!a_ || !b_ || strcmp(a_, b_) != 0) \
		     test_fail_(__FILE__, __LINE__, "%s == %s  (\"%s\" vs \"%s\")", #a, #b, \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define CHECK_CONTAINS(hay, needle) \
	do { const char *h_ = (hay), *n_ = (needle); \
	     if (!h_ || !strstr(h_, n_)) \
		     test_fail_(__FILE__, __LINE__, "%s contains \"%s\"  (got \"%s\")", #hay, n_, \
				h_ ? h_ : "(null)"); } while (0)
/* Stop the current test case when a precondition fails. */
#define REQUIRE(cond) \
	do { if (!(cond)) { test_fail_(__FILE__, __LINE__, "REQUIRE(%s)", #cond); return; } } while (0)

#endif
