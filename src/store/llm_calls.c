/* llm_calls.c — one row per LLM call, for debugging and cost accounting. */
#include "store/store_int.h"
#include "core/clock.h"

enum kith_status store_llm_call_add(struct store *st, const struct store_llm_call *c,
				    int64_t *id, char **why)
{
	static const char sql[] =
		"INSERT INTO llm_calls(created_at, role, provider, model, message_id, ok, error,"
		" http_status, attempts, duration_ms, prompt_tokens, completion_tokens, request, response)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "recording an LLM call");
	sqlite3_bind_int64(s, 1, clock_now_ms());
	store_bind_text(s, 2, c->role);
	store_bind_text(s, 3, c->provider ? c->provider : "unknown");
	store_bind_text(s, 4, c->model);
	if (c->message_id > 0)
		sqlite3_bind_int64(s, 5, c->message_id);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_int(s, 6, c->ok ? 1 : 0);
	store_bind_text(s, 7, c->error);
	if (c->http_status > 0)
		sqlite3_bind_int64(s, 8, c->http_status);
	else
		sqlite3_bind_null(s, 8);
	sqlite3_bind_int(s, 9, c->attempts > 0 ? c->attempts : 1);
	sqlite3_bind_int64(s, 10, c->duration_ms);
	if (c->prompt_tokens >= 0)
		sqlite3_bind_int64(s, 11, c->prompt_tokens);
	else
		sqlite3_bind_null(s, 11);
	if (c->completion_tokens >= 0)
		sqlite3_bind_int64(s, 12, c->completion_tokens);
	else
		sqlite3_bind_null(s, 12);
	store_bind_text(s, 13, c->request);
	store_bind_text(s, 14, c->response);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_fail(st, why, "recording an LLM call");
	else if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	sqlite3_finalize(s);
	return rc;
}
