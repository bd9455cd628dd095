/* agent_task.c — the task loop: chat, run the tools asked for, repeat.
 *
 * The transcript lives only for the call.  A model that repeats a call
 * with the same arguments gets a short refusal instead of a second run
 * (the answer is already above it): small models loop on tools otherwise,
 * and for tools that reach a paid or rate-limited service a repeat costs
 * something.  The final step offers no tools, so a task ends in words. */
#include "agent/agent_task.h"
#include "agent/transcript.h"
#include "agent/agent.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

#include <string.h>

#define TAG "task"
#define DEFAULT_STEPS 5

static void run_calls(const struct agent_task *task, const struct llm_response *r,
		      struct transcript *t, struct seen_calls *seen, struct agent_task_result *out)
{
	struct tool_ctx ctx = { 0 };

	if (task->ctx)
		ctx = *task->ctx;
	if (!ctx.cancel)
		ctx.cancel = task->cancel;
	if (!ctx.now_ms)
		ctx.now_ms = clock_now_ms();
	transcript_add_calls(t, r);

	for (size_t i = 0; i < r->ncalls; i++) {
		const struct llm_tool_call *c = &r->calls[i];
		const char *name = c->name ? c->name : "";
		char *result = NULL;
		struct llm_msg *res;

		if (!task->allow_repeats && seen_call_before(seen, c)) {
			result = xasprintf("Error: '%s' was already called with exactly these "
					   "arguments; its result is above. Use it, or answer now.",
					   name);
			log_info(TAG, "blocked a repeated call to %s", name);
		} else {
			enum kith_status rc = tools_call(task->tools, &ctx, name, c->arguments,
							 c->arguments_raw, &result);

			log_info(TAG, "tool %s → %s", name, kith_strerror(rc));
			out->tool_calls++;
		}
		res = transcript_add(t, LLM_MSG_TOOL, result);
		res->tool_name = xstrdup(name);
		res->tool_call_id = xstrdup(c->id);
		free(result);
	}
}

enum kith_status agent_task_run(const struct agent_task *task, struct agent_task_result *out,
				char **why)
{
	struct transcript t = { 0 };
	struct seen_calls seen = { 0 };
	int max_steps = task->max_steps > 0 ? task->max_steps : DEFAULT_STEPS;
	bool have_tools = task->tools && tools_count(task->tools) > 0;
	enum kith_status rc = KITH_OK;

	memset(out, 0, sizeof(*out));
	KITH_ASSERT(task->llm && task->prompt);
	if (task->system && *task->system)
		transcript_add(&t, LLM_MSG_SYSTEM, task->system);
	transcript_add(&t, LLM_MSG_USER, task->prompt);

	for (int step = 1; step <= max_steps && !out->text; step++) {
		bool last = step == max_steps;
		bool offer = have_tools && !last;
		struct llm_request req = {
			.role = task->role,
			.tools = offer ? tools_schema(task->tools) : NULL,
			.cancel = task->cancel,
			.temperature = task->temperature > 0 ? task->temperature : -1,
			.stream = true,   /* a cancel stops generation at once */
		};
		struct llm_response r;
		char *err = NULL;

		if (last && step > 1 && have_tools)
			transcript_add(&t, LLM_MSG_SYSTEM,
				       "No more tools: answer now with what you have found.");
		req.msgs = t.msgs;
		req.nmsgs = t.n;
		rc = llm_chat(task->llm, &req, &r, &err);
		out->llm_calls++;
		if (rc) {
			kith_why(why, rc, "%s", err ? err : kith_strerror(rc));
			free(err);
			llm_response_release(&r);
			goto out;
		}
		if (r.ncalls > 0 && offer) {
			run_calls(task, &r, &t, &seen, out);
		} else {
			out->text = agent_clean_reply(r.content);
			if (!out->text || !*out->text) {
				free(out->text);
				out->text = NULL;
				rc = kith_why(why, KITH_EPROTO, "the model gave no answer");
			}
		}
		llm_response_release(&r);
		if (rc)
			goto out;
	}
	if (!out->text && !rc)
		rc = kith_why(why, KITH_EPROTO, "the model gave no answer");
out:
	seen_calls_release(&seen);
	transcript_release(&t);
	return rc;
}

void agent_task_result_release(struct agent_task_result *r)
{
	if (!r)
		return;
	free(r->text);
	memset(r, 0, sizeof(*r));
}
