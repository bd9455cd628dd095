/* search_log.c — one row per web search (tools/search.c).
 *
 * Sources are kept as a JSON array of strings in one column: they are
 * always read and written together and never queried one by one, so a
 * child table would buy nothing.  A row that holds something other than an
 * array of strings there reads back as no sources, never as a failure. */
#include "store/store_int.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <string.h>

#define COLUMNS \
	"id, created_at, query, response, sources, image_url, duration_ms, error, trigger," \
	" author_id, extracted"

static char *dup_column(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static char *sources_json(const char *const *sources, size_t n)
{
	json_t *a = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		if (sources[i])
			json_array_append_new(a, json_string(sources[i]));
	text = kjson_dump(a, false);
	json_decref(a);
	return text;
}

static void sources_parse(const char *text, struct store_search_log *row)
{
	json_t *a = text ? kjson_parse(text, strlen(text), NULL) : NULL, *v;
	size_t i, cap = 0;

	row->sources = xgrow(NULL, &cap, 1, sizeof(*row->sources));
	row->sources[0] = NULL;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			continue;
		row->sources = xgrow(row->sources, &cap, row->nsources + 2, sizeof(*row->sources));
		row->sources[row->nsources++] = xstrdup(json_string_value(v));
		row->sources[row->nsources] = NULL;
	}
	json_decref(a);
}

enum kith_status store_search_log_add(struct store *st, const struct store_search_log_new *e,
				      int64_t *id, char **why)
{
	static const char sql[] =
		"INSERT INTO search_log(created_at, query, response, sources, image_url, duration_ms,"
		" error, trigger, author_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *s = NULL;
	char *sources;
	enum kith_status rc = KITH_OK;

	if (!e->query)
		return kith_why(why, KITH_EINVAL, "a search log row needs a query");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "logging a search");
	sources = sources_json(e->sources, e->nsources);
	sqlite3_bind_int64(s, 1, e->created_at ? e->created_at : clock_now_ms());
	store_bind_text(s, 2, e->query);
	store_bind_text(s, 3, e->response ? e->response : "");
	store_bind_text(s, 4, sources);
	store_bind_text(s, 5, e->image_url);
	sqlite3_bind_int64(s, 6, e->duration_ms);
	store_bind_text(s, 7, e->error);
	store_bind_text(s, 8, e->trigger ? e->trigger : "user_message");
	store_bind_text(s, 9, e->author_id);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_fail(st, why, "logging a search");
	else if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	sqlite3_finalize(s);
	free(sources);
	return rc;
}

static enum kith_status select_rows(struct store *st, const char *sql, size_t limit,
				    struct store_search_log **out, size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading the search log");
	sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_search_log *row;

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		row = &(*out)[(*n)++];
		memset(row, 0, sizeof(*row));
		row->id = sqlite3_column_int64(s, 0);
		row->created_at = sqlite3_column_int64(s, 1);
		row->query = dup_column(s, 2);
		row->response = dup_column(s, 3);
		sources_parse((const char *)sqlite3_column_text(s, 4), row);
		row->image_url = dup_column(s, 5);
		row->duration_ms = sqlite3_column_int64(s, 6);
		row->error = dup_column(s, 7);
		row->trigger = dup_column(s, 8);
		row->author_id = dup_column(s, 9);
		row->extracted = sqlite3_column_int(s, 10) != 0;
	}
	if (r != SQLITE_DONE) {
		rc = store_fail(st, why, "reading the search log");
		store_search_logs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_search_log_recent(struct store *st, size_t limit,
					 struct store_search_log **out, size_t *n, char **why)
{
	return select_rows(st, "SELECT " COLUMNS " FROM search_log"
			       " ORDER BY created_at DESC, id DESC LIMIT ?", limit, out, n, why);
}

enum kith_status store_search_log_unextracted(struct store *st, size_t limit,
					      struct store_search_log **out, size_t *n,
					      char **why)
{
	return select_rows(st, "SELECT " COLUMNS " FROM search_log WHERE extracted = 0"
			       " ORDER BY created_at, id LIMIT ?", limit, out, n, why);
}

enum kith_status store_search_log_mark_extracted(struct store *st, int64_t id, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	if (sqlite3_prepare_v2(st->db, "UPDATE search_log SET extracted = 1 WHERE id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "marking a search as extracted");
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_fail(st, why, "marking a search as extracted");
	else if (sqlite3_changes(st->db) == 0)
		rc = kith_why(why, KITH_ENOTFOUND, "no search log row %lld", (long long)id);
	sqlite3_finalize(s);
	return rc;
}

void store_search_logs_free(struct store_search_log *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct store_search_log *r = &rows[i];

		free(r->query);
		free(r->response);
		for (size_t k = 0; k < r->nsources; k++)
			free(r->sources[k]);
		free(r->sources);
		free(r->image_url);
		free(r->error);
		free(r->trigger);
		free(r->author_id);
	}
	free(rows);
}
