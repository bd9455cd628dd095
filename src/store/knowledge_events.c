/* knowledge_events.c — the EventAgent's cheap questions of the store.
 *
 * The scheduler asks "is any follow prompt due?" every tick, so it is one
 * COUNT over follow_prompts with no rows copied out (the full rows come
 * from store_follow_prompts_by_poll only when a poll will happen). */
#include "store/store_int.h"

#include <string.h>

enum kith_status store_follow_prompts_due_count(struct store *st, int64_t polled_before,
						size_t *n, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM follow_prompts"
				       " WHERE last_polled_at IS NULL OR last_polled_at <= ?",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "counting due follow prompts");
	sqlite3_bind_int64(s, 1, polled_before);
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, why, "counting due follow prompts");
	sqlite3_finalize(s);
	return rc;
}
