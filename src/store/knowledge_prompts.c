/* knowledge_prompts.c — rows of Penny's user-driven knowledge: /learn
 * prompts, /follow prompts, news events and their entity links, user cron
 * schedules and the user profile (the agents own the meaning).
 *
 * Plain CRUD; the only logic is in the orderings the agents rely on
 * (round-robin polling: never-polled follow prompts first) and in event
 * dedup by URL, which a partial unique index enforces. */
#include "store/store_int.h"

#include "core/alloc.h"
#include "core/clock.h"

#include <string.h>

/* UPDATE … SET col = ? WHERE id = ?; KITH_ENOTFOUND when no row changed. */
static enum kith_status update_id(struct store *st, const char *sql, int64_t v, int64_t id,
				  char **why, const char *doing)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, doing);
	sqlite3_bind_int64(s, 1, v);
	sqlite3_bind_int64(s, 2, id);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_fail(st, why, doing);
	else if (sqlite3_changes(st->db) == 0)
		rc = kith_why(why, KITH_ENOTFOUND, "nothing to update while %s (id %lld)", doing,
			      (long long)id);
	sqlite3_finalize(s);
	return rc;
}

/* ---- learn prompts -------------------------------------------------------- */

enum kith_status store_learn_prompt_add(struct store *st, const char *user, const char *prompt,
					int searches, int64_t *id, char **why)
{
	sqlite3_stmt *s = NULL;
	int64_t now = clock_now_ms();

	if (!user || !prompt || !*prompt)
		return kith_why(why, KITH_EINVAL, "a learn prompt needs a user and a prompt");
	if (sqlite3_prepare_v2(st->db, "INSERT INTO learn_prompts(user, prompt, searches_remaining,"
				       " created_at, updated_at) VALUES (?, ?, ?, ?, ?)", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "adding a learn prompt");
	store_bind_text(s, 1, user);
	store_bind_text(s, 2, prompt);
	sqlite3_bind_int(s, 3, searches > 0 ? searches : 0);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, now);
	return store_step_insert(st, s, id, why, "adding a learn prompt");
}

enum kith_status store_learn_prompts_list(struct store *st, const char *user,
					  const char *status, struct store_learn_prompt **out,
					  size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id, user, prompt, status, searches_remaining,"
				       " created_at, updated_at, completed_at, announced_at"
				       " FROM learn_prompts WHERE (?1 IS NULL OR user = ?1)"
				       " AND (?2 IS NULL OR status = ?2) ORDER BY created_at, id",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading learn prompts");
	store_bind_text(s, 1, user);
	store_bind_text(s, 2, status);
	while (store_next_row(st, s, &rc, why, "reading learn prompts")) {
		struct store_learn_prompt *p;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		p = &(*out)[(*n)++];
		p->id = sqlite3_column_int64(s, 0);
		p->user = store_column_dup(s, 1);
		p->prompt = store_column_dup(s, 2);
		p->status = store_column_dup(s, 3);
		p->searches_remaining = sqlite3_column_int(s, 4);
		p->created_at = sqlite3_column_int64(s, 5);
		p->updated_at = sqlite3_column_int64(s, 6);
		p->completed_at = sqlite3_column_int64(s, 7);
		p->announced_at = sqlite3_column_int64(s, 8);
	}
	if (rc) {
		store_learn_prompts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum kith_status store_learn_prompt_spend(struct store *st, int64_t id, char **why)
{
	return update_id(st, "UPDATE learn_prompts SET searches_remaining ="
			     " MAX(searches_remaining - 1, 0), updated_at = ? WHERE id = ?",
			 clock_now_ms(), id, why, "spending a learn search");
}

enum kith_status store_learn_prompt_set_status(struct store *st, int64_t id, const char *status,
					       char **why)
{
	sqlite3_stmt *s = NULL;
	int64_t now = clock_now_ms();
	enum kith_status rc = KITH_OK;

	if (!status || (strcmp(status, "active") && strcmp(status, "completed") &&
			strcmp(status, "cancelled")))
		return kith_why(why, KITH_EINVAL, "unknown learn prompt status");
	if (sqlite3_prepare_v2(st->db, "UPDATE learn_prompts SET status = ?, updated_at = ?,"
				       " completed_at = CASE WHEN ? = 'completed' THEN ?"
				       " ELSE completed_at END WHERE id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "updating a learn prompt");
	store_bind_text(s, 1, status);
	sqlite3_bind_int64(s, 2, now);
	store_bind_text(s, 3, status);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, id);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_fail(st, why, "updating a learn prompt");
	else if (sqlite3_changes(st->db) == 0)
		rc = kith_why(why, KITH_ENOTFOUND, "no learn prompt %lld", (long long)id);
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_learn_prompt_announced(struct store *st, int64_t id, int64_t at,
					      char **why)
{
	return update_id(st, "UPDATE learn_prompts SET announced_at = ? WHERE id = ?",
			 at ? at : clock_now_ms(), id, why, "marking a learn prompt announced");
}

enum kith_status store_search_log_set_learn_prompt(struct store *st, int64_t log_id,
						   int64_t prompt_id, char **why)
{
	return update_id(st, "UPDATE search_log SET learn_prompt_id = ? WHERE id = ?", prompt_id,
			 log_id, why, "linking a search to its learn prompt");
}

void store_learn_prompts_free(struct store_learn_prompt *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].user);
		free(rows[i].prompt);
		free(rows[i].status);
	}
	free(rows);
}

/* ---- follow prompts ------------------------------------------------------- */

enum kith_status store_follow_prompt_add(struct store *st, const struct store_follow_prompt_new *f,
					 int64_t *id, char **why)
{
	sqlite3_stmt *s = NULL;

	if (!f->user || !f->prompt || !*f->prompt)
		return kith_why(why, KITH_EINVAL, "a follow prompt needs a user and a prompt");
	if (sqlite3_prepare_v2(st->db, "INSERT INTO follow_prompts(user, prompt, query_terms, cron,"
				       " timezone, created_at) VALUES (?, ?, ?, ?, ?, ?)", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "adding a follow prompt");
	store_bind_text(s, 1, f->user);
	store_bind_text(s, 2, f->prompt);
	store_bind_text(s, 3, f->query_terms ? f->query_terms : "[]");
	store_bind_text(s, 4, f->cron ? f->cron : "0 9 * * *");
	store_bind_text(s, 5, f->timezone ? f->timezone : "UTC");
	sqlite3_bind_int64(s, 6, clock_now_ms());
	return store_step_insert(st, s, id, why, "adding a follow prompt");
}

#define FOLLOW_COLUMNS \
	"SELECT id, user, prompt, query_terms, cron, timezone, created_at, last_polled_at," \
	" last_notified_at FROM follow_prompts"

/* Run `sql` (FOLLOW_COLUMNS …, with the user bound as ?1) into *out. */
static enum kith_status read_follow_prompts(struct store *st, const char *sql, const char *user,
					    struct store_follow_prompt **out, size_t *n,
					    char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading follow prompts");
	store_bind_text(s, 1, user);
	while (store_next_row(st, s, &rc, why, "reading follow prompts")) {
		struct store_follow_prompt *p;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		p = &(*out)[(*n)++];
		memset(p, 0, sizeof(*p));
		p->id = sqlite3_column_int64(s, 0);
		p->user = store_column_dup(s, 1);
		p->prompt = store_column_dup(s, 2);
		p->query_terms = store_column_dup(s, 3);
		p->cron = store_column_dup(s, 4);
		p->timezone = store_column_dup(s, 5);
		p->created_at = sqlite3_column_int64(s, 6);
		p->last_polled_at = sqlite3_column_int64(s, 7);
		p->last_notified_at = sqlite3_column_int64(s, 8);
	}
	if (rc) {
		store_follow_prompts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum kith_status store_follow_prompts_by_poll(struct store *st, const char *user,
					      struct store_follow_prompt **out, size_t *n,
					      char **why)
{
	return read_follow_prompts(st, FOLLOW_COLUMNS " WHERE (?1 IS NULL OR user = ?1)"
				   " ORDER BY last_polled_at IS NOT NULL, last_polled_at,"
				   " created_at, id", user, out, n, why);
}

enum kith_status store_follow_prompts_for_user(struct store *st, const char *user,
					       struct store_follow_prompt **out, size_t *n,
					       char **why)
{
	return read_follow_prompts(st, FOLLOW_COLUMNS " WHERE user = ?1 ORDER BY created_at, id",
				   user, out, n, why);
}

enum kith_status store_follow_prompt_polled(struct store *st, int64_t id, int64_t at,
					    char **why)
{
	return update_id(st, "UPDATE follow_prompts SET last_polled_at = ? WHERE id = ?",
			 at ? at : clock_now_ms(), id, why, "marking a follow prompt polled");
}

enum kith_status store_follow_prompt_delete(struct store *st, int64_t id, char **why)
{
	return update_id(st, "DELETE FROM follow_prompts WHERE ? IS NOT NULL AND id = ?", 1, id,
			 why, "deleting a follow prompt");
}

void store_follow_prompts_free(struct store_follow_prompt *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].user);
		free(rows[i].prompt);
		free(rows[i].query_terms);
		free(rows[i].cron);
		free(rows[i].timezone);
	}
	free(rows);
}

/* ---- events --------------------------------------------------------------- */

enum kith_status store_event_add(struct store *st, const struct store_event_new *e, int64_t *id,
				 char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int64_t now = clock_now_ms();

	if (!e->user || !e->headline || !*e->headline)
		return kith_why(why, KITH_EINVAL, "an event needs a user and a headline");
	if (sqlite3_prepare_v2(st->db, "INSERT INTO events(user, follow_prompt_id, headline, summary,"
				       " url, published_at, embedding, created_at)"
				       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
				       " ON CONFLICT DO NOTHING", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "adding an event");
	store_bind_text(s, 1, e->user);
	store_bind_id(s, 2, e->follow_prompt_id);
	store_bind_text(s, 3, e->headline);
	store_bind_text(s, 4, e->summary ? e->summary : "");
	store_bind_text(s, 5, e->url && *e->url ? e->url : NULL);
	sqlite3_bind_int64(s, 6, e->published_at ? e->published_at : now);
	store_bind_vec(s, 7, e->embedding, e->dim);
	sqlite3_bind_int64(s, 8, now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = store_fail(st, why, "adding an event");
	} else if (sqlite3_changes(st->db) == 1) {
		if (id)
			*id = sqlite3_last_insert_rowid(st->db);
	} else {
		sqlite3_finalize(s);
		s = NULL;
		rc = KITH_EEXIST;
		if (sqlite3_prepare_v2(st->db, "SELECT id FROM events WHERE user = ? AND url = ?",
				       -1, &s, NULL) != SQLITE_OK)
			return store_fail(st, why, "adding an event");
		store_bind_text(s, 1, e->user);
		store_bind_text(s, 2, e->url);
		if (sqlite3_step(s) == SQLITE_ROW && id)
			*id = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_event_link_entity(struct store *st, int64_t event_id, int64_t entity_id,
					 char **why)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO event_entities(event_id, entity_id)"
				       " VALUES (?, ?)", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "linking an event");
	sqlite3_bind_int64(s, 1, event_id);
	sqlite3_bind_int64(s, 2, entity_id);
	return store_step_done(st, s, why, "linking an event");
}

enum kith_status store_events_read(struct store *st, sqlite3_stmt *s, struct store_event **out,
				   size_t *n, char **why)
{
	size_t cap = 0;
	bool with_vec = sqlite3_column_count(s) > 9;
	enum kith_status rc = KITH_OK;

	while (store_next_row(st, s, &rc, why, "reading events")) {
		struct store_event *e;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		e = &(*out)[(*n)++];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(s, 0);
		e->user = store_column_dup(s, 1);
		e->follow_prompt_id = sqlite3_column_int64(s, 2);
		e->headline = store_column_dup(s, 3);
		e->summary = store_column_dup(s, 4);
		e->url = store_column_dup(s, 5);
		e->published_at = sqlite3_column_int64(s, 6);
		e->created_at = sqlite3_column_int64(s, 7);
		e->notified_at = sqlite3_column_int64(s, 8);
		if (with_vec)
			e->embedding = store_column_vec(s, 9, &e->dim);
	}
	if (rc) {
		store_events_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum kith_status store_events_recent(struct store *st, const char *user, int64_t since,
				     struct store_event **out, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id, user, follow_prompt_id, headline, summary, url,"
				       " published_at, created_at, notified_at, embedding FROM events"
				       " WHERE user = ? AND created_at >= ?"
				       " ORDER BY published_at DESC, id DESC", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "reading events");
	store_bind_text(s, 1, user);
	sqlite3_bind_int64(s, 2, since);
	return store_events_read(st, s, out, n, why);
}

enum kith_status store_event_mark_notified(struct store *st, int64_t id, int64_t at, char **why)
{
	return update_id(st, "UPDATE events SET notified_at = ? WHERE id = ?",
			 at ? at : clock_now_ms(), id, why, "marking an event notified");
}

enum kith_status store_event_entities(struct store *st, int64_t event_id, int64_t **ids,
				      size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*ids = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT entity_id FROM event_entities WHERE event_id = ?"
				       " ORDER BY entity_id", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading event links");
	sqlite3_bind_int64(s, 1, event_id);
	while (store_next_row(st, s, &rc, why, "reading event links")) {
		*ids = xgrow(*ids, &cap, *n + 1, sizeof(**ids));
		(*ids)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	if (rc) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

void store_events_free(struct store_event *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].user);
		free(rows[i].headline);
		free(rows[i].summary);
		free(rows[i].url);
		free(rows[i].embedding);
	}
	free(rows);
}

/* ---- user schedules ------------------------------------------------------- */

enum kith_status store_user_schedule_add(struct store *st,
					 const struct store_user_schedule_new *u, int64_t *id,
					 char **why)
{
	sqlite3_stmt *s = NULL;

	if (!u->user || !u->cron || !u->prompt)
		return kith_why(why, KITH_EINVAL, "a schedule needs a user, a cron and a prompt");
	if (sqlite3_prepare_v2(st->db, "INSERT INTO user_schedules(user, cron, timezone, prompt,"
				       " description, created_at, channel, conversation)"
				       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "adding a schedule");
	store_bind_text(s, 1, u->user);
	store_bind_text(s, 2, u->cron);
	store_bind_text(s, 3, u->timezone ? u->timezone : "UTC");
	store_bind_text(s, 4, u->prompt);
	store_bind_text(s, 5, u->description ? u->description : "");
	sqlite3_bind_int64(s, 6, clock_now_ms());
	store_bind_text(s, 7, u->channel);
	store_bind_text(s, 8, u->conversation);
	return store_step_insert(st, s, id, why, "adding a schedule");
}

enum kith_status store_user_schedules_list(struct store *st, const char *user,
					   struct store_user_schedule **out, size_t *n,
					   char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id, user, cron, timezone, prompt, description,"
				       " created_at, last_fired_at, channel, conversation FROM user_schedules"
				       " WHERE (?1 IS NULL OR user = ?1) ORDER BY created_at, id",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading schedules");
	store_bind_text(s, 1, user);
	while (store_next_row(st, s, &rc, why, "reading schedules")) {
		struct store_user_schedule *u;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		u = &(*out)[(*n)++];
		u->id = sqlite3_column_int64(s, 0);
		u->user = store_column_dup(s, 1);
		u->cron = store_column_dup(s, 2);
		u->timezone = store_column_dup(s, 3);
		u->prompt = store_column_dup(s, 4);
		u->description = store_column_dup(s, 5);
		u->created_at = sqlite3_column_int64(s, 6);
		u->last_fired_at = sqlite3_column_int64(s, 7);
		u->channel = store_column_dup(s, 8);
		u->conversation = store_column_dup(s, 9);
	}
	if (rc) {
		store_user_schedules_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum kith_status store_user_schedule_fired(struct store *st, int64_t id, int64_t at, char **why)
{
	return update_id(st, "UPDATE user_schedules SET last_fired_at = ? WHERE id = ?",
			 at ? at : clock_now_ms(), id, why, "marking a schedule fired");
}

enum kith_status store_user_schedule_delete(struct store *st, int64_t id, char **why)
{
	return update_id(st, "DELETE FROM user_schedules WHERE ? IS NOT NULL AND id = ?", 1, id,
			 why, "deleting a schedule");
}

void store_user_schedules_free(struct store_user_schedule *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].user);
		free(rows[i].cron);
		free(rows[i].timezone);
		free(rows[i].prompt);
		free(rows[i].description);
		free(rows[i].channel);
		free(rows[i].conversation);
	}
	free(rows);
}

/* ---- user profile --------------------------------------------------------- */

enum kith_status store_user_profile_get(struct store *st, const char *user,
					struct store_user_profile *out, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int r;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, "SELECT name, location, timezone, date_of_birth, updated_at"
				       " FROM user_profile WHERE user = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "reading a profile");
	store_bind_text(s, 1, user);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		out->name = store_column_dup(s, 0);
		out->location = store_column_dup(s, 1);
		out->timezone = store_column_dup(s, 2);
		out->date_of_birth = store_column_dup(s, 3);
		out->updated_at = sqlite3_column_int64(s, 4);
	} else if (r == SQLITE_DONE) {
		rc = kith_why(why, KITH_ENOTFOUND, "no profile for that user");
	} else {
		rc = store_fail(st, why, "reading a profile");
	}
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_user_profile_put(struct store *st, const char *user,
					const struct store_user_profile *p, char **why)
{
	sqlite3_stmt *s = NULL;

	if (!user)
		return kith_why(why, KITH_EINVAL, "a profile needs a user");
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO user_profile(user, name, location,"
				       " timezone, date_of_birth, updated_at)"
				       " VALUES (?, ?, ?, ?, ?, ?)", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "saving a profile");
	store_bind_text(s, 1, user);
	store_bind_text(s, 2, p->name);
	store_bind_text(s, 3, p->location);
	store_bind_text(s, 4, p->timezone);
	store_bind_text(s, 5, p->date_of_birth);
	sqlite3_bind_int64(s, 6, clock_now_ms());
	return store_step_done(st, s, why, "saving a profile");
}

void store_user_profile_release(struct store_user_profile *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->location);
	free(p->timezone);
	free(p->date_of_birth);
	memset(p, 0, sizeof(*p));
}
