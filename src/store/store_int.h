/* store_int.h — what the store's own files share. */
#ifndef KITH_STORE_INT_H
#define KITH_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

struct store {
	sqlite3 *db;
	char *path;
};

struct migration {
	int number;
	const char *name;
	const char *sql;
};

extern const struct migration store_migrations[];
extern const size_t store_migrations_count;

/* Status for a failed sqlite call, with *why naming what we were doing. */
enum kith_status store_fail(struct store *st, char **why, const char *doing);
/* Bind helpers: NULL text binds NULL. */
int store_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Column i of the current row as a heap string (caller frees); NULL for NULL. */
char *store_column_dup(sqlite3_stmt *s, int i);
/* Step a statement that returns no rows, then finalize it. */
enum kith_status store_step_done(struct store *st, sqlite3_stmt *s, char **why,
				 const char *doing);

#endif
