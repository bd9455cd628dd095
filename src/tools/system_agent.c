/* system_agent.c — the owner's system agent: who may ask, how a request
 * becomes commands, where they run, what is kept between requests.
 *
 * Order matters and is fixed: the owner check comes first (an unset
 * APPROVAL_USER_ID means nobody), then the explicit `bash` / `run command`
 * forms, then the utility model — which chooses an action name from an
 * enum in a JSON schema, nothing more.  There is no fallback that runs the
 * text: a model that is down or answers nonsense gets a refusal.
 *
 * Execution: with TMUX_CONTROL_TOKEN set, through the tmux control API in a
 * persistent session, as one line `cd -- 'CWD' && 'env' '--' 'w0' 'w1' …`
 * (each word single-quoted; `env --` makes the first word a program, never
 * a shell builtin such as eval); without it, directly with posix_spawn
 * (sysaccess_exec) in CWD with a PATH+HOME environment.  The working
 * directory is kept here, per owner, not in the shell. */
#include "tools/system_agent.h"
#include "tools/system_agent_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "llm/llm.h"
#include "tools/sysaccess.h"
#include "tools/tmux.h"

#define TAG "system"
#define HISTORY_MAX 20
#define DIRECT_CAP ((size_t)256 << 10)
#define REMEMBER_SALIENCE 0.4

struct sa_hist {
	char *cmd;
	int exit_code;
};

struct sa_state {
	char *owner;
	char *cwd;
	struct sa_hist hist[HISTORY_MAX];
	size_t nhist, next;             /* ring */
	long runs;
	struct sa_state *link;
};

struct system_agent {
	char *approver, *tmux_url, *tmux_token, *tmux_session, *home;
	bool shell_mode;
	struct llm_client *llm;
	int timeout_s;
	size_t max_reply;
	void (*remember)(void *ud, const char *text, double salience);
	void *remember_ud;
	system_exec_fn exec;
	void *exec_ud;
	struct tmux_client *tmux;
	struct sa_state *states;
};

void system_exec_out_release(struct system_exec_out *o)
{
	free(o->output);
	memset(o, 0, sizeof(*o));
}

/* ---- Executors ---------------------------------------------------------- */

static enum kith_status exec_tmux(struct system_agent *a, const struct system_exec_req *req,
				  struct system_exec_out *out, char **why)
{
	const char *cd[] = { req->cwd, NULL };
	char *qcwd = system_shell_quote(cd), *line, *cmd;
	struct tmux_exec r;
	enum kith_status st;

	if (req->line) {
		/* Shell mode: the owner's line as typed, in the kept directory.
		 * The braces on their own lines keep a trailing `&` or comment
		 * inside the group. */
		line = xasprintf("cd -- %s && {\n%s\n}", qcwd, req->line);
	} else {
		size_t n = 0;
		const char **v;

		while (req->argv[n])
			n++;
		v = xcalloc(n + 3, sizeof(*v));
		v[0] = "env";
		v[1] = "--";
		for (size_t i = 0; i < n; i++)
			v[i + 2] = req->argv[i];
		cmd = system_shell_quote(v);
		line = xasprintf("cd -- %s && %s", qcwd, cmd);
		free(cmd);
		free(v);
	}
	free(qcwd);
	if (!a->tmux)
		a->tmux = tmux_client_new(a->tmux_url, a->tmux_token);
	st = tmux_client_execute(a->tmux, a->tmux_session, line, req->timeout_s, &r, why);
	free(line);
	if (st)
		return st;
	out->output = r.output ? r.output : xstrdup("");
	out->len = r.output ? r.output_len : 0;
	r.output = NULL;
	out->exit_code = r.exit_code;
	out->timed_out = r.timed_out;
	out->truncated = r.truncated;
	tmux_exec_release(&r);
	return KITH_OK;
}

static enum kith_status exec_direct(struct system_agent *a, const struct system_exec_req *req,
				    struct system_exec_out *out, char **why)
{
	char *path, *home_env = xasprintf("HOME=%s", a->home);
	const char *env[] = { "PATH=" SYSACCESS_PATH, home_env, "LANG=C.UTF-8", NULL };
	struct sysaccess_result r;
	struct buf all = BUF_INIT(0);
	enum kith_status st;

	if (req->line) {
		free(home_env);
		return kith_why(why, KITH_EUNSUPPORTED, "shell mode needs the tmux control API "
				"(set TMUX_CONTROL_TOKEN and run `kith tmuxd`)");
	}
	if (strchr(req->argv[0], '/'))
		path = req->argv[0][0] == '/' ? xstrdup(req->argv[0])
			: xasprintf("%s/%s", req->cwd, req->argv[0]);
	else
		path = sysaccess_which(req->argv[0]);
	if (!path) {
		free(home_env);
		return kith_why(why, KITH_ENOTFOUND, "no program called \"%.80s\" is installed",
				req->argv[0]);
	}
	st = sysaccess_exec(&(struct sysaccess_run){ .path = path, .argv = req->argv, .env = env,
			.cwd = req->cwd, .timeout_ms = req->timeout_s * 1000, .cap = DIRECT_CAP },
			&r, why);
	free(path);
	free(home_env);
	if (st) {
		sysaccess_result_release(&r);
		return st;
	}
	(void)buf_append(&all, r.out.data ? r.out.data : "", r.out.len);
	(void)buf_append(&all, r.err.data ? r.err.data : "", r.err.len);
	out->len = all.len;
	out->output = buf_detach(&all);
	out->exit_code = r.exit_code;
	out->timed_out = r.timed_out;
	out->truncated = r.truncated;
	sysaccess_result_release(&r);
	return KITH_OK;
}

static enum kith_status run_one(struct system_agent *a, const struct system_exec_req *req,
				struct system_exec_out *out, char **why)
{
	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (a->exec)
		return a->exec(a->exec_ud, req, out, why);
	if (a->tmux_token && *a->tmux_token)
		return exec_tmux(a, req, out, why);
	return exec_direct(a, req, out, why);
}

/* ---- State -------------------------------------------------------------- */

static struct sa_state *state_of(struct system_agent *a, const char *owner)
{
	struct sa_state *s;

	for (s = a->states; s; s = s->link)
		if (strcmp(s->owner, owner) == 0)
			return s;
	s = xcalloc(1, sizeof(*s));
	s->owner = xstrdup(owner);
	s->cwd = xstrdup(a->home);
	s->link = a->states;
	a->states = s;
	return s;
}

static void history_add(struct sa_state *s, const char *cmd, int exit_code)
{
	struct sa_hist *h = &s->hist[s->next];

	free(h->cmd);
	h->cmd = xstrdup(cmd);
	h->exit_code = exit_code;
	s->next = (s->next + 1) % HISTORY_MAX;
	if (s->nhist < HISTORY_MAX)
		s->nhist++;
	s->runs++;
}

static char *history_render(const struct sa_state *s)
{
	struct buf b = BUF_INIT(0);
	size_t show = s->nhist < 10 ? s->nhist : 10;

	for (size_t k = show; k > 0; k--) {
		const struct sa_hist *h = &s->hist[(s->next + HISTORY_MAX - k) % HISTORY_MAX];

		if (h->exit_code >= 0)
			(void)buf_printf(&b, "`%s` → exit %d\n", h->cmd, h->exit_code);
		else
			(void)buf_printf(&b, "`%s` → no exit status\n", h->cmd);
	}
	return buf_detach(&b);
}

const char *system_agent_cwd(const struct system_agent *a, const char *owner_id)
{
	for (const struct sa_state *s = a->states; s && owner_id; s = s->link)
		if (strcmp(s->owner, owner_id) == 0)
			return s->cwd;
	return NULL;
}

/* ---- Lifecycle ---------------------------------------------------------- */

struct system_agent *system_agent_new(const struct system_agent_config *cfg)
{
	struct system_agent *a = xcalloc(1, sizeof(*a));
	const char *home = cfg->home ? cfg->home : getenv("HOME");

	a->approver = cfg->approver && *cfg->approver ? xstrdup(cfg->approver) : NULL;
	a->tmux_url = xstrdup(cfg->tmux_url ? cfg->tmux_url : "http://localhost:9001");
	a->tmux_token = cfg->tmux_token && *cfg->tmux_token ? xstrdup(cfg->tmux_token) : NULL;
	a->tmux_session = xstrdup(cfg->tmux_session ? cfg->tmux_session : TMUX_DEFAULT_SESSION);
	a->home = home && home[0] == '/' ? sa_resolve_path(home, strlen(home), "/", "/", NULL)
		: NULL;
	if (!a->home)
		a->home = xstrdup("/");
	a->shell_mode = cfg->shell_mode;
	a->llm = cfg->llm;
	a->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 30;
	a->max_reply = cfg->max_reply ? cfg->max_reply : 3500;
	a->remember = cfg->remember;
	a->remember_ud = cfg->remember_ud;
	a->exec = cfg->exec;
	a->exec_ud = cfg->exec_ud;
	return a;
}

void system_agent_free(struct system_agent *a)
{
	if (!a)
		return;
	while (a->states) {
		struct sa_state *s = a->states;

		a->states = s->link;
		for (size_t i = 0; i < HISTORY_MAX; i++)
			free(s->hist[i].cmd);
		free(s->owner);
		free(s->cwd);
		free(s);
	}
	if (a->tmux)
		tmux_client_free(a->tmux);
	free(a->approver);
	free(a->tmux_url);
	free(a->tmux_token);
	free(a->tmux_session);
	free(a->home);
	free(a);
}

/* ---- Running a plan ----------------------------------------------------- */

/* Append at most `room` bytes of s to b, cut on a UTF-8 boundary. */
static void append_capped(struct buf *b, const char *s, size_t n, size_t room)
{
	size_t cut = n;

	if (cut > room) {
		cut = room;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	(void)buf_append(b, s, cut);
	if (cut < n)
		(void)buf_printf(b, "\n…(output cut: %zu more bytes)", n - cut);
}

static void audit(const struct system_agent *a, const char *owner, const char *what,
		  const char *cwd, const char *result)
{
	char *t = sysaccess_audit_text(what, strlen(what), 500);

	(void)a;
	log_info(TAG, "owner=%s ran \"%s\" in %s: %s", owner, t, cwd, result);
	free(t);
}

static void remember_run(const struct system_agent *a, const char *display)
{
	char *text;

	if (!a->remember)
		return;
	text = xasprintf("ran: %s", display);
	a->remember(a->remember_ud, text, REMEMBER_SALIENCE);
	free(text);
}

static enum kith_status run_plan(struct system_agent *a, struct sa_state *s,
				 struct sa_plan *plan, const char *line, char **reply)
{
	struct buf b = BUF_INIT(0);
	enum kith_status st = KITH_OK;
	int last_exit = -1;
	size_t steps = line ? 1 : plan->nsteps;

	for (size_t i = 0; i < steps; i++) {
		struct system_exec_req req = {
			.argv = line ? NULL : (const char *const *)plan->argvs[i],
			.line = line, .cwd = s->cwd,
			.timeout_s = plan->timeout_s ? plan->timeout_s : a->timeout_s,
		};
		struct system_exec_out out;
		char *display = line ? xstrdup(line) : sa_argv_display(req.argv), *why = NULL;
		char *shaped, result[64];
		size_t room = a->max_reply > b.len ? a->max_reply - b.len : 0;

		st = run_one(a, &req, &out, &why);
		if (st) {
			snprintf(result, sizeof(result), "failed: %s", kith_strerror(st));
			audit(a, s->owner, display, s->cwd, result);
			(void)buf_printf(&b, "`%s` could not run: %s\n", display,
					 why ? why : kith_strerror(st));
			history_add(s, display, -1);
			free(why);
			free(display);
			system_exec_out_release(&out);
			break;
		}
		last_exit = out.exit_code;
		if (out.timed_out)
			snprintf(result, sizeof(result), "timed out");
		else
			snprintf(result, sizeof(result), "exit %d", out.exit_code);
		audit(a, s->owner, display, s->cwd, result);
		history_add(s, display, out.exit_code);
		if (plan->new_cwd) {
			char *cd = xasprintf("cd %s", plan->new_cwd);

			if (out.exit_code == 0)
				remember_run(a, cd);
			free(cd);
		} else {
			remember_run(a, display);
		}
		if (!plan->new_cwd) {
			shaped = sa_post_process(plan, out.output ? out.output : "", out.len);
			if (steps > 1 || out.exit_code != 0 || out.timed_out)
				(void)buf_printf(&b, "`%s` (%s)\n", display, result);
			append_capped(&b, shaped, strlen(shaped), room);
			if (b.len && b.data[b.len - 1] != '\n')
				(void)buf_puts(&b, "\n");
			if (out.truncated)
				(void)buf_puts(&b, "…(the command's output passed the capture cap)\n");
			free(shaped);
		}
		free(display);
		system_exec_out_release(&out);
	}
	if (!st && plan->new_cwd) {
		if (last_exit == 0) {
			free(s->cwd);
			s->cwd = plan->new_cwd;
			plan->new_cwd = NULL;
			(void)buf_printf(&b, "moved to %s\n", s->cwd);
		} else {
			(void)buf_printf(&b, "%s is not a directory I can go to; still in %s\n",
					 plan->new_cwd, s->cwd);
			st = KITH_ENOTFOUND;
		}
	}
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len == 0)
		(void)buf_puts(&b, "(no output)");
	*reply = buf_detach(&b);
	return st;
}

/* ---- Understanding ------------------------------------------------------ */

static json_t *action_schema(void)
{
	json_t *names = json_array();

	for (size_t i = 0; i < sa_nactions; i++)
		json_array_append_new(names, json_string(sa_actions[i].name));
	json_array_append_new(names, json_string("none"));
	return json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s}}, s:[s,s]}",
			 "type", "object",
			 "properties",
			 "action", "type", "string", "enum", names,
			 "params", "type", "object",
			 "required", "action", "params");
}

/* Ask the utility model for {action, params}.  *parsed (caller decrefs)
 * on KITH_OK. */
static enum kith_status understand(struct system_agent *a, const struct sa_state *s,
				   const char *text, json_t **parsed, char **why)
{
	struct buf sys = BUF_INIT(0);
	struct llm_msg msgs[2];
	struct llm_response resp;
	json_t *schema = action_schema();
	enum kith_status st;

	*parsed = NULL;
	(void)buf_printf(&sys, "You map a system request to one action from a fixed table. "
			 "The user is in %s. Answer with JSON only: {\"action\": NAME, "
			 "\"params\": {...}}. Use only the params listed; use \"none\" when "
			 "nothing fits. Actions:\n", s->cwd);
	for (size_t i = 0; i < sa_nactions; i++)
		(void)buf_printf(&sys, "- %s: %s\n", sa_actions[i].name, sa_actions[i].help);
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, buf_str(&sys));
	llm_msg_init(&msgs[1], LLM_MSG_USER, text);
	st = llm_chat(a->llm, &(struct llm_request){ .role = LLM_ROLE_UTIL, .msgs = msgs,
			.nmsgs = 2, .json_schema = schema, .schema_name = "system_action",
			.temperature = 0.1 }, &resp, why);
	if (!st) {
		*parsed = kjson_parse(resp.content, strlen(resp.content), NULL);
		if (!*parsed || !json_is_object(*parsed)) {
			json_decref(*parsed);
			*parsed = NULL;
			st = kith_why(why, KITH_EPROTO, "the model's answer was not a JSON object");
		}
	}
	llm_response_release(&resp);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	json_decref(schema);
	buf_release(&sys);
	return st;
}

/* ---- The request -------------------------------------------------------- */

static const char *strip_prefix_ci(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncasecmp(text, prefix, n) != 0)
		return NULL;
	if (text[n] != ' ' && text[n] != '\t' && text[n] != '\0')
		return NULL;
	text += n;
	while (*text == ' ' || *text == '\t')
		text++;
	return text;
}

static enum kith_status explicit_command(struct system_agent *a, struct sa_state *s,
					 const char *cmd, char **reply)
{
	struct sa_plan plan = { 0 };
	char **argv = NULL, *why = NULL;
	size_t argc = 0;
	enum kith_status st;

	if (a->shell_mode) {
		if (!*cmd) {
			*reply = xstrdup("which command? say `bash <command>`");
			return KITH_EINVAL;
		}
		st = run_plan(a, s, &plan, cmd, reply);
		sa_plan_release(&plan);
		return st;
	}
	st = system_argv_split(cmd, strlen(cmd), &argv, &argc, &why);
	if (st) {
		log_info(TAG, "owner=%s: refused a command: %s", s->owner, why ? why : "");
		*reply = xasprintf("I didn't run that: %s.", why ? why : kith_strerror(st));
		free(why);
		return KITH_EINVAL;
	}
	if (strcmp(argv[0], "cd") == 0 && argc <= 2) {
		/* cd is not a program: it is the navigate action. */
		const struct sa_env env = { .cwd = s->cwd, .home = a->home, .text = cmd };
		json_t *params = argc == 2 ? json_pack("{s:s}", "path", argv[1]) : json_object();

		st = sa_action_find("navigate")->build(params, &env, &plan, &why);
		json_decref(params);
		system_argv_free(argv);
		if (st) {
			*reply = xasprintf("I didn't run that: %s.", why ? why : kith_strerror(st));
			free(why);
			sa_plan_release(&plan);
			return KITH_EINVAL;
		}
	} else {
		plan.argvs[plan.nsteps++] = argv;
	}
	st = run_plan(a, s, &plan, NULL, reply);
	sa_plan_release(&plan);
	return st;
}

static enum kith_status model_request(struct system_agent *a, struct sa_state *s,
				      const char *text, bool unsure, char **reply)
{
	json_t *answer = NULL, *params;
	const struct sa_action *act;
	struct sa_plan plan = { 0 };
	struct sa_env env = { .cwd = s->cwd, .home = a->home, .text = text };
	char *why = NULL, *hist = NULL;
	const char *name;
	enum kith_status st;

	if (!a->llm) {
		*reply = xstrdup("I can't work out system requests right now (no utility model is "
				 "configured), so I ran nothing. `bash <command>` runs a command "
				 "exactly.");
		return KITH_EUNSUPPORTED;
	}
	st = understand(a, s, text, &answer, &why);
	if (st) {
		log_warn(TAG, "owner=%s: the utility model failed (%s); nothing ran", s->owner,
			 kith_strerror(st));
		*reply = xasprintf("I can't work out system requests right now (the utility model "
				   "is unavailable: %s), so I ran nothing. `bash <command>` runs a "
				   "command exactly.", why ? why : kith_strerror(st));
		free(why);
		return KITH_EUNSUPPORTED;
	}
	name = kjson_str(answer, "action");
	params = json_object_get(answer, "params");
	act = sa_action_find(name);
	if (!act && unsure && name && strcmp(name, "none") == 0) {
		/* Not a system request after all: the caller answers it. */
		*reply = NULL;
		json_decref(answer);
		return KITH_ENOTFOUND;
	}
	if (!act) {
		*reply = name && strcmp(name, "none") == 0
			? xstrdup("I couldn't match that to anything I can do on the system, so I "
				  "ran nothing. `bash <command>` runs a command exactly.")
			: xasprintf("I ran nothing: \"%.60s\" is not one of my system actions.",
				    name ? name : "(no action)");
		json_decref(answer);
		return KITH_EINVAL;
	}
	if (params && json_is_null(params))
		params = NULL;
	if (params && !json_is_object(params)) {
		*reply = xasprintf("I ran nothing: the parameters for %s were not an object.",
				   act->name);
		json_decref(answer);
		return KITH_EINVAL;
	}
	if (!params) {
		params = json_object();
		json_object_set_new(answer, "params", params);
	}
	hist = history_render(s);
	env.history = hist;
	st = act->build(params, &env, &plan, &why);
	free(hist);
	json_decref(answer);
	if (st) {
		log_info(TAG, "owner=%s: refused %s: %s", s->owner, act->name, why ? why : "");
		*reply = xasprintf("I ran nothing for %s: %s.", act->name,
				   why ? why : kith_strerror(st));
		free(why);
		sa_plan_release(&plan);
		return KITH_EINVAL;
	}
	if (plan.reply) {
		*reply = plan.reply;
		plan.reply = NULL;
		st = KITH_OK;
	} else {
		st = run_plan(a, s, &plan, NULL, reply);
	}
	sa_plan_release(&plan);
	return st;
}

enum kith_status system_request(struct system_agent *a, const char *author_id, const char *text,
				char **reply)
{
	return system_request_ex(a, author_id, text, false, reply);
}

enum kith_status system_request_ex(struct system_agent *a, const char *author_id,
				   const char *text, bool unsure, char **reply)
{
	struct sa_state *s;
	const char *cmd;
	char *trimmed;
	size_t n;
	enum kith_status st;

	if (!text)
		text = "";
	/* Who asks decides everything; the text is not looked at before this. */
	if (!a->approver) {
		log_warn(TAG, "refused a system request: APPROVAL_USER_ID is not set");
		*reply = xstrdup("System access is off: nobody may use it until APPROVAL_USER_ID "
				 "is set to the owner's user id.");
		return KITH_EAUTH;
	}
	if (!author_id || strcmp(author_id, a->approver) != 0) {
		log_warn(TAG, "refused a system request from a non-owner (%.40s)",
			 author_id ? author_id : "unknown");
		*reply = xstrdup("Sorry — system access is only for my owner.");
		return KITH_EAUTH;
	}
	s = state_of(a, author_id);
	while (*text && isspace((unsigned char)*text))
		text++;
	n = strlen(text);
	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	trimmed = xstrndup(text, n);
	if (!*trimmed) {
		*reply = xstrdup("ask me about the system (\"disk space?\", \"what's on port "
				 "3000\") or say `bash <command>`");
		st = KITH_OK;
	} else if ((cmd = strip_prefix_ci(trimmed, "bash")) ||
		   (cmd = strip_prefix_ci(trimmed, "run command"))) {
		st = explicit_command(a, s, cmd, reply);
	} else {
		st = model_request(a, s, trimmed, unsure, reply);
	}
	free(trimmed);
	return st;
}
