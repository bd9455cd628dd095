/* hostexec_client.c — kith's own client of the host-exec API (for the
 * system agent): one POST with the bearer token, the server's refusal
 * reasons passed through as statuses a caller can act on. */
#include "tools/hostexec.h"
#include "tools/sysaccess.h"
#include "core/alloc.h"
#include "core/json.h"

#include <curl/curl.h>
#include <string.h>

/* HOST_EXEC_URL as given, or with "/exec" when it has no path. */
static char *exec_url(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
	size_t n = strlen(url);

	if (slash && slash[1])
		return xstrdup(url);
	return xasprintf("%.*s/exec", (int)(slash ? (size_t)(slash - url) : n), url);
}

enum kith_status hostexec_client_run(const char *url, const char *token,
				     const char *const *argv, int timeout_s, const char *cwd,
				     struct hostexec_client_result *res, char **why)
{
	json_t *body = json_object(), *a = json_array(), *answer = NULL;
	char *u = exec_url(url), *text;
	enum kith_status rc;

	memset(res, 0, sizeof(*res));
	for (size_t i = 0; argv && argv[i]; i++)
		json_array_append_new(a, json_string(argv[i]));
	json_object_set_new(body, "argv", a);
	if (timeout_s > 0)
		json_object_set_new(body, "timeout_s", json_integer(timeout_s));
	if (cwd)
		json_object_set_new(body, "cwd", json_string(cwd));
	text = json_dumps(body, JSON_COMPACT);
	rc = sysaccess_call("POST", u, token, text,
			    (long)((timeout_s > 0 ? timeout_s : HOSTEXEC_DEFAULT_TIMEOUT_S) + 15) *
			    1000, &answer, why);
	if (rc == KITH_OK) {
		long long code = -1;
		bool b = false;
		const char *o = kjson_str(answer, "stdout"), *e = kjson_str(answer, "stderr");

		if (!o || !e) {
			rc = kith_why(why, KITH_EPROTO, "host-exec answered without stdout/stderr");
		} else {
			res->exit_code = kjson_int(answer, "exit_code", &code) ? (int)code : -1;
			res->timed_out = kjson_bool(answer, "timed_out", &b) && b;
			b = false;
			res->truncated = kjson_bool(answer, "truncated", &b) && b;
			res->out = xstrdup(o);
			res->err = xstrdup(e);
		}
	}
	json_decref(answer);
	json_decref(body);
	free(text);
	free(u);
	return rc;
}

void hostexec_client_result_release(struct hostexec_client_result *res)
{
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}
