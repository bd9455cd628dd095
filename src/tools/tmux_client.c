/* tmux_client.c — kith's own client of the tmux control API (for the
 * system agent): sessions and executions over HTTP with the bearer token. */
#include "tools/tmux.h"
#include "tools/sysaccess.h"
#include "core/alloc.h"
#include "core/json.h"

#include <curl/curl.h>
#include <string.h>

#define CALL_MS 15000L

struct tmux_client {
	char *base;      /* without a trailing '/' */
	char *token;
};

struct tmux_client *tmux_client_new(const char *url, const char *token)
{
	struct tmux_client *c = xcalloc(1, sizeof(*c));
	size_t n = strlen(url);

	while (n && url[n - 1] == '/')
		n--;
	c->base = xstrndup(url, n);
	c->token = xstrdup(token ? token : "");
	return c;
}

void tmux_client_free(struct tmux_client *c)
{
	if (!c)
		return;
	memset(c->token, 0, strlen(c->token));
	free(c->token);
	free(c->base);
	free(c);
}

static enum kith_status call(struct tmux_client *c, const char *method, const char *path,
			     json_t *body, long timeout_ms, json_t **answer, char **why)
{
	char *url = xasprintf("%s%s", c->base, path);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	enum kith_status rc = sysaccess_call(method, url, c->token, text, timeout_ms, answer, why);

	free(text);
	free(url);
	return rc;
}

enum kith_status tmux_client_create_session(struct tmux_client *c, const char *name,
					    char **why)
{
	json_t *body = json_pack("{s:s}", "session_name", name), *answer = NULL;
	enum kith_status rc = call(c, "POST", "/sessions", body, CALL_MS, &answer, why);

	json_decref(body);
	json_decref(answer);
	return rc;
}

enum kith_status tmux_client_delete_session(struct tmux_client *c, const char *name,
					    char **why)
{
	char *esc = curl_easy_escape(NULL, name, 0);
	char *path = xasprintf("/sessions/%s", esc ? esc : "");
	json_t *answer = NULL;
	enum kith_status rc = call(c, "DELETE", path, NULL, CALL_MS, &answer, why);

	curl_free(esc);
	free(path);
	json_decref(answer);
	return rc;
}

enum kith_status tmux_client_list(struct tmux_client *c, char ***names, size_t *n, char **why)
{
	json_t *answer = NULL, *a;
	enum kith_status rc = call(c, "GET", "/sessions", NULL, CALL_MS, &answer, why);

	*names = NULL;
	*n = 0;
	if (rc)
		return rc;
	a = kjson_arr(answer, "sessions");
	if (!a) {
		json_decref(answer);
		return kith_why(why, KITH_EPROTO, "the tmux API answered without \"sessions\"");
	}
	*names = xcalloc(json_array_size(a) + 1, sizeof(char *));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *name = kjson_str(json_array_get(a, i), "name");

		if (name)
			(*names)[(*n)++] = xstrdup(name);
	}
	json_decref(answer);
	return KITH_OK;
}

enum kith_status tmux_client_execute(struct tmux_client *c, const char *session,
				     const char *command, int timeout_s, struct tmux_exec *res,
				     char **why)
{
	json_t *body = json_pack("{s:s}", "command", command), *answer = NULL;
	enum kith_status rc;
	long long code = -1;
	bool b;
	const char *out;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (session)
		json_object_set_new(body, "session", json_string(session));
	if (timeout_s > 0)
		json_object_set_new(body, "timeout_s", json_integer(timeout_s));
	rc = call(c, "POST", "/execute", body,
		  ((long)(timeout_s > 0 ? timeout_s : TMUX_DEFAULT_TIMEOUT_S) + 15) * 1000, &answer,
		  why);
	json_decref(body);
	if (rc)
		return rc;
	out = kjson_str(answer, "output");
	if (!out) {
		json_decref(answer);
		return kith_why(why, KITH_EPROTO, "the tmux API answered without \"output\"");
	}
	res->output_len = json_string_length(json_object_get(answer, "output"));
	res->output = xstrndup(out, res->output_len);
	if (kjson_int(answer, "exit_code", &code))
		res->exit_code = (int)code;
	res->timed_out = kjson_bool(answer, "timed_out", &b) && b;
	res->truncated = kjson_bool(answer, "truncated", &b) && b;
	res->session_ended = kjson_bool(answer, "session_ended", &b) && b;
	if (kjson_int(answer, "duration_ms", &code))
		res->duration_ms = code;
	json_decref(answer);
	return KITH_OK;
}
