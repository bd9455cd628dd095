/* proc.c — spawning and reaping children for tests.
 *
 * Output goes to temp files rather than pipes, so a chatty child can never
 * block on a full pipe while the test waits for it. */
#include "support/proc.h"
#include "support/test.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct proc {
	pid_t pid;
	char *out_path, *err_path;
	int64_t started;
};

const char *kith_bin(void)
{
	const char *b = getenv("KITH_BIN");

	return b && *b ? b : "./kith";
}

static char **build_env(const char *const *extra)
{
	static int counter;
	size_t n = 0, cap = 0;
	char **env = NULL;
	const char *path = getenv("PATH");

	env = xgrow(env, &cap, 8, sizeof(*env));
	env[n++] = xasprintf("PATH=%s", path ? path : "/usr/bin:/bin");
	env[n++] = xasprintf("HOME=%s", test_tmpdir());
	env[n++] = xasprintf("TMPDIR=%s", test_tmpdir());
	env[n++] = xasprintf("KITH_TEST_SEQ=%d", counter++);
	for (size_t i = 0; extra && extra[i]; i++) {
		env = xgrow(env, &cap, n + 2, sizeof(*env));
		env[n++] = xstrdup(extra[i]);
	}
	env = xgrow(env, &cap, n + 1, sizeof(*env));
	env[n] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

struct proc *proc_start(const struct proc_opts *o)
{
	static int seq;
	struct proc *p = xcalloc(1, sizeof(*p));
	char *in_path = NULL;
	char **env = build_env(o->env);
	int n = seq++;

	p->out_path = xasprintf("%s/proc-%d-%d.out", test_tmpdir(), (int)getpid(), n);
	p->err_path = xasprintf("%s/proc-%d-%d.err", test_tmpdir(), (int)getpid(), n);
	if (o->stdin_text) {
		FILE *f;

		in_path = xasprintf("%s/proc-%d-%d.in", test_tmpdir(), (int)getpid(), n);
		f = fopen(in_path, "w");
		if (f) {
			fputs(o->stdin_text, f);
			fclose(f);
		}
	}
	p->started = clock_mono_ms();
	p->pid = fork();
	if (p->pid == 0) {
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(126);
		if (chdir(o->cwd ? o->cwd : test_tmpdir()) != 0)
			_exit(126);
		execve(o->argv[0], (char *const *)o->argv, env);
		_exit(127);
	}
	free(in_path);
	free_env(env);
	if (p->pid < 0) {
		free(p->out_path);
		free(p->err_path);
		free(p);
		return NULL;
	}
	return p;
}

pid_t proc_pid(const struct proc *p)
{
	return p->pid;
}

const char *proc_stdout_path(const struct proc *p)
{
	return p->out_path;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b = BUF_INIT(0);
	char chunk[4096];
	size_t n;

	if (!f)
		return xstrdup("");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_detach(&b);
}

static void finish(struct proc *p, int status, const struct rusage *ru, struct proc_result *r)
{
	r->wall_ms = clock_mono_ms() - p->started;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	r->maxrss_kb = ru->ru_maxrss;
	r->out = slurp(p->out_path);
	r->err = slurp(p->err_path);
	/* A sanitizer report in the child fails the test even when the exit
	 * code is what the test expected. */
	if (strstr(r->err, "ERROR: AddressSanitizer") || strstr(r->err, "ERROR: LeakSanitizer") ||
	    strstr(r->err, "WARNING: ThreadSanitizer") || strstr(r->err, "runtime error:"))
		test_fail_(__FILE__, __LINE__, "sanitizer report from the child:\n%s", r->err);
	unlink(p->out_path);
	unlink(p->err_path);
	free(p->out_path);
	free(p->err_path);
	free(p);
}

int proc_wait(struct proc *p, int timeout_ms, struct proc_result *r)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct timespec step = { 0, 2 * 1000000L };

	for (;;) {
		struct rusage ru;
		int status;
		pid_t w = wait4(p->pid, &status, WNOHANG, &ru);

		if (w == p->pid) {
			r->timed_out = 0;
			finish(p, status, &ru, r);
			return 0;
		}
		if (w < 0 && errno != EINTR)
			return -1;
		if (clock_mono_ms() >= deadline)
			return -1;
		nanosleep(&step, NULL);
	}
}

void proc_kill(struct proc *p)
{
	struct proc_result r = { 0 };

	kill(p->pid, SIGKILL);
	if (proc_wait(p, 10000, &r) == 0)
		proc_result_release(&r);
}

int proc_run(const struct proc_opts *o, struct proc_result *r)
{
	struct proc *p = proc_start(o);
	int timeout = o->timeout_ms ? o->timeout_ms : 30000;

	*r = (struct proc_result){ 0 };
	if (!p)
		return -1;
	if (proc_wait(p, timeout, r) != 0) {
		struct rusage ru;
		int status = 0;

		kill(p->pid, SIGKILL);
		wait4(p->pid, &status, 0, &ru);
		finish(p, status, &ru, r);
		r->timed_out = 1;
	}
	return 0;
}

void proc_result_release(struct proc_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}
