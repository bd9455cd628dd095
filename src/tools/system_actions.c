/* system_actions.c — the system agent's fixed action table.
 *
 * The utility model only picks a row and proposes parameters; each row's
 * builder validates those parameters (ports are integers 1-65535, paths
 * have no NUL and are resolved against the kept directory, names match a
 * strict character set, nothing unexpected is accepted) and builds the
 * argument vectors itself.  What the reference did with pipelines (`| head`,
 * `| grep`, `| sort`) is done here in C on the captured output, so no
 * command needs a shell. */
#include "tools/system_agent_int.h"
#include "tools/system_agent.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"

/* ---- Parameters --------------------------------------------------------- */

/* Refuse parameters the action does not take: `allowed` is NULL-terminated. */
static enum kith_status only_params(const json_t *params, const char *const *allowed,
				    char **why)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)params, key, v) {
		bool ok = false;

		(void)v;
		for (size_t i = 0; allowed && allowed[i]; i++)
			ok = ok || strcmp(key, allowed[i]) == 0;
		if (!ok)
			return kith_why(why, KITH_EINVAL, "unexpected parameter \"%.40s\"", key);
	}
	return KITH_OK;
}

/* A string parameter: KITH_ENOTFOUND when absent (or null / ""), KITH_EINVAL
 * when not a string or holding a NUL. */
static enum kith_status param_str(const json_t *params, const char *key, const char **s,
				  size_t *len, char **why)
{
	json_t *v = json_object_get(params, key);

	*s = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return KITH_ENOTFOUND;
	if (!json_is_string(v))
		return kith_why(why, KITH_EINVAL, "parameter \"%s\" must be text", key);
	*s = json_string_value(v);
	*len = json_string_length(v);
	if (strlen(*s) != *len)
		return kith_why(why, KITH_EINVAL, "parameter \"%s\" contains a NUL byte", key);
	if (*len == 0)
		return KITH_ENOTFOUND;
	return KITH_OK;
}

/* An integer in [lo, hi]: a JSON integer or a string of digits. */
static enum kith_status param_int(const json_t *params, const char *key, long lo, long hi,
				  long dflt, long *out, char **why)
{
	json_t *v = json_object_get(params, key);

	*out = dflt;
	if (!v || json_is_null(v))
		return KITH_ENOTFOUND;
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		if (x < lo || x > hi)
			goto bad;
		*out = (long)x;
		return KITH_OK;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		long x;

		if (!isdigit((unsigned char)s[0]) || json_string_length(v) > 9)
			goto bad;
		errno = 0;
		x = strtol(s, &end, 10);
		if (errno || *end || x < lo || x > hi)
			goto bad;
		*out = x;
		return KITH_OK;
	}
bad:
	return kith_why(why, KITH_EINVAL, "parameter \"%s\" must be a whole number from %ld to %ld",
			key, lo, hi);
}

/* A path parameter resolved against the kept directory; `dflt` (may be
 * NULL = required) when absent. */
static enum kith_status param_path(const json_t *params, const char *key, const char *dflt,
				   const struct sa_env *env, char **out, char **why)
{
	const char *s;
	size_t n;
	enum kith_status st = param_str(params, key, &s, &n, why);

	*out = NULL;
	if (st == KITH_ENOTFOUND) {
		if (!dflt)
			return kith_why(why, KITH_EINVAL, "parameter \"%s\" (a path) is required", key);
		s = dflt;
		n = strlen(dflt);
	} else if (st) {
		return st;
	}
	*out = sa_resolve_path(s, n, env->cwd, env->home, why);
	return *out ? KITH_OK : KITH_EINVAL;
}

/* A service or container name: [A-Za-z0-9@._-]+, not starting with '-'. */
static enum kith_status param_name(const json_t *params, const char *key, const char **out,
				   char **why)
{
	size_t n;
	enum kith_status st = param_str(params, key, out, &n, why);

	if (st == KITH_ENOTFOUND)
		return kith_why(why, KITH_EINVAL, "parameter \"%s\" is required", key);
	if (st)
		return st;
	if (n > 128 || (*out)[0] == '-')
		goto bad;
	for (const char *p = *out; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("@._-", *p))
			goto bad;
	return KITH_OK;
bad:
	return kith_why(why, KITH_EINVAL, "parameter \"%s\" must be 1-128 of A-Z a-z 0-9 @ . _ - "
			"and not start with '-'", key);
}

/* ---- Building ----------------------------------------------------------- */

static char **argv_of(const char *first, ...)
{
	va_list ap;
	char **v = NULL;
	size_t n = 0, cap = 0;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		v = xgrow(v, &cap, n + 2, sizeof(*v));
		v[n++] = xstrdup(s);
	}
	va_end(ap);
	v[n] = NULL;
	return v;
}

static void add_step(struct sa_plan *p, char **argv)
{
	KITH_ASSERT(p->nsteps < SA_MAX_STEPS);
	p->argvs[p->nsteps++] = argv;
}

#define NO_PARAMS(params, why) do { \
	enum kith_status st_ = only_params(params, NULL, why); \
	if (st_) return st_; } while (0)

static enum kith_status b_system_health(const json_t *params, const struct sa_env *env,
					struct sa_plan *p, char **why)
{
	(void)env;
	NO_PARAMS(params, why);
	add_step(p, argv_of("uptime", "-p", NULL));
	add_step(p, argv_of("cat", "/proc/loadavg", NULL));
	add_step(p, argv_of("free", "-h", NULL));
	add_step(p, argv_of("df", "-h", "/", NULL));
	return KITH_OK;
}

static enum kith_status b_disk(const json_t *params, const struct sa_env *env,
			       struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "path", NULL };
	enum kith_status st = only_params(params, keys, why);
	char *path = NULL;

	if (st)
		return st;
	if (!json_object_get(params, "path")) {
		add_step(p, argv_of("df", "-h", NULL));
		return KITH_OK;
	}
	if ((st = param_path(params, "path", NULL, env, &path, why)))
		return st;
	add_step(p, argv_of("df", "-h", "--", path, NULL));
	free(path);
	return KITH_OK;
}

static enum kith_status b_memory(const json_t *params, const struct sa_env *env,
				 struct sa_plan *p, char **why)
{
	(void)env;
	NO_PARAMS(params, why);
	add_step(p, argv_of("free", "-h", NULL));
	return KITH_OK;
}

static enum kith_status b_processes(const json_t *params, const struct sa_env *env,
				    struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "filter", NULL };
	enum kith_status st = only_params(params, keys, why);
	const char *f;
	size_t n;

	(void)env;
	if (st)
		return st;
	st = param_str(params, "filter", &f, &n, why);
	if (st && st != KITH_ENOTFOUND)
		return st;
	if (f && n > 64)
		return kith_why(why, KITH_EINVAL, "parameter \"filter\" is longer than 64 bytes");
	p->filter = f ? xstrdup(f) : NULL;
	p->post = SA_POST_PROCESSES;
	add_step(p, argv_of("ps", "aux", "--sort=-%mem", NULL));
	return KITH_OK;
}

static enum kith_status b_port(const json_t *params, const struct sa_env *env,
			       struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "port", NULL };
	enum kith_status st = only_params(params, keys, why);
	char num[16];
	long port;

	(void)env;
	if (st)
		return st;
	st = param_int(params, "port", 1, 65535, 0, &port, why);
	if (st == KITH_ENOTFOUND) {
		add_step(p, argv_of("ss", "-tulnp", NULL));
		return KITH_OK;
	}
	if (st)
		return st;
	snprintf(num, sizeof(num), ":%ld", port);
	p->post = SA_POST_PORT;
	p->port = port;
	add_step(p, argv_of("ss", "-tulnp", "sport", "=", num, NULL));
	return KITH_OK;
}

static enum kith_status b_service(const json_t *params, const struct sa_env *env,
				  struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "name", NULL };
	enum kith_status st = only_params(params, keys, why);
	const char *name;

	(void)env;
	if (st || (st = param_name(params, "name", &name, why)))
		return st;
	add_step(p, argv_of("systemctl", "status", "--no-pager", "--lines=10", "--", name, NULL));
	return KITH_OK;
}

static enum kith_status b_docker_ps(const json_t *params, const struct sa_env *env,
				    struct sa_plan *p, char **why)
{
	(void)env;
	NO_PARAMS(params, why);
	add_step(p, argv_of("docker", "ps", "--format",
			    "table {{.Names}}\t{{.Status}}\t{{.Ports}}", NULL));
	return KITH_OK;
}

static enum kith_status b_git_status(const json_t *params, const struct sa_env *env,
				     struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "path", NULL };
	enum kith_status st = only_params(params, keys, why);
	char *dir = NULL;

	if (st || (st = param_path(params, "path", ".", env, &dir, why)))
		return st;
	add_step(p, argv_of("git", "-C", dir, "status", "--short", "--branch", NULL));
	free(dir);
	return KITH_OK;
}

static enum kith_status b_git_log(const json_t *params, const struct sa_env *env,
				  struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "path", "count", NULL };
	enum kith_status st = only_params(params, keys, why);
	char *dir = NULL, num[16];
	long count;

	if (st)
		return st;
	st = param_int(params, "count", 1, 100, 10, &count, why);
	if (st && st != KITH_ENOTFOUND)
		return st;
	if ((st = param_path(params, "path", ".", env, &dir, why)))
		return st;
	snprintf(num, sizeof(num), "%ld", count);
	add_step(p, argv_of("git", "-C", dir, "log", "--oneline", "-n", num, NULL));
	free(dir);
	return KITH_OK;
}

static enum kith_status b_network(const json_t *params, const struct sa_env *env,
				  struct sa_plan *p, char **why)
{
	(void)env;
	NO_PARAMS(params, why);
	add_step(p, argv_of("ip", "-brief", "address", NULL));
	return KITH_OK;
}

static enum kith_status b_list_files(const json_t *params, const struct sa_env *env,
				     struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "path", NULL };
	enum kith_status st = only_params(params, keys, why);
	char *dir = NULL;

	if (st || (st = param_path(params, "path", ".", env, &dir, why)))
		return st;
	add_step(p, argv_of("ls", "-la", "--", dir, NULL));
	free(dir);
	return KITH_OK;
}

static enum kith_status b_read_file(const json_t *params, const struct sa_env *env,
				    struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "path", NULL };
	enum kith_status st = only_params(params, keys, why);
	char *path = NULL, cap[16];

	if (st || (st = param_path(params, "path", NULL, env, &path, why)))
		return st;
	snprintf(cap, sizeof(cap), "%d", SA_READ_CAP);
	add_step(p, argv_of("head", "-c", cap, "--", path, NULL));
	free(path);
	return KITH_OK;
}

static enum kith_status b_large_files(const json_t *params, const struct sa_env *env,
				      struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "path", NULL };
	enum kith_status st = only_params(params, keys, why);
	char *dir = NULL;

	if (st || (st = param_path(params, "path", ".", env, &dir, why)))
		return st;
	/* The path is absolute, so find never takes it for an expression. */
	add_step(p, argv_of("find", dir, "-xdev", "-type", "f", "-size", "+50M", "-printf",
			    "%s\\t%p\\n", NULL));
	p->post = SA_POST_LARGE;
	p->timeout_s = 120;
	free(dir);
	return KITH_OK;
}

static enum kith_status b_navigate(const json_t *params, const struct sa_env *env,
				   struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "path", NULL };
	enum kith_status st = only_params(params, keys, why);
	char *dir = NULL;

	if (st || (st = param_path(params, "path", "~", env, &dir, why)))
		return st;
	add_step(p, argv_of("test", "-d", dir, NULL));
	p->new_cwd = dir;
	return KITH_OK;
}

static enum kith_status b_location(const json_t *params, const struct sa_env *env,
				   struct sa_plan *p, char **why)
{
	NO_PARAMS(params, why);
	p->reply = xasprintf("we're in %s", env->cwd);
	return KITH_OK;
}

/* Programs a misunderstood sentence ("what would rm -rf / do?") must not
 * start.  This is not a sandbox for the owner — `bash <cmd>` runs them — it
 * keeps the model's reading of a question from becoming a deletion. */
static const char *const destructive[] = {
	"rm", "rmdir", "dd", "shred", "wipefs", "truncate", "mv", "chmod", "chown", "chgrp",
	"kill", "pkill", "killall", "shutdown", "reboot", "poweroff", "halt", "init",
	"systemctl", "mkfs", "fdisk", "parted", "sudo", "su", "doas", NULL,
};

static bool is_destructive(const char *prog)
{
	const char *base = strrchr(prog, '/');

	base = base ? base + 1 : prog;
	if (strncmp(base, "mkfs", 4) == 0)
		return true;
	for (size_t i = 0; destructive[i]; i++)
		if (strcmp(base, destructive[i]) == 0)
			return true;
	return false;
}

/* The model may only pick a command the owner wrote: a run_command whose
 * text does not appear in the request is the model's idea, and kith does
 * not run the model's ideas.  Programs that change or destroy things need
 * the explicit form even then. */
static enum kith_status b_run_command(const json_t *params, const struct sa_env *env,
				      struct sa_plan *p, char **why)
{
	static const char *const keys[] = { "command", NULL };
	enum kith_status st = only_params(params, keys, why);
	const char *cmd;
	size_t n, argc;
	char **argv = NULL;

	if (st)
		return st;
	st = param_str(params, "command", &cmd, &n, why);
	if (st == KITH_ENOTFOUND)
		return kith_why(why, KITH_EINVAL, "parameter \"command\" is required");
	if (st)
		return st;
	if (!strstr(env->text, cmd))
		return kith_why(why, KITH_EINVAL, "the command the model proposed is not one you "
				"wrote, so it was not run; say `bash <command>` to run a command "
				"exactly");
	if ((st = system_argv_split(cmd, n, &argv, &argc, why)))
		return st;
	if (is_destructive(argv[0])) {
		st = kith_why(why, KITH_EINVAL, "\"%.40s\" changes or destroys things, so I only "
			      "run it when you say `bash %.40s …` yourself", argv[0], argv[0]);
		system_argv_free(argv);
		return st;
	}
	add_step(p, argv);
	return KITH_OK;
}

static enum kith_status b_jobs(const json_t *params, const struct sa_env *env,
			       struct sa_plan *p, char **why)
{
	(void)env;
	NO_PARAMS(params, why);
	p->reply = xstrdup("no background jobs: commands run in the foreground, one at a time, "
			   "each under a deadline");
	return KITH_OK;
}

static enum kith_status b_history(const json_t *params, const struct sa_env *env,
				  struct sa_plan *p, char **why)
{
	NO_PARAMS(params, why);
	p->reply = xstrdup(env->history && *env->history ? env->history
			   : "no commands yet");
	return KITH_OK;
}

const struct sa_action sa_actions[] = {
	{ "system_health", "uptime, load, memory and root disk; no params", b_system_health },
	{ "disk", "disk space; params {path?}", b_disk },
	{ "memory", "memory use; no params", b_memory },
	{ "processes", "running processes by memory; params {filter?: text to match}",
	  b_processes },
	{ "port", "what listens on a port, or all listening ports; params {port?: 1-65535}",
	  b_port },
	{ "service_status", "a systemd service's status; params {name}", b_service },
	{ "docker_ps", "running docker containers; no params", b_docker_ps },
	{ "git_status", "git status of a directory; params {path?}", b_git_status },
	{ "git_log", "recent commits; params {path?, count?: 1-100}", b_git_log },
	{ "network", "network interfaces and addresses; no params", b_network },
	{ "list_files", "list a directory; params {path?}", b_list_files },
	{ "read_file", "show a file (first 64 KiB); params {path}", b_read_file },
	{ "large_files", "files over 50 MB under a directory; params {path?}", b_large_files },
	{ "navigate", "change the working directory; params {path}", b_navigate },
	{ "location", "the current working directory; no params", b_location },
	{ "run_command", "run a command the user wrote out; params {command: exactly as the "
	  "user wrote it}", b_run_command },
	{ "jobs", "background jobs; no params", b_jobs },
	{ "history", "recent commands and their exit codes; no params", b_history },
};
const size_t sa_nactions = sizeof(sa_actions) / sizeof(sa_actions[0]);

const struct sa_action *sa_action_find(const char *name)
{
	for (size_t i = 0; name && i < sa_nactions; i++)
		if (strcmp(sa_actions[i].name, name) == 0)
			return &sa_actions[i];
	return NULL;
}

void sa_plan_release(struct sa_plan *p)
{
	for (size_t i = 0; i < p->nsteps; i++)
		system_argv_free(p->argvs[i]);
	free(p->reply);
	free(p->new_cwd);
	free(p->filter);
	memset(p, 0, sizeof(*p));
}

/* ---- Paths -------------------------------------------------------------- */

char *sa_resolve_path(const char *path, size_t len, const char *cwd, const char *home,
		      char **why)
{
	struct buf joined = BUF_INIT(0);
	char **parts = NULL, *res;
	size_t n = 0, cap = 0;
	const char *p, *end;
	struct buf out = BUF_INIT(0);

	if (len == 0 || memchr(path, '\0', len) || strlen(path) != len) {
		(void)kith_why(why, KITH_EINVAL, len ? "the path contains a NUL byte"
			       : "the path is empty");
		return NULL;
	}
	if (len > SA_MAX_PATH) {
		(void)kith_why(why, KITH_EINVAL, "the path is longer than %d bytes", SA_MAX_PATH);
		return NULL;
	}
	if (path[0] == '/')
		(void)buf_append(&joined, path, len);
	else if (path[0] == '~' && (len == 1 || path[1] == '/'))
		(void)buf_printf(&joined, "%s/%.*s", home, (int)(len - 1), path + 1);
	else
		(void)buf_printf(&joined, "%s/%.*s", cwd, (int)len, path);
	p = buf_str(&joined);
	end = p + joined.len;
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t seg = slash ? (size_t)(slash - p) : (size_t)(end - p);

		if (seg == 0 || (seg == 1 && p[0] == '.')) {
			/* skip */
		} else if (seg == 2 && p[0] == '.' && p[1] == '.') {
			if (n)
				free(parts[--n]);
		} else {
			parts = xgrow(parts, &cap, n + 1, sizeof(*parts));
			parts[n++] = xstrndup(p, seg);
		}
		p += seg + 1;
	}
	for (size_t i = 0; i < n; i++) {
		(void)buf_printf(&out, "/%s", parts[i]);
		free(parts[i]);
	}
	free(parts);
	buf_release(&joined);
	if (out.len == 0)
		(void)buf_puts(&out, "/");
	res = buf_detach(&out);
	return res;
}

/* ---- Output shaping ----------------------------------------------------- */

static bool contains_ci(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; m <= n && i + m <= n; i++) {
		size_t k = 0;

		while (k < m && tolower((unsigned char)hay[i + k]) ==
				tolower((unsigned char)needle[k]))
			k++;
		if (k == m)
			return true;
	}
	return false;
}

struct large { unsigned long long size; const char *path; size_t len; };

static int large_cmp(const void *a, const void *b)
{
	const struct large *x = a, *y = b;

	return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

char *sa_post_process(const struct sa_plan *plan, const char *out, size_t len)
{
	struct buf b = BUF_INIT(0);
	const char *p = out, *end = out + len;
	size_t line = 0, kept = 0, nl = 0, cap = 0;
	struct large *items = NULL;

	switch (plan->post) {
	case SA_POST_NONE:
		return xstrndup(out, len);
	case SA_POST_PROCESSES:
		while (p < end) {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			size_t n = eol ? (size_t)(eol - p) + 1 : (size_t)(end - p);

			if (line == 0 || (plan->filter ? contains_ci(p, n, plan->filter)
					  : kept < 15)) {
				(void)buf_append(&b, p, n);
				kept += line > 0;
			}
			line++;
			p += n;
		}
		if (plan->filter && kept == 0)
			(void)buf_printf(&b, "(no process matches \"%s\")\n", plan->filter);
		return buf_detach(&b);
	case SA_POST_PORT:
		for (const char *q = out; q < end; q++)
			nl += *q == '\n';
		if (nl <= 1)
			return xasprintf("nothing is listening on port %ld", plan->port);
		return xstrndup(out, len);
	case SA_POST_LARGE:
		while (p < end) {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
			const char *tab = memchr(p, '\t', n);

			if (tab && isdigit((unsigned char)p[0])) {
				items = xgrow(items, &cap, nl + 1, sizeof(*items));
				items[nl].size = strtoull(p, NULL, 10);
				items[nl].path = tab + 1;
				items[nl].len = n - (size_t)(tab + 1 - p);
				nl++;
			}
			p += n + (eol != NULL);
		}
		if (nl == 0) {
			free(items);
			return xstrdup("no files over 50 MB there");
		}
		qsort(items, nl, sizeof(*items), large_cmp);
		for (size_t i = 0; i < nl && i < 10; i++)
			(void)buf_printf(&b, "%8.1f MB  %.*s\n", (double)items[i].size / 1e6,
					 (int)items[i].len, items[i].path);
		free(items);
		return buf_detach(&b);
	}
	return xstrndup(out, len);
}

char *sa_argv_display(const char *const *argv)
{
	struct buf b = BUF_INIT(0);

	for (size_t i = 0; argv[i]; i++) {
		bool plain = argv[i][0] != '\0';

		for (const char *p = argv[i]; *p && plain; p++)
			plain = isalnum((unsigned char)*p) || strchr("_./:=@%+,-", *p);
		if (i)
			(void)buf_puts(&b, " ");
		if (plain) {
			(void)buf_puts(&b, argv[i]);
		} else {
			const char *one[] = { argv[i], NULL };
			char *q = system_shell_quote(one);

			(void)buf_puts(&b, q);
			free(q);
		}
	}
	return buf_detach(&b);
}
