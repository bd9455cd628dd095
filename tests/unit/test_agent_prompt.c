/* test_agent_prompt.c — the system prompt and reply clean-up. */
#include "support/test.h"
#include "agent/agent.h"

static void test_prompt_states_time_persona_and_partner(void)
{
	struct agent_deps deps = { .persona = "You are Wren.", .timezone = "Europe/Berlin" };
	struct agent_turn_in in = { .channel = "console", .author_id = "u1", .author_name = "Ada" };
	char *p = agent_system_prompt(&deps, &in, 1700000000000LL, NULL);

	CHECK(strncmp(p, "You are Wren.", 13) == 0);
	CHECK_CONTAINS(p, "14 November 2023");
	CHECK_CONTAINS(p, "23:13");
	CHECK_CONTAINS(p, "Europe/Berlin");
	CHECK_CONTAINS(p, "console with Ada");
	free(p);
	deps.timezone = "No/Such_Zone";
	p = agent_system_prompt(&deps, &in, 0, NULL);
	CHECK_CONTAINS(p, "unknown");
	free(p);
}

static void test_clean_reply(void)
{
	char *r = agent_clean_reply("<think>hmm, let me see</think>\n\n  The answer is 4. \n");

	CHECK_STR(r, "The answer is 4.");
	free(r);
	r = agent_clean_reply("a<think>x</think>b<think>y</think>c");
	CHECK_STR(r, "abc");
	free(r);
	r = agent_clean_reply("<think>never closed");
	CHECK_STR(r, "<think>never closed");
	free(r);
	r = agent_clean_reply(NULL);
	CHECK_STR(r, "");
	free(r);
}

int main(void)
{
	RUN(test_prompt_states_time_persona_and_partner);
	RUN(test_clean_reply);
	return test_summary();
}
