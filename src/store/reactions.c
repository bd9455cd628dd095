/* reactions.c — emoji reactions, and the platform ids of kith's own sent
 * messages that let a reaction find what it was about. */
#include "store/store_int.h"
#include "core/alloc.h"
#include "core/clock.h"

enum kith_status store_message_set_external_id(struct store *st, int64_t id,
					       const char *external_id, char **why)
{
	static const char sql[] = "UPDATE messages SET external_id = ? WHERE id = ?";
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "recording a sent message's id");
	store_bind_text(s, 1, external_id);
	sqlite3_bind_int64(s, 2, id);
	return store_step_done(st, s, why, "recording a sent message's id");
}

enum kith_status store_reaction_add(struct store *st, const struct new_reaction *r,
				    int64_t *id, int64_t *target, char **why)
{
	static const char sql[] =
		"INSERT INTO reactions(channel, conversation, author_id, emoji, target_external_id,"
		" target_message_id, removed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *s = NULL;
	int64_t msg = 0;
	enum kith_status rc;

	if (!r->channel || !r->conversation || !r->author_id || !r->emoji || !*r->emoji)
		return kith_why(why, KITH_EINVAL, "a reaction needs a channel, conversation, "
				"author and emoji");
	if (r->target_external_id && *r->target_external_id) {
		rc = store_message_find_quoted(st, r->channel, r->conversation, r->target_external_id,
					       NULL, &msg, why);
		if (rc)
			return rc;
	}
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "recording a reaction");
	store_bind_text(s, 1, r->channel);
	store_bind_text(s, 2, r->conversation);
	store_bind_text(s, 3, r->author_id);
	store_bind_text(s, 4, r->emoji);
	store_bind_text(s, 5, r->target_external_id);
	if (msg)
		sqlite3_bind_int64(s, 6, msg);
	sqlite3_bind_int(s, 7, r->removed ? 1 : 0);
	sqlite3_bind_int64(s, 8, r->created_at ? r->created_at : clock_now_ms());
	rc = store_step_done(st, s, why, "recording a reaction");
	if (!rc && id)
		*id = sqlite3_last_insert_rowid(st->db);
	if (target)
		*target = msg;
	return rc;
}

enum kith_status store_reactions_unprocessed(struct store *st, size_t limit,
					     struct store_reaction **out, size_t *n, char **why)
{
	static const char sql[] =
		"SELECT id, channel, conversation, author_id, emoji, target_message_id, removed,"
		" created_at FROM reactions WHERE processed = 0 ORDER BY id LIMIT ?";
	sqlite3_stmt *s = NULL;
	struct store_reaction *rows = NULL;
	size_t count = 0, cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading reactions");
	sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	while (store_next_row(st, s, &rc, why, "reading reactions")) {
		struct store_reaction *r;

		rows = xgrow(rows, &cap, count + 1, sizeof(*rows));
		r = &rows[count++];
		r->id = sqlite3_column_int64(s, 0);
		r->channel = store_column_dup(s, 1);
		r->conversation = store_column_dup(s, 2);
		r->author_id = store_column_dup(s, 3);
		r->emoji = store_column_dup(s, 4);
		r->target_message_id = sqlite3_column_int64(s, 5);
		r->removed = sqlite3_column_int(s, 6) != 0;
		r->created_at = sqlite3_column_int64(s, 7);
	}
	if (rc) {
		store_reactions_free(rows, count);
		return rc;
	}
	*out = rows;
	*n = count;
	return KITH_OK;
}

enum kith_status store_reaction_mark_processed(struct store *st, int64_t id, char **why)
{
	static const char sql[] = "UPDATE reactions SET processed = 1 WHERE id = ?";
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "marking a reaction read");
	sqlite3_bind_int64(s, 1, id);
	return store_step_done(st, s, why, "marking a reaction read");
}

void store_reactions_free(struct store_reaction *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].channel);
		free(r[i].conversation);
		free(r[i].author_id);
		free(r[i].emoji);
	}
	free(r);
}
