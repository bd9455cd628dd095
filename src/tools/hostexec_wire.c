/* hostexec_wire.c — the host-exec request body and the allow-list.
 *
 * Both are the security boundary of the API, so both are strict: the body
 * parser refuses unknown fields (a misspelt "cwd" must not silently run in
 * the default directory) and the reference's {"command": "…"} form with a
 * reason; the allow-list matches argv[0] as a whole string — never a
 * prefix — and only bare names go through PATH (the fixed SYSACCESS_PATH),
 * so "/tmp/echo", "./echo" and "../bin/rm" match nothing unless listed
 * exactly. */
#include "tools/hostexec.h"
#include "tools/sysaccess.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void request_init(struct hostexec_request *r)
{
	memset(r, 0, sizeof(*r));
	r->timeout_ms = HOSTEXEC_DEFAULT_TIMEOUT_S * 1000;
}

void hostexec_request_release(struct hostexec_request *r)
{
	for (size_t i = 0; r->argv && i < r->argc; i++)
		free(r->argv[i]);
	free(r->argv);
	free(r->cwd);
	request_init(r);
}

static enum kith_status parse_argv(json_t *a, struct hostexec_request *out, char **why)
{
	size_t n = json_is_array(a) ? json_array_size(a) : 0;

	if (!json_is_array(a))
		return kith_why(why, KITH_EINVAL, "argv: must be an array of strings");
	if (n == 0)
		return kith_why(why, KITH_EINVAL, "argv: is empty; name a program to run");
	if (n > HOSTEXEC_MAX_ARGS)
		return kith_why(why, KITH_EINVAL, "argv: %zu arguments; at most %d", n,
				HOSTEXEC_MAX_ARGS);
	out->argv = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(a, i);
		size_t len = json_is_string(s) ? json_string_length(s) : 0;

		if (!json_is_string(s))
			return kith_why(why, KITH_EINVAL, "argv[%zu]: must be a string", i);
		if (len > HOSTEXEC_MAX_ARG_BYTES)
			return kith_why(why, KITH_EINVAL, "argv[%zu]: %zu bytes; at most %d", i,
					len, HOSTEXEC_MAX_ARG_BYTES);
		if (memchr(json_string_value(s), '\0', len))
			return kith_why(why, KITH_EINVAL, "argv[%zu]: contains a NUL byte", i);
		if (i == 0 && len == 0)
			return kith_why(why, KITH_EINVAL, "argv[0]: is empty; name a program");
		out->argv[i] = xstrndup(json_string_value(s), len);
		out->argc = i + 1;
	}
	return KITH_OK;
}

enum kith_status hostexec_parse_request(const char *body, size_t n, struct hostexec_request *out,
					char **why)
{
	json_t *root, *v;
	const char *key;
	enum kith_status rc = KITH_OK;
	char *jwhy = NULL;

	request_init(out);
	root = kjson_parse(body, n, &jwhy);
	if (!root) {
		rc = kith_why(why, KITH_EINVAL, "body: %s", jwhy);
		free(jwhy);
		return rc;
	}
	if (!json_is_object(root)) {
		rc = kith_why(why, KITH_EINVAL, "body: must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "argv") == 0 || strcmp(key, "timeout_s") == 0 ||
		    strcmp(key, "cwd") == 0)
			continue;
		if (strcmp(key, "command") == 0)
			rc = kith_why(why, KITH_EINVAL, "command: kith never runs command strings "
				      "(no shell); send \"argv\": [\"program\", \"arg\", …]");
		else
			rc = kith_why(why, KITH_EINVAL, "%.64s: unknown field (expected argv, "
				      "timeout_s, cwd)", key);
		goto out;
	}
	rc = parse_argv(json_object_get(root, "argv"), out, why);
	if (rc)
		goto out;
	v = json_object_get(root, "timeout_s");
	if (v && !json_is_null(v)) {
		double t = json_is_number(v) ? json_number_value(v) : NAN;

		if (!(t > 0 && t <= HOSTEXEC_MAX_TIMEOUT_S)) {
			rc = kith_why(why, KITH_EINVAL, "timeout_s: must be a number of seconds "
				      "above 0 and at most %d", HOSTEXEC_MAX_TIMEOUT_S);
			goto out;
		}
		out->timeout_ms = t * 1000 < 1 ? 1 : (int)(t * 1000);
	}
	v = json_object_get(root, "cwd");
	if (v && !json_is_null(v)) {
		size_t len = json_is_string(v) ? json_string_length(v) : 0;

		if (!json_is_string(v) || len == 0 || json_string_value(v)[0] != '/' ||
		    len > HOSTEXEC_MAX_ARG_BYTES || memchr(json_string_value(v), '\0', len)) {
			rc = kith_why(why, KITH_EINVAL, "cwd: must be an absolute directory path");
			goto out;
		}
		out->cwd = xstrndup(json_string_value(v), len);
	}
out:
	json_decref(root);
	return rc;
}

/* ---------------------------------------------------------------------- */

struct hostexec_policy {
	char **items;
	size_t n;
};

/* Programs that run other programs or code given as arguments: listing one
 * lets a caller run anything, which the owner should at least be told. */
static const char *const risky_names[] = {
	"sh", "bash", "dash", "zsh", "ksh", "fish", "csh", "tcsh", "busybox", "env", "sudo",
	"su", "doas", "xargs", "nohup", "timeout", "nice", "setsid", "strace", "python",
	"python3", "perl", "ruby", "node", "php", "lua", "awk", "gawk", "mawk", "find", "make",
	"ssh", "docker", "tmux", "screen", NULL,
};

/* Program names are plain words: letters, digits and "._+-@" (and '/' in
 * a path).  Anything else — spaces, ';', '|', '$', quotes — means someone
 * wrote a command line, which this list never matched against. */
static bool bad_char(const char *s)
{
	return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			"._+-@/")] != '\0';
}

/* An absolute path with no empty, "." or ".." segment and no trailing '/'. */
static bool normal_abs_path(const char *s)
{
	if (s[0] != '/' || s[1] == '\0')
		return false;
	for (const char *seg = s + 1;;) {
		size_t n = strcspn(seg, "/");

		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (!seg[n])
			return true;
		seg += n + 1;
	}
}

static enum kith_status check_item(const char *s, char **why)
{
	if (!*s)
		return kith_why(why, KITH_ECONFIG, "HOST_EXEC_WHITELIST: an item is empty");
	if (strcmp(s, "*") == 0)
		return kith_why(why, KITH_ECONFIG, "HOST_EXEC_WHITELIST: \"*\" is not a wildcard in "
				"kith (it allowed everything in SEL); list the programs by name");
	if (bad_char(s))
		return kith_why(why, KITH_ECONFIG, "HOST_EXEC_WHITELIST: \"%.64s\" is not a program "
				"name (letters, digits, ._+-@); items name programs, not command "
				"lines", s);
	if (strchr(s, '/') && !normal_abs_path(s))
		return kith_why(why, KITH_ECONFIG, "HOST_EXEC_WHITELIST: \"%.64s\" is not a bare "
				"program name or a plain absolute path", s);
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return kith_why(why, KITH_ECONFIG, "HOST_EXEC_WHITELIST: \"%s\" is not a program", s);
	return KITH_OK;
}

enum kith_status hostexec_policy_new(const char *const *items, struct hostexec_policy **out,
				     char **why)
{
	struct hostexec_policy *p = xcalloc(1, sizeof(*p));
	size_t n = 0;

	*out = NULL;
	while (items && items[n])
		n++;
	p->items = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		enum kith_status rc = check_item(items[i], why);

		if (rc) {
			hostexec_policy_free(p);
			return rc;
		}
		p->items[p->n++] = xstrdup(items[i]);
	}
	*out = p;
	return KITH_OK;
}

void hostexec_policy_free(struct hostexec_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->items[i]);
	free(p->items);
	free(p);
}

size_t hostexec_policy_count(const struct hostexec_policy *p)
{
	return p->n;
}

char *hostexec_policy_risky(const struct hostexec_policy *p)
{
	struct buf b = BUF_INIT(0);

	for (size_t i = 0; i < p->n; i++) {
		const char *base = strrchr(p->items[i], '/');

		base = base ? base + 1 : p->items[i];
		bool risky = strncmp(base, "python", 6) == 0;   /* python3.11 … */

		for (size_t k = 0; !risky && risky_names[k]; k++)
			risky = strcmp(base, risky_names[k]) == 0;
		if (risky)
			(void)buf_printf(&b, "%s%s", b.len ? ", " : "", p->items[i]);
	}
	return b.len ? buf_detach(&b) : (buf_release(&b), NULL);
}

static bool listed(const struct hostexec_policy *p, const char *argv0)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->items[i], argv0) == 0)
			return true;
	return false;
}

enum kith_status hostexec_policy_resolve(const struct hostexec_policy *p, const char *argv0,
					 char **path, char **why)
{
	char *show = sysaccess_audit_text(argv0, strlen(argv0), 120);
	enum kith_status rc = KITH_OK;

	*path = NULL;
	if (p->n == 0) {
		rc = kith_why(why, KITH_EAUTH, "HOST_EXEC_WHITELIST is empty, so host-exec runs "
			      "nothing; list the programs it may run (e.g. HOST_EXEC_WHITELIST="
			      "uptime,df)");
	} else if (!listed(p, argv0)) {
		rc = kith_why(why, KITH_EAUTH, "\"%s\" is not in HOST_EXEC_WHITELIST (programs "
			      "match by their exact name; paths only when listed as written)",
			      show);
	} else if (strchr(argv0, '/')) {
		struct stat st;

		*path = xstrdup(argv0);
		if (stat(*path, &st) != 0 || !S_ISREG(st.st_mode) || access(*path, X_OK) != 0) {
			free(*path);
			*path = NULL;
			rc = kith_why(why, KITH_ENOTFOUND, "\"%s\" is listed but not an executable "
				      "file", show);
		}
	} else if (!(*path = sysaccess_which(argv0))) {
		rc = kith_why(why, KITH_ENOTFOUND, "\"%s\" is listed but not installed (looked in "
			      "%s)", show, SYSACCESS_PATH);
	}
	free(show);
	return rc;
}
