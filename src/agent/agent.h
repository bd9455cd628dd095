/* agent.h — the message agent: one turn of conversation.
 *
 * A turn reads like the flow in the seeds: store the message → load recent
 * context → build the prompt → call the LLM ⇄ run tools → store and return
 * the reply.  It runs on a conversation worker and blocks; the LLM calls
 * inside honour the turn's cancel token.  The user's message is stored
 * before anything can fail, so nothing a person said is lost when the model
 * is unreachable. */
#ifndef KITH_AGENT_H
#define KITH_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/tools.h"
#include "core/cancel.h"
#include "core/status.h"

struct config;
struct llm_client;
struct memory;
struct plugins;
struct sched;
struct sched_budget;
struct store;
struct tool_registry;
struct system_agent;
struct test_mode;

/* Shared by every worker; read-only once built. */
struct agent_deps {
	struct llm_client *llm;
	const struct tool_registry *tools;
	const char *persona;      /* SEL_PERSONA_SEED */
	const char *timezone;     /* SEL_TIMEZONE */
	int recent_limit;         /* RECENT_CONTEXT_LIMIT */
	int max_steps;            /* > 0: model calls per turn; 0 = MESSAGE_MAX_STEPS,
				   * read on every turn */
	const struct config *cfg;
	/* Episodic memory (memory/memory.h); NULL = the agent neither stores
	 * nor recalls memories. */
	struct memory *memory;
	int recall_limit;         /* > 0: memories per prompt; 0 = MEMORY_RECALL_LIMIT,
				   * read on every turn (agent_recall_limit) */
	int memory_min_chars;     /* MEMORY_MIN_CHARS */
	const char *memory_scope; /* GLOBAL_MEMORY_ID, or NULL = one scope per
				   * conversation (GLOBAL_MEMORY_ENABLED=false) */
	/* Penny's "always search": every message (except image messages) is
	 * answered from one web search run before the model is called
	 * (tools/search.h; needs PERPLEXITY_API_KEY). */
	bool always_search;
	/* Background work (sched/scheduler.h) told about foreground turns and
	 * commands; NULL = none.  Plugin agents (plugin/plugin.h); NULL = none. */
	struct sched *sched;
	struct sched_budget *budget;
	struct plugins *plugins;
	/* The owner's system agent (tools/system_agent.h); NULL = none. */
	struct system_agent *system;
	/* /test conversations (agent/test_mode.h); NULL = /test is off. */
	struct test_mode *test_mode;
	/* Called when a person writes (not for commands): proactive work backs
	 * off (notification and enrichment backoff start over).  NULL = none. */
	void (*on_person_wrote)(void *ud, const char *user, int64_t at);
	void *on_person_wrote_ud;
};

struct agent_turn_in {
	const char *channel;
	const char *conversation;
	const char *author_id;
	const char *author_name;  /* may be NULL */
	const char *text;
	const char *external_id;  /* may be NULL */
	int64_t created_at;       /* epoch ms, 0 = now */
	const struct cancel *cancel;
	/* From presence (agent/presence.h); zero = none. */
	double temperature;       /* sampling temperature of the reply; 0 = the
				   * main role's configured one */
	const char *presence;     /* mood and the person's profile for the system
				   * prompt, NULL = none */
	bool remember;            /* keep the message as a memory even when it
				   * looks insignificant (the classifier said so) */
	const char *images;       /* captions of the message's images, one line
				   * each (agent/vision.h), NULL = none */
	/* A quote-reply: the platform id and/or text of the quoted message
	 * (NULL = not a reply).  The turn then continues that thread: its
	 * chain of parent messages is the context instead of the latest ones. */
	const char *reply_to;
	const char *reply_to_text;
	/* What an agent answered for this message when the utility model
	 * chose it (agent_delegate), shown to the model to answer from;
	 * NULL = none. */
	const char *agent_result;
};

struct agent_turn_out {
	char *reply;              /* heap; NULL when the turn failed */
	int64_t message_id;       /* the stored user message (also on failure) */
	int64_t reply_id;
	int llm_calls;
	int tool_calls;
	struct tool_out found;    /* what tools found for the reply: images to
				   * attach, sources (released with the out) */
};

/* Run a turn with `st` (the calling thread's own connection).  On failure
 * *why says what went wrong in words for the user. */
enum kith_status agent_turn(const struct agent_deps *deps, struct store *st,
			    const struct agent_turn_in *in, struct agent_turn_out *out,
			    char **why) KITH_MUST_CHECK;
void agent_turn_out_release(struct agent_turn_out *out);

/* A message kith heard but does not answer (presence decided to stay
 * quiet): stored like a turn's message and remembered when significant, no
 * model call.  *message_id (may be NULL) receives the stored row. */
enum kith_status agent_observe(const struct agent_deps *deps, struct store *st,
			       const struct agent_turn_in *in, int64_t *message_id,
			       char **why) KITH_MUST_CHECK;

/* The system prompt for a turn (heap string).  `memories` is the recalled
 * memories section (agent_recall_section), NULL when memory is off. */
char *agent_system_prompt(const struct agent_deps *deps, const struct agent_turn_in *in,
			  int64_t now_ms, const char *memories);

/* ---- episodic memory steps (episodic.c) -------------------------------- */

/* How worth remembering a user's message is: a salience in (0, 1], or 0 when
 * it is not stored (shorter than min_chars and not asking to be remembered). */
double agent_message_salience(const char *text, int min_chars);

/* The memories relevant to this turn, as a prompt section (heap string), or
 * NULL when memory is off.  `recent` (may be NULL) is the recent
 * conversation text, added to the query when the message is short. */
char *agent_recall_section(const struct agent_deps *deps, struct store *st,
			   const struct agent_turn_in *in, const char *recent, int64_t now_ms);

/* How many memories go into a prompt (recall_limit, else the setting). */
int agent_recall_limit(const struct agent_deps *deps);

/* Store the user's message as a memory when it is significant.  `recent`
 * (may be NULL) is the conversation before it: its last lines are kept as
 * the memory's context, so a short turn can be found by its topic. */
void agent_remember_message(const struct agent_deps *deps, struct store *st,
			    const struct agent_turn_in *in, int64_t message_id,
			    const char *recent);

/* Store an action the agent took (a tool that changes something). */
void agent_remember_action(const struct agent_deps *deps, struct store *st,
			   const struct agent_turn_in *in, const char *tool,
			   const char *arguments);

/* Store `text` as a memory of this turn's conversation (an action's
 * result, a delegated run) with the given tags and salience. */
void agent_remember_text(const struct agent_deps *deps, struct store *st,
			 const struct agent_turn_in *in, const char *text, const char *tags,
			 double salience);

/* ---- delegation (delegate.c) ------------------------------------------- */

/* Plugin agents and the owner's system agent, before a conversation turn:
 * an explicit request ("agent:NAME …", "use NAME", "bash …"), a keyword,
 * or the utility model's classification (in that order) hands the message
 * to an agent.  Only the owner (APPROVAL_USER_ID; unset = nobody) may use
 * agents; another person's explicit request runs nothing and is refused in
 * words only with `may_guess`, and their other messages are plain
 * conversation.  The model is asked to guess (the third way) only with
 * `may_guess` — when kith would answer the message anyway.  Returns true when the message was answered
 * (*reply set, heap; the run remembered), false when it is conversation for
 * agent_turn. */
bool agent_delegate(const struct agent_deps *deps, struct store *st,
		    const struct agent_turn_in *in, bool may_guess, char **reply,
		    char **context);
/* The system agent's `remember` hook (system_agent_config.remember): keeps
 * "ran: …" as a memory of the turn agent_delegate is answering. */
void agent_delegate_remember(void *ud, const char *text, double salience);

/* Remove <think>…</think> blocks and surrounding blank space a model may
 * leave in its reply (heap string). */
char *agent_clean_reply(const char *text);

#endif
