/* store_int.h — what the store's own files share. */
#ifndef KITH_STORE_INT_H
#define KITH_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* An optional row id: 0 binds NULL. */
void store_bind_id(sqlite3_stmt *s, int i, int64_t v);
/* Embeddings are float32 vectors kept as little-endian BLOBs with no
 * header, so the dimension is bytes / 4.  NULL or dim 0 binds NULL. */
void store_bind_vec(sqlite3_stmt *s, int i, const float *v, size_t dim);
/* Column i as a heap vector (caller frees) with *dim set; NULL and *dim 0
 * for NULL or an empty BLOB. */
float *store_column_vec(sqlite3_stmt *s, int i, size_t *dim);
/* Step a statement that returns no rows, then finalize it. */
enum kith_status store_step_done(struct store *st, sqlite3_stmt *s, char **why,
				 const char *doing);
/* Step an INSERT, set *id (when id is not NULL) to the new row's id, then
 * finalize it. */
enum kith_status store_step_insert(struct store *st, sqlite3_stmt *s, int64_t *id, char **why,
				   const char *doing);
/* Step a query for its next row: true while there is one.  At the end s is
 * finalized and *rc is KITH_OK, or store_fail's status when a step failed
 * (the caller then drops the rows it kept):
 *     while (store_next_row(st, s, &rc, why, "reading things")) { … } */
bool store_next_row(struct store *st, sqlite3_stmt *s, enum kith_status *rc, char **why,
		    const char *doing);
/* Read every row of a prepared "SELECT id, user, follow_prompt_id, headline,
 * summary, url, published_at, created_at, notified_at[, embedding] FROM
 * events …" into *out (the embedding when the 10th column is there), then
 * finalize it.  *out and *n must start empty. */
struct store_event;
enum kith_status store_events_read(struct store *st, sqlite3_stmt *s, struct store_event **out,
				   size_t *n, char **why);

#endif
