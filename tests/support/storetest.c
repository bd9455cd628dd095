/* storetest.c — open a migrated store for a unit test. */
#include "support/storetest.h"
#include "support/test.h"
#include "store/store.h"

#include <stdlib.h>

struct store *storetest_open(const char *name)
{
	char *path = test_path(name);
	struct store *st = NULL;
	char *why = NULL;

	if (store_open(path, &st, &why) != KITH_OK || store_migrate(st, NULL, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "store %s: %s", name, why ? why : "?");
	free(why);
	free(path);
	return st;
}
