/* spawn.c — posix_spawnp with pipes, a poll loop, a cap and a deadline.
 *
 * The input goes through a socketpair rather than a pipe so that writing to
 * a child that never reads (or already exited) fails with EPIPE via
 * MSG_NOSIGNAL instead of raising SIGPIPE in kith. */
#include "core/spawn.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void drain(int *fd, size_t cap, struct buf *out, struct spawn_result *res)
{
	char chunk[4096];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(*fd);
			*fd = -1;
		}
		return;
	}
	if (out->len + (size_t)n > cap) {
		res->truncated = 1;
		n = out->len < cap ? (ssize_t)(cap - out->len) : 0;
	}
	if (n > 0)
		(void)buf_append(out, chunk, (size_t)n);
}

static void feed(int *fd, const struct spawn_opts *o, size_t *sent)
{
	ssize_t n = send(*fd, o->input + *sent, o->input_len - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0)
		*sent += (size_t)n;
	if ((n < 0 && errno != EINTR && errno != EAGAIN) || *sent >= o->input_len) {
		close(*fd);   /* EOF for the child, or it stopped reading */
		*fd = -1;
	}
}

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Wait for the child, killing its group at the deadline. */
static int reap(pid_t pid, int64_t deadline, struct spawn_result *res)
{
	int status = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return status;
		if (r == 0 && clock_mono_ms() >= deadline && !res->timed_out) {
			res->timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
		if (r == 0)
			(void)poll(NULL, 0, res->timed_out ? 5 : 10);
	}
}

enum kith_status spawn_run(const char *const *argv, const struct spawn_opts *o, int timeout_ms,
			   size_t cap, struct buf *out, struct spawn_result *res, char **why)
{
	char *const env[] = { (char *)"PATH=/usr/local/bin:/usr/bin:/bin", NULL };
	static const struct spawn_opts none;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, empty;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	int status, rc;
	size_t sent = 0;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	pid_t pid;

	if (!o)
		o = &none;
	memset(res, 0, sizeof(*res));
	if (pipe2(outp, O_CLOEXEC) != 0 || (o->err && pipe2(errp, O_CLOEXEC) != 0) ||
	    (o->input && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, inp) != 0)) {
		rc = errno;
		closep(&outp[0]);
		closep(&outp[1]);
		closep(&errp[0]);
		closep(&errp[1]);
		return kith_why(why, KITH_EIO, "cannot create a pipe: %s", strerror(rc));
	}
	posix_spawn_file_actions_init(&fa);
	if (o->input)
		posix_spawn_file_actions_adddup2(&fa, inp[1], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, o->err ? errp[1] : outp[1], 2);
	/* Default dispositions, nothing blocked (kith's threads block the
	 * signals its main thread waits for), and a process group of its own. */
	sigfillset(&all);
	sigemptyset(&empty);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
					POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	closep(&outp[1]);
	closep(&errp[1]);
	closep(&inp[1]);
	if (rc != 0) {
		closep(&outp[0]);
		closep(&errp[0]);
		closep(&inp[0]);
		return kith_why(why, rc == ENOENT ? KITH_ENOTFOUND : KITH_EIO, "cannot run %s: %s",
				argv[0], strerror(rc));
	}
	if (inp[0] >= 0 && o->input_len == 0)
		closep(&inp[0]);
	while (outp[0] >= 0 || errp[0] >= 0) {
		int64_t left = deadline - clock_mono_ms();
		struct pollfd p[3] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 },
				       { inp[0], POLLOUT, 0 } };

		if (left <= 0) {
			res->timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 3, (int)(left > 200 ? 200 : left)) <= 0)
			continue;
		if (p[0].revents)
			drain(&outp[0], cap, out, res);
		if (p[1].revents)
			drain(&errp[0], cap, o->err, res);
		if (p[2].revents)
			feed(&inp[0], o, &sent);
	}
	closep(&outp[0]);
	closep(&errp[0]);
	closep(&inp[0]);
	status = reap(pid, deadline, res);
	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	res->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return KITH_OK;
}

enum kith_status spawn_capture(const char *const *argv, int timeout_ms, size_t cap,
			       struct buf *out, struct spawn_result *res, char **why)
{
	return spawn_run(argv, NULL, timeout_ms, cap, out, res, why);
}
