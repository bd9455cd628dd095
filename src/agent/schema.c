/* schema.c — JSON-schema validation for tool arguments.
 *
 * Models get parameters wrong in predictable ways (a number as a string, a
 * missing required field, a misspelt key).  We check the subset of JSON
 * Schema that tool definitions use and say exactly which parameter is wrong,
 * so the model can correct itself on the next step. */
#include "agent/tools.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <math.h>
#include <string.h>

static const char *type_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

static int type_matches(const char *want, const json_t *v)
{
	if (strcmp(want, "number") == 0)
		return json_is_number(v);
	if (strcmp(want, "integer") == 0)
		return json_is_integer(v) ||
		       (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
	return strcmp(want, type_of(v)) == 0;
}

static enum kith_status check_type(const json_t *schema, const json_t *v, const char *path,
				   char **why)
{
	const json_t *t = json_object_get(schema, "type");
	size_t i;
	json_t *e;

	if (json_is_string(t)) {
		if (!type_matches(json_string_value(t), v))
			return kith_why(why, KITH_EINVAL, "parameter '%s' must be %s %s, not %s",
					path, strchr("aeiou", json_string_value(t)[0]) ? "an" : "a",
					json_string_value(t), type_of(v));
		return KITH_OK;
	}
	if (json_is_array(t)) {
		json_array_foreach(t, i, e) {
			if (json_is_string(e) && type_matches(json_string_value(e), v))
				return KITH_OK;
		}
		return kith_why(why, KITH_EINVAL, "parameter '%s' has the wrong type (%s)", path,
				type_of(v));
	}
	return KITH_OK;
}

static enum kith_status validate_at(const json_t *schema, const json_t *v, const char *path,
				    char **why);

static enum kith_status check_object(const json_t *schema, const json_t *v, const char *path,
				     char **why)
{
	const json_t *props = json_object_get(schema, "properties");
	const json_t *req = json_object_get(schema, "required");
	const json_t *extra = json_object_get(schema, "additionalProperties");
	const char *key;
	json_t *val;
	size_t i;
	enum kith_status rc;

	json_array_foreach(req, i, val) {
		if (json_is_string(val) && !json_object_get(v, json_string_value(val)))
			return *path
				? kith_why(why, KITH_EINVAL, "missing required parameter '%s.%s'", path,
					   json_string_value(val))
				: kith_why(why, KITH_EINVAL, "missing required parameter '%s'",
					   json_string_value(val));
	}
	json_object_foreach((json_t *)v, key, val) {
		const json_t *sub = json_is_object(props) ? json_object_get(props, key) : NULL;
		char *sub_path = *path ? xasprintf("%s.%s", path, key) : xstrdup(key);

		if (sub)
			rc = validate_at(sub, val, sub_path, why);
		else if (json_is_false(extra))
			rc = kith_why(why, KITH_EINVAL, "unknown parameter '%s'", sub_path);
		else
			rc = KITH_OK;
		free(sub_path);
		if (rc)
			return rc;
	}
	return KITH_OK;
}

static enum kith_status check_bounds(const json_t *schema, const json_t *v, const char *path,
				     char **why)
{
	double x;
	long long n;

	if (json_is_number(v)) {
		x = json_number_value(v);
		if (json_is_number(json_object_get(schema, "minimum")) &&
		    x < json_number_value(json_object_get(schema, "minimum")))
			return kith_why(why, KITH_EINVAL, "parameter '%s' must be at least %g", path,
					json_number_value(json_object_get(schema, "minimum")));
		if (json_is_number(json_object_get(schema, "maximum")) &&
		    x > json_number_value(json_object_get(schema, "maximum")))
			return kith_why(why, KITH_EINVAL, "parameter '%s' must be at most %g", path,
					json_number_value(json_object_get(schema, "maximum")));
	}
	if (json_is_string(v)) {
		n = (long long)json_string_length(v);
		if (json_is_integer(json_object_get(schema, "minLength")) &&
		    n < json_integer_value(json_object_get(schema, "minLength")))
			return kith_why(why, KITH_EINVAL, "parameter '%s' is too short", path);
		if (json_is_integer(json_object_get(schema, "maxLength")) &&
		    n > json_integer_value(json_object_get(schema, "maxLength")))
			return kith_why(why, KITH_EINVAL, "parameter '%s' is too long", path);
	}
	return KITH_OK;
}

static enum kith_status validate_at(const json_t *schema, const json_t *v, const char *path,
				    char **why)
{
	const json_t *en = json_object_get(schema, "enum");
	enum kith_status rc;
	size_t i;
	json_t *e;

	if (!json_is_object(schema))
		return KITH_OK;
	rc = check_type(schema, v, path, why);
	if (rc)
		return rc;
	if (json_is_array(en)) {
		int found = 0;

		json_array_foreach(en, i, e) {
			if (json_equal(e, (json_t *)v))
				found = 1;
		}
		if (!found) {
			char *allowed = json_dumps(en, JSON_COMPACT | JSON_ENCODE_ANY);

			rc = kith_why(why, KITH_EINVAL, "parameter '%s' must be one of %s", path,
				      allowed ? allowed : "the listed values");
			free(allowed);
			return rc;
		}
	}
	rc = check_bounds(schema, v, path, why);
	if (rc)
		return rc;
	if (json_is_object(v))
		return check_object(schema, v, path, why);
	if (json_is_array(v) && json_is_object(json_object_get(schema, "items"))) {
		json_array_foreach(v, i, e) {
			char *sub_path = xasprintf("%s[%zu]", path, i);

			rc = validate_at(json_object_get(schema, "items"), e, sub_path, why);
			free(sub_path);
			if (rc)
				return rc;
		}
	}
	return KITH_OK;
}

enum kith_status schema_validate(const json_t *schema, const json_t *value, char **why)
{
	if (json_is_object(value) || !json_is_object(schema))
		return validate_at(schema, value, "", why);
	return kith_why(why, KITH_EINVAL, "arguments must be a JSON object, not %s", type_of(value));
}
