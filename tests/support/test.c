/* test.c — harness state, summary and temporary directories. */
#include "support/test.h"
#include "core/alloc.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int test_failures_in_case_;
static int passed, failed;
static const char *current;
static char *tmpdir;

void test_fail_(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  FAIL %s (%s:%d): ", current ? current : "?", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	test_failures_in_case_++;
}

void test_run_(const char *name, void (*fn)(void))
{
	current = name;
	test_failures_in_case_ = 0;
	fn();
	if (test_failures_in_case_) {
		failed++;
		fprintf(stderr, "not ok - %s\n", name);
	} else {
		passed++;
		fprintf(stderr, "ok - %s\n", name);
	}
	current = NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void rm_tmpdir(void)
{
	if (tmpdir && !getenv("KITH_KEEP_TMP"))
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
	if (!tmpdir) {
		const char *base = getenv("TMPDIR");

		tmpdir = xasprintf("%s/kith-test-XXXXXX", base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			abort();
		}
		atexit(rm_tmpdir);
	}
	return tmpdir;
}

char *test_path(const char *name)
{
	return xasprintf("%s/%s", test_tmpdir(), name);
}

int test_summary(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}
