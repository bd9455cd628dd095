/* knowledge_cmds.c — the rows behind the knowledge slash commands (/follow,
 * /unfollow, /events; cmd/cmd_follow.c; /unlearn, cmd/cmd_learn.c).
 *
 * The commands number rows for the person, so every listing here has a
 * fixed order that does not depend on background work: follow prompts
 * oldest first (a new /follow appends, so the numbers seen earlier stay
 * valid), events newest published first.  Unfollowing removes the prompt's
 * events with it, as Penny did, in one transaction. */
#include "store/store_int.h"

#include "core/alloc.h"

#include <string.h>

static enum kith_status delete_by_id(struct store *st, const char *sql, int64_t id,
				     size_t *changed, char **why, const char *doing)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, doing);
	sqlite3_bind_int64(s, 1, id);
	rc = store_step_done(st, s, why, doing);
	if (rc == KITH_OK && changed)
		*changed = (size_t)sqlite3_changes(st->db);
	return rc;
}

enum kith_status store_follow_prompt_forget(struct store *st, int64_t id, size_t *events,
					    char **why)
{
	size_t nev = 0, np = 0;
	enum kith_status rc;

	rc = store_knowledge_begin(st, why);
	if (rc)
		return rc;
	/* Event links go with the events (ON DELETE CASCADE). */
	rc = delete_by_id(st, "DELETE FROM events WHERE follow_prompt_id = ?", id, &nev, why,
			  "deleting a follow prompt's events");
	if (rc == KITH_OK)
		rc = delete_by_id(st, "DELETE FROM follow_prompts WHERE id = ?", id, &np, why,
				  "deleting a follow prompt");
	if (rc == KITH_OK && np == 0)
		rc = kith_why(why, KITH_ENOTFOUND, "no follow prompt %lld", (long long)id);
	rc = store_knowledge_end(st, rc, why);
	if (rc == KITH_OK && events)
		*events = nev;
	return rc;
}

/* Entities that hold facts from the prompt's searches, with how many. */
static enum kith_status learned_entities(struct store *st, int64_t id, char ***names,
					 size_t **counts, int64_t **ids, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0, cap2 = 0, cap3 = 0;
	enum kith_status rc = KITH_OK;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT e.id, e.name, count(*) AS k FROM facts f"
				       " JOIN entities e ON e.id = f.entity_id"
				       " JOIN search_log s ON s.id = f.source_search_log_id"
				       " WHERE s.learn_prompt_id = ? GROUP BY e.id"
				       " ORDER BY k DESC, e.name", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading what a topic taught");
	sqlite3_bind_int64(s, 1, id);
	while (store_next_row(st, s, &rc, why, "reading what a topic taught")) {
		*ids = xgrow(*ids, &cap, *n + 1, sizeof(**ids));
		*names = xgrow(*names, &cap2, *n + 2, sizeof(**names));
		*counts = xgrow(*counts, &cap3, *n + 1, sizeof(**counts));
		(*ids)[*n] = sqlite3_column_int64(s, 0);
		(*names)[*n] = store_column_dup(s, 1);
		(*names)[*n + 1] = NULL;
		(*counts)[*n] = (size_t)sqlite3_column_int64(s, 2);
		(*n)++;
	}
	return rc;
}

enum kith_status store_learn_prompt_forget(struct store *st, int64_t id, char ***names,
					   size_t **counts, size_t *n, char **why)
{
	char **nm = NULL;
	size_t *cnt = NULL, k = 0, np = 0;
	int64_t *ids = NULL;
	enum kith_status rc;

	if ((rc = store_knowledge_begin(st, why)) != KITH_OK)
		return rc;
	rc = learned_entities(st, id, &nm, &cnt, &ids, &k, why);
	if (rc == KITH_OK)
		rc = delete_by_id(st, "DELETE FROM facts WHERE source_search_log_id IN"
				      " (SELECT id FROM search_log WHERE learn_prompt_id = ?)", id,
				  NULL, why, "forgetting a topic's facts");
	for (size_t i = 0; rc == KITH_OK && i < k; i++)
		rc = delete_by_id(st, "DELETE FROM entities WHERE id = ? AND NOT EXISTS"
				      " (SELECT 1 FROM facts WHERE entity_id = entities.id)", ids[i],
				  NULL, why, "forgetting an emptied entity");
	if (rc == KITH_OK)
		rc = delete_by_id(st, "DELETE FROM search_log WHERE learn_prompt_id = ?", id, NULL,
				  why, "forgetting a topic's searches");
	if (rc == KITH_OK)
		rc = delete_by_id(st, "DELETE FROM learn_prompts WHERE id = ?", id, &np, why,
				  "forgetting a topic");
	if (rc == KITH_OK && np == 0)
		rc = kith_why(why, KITH_ENOTFOUND, "no learn prompt %lld", (long long)id);
	rc = store_knowledge_end(st, rc, why);
	free(ids);
	if (rc == KITH_OK && names) {
		*names = nm;
		nm = NULL;
	}
	if (rc == KITH_OK && counts) {
		*counts = cnt;
		cnt = NULL;
	}
	if (n)
		*n = rc == KITH_OK ? k : 0;
	if (nm)
		store_strings_free(nm, k);
	free(cnt);
	return rc;
}

enum kith_status store_events_for_user(struct store *st, const char *user, size_t limit,
				       struct store_event **out, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*n = 0;
	/* No embeddings: the commands only print. */
	if (sqlite3_prepare_v2(st->db, "SELECT id, user, follow_prompt_id, headline, summary, url,"
				       " published_at, created_at, notified_at FROM events"
				       " WHERE user = ? ORDER BY published_at DESC, id DESC"
				       " LIMIT ?", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading events");
	store_bind_text(s, 1, user);
	sqlite3_bind_int64(s, 2, limit ? (sqlite3_int64)limit : -1);
	return store_events_read(st, s, out, n, why);
}
