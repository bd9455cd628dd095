/* messages.c — the messages table: every message in and out of kith. */
#include "store/store_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <ctype.h>
#include <string.h>

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

#define MESSAGE_COLUMNS \
	"id, direction, channel, conversation, author_id, author_name, content, external_id," \
	" parent_id, created_at"

/* Step `s` (selecting MESSAGE_COLUMNS) to the end, collecting the rows in
 * the order given; finalizes `s`. */
static enum kith_status read_messages(struct store *st, sqlite3_stmt *s, const char *doing,
				      struct store_message **out, size_t *n, char **why)
{
	struct store_message *rows = NULL;
	size_t count = 0, cap = 0;
	int r;

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
		enum kith_status rc = store_fail(st, why, doing);

		sqlite3_finalize(s);
		store_messages_free(rows, count);
		return rc;
	}
	sqlite3_finalize(s);
	*out = rows;
	*n = count;
	return KITH_OK;
}

enum kith_status store_messages_recent(struct store *st, const char *channel,
				       const char *conversation, size_t limit,
				       struct store_message **out, size_t *n, char **why)
{
	/* Newest `limit` rows, then flipped to oldest-first for prompts. */
	static const char sql[] =
		"SELECT " MESSAGE_COLUMNS " FROM messages"
		" WHERE channel = ? AND conversation = ? ORDER BY created_at DESC, id DESC LIMIT ?";
	sqlite3_stmt *s = NULL;
	enum kith_status rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading messages");
	store_bind_text(s, 1, channel);
	store_bind_text(s, 2, conversation);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
	if ((rc = read_messages(st, s, "reading messages", out, n, why)))
		return rc;
	for (size_t i = 0; i < *n / 2; i++) {
		struct store_message t = (*out)[i];

		(*out)[i] = (*out)[*n - 1 - i];
		(*out)[*n - 1 - i] = t;
	}
	return KITH_OK;
}

enum kith_status store_messages_thread(struct store *st, int64_t id, size_t limit,
				       struct store_message **out, size_t *n, char **why)
{
	/* Walk parent_id upwards from `id`; depth bounds the walk even if a
	 * chain were ever cyclic. */
	static const char sql[] =
		"WITH RECURSIVE chain(id, depth) AS ("
		" SELECT id, 0 FROM messages WHERE id = ?1"
		" UNION ALL"
		" SELECT m.parent_id, chain.depth + 1 FROM messages m JOIN chain ON m.id = chain.id"
		"  WHERE m.parent_id IS NOT NULL AND chain.depth + 1 < ?2)"
		" SELECT " MESSAGE_COLUMNS " FROM messages JOIN chain USING (id)"
		" ORDER BY chain.depth DESC";
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading a thread");
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	return read_messages(st, s, "reading a thread", out, n, why);
}

/* Letters and digits only, lower-cased: quotes come back without the
 * Markdown, emoji or line breaks the stored text had. */
static char *quote_key(const char *text, size_t max)
{
	char *k = xmalloc(max + 1);
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p && n < max; p++)
		if (isalnum(*p) || *p >= 0x80)
			k[n++] = (char)tolower(*p);
	k[n] = '\0';
	return k;
}

enum kith_status store_message_find_quoted(struct store *st, const char *channel,
					   const char *conversation, const char *external_id,
					   const char *text, int64_t *id, char **why)
{
	static const char by_id[] =
		"SELECT id FROM messages WHERE channel = ? AND conversation = ? AND external_id = ?"
		" ORDER BY id DESC LIMIT 1";
	static const char by_text[] =
		"SELECT id, content FROM messages WHERE channel = ? AND conversation = ?"
		" ORDER BY id DESC LIMIT 500";
	sqlite3_stmt *s = NULL;
	char *want = NULL;
	size_t wn;
	int r;

	*id = 0;
	if (external_id && *external_id) {
		if (sqlite3_prepare_v2(st->db, by_id, -1, &s, NULL) != SQLITE_OK)
			return store_fail(st, why, "finding a quoted message");
		store_bind_text(s, 1, channel);
		store_bind_text(s, 2, conversation);
		store_bind_text(s, 3, external_id);
		if ((r = sqlite3_step(s)) == SQLITE_ROW)
			*id = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return store_fail(st, why, "finding a quoted message");
		if (*id)
			return KITH_OK;
	}
	if (!text || !*text)
		return KITH_OK;
	want = quote_key(text, 4096);
	wn = strlen(want);
	if (wn == 0)
		goto out;
	if (sqlite3_prepare_v2(st->db, by_text, -1, &s, NULL) != SQLITE_OK) {
		free(want);
		return store_fail(st, why, "finding a quoted message");
	}
	store_bind_text(s, 1, channel);
	store_bind_text(s, 2, conversation);
	while (!*id && (r = sqlite3_step(s)) == SQLITE_ROW) {
		const char *content = (const char *)sqlite3_column_text(s, 1);
		char *have = quote_key(content ? content : "", 4096);

		/* The quote is the message, or its beginning (networks shorten
		 * long quotes). */
		if (*have && strncmp(have, want, wn) == 0)
			*id = sqlite3_column_int64(s, 0);
		free(have);
	}
	sqlite3_finalize(s);
out:
	free(want);
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
