/* migrations.c — the schema, as numbered steps compiled into the binary.
 *
 * Append new steps at the end with the next number; never edit a step that
 * has shipped (databases in the field already ran it).  `kith migrate
 * --validate` checks the list. */
#include "store/store_int.h"

static const char m0001_messages[] =
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),"
	" channel TEXT NOT NULL,"
	" conversation TEXT NOT NULL,"
	" author_id TEXT NOT NULL,"
	" author_name TEXT,"
	" content TEXT NOT NULL,"
	" external_id TEXT,"
	" parent_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
	" created_at INTEGER NOT NULL,"   /* epoch ms, as the platform dated it */
	" stored_at INTEGER NOT NULL"     /* epoch ms, when kith wrote it */
	");"
	"CREATE INDEX messages_by_conversation ON messages(channel, conversation, created_at);"
	"CREATE INDEX messages_by_external_id ON messages(channel, external_id);";

static const char m0002_llm_calls[] =
	"CREATE TABLE llm_calls ("
	" id INTEGER PRIMARY KEY,"
	" created_at INTEGER NOT NULL,"
	" role TEXT NOT NULL,"
	" provider TEXT NOT NULL,"
	" model TEXT,"
	" message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
	" ok INTEGER NOT NULL,"
	" error TEXT,"
	" http_status INTEGER,"
	" attempts INTEGER NOT NULL DEFAULT 1,"
	" duration_ms INTEGER NOT NULL,"
	" prompt_tokens INTEGER,"
	" completion_tokens INTEGER,"
	" request TEXT,"
	" response TEXT"
	");"
	"CREATE INDEX llm_calls_by_time ON llm_calls(created_at);";

/* Long-term memories (store/memories.c, memory/): one row per memory, an
 * FTS5 index over what is recalled (text), who said it, tags and optional
 * context words (e.g. neighbouring turns) that help find it but are not
 * recalled.  The FTS table holds no copy of the text (external content);
 * triggers keep it in step.  embedded_with names the vector index holding
 * the row's vector (embedder id and dimension), NULL while pending. */
static const char m0003_memories[] =
	"CREATE TABLE memories ("
	" id INTEGER PRIMARY KEY,"
	" scope TEXT NOT NULL,"
	" speaker TEXT,"
	" text TEXT NOT NULL,"
	" tags TEXT,"
	" context TEXT,"
	" salience REAL NOT NULL DEFAULT 0.5,"
	" created_at INTEGER NOT NULL,"   /* epoch ms, when it happened */
	" stored_at INTEGER NOT NULL,"    /* epoch ms, when kith wrote it */
	" source TEXT,"
	" digest TEXT NOT NULL,"          /* blake3 of scope + normalised text */
	" embedded_with TEXT,"
	" UNIQUE (scope, digest)"
	");"
	"CREATE INDEX memories_by_scope_time ON memories(scope, created_at);"
	"CREATE INDEX memories_by_embedded ON memories(embedded_with);"
	"CREATE VIRTUAL TABLE memories_fts USING fts5("
	" text, speaker, tags, context,"
	" content='memories', content_rowid='id', tokenize='porter unicode61');"
	"CREATE TRIGGER memories_fts_ai AFTER INSERT ON memories BEGIN"
	" INSERT INTO memories_fts(rowid, text, speaker, tags, context)"
	"  VALUES (new.id, new.text, new.speaker, new.tags, new.context);"
	" END;"
	"CREATE TRIGGER memories_fts_ad AFTER DELETE ON memories BEGIN"
	" INSERT INTO memories_fts(memories_fts, rowid, text, speaker, tags, context)"
	"  VALUES ('delete', old.id, old.text, old.speaker, old.tags, old.context);"
	" END;"
	"CREATE TRIGGER memories_fts_au AFTER UPDATE OF text, speaker, tags, context ON memories"
	" BEGIN"
	" INSERT INTO memories_fts(memories_fts, rowid, text, speaker, tags, context)"
	"  VALUES ('delete', old.id, old.text, old.speaker, old.tags, old.context);"
	" INSERT INTO memories_fts(rowid, text, speaker, tags, context)"
	"  VALUES (new.id, new.text, new.speaker, new.tags, new.context);"
	" END;";

const struct migration store_migrations[] = {
	{ 1, "messages", m0001_messages },
	{ 2, "llm_calls", m0002_llm_calls },
	{ 3, "memories", m0003_memories },
};

const size_t store_migrations_count = sizeof(store_migrations) / sizeof(store_migrations[0]);
