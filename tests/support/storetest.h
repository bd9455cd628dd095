/* storetest.h — a migrated kith store in the test temp dir, for unit tests
 * of store/ and the code above it. */
#ifndef KITH_STORETEST_H
#define KITH_STORETEST_H

struct store;

/* Open (creating) the database file `name` in test_tmpdir() and apply every
 * migration.  On failure the reason is recorded as a test failure; the
 * result may then be NULL.  The caller closes it with store_close(). */
struct store *storetest_open(const char *name);

#endif
