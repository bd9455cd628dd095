/* test_memory_scope.c — memory_scope_for, the scope rule the agent and
 * backfill share: the global id when set, else channel:conversation,
 * hashed when too long (deterministic, distinct, within the limit). */
#include "support/test.h"
#include "memory/memory.h"

#include <string.h>

static void test_scope_rule(void)
{
	char a[MEMORY_SCOPE_MAX + 1], b[MEMORY_SCOPE_MAX + 1];
	char longconv[200];

	memory_scope_for("global", "discord", "123", a);
	CHECK_STR(a, "global");
	memory_scope_for("sel_global", NULL, NULL, a);
	CHECK_STR(a, "sel_global");
	memory_scope_for(NULL, "discord", "123", a);
	CHECK_STR(a, "discord:123");
	memory_scope_for("", "console", "default", a);
	CHECK_STR(a, "console:default");
	memory_scope_for(NULL, NULL, NULL, a);
	CHECK_STR(a, ":");

	memset(longconv, 'x', sizeof(longconv) - 1);
	longconv[sizeof(longconv) - 1] = '\0';
	memory_scope_for(NULL, "discord", longconv, a);
	CHECK(strncmp(a, "conv-", 5) == 0);
	CHECK_EQ(strlen(a), 45);
	memory_scope_for(NULL, "discord", longconv, b);
	CHECK_STR(a, b);
	longconv[0] = 'y';
	memory_scope_for(NULL, "discord", longconv, b);
	CHECK(strcmp(a, b) != 0);
}

int main(void)
{
	RUN(test_scope_rule);
	return test_summary();
}
