/* test_him_openapi.c — docs/him-openapi.json and the route table agree:
 * every route is documented with its method, and every documented
 * operation is served. */
#include "support/test.h"
#include "core/alloc.h"
#include "core/json.h"
#include "him/api.h"

#include <ctype.h>

/* "/v1/snapshots/:id/merge" → "/v1/snapshots/{id}/merge" */
static char *openapi_path(const char *pattern)
{
	struct buf b = BUF_INIT(0);

	for (const char *p = pattern; *p;) {
		if (*p == ':') {
			const char *e = p + 1;

			while (*e && *e != '/')
				e++;
			buf_printf(&b, "{%.*s}", (int)(e - p - 1), p + 1);
			p = e;
		} else {
			buf_append(&b, p++, 1);
		}
	}
	return buf_detach(&b);
}

static char *lower(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static json_t *load_spec(void)
{
	const char *src = getenv("KITH_SOURCE_DIR");
	char *path = xasprintf("%s/docs/him-openapi.json", src && *src ? src : ".");
	json_error_t err;
	json_t *spec = json_load_file(path, 0, &err);

	if (!spec)
		test_fail_(__FILE__, __LINE__, "%s: %s", path, err.text);
	free(path);
	return spec;
}

static void test_every_route_is_documented(void)
{
	json_t *spec = load_spec(), *paths = kjson_obj(spec, "paths");

	REQUIRE(paths);
	for (const struct httpd_route *r = him_api_routes(); r->method; r++) {
		char *p = openapi_path(r->pattern), *m = lower(r->method);
		json_t *op = kjson_obj(kjson_obj(paths, p), m);

		if (!op)
			test_fail_(__FILE__, __LINE__, "%s %s is not in docs/him-openapi.json",
				   r->method, p);
		else if (r->public_ != (json_is_array(json_object_get(op, "security")) &&
					json_array_size(json_object_get(op, "security")) == 0))
			test_fail_(__FILE__, __LINE__, "%s %s: public/secured differs from the docs",
				   r->method, p);
		free(p);
		free(m);
	}
	json_decref(spec);
}

static void test_every_documented_operation_is_served(void)
{
	json_t *spec = load_spec(), *paths = kjson_obj(spec, "paths"), *item, *op;
	const char *path, *method;

	REQUIRE(paths);
	json_object_foreach(paths, path, item) {
		json_object_foreach(item, method, op) {
			int found = 0;

			for (const struct httpd_route *r = him_api_routes(); r->method && !found; r++) {
				char *p = openapi_path(r->pattern), *m = lower(r->method);

				found = strcmp(p, path) == 0 && strcmp(m, method) == 0;
				free(p);
				free(m);
			}
			if (!found)
				test_fail_(__FILE__, __LINE__, "docs list %s %s but no route serves it",
					   method, path);
		}
	}
	json_decref(spec);
}

int main(void)
{
	RUN(test_every_route_is_documented);
	RUN(test_every_documented_operation_is_served);
	return test_summary();
}
