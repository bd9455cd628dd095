/* so_agent.c — calling a shared-object agent in a forked child.
 *
 * kith never loads an agent into its own process.  For each call it forks;
 * the child resets signals, detaches from kith's descriptors and
 * environment, dlopens the agent, checks its ABI version, calls it once,
 * writes the answer as records (plugin_int.h) on a pipe and _exits.  The
 * parent reads with a deadline and kills the child's process group when it
 * passes, so a crash, a hang or a constructor that never returns costs one
 * error message, never kith.
 *
 * Forking a threaded process: the child runs only this file's code, dlopen
 * and the agent, never kith's locks (no logging, no allocation through
 * kith's wrappers).  glibc makes malloc usable in the child of a threaded
 * fork; should anything else be left locked by another thread, the child
 * hangs and the deadline ends it like any other hang.  The child also dies
 * with its parent thread (PR_SET_PDEATHSIG) and on an alarm of its own. */
#include "plugin/plugin_int.h"
#include "core/buf.h"
#include "core/clock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kith/plugin.h"

#define CHILD_FD 3
#define REPLY_SLACK (64 * 1024)   /* room for the records besides the output */

typedef int (*run_fn)(const char *input, char *out, size_t out_len);

/* ---- the child ------------------------------------------------------- */

static void put(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(CHILD_FD, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		p += w;
		n -= (size_t)w;
	}
}

static void record(char tag, const char *p, size_t n)
{
	char hdr[32];

	put(hdr, plugin_record_header(tag, n, hdr));
	put(p, n);
	put("\n", 1);
}

static void record_str(char tag, const char *s, size_t cap)
{
	size_t n = s ? strnlen(s, cap) : 0;

	record(tag, s ? s : "", n);
}

static KITH_NORETURN void fail(const char *what, const char *detail)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	record_str('E', msg, sizeof(msg));
	_exit(0);
}

/* Make the child a clean place for foreign code: default signals, nothing
 * blocked, its own process group, /dev/null for stdio, only the reply pipe
 * open, no inherited environment (kith's holds API keys). */
static void isolate(int wfd, pid_t parent, int timeout_ms)
{
	struct sigaction dfl;
	sigset_t none;
	int null;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++) {
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &dfl, NULL);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(4);
	alarm((unsigned)(timeout_ms / 1000 + 2));
	if (wfd != CHILD_FD && dup2(wfd, CHILD_FD) < 0)
		_exit(5);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		for (int fd = 0; fd < 3; fd++)
			(void)dup2(null, fd);
	}
	(void)close_range(CHILD_FD + 1, ~0u, 0);
	(void)clearenv();
	(void)setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
}

static KITH_NORETURN void child(int wfd, pid_t parent, const char *path, const char *input,
				size_t max_output, int timeout_ms)
{
	const int *abi;
	const char *const *desc;
	const char *const *kw;
	run_fn run;
	void *h, *sym;
	char num[16], *out;
	int st;

	isolate(wfd, parent, timeout_ms);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail("cannot load it", dlerror());
	abi = dlsym(h, "kith_plugin_abi_version");
	if (!abi)
		fail("it is not a kith agent (kith_plugin_abi_version is missing)", NULL);
	record('V', num, plugin_itoa(*abi, num));
	if (*abi != KITH_PLUGIN_ABI_VERSION)
		_exit(0);      /* the parent refuses it by the version */
	sym = dlsym(h, "kith_plugin_run");
	memcpy(&run, &sym, sizeof(run));
	if (!run)
		fail("kith_plugin_run is missing", NULL);
	if (!input) {
		desc = dlsym(h, "kith_plugin_description");
		if (!desc || !*desc)
			fail("kith_plugin_description is missing", NULL);
		record_str('D', *desc, 4096);
		kw = dlsym(h, "kith_plugin_keywords");
		for (size_t i = 0; kw && kw[i] && i < PLUGIN_KEYWORDS_MAX; i++)
			record_str('K', kw[i], 256);
		_exit(0);
	}
	out = calloc(max_output + 1, 1);
	if (!out)
		fail("out of memory", NULL);
	st = run(input, out, max_output + 1);
	out[max_output] = '\0';
	record('S', num, plugin_itoa(st, num));
	record_str('O', out, max_output);
	_exit(0);
}

/* ---- the parent ------------------------------------------------------ */

static void stop(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

enum kith_status plugin_so_call(const char *path, const char *input, int timeout_ms,
				size_t max_output, struct plugin_reply *rep,
				struct plugin_outcome *how, char **why)
{
	size_t max_field = max_output > 4096 ? max_output : 4096;
	struct buf got = BUF_INIT(0);
	int64_t deadline = clock_mono_ms() + timeout_ms;
	int fds[2], status = 0;
	bool open_ = true;
	pid_t parent = getpid(), pid;
	enum kith_status rc;

	memset(rep, 0, sizeof(*rep));
	memset(how, 0, sizeof(*how));
	if (pipe2(fds, O_CLOEXEC) != 0)
		return kith_why(why, KITH_EIO, "cannot create a pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		rc = kith_why(why, KITH_EIO, "cannot fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], parent, path, input, max_output, timeout_ms);
	}
	close(fds[1]);
	(void)setpgid(pid, pid);   /* also done by the child; whichever is first */
	while (open_) {
		int64_t left = deadline - clock_mono_ms();
		struct pollfd p = { fds[0], POLLIN, 0 };
		char chunk[4096];
		ssize_t n;

		if (left <= 0) {
			how->timed_out = true;
			stop(pid);
			break;
		}
		if (poll(&p, 1, (int)(left > 200 ? 200 : left)) <= 0)
			continue;
		n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		if (got.len + (size_t)n > max_field + REPLY_SLACK) {
			how->truncated = true;   /* more than any honest reply: stop it */
			stop(pid);
			break;
		}
		(void)buf_append(&got, chunk, (size_t)n);
	}
	close(fds[0]);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (r == 0 && clock_mono_ms() >= deadline && !how->timed_out) {
			how->timed_out = true;
			stop(pid);
		}
		if (r == 0)
			(void)poll(NULL, 0, 5);
	}
	how->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	how->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (how->timed_out || how->truncated || how->term_signal || how->exit_code != 0) {
		buf_release(&got);
		return KITH_EIO;   /* the caller words it from *how */
	}
	rc = plugin_reply_parse(got.data ? got.data : "", got.len, max_field, rep, why);
	buf_release(&got);
	return rc;
}
