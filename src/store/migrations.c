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

/* SEL's presence (store/presence.c, agent/presence.c): the mood and reply
 * counters of each conversation (a shared mood is a row of its own, keyed
 * by the mood id), what kith knows of each person, and the persona sliders
 * (one row).  Hormone levels are in [0, 1], in mind/hormones.h's order. */
static const char m0004_presence[] =
	"CREATE TABLE presence_channels ("
	" channel TEXT NOT NULL,"
	" conversation TEXT NOT NULL,"
	" dopamine REAL NOT NULL, serotonin REAL NOT NULL, oxytocin REAL NOT NULL,"
	" cortisol REAL NOT NULL, melatonin REAL NOT NULL, novelty REAL NOT NULL,"
	" curiosity REAL NOT NULL, patience REAL NOT NULL,"
	" updated_at INTEGER NOT NULL,"          /* epoch ms the levels were last moved */
	" last_reply_at INTEGER,"                /* epoch ms, NULL = never */
	" messages_since_reply INTEGER NOT NULL DEFAULT 0,"
	" last_snapshot_at INTEGER,"             /* epoch ms of the last HIM sample */
	" PRIMARY KEY (channel, conversation)"
	");"
	"CREATE TABLE presence_users ("
	" channel TEXT NOT NULL,"
	" user_id TEXT NOT NULL,"
	" name TEXT,"
	" first_seen INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL,"
	" last_conversation TEXT,"               /* where to reach them */
	" last_direct INTEGER NOT NULL DEFAULT 0,"  /* ... and whether that is a DM */
	" messages INTEGER NOT NULL DEFAULT 0,"
	" affinity REAL NOT NULL DEFAULT 0.5,"
	" trust REAL NOT NULL DEFAULT 0.5,"
	" bond REAL NOT NULL DEFAULT 0.5,"
	" irritation REAL NOT NULL DEFAULT 0,"
	" preferences TEXT NOT NULL DEFAULT '{}',"  /* JSON object */
	" last_pinged_at INTEGER,"
	" PRIMARY KEY (channel, user_id)"
	");"
	"CREATE INDEX presence_users_by_last_seen ON presence_users(last_seen);"
	"CREATE TABLE presence_persona ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" teasing REAL NOT NULL, emoji_rate REAL NOT NULL, vulnerability REAL NOT NULL,"
	" confidence REAL NOT NULL, playfulness REAL NOT NULL, verbosity REAL NOT NULL,"
	" empathy REAL NOT NULL,"
	" preferred_length TEXT NOT NULL,"
	" messages_sent INTEGER NOT NULL DEFAULT 0,"
	" positive_reactions INTEGER NOT NULL DEFAULT 0,"
	" negative_reactions INTEGER NOT NULL DEFAULT 0,"
	" updated_at INTEGER NOT NULL"
	");"
	/* SEL's global_state defaults (digest §3.2). */
	"INSERT INTO presence_persona VALUES (1, 0.3, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5, 'medium',"
	" 0, 0, 0, 0);";

/* Backfill progress (store/backfill.c, cli/backfill.c): one row per Discord
 * channel.  A pass walks history from the newest message down; `cursor` is
 * the oldest message it has fully processed (the next page is fetched
 * before it), `top` the newest message of the pass, `floor` the newest
 * message of the last completed pass (a later pass stops there). */
static const char m0005_backfill[] =
	"CREATE TABLE backfill ("
	" channel_id TEXT PRIMARY KEY,"
	" cursor TEXT,"
	" top TEXT,"
	" floor TEXT,"
	" done INTEGER NOT NULL DEFAULT 0,"
	" messages INTEGER NOT NULL DEFAULT 0,"   /* read, over every pass */
	" memories INTEGER NOT NULL DEFAULT 0,"   /* newly stored, over every pass */
	" updated_at INTEGER NOT NULL"
	");";

/* Every web search (store/search_log.c, tools/search.c): the query as sent
 * (name redacted, without the date prefix), the cleaned answer ('' when it
 * failed, with `error` saying why), the ranked sources as a JSON array, the
 * image used, how long it took.  `trigger` and `extracted` are Penny's: who
 * asked (user_message, learn_command, penny_enrichment) and whether the
 * knowledge extraction has read the row yet. */
static const char m0006_search_log[] =
	"CREATE TABLE search_log ("
	" id INTEGER PRIMARY KEY,"
	" created_at INTEGER NOT NULL,"          /* epoch ms */
	" query TEXT NOT NULL,"
	" response TEXT NOT NULL,"
	" sources TEXT NOT NULL DEFAULT '[]',"   /* JSON array of URLs */
	" image_url TEXT,"
	" duration_ms INTEGER NOT NULL,"
	" error TEXT,"
	" trigger TEXT NOT NULL DEFAULT 'user_message',"
	" author_id TEXT,"
	" extracted INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX search_log_by_time ON search_log(created_at);"
	"CREATE INDEX search_log_by_extracted ON search_log(extracted, created_at);";

/* Penny's knowledge (store/knowledge*.c, knowledge/): entities with an
 * embedding (little-endian float32 BLOB) and heat, facts with provenance (a
 * search or a message) and notification state, engagements (interest
 * signals), /learn prompts, news events and their entity links, /follow
 * prompts, user cron schedules and the user profile.  knowledge_extracted
 * marks the messages the extraction has read, so the messages table stays
 * as it is; messages already stored when this step runs count as read (an
 * upgrade does not send a whole history through the model). */
static const char m0007_knowledge[] =
	"CREATE TABLE entities ("
	" id INTEGER PRIMARY KEY,"
	" user TEXT NOT NULL,"
	" name TEXT NOT NULL,"                   /* lower-case, trimmed */
	" tagline TEXT,"
	" embedding BLOB,"                       /* float32 LE, NULL = pending */
	" heat REAL NOT NULL DEFAULT 0,"
	" heat_cooldown INTEGER NOT NULL DEFAULT 0,"
	" vetoed INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"          /* epoch ms */
	" updated_at INTEGER NOT NULL,"
	" last_enriched_at INTEGER,"
	" last_notified_at INTEGER,"
	" UNIQUE (user, name)"
	");"
	"CREATE INDEX entities_by_user ON entities(user, updated_at);"
	"CREATE TABLE facts ("
	" id INTEGER PRIMARY KEY,"
	" entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,"
	" content TEXT NOT NULL,"
	" embedding BLOB,"
	" source_search_log_id INTEGER REFERENCES search_log(id) ON DELETE SET NULL,"
	" source_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
	" learned_at INTEGER NOT NULL,"
	" notified_at INTEGER"                   /* NULL = the user has not heard it */
	");"
	"CREATE INDEX facts_by_entity ON facts(entity_id, learned_at);"
	"CREATE INDEX facts_by_notified ON facts(notified_at);"
	"CREATE TABLE engagements ("
	" id INTEGER PRIMARY KEY,"
	" user TEXT NOT NULL,"
	" entity_id INTEGER REFERENCES entities(id) ON DELETE CASCADE,"
	" type TEXT NOT NULL,"
	" valence TEXT NOT NULL CHECK (valence IN ('positive', 'negative', 'neutral')),"
	" strength REAL NOT NULL,"
	" source TEXT,"                          /* e.g. \"message:12\", \"search:4\" */
	" source_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
	" created_at INTEGER NOT NULL"
	");"
	"CREATE INDEX engagements_by_entity ON engagements(entity_id, created_at);"
	"CREATE INDEX engagements_by_user ON engagements(user, created_at);"
	"CREATE TABLE learn_prompts ("
	" id INTEGER PRIMARY KEY,"
	" user TEXT NOT NULL,"
	" prompt TEXT NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'active'"
	"  CHECK (status IN ('active', 'completed', 'cancelled')),"
	" searches_remaining INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" completed_at INTEGER,"
	" announced_at INTEGER"
	");"
	"CREATE INDEX learn_prompts_by_status ON learn_prompts(status, created_at);"
	"ALTER TABLE search_log ADD COLUMN learn_prompt_id INTEGER"
	" REFERENCES learn_prompts(id) ON DELETE SET NULL;"
	"CREATE TABLE follow_prompts ("
	" id INTEGER PRIMARY KEY,"
	" user TEXT NOT NULL,"
	" prompt TEXT NOT NULL,"
	" query_terms TEXT NOT NULL DEFAULT '[]',"  /* JSON array of strings */
	" cron TEXT NOT NULL DEFAULT '0 9 * * *',"
	" timezone TEXT NOT NULL DEFAULT 'UTC',"
	" created_at INTEGER NOT NULL,"
	" last_polled_at INTEGER,"
	" last_notified_at INTEGER"
	");"
	"CREATE INDEX follow_prompts_by_user ON follow_prompts(user);"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" user TEXT NOT NULL,"
	" follow_prompt_id INTEGER REFERENCES follow_prompts(id) ON DELETE SET NULL,"
	" headline TEXT NOT NULL,"
	" summary TEXT NOT NULL DEFAULT '',"
	" url TEXT,"                             /* also the external id for dedup */
	" published_at INTEGER NOT NULL,"
	" embedding BLOB,"
	" created_at INTEGER NOT NULL,"
	" notified_at INTEGER"
	");"
	"CREATE INDEX events_by_user ON events(user, published_at);"
	"CREATE UNIQUE INDEX events_by_url ON events(user, url) WHERE url IS NOT NULL;"
	"CREATE TABLE event_entities ("
	" event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
	" entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,"
	" PRIMARY KEY (event_id, entity_id)"
	");"
	"CREATE INDEX event_entities_by_entity ON event_entities(entity_id);"
	"CREATE TABLE user_schedules ("
	" id INTEGER PRIMARY KEY,"
	" user TEXT NOT NULL,"
	" cron TEXT NOT NULL,"
	" timezone TEXT NOT NULL DEFAULT 'UTC',"
	" prompt TEXT NOT NULL,"
	" description TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL,"
	" last_fired_at INTEGER"
	");"
	"CREATE INDEX user_schedules_by_user ON user_schedules(user);"
	"CREATE TABLE user_profile ("
	" user TEXT PRIMARY KEY,"
	" name TEXT, location TEXT, timezone TEXT, date_of_birth TEXT,"  /* YYYY-MM-DD */
	" updated_at INTEGER NOT NULL"
	");"
	"CREATE TABLE knowledge_extracted ("
	" message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
	" extracted_at INTEGER NOT NULL"
	");"
	"INSERT INTO knowledge_extracted(message_id, extracted_at)"
	" SELECT id, stored_at FROM messages;";

/* Emoji reactions people put on messages (kith's replies above all): an
 * engagement signal for the mood now and for the knowledge system later.
 * target_message_id is resolved when the reacted message is stored. */
static const char m0008_reactions[] =
	"CREATE TABLE reactions ("
	" id INTEGER PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" conversation TEXT NOT NULL,"
	" author_id TEXT NOT NULL,"
	" emoji TEXT NOT NULL,"
	" target_external_id TEXT,"
	" target_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
	" removed INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" processed INTEGER NOT NULL DEFAULT 0"   /* read by the knowledge extraction */
	");"
	"CREATE INDEX reactions_by_target ON reactions(target_message_id);"
	"CREATE INDEX reactions_unprocessed ON reactions(processed, id);";

/* Commands and runtime settings (issue 8): /config values kept in the
 * database (they win over the environment), the command log (command
 * output never enters the conversation), who muted proactive messages, and
 * where a /schedule was made so its result goes back there. */
static const char m0009_commands[] =
	"CREATE TABLE runtime_config ("
	" key TEXT PRIMARY KEY,"
	" value TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" updated_by TEXT"
	");"
	"CREATE TABLE command_log ("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" channel TEXT NOT NULL,"
	" conversation TEXT NOT NULL,"
	" author_id TEXT,"
	" command TEXT NOT NULL,"
	" args TEXT NOT NULL DEFAULT '',"
	" status TEXT NOT NULL,"   /* "ok" or the error's name */
	" reply TEXT"
	");"
	"CREATE INDEX command_log_by_at ON command_log(at);"
	"CREATE TABLE user_mutes ("
	" user TEXT PRIMARY KEY,"
	" muted_at INTEGER NOT NULL"
	");"
	"ALTER TABLE user_schedules ADD COLUMN channel TEXT;"
	"ALTER TABLE user_schedules ADD COLUMN conversation TEXT;";

const struct migration store_migrations[] = {
	{ 1, "messages", m0001_messages },
	{ 2, "llm_calls", m0002_llm_calls },
	{ 3, "memories", m0003_memories },
	{ 4, "presence", m0004_presence },
	{ 5, "backfill", m0005_backfill },
	{ 6, "search_log", m0006_search_log },
	{ 7, "knowledge", m0007_knowledge },
	{ 8, "reactions", m0008_reactions },
	{ 9, "commands", m0009_commands },
};

const size_t store_migrations_count = sizeof(store_migrations) / sizeof(store_migrations[0]);
