/* spawn.c — posix_spawnp with a pipe, a poll loop, a cap and a deadline. */
#include "core/spawn.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void drain(int fd, size_t cap, struct buf *out, struct spawn_result *res, int *open)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*open = 0;
		return;
	}
	if (out->len + (size_t)n > cap) {
		res->truncated = 1;
		n = out->len < cap ? (ssize_t)(cap - out->len) : 0;
	}
	if (n > 0)
		buf_append(out, chunk, (size_t)n);
}

enum kith_status spawn_capture(const char *const *argv, int timeout_ms, size_t cap,
			       struct buf *out, struct spawn_result *res, char **why)
{
	char *const env[] = { (char *)"PATH=/usr/local/bin:/usr/bin:/bin", NULL };
	posix_spawn_file_actions_t fa;
	int pipefd[2], open_ = 1, status = 0, rc;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return kith_why(why, KITH_EIO, "cannot create a pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return kith_why(why, rc == ENOENT ? KITH_ENOTFOUND : KITH_EIO, "cannot run %s: %s",
				argv[0], strerror(rc));
	}
	while (open_) {
		int64_t left = deadline - clock_mono_ms();
		struct pollfd p = { pipefd[0], POLLIN, 0 };

		if (left <= 0) {
			res->timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)(left > 200 ? 200 : left)) > 0)
			drain(pipefd[0], cap, out, res, &open_);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return KITH_OK;
}
