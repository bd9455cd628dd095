/* himstore.h — an in-process HIM store for unit tests. */
#ifndef KITH_HIMSTORE_H
#define KITH_HIMSTORE_H

#include "him/him.h"

/* Open a store in test_tmpdir()/name (NULL and a test failure on error). */
struct him *him_test_open(const char *name);
/* Create snapshot `id` with a minimal provenance (model "m"). */
void him_test_snapshot(struct him *h, const char *id);

#endif
