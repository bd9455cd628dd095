/* sysaccess.c — the process runner and small helpers of the two
 * system-access servers (tmuxd, hostexec).
 *
 * The runner is posix_spawn with two pipes and a poll loop, like
 * core/spawn.c, but with what a server that runs other people's commands
 * needs on top: separate stdout/stderr, a working directory, a caller-given
 * environment, a fresh signal mask and its own process group (a deadline
 * kills children and grandchildren alike). */
#include "tools/sysaccess.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "httpd/httpd.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void take(int fd, struct buf *b, size_t cap, bool *truncated, bool *open_)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		*open_ = false;
		return;
	}
	if (b->len + (size_t)n > cap) {
		*truncated = true;
		n = b->len < cap ? (ssize_t)(cap - b->len) : 0;
	}
	if (n > 0 && buf_append(b, chunk, (size_t)n) != KITH_OK)
		*truncated = true;
}

static enum kith_status start(const struct sysaccess_run *run, int out_fd, int err_fd,
			      pid_t *pid, char **why)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (run->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, run->cwd);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					 POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	rc = posix_spawn(pid, run->path, &fa, &attr, (char *const *)run->argv,
			 (char *const *)run->env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == 0)
		return KITH_OK;
	if (rc == ENOENT || rc == ENOTDIR)
		return kith_why(why, KITH_ENOTFOUND, "cannot run %s%s%s: %s", run->path,
				run->cwd ? " in " : "", run->cwd ? run->cwd : "", strerror(rc));
	return kith_why(why, KITH_EIO, "cannot run %s: %s", run->path, strerror(rc));
}

enum kith_status sysaccess_exec(const struct sysaccess_run *run, struct sysaccess_result *res,
				char **why)
{
	int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, status = 0;
	bool out_open = true, err_open = true;
	int64_t t0 = clock_mono_ms(), deadline = t0 + run->timeout_ms;
	enum kith_status rc;
	pid_t pid = -1;

	memset(res, 0, sizeof(*res));
	buf_init(&res->out, 0);
	buf_init(&res->err, 0);
	res->exit_code = -1;
	if (pipe2(out_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0) {
		rc = kith_why(why, KITH_EIO, "cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	rc = start(run, out_p[1], err_p[1], &pid, why);
	close(out_p[1]);
	close(err_p[1]);
	out_p[1] = err_p[1] = -1;
	if (rc)
		goto out;
	while (out_open || err_open) {
		int64_t left = deadline - clock_mono_ms();
		struct pollfd p[2] = { { out_open ? out_p[0] : -1, POLLIN, 0 },
				       { err_open ? err_p[0] : -1, POLLIN, 0 } };

		if (left <= 0) {
			res->timed_out = true;
			kill(-pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)(left > 200 ? 200 : left)) <= 0)
			continue;
		if (p[0].revents)
			take(out_p[0], &res->out, run->cap, &res->truncated, &out_open);
		if (p[1].revents)
			take(err_p[0], &res->err, run->cap, &res->truncated, &err_open);
	}
	/* Both pipes closed: the program is done, or only its group is left. */
	while (!res->timed_out) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			pid = -1;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		if (clock_mono_ms() >= deadline) {
			res->timed_out = true;
			kill(-pid, SIGKILL);
			break;
		}
		poll(NULL, 0, 5);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (WIFEXITED(status)) {
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->exit_code = -1;
		res->term_signal = WTERMSIG(status);
	}
	rc = KITH_OK;
out:
	for (int i = 0; i < 2; i++) {
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	res->duration_ms = clock_mono_ms() - t0;
	return rc;
}

void sysaccess_result_release(struct sysaccess_result *res)
{
	buf_release(&res->out);
	buf_release(&res->err);
}

char *sysaccess_which(const char *name)
{
	const char *dirs = SYSACCESS_PATH;

	if (!name || !*name || strchr(name, '/'))
		return NULL;
	while (*dirs) {
		size_t n = strcspn(dirs, ":");
		char *p = xasprintf("%.*s/%s", (int)n, dirs, name);
		struct stat st;

		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
			return p;
		free(p);
		dirs += n + (dirs[n] == ':');
	}
	return NULL;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned c = p[0];
	size_t len;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (avail < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

json_t *sysaccess_json_text(const char *p, size_t n)
{
	struct buf b = BUF_INIT(0);
	const unsigned char *u = (const unsigned char *)p;
	json_t *s;
	size_t i = 0;

	while (i < n) {
		size_t k = utf8_seq(u + i, n - i);

		if (k) {
			(void)buf_append(&b, p + i, k);
			i += k;
		} else {
			(void)buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	s = json_stringn(b.len ? b.data : "", b.len);
	buf_release(&b);
	return s ? s : json_string("");
}

char *sysaccess_audit_text(const char *p, size_t n, size_t max)
{
	struct buf b = BUF_INIT(0);
	size_t i;

	for (i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\')
			(void)buf_printf(&b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			(void)buf_printf(&b, "\\x%02x", c);
		else
			(void)buf_append(&b, &p[i], 1);
	}
	if (i < n)
		(void)buf_printf(&b, "…(+%zu bytes)", n - i);
	(void)buf_puts(&b, "");
	return buf_detach(&b);
}

enum kith_status sysaccess_listen_addr(const char *url, const char *setting, int default_port,
				       const char *host_opt, int port_opt, char **host,
				       int *port, char **note, char **why)
{
	CURLU *u = curl_url();
	char *uhost = NULL, *uport = NULL;
	enum kith_status rc = KITH_OK;

	*host = NULL;
	*port = default_port;
	*note = NULL;
	if (url && *url) {
		if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
			rc = kith_why(why, KITH_ECONFIG, "%s is not a URL", setting);
			goto out;
		}
		(void)curl_url_get(u, CURLUPART_HOST, &uhost, 0);
		if (curl_url_get(u, CURLUPART_PORT, &uport, 0) == CURLUE_OK && uport)
			*port = (int)strtol(uport, NULL, 10);
	}
	if (port_opt >= 0)
		*port = port_opt;
	if (host_opt && *host_opt) {
		*host = xstrdup(host_opt);
	} else if (uhost && httpd_is_loopback(uhost)) {
		/* "localhost" may resolve to ::1 first; clients of the default
		 * URL connect to either, the server binds the IPv4 one. */
		*host = xstrdup(strcmp(uhost, "localhost") == 0 ? "127.0.0.1" : uhost);
		if ((*host)[0] == '[') {
			free(*host);
			*host = xstrdup("::1");
		}
	} else {
		*host = xstrdup("127.0.0.1");
		if (uhost)
			*note = xasprintf("%s names host %s; listening on 127.0.0.1 only (pass "
					  "--host to listen elsewhere)", setting, uhost);
	}
out:
	curl_free(uhost);
	curl_free(uport);
	curl_url_cleanup(u);
	return rc;
}
