/* himstore.c — in-process HIM helpers for unit tests. */
#include "support/himstore.h"
#include "support/test.h"

#include <stdlib.h>

struct him *him_test_open(const char *name)
{
	char *dir = test_path(name);
	struct him_options o = { .dir = dir };
	struct him *h = NULL;
	char *why = NULL;

	if (him_open(&o, &h, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "him_open: %s", why ? why : "?");
	free(why);
	free(dir);
	return h;
}

void him_test_snapshot(struct him *h, const char *id)
{
	struct him_snapshot in = { .snapshot_id = (char *)id };
	char *why = NULL;

	in.provenance = json_pack("{s:s, s:s}", "model", "m", "code_sha", "c");
	if (him_snapshot_create(h, &in, NULL, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "snapshot %s: %s", id, why ? why : "?");
	json_decref(in.provenance);
	free(why);
}
