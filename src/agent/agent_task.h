/* agent_task.h — a small agent loop for one self-contained task.
 *
 * Given a model role, a system prompt, a tool registry and a prompt, it
 * runs chat ⇄ tool-call steps like the conversation turn (agent.c) and
 * hands back the final text: identical repeated tool calls are refused
 * rather than run, and the last allowed step offers no tools, with a
 * system line telling the model to answer now.  Unlike agent_turn it has
 * no conversation: it stores nothing, recalls nothing and remembers
 * nothing, so commands (/email) and scheduled work can run it anywhere.
 * It blocks; the cancel token stops it between and within model calls. */
#ifndef KITH_AGENT_TASK_H
#define KITH_AGENT_TASK_H

#include <stdbool.h>

#include "agent/tools.h"
#include "core/cancel.h"
#include "core/status.h"
#include "llm/llm.h"

struct agent_task {
	struct llm_client *llm;
	enum llm_role role;                 /* whose model answers (LLM_ROLE_MAIN, …) */
	const char *system;                 /* system prompt; NULL = none */
	const struct tool_registry *tools;  /* NULL or empty = no tools */
	/* What the tools may know, copied for each call; NULL = all zero.
	 * cancel and now_ms are filled from the task when the template leaves
	 * them unset. */
	const struct tool_ctx *ctx;
	const char *prompt;                 /* the user message; required */
	int max_steps;                      /* model calls at most; <= 0 = 5 */
	const struct cancel *cancel;        /* NULL = never cancelled */
	double temperature;                 /* < 0 or 0 = the role's */
	bool allow_repeats;                 /* run identical repeated calls again */
};

struct agent_task_result {
	char *text;                         /* heap; NULL on failure */
	int llm_calls;
	int tool_calls;                     /* calls that ran (refused repeats excluded) */
};

/* Run the task.  KITH_OK with out->text the model's cleaned final answer;
 * KITH_EPROTO when it ended with no words; otherwise the model call's
 * failure, with *why a sentence for a person.  `out` is always
 * initialised; release it with agent_task_result_release. */
enum kith_status agent_task_run(const struct agent_task *task, struct agent_task_result *out,
				char **why) KITH_MUST_CHECK;
void agent_task_result_release(struct agent_task_result *r);

#endif
