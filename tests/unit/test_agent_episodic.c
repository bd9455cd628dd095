/* test_agent_episodic.c — what the agent decides to remember. */
#include "support/test.h"
#include "agent/agent.h"

static void test_salience(void)
{
	CHECK(agent_message_salience("ok", 20) == 0);
	CHECK(agent_message_salience("", 20) == 0);
	CHECK(agent_message_salience(NULL, 20) == 0);
	CHECK(agent_message_salience("   \n  ", 20) == 0);
	CHECK(agent_message_salience("/model qwen3:8b and more words", 20) == 0);
	/* Long enough to carry something. */
	CHECK(agent_message_salience("the match last night was quite a game", 20) == 0.5);
	/* Long and about the person. */
	CHECK(agent_message_salience("I spent the whole weekend repainting the hallway green", 20)
	      == 0.6);
	/* Asked to keep, however short. */
	CHECK(agent_message_salience("remember: Ada", 20) >= 0.7);
	CHECK(agent_message_salience("My name is Bo", 20) >= 0.7);
	CHECK(agent_message_salience("i prefer tea", 20) >= 0.7);
	/* Word boundaries: "misremembered" is not a request. */
	CHECK(agent_message_salience("misremembered", 20) == 0);
	/* The threshold is the setting's. */
	CHECK(agent_message_salience("short but fine", 5) == 0.5);
}

int main(void)
{
	RUN(test_salience);
	return test_summary();
}
