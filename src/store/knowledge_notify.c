/* knowledge_notify.c — the queries the proactive knowledge agents need
 * (knowledge/notify.c, knowledge/enrich.c): who has anything, what is
 * pending for one user, a /learn prompt's progress and facts, and the
 * entity stamps (last notified, last enriched).
 *
 * The "pending" counts are the notifier's cheap due check: a handful of
 * COUNT queries on indexed columns, run every scheduler tick, so they never
 * load embeddings or fact text. */
#include "store/store_int.h"

#include "core/alloc.h"

#include <string.h>

static enum kith_status count1(struct store *st, const char *sql, const char *user, int64_t id,
			       size_t *out, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	*out = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "counting pending notifications");
	if (user)
		store_bind_text(s, 1, user);
	else
		sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW)
		*out = (size_t)sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, why, "counting pending notifications");
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_knowledge_users(struct store *st, char ***users, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int r;

	*users = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT user FROM entities UNION SELECT user FROM learn_prompts"
				       " UNION SELECT user FROM events ORDER BY 1", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "listing knowledge users");
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		char *u = store_column_dup(s, 0);

		if (!u)
			continue;
		*users = xgrow(*users, &cap, *n + 1, sizeof(**users));
		(*users)[(*n)++] = u;
	}
	sqlite3_finalize(s);
	if (r != SQLITE_DONE) {
		store_strings_free(*users, *n);
		*users = NULL;
		*n = 0;
		return store_fail(st, why, "listing knowledge users");
	}
	return KITH_OK;
}

void store_strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

enum kith_status store_knowledge_notify_pending(struct store *st, const char *user,
						struct store_notify_pending *out, char **why)
{
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	rc = count1(st, "SELECT COUNT(*) FROM learn_prompts p WHERE p.user = ?"
			" AND p.status = 'completed' AND p.announced_at IS NULL"
			" AND NOT EXISTS (SELECT 1 FROM search_log l WHERE l.learn_prompt_id = p.id"
			" AND l.extracted = 0)", user, 0, &out->learn_ready, why);
	if (!rc)
		rc = count1(st, "SELECT COUNT(*) FROM events WHERE user = ? AND notified_at IS NULL",
			    user, 0, &out->events, why);
	if (!rc)
		rc = count1(st, "SELECT COUNT(DISTINCT e.id) FROM entities e JOIN facts f"
				" ON f.entity_id = e.id WHERE e.user = ? AND e.vetoed = 0"
				" AND e.heat > 0 AND f.notified_at IS NULL", user, 0, &out->entities,
			    why);
	if (!rc)
		rc = count1(st, "SELECT COUNT(DISTINCT e.id) FROM entities e JOIN facts f"
				" ON f.entity_id = e.id WHERE e.user = ? AND e.vetoed = 0"
				" AND e.heat > 0 AND e.heat_cooldown <= 0 AND f.notified_at IS NULL",
			    user, 0, &out->eligible, why);
	return rc;
}

enum kith_status store_learn_prompt_progress(struct store *st, int64_t prompt_id, size_t *logs,
					     size_t *unextracted, char **why)
{
	enum kith_status rc;

	rc = count1(st, "SELECT COUNT(*) FROM search_log WHERE learn_prompt_id = ?", NULL,
		    prompt_id, logs, why);
	if (!rc)
		rc = count1(st, "SELECT COUNT(*) FROM search_log WHERE learn_prompt_id = ?"
				" AND extracted = 0", NULL, prompt_id, unextracted, why);
	return rc;
}

enum kith_status store_learn_prompt_facts(struct store *st, int64_t prompt_id,
					  struct store_fact **out, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT f.id, f.entity_id, f.content, f.source_search_log_id,"
				       " f.learned_at, f.notified_at FROM facts f"
				       " JOIN search_log l ON l.id = f.source_search_log_id"
				       " WHERE l.learn_prompt_id = ? ORDER BY f.entity_id, f.id",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading a learn prompt's facts");
	sqlite3_bind_int64(s, 1, prompt_id);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_fact *f;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		f = &(*out)[(*n)++];
		memset(f, 0, sizeof(*f));
		f->id = sqlite3_column_int64(s, 0);
		f->entity_id = sqlite3_column_int64(s, 1);
		f->content = store_column_dup(s, 2);
		if (!f->content)
			f->content = xstrdup("");
		f->source_search_log_id = sqlite3_column_int64(s, 3);
		f->learned_at = sqlite3_column_int64(s, 4);
		f->notified_at = sqlite3_column_int64(s, 5);
	}
	sqlite3_finalize(s);
	if (r != SQLITE_DONE) {
		store_facts_free(*out, *n);
		*out = NULL;
		*n = 0;
		return store_fail(st, why, "reading a learn prompt's facts");
	}
	return KITH_OK;
}

static enum kith_status stamp(struct store *st, const char *sql, int64_t id, int64_t at,
			      char **why)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "stamping an entity");
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_int64(s, 2, id);
	return store_step_done(st, s, why, "stamping an entity");
}

enum kith_status store_entity_notified(struct store *st, int64_t id, int64_t at, char **why)
{
	return stamp(st, "UPDATE entities SET last_notified_at = ? WHERE id = ?", id, at, why);
}

enum kith_status store_entity_enriched(struct store *st, int64_t id, int64_t at, char **why)
{
	return stamp(st, "UPDATE entities SET last_enriched_at = ? WHERE id = ?", id, at, why);
}

enum kith_status store_entity_fact_counts(struct store *st, int64_t id, size_t *total,
					  size_t *unnotified, char **why)
{
	enum kith_status rc;

	rc = count1(st, "SELECT COUNT(*) FROM facts WHERE entity_id = ?", NULL, id, total, why);
	if (!rc)
		rc = count1(st, "SELECT COUNT(*) FROM facts WHERE entity_id = ?"
				" AND notified_at IS NULL", NULL, id, unnotified, why);
	return rc;
}

enum kith_status store_engagements_since(struct store *st, int64_t entity_id, int64_t since,
					 size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM engagements WHERE entity_id = ?"
				       " AND created_at > ?", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "counting engagements");
	sqlite3_bind_int64(s, 1, entity_id);
	sqlite3_bind_int64(s, 2, since);
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, why, "counting engagements");
	sqlite3_finalize(s);
	return rc;
}
