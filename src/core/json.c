/* json.c — jansson helpers. */
#include "core/json.h"
#include "core/alloc.h"

#include <string.h>

json_t *kjson_parse(const char *p, size_t n, char **why)
{
	json_error_t err;
	json_t *v = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

	if (!v)
		kith_why(why, KITH_EPROTO, "invalid JSON at line %d column %d: %s",
			 err.line, err.column, err.text);
	return v;
}

const char *kjson_str(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *kjson_obj(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_object(v) ? v : NULL;
}

json_t *kjson_arr(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_array(v) ? v : NULL;
}

bool kjson_int(const json_t *obj, const char *key, long long *out)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

bool kjson_num(const json_t *obj, const char *key, double *out)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

bool kjson_bool(const json_t *obj, const char *key, bool *out)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

char *kjson_dump(const json_t *v, bool sorted)
{
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | (sorted ? JSON_SORT_KEYS : 0);
	char *s = json_dumps(v, flags);
	char *r;

	if (!s)
		return xstrdup("null");
	r = xstrdup(s);
	free(s);
	return r;
}

void kjson_set_str(json_t *obj, const char *key, const char *value)
{
	if (value)
		json_object_set_new(obj, key, json_string(value));
}

json_t *kjson_object_in(const char *p, size_t n)
{
	const char *open = p ? memchr(p, '{', n) : NULL, *close = NULL;
	json_t *root = NULL;

	for (size_t k = n; open && k > 0; k--) {
		if (p[k - 1] == '}') {
			close = p + k - 1;
			break;
		}
	}
	if (open && close && close > open)
		root = json_loadb(open, (size_t)(close - open) + 1, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return NULL;
	}
	return root;
}
