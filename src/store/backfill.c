/* backfill.c — the progress rows of `kith backfill`, one per channel.
 *
 * The row is replaced whole after every batch the backfill stores, so what
 * it says is always a point the backfill fully reached: an interruption
 * between a batch and its row costs re-reading that batch, which memory/
 * deduplicates, never a gap. */
#include "store/store_int.h"
#include "core/clock.h"

#include <string.h>

void store_backfill_release(struct store_backfill *b)
{
	if (!b)
		return;
	free(b->channel_id);
	free(b->cursor);
	free(b->top);
	free(b->floor);
	memset(b, 0, sizeof(*b));
}

enum kith_status store_backfill_get(struct store *st, const char *channel_id,
				    struct store_backfill *out, char **why)
{
	static const char sql[] =
		"SELECT channel_id, cursor, top, floor, done, messages, memories, updated_at"
		" FROM backfill WHERE channel_id = ?";
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int r;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading backfill progress");
	store_bind_text(s, 1, channel_id);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		out->channel_id = store_column_dup(s, 0);
		out->cursor = store_column_dup(s, 1);
		out->top = store_column_dup(s, 2);
		out->floor = store_column_dup(s, 3);
		out->done = sqlite3_column_int(s, 4) != 0;
		out->messages = sqlite3_column_int64(s, 5);
		out->memories = sqlite3_column_int64(s, 6);
		out->updated_at = sqlite3_column_int64(s, 7);
	} else if (r == SQLITE_DONE) {
		rc = kith_why(why, KITH_ENOTFOUND, "no backfill progress for channel %s", channel_id);
	} else {
		rc = store_fail(st, why, "reading backfill progress");
	}
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_backfill_put(struct store *st, const struct store_backfill *b,
				    char **why)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO backfill"
		" (channel_id, cursor, top, floor, done, messages, memories, updated_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *s = NULL;

	if (!b->channel_id || !*b->channel_id)
		return kith_why(why, KITH_EINVAL, "backfill progress needs a channel id");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "saving backfill progress");
	store_bind_text(s, 1, b->channel_id);
	store_bind_text(s, 2, b->cursor);
	store_bind_text(s, 3, b->top);
	store_bind_text(s, 4, b->floor);
	sqlite3_bind_int(s, 5, b->done ? 1 : 0);
	sqlite3_bind_int64(s, 6, b->messages);
	sqlite3_bind_int64(s, 7, b->memories);
	sqlite3_bind_int64(s, 8, clock_now_ms());
	return store_step_done(st, s, why, "saving backfill progress");
}

enum kith_status store_backfill_forget(struct store *st, const char *channel_id, size_t *n,
				       char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	if (n)
		*n = 0;
	if (sqlite3_prepare_v2(st->db,
			       channel_id ? "DELETE FROM backfill WHERE channel_id = ?"
					  : "DELETE FROM backfill",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "forgetting backfill progress");
	if (channel_id)
		store_bind_text(s, 1, channel_id);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_fail(st, why, "forgetting backfill progress");
	else if (n)
		*n = (size_t)sqlite3_changes(st->db);
	sqlite3_finalize(s);
	return rc;
}
