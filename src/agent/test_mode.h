/* test_mode.h — Penny's /test: talk to a fresh kith without touching the
 * real one.
 *
 * `/test` switches one conversation into test mode: its messages are
 * answered by an agent with its own, newly created database (under
 * <data dir>/test/), no episodic memory, no plugin or system agents and no
 * background work, and every reply starts with "[TEST] ".  `/test stop`
 * leaves it and deletes that database.  `/test PROMPT` answers one prompt
 * that way without switching.  Commands keep working as usual in test mode.
 *
 * A session's database is used only by the worker that owns the
 * conversation (the dispatcher routes a conversation to one worker), so it
 * needs no lock of its own; the list of sessions has one. */
#ifndef KITH_AGENT_TEST_MODE_H
#define KITH_AGENT_TEST_MODE_H

#include <stdbool.h>

#include "core/status.h"

struct agent_deps;
struct agent_turn_in;
struct test_mode;

/* `data_dir` is copied; the databases live in data_dir/test/. */
struct test_mode *test_mode_new(const char *data_dir);
/* Closes and deletes every session's database. */
void test_mode_free(struct test_mode *tm);

/* KITH_EEXIST when the conversation is already in test mode. */
enum kith_status test_mode_start(struct test_mode *tm, const char *channel,
				 const char *conversation, char **why) KITH_MUST_CHECK;
/* KITH_ENOTFOUND when it was not. */
enum kith_status test_mode_stop(struct test_mode *tm, const char *channel,
				const char *conversation) KITH_MUST_CHECK;
bool test_mode_active(struct test_mode *tm, const char *channel, const char *conversation);

/* Answer `in` in the conversation's test session (test_mode_active), or,
 * when it has none, in a throw-away database (one-shot /test PROMPT).
 * *reply (heap) starts with "[TEST] ". */
enum kith_status test_mode_turn(struct test_mode *tm, const struct agent_deps *deps,
				const struct agent_turn_in *in, char **reply,
				char **why) KITH_MUST_CHECK;

#endif
