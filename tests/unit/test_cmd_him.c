/* test_cmd_him.c — /him_status: the store directory, snapshots and tiles
 * per stream, the warm cache, memories stored and pending, the vector
 * index sizes and the embedder; and a clear answer when memory is off. */
#include "support/test.h"
#include "agent/agent.h"
#include "cmd/cmd.h"
#include "core/alloc.h"
#include "him/him.h"
#include "llm/embed.h"
#include "memory/memory.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static char *him_status(const struct agent_deps *deps, struct store *st, enum kith_status *rc)
{
	struct cmd_ctx ctx = { .deps = deps, .st = st };
	char *reply = NULL;

	*rc = cmd_dispatch(&ctx, "/him_status", &reply);
	return reply;
}

static void test_counts(void)
{
	char *db = test_path("cmdhim.db"), *him = test_path("cmdhim-him");
	struct embedder *e = embedder_hash_new(0);
	struct memory_options o = { .him_dir = him, .embedder = e };
	struct agent_deps deps = { 0 };
	struct store *st = NULL;
	struct memory *m = NULL;
	struct memory_new mem[3] = {
		{ .scope = "global", .speaker = "Ana", .text = "Ana: my cat is called Miso" },
		{ .scope = "global", .speaker = "Bo", .text = "Bo: I moved to Lisbon last spring" },
		{ .scope = "discord:42", .speaker = "Cy", .text = "Cy: the meetup is on Friday" },
	};
	char *why = NULL, *reply, *want;
	enum kith_status rc;

	REQUIRE(store_open(db, &st, &why) == KITH_OK && store_migrate(st, NULL, &why) == KITH_OK);
	REQUIRE(memory_open(&o, &m, &why) == KITH_OK);
	deps.memory = m;

	/* before anything is stored: no dimension yet, no index open */
	reply = him_status(&deps, st, &rc);
	CHECK_EQ(rc, KITH_OK);
	want = xasprintf("HIM store: %s\n", him);
	CHECK(strncmp(reply, want, strlen(want)) == 0);
	free(want);
	CHECK_CONTAINS(reply, "Memories: 0 stored, 0 waiting for an embedding");
	CHECK_CONTAINS(reply, "Embedder: hash-v1 (dimension not probed yet)");
	CHECK_CONTAINS(reply, "Vector indexes: none opened yet");
	CHECK_CONTAINS(reply, "Warm cache: 0 tiles");
	CHECK_CONTAINS(reply, "no reads yet");
	free(reply);

	REQUIRE(memory_add(m, st, mem, 3, NULL, NULL, &why) == KITH_OK);
	REQUIRE(memory_settle(m, st, 10000));
	reply = him_status(&deps, st, &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(reply, "Memories: 3 stored, 0 waiting for an embedding");
	CHECK_CONTAINS(reply, "Embedder: hash-v1 (");
	CHECK_CONTAINS(reply, " dimensions)");
	CHECK_CONTAINS(reply, "Index global (hash-v1:");
	CHECK_CONTAINS(reply, "): 2 vectors (0 not merged yet), 1 leaf tile, depth");
	CHECK_CONTAINS(reply, "Index discord:42 (hash-v1:");
	CHECK_CONTAINS(reply, "): 1 vector (0 not merged yet)");
	CHECK_CONTAINS(reply, "Snapshots: 2; tiles: ");
	CHECK_CONTAINS(reply, "  episodic");   /* the stream of the indexes' tiles */
	CHECK(reply[strlen(reply) - 1] != '\n');
	free(reply);

	{
		struct memory_stats ms;
		struct him_stats hs;

		REQUIRE(memory_stats(m, st, &ms, &why) == KITH_OK);
		CHECK_EQ(ms.memories, 3);
		CHECK_EQ(ms.pending, 0);
		CHECK_EQ(ms.nindexes, 2);
		CHECK(ms.dim > 0);
		CHECK_STR(ms.embedder, "hash-v1");
		memory_stats_release(&ms);
		REQUIRE(him_stats(memory_him(m), &hs, &why) == KITH_OK);
		CHECK_EQ(hs.snapshots, 2);
		CHECK(hs.nstreams >= 1);
		CHECK(hs.tiles >= 2);
		CHECK(hs.bytes > 0);
		CHECK(hs.cache_budget > 0);
		him_stats_release(&hs);
	}

	memory_close(m);
	store_close(st);
	embedder_free(e);
	free(db);
	free(him);
}

static void test_memory_off(void)
{
	struct agent_deps deps = { 0 };
	enum kith_status rc;
	char *reply = him_status(&deps, NULL, &rc);

	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(reply, "Memory is off (MEMORY_ENABLED=false), so no HIM store is open.");
	free(reply);
}

static void test_listed(void)
{
	bool found = false;

	for (const struct cmd_entry *c = cmd_table(); c->name; c++)
		found = found || strcmp(c->name, "him_status") == 0;
	CHECK(found);
}

int main(void)
{
	RUN(test_counts);
	RUN(test_memory_off);
	RUN(test_listed);
	return test_summary();
}
