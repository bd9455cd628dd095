/* test_tools.c — the tool registry, schema validation and built-in tools. */
#include "support/test.h"
#include "agent/tools.h"
#include "core/alloc.h"
#include "core/json.h"

static json_t *J(const char *text)
{
	return kjson_parse(text, strlen(text), NULL);
}

static enum kith_status validate(const char *schema, const char *value, char **why)
{
	json_t *s = J(schema), *v = J(value);
	enum kith_status rc = schema_validate(s, v, why);

	json_decref(s);
	json_decref(v);
	return rc;
}

static void expect_error(const char *schema, const char *value, const char *needle)
{
	char *why = NULL;

	CHECK_EQ(validate(schema, value, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, needle);
	free(why);
}

static const char *const S =
	"{\"type\":\"object\",\"properties\":{"
	"\"city\":{\"type\":\"string\",\"minLength\":1},"
	"\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7},"
	"\"units\":{\"type\":\"string\",\"enum\":[\"metric\",\"imperial\"]},"
	"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"where\":{\"type\":\"object\",\"properties\":{\"lat\":{\"type\":\"number\"}},"
	"\"required\":[\"lat\"]}},"
	"\"required\":[\"city\"],\"additionalProperties\":false}";

static void test_schema_accepts_valid(void)
{
	char *why = NULL;

	CHECK_EQ(validate(S, "{\"city\":\"Oslo\"}", &why), KITH_OK);
	CHECK_EQ(validate(S, "{\"city\":\"Oslo\",\"days\":3,\"units\":\"metric\","
			     "\"tags\":[\"a\"],\"where\":{\"lat\":1.5}}", &why), KITH_OK);
	CHECK_EQ(validate(S, "{\"city\":\"Oslo\",\"days\":3.0}", &why), KITH_OK);
	CHECK(why == NULL);
}

static void test_schema_names_the_problem(void)
{
	expect_error(S, "{}", "missing required parameter 'city'");
	expect_error(S, "{\"city\":5}", "parameter 'city' must be a string, not integer");
	expect_error(S, "{\"city\":\"\"}", "'city' is too short");
	expect_error(S, "{\"city\":\"x\",\"days\":9}", "'days' must be at most 7");
	expect_error(S, "{\"city\":\"x\",\"days\":\"2\"}", "'days' must be an integer");
	expect_error(S, "{\"city\":\"x\",\"units\":\"kelvin\"}", "'units' must be one of");
	expect_error(S, "{\"city\":\"x\",\"tags\":[1]}", "'tags[0]' must be a string");
	expect_error(S, "{\"city\":\"x\",\"where\":{}}", "missing required parameter 'where.lat'");
	expect_error(S, "{\"city\":\"x\",\"colour\":\"red\"}", "unknown parameter 'colour'");
	expect_error(S, "[1,2]", "must be a JSON object");
}

static enum kith_status echo_run(const struct tool_ctx *ctx, const json_t *args, char **result,
				 char **why)
{
	*result = xasprintf("echo:%s", kjson_str(args, "city"));
	return KITH_OK;
}

static const struct tool_def echo_tool = {
	.name = "echo",
	.description = "Echo the city.",
	.parameters = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
		      "\"required\":[\"city\"]}",
	.run = echo_run,
};

static void test_registry_call_paths(void)
{
	struct tool_registry *r = tools_new();
	struct tool_ctx ctx = { .timezone = "UTC", .now_ms = 1700000000000LL };
	json_t *good = J("{\"city\":\"Rome\"}"), *bad = J("{}");
	const json_t *schema;
	char *out = NULL;

	tools_add(r, &echo_tool);
	tools_add(r, &tool_current_time);
	schema = tools_schema(r);
	CHECK_EQ(json_array_size(schema), 2);
	CHECK_STR(kjson_str(json_array_get(schema, 0), "name"), "echo");
	CHECK(json_is_object(json_object_get(json_array_get(schema, 0), "parameters")));

	CHECK_EQ(tools_call(r, &ctx, "echo", good, NULL, &out), KITH_OK);
	CHECK_STR(out, "echo:Rome");
	free(out);
	CHECK_EQ(tools_call(r, &ctx, "echo", bad, NULL, &out), KITH_EINVAL);
	CHECK_CONTAINS(out, "missing required parameter 'city'");
	free(out);
	CHECK_EQ(tools_call(r, &ctx, "nope", good, NULL, &out), KITH_ENOTFOUND);
	CHECK_CONTAINS(out, "no tool named 'nope'");
	CHECK_CONTAINS(out, "echo, current_time");
	free(out);
	CHECK_EQ(tools_call(r, &ctx, "echo", NULL, "{not json", &out), KITH_EINVAL);
	CHECK_CONTAINS(out, "{not json");
	free(out);
	json_decref(good);
	json_decref(bad);
	tools_free(r);
}

static void test_time_tools(void)
{
	struct tool_registry *r = tools_new();
	/* 2023-11-14 22:13:20 UTC */
	struct tool_ctx ctx = { .timezone = "America/Los_Angeles", .now_ms = 1700000000000LL };
	json_t *none = J("{}"), *tokyo = J("{\"timezone\":\"Asia/Tokyo\"}");
	json_t *bogus = J("{\"timezone\":\"Mars/Base\"}");
	json_t *conv = J("{\"time\":\"2026-07-01 15:00\",\"from_timezone\":\"Europe/Berlin\","
			 "\"to_timezone\":\"Asia/Tokyo\"}");
	json_t *badtime = J("{\"time\":\"quarter past\",\"from_timezone\":\"UTC\","
			    "\"to_timezone\":\"UTC\"}");
	char *out = NULL;

	tools_add(r, &tool_current_time);
	tools_add(r, &tool_convert_time);
	CHECK_EQ(tools_call(r, &ctx, "current_time", none, NULL, &out), KITH_OK);
	CHECK_CONTAINS(out, "14 November 2023");
	CHECK_CONTAINS(out, "America/Los_Angeles");
	free(out);
	CHECK_EQ(tools_call(r, &ctx, "current_time", tokyo, NULL, &out), KITH_OK);
	CHECK_CONTAINS(out, "15 November 2023");
	CHECK_CONTAINS(out, "07:13");
	free(out);
	CHECK(tools_call(r, &ctx, "current_time", bogus, NULL, &out) != KITH_OK);
	CHECK_CONTAINS(out, "Mars/Base");
	free(out);
	/* 15:00 CEST (UTC+2) = 13:00 UTC = 22:00 JST */
	CHECK_EQ(tools_call(r, &ctx, "convert_time", conv, NULL, &out), KITH_OK);
	CHECK_CONTAINS(out, "15:00");
	CHECK_CONTAINS(out, "22:00");
	free(out);
	CHECK_EQ(tools_call(r, &ctx, "convert_time", badtime, NULL, &out), KITH_EINVAL);
	CHECK_CONTAINS(out, "quarter past");
	free(out);
	json_decref(none);
	json_decref(tokyo);
	json_decref(bogus);
	json_decref(conv);
	json_decref(badtime);
	tools_free(r);
}

int main(void)
{
	RUN(test_schema_accepts_valid);
	RUN(test_schema_names_the_problem);
	RUN(test_registry_call_paths);
	RUN(test_time_tools);
	return test_summary();
}
