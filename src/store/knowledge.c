/* knowledge.c — rows of Penny's knowledge base: entities, facts,
 * engagements, and the extraction's queue (knowledge/ owns the meaning).
 *
 * Embeddings are float32 vectors kept as little-endian BLOBs with no
 * header (the reference's format; store_bind_vec/store_column_vec in
 * store.c), so the dimension is bytes / 4.  The extraction's progress
 * over messages lives in knowledge_extracted rather than a column on
 * messages, and every unit of extraction runs inside
 * store_knowledge_begin/end so its rows and its progress mark commit
 * together: a crash or a cancel never leaves half a unit behind. */
#include "store/store_int.h"

#include "core/alloc.h"
#include "core/clock.h"

#include <ctype.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

/* Lower-case ASCII, trim, collapse inner whitespace (UTF-8 bytes kept). */
static char *norm_name(const char *name)
{
	size_t n = strlen(name), o = 0;
	char *out = xmalloc(n + 1);
	bool space = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (isspace(c)) {
			space = o > 0;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = false;
		out[o++] = (char)tolower(c);
	}
	out[o] = '\0';
	return out;
}

static enum kith_status exec_id(struct store *st, const char *sql, int64_t id, char **why,
				const char *doing)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, doing);
	sqlite3_bind_int64(s, 1, id);
	return store_step_done(st, s, why, doing);
}

/* ---- entities ------------------------------------------------------------- */

#define ENTITY_COLUMNS \
	"id, user, name, tagline, embedding, heat, heat_cooldown, vetoed, created_at," \
	" updated_at, last_enriched_at, last_notified_at"

static void entity_row(sqlite3_stmt *s, struct store_entity *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(s, 0);
	e->user = store_column_dup(s, 1);
	e->name = store_column_dup(s, 2);
	e->tagline = store_column_dup(s, 3);
	e->embedding = store_column_vec(s, 4, &e->dim);
	e->heat = sqlite3_column_double(s, 5);
	e->heat_cooldown = sqlite3_column_int(s, 6);
	e->vetoed = sqlite3_column_int(s, 7) != 0;
	e->created_at = sqlite3_column_int64(s, 8);
	e->updated_at = sqlite3_column_int64(s, 9);
	e->last_enriched_at = sqlite3_column_int64(s, 10);
	e->last_notified_at = sqlite3_column_int64(s, 11);
}

void store_entity_release(struct store_entity *e)
{
	if (!e)
		return;
	free(e->user);
	free(e->name);
	free(e->tagline);
	free(e->embedding);
	memset(e, 0, sizeof(*e));
}

void store_entities_free(struct store_entity *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_entity_release(&rows[i]);
	free(rows);
}

enum kith_status store_entity_add(struct store *st, const struct store_entity_new *e,
				  int64_t *id, char **why)
{
	static const char sql[] =
		"INSERT INTO entities(user, name, tagline, embedding, heat, created_at, updated_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(user, name) DO NOTHING";
	sqlite3_stmt *s = NULL;
	int64_t now = e->created_at ? e->created_at : clock_now_ms();
	enum kith_status rc = KITH_OK;
	char *name;

	if (!e->user || !e->name)
		return kith_why(why, KITH_EINVAL, "an entity needs a user and a name");
	name = norm_name(e->name);
	if (!*name) {
		free(name);
		return kith_why(why, KITH_EINVAL, "an entity needs a non-empty name");
	}
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		rc = store_fail(st, why, "adding an entity");
		goto out;
	}
	store_bind_text(s, 1, e->user);
	store_bind_text(s, 2, name);
	store_bind_text(s, 3, e->tagline && *e->tagline ? e->tagline : NULL);
	store_bind_vec(s, 4, e->embedding, e->dim);
	sqlite3_bind_double(s, 5, e->heat >= 0 ? e->heat : 0);
	sqlite3_bind_int64(s, 6, now);
	sqlite3_bind_int64(s, 7, now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = store_fail(st, why, "adding an entity");
		goto out;
	}
	if (sqlite3_changes(st->db) == 1) {
		if (id)
			*id = sqlite3_last_insert_rowid(st->db);
	} else {
		struct store_entity old;

		rc = store_entity_find(st, e->user, name, &old, why);
		if (rc == KITH_OK) {
			if (id)
				*id = old.id;
			store_entity_release(&old);
			rc = KITH_EEXIST;
		}
	}
out:
	sqlite3_finalize(s);
	free(name);
	return rc;
}

static enum kith_status entity_one(struct store *st, sqlite3_stmt *s, struct store_entity *out,
				   char **why)
{
	enum kith_status rc = KITH_OK;
	int r = sqlite3_step(s);

	if (r == SQLITE_ROW)
		entity_row(s, out);
	else if (r == SQLITE_DONE)
		rc = kith_why(why, KITH_ENOTFOUND, "no such entity");
	else
		rc = store_fail(st, why, "reading an entity");
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_entity_get(struct store *st, int64_t id, struct store_entity *out,
				  char **why)
{
	sqlite3_stmt *s = NULL;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, "SELECT " ENTITY_COLUMNS " FROM entities WHERE id = ?", -1,
			       &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading an entity");
	sqlite3_bind_int64(s, 1, id);
	return entity_one(st, s, out, why);
}

enum kith_status store_entity_find(struct store *st, const char *user, const char *name,
				   struct store_entity *out, char **why)
{
	sqlite3_stmt *s = NULL;
	char *norm = norm_name(name ? name : "");
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, "SELECT " ENTITY_COLUMNS " FROM entities"
				       " WHERE user = ? AND name = ?", -1, &s, NULL) != SQLITE_OK) {
		free(norm);
		return store_fail(st, why, "finding an entity");
	}
	store_bind_text(s, 1, user);
	store_bind_text(s, 2, norm);
	rc = entity_one(st, s, out, why);
	free(norm);
	return rc;
}

static enum kith_status entity_rows(struct store *st, sqlite3_stmt *s, struct store_entity **out,
				    size_t *n, char **why)
{
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	while (store_next_row(st, s, &rc, why, "reading entities")) {
		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		entity_row(s, &(*out)[(*n)++]);
	}
	if (rc) {
		store_entities_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum kith_status store_entities_for_user(struct store *st, const char *user, size_t limit,
					 struct store_entity **out, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT " ENTITY_COLUMNS " FROM entities WHERE user = ?"
				       " ORDER BY updated_at DESC, id DESC LIMIT ?", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "reading entities");
	store_bind_text(s, 1, user);
	sqlite3_bind_int64(s, 2, limit ? (sqlite3_int64)limit : -1);
	return entity_rows(st, s, out, n, why);
}

enum kith_status store_entities_without_embedding(struct store *st, size_t limit,
						  struct store_entity **out, size_t *n,
						  char **why)
{
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT " ENTITY_COLUMNS " FROM entities"
				       " WHERE embedding IS NULL ORDER BY created_at DESC, id DESC"
				       " LIMIT ?", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading entities");
	sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	return entity_rows(st, s, out, n, why);
}

enum kith_status store_entity_set_heat(struct store *st, int64_t id, double heat, int cooldown,
				       bool vetoed, char **why)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, "UPDATE entities SET heat = ?, heat_cooldown = ?,"
				       " vetoed = ? WHERE id = ?", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "saving heat");
	sqlite3_bind_double(s, 1, heat >= 0 ? heat : 0);
	sqlite3_bind_int(s, 2, cooldown > 0 ? cooldown : 0);
	sqlite3_bind_int(s, 3, vetoed);
	sqlite3_bind_int64(s, 4, id);
	return store_step_done(st, s, why, "saving heat");
}

enum kith_status store_entity_set_tagline(struct store *st, int64_t id, const char *tagline,
					  char **why)
{
	sqlite3_stmt *s = NULL;

	if (!tagline || !*tagline)
		return KITH_OK;
	if (sqlite3_prepare_v2(st->db, "UPDATE entities SET tagline = ? WHERE id = ?"
				       " AND (tagline IS NULL OR tagline = '')", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "saving a tagline");
	store_bind_text(s, 1, tagline);
	sqlite3_bind_int64(s, 2, id);
	return store_step_done(st, s, why, "saving a tagline");
}

enum kith_status store_entity_set_embedding(struct store *st, int64_t id, const float *vec,
					    size_t dim, char **why)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, "UPDATE entities SET embedding = ? WHERE id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "saving an entity embedding");
	store_bind_vec(s, 1, vec, dim);
	sqlite3_bind_int64(s, 2, id);
	return store_step_done(st, s, why, "saving an entity embedding");
}

enum kith_status store_entity_delete(struct store *st, int64_t id, char **why)
{
	/* Foreign keys cascade to facts, engagements and event links. */
	return exec_id(st, "DELETE FROM entities WHERE id = ?", id, why, "deleting an entity");
}

/* ---- facts ---------------------------------------------------------------- */

#define FACT_COLUMNS \
	"f.id, f.entity_id, f.content, f.embedding, f.source_search_log_id," \
	" f.source_message_id, f.learned_at, f.notified_at"

void store_facts_free(struct store_fact *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].content);
		free(rows[i].embedding);
	}
	free(rows);
}

static enum kith_status fact_rows(struct store *st, sqlite3_stmt *s, struct store_fact **out,
				  size_t *n, char **why)
{
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	while (store_next_row(st, s, &rc, why, "reading facts")) {
		struct store_fact *f;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		f = &(*out)[(*n)++];
		memset(f, 0, sizeof(*f));
		f->id = sqlite3_column_int64(s, 0);
		f->entity_id = sqlite3_column_int64(s, 1);
		f->content = store_column_dup(s, 2);
		f->embedding = store_column_vec(s, 3, &f->dim);
		f->source_search_log_id = sqlite3_column_int64(s, 4);
		f->source_message_id = sqlite3_column_int64(s, 5);
		f->learned_at = sqlite3_column_int64(s, 6);
		f->notified_at = sqlite3_column_int64(s, 7);
		if (!f->content)
			f->content = xstrdup("");
	}
	if (rc) {
		store_facts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum kith_status store_fact_add(struct store *st, const struct store_fact_new *f, int64_t *id,
				char **why)
{
	static const char sql[] =
		"INSERT INTO facts(entity_id, content, embedding, source_search_log_id,"
		" source_message_id, learned_at, notified_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *s = NULL;
	int64_t now = f->learned_at ? f->learned_at : clock_now_ms();
	enum kith_status rc;

	if (!f->entity_id || !f->content || !*f->content)
		return kith_why(why, KITH_EINVAL, "a fact needs an entity and content");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "adding a fact");
	sqlite3_bind_int64(s, 1, f->entity_id);
	store_bind_text(s, 2, f->content);
	store_bind_vec(s, 3, f->embedding, f->dim);
	store_bind_id(s, 4, f->source_search_log_id);
	store_bind_id(s, 5, f->source_message_id);
	sqlite3_bind_int64(s, 6, now);
	store_bind_id(s, 7, f->notified_at);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = store_fail(st, why, "adding a fact");
		sqlite3_finalize(s);
		return rc;
	}
	if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(st->db, "UPDATE entities SET updated_at = MAX(updated_at, ?)"
				       " WHERE id = ?", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "adding a fact");
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, f->entity_id);
	return store_step_done(st, s, why, "adding a fact");
}

enum kith_status store_facts_for_entity(struct store *st, int64_t entity_id,
					struct store_fact **out, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT " FACT_COLUMNS " FROM facts f WHERE f.entity_id = ?"
				       " ORDER BY f.learned_at, f.id", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading facts");
	sqlite3_bind_int64(s, 1, entity_id);
	return fact_rows(st, s, out, n, why);
}

enum kith_status store_facts_unnotified(struct store *st, const char *user,
					struct store_fact **out, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT " FACT_COLUMNS " FROM facts f"
				       " JOIN entities e ON e.id = f.entity_id"
				       " WHERE e.user = ? AND e.vetoed = 0 AND f.notified_at IS NULL"
				       " ORDER BY f.learned_at DESC, f.id DESC", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "reading facts");
	store_bind_text(s, 1, user);
	return fact_rows(st, s, out, n, why);
}

enum kith_status store_facts_without_embedding(struct store *st, size_t limit,
					       struct store_fact **out, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT " FACT_COLUMNS " FROM facts f"
				       " WHERE f.embedding IS NULL ORDER BY f.id LIMIT ?", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "reading facts");
	sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	return fact_rows(st, s, out, n, why);
}

enum kith_status store_fact_set_embedding(struct store *st, int64_t id, const float *vec,
					  size_t dim, char **why)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, "UPDATE facts SET embedding = ? WHERE id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "saving a fact embedding");
	store_bind_vec(s, 1, vec, dim);
	sqlite3_bind_int64(s, 2, id);
	return store_step_done(st, s, why, "saving a fact embedding");
}

enum kith_status store_facts_mark_notified(struct store *st, const int64_t *ids, size_t n,
					   int64_t at, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	if (sqlite3_prepare_v2(st->db, "UPDATE facts SET notified_at = ? WHERE id = ?"
				       " AND notified_at IS NULL", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "marking facts notified");
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, at ? at : clock_now_ms());
		sqlite3_bind_int64(s, 2, ids[i]);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = store_fail(st, why, "marking facts notified");
	}
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_fact_count(struct store *st, int64_t entity_id, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM facts WHERE entity_id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "counting facts");
	sqlite3_bind_int64(s, 1, entity_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, why, "counting facts");
	sqlite3_finalize(s);
	return rc;
}

/* ---- engagements ---------------------------------------------------------- */

enum kith_status store_engagement_add(struct store *st, const struct store_engagement_new *e,
				      int64_t *id, char **why)
{
	static const char sql[] =
		"INSERT INTO engagements(user, entity_id, type, valence, strength, source,"
		" source_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *s = NULL;

	if (!e->user || !e->type || !e->valence)
		return kith_why(why, KITH_EINVAL, "an engagement needs a user, type and valence");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "adding an engagement");
	store_bind_text(s, 1, e->user);
	store_bind_id(s, 2, e->entity_id);
	store_bind_text(s, 3, e->type);
	store_bind_text(s, 4, e->valence);
	sqlite3_bind_double(s, 5, e->strength < 0 ? 0 : e->strength > 1 ? 1 : e->strength);
	store_bind_text(s, 6, e->source);
	store_bind_id(s, 7, e->source_message_id);
	sqlite3_bind_int64(s, 8, e->created_at ? e->created_at : clock_now_ms());
	return store_step_insert(st, s, id, why, "adding an engagement");
}

enum kith_status store_engagements_for_entity(struct store *st, int64_t entity_id,
					      struct store_engagement **out, size_t *n,
					      char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id, user, entity_id, type, valence, strength, source,"
				       " source_message_id, created_at FROM engagements"
				       " WHERE entity_id = ? ORDER BY created_at, id", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "reading engagements");
	sqlite3_bind_int64(s, 1, entity_id);
	while (store_next_row(st, s, &rc, why, "reading engagements")) {
		struct store_engagement *g;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		g = &(*out)[(*n)++];
		g->id = sqlite3_column_int64(s, 0);
		g->user = store_column_dup(s, 1);
		g->entity_id = sqlite3_column_int64(s, 2);
		g->type = store_column_dup(s, 3);
		g->valence = store_column_dup(s, 4);
		g->strength = sqlite3_column_double(s, 5);
		g->source = store_column_dup(s, 6);
		g->source_message_id = sqlite3_column_int64(s, 7);
		g->created_at = sqlite3_column_int64(s, 8);
	}
	if (rc) {
		store_engagements_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void store_engagements_free(struct store_engagement *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].user);
		free(rows[i].type);
		free(rows[i].valence);
		free(rows[i].source);
	}
	free(rows);
}

/* ---- the extraction's queue ----------------------------------------------- */

enum kith_status store_knowledge_messages_pending(struct store *st, size_t limit,
						  struct store_message **out, size_t *n,
						  char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT m.id, m.channel, m.conversation, m.author_id, m.author_name,"
			       " m.content, m.external_id, m.parent_id, m.created_at FROM messages m"
			       " WHERE m.direction = 'incoming' AND NOT EXISTS (SELECT 1 FROM"
			       " knowledge_extracted k WHERE k.message_id = m.id)"
			       " ORDER BY m.id LIMIT ?", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading unextracted messages");
	sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	while (store_next_row(st, s, &rc, why, "reading unextracted messages")) {
		struct store_message *m;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		m = &(*out)[(*n)++];
		memset(m, 0, sizeof(*m));
		m->id = sqlite3_column_int64(s, 0);
		m->direction = MSG_INCOMING;
		m->channel = store_column_dup(s, 1);
		m->conversation = store_column_dup(s, 2);
		m->author_id = store_column_dup(s, 3);
		m->author_name = store_column_dup(s, 4);
		m->content = store_column_dup(s, 5);
		m->external_id = store_column_dup(s, 6);
		m->parent_id = sqlite3_column_int64(s, 7);
		m->created_at = sqlite3_column_int64(s, 8);
		if (!m->content)
			m->content = xstrdup("");
	}
	if (rc) {
		store_messages_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum kith_status store_knowledge_message_done(struct store *st, int64_t id, char **why)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO knowledge_extracted(message_id,"
				       " extracted_at) VALUES (?, ?)", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "marking a message extracted");
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, clock_now_ms());
	return store_step_done(st, s, why, "marking a message extracted");
}

enum kith_status store_knowledge_logs_pending(struct store *st, bool enrichment, size_t limit,
					      struct store_search_log **out, size_t *n,
					      char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, created_at, query, response, duration_ms, error, trigger,"
			       " author_id FROM search_log WHERE extracted = 0"
			       " AND (trigger = 'penny_enrichment') = ?"
			       " ORDER BY created_at, id LIMIT ?", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading unextracted searches");
	sqlite3_bind_int(s, 1, enrichment);
	sqlite3_bind_int64(s, 2, limit ? (sqlite3_int64)limit : -1);
	while (store_next_row(st, s, &rc, why, "reading unextracted searches")) {
		struct store_search_log *l;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		l = &(*out)[(*n)++];
		memset(l, 0, sizeof(*l));
		l->id = sqlite3_column_int64(s, 0);
		l->created_at = sqlite3_column_int64(s, 1);
		l->query = store_column_dup(s, 2);
		l->response = store_column_dup(s, 3);
		l->sources = xcalloc(1, sizeof(*l->sources));
		l->duration_ms = sqlite3_column_int64(s, 4);
		l->error = store_column_dup(s, 5);
		l->trigger = store_column_dup(s, 6);
		l->author_id = store_column_dup(s, 7);
		if (!l->query)
			l->query = xstrdup("");
		if (!l->response)
			l->response = xstrdup("");
	}
	if (rc) {
		store_search_logs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum kith_status store_knowledge_backlog(struct store *st, struct store_knowledge_backlog *out,
					 char **why)
{
	static const char sql[] =
		"SELECT (SELECT COUNT(*) FROM messages m WHERE m.direction = 'incoming'"
		"  AND NOT EXISTS (SELECT 1 FROM knowledge_extracted k WHERE k.message_id = m.id)),"
		" (SELECT COUNT(*) FROM search_log WHERE extracted = 0"
		"  AND trigger <> 'penny_enrichment'),"
		" (SELECT COUNT(*) FROM search_log WHERE extracted = 0"
		"  AND trigger = 'penny_enrichment'),"
		" (SELECT COUNT(*) FROM entities WHERE embedding IS NULL)"
		" + (SELECT COUNT(*) FROM facts WHERE embedding IS NULL)";
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "counting the extraction backlog");
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->messages = (size_t)sqlite3_column_int64(s, 0);
		out->logs = (size_t)sqlite3_column_int64(s, 1);
		out->enrichment_logs = (size_t)sqlite3_column_int64(s, 2);
		out->missing_embeddings = (size_t)sqlite3_column_int64(s, 3);
	} else {
		rc = store_fail(st, why, "counting the extraction backlog");
	}
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_knowledge_begin(struct store *st, char **why)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, why, "starting a knowledge update");
	return KITH_OK;
}

enum kith_status store_knowledge_end(struct store *st, enum kith_status rc, char **why)
{
	if (!rc && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return KITH_OK;
	if (!rc)
		rc = store_fail(st, why, "saving a knowledge update");
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
