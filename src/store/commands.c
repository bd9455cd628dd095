/* commands.c — what the slash commands keep: /config values, the command
 * log and who muted proactive messages (migration 0009). */
#include "store/store.h"
#include "store/store_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <string.h>

/* ---- runtime settings ----------------------------------------------------- */

enum kith_status store_settings_list(struct store *st, struct store_setting **out, size_t *n,
				     char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT key, value, updated_by, updated_at"
				       " FROM runtime_config ORDER BY key", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading settings");
	while (store_next_row(st, s, &rc, why, "reading settings")) {
		struct store_setting *r;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		r = &(*out)[(*n)++];
		r->key = store_column_dup(s, 0);
		r->value = store_column_dup(s, 1);
		r->updated_by = store_column_dup(s, 2);
		r->updated_at = sqlite3_column_int64(s, 3);
	}
	if (rc) {
		store_settings_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void store_settings_free(struct store_setting *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].key);
		free(rows[i].value);
		free(rows[i].updated_by);
	}
	free(rows);
}

enum kith_status store_setting_put(struct store *st, const char *key, const char *value,
				   const char *by, char **why)
{
	sqlite3_stmt *s = NULL;

	if (!key || !*key || !value)
		return kith_why(why, KITH_EINVAL, "a setting needs a name and a value");
	if (sqlite3_prepare_v2(st->db, "INSERT INTO runtime_config(key, value, updated_at,"
				       " updated_by) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE"
				       " SET value = excluded.value, updated_at = excluded.updated_at,"
				       " updated_by = excluded.updated_by", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "saving a setting");
	store_bind_text(s, 1, key);
	store_bind_text(s, 2, value);
	sqlite3_bind_int64(s, 3, clock_now_ms());
	store_bind_text(s, 4, by);
	return store_step_done(st, s, why, "saving a setting");
}

/* Run a one-parameter statement; KITH_ENOTFOUND when it changed no row. */
static enum kith_status change_one(struct store *st, const char *sql, const char *p1,
				   int64_t p2, char **why, const char *doing, const char *absent)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, doing);
	store_bind_text(s, 1, p1);
	if (sqlite3_bind_parameter_count(s) > 1)
		sqlite3_bind_int64(s, 2, p2);
	rc = store_step_done(st, s, why, doing);
	if (rc == KITH_OK && sqlite3_changes(st->db) == 0)
		rc = kith_why(why, KITH_ENOTFOUND, "%s", absent);
	return rc;
}

enum kith_status store_setting_delete(struct store *st, const char *key, char **why)
{
	return change_one(st, "DELETE FROM runtime_config WHERE key = ?", key, 0, why,
			  "removing a setting", "that setting has no stored value");
}

int64_t store_data_version(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA data_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* ---- the command log ------------------------------------------------------ */

enum kith_status store_command_log_add(struct store *st, const struct store_command_run *r,
				       char **why)
{
	sqlite3_stmt *s = NULL;

	if (!r->command)
		return kith_why(why, KITH_EINVAL, "a command log row needs the command");
	if (sqlite3_prepare_v2(st->db, "INSERT INTO command_log(at, channel, conversation,"
				       " author_id, command, args, status, reply)"
				       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "logging a command");
	sqlite3_bind_int64(s, 1, r->at ? r->at : clock_now_ms());
	store_bind_text(s, 2, r->channel ? r->channel : "console");
	store_bind_text(s, 3, r->conversation ? r->conversation : "default");
	store_bind_text(s, 4, r->author_id);
	store_bind_text(s, 5, r->command);
	store_bind_text(s, 6, r->args ? r->args : "");
	store_bind_text(s, 7, r->status ? r->status : "ok");
	store_bind_text(s, 8, r->reply);
	return store_step_insert(st, s, NULL, why, "logging a command");
}

enum kith_status store_command_log_count(struct store *st, int64_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM command_log", -1, &s, NULL) !=
	    SQLITE_OK)
		return store_fail(st, why, "counting commands");
	while (store_next_row(st, s, &rc, why, "counting commands"))
		*n = sqlite3_column_int64(s, 0);
	return rc;
}

/* ---- mutes ---------------------------------------------------------------- */

enum kith_status store_user_mute(struct store *st, const char *user, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc;

	if (!user || !*user)
		return kith_why(why, KITH_EINVAL, "only a person can be muted");
	if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO user_mutes(user, muted_at)"
				       " VALUES (?, ?)", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "muting");
	store_bind_text(s, 1, user);
	sqlite3_bind_int64(s, 2, clock_now_ms());
	rc = store_step_done(st, s, why, "muting");
	if (rc == KITH_OK && sqlite3_changes(st->db) == 0)
		rc = kith_why(why, KITH_EEXIST, "already muted");
	return rc;
}

enum kith_status store_user_unmute(struct store *st, const char *user, char **why)
{
	return change_one(st, "DELETE FROM user_mutes WHERE user = ?", user, 0, why, "unmuting",
			  "not muted");
}

bool store_user_muted(struct store *st, const char *user)
{
	sqlite3_stmt *s = NULL;
	bool muted = false;

	if (!user || sqlite3_prepare_v2(st->db, "SELECT 1 FROM user_mutes WHERE user = ?", -1, &s,
					NULL) != SQLITE_OK)
		return false;
	store_bind_text(s, 1, user);
	muted = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return muted;
}
