/* tmux.c — driving kith's own tmux server: sessions and command execution.
 *
 * Every tmux invocation is an argument vector through sysaccess_exec with
 * a PATH-only environment, on the socket `-S <TMUX_TMPDIR>/tmux-UID/kith`
 * (where `tmux -L kith` looks), so neither kith's secrets nor the user's
 * own tmux server are ever involved.  Session shells get only the
 * variables in tmux_options.session_env.
 *
 * Execution, and why this way.  Typing the command itself into the pane
 * (the reference's send-keys + sleep + capture-pane) breaks on tabs
 * (completion), on arguments ending in ';' (tmux's own argv parser eats
 * them), on long lines (wrapping) and on output longer than the screen,
 * and never knows when the command ended.  Instead the command goes into a
 * script file and the shell is sent one fixed line made only of quoted
 * paths kith chose:
 *
 *     . 'W/N.sh' </dev/null >'W/N.out' 2>&1; printf '%s\n' "$?" >'W/N.rc'
 *
 * `.` runs the script in the session's shell, so `cd` and variables stay
 * for the next command; N.out is a FIFO this process reads as the command
 * writes, keeping the first max_output bytes and dropping the rest (a
 * command printing forever cannot fill a disk); N.rc appearing means done.
 * At the deadline the pane gets C-c.  A session that is still running
 * something (a command that ignored C-c) answers KITH_ECONFLICT rather
 * than having more text typed into whatever holds the terminal. */
#include "tools/tmux.h"
#include "tools/sysaccess.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMUX_CALL_MS 10000
#define TMUX_CALL_CAP ((size_t)4 << 20)
#define SESSION_CHECK_MS 500

struct meta {
	char *name;
	long count;
	int64_t last_ms;
	bool busy;
};

struct tmux {
	char *bin;               /* the tmux program */
	char *sock_dir, *sock;
	char *work;              /* private dir for scripts, FIFOs, status files */
	char *shell, *shell_name;
	char *start_dir;
	char **env;              /* "-e" values for new sessions */
	size_t nenv;
	size_t max_output;
	pthread_mutex_t mu;
	struct meta *meta;
	size_t nmeta, capmeta;
	uint64_t seq;
};

/* ---------------------------------------------------------------------- */
/* tmux invocations                                                       */

/* tmux -S SOCK ARGS…; stdout into *out (may be NULL).  KITH_OK only for
 * exit status 0; otherwise KITH_EIO with tmux's message in *why. */
static enum kith_status call(struct tmux *t, const char *const *args, struct buf *out,
			     char **why)
{
	/* UTF-8, or tmux shows every non-ASCII byte as '_'. */
	const char *env[] = { "PATH=" SYSACCESS_PATH, "LC_CTYPE=C.UTF-8", NULL };
	struct sysaccess_result r;
	size_t n = 0, nargs = 0;
	const char **argv;
	enum kith_status rc;

	while (args[nargs])
		nargs++;
	argv = xcalloc(nargs + 4, sizeof(char *));
	argv[n++] = "tmux";
	argv[n++] = "-S";
	argv[n++] = t->sock;
	for (size_t i = 0; i < nargs; i++)
		argv[n++] = args[i];
	rc = sysaccess_exec(&(struct sysaccess_run){ .path = t->bin, .argv = argv, .env = env,
						     .timeout_ms = TMUX_CALL_MS,
						     .cap = TMUX_CALL_CAP }, &r, why);
	if (rc == KITH_OK && (r.exit_code != 0 || r.timed_out)) {
		struct slice msg = slice_trim(slice_of(r.err.data ? r.err.data : "", r.err.len));

		rc = kith_why(why, KITH_EIO, "tmux %s: %.*s", args[0],
			      (int)(msg.n > 300 ? 300 : msg.n),
			      r.timed_out ? "did not answer in time" : msg.n ? msg.p : "failed");
	}
	if (rc == KITH_OK && out)
		(void)buf_append(out, r.out.data ? r.out.data : "", r.out.len);
	sysaccess_result_release(&r);
	free(argv);
	return rc;
}

static char *target(const char *name, bool pane)
{
	return xasprintf("=%s%s", name, pane ? ":" : "");
}

/* ---------------------------------------------------------------------- */
/* Metadata kept by this process (tmux knows only created_at)             */

static struct meta *meta_find(struct tmux *t, const char *name, bool create)
{
	for (size_t i = 0; i < t->nmeta; i++)
		if (strcmp(t->meta[i].name, name) == 0)
			return &t->meta[i];
	if (!create)
		return NULL;
	t->meta = xgrow(t->meta, &t->capmeta, t->nmeta + 1, sizeof(*t->meta));
	t->meta[t->nmeta] = (struct meta){ .name = xstrdup(name) };
	return &t->meta[t->nmeta++];
}

static void meta_drop(struct tmux *t, const char *name)
{
	for (size_t i = 0; i < t->nmeta; i++) {
		if (strcmp(t->meta[i].name, name) != 0 || t->meta[i].busy)
			continue;
		free(t->meta[i].name);
		t->meta[i] = t->meta[--t->nmeta];
		return;
	}
}

/* ---------------------------------------------------------------------- */
/* Setup                                                                  */

static enum kith_status private_dir(const char *dir, bool create, char **why)
{
	struct stat st;

	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return kith_why(why, KITH_EIO, "cannot create %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0)
		return kith_why(why, KITH_EIO, "cannot use %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077))
		return kith_why(why, KITH_EIO, "%s must be a directory owned by this user with "
				"mode 0700", dir);
	return KITH_OK;
}

static bool safe_path(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\'')
			return false;
	return true;
}

enum kith_status tmux_open(const struct tmux_options *o, struct tmux **out, char **why)
{
	struct tmux *t = xcalloc(1, sizeof(*t));
	const char *base = o->tmpdir && *o->tmpdir ? o->tmpdir : "/tmp";
	const char *home = getenv("HOME");
	enum kith_status rc;
	char *tmpl = NULL;

	*out = NULL;
	pthread_mutex_init(&t->mu, NULL);
	t->bin = sysaccess_which("tmux");
	if (!t->bin) {
		rc = kith_why(why, KITH_ENOTFOUND, "tmux is not installed (looked in %s); "
			      "scripts/install-deps.sh installs it", SYSACCESS_PATH);
		goto fail;
	}
	t->sock_dir = xasprintf("%s/tmux-%u", base, (unsigned)getuid());
	t->sock = xasprintf("%s/kith", t->sock_dir);
	if (strlen(t->sock) >= 100 || !safe_path(t->sock_dir)) {
		rc = kith_why(why, KITH_ECONFIG, "the tmux socket path %s is too long or has odd "
			      "characters; set TMUX_TMPDIR to a short plain directory", t->sock);
		goto fail;
	}
	rc = private_dir(t->sock_dir, true, why);
	if (rc)
		goto fail;
	tmpl = xasprintf("%s/kith-tmuxd-XXXXXX", base);
	if (!mkdtemp(tmpl)) {
		rc = kith_why(why, KITH_EIO, "cannot create a work directory in %s: %s", base,
			      strerror(errno));
		goto fail;
	}
	t->work = tmpl;
	tmpl = NULL;
	t->shell = xstrdup(access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh");
	t->shell_name = xstrdup(strrchr(t->shell, '/') + 1);
	t->start_dir = xstrdup(o->start_dir && *o->start_dir ? o->start_dir :
			       home && *home ? home : "/");
	for (size_t i = 0; o->session_env && o->session_env[i]; i++)
		t->nenv++;
	t->env = xcalloc(t->nenv + 2, sizeof(char *));
	for (size_t i = 0; i < t->nenv; i++)
		t->env[i] = xstrdup(o->session_env[i]);
	/* The owner's history file is theirs: kith's commands stay out of it. */
	t->env[t->nenv++] = xstrdup("HISTFILE=");
	t->max_output = o->max_output ? o->max_output : TMUX_DEFAULT_MAX_OUTPUT;
	*out = t;
	return KITH_OK;
fail:
	free(tmpl);
	tmux_close(t);
	return rc;
}

static void remove_work(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *p;

		if (e->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

void tmux_close(struct tmux *t)
{
	if (!t)
		return;
	if (t->bin && t->sock) {
		const char *args[] = { "kill-server", NULL };
		char *why = NULL;

		/* "no server running" is fine: nothing to stop. */
		(void)call(t, args, NULL, &why);
		free(why);
	}
	if (t->work)
		remove_work(t->work);
	for (size_t i = 0; i < t->nmeta; i++)
		free(t->meta[i].name);
	for (size_t i = 0; t->env && i < t->nenv; i++)
		free(t->env[i]);
	free(t->env);
	free(t->meta);
	free(t->bin);
	free(t->sock_dir);
	free(t->sock);
	free(t->work);
	free(t->shell);
	free(t->shell_name);
	free(t->start_dir);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

const char *tmux_socket_path(const struct tmux *t)
{
	return t->sock;
}

/* ---------------------------------------------------------------------- */
/* Sessions                                                               */

enum kith_status tmux_check_name(const char *name, char **why)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_-") != n)
		return kith_why(why, KITH_EINVAL, "session names are 1-64 letters, digits, '_' "
				"or '-'");
	return KITH_OK;
}

static bool session_exists(struct tmux *t, const char *name)
{
	char *tg = target(name, false);
	const char *args[] = { "has-session", "-t", tg, NULL };
	char *why = NULL;
	enum kith_status rc = call(t, args, NULL, &why);

	free(why);
	free(tg);
	return rc == KITH_OK;
}

enum kith_status tmux_session_ensure(struct tmux *t, const char *name, bool *created,
				     char **why)
{
	const char *args[64];
	size_t n = 0;
	enum kith_status rc = tmux_check_name(name, why);

	*created = false;
	if (rc || session_exists(t, name))
		return rc;
	args[n++] = "new-session";
	args[n++] = "-d";
	args[n++] = "-s";
	args[n++] = name;
	args[n++] = "-c";
	args[n++] = t->start_dir;
	args[n++] = "-x";
	args[n++] = "200";
	args[n++] = "-y";
	args[n++] = "50";
	for (size_t i = 0; i < t->nenv && n < 50; i++) {
		args[n++] = "-e";
		args[n++] = t->env[i];
	}
	args[n++] = "--";
	args[n++] = t->shell;
	if (strcmp(t->shell_name, "bash") == 0) {
		/* No rc files: a personal .bashrc must not change how the fixed
		 * line is read (aliases, functions named printf, set -o …). */
		args[n++] = "--noprofile";
		args[n++] = "--norc";
	}
	args[n] = NULL;
	rc = call(t, args, NULL, why);
	if (rc && session_exists(t, name))
		return KITH_OK;    /* another request created it first */
	if (rc == KITH_OK) {
		*created = true;
		log_info("tmuxd", "created session %s in %s", name, t->start_dir);
	}
	return rc;
}

void tmux_session_info_release(struct tmux_session_info *s)
{
	free(s->name);
	free(s->cwd);
	memset(s, 0, sizeof(*s));
}

void tmux_session_infos_free(struct tmux_session_info *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tmux_session_info_release(&s[i]);
	free(s);
}

/* '|' not tab: tmux prints control characters in formats as '_'.  Names
 * and times cannot hold a '|'; the path comes last and may. */
#define INFO_FORMAT "#{session_name}|#{session_created}|#{pane_current_path}"

/* One "name|created|path" line into *s, with this process's counters. */
static bool parse_info(struct tmux *t, struct slice line, struct tmux_session_info *s)
{
	struct slice name, created, path;
	char *c;
	struct meta *m;

	if (!slice_split(line, '|', &name, &line) || !slice_split(line, '|', &created, &path) ||
	    !name.n)
		return false;
	memset(s, 0, sizeof(*s));
	s->name = slice_dup(name);
	c = slice_dup(created);
	s->created_at_ms = strtoll(c, NULL, 10) * 1000;
	free(c);
	s->cwd = path.n ? slice_dup(path) : NULL;
	pthread_mutex_lock(&t->mu);
	m = meta_find(t, s->name, false);
	if (m) {
		s->command_count = m->count;
		s->last_command_at_ms = m->last_ms;
	}
	pthread_mutex_unlock(&t->mu);
	return true;
}

enum kith_status tmux_session_list(struct tmux *t, struct tmux_session_info **out, size_t *n,
				   char **why)
{
	const char *args[] = { "list-sessions", "-F", INFO_FORMAT, NULL };
	struct buf b = BUF_INIT(0);
	struct slice rest, line;
	size_t cap = 0;
	char *twhy = NULL;

	*out = NULL;
	*n = 0;
	if (call(t, args, &b, &twhy) != KITH_OK) {
		/* No server yet (every session closed): an empty list. */
		free(twhy);
		buf_release(&b);
		return KITH_OK;
	}
	rest = slice_of(b.data ? b.data : "", b.len);
	while (rest.n) {
		bool more = slice_split(rest, '\n', &line, &rest);

		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		if (parse_info(t, line, &(*out)[*n]))
			(*n)++;
		if (!more)
			break;
	}
	buf_release(&b);
	return KITH_OK;
}

enum kith_status tmux_session_get(struct tmux *t, const char *name,
				  struct tmux_session_info *out, char **why)
{
	char *tg;
	struct buf b = BUF_INIT(0);
	enum kith_status rc = tmux_check_name(name, why);
	char *twhy = NULL;

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	tg = target(name, true);
	{
		const char *args[] = { "display-message", "-p", "-t", tg, INFO_FORMAT, NULL };

		rc = call(t, args, &b, &twhy);
	}
	if (rc || !parse_info(t, slice_trim(slice_of(b.data ? b.data : "", b.len)), out))
		rc = kith_why(why, KITH_ENOTFOUND, "no session named %s", name);
	free(twhy);
	free(tg);
	buf_release(&b);
	return rc;
}

enum kith_status tmux_session_kill(struct tmux *t, const char *name, char **why)
{
	char *tg;
	enum kith_status rc = tmux_check_name(name, why);
	char *twhy = NULL;

	if (rc)
		return rc;
	tg = target(name, false);
	{
		const char *args[] = { "kill-session", "-t", tg, NULL };

		rc = call(t, args, NULL, &twhy);
	}
	if (rc) {
		rc = session_exists(t, name) ? kith_why(why, KITH_EIO, "%s", twhy)
					     : kith_why(why, KITH_ENOTFOUND, "no session named %s",
							name);
	} else {
		pthread_mutex_lock(&t->mu);
		meta_drop(t, name);
		pthread_mutex_unlock(&t->mu);
		log_info("tmuxd", "killed session %s", name);
	}
	free(twhy);
	free(tg);
	return rc;
}

enum kith_status tmux_session_capture(struct tmux *t, const char *name, int lines,
				      char **text, char **why)
{
	char *tg, *start;
	struct buf b = BUF_INIT(0);
	enum kith_status rc = tmux_check_name(name, why);
	char *twhy = NULL;

	*text = NULL;
	if (rc)
		return rc;
	tg = target(name, true);
	start = xasprintf("-%d", lines < 1 ? 1 : lines);
	{
		const char *args[] = { "capture-pane", "-p", "-J", "-t", tg, "-S", start, NULL };

		rc = call(t, args, &b, &twhy);
	}
	if (rc)
		rc = session_exists(t, name) ? kith_why(why, KITH_EIO, "%s", twhy)
					     : kith_why(why, KITH_ENOTFOUND, "no session named %s",
							name);
	else
		*text = xstrndup(b.data ? b.data : "", b.len);
	free(twhy);
	free(start);
	free(tg);
	buf_release(&b);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Execution                                                              */

void tmux_exec_release(struct tmux_exec *res)
{
	free(res->output);
	memset(res, 0, sizeof(*res));
}

/* What the pane is running in the foreground: the shell's name when idle. */
static char *foreground(struct tmux *t, const char *tg)
{
	const char *args[] = { "display-message", "-p", "-t", tg, "#{pane_current_command}",
			       NULL };
	struct buf b = BUF_INIT(0);
	char *why = NULL, *s = NULL;

	if (call(t, args, &b, &why) == KITH_OK)
		s = slice_dup(slice_trim(slice_of(b.data ? b.data : "", b.len)));
	free(why);
	buf_release(&b);
	return s;
}

static enum kith_status write_script(const char *path, const char *command, char **why)
{
	size_t n = strlen(command);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && write(fd, command, n) == (ssize_t)n &&
		  (n && command[n - 1] == '\n' ? true : write(fd, "\n", 1) == 1);

	if (fd >= 0)
		close(fd);
	return ok ? KITH_OK : kith_why(why, KITH_EIO, "cannot write %s: %s", path,
				       strerror(errno));
}

/* Read what the FIFO has now; false once the writer closed it. */
static bool pump(int fd, struct buf *b, size_t cap, bool *truncated)
{
	char chunk[8192];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (b->len + (size_t)n > cap) {
			*truncated = true;
			n = b->len < cap ? (ssize_t)(cap - b->len) : 0;
		}
		if (n > 0)
			(void)buf_append(b, chunk, (size_t)n);
	}
}

/* The status the shell wrote, or -2 while there is none yet. */
static int read_status(const char *path)
{
	char text[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	char *end = NULL;
	long v;

	if (fd >= 0)
		close(fd);
	if (n <= 0 || text[n - 1] != '\n')
		return -2;
	text[n] = '\0';
	v = strtol(text, &end, 10);
	return end != text && v >= 0 && v < 256 ? (int)v : -1;
}

struct run_files {
	char *script, *fifo, *status;
};

static void run_files_release(struct run_files *f)
{
	if (f->script)
		unlink(f->script);
	if (f->fifo)
		unlink(f->fifo);
	if (f->status)
		unlink(f->status);
	free(f->script);
	free(f->fifo);
	free(f->status);
}

/* Type the fixed line and collect the output until done or the deadline. */
static enum kith_status run_in_pane(struct tmux *t, const char *session, const char *tg,
				    const struct run_files *f, int fd, int timeout_ms,
				    struct tmux_exec *res, char **why)
{
	char *line = xasprintf(" . '%s' </dev/null >'%s' 2>&1; printf '%%s\\n' \"$?\" >'%s'",
			       f->script, f->fifo, f->status);
	const char *args[] = { "send-keys", "-t", tg, "-l", line, ";", "send-keys", "-t", tg,
			       "Enter", NULL };
	struct buf b = BUF_INIT(0);
	int64_t t0 = clock_mono_ms(), deadline = t0 + timeout_ms, next_check = t0;
	bool open_ = true;
	enum kith_status rc = call(t, args, NULL, why);

	free(line);
	res->exit_code = -1;
	while (rc == KITH_OK) {
		int64_t now = clock_mono_ms(), left = deadline - now;
		struct pollfd p = { fd, POLLIN, 0 };
		int st;

		if (left <= 0) {
			const char *cc[] = { "send-keys", "-t", tg, "C-c", NULL };
			char *cwhy = NULL;

			res->timed_out = true;
			(void)call(t, cc, NULL, &cwhy);
			free(cwhy);
			break;
		}
		if (open_ && poll(&p, 1, (int)(left < 50 ? left : 50)) > 0)
			open_ = pump(fd, &b, t->max_output, &res->truncated);
		else if (!open_)
			poll(NULL, 0, (int)(left < 10 ? left : 10));
		st = read_status(f->status);
		if (st != -2) {
			(void)pump(fd, &b, t->max_output, &res->truncated);
			res->exit_code = st;
			break;
		}
		if (now >= next_check) {
			next_check = now + SESSION_CHECK_MS;
			if (!session_exists(t, session)) {
				(void)pump(fd, &b, t->max_output, &res->truncated);
				res->session_ended = true;
				break;
			}
		}
	}
	res->duration_ms = clock_mono_ms() - t0;
	res->output_len = b.len;
	res->output = xstrndup(b.data ? b.data : "", b.len);
	buf_release(&b);
	return rc;
}

enum kith_status tmux_execute(struct tmux *t, const char *session, const char *command,
			      int timeout_ms, struct tmux_exec *res, char **why)
{
	struct run_files f = { 0 };
	struct slice trimmed = slice_trim(slice_cstr(command ? command : ""));
	char *tg = NULL, *fg = NULL;
	unsigned char rnd[6];
	struct meta *m;
	bool created;
	int fd = -1;
	uint64_t seq;
	enum kith_status rc = tmux_check_name(session, why);

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (rc)
		return rc;
	if (!trimmed.n)
		return kith_why(why, KITH_EINVAL, "command: is empty");
	if (strlen(command) > TMUX_MAX_COMMAND)
		return kith_why(why, KITH_EINVAL, "command: longer than %zu bytes",
				TMUX_MAX_COMMAND);
	pthread_mutex_lock(&t->mu);
	m = meta_find(t, session, true);
	if (m->busy) {
		pthread_mutex_unlock(&t->mu);
		return kith_why(why, KITH_ECONFLICT, "session %s is running another request; "
				"wait for it or use another session", session);
	}
	m->busy = true;
	seq = ++t->seq;
	pthread_mutex_unlock(&t->mu);

	rc = tmux_session_ensure(t, session, &created, why);
	if (rc)
		goto out;
	tg = target(session, true);
	fg = foreground(t, tg);
	if (!created && fg && strcmp(fg, t->shell_name) != 0) {
		rc = kith_why(why, KITH_ECONFLICT, "session %s is still running %s from before; "
			      "wait, or delete the session", session, fg);
		goto out;
	}
	randombytes_buf(rnd, sizeof(rnd));
	{
		char hex[sizeof(rnd) * 2 + 1];

		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		f.script = xasprintf("%s/%llu-%s.sh", t->work, (unsigned long long)seq, hex);
		f.fifo = xasprintf("%s/%llu-%s.out", t->work, (unsigned long long)seq, hex);
		f.status = xasprintf("%s/%llu-%s.rc", t->work, (unsigned long long)seq, hex);
	}
	rc = write_script(f.script, command, why);
	if (rc)
		goto out;
	if (mkfifo(f.fifo, 0600) != 0 ||
	    (fd = open(f.fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		rc = kith_why(why, KITH_EIO, "cannot make the output pipe %s: %s", f.fifo,
			      strerror(errno));
		goto out;
	}
	rc = run_in_pane(t, session, tg, &f, fd, timeout_ms, res, why);
out:
	if (fd >= 0)
		close(fd);
	run_files_release(&f);
	pthread_mutex_lock(&t->mu);
	m = meta_find(t, session, true);
	m->busy = false;
	if (rc == KITH_OK) {
		m->count++;
		m->last_ms = clock_now_ms();
	}
	if (res->session_ended || (rc && m->count == 0))
		meta_drop(t, session);
	pthread_mutex_unlock(&t->mu);
	free(fg);
	free(tg);
	return rc;
}
