/* presence.c — the rows of SEL's presence: conversation moods, people and
 * the persona sliders.
 *
 * Plain rows in, plain rows out; what the numbers mean lives in
 * agent/presence.c and mind/.  Writes are whole-row upserts (INSERT OR
 * REPLACE): the caller reads, changes and writes back inside
 * store_presence_begin/end, which takes SQLite's write lock up front
 * (BEGIN IMMEDIATE) so concurrent workers serialise instead of losing an
 * update or failing a lock upgrade halfway. */
#include "store/store_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <stdio.h>
#include <string.h>

#define CHANNEL_COLUMNS \
	"dopamine, serotonin, oxytocin, cortisol, melatonin, novelty, curiosity, patience," \
	" updated_at, last_reply_at, messages_since_reply, last_snapshot_at"

#define USER_COLUMNS \
	"channel, user_id, name, first_seen, last_seen, last_conversation, last_direct," \
	" messages, affinity, trust, bond, irritation, preferences, last_pinged_at"

/* NULL for 0 ("never"). */
static void bind_time(sqlite3_stmt *s, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static double clamp01(double v)
{
	if (!(v >= 0))   /* NaN too */
		return 0;
	return v > 1 ? 1 : v;
}

/* ---- transactions -------------------------------------------------------- */

enum kith_status store_presence_begin(struct store *st, char **why)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, why, "locking presence state");
	return KITH_OK;
}

enum kith_status store_presence_end(struct store *st, enum kith_status rc, char **why)
{
	if (!rc && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return KITH_OK;
	if (!rc)
		rc = store_fail(st, why, "saving presence state");
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* ---- conversations -------------------------------------------------------- */

enum kith_status store_presence_channel_get(struct store *st, const char *channel,
					    const char *conversation,
					    struct store_presence_channel *out, char **why)
{
	static const char sql[] = "SELECT " CHANNEL_COLUMNS " FROM presence_channels"
				  " WHERE channel = ? AND conversation = ?";
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int r;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading a conversation's mood");
	store_bind_text(s, 1, channel);
	store_bind_text(s, 2, conversation);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		for (int i = 0; i < STORE_PRESENCE_LEVELS; i++)
			out->levels[i] = sqlite3_column_double(s, i);
		out->updated_at = sqlite3_column_int64(s, 8);
		out->last_reply_at = sqlite3_column_int64(s, 9);
		out->messages_since_reply = sqlite3_column_int(s, 10);
		out->last_snapshot_at = sqlite3_column_int64(s, 11);
	} else if (r == SQLITE_DONE) {
		rc = kith_why(why, KITH_ENOTFOUND, "no mood for %s:%s yet", channel, conversation);
	} else {
		rc = store_fail(st, why, "reading a conversation's mood");
	}
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_presence_moods_stale(struct store *st, int64_t before, size_t limit,
					    struct store_presence_mood **out, size_t *n, char **why)
{
	static const char sql[] = "SELECT " CHANNEL_COLUMNS ", channel, conversation"
				  " FROM presence_channels WHERE updated_at < ?"
				  " ORDER BY updated_at LIMIT ?";
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading moods");
	sqlite3_bind_int64(s, 1, before);
	sqlite3_bind_int64(s, 2, limit ? (int64_t)limit : -1);
	while (store_next_row(st, s, &rc, why, "reading moods")) {
		struct store_presence_mood *m;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		m = &(*out)[(*n)++];
		memset(m, 0, sizeof(*m));
		for (int i = 0; i < STORE_PRESENCE_LEVELS; i++)
			m->row.levels[i] = sqlite3_column_double(s, i);
		m->row.updated_at = sqlite3_column_int64(s, 8);
		m->row.last_reply_at = sqlite3_column_int64(s, 9);
		m->row.messages_since_reply = sqlite3_column_int(s, 10);
		m->row.last_snapshot_at = sqlite3_column_int64(s, 11);
		m->channel = store_column_dup(s, 12);
		m->conversation = store_column_dup(s, 13);
	}
	if (rc) {
		store_presence_moods_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void store_presence_moods_free(struct store_presence_mood *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].channel);
		free(m[i].conversation);
	}
	free(m);
}

enum kith_status store_presence_channel_put(struct store *st, const char *channel,
					    const char *conversation,
					    const struct store_presence_channel *in, char **why)
{
	static const char sql[] = "INSERT OR REPLACE INTO presence_channels(channel, conversation, "
				  CHANNEL_COLUMNS ") VALUES (?,?, ?,?,?,?,?,?,?,?, ?,?,?,?)";
	sqlite3_stmt *s = NULL;

	if (!channel || !conversation)
		return kith_why(why, KITH_EINVAL, "presence state lacks channel or conversation");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "saving a conversation's mood");
	store_bind_text(s, 1, channel);
	store_bind_text(s, 2, conversation);
	for (int i = 0; i < STORE_PRESENCE_LEVELS; i++)
		sqlite3_bind_double(s, 3 + i, clamp01(in->levels[i]));
	sqlite3_bind_int64(s, 11, in->updated_at);
	bind_time(s, 12, in->last_reply_at);
	sqlite3_bind_int(s, 13, in->messages_since_reply > 0 ? in->messages_since_reply : 0);
	bind_time(s, 14, in->last_snapshot_at);
	return store_step_done(st, s, why, "saving a conversation's mood");
}

enum kith_status store_presence_channel_replied(struct store *st, const char *channel,
						const char *conversation, int64_t at, char **why)
{
	static const char sql[] = "UPDATE presence_channels SET last_reply_at = ?,"
				  " messages_since_reply = 0 WHERE channel = ? AND conversation = ?";
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "recording a reply");
	sqlite3_bind_int64(s, 1, at);
	store_bind_text(s, 2, channel);
	store_bind_text(s, 3, conversation);
	return store_step_done(st, s, why, "recording a reply");
}

/* ---- people ----------------------------------------------------------------- */

void store_presence_user_release(struct store_presence_user *u)
{
	if (!u)
		return;
	free(u->channel);
	free(u->user_id);
	free(u->name);
	free(u->last_conversation);
	free(u->preferences);
	memset(u, 0, sizeof(*u));
}

void store_presence_users_free(struct store_presence_user *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_presence_user_release(&u[i]);
	free(u);
}

static void read_user(sqlite3_stmt *s, struct store_presence_user *u)
{
	u->channel = store_column_dup(s, 0);
	u->user_id = store_column_dup(s, 1);
	u->name = store_column_dup(s, 2);
	u->first_seen = sqlite3_column_int64(s, 3);
	u->last_seen = sqlite3_column_int64(s, 4);
	u->last_conversation = store_column_dup(s, 5);
	u->last_direct = sqlite3_column_int(s, 6) != 0;
	u->messages = sqlite3_column_int64(s, 7);
	u->affinity = sqlite3_column_double(s, 8);
	u->trust = sqlite3_column_double(s, 9);
	u->bond = sqlite3_column_double(s, 10);
	u->irritation = sqlite3_column_double(s, 11);
	u->preferences = store_column_dup(s, 12);
	if (!u->preferences)
		u->preferences = xstrdup("{}");
	u->last_pinged_at = sqlite3_column_int64(s, 13);
}

enum kith_status store_presence_user_get(struct store *st, const char *channel,
					 const char *user_id, struct store_presence_user *out,
					 char **why)
{
	static const char sql[] = "SELECT " USER_COLUMNS " FROM presence_users"
				  " WHERE channel = ? AND user_id = ?";
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int r;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading a person");
	store_bind_text(s, 1, channel);
	store_bind_text(s, 2, user_id);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		read_user(s, out);
	else if (r == SQLITE_DONE)
		rc = kith_why(why, KITH_ENOTFOUND, "nobody called %s on %s yet", user_id, channel);
	else
		rc = store_fail(st, why, "reading a person");
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_presence_user_put(struct store *st, const struct store_presence_user *u,
					 char **why)
{
	static const char sql[] = "INSERT OR REPLACE INTO presence_users(" USER_COLUMNS ")"
				  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	sqlite3_stmt *s = NULL;
	int64_t now = clock_now_ms();

	if (!u->channel || !u->user_id)
		return kith_why(why, KITH_EINVAL, "a person lacks channel or user id");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "saving a person");
	store_bind_text(s, 1, u->channel);
	store_bind_text(s, 2, u->user_id);
	store_bind_text(s, 3, u->name);
	sqlite3_bind_int64(s, 4, u->first_seen ? u->first_seen : now);
	sqlite3_bind_int64(s, 5, u->last_seen ? u->last_seen : now);
	store_bind_text(s, 6, u->last_conversation);
	sqlite3_bind_int(s, 7, u->last_direct);
	sqlite3_bind_int64(s, 8, u->messages);
	sqlite3_bind_double(s, 9, clamp01(u->affinity));
	sqlite3_bind_double(s, 10, clamp01(u->trust));
	sqlite3_bind_double(s, 11, clamp01(u->bond));
	sqlite3_bind_double(s, 12, clamp01(u->irritation));
	store_bind_text(s, 13, u->preferences ? u->preferences : "{}");
	bind_time(s, 14, u->last_pinged_at);
	return store_step_done(st, s, why, "saving a person");
}

enum kith_status store_presence_users_quiet(struct store *st, int64_t seen_before,
					    int64_t pinged_before, size_t limit,
					    struct store_presence_user **out, size_t *n, char **why)
{
	static const char sql[] =
		"SELECT " USER_COLUMNS " FROM presence_users"
		" WHERE last_seen < ? AND (last_pinged_at IS NULL OR last_pinged_at < ?)"
		" AND last_conversation IS NOT NULL"
		" ORDER BY last_seen, channel, user_id LIMIT ?";
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "looking for quiet people");
	sqlite3_bind_int64(s, 1, seen_before);
	sqlite3_bind_int64(s, 2, pinged_before);
	sqlite3_bind_int64(s, 3, limit ? (int64_t)limit : -1);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		memset(&(*out)[*n], 0, sizeof(**out));
		read_user(s, &(*out)[(*n)++]);
	}
	sqlite3_finalize(s);
	if (r != SQLITE_DONE) {
		store_presence_users_free(*out, *n);
		*out = NULL;
		*n = 0;
		return store_fail(st, why, "looking for quiet people");
	}
	return KITH_OK;
}

enum kith_status store_presence_user_claim_ping(struct store *st, const char *channel,
						const char *user_id, int64_t now,
						int64_t seen_before, int64_t pinged_before,
						bool *claimed, char **why)
{
	/* One statement: the check and the claim cannot be split by another
	 * connection doing the same. */
	static const char sql[] =
		"UPDATE presence_users SET last_pinged_at = ?"
		" WHERE channel = ? AND user_id = ? AND last_seen < ?"
		" AND (last_pinged_at IS NULL OR last_pinged_at < ?)";
	sqlite3_stmt *s = NULL;
	enum kith_status rc;

	*claimed = false;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "recording a ping");
	sqlite3_bind_int64(s, 1, now);
	store_bind_text(s, 2, channel);
	store_bind_text(s, 3, user_id);
	sqlite3_bind_int64(s, 4, seen_before);
	sqlite3_bind_int64(s, 5, pinged_before);
	rc = store_step_done(st, s, why, "recording a ping");
	if (!rc)
		*claimed = sqlite3_changes(st->db) > 0;
	return rc;
}

enum kith_status store_presence_users_count(struct store *st, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM presence_users", -1, &s, NULL) !=
	    SQLITE_OK)
		return store_fail(st, why, "counting people");
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, why, "counting people");
	sqlite3_finalize(s);
	return rc;
}

/* ---- persona ------------------------------------------------------------------ */

enum kith_status store_persona_get(struct store *st, struct store_persona *out, char **why)
{
	static const char sql[] =
		"SELECT teasing, emoji_rate, vulnerability, confidence, playfulness, verbosity,"
		" empathy, preferred_length, messages_sent, positive_reactions,"
		" negative_reactions, updated_at FROM presence_persona WHERE id = 1";
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int r;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading the persona");
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		const unsigned char *len = sqlite3_column_text(s, 7);

		out->teasing = sqlite3_column_double(s, 0);
		out->emoji_rate = sqlite3_column_double(s, 1);
		out->vulnerability = sqlite3_column_double(s, 2);
		out->confidence = sqlite3_column_double(s, 3);
		out->playfulness = sqlite3_column_double(s, 4);
		out->verbosity = sqlite3_column_double(s, 5);
		out->empathy = sqlite3_column_double(s, 6);
		snprintf(out->preferred_length, sizeof(out->preferred_length), "%s",
			 len ? (const char *)len : "medium");
		out->messages_sent = sqlite3_column_int64(s, 8);
		out->positive_reactions = sqlite3_column_int64(s, 9);
		out->negative_reactions = sqlite3_column_int64(s, 10);
		out->updated_at = sqlite3_column_int64(s, 11);
	} else if (r == SQLITE_DONE) {
		rc = kith_why(why, KITH_ENOTFOUND, "the persona row is missing");
	} else {
		rc = store_fail(st, why, "reading the persona");
	}
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_persona_put(struct store *st, const struct store_persona *p, char **why)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO presence_persona(id, teasing, emoji_rate, vulnerability,"
		" confidence, playfulness, verbosity, empathy, preferred_length, messages_sent,"
		" positive_reactions, negative_reactions, updated_at)"
		" VALUES (1, ?,?,?,?,?,?,?, ?, ?,?,?, ?)";
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "saving the persona");
	sqlite3_bind_double(s, 1, clamp01(p->teasing));
	sqlite3_bind_double(s, 2, clamp01(p->emoji_rate));
	sqlite3_bind_double(s, 3, clamp01(p->vulnerability));
	sqlite3_bind_double(s, 4, clamp01(p->confidence));
	sqlite3_bind_double(s, 5, clamp01(p->playfulness));
	sqlite3_bind_double(s, 6, clamp01(p->verbosity));
	sqlite3_bind_double(s, 7, clamp01(p->empathy));
	store_bind_text(s, 8, p->preferred_length[0] ? p->preferred_length : "medium");
	sqlite3_bind_int64(s, 9, p->messages_sent);
	sqlite3_bind_int64(s, 10, p->positive_reactions);
	sqlite3_bind_int64(s, 11, p->negative_reactions);
	sqlite3_bind_int64(s, 12, p->updated_at ? p->updated_at : clock_now_ms());
	return store_step_done(st, s, why, "saving the persona");
}
