/* hostexec.c — the host-exec HTTP server: POST /exec runs one allow-listed
 * program as an argument vector.
 *
 * Order of checks per request: httpd refuses a missing or wrong token (401)
 * and oversized bodies (413) before any of the body is read; then the body
 * is parsed strictly (422), argv[0] is matched against the allow-list
 * (403; 404 when listed but not installed), and only then does a process
 * start — with SYSACCESS_PATH and HOME as its whole environment, stdin from
 * /dev/null, a deadline that kills its process group, and each output
 * stream capped.  Every request that reaches the handler gets one audit
 * line (allowed or denied); the token never appears in one.  POST /run is
 * the reference's path, kept so HOST_EXEC_URL's old default still points
 * at something: the same handler, the same argv body. */
#include "tools/hostexec.h"
#include "tools/sysaccess.h"
#include "core/alloc.h"
#include "core/log.h"
#include "httpd/httpd.h"

#include <string.h>

struct hostexec_server {
	struct httpd *srv;
	struct hostexec_policy *policy;
	char *default_cwd;
	char *home_env;            /* "HOME=…" for children */
	size_t max_output;
};

/* The argv as a JSON array for the audit line (JSON escapes every control
 * byte), cut to a readable size. */
static char *audit_argv(const struct hostexec_request *r)
{
	json_t *a = json_array();
	char *dump, *text;
	size_t n;

	for (size_t i = 0; i < r->argc; i++)
		json_array_append_new(a, sysaccess_json_text(r->argv[i], strlen(r->argv[i])));
	dump = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);
	n = dump ? strlen(dump) : 0;
	text = n > 600 ? xasprintf("%.600s…(+%zu bytes)", dump, n - 600)
		       : xstrdup(dump ? dump : "[]");
	free(dump);
	json_decref(a);
	return text;
}

static void h_exec(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct hostexec_server *s = req->app;
	struct hostexec_request r;
	struct sysaccess_result res = { 0 };
	char *why = NULL, *path = NULL, *shown = NULL;
	enum kith_status rc;
	const char *env[3];

	buf_init(&res.out, 0);
	buf_init(&res.err, 0);
	rc = hostexec_parse_request(req->body, req->body_len, &r, &why);
	if (rc) {
		log_info("hostexec", "refused a request: %s", why);
		httpd_error(resp, 422, "%s", why);
		goto out;
	}
	shown = audit_argv(&r);
	rc = hostexec_policy_resolve(s->policy, r.argv[0], &path, &why);
	if (rc) {
		log_warn("hostexec", "denied argv=%s: %s", shown, why);
		httpd_error(resp, rc == KITH_EAUTH ? 403 : 404, "%s", why);
		goto out;
	}
	env[0] = "PATH=" SYSACCESS_PATH;
	env[1] = s->home_env;
	env[2] = NULL;
	sysaccess_result_release(&res);
	rc = sysaccess_exec(&(struct sysaccess_run){ .path = path,
						     .argv = (const char *const *)r.argv,
						     .env = env,
						     .cwd = r.cwd ? r.cwd : s->default_cwd,
						     .timeout_ms = r.timeout_ms,
						     .cap = s->max_output },
			    &res, &why);
	if (rc) {
		log_warn("hostexec", "failed argv=%s cwd=%s: %s", shown,
			 r.cwd ? r.cwd : s->default_cwd, why);
		httpd_error(resp, rc == KITH_ENOTFOUND ? 422 : 500, "%s", why);
		goto out;
	}
	log_info("hostexec", "ran argv=%s cwd=%s → %s %d%s%s (%lld ms, %zu+%zu bytes)", shown,
		 r.cwd ? r.cwd : s->default_cwd, res.term_signal ? "signal" : "exit",
		 res.term_signal ? res.term_signal : res.exit_code,
		 res.timed_out ? ", timed out" : "", res.truncated ? ", truncated" : "",
		 (long long)res.duration_ms, res.out.len, res.err.len);
	httpd_json(resp, 200, json_pack("{s:o, s:o, s:o, s:b, s:b, s:I}",
					"exit_code", res.exit_code >= 0 && !res.timed_out ?
					json_integer(res.exit_code) : json_null(),
					"stdout", sysaccess_json_text(res.out.data, res.out.len),
					"stderr", sysaccess_json_text(res.err.data, res.err.len),
					"timed_out", res.timed_out, "truncated", res.truncated,
					"duration_ms", (json_int_t)res.duration_ms));
out:
	sysaccess_result_release(&res);
	hostexec_request_release(&r);
	free(path);
	free(shown);
	free(why);
}

static const struct httpd_route routes[] = {
	{ "POST", "/exec", h_exec, "run an allow-listed program: {argv, timeout_s?, cwd?}", 0 },
	{ "POST", "/run", h_exec, "the same, at the SEL reference's path", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

enum kith_status hostexec_server_start(const struct hostexec_config *cfg,
				       struct hostexec_server **out, char **why)
{
	struct hostexec_server *s;
	struct httpd_config hc = { 0 };
	const char *home = getenv("HOME");
	enum kith_status rc;
	char *risky;

	*out = NULL;
	if (!cfg->token || !*cfg->token)
		return kith_why(why, KITH_ECONFIG, "the host-exec API needs a token: set "
				"HOST_EXEC_TOKEN (clients send it as a bearer token)");
	s = xcalloc(1, sizeof(*s));
	rc = hostexec_policy_new(cfg->whitelist, &s->policy, why);
	if (rc)
		goto fail;
	s->default_cwd = xstrdup(cfg->default_cwd ? cfg->default_cwd : "/");
	s->home_env = xasprintf("HOME=%s", home && *home ? home : "/");
	s->max_output = cfg->max_output ? cfg->max_output : HOSTEXEC_DEFAULT_MAX_OUTPUT;
	hc.name = "hostexec";
	hc.host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
	hc.port = cfg->port;
	hc.token = cfg->token;
	hc.max_body = HOSTEXEC_MAX_BODY;
	hc.routes = routes;
	hc.app = s;
	hc.threads = cfg->threads ? cfg->threads : 4;
	rc = httpd_start(&hc, &s->srv, why);
	if (rc)
		goto fail;
	risky = hostexec_policy_risky(s->policy);
	if (hostexec_policy_count(s->policy) == 0)
		log_warn("hostexec", "HOST_EXEC_WHITELIST is empty: every request will be denied");
	if (risky)
		log_warn("hostexec", "HOST_EXEC_WHITELIST lists %s, which can run any other "
			 "program; the list no longer limits what callers run", risky);
	free(risky);
	*out = s;
	return KITH_OK;
fail:
	hostexec_policy_free(s->policy);
	free(s->default_cwd);
	free(s->home_env);
	free(s);
	return rc;
}

int hostexec_server_port(const struct hostexec_server *s)
{
	return httpd_port(s->srv);
}

void hostexec_server_stop(struct hostexec_server *s)
{
	if (!s)
		return;
	httpd_stop(s->srv);
	hostexec_policy_free(s->policy);
	free(s->default_cwd);
	free(s->home_env);
	free(s);
}
