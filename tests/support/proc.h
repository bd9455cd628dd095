/* proc.h — run the real kith binary from integration tests and benchmarks.
 *
 * The child gets a clean environment (PATH, HOME and TMPDIR pointing into
 * the test's temp dir, plus what the test passes), its own working
 * directory, optional stdin text, and a deadline after which it is killed.
 * Output is captured in full. */
#ifndef KITH_TEST_PROC_H
#define KITH_TEST_PROC_H

#include <stdint.h>
#include <sys/types.h>

struct proc_opts {
	const char *const *argv;   /* argv[0] = program path */
	const char *const *env;    /* extra "K=V" (NULL-terminated), may be NULL */
	const char *cwd;           /* NULL = test_tmpdir() */
	const char *stdin_text;    /* NULL = /dev/null */
	int timeout_ms;            /* 0 = 30000 */
};

struct proc_result {
	int exit_code;        /* -1 when killed by a signal */
	int term_signal;      /* the signal, when killed */
	int timed_out;
	char *out, *err;      /* captured, NUL-terminated */
	int64_t wall_ms;
	long maxrss_kb;       /* peak resident memory of the child */
};

/* Run to completion.  Returns 0, or -1 when the child could not start. */
int proc_run(const struct proc_opts *o, struct proc_result *r);
void proc_result_release(struct proc_result *r);

/* Start without waiting; stdout/stderr go to files in the temp dir. */
struct proc;
struct proc *proc_start(const struct proc_opts *o);
pid_t proc_pid(const struct proc *p);
/* Where the running child's stdout goes (readable while it runs). */
const char *proc_stdout_path(const struct proc *p);
/* Wait up to timeout_ms; returns 0 when it exited (r filled, p freed), -1 on
 * timeout (p still valid). */
int proc_wait(struct proc *p, int timeout_ms, struct proc_result *r);
/* Kill (SIGKILL), reap and free. */
void proc_kill(struct proc *p);

/* The kith binary under test ($KITH_BIN). */
const char *kith_bin(void);

#endif
