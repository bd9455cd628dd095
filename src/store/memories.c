/* memories.c — the memories table and its FTS5 keyword index.
 *
 * Rows are deduplicated by (scope, digest); the caller computes the digest
 * (memory/ hashes the scope and the normalised text).  Keyword search never
 * hands user text to FTS5's query language: store_fts_query() keeps only
 * word characters, quotes every word and ORs them, so quotes, '*', NEAR(,
 * '-', '^' and "column:" filters in a question are plain words or nothing. */
#include "store/store_int.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"

#include <stdlib.h>
#include <string.h>

#define FTS_QUERY_WORDS 64       /* words of a question that are searched */
#define FTS_WORD_MAX 64          /* bytes of one word */

/* Columns of every SELECT that fills a struct store_memory. */
#define MEMORY_COLUMNS \
	"id, scope, speaker, text, tags, context, salience, created_at, stored_at, source," \
	" digest, embedded_with"

static void read_row(sqlite3_stmt *s, struct store_memory *m)
{
	m->id = sqlite3_column_int64(s, 0);
	m->scope = store_column_dup(s, 1);
	m->speaker = store_column_dup(s, 2);
	m->text = store_column_dup(s, 3);
	m->tags = store_column_dup(s, 4);
	m->context = store_column_dup(s, 5);
	m->salience = sqlite3_column_double(s, 6);
	m->created_at = sqlite3_column_int64(s, 7);
	m->stored_at = sqlite3_column_int64(s, 8);
	m->source = store_column_dup(s, 9);
	m->digest = store_column_dup(s, 10);
	m->embedded_with = store_column_dup(s, 11);
}

/* Step s to the end, appending rows. */
static enum kith_status read_rows(struct store *st, sqlite3_stmt *s, struct store_memory **rows,
				  size_t *count, size_t *cap, char **why, const char *doing)
{
	int r;

	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		*rows = xgrow(*rows, cap, *count + 1, sizeof(**rows));
		read_row(s, &(*rows)[(*count)++]);
	}
	return r == SQLITE_DONE ? KITH_OK : store_fail(st, why, doing);
}

/* Run a SELECT of MEMORY_COLUMNS whose parameters are (text, limit; 0 = no
 * limit) and hand its rows to the caller (none on failure). */
static enum kith_status select_rows(struct store *st, const char *sql, const char *text,
				    size_t limit, struct store_memory **out, size_t *n,
				    char **why, const char *doing)
{
	sqlite3_stmt *s = NULL;
	struct store_memory *rows = NULL;
	size_t count = 0, cap = 0;
	enum kith_status rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, doing);
	store_bind_text(s, 1, text);
	sqlite3_bind_int64(s, 2, limit ? (sqlite3_int64)limit : -1);
	rc = read_rows(st, s, &rows, &count, &cap, why, doing);
	sqlite3_finalize(s);
	if (rc) {
		store_memories_free(rows, count);
		return rc;
	}
	*out = rows;
	*n = count;
	return KITH_OK;
}

/* Run a SELECT COUNT(*) with one optional text parameter. */
static enum kith_status count_rows(struct store *st, const char *sql, const char *text,
				   size_t *n, char **why, const char *doing)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, doing);
	if (text)
		store_bind_text(s, 1, text);
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, why, doing);
	sqlite3_finalize(s);
	return rc;
}

void store_memories_free(struct store_memory *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].scope);
		free(rows[i].speaker);
		free(rows[i].text);
		free(rows[i].tags);
		free(rows[i].context);
		free(rows[i].source);
		free(rows[i].digest);
		free(rows[i].embedded_with);
	}
	free(rows);
}

static enum kith_status find_by_digest(struct store *st, const char *scope, const char *digest,
				       int64_t *id, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int r;

	if (sqlite3_prepare_v2(st->db, "SELECT id FROM memories WHERE scope = ? AND digest = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "looking up a memory");
	store_bind_text(s, 1, scope);
	store_bind_text(s, 2, digest);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else if (r == SQLITE_DONE)
		rc = kith_why(why, KITH_ENOTFOUND, "memory not found");
	else
		rc = store_fail(st, why, "looking up a memory");
	sqlite3_finalize(s);
	return rc;
}

/* Savepoints rather than BEGIN, so a caller's own transaction may hold us. */
static enum kith_status tx_begin(struct store *st, char **why, const char *doing)
{
	if (sqlite3_exec(st->db, "SAVEPOINT memories", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, why, doing);
	return KITH_OK;
}

static enum kith_status tx_end(struct store *st, enum kith_status rc, char **why,
			       const char *doing)
{
	if (!rc && sqlite3_exec(st->db, "RELEASE memories", NULL, NULL, NULL) == SQLITE_OK)
		return KITH_OK;
	if (!rc)
		rc = store_fail(st, why, doing);
	sqlite3_exec(st->db, "ROLLBACK TO memories", NULL, NULL, NULL);
	sqlite3_exec(st->db, "RELEASE memories", NULL, NULL, NULL);
	return rc;
}

static enum kith_status add_one(struct store *st, sqlite3_stmt *s,
				const struct store_memory_new *m, int64_t now, int64_t *id,
				bool *dup, char **why)
{
	double sal = m->salience;

	*dup = false;
	if (!m->scope || !m->text || !m->digest)
		return kith_why(why, KITH_EINVAL, "memory lacks scope, text or digest");
	if (!(sal >= 0))
		sal = 0;
	if (sal > 1)
		sal = 1;
	sqlite3_reset(s);
	store_bind_text(s, 1, m->scope);
	store_bind_text(s, 2, m->speaker);
	store_bind_text(s, 3, m->text);
	store_bind_text(s, 4, m->tags);
	store_bind_text(s, 5, m->context);
	sqlite3_bind_double(s, 6, sal);
	sqlite3_bind_int64(s, 7, m->created_at ? m->created_at : now);
	sqlite3_bind_int64(s, 8, now);
	store_bind_text(s, 9, m->source);
	store_bind_text(s, 10, m->digest);
	if (sqlite3_step(s) != SQLITE_DONE)
		return store_fail(st, why, "saving a memory");
	if (sqlite3_changes(st->db) > 0) {
		*id = sqlite3_last_insert_rowid(st->db);
		return KITH_OK;
	}
	*dup = true;
	return find_by_digest(st, m->scope, m->digest, id, why);
}

enum kith_status store_memories_add(struct store *st, const struct store_memory_new *m,
				    size_t n, int64_t *ids, bool *dup, char **why)
{
	static const char sql[] =
		"INSERT INTO memories(scope, speaker, text, tags, context, salience, created_at,"
		" stored_at, source, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		" ON CONFLICT(scope, digest) DO NOTHING";
	sqlite3_stmt *s = NULL;
	int64_t now = clock_now_ms();
	enum kith_status rc;

	if (n == 0)
		return KITH_OK;
	rc = tx_begin(st, why, "saving memories");
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		rc = store_fail(st, why, "saving a memory");
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		bool d;

		rc = add_one(st, s, &m[i], now, &ids[i], &d, why);
		if (dup)
			dup[i] = d;
	}
out:
	sqlite3_finalize(s);
	return tx_end(st, rc, why, "saving memories");
}

enum kith_status store_memories_get(struct store *st, const int64_t *ids, size_t n,
				    struct store_memory **out, size_t *nout, char **why)
{
	sqlite3_stmt *s = NULL;
	struct store_memory *rows = NULL;
	size_t count = 0, cap = 0;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return KITH_OK;
	if (sqlite3_prepare_v2(st->db, "SELECT " MEMORY_COLUMNS " FROM memories WHERE id = ?", -1,
			       &s, NULL) != SQLITE_OK)
		return store_fail(st, why, "reading memories");
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, ids[i]);
		rc = read_rows(st, s, &rows, &count, &cap, why, "reading memories");
	}
	sqlite3_finalize(s);
	if (rc) {
		store_memories_free(rows, count);
		return rc;
	}
	*out = rows;
	*nout = count;
	return KITH_OK;
}

enum kith_status store_memories_pending(struct store *st, const char *key, size_t limit,
					struct store_memory **out, size_t *n, char **why)
{
	static const char sql[] =
		"SELECT " MEMORY_COLUMNS " FROM memories"
		" WHERE embedded_with IS NULL OR embedded_with <> ? ORDER BY id LIMIT ?";

	return select_rows(st, sql, key, limit, out, n, why, "listing pending memories");
}

enum kith_status store_memories_pending_count(struct store *st, const char *key, size_t *n,
					      char **why)
{
	static const char sql[] =
		"SELECT COUNT(*) FROM memories WHERE embedded_with IS NULL OR embedded_with <> ?";

	return count_rows(st, sql, key, n, why, "counting pending memories");
}

enum kith_status store_memories_count(struct store *st, size_t *n, char **why)
{
	return count_rows(st, "SELECT COUNT(*) FROM memories", NULL, n, why, "counting memories");
}

enum kith_status store_memories_mark_embedded(struct store *st, const int64_t *ids, size_t n,
					      const char *key, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc;

	if (n == 0)
		return KITH_OK;
	rc = tx_begin(st, why, "marking memories embedded");
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(st->db, "UPDATE memories SET embedded_with = ? WHERE id = ?", -1,
			       &s, NULL) != SQLITE_OK) {
		rc = store_fail(st, why, "marking memories embedded");
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_reset(s);
		store_bind_text(s, 1, key);
		sqlite3_bind_int64(s, 2, ids[i]);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = store_fail(st, why, "marking memories embedded");
	}
out:
	sqlite3_finalize(s);
	return tx_end(st, rc, why, "marking memories embedded");
}

/* ---- keyword search ----------------------------------------------------- */

/* Function words that only add noise to an OR query (sorted). */
static const char *const fts_stopwords[] = {
	"a", "about", "am", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can",
	"could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "him",
	"his", "how", "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she",
	"so", "that", "the", "their", "them", "they", "this", "to", "was", "we", "were", "what",
	"when", "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool fts_stopword(const char *w)
{
	return bsearch(&w, fts_stopwords, sizeof fts_stopwords / sizeof fts_stopwords[0],
		       sizeof fts_stopwords[0], cmp_str) != NULL;
}

static bool fts_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

/* Append up to FTS_QUERY_WORDS quoted words; skip stopwords when asked. */
static size_t fts_words(const char *text, bool skip_stop, struct buf *b)
{
	size_t words = 0;
	const unsigned char *p = (const unsigned char *)text;

	while (*p && words < FTS_QUERY_WORDS) {
		char w[FTS_WORD_MAX + 1];
		size_t n = 0;

		while (*p && !fts_word_byte(*p))
			p++;
		while (*p && fts_word_byte(*p)) {
			if (n < FTS_WORD_MAX)
				w[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			p++;
		}
		if (n == 0)
			continue;
		/* a cut word must not end inside a UTF-8 sequence */
		if (n == FTS_WORD_MAX) {
			size_t k = n;
			while (k > 0 && ((unsigned char)w[k - 1] & 0xC0) == 0x80)
				k--;
			if (k > 0 && (unsigned char)w[k - 1] >= 0xC0)
				n = k - 1;
		}
		if (n == 0)
			continue;
		w[n] = '\0';
		if (skip_stop && fts_stopword(w))
			continue;
		/* only word characters inside: no quote to escape */
		if (buf_printf(b, "%s\"%s\"", words ? " OR " : "", w) != KITH_OK)
			break;
		words++;
	}
	return words;
}

char *store_fts_query(const char *text)
{
	struct buf b;

	if (!text)
		return NULL;
	buf_init(&b, 64 * 1024);
	if (fts_words(text, true, &b) == 0) {
		buf_reset(&b);
		if (fts_words(text, false, &b) == 0) {
			buf_release(&b);
			return NULL;
		}
	}
	return buf_detach(&b);
}

enum kith_status store_memories_search(struct store *st, const char *scope, const char *query,
				       size_t limit, struct store_memory_match **out, size_t *n,
				       char **why)
{
	/* Column weights: what was said counts most; the speaker's name and
	 * tags less; context (neighbouring words) least. */
	static const char sql[] =
		"SELECT m.id, bm25(memories_fts, 1.0, 0.5, 0.5, 0.3) AS r"
		" FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid"
		" WHERE memories_fts MATCH ? AND m.scope = ? ORDER BY r, m.id LIMIT ?";
	sqlite3_stmt *s = NULL;
	struct store_memory_match *rows = NULL;
	size_t count = 0, cap = 0;
	char *fts = store_fts_query(query);
	enum kith_status rc = KITH_OK;
	int r;

	*out = NULL;
	*n = 0;
	if (!fts)
		return KITH_OK;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		rc = store_fail(st, why, "searching memories");
		goto out;
	}
	sqlite3_bind_text(s, 1, fts, -1, SQLITE_STATIC);
	store_bind_text(s, 2, scope);
	sqlite3_bind_int64(s, 3, limit ? (sqlite3_int64)limit : 50);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		rows = xgrow(rows, &cap, count + 1, sizeof(*rows));
		rows[count].id = sqlite3_column_int64(s, 0);
		rows[count].score = -sqlite3_column_double(s, 1);
		count++;
	}
	if (r != SQLITE_DONE) {
		rc = store_fail(st, why, "searching memories");
		free(rows);
		rows = NULL;
		count = 0;
	}
out:
	sqlite3_finalize(s);
	free(fts);
	*out = rows;
	*n = count;
	return rc;
}

enum kith_status store_memories_recent(struct store *st, const char *scope, size_t limit,
				       struct store_memory **out, size_t *n, char **why)
{
	static const char sql[] =
		"SELECT " MEMORY_COLUMNS " FROM memories WHERE scope = ?"
		" ORDER BY created_at DESC, id DESC LIMIT ?";

	return select_rows(st, sql, scope, limit, out, n, why, "reading recent memories");
}
