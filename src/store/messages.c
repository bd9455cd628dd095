/* messages.c — the messages table: every message in and out of kith. */
#include "store/store_int.h"
#include "core/alloc.h"
#include "core/clock.h"

static const char *const direction_names[] = { "incoming", "outgoing" };

enum kith_status store_message_add(struct store *st, const struct new_message *m,
				   int64_t *id, char **why)
{
	static const char sql[] =
		"INSERT INTO messages(direction, channel, conversation, author_id, author_name,"
		" content, external_id, parent_id, created_at, stored_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int64_t now = clock_now_ms();

	if (!m->channel || !m->conversation || !m->author_id || !m->content)
		return kith_why(why, KITH_EINVAL, "message lacks channel, conversation, author or content");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "saving a message");
	sqlite3_bind_text(s, 1, direction_names[m->direction == MSG_OUTGOING], -1, SQLITE_STATIC);
	store_bind_text(s, 2, m->channel);
	store_bind_text(s, 3, m->conversation);
	store_bind_text(s, 4, m->author_id);
	store_bind_text(s, 5, m->author_name);
	store_bind_text(s, 6, m->content);
	store_bind_text(s, 7, m->external_id);
	if (m->parent_id > 0)
		sqlite3_bind_int64(s, 8, m->parent_id);
	else
		sqlite3_bind_null(s, 8);
	sqlite3_bind_int64(s, 9, m->created_at ? m->created_at : now);
	sqlite3_bind_int64(s, 10, now);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_fail(st, why, "saving a message");
	else if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_messages_recent(struct store *st, const char *channel,
				       const char *conversation, size_t limit,
				       struct store_message **out, size_t *n, char **why)
{
	/* Newest `limit` rows, then flipped to oldest-first for prompts. */
	static const char sql[] =
		"SELECT id, direction, channel, conversation, author_id, author_name, content,"
		" external_id, parent_id, created_at FROM messages"
		" WHERE channel = ? AND conversation = ? ORDER BY created_at DESC, id DESC LIMIT ?";
	sqlite3_stmt *s = NULL;
	struct store_message *rows = NULL;
	size_t count = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading messages");
	store_bind_text(s, 1, channel);
	store_bind_text(s, 2, conversation);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_message *m;

		rows = xgrow(rows, &cap, count + 1, sizeof(*rows));
		m = &rows[count++];
		m->id = sqlite3_column_int64(s, 0);
		m->direction = strcmp((const char *)sqlite3_column_text(s, 1), "outgoing") == 0
				       ? MSG_OUTGOING : MSG_INCOMING;
		m->channel = store_column_dup(s, 2);
		m->conversation = store_column_dup(s, 3);
		m->author_id = store_column_dup(s, 4);
		m->author_name = store_column_dup(s, 5);
		m->content = store_column_dup(s, 6);
		m->external_id = store_column_dup(s, 7);
		m->parent_id = sqlite3_column_int64(s, 8);
		m->created_at = sqlite3_column_int64(s, 9);
	}
	if (r != SQLITE_DONE) {
		enum kith_status rc = store_fail(st, why, "reading messages");

		sqlite3_finalize(s);
		store_messages_free(rows, count);
		return rc;
	}
	sqlite3_finalize(s);
	for (size_t i = 0; i < count / 2; i++) {
		struct store_message t = rows[i];

		rows[i] = rows[count - 1 - i];
		rows[count - 1 - i] = t;
	}
	*out = rows;
	*n = count;
	return KITH_OK;
}

void store_messages_free(struct store_message *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].channel);
		free(msgs[i].conversation);
		free(msgs[i].author_id);
		free(msgs[i].author_name);
		free(msgs[i].content);
		free(msgs[i].external_id);
	}
	free(msgs);
}
