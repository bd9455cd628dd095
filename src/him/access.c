/* access.c — batched access notes for usage-based scoring.
 *
 * Every served read counts as an access (hotness and recency in the
 * planner, pins in the cache).  Writing each one to SQLite made every GET a
 * write transaction, and concurrent readers queued behind SQLite's single
 * writer.  Notes are collected here instead and written in one transaction
 * once 256 tiles are pending or the oldest note is a second old; one thread
 * flushes at a time while the others keep collecting. */
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <string.h>

#define FLUSH_AT 256
#define FLUSH_AGE_MS 1000

struct note {
	char tile_id[HIM_ID_HEX + 1];
	int64_t count;
	int64_t last_ms;
};

struct him_access {
	pthread_mutex_t mu;
	struct note *notes;
	size_t n, cap;
	int64_t oldest_ms;
	bool flushing;
};

struct him_access *him_access_new(void)
{
	struct him_access *a = xcalloc(1, sizeof(*a));

	pthread_mutex_init(&a->mu, NULL);
	return a;
}

void him_access_free(struct him_access *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a->notes);
	free(a);
}

static void write_notes(struct him *h, const struct note *notes, size_t n)
{
	sqlite3 *db = him_db_acquire(h);
	sqlite3_stmt *s = NULL;

	if (!db)
		return;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "UPDATE tiles SET access_count = access_count + ?,"
			       " last_access = MAX(last_access, ?) WHERE tile_id = ?", -1, &s,
			       NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(s, 1, notes[i].count);
		sqlite3_bind_int64(s, 2, notes[i].last_ms);
		sqlite3_bind_text(s, 3, notes[i].tile_id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			log_debug("him", "access to %s not recorded: %s", notes[i].tile_id,
				  sqlite3_errmsg(db));
		sqlite3_reset(s);
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_debug("him", "access notes not recorded: %s", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
out:
	sqlite3_finalize(s);
	him_db_release(h, db);
}

/* Take the pending notes if nobody else is flushing; caller holds mu. */
static struct note *take_locked(struct him_access *a, size_t *n)
{
	struct note *notes = a->notes;

	*n = a->n;
	a->notes = NULL;
	a->n = a->cap = 0;
	a->flushing = true;
	return notes;
}

static void flush_taken(struct him *h, struct note *notes, size_t n)
{
	struct him_access *a = h->access;

	if (n)
		write_notes(h, notes, n);
	free(notes);
	pthread_mutex_lock(&a->mu);
	a->flushing = false;
	pthread_mutex_unlock(&a->mu);
}

void him_note_access(struct him *h, const char *tile_id)
{
	struct him_access *a = h->access;
	int64_t now = clock_now_ms();
	struct note *taken = NULL;
	size_t ntaken = 0, i;
	bool flush = false;

	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->n && strcmp(a->notes[i].tile_id, tile_id) != 0; i++)
		;
	if (i == a->n) {
		a->notes = xgrow(a->notes, &a->cap, a->n + 1, sizeof(*a->notes));
		snprintf(a->notes[i].tile_id, sizeof(a->notes[i].tile_id), "%s", tile_id);
		a->notes[i].count = 0;
		if (a->n++ == 0)
			a->oldest_ms = now;
	}
	a->notes[i].count++;
	a->notes[i].last_ms = now;
	if (!a->flushing && (a->n >= FLUSH_AT || now - a->oldest_ms >= FLUSH_AGE_MS)) {
		taken = take_locked(a, &ntaken);
		flush = true;
	}
	pthread_mutex_unlock(&a->mu);
	if (flush)
		flush_taken(h, taken, ntaken);
}

void him_access_flush(struct him *h)
{
	struct him_access *a = h->access;
	struct note *taken;
	size_t n;

	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	if (a->flushing) {
		pthread_mutex_unlock(&a->mu);
		return;
	}
	taken = take_locked(a, &n);
	pthread_mutex_unlock(&a->mu);
	flush_taken(h, taken, n);
}
