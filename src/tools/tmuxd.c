/* tmuxd.c — the tmux control API's HTTP routes (`kith tmuxd`).
 *
 * The routes and bodies follow SEL's tmux_control_api.py so its clients
 * need only the new header (Authorization: Bearer instead of
 * X-Tmux-Token); what differs is on purpose: a token is required on every
 * route (tmuxd_start refuses to run without one), GET never creates a
 * session, sessions persist between commands (the reference killed them
 * after each by default), /execute waits for the command to finish instead
 * of sleeping a fixed time, and returns its exit status.  Each execution is
 * logged before it starts and when it ends. */
#include "tools/tmux.h"
#include "tools/sysaccess.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "httpd/httpd.h"

#include <math.h>
#include <string.h>

#define CAPTURE_DEFAULT_LINES 100
#define CAPTURE_MAX_LINES 10000
#define AUDIT_COMMAND_MAX 500

struct tmuxd {
	struct httpd *srv;
	struct tmux *tmux;
};

static struct tmux *tmux_of(const struct httpd_req *req)
{
	return ((struct tmuxd *)req->app)->tmux;
}

static int status_for(enum kith_status rc)
{
	switch (rc) {
	case KITH_EINVAL: return 422;
	case KITH_ENOTFOUND: return 404;
	case KITH_ECONFLICT: return 409;
	default: return 500;
	}
}

static void fail(struct httpd_resp *resp, enum kith_status rc, char *why)
{
	httpd_error(resp, status_for(rc), "%s", why ? why : kith_strerror(rc));
	free(why);
}

static json_t *time_json(int64_t ms)
{
	char s[32];

	if (ms <= 0)
		return json_null();
	clock_format_utc(ms, s, sizeof(s));
	return json_string(s);
}

static json_t *info_json(const struct tmux_session_info *s)
{
	return json_pack("{s:s, s:o, s:I, s:o, s:o}", "name", s->name, "created_at",
			 time_json(s->created_at_ms), "command_count", (json_int_t)s->command_count,
			 "last_command_at", time_json(s->last_command_at_ms), "cwd",
			 s->cwd ? json_string(s->cwd) : json_null());
}

/* The body as an object whose keys are all in `allowed` (NULL-terminated);
 * NULL with a 422 answered otherwise. */
static json_t *body_object(const struct httpd_req *req, struct httpd_resp *resp,
			   const char *const *allowed)
{
	char *why = NULL;
	json_t *root = req->body_len ? kjson_parse(req->body, req->body_len, &why) : json_object();
	const char *key;
	json_t *v;

	if (!root) {
		httpd_error(resp, 422, "body: %s", why);
		free(why);
		return NULL;
	}
	if (!json_is_object(root)) {
		httpd_error(resp, 422, "body: must be a JSON object");
		json_decref(root);
		return NULL;
	}
	json_object_foreach(root, key, v) {
		size_t i = 0;

		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i]) {
			httpd_error(resp, 422, "%.64s: unknown field", key);
			json_decref(root);
			return NULL;
		}
	}
	return root;
}

/* A string field: its value, the default when absent, NULL (422 answered)
 * when it is not a string or holds a NUL. */
static const char *str_field(json_t *o, const char *key, const char *def,
			     struct httpd_resp *resp)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return def;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		httpd_error(resp, 422, "%s: must be a string without NUL bytes", key);
		return NULL;
	}
	return json_string_value(v);
}

static void h_list(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct tmux_session_info *s = NULL;
	size_t n = 0;
	char *why = NULL;
	enum kith_status rc = tmux_session_list(tmux_of(req), &s, &n, &why);
	json_t *a;

	if (rc) {
		fail(resp, rc, why);
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, info_json(&s[i]));
	httpd_json(resp, 200, json_pack("{s:o}", "sessions", a));
	tmux_session_infos_free(s, n);
}

static void h_create(const struct httpd_req *req, struct httpd_resp *resp)
{
	static const char *const allowed[] = { "session_name", "name", NULL };
	json_t *o = body_object(req, resp, allowed);
	const char *name;
	char *why = NULL;
	bool created = false;
	enum kith_status rc;

	if (!o)
		return;
	name = str_field(o, "session_name", NULL, resp);
	if (!name && resp->status == 200)
		name = str_field(o, "name", TMUX_DEFAULT_SESSION, resp);
	if (name) {
		rc = tmux_session_ensure(tmux_of(req), name, &created, &why);
		if (rc)
			fail(resp, rc, why);
		else
			httpd_json(resp, created ? 201 : 200, json_pack("{s:s, s:s}", "status",
				   created ? "created" : "exists", "session", name));
	}
	json_decref(o);
}

static void h_get(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct tmux_session_info s;
	const char *lines_q = httpd_query(req, "lines");
	long lines = CAPTURE_DEFAULT_LINES;
	char *why = NULL, *text = NULL, *end = NULL;
	enum kith_status rc;
	json_t *j;

	if (lines_q) {
		lines = strtol(lines_q, &end, 10);
		if (!*lines_q || *end || lines < 1 || lines > CAPTURE_MAX_LINES) {
			httpd_error(resp, 422, "lines: must be 1 to %d", CAPTURE_MAX_LINES);
			return;
		}
	}
	rc = tmux_session_get(tmux_of(req), req->params[0], &s, &why);
	if (rc == KITH_OK)
		rc = tmux_session_capture(tmux_of(req), req->params[0], (int)lines, &text, &why);
	if (rc) {
		tmux_session_info_release(&s);
		fail(resp, rc, why);
		return;
	}
	j = info_json(&s);
	json_object_set_new(j, "session", json_string(s.name));
	json_object_set_new(j, "output", sysaccess_json_text(text, strlen(text)));
	httpd_json(resp, 200, j);
	tmux_session_info_release(&s);
	free(text);
}

static void h_delete(const struct httpd_req *req, struct httpd_resp *resp)
{
	char *why = NULL;
	enum kith_status rc = tmux_session_kill(tmux_of(req), req->params[0], &why);

	if (rc)
		fail(resp, rc, why);
	else
		httpd_json(resp, 200, json_pack("{s:s, s:s}", "status", "killed", "session",
						req->params[0]));
}

static void h_execute(const struct httpd_req *req, struct httpd_resp *resp)
{
	static const char *const allowed[] = { "command", "session", "timeout_s", "ephemeral",
					       "capture_output", "wait_ms", NULL };
	json_t *o = body_object(req, resp, allowed), *v;
	const char *command, *session;
	struct tmux_exec res = { 0 };
	double timeout_s = TMUX_DEFAULT_TIMEOUT_S;
	int ephemeral = 0;
	char *why = NULL, *shown = NULL;
	enum kith_status rc;

	if (!o)
		return;
	command = str_field(o, "command", NULL, resp);
	if (!command) {
		if (resp->status == 200)
			httpd_error(resp, 422, "command: is required");
		goto out;
	}
	session = str_field(o, "session", TMUX_DEFAULT_SESSION, resp);
	if (!session)
		goto out;
	v = json_object_get(o, "timeout_s");
	if (v && !json_is_null(v)) {
		timeout_s = json_is_number(v) ? json_number_value(v) : NAN;
		if (!(timeout_s > 0 && timeout_s <= TMUX_MAX_TIMEOUT_S)) {
			httpd_error(resp, 422, "timeout_s: must be above 0 and at most %d",
				    TMUX_MAX_TIMEOUT_S);
			goto out;
		}
	}
	v = json_object_get(o, "ephemeral");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			httpd_error(resp, 422, "ephemeral: must be true or false");
			goto out;
		}
		ephemeral = json_is_true(v);
	}
	shown = sysaccess_audit_text(command, strlen(command), AUDIT_COMMAND_MAX);
	log_info("tmuxd", "exec session=%s timeout=%gs command=\"%s\"", session, timeout_s, shown);
	rc = tmux_execute(tmux_of(req), session, command, (int)(timeout_s * 1000), &res, &why);
	if (rc) {
		log_warn("tmuxd", "exec session=%s refused: %s", session, why);
		fail(resp, rc, why);
		goto out;
	}
	log_info("tmuxd", "exec session=%s done: %s %d%s (%lld ms, %zu bytes)", session,
		 res.timed_out ? "timed out," : res.session_ended ? "shell exited," : "exit",
		 res.exit_code, res.truncated ? ", truncated" : "", (long long)res.duration_ms,
		 res.output_len);
	if (ephemeral && !res.session_ended) {
		if (tmux_session_kill(tmux_of(req), session, &why) != KITH_OK)
			log_warn("tmuxd", "could not end ephemeral session %s: %s", session, why);
		free(why);
		why = NULL;
	}
	httpd_json(resp, 200, json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:b, s:b, s:I}",
					"status", "executed", "session", session,
					"command", sysaccess_json_text(command, strlen(command)),
					"output", sysaccess_json_text(res.output, res.output_len),
					"exit_code", res.exit_code >= 0 ? json_integer(res.exit_code)
									: json_null(),
					"timed_out", res.timed_out, "truncated", res.truncated,
					"session_ended", res.session_ended, "ephemeral", ephemeral,
					"duration_ms", (json_int_t)res.duration_ms));
out:
	tmux_exec_release(&res);
	free(shown);
	json_decref(o);
}

static void h_capture(const struct httpd_req *req, struct httpd_resp *resp)
{
	static const char *const allowed[] = { "session", "lines", NULL };
	json_t *o = body_object(req, resp, allowed), *v;
	const char *session;
	long long lines = CAPTURE_DEFAULT_LINES;
	char *why = NULL, *text = NULL;
	enum kith_status rc;

	if (!o)
		return;
	session = str_field(o, "session", TMUX_DEFAULT_SESSION, resp);
	v = json_object_get(o, "lines");
	if (session && v && !json_is_null(v)) {
		lines = json_is_integer(v) ? json_integer_value(v) : 0;
		if (lines < 1 || lines > CAPTURE_MAX_LINES) {
			httpd_error(resp, 422, "lines: must be 1 to %d", CAPTURE_MAX_LINES);
			session = NULL;
		}
	}
	if (session) {
		rc = tmux_session_capture(tmux_of(req), session, (int)lines, &text, &why);
		if (rc)
			fail(resp, rc, why);
		else
			httpd_json(resp, 200, json_pack("{s:s, s:o}", "session", session, "output",
							sysaccess_json_text(text, strlen(text))));
	}
	free(text);
	json_decref(o);
}

static const struct httpd_route routes[] = {
	{ "GET", "/sessions", h_list, "sessions with their metadata", 0 },
	{ "POST", "/sessions", h_create, "create a session unless it exists", 0 },
	{ "GET", "/sessions/:name", h_get, "one session and its recent screen", 0 },
	{ "DELETE", "/sessions/:name", h_delete, "end a session", 0 },
	{ "POST", "/execute", h_execute, "run a shell line in a session, wait for its output", 0 },
	{ "POST", "/capture", h_capture, "a session's recent screen", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

enum kith_status tmuxd_start(const struct tmuxd_config *cfg, struct tmuxd **out, char **why)
{
	struct tmuxd *d;
	struct httpd_config hc = { 0 };
	enum kith_status rc;
	bool created;

	*out = NULL;
	if (!cfg->token || !*cfg->token)
		return kith_why(why, KITH_ECONFIG, "the tmux control API is a remote shell and "
				"needs a token: set TMUX_CONTROL_TOKEN (clients send it as a "
				"bearer token)");
	d = xcalloc(1, sizeof(*d));
	rc = tmux_open(&cfg->tmux, &d->tmux, why);
	if (rc)
		goto fail;
	rc = tmux_session_ensure(d->tmux, TMUX_DEFAULT_SESSION, &created, why);
	if (rc)
		goto fail;
	hc.name = "tmuxd";
	hc.host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
	hc.port = cfg->port;
	hc.token = cfg->token;
	hc.max_body = TMUX_MAX_COMMAND + 4096;
	hc.routes = routes;
	hc.app = d;
	hc.threads = cfg->threads ? cfg->threads : 4;
	rc = httpd_start(&hc, &d->srv, why);
	if (rc)
		goto fail;
	*out = d;
	return KITH_OK;
fail:
	tmux_close(d->tmux);
	free(d);
	return rc;
}

int tmuxd_port(const struct tmuxd *d)
{
	return httpd_port(d->srv);
}

const char *tmuxd_socket_path(const struct tmuxd *d)
{
	return tmux_socket_path(d->tmux);
}

void tmuxd_stop(struct tmuxd *d)
{
	if (!d)
		return;
	httpd_stop(d->srv);
	tmux_close(d->tmux);
	free(d);
}
