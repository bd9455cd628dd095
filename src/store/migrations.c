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

const struct migration store_migrations[] = {
	{ 1, "messages", m0001_messages },
	{ 2, "llm_calls", m0002_llm_calls },
};

const size_t store_migrations_count = sizeof(store_migrations) / sizeof(store_migrations[0]);
