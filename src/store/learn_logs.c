/* learn_logs.c — the searches one /learn prompt has made, for the
 * LearnAgent's follow-up query (knowledge/learn.c).
 *
 * Kept apart from search_log.c so the generic search_log row (which does
 * not carry learn_prompt_id) stays as it is: the agent needs only the
 * query and the answer text, oldest first. */
#include "store/store_int.h"

#include "core/alloc.h"

#include <stdlib.h>

enum kith_status store_learn_prompt_searches(struct store *st, int64_t prompt_id,
					     char ***queries, char ***responses, size_t *n,
					     char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	size_t cap = 0;

	*queries = NULL;
	*responses = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT query, response FROM search_log"
				       " WHERE learn_prompt_id = ? ORDER BY created_at, id",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading a learn prompt's searches");
	sqlite3_bind_int64(s, 1, prompt_id);
	while (store_next_row(st, s, &rc, why, "reading a learn prompt's searches")) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*queries = xrealloc(*queries, cap * sizeof(**queries));
			*responses = xrealloc(*responses, cap * sizeof(**responses));
		}
		(*queries)[*n] = store_column_dup(s, 0);
		(*responses)[*n] = store_column_dup(s, 1);
		if (!(*queries)[*n])
			(*queries)[*n] = xstrdup("");
		if (!(*responses)[*n])
			(*responses)[*n] = xstrdup("");
		(*n)++;
	}
	if (rc) {
		store_strings_free(*queries, *n);
		store_strings_free(*responses, *n);
		*queries = NULL;
		*responses = NULL;
		*n = 0;
	}
	return rc;
}
