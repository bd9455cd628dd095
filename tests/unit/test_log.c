/* test_log.c — levels and secret masking. */
#include "support/test.h"
#include "core/alloc.h"
#include "core/log.h"

#include <stdio.h>
#include <unistd.h>

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	static char text[8192];
	size_t n;

	if (!f)
		return xstrdup("");
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return xstrdup(text);
}

static void test_secrets_never_reach_the_sink(void)
{
	char *path = test_path("log.txt");
	char *why = NULL, *text, *masked;

	log_set_stderr_level(LOG_OFF);
	REQUIRE(log_open_file(path, LOG_DEBUG, 0, 0, &why) == KITH_OK);
	log_add_secret("sk-or-v1-abcdef123456");
	log_add_secret("abc");   /* too short to mask safely: ignored */
	log_info("test", "calling https://x/?key=%s now", "sk-or-v1-abcdef123456");
	log_debug("test", "twice: %s %s", "sk-or-v1-abcdef123456", "sk-or-v1-abcdef123456");
	log_close();
	text = read_file(path);
	CHECK(!strstr(text, "sk-or-v1-abcdef123456"));
	CHECK_CONTAINS(text, "key=**** now");
	CHECK_CONTAINS(text, "twice: **** ****");
	CHECK_CONTAINS(text, "[test]");
	masked = log_mask("abc stays");
	CHECK_STR(masked, "abc stays");
	free(masked);
	/* A removed secret (a replaced token) is no longer masked; others are. */
	log_add_secret("ghs_old_installation_token");
	log_remove_secret("sk-or-v1-abcdef123456");
	masked = log_mask("sk-or-v1-abcdef123456 ghs_old_installation_token");
	CHECK_STR(masked, "sk-or-v1-abcdef123456 ****");
	free(masked);
	free(text);
	free(path);
	log_clear_secrets();
}

static void test_levels(void)
{
	char *path = test_path("levels.txt");
	char *why = NULL, *text;
	enum log_level l;

	CHECK(log_level_parse("WARNING", &l) && l == LOG_WARN);
	CHECK(log_level_parse("debug", &l) && l == LOG_DEBUG);
	CHECK(!log_level_parse("loud", &l));
	log_set_stderr_level(LOG_OFF);
	REQUIRE(log_open_file(path, LOG_WARN, 0, 0, &why) == KITH_OK);
	log_info("t", "hidden");
	log_warn("t", "shown");
	log_close();
	text = read_file(path);
	CHECK(!strstr(text, "hidden"));
	CHECK_CONTAINS(text, "WARN  [t] shown");
	free(text);
	free(path);
}

static void test_rotation_keeps_backups(void)
{
	char *path = test_path("rot.log"), *p1 = test_path("rot.log.1"), *p2 = test_path("rot.log.2");
	char *p3 = test_path("rot.log.3"), *why = NULL, *text;

	log_set_stderr_level(LOG_OFF);
	REQUIRE(log_open_file(path, LOG_INFO, 400, 2, &why) == KITH_OK);
	for (int i = 0; i < 40; i++)
		log_info("rot", "line %02d of a log that must be rotated", i);
	log_close();
	text = read_file(path);
	CHECK_CONTAINS(text, "line 39");
	CHECK(strlen(text) <= 400);
	free(text);
	text = read_file(p1);
	CHECK_CONTAINS(text, "line");
	free(text);
	CHECK(access(p2, F_OK) == 0);
	CHECK(access(p3, F_OK) != 0);   /* only two backups kept */
	free(path);
	free(p1);
	free(p2);
	free(p3);
}

int main(void)
{
	RUN(test_secrets_never_reach_the_sink);
	RUN(test_levels);
	RUN(test_rotation_keeps_backups);
	return test_summary();
}
