/* itest.h — helpers for integration tests that drive the kith binary.
 *
 * Each scenario gets its own data directory and a clean environment that
 * points kith at a fake server; results are checked in the real SQLite
 * database the binary wrote. */
#ifndef KITH_ITEST_H
#define KITH_ITEST_H

#include "support/proc.h"

struct kith_env {
	char *data_dir;
	char *db_path;
	const char *vars[32];   /* "K=V", NULL-terminated; owned strings */
	int n;
};

/* A fresh data dir named `name` under the test temp dir. */
void kith_env_init(struct kith_env *e, const char *name);
void kith_env_set(struct kith_env *e, const char *key, const char *value);
void kith_env_release(struct kith_env *e);

/* Run `kith ARGS…` (NULL-terminated) with the env; stdin_text may be NULL. */
int kith_run(struct kith_env *e, const char *stdin_text, struct proc_result *r, ...);
/* Start `kith ARGS…` (NULL-terminated) with the env and no stdin, without
 * waiting; NULL when it could not be started.  End it with proc_wait or
 * proc_kill. */
struct proc *kith_start(struct kith_env *e, ...);

/* Start `kith ARGS…` (NULL-terminated), wait until `fake` has received one
 * more request than it had, send `sig`, and wait up to 5 s for kith to exit.
 * Returns 0 with *r filled, or -1 (and kith killed) with *failure saying
 * which step did not happen. */
struct fake_llm;
int kith_signal_mid_call(struct kith_env *e, struct fake_llm *fake, const char *stdin_text,
			 int sig, struct proc_result *r, const char **failure, ...);

/* Query the database: the integer in the first column of the first row
 * (-1 on error) or the text (heap, NULL on error / no row). */
long long db_int(const char *db_path, const char *sql);
char *db_text(const char *db_path, const char *sql);

#endif
