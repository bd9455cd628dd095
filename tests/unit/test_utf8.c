/* test_utf8.c — cutting text on character boundaries. */
#include "support/test.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

static void test_prefix(void)
{
	const char *ascii = "hello", *mixed = "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80";

	CHECK_EQ(utf8_prefix(ascii, 5, 10), 5);
	CHECK_EQ(utf8_prefix(ascii, 5, 5), 5);
	CHECK_EQ(utf8_prefix(ascii, 5, 3), 3);
	CHECK_EQ(utf8_prefix(ascii, 5, 0), 0);
	/* a é b € c 😀 : bytes 1, 2, 1, 3, 1, 4 */
	CHECK_EQ(utf8_prefix(mixed, strlen(mixed), 2), 1);    /* inside é */
	CHECK_EQ(utf8_prefix(mixed, strlen(mixed), 3), 3);    /* after é */
	CHECK_EQ(utf8_prefix(mixed, strlen(mixed), 5), 4);    /* inside € */
	CHECK_EQ(utf8_prefix(mixed, strlen(mixed), 6), 4);
	CHECK_EQ(utf8_prefix(mixed, strlen(mixed), 7), 7);
	CHECK_EQ(utf8_prefix(mixed, strlen(mixed), 11), 8);   /* inside 😀 */
	CHECK_EQ(utf8_prefix(mixed, strlen(mixed), 12), 12);
	/* Only continuation bytes: nothing is a safe cut but 0. */
	CHECK_EQ(utf8_prefix("\x80\x80\x80", 3, 2), 0);
}

static void test_dup(void)
{
	char *s = utf8_dup_max("caf\xC3\xA9!", 4);

	CHECK_STR(s, "caf");
	free(s);
	s = utf8_dup_max("short", 100);
	CHECK_STR(s, "short");
	free(s);
	CHECK(utf8_dup_max(NULL, 3) == NULL);
}

int main(void)
{
	RUN(test_prefix);
	RUN(test_dup);
	return test_summary();
}
