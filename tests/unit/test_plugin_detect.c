/* test_plugin_detect.c — which agent a message asks for: SEL's explicit
 * patterns in their priority order, whole words, case, unknown names, the
 * input handed over, keywords, names. */
#include "support/test.h"
#include "plugin/plugin.h"

#include <stdlib.h>

static const char *const dice_kw[] = { "dice", "roll", NULL };
static const char *const weather_kw[] = { "weather", "forecast", "rain", NULL };
static const char *const browser_kw[] = { "look up", NULL };

static const struct plugin_candidate agents[] = {
	{ "dice", "Rolls dice", dice_kw },
	{ "weather", "The weather", weather_kw },
	{ "browser", "Browses", browser_kw },
	{ "word-count", "Counts words", NULL },
	{ "word", "Defines a word", NULL },
};
#define N (sizeof(agents) / sizeof(agents[0]))

/* "agent|input" for the explicit patterns, "" when none matched. */
static char *explicit(const char *text)
{
	struct plugin_match m = { 0 };
	char *s;

	if (!plugin_detect_explicit(agents, N, text, &m))
		return strdup("");
	CHECK_EQ(m.how, PLUGIN_BY_PATTERN);
	s = malloc(strlen(m.agent) + strlen(m.input) + 2);
	snprintf(s, strlen(m.agent) + strlen(m.input) + 2, "%s|%s", m.agent, m.input);
	plugin_match_release(&m);
	return s;
}

#define EXPECT(text, want) \
	do { char *got_ = explicit(text); CHECK_STR(got_, want); free(got_); } while (0)

static void test_each_pattern(void)
{
	/* SEL's own test cases (test_agent_autonomy.py) */
	EXPECT("agent:weather whats the forecast tomorrow?", "weather|whats the forecast tomorrow?");
	EXPECT("please use browser https://example.com", "browser|https://example.com");
	EXPECT("run dice 3d6", "dice|3d6");
	EXPECT("dice agent 2d8+1", "dice|2d8+1");
	EXPECT("the dice tool: d20", "dice|d20");
	EXPECT("agent: dice d4", "dice|d4");
	EXPECT("use   dice\t2d6  ", "dice|2d6");
}

static void test_case_is_ignored_and_kept(void)
{
	EXPECT("AGENT:Weather In Paris", "weather|In Paris");
	EXPECT("Use DICE To Roll 3D6", "dice|To Roll 3D6");
	EXPECT("Weather Agent: Tomorrow in LYON", "weather|Tomorrow in LYON");
}

static void test_priority(void)
{
	/* agent: beats use, which beats run, which beats NAME agent / NAME tool,
	 * wherever each stands in the message */
	EXPECT("use dice 2d6 or agent:weather now", "weather|now");
	EXPECT("run weather today, then use dice 1d4", "dice|1d4");
	EXPECT("weather agent first, run dice 2d6", "dice|2d6");
	EXPECT("dice tool 1d6 and weather agent later", "weather|later");
	/* within one pattern the first occurrence wins */
	EXPECT("use weather here, use dice 2d6", "weather|here, use dice 2d6");
}

static void test_whole_words_only(void)
{
	EXPECT("because dice are fun", "");          /* "use dice" inside "because" */
	EXPECT("rerun dice", "");
	EXPECT("use dicey things", "");
	EXPECT("use dice_x 1", "");
	EXPECT("dice agents are great", "");
	EXPECT("xagent:dice 2d6", "");
	EXPECT("usedice 2d6", "");
	/* names with '-' are whole names; a shorter name does not match inside */
	EXPECT("use word-count the quick fox", "word-count|the quick fox");
	EXPECT("use word thesaurus", "word|thesaurus");
}

static void test_unknown_names(void)
{
	EXPECT("use hammer now", "");
	EXPECT("agent:system_agent rm -rf /", "");
	EXPECT("bash ls; rm -rf ~", "");
	EXPECT("", "");
	CHECK(!plugin_detect_explicit(agents, 0, "use dice 2d6", &(struct plugin_match){ 0 }));
	CHECK(!plugin_detect_explicit(agents, N, NULL, &(struct plugin_match){ 0 }));
}

static void test_empty_input_is_the_message(void)
{
	EXPECT("use dice", "dice|use dice");
	EXPECT("  agent:dice  ", "dice|agent:dice");
	EXPECT("roll it with the dice tool", "dice|roll it with the dice tool");
}

static void test_keywords(void)
{
	struct plugin_match m = { 0 };

	CHECK(plugin_detect_keyword(agents, N, "Will it RAIN tomorrow?", &m));
	CHECK_STR(m.agent, "weather");
	CHECK_STR(m.input, "Will it RAIN tomorrow?");
	CHECK_EQ(m.how, PLUGIN_BY_KEYWORD);
	plugin_match_release(&m);
	/* the keyword found first in the text wins */
	CHECK(plugin_detect_keyword(agents, N, "roll for the forecast", &m));
	CHECK_STR(m.agent, "dice");
	plugin_match_release(&m);
	/* several words, whole words */
	CHECK(plugin_detect_keyword(agents, N, "can you look up the capital?", &m));
	CHECK_STR(m.agent, "browser");
	plugin_match_release(&m);
	CHECK(!plugin_detect_keyword(agents, N, "brainstorm a rainbow scroll", &m));
	CHECK(!plugin_detect_keyword(agents, N, "nothing here", &m));
	CHECK(m.agent == NULL);
}

static void test_names(void)
{
	CHECK(plugin_name_valid("dice", 4));
	CHECK(plugin_name_valid("word-count_2", 12));
	CHECK(!plugin_name_valid("Dice", 4));
	CHECK(!plugin_name_valid("has space", 9));
	CHECK(!plugin_name_valid("dots.in", 7));
	CHECK(!plugin_name_valid("", 0));
	CHECK(!plugin_name_valid("caf\xc3\xa9", 5));
}

static void test_format(void)
{
	char *s = plugin_format_result("dice", "2d6: 3 + 4 = 7");

	CHECK_STR(s, "[dice] 2d6: 3 + 4 = 7");
	free(s);
}

int main(void)
{
	RUN(test_each_pattern);
	RUN(test_case_is_ignored_and_kept);
	RUN(test_priority);
	RUN(test_whole_words_only);
	RUN(test_unknown_names);
	RUN(test_empty_input_is_the_message);
	RUN(test_keywords);
	RUN(test_names);
	RUN(test_format);
	return test_summary();
}
