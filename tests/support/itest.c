/* itest.c — integration-test helpers. */
#include "support/itest.h"
#include "support/test.h"
#include "core/alloc.h"
#include "fakes/fake_llm.h"

#include <signal.h>

#include <sqlite3.h>
#include <stdarg.h>

void kith_env_init(struct kith_env *e, const char *name)
{
	char *leaf = xasprintf("data-%s", name);

	memset(e, 0, sizeof(*e));
	e->data_dir = test_path(leaf);
	e->db_path = xasprintf("%s/kith.db", e->data_dir);
	free(leaf);
	kith_env_set(e, "KITH_DATA_DIR", e->data_dir);
	kith_env_set(e, "LOG_LEVEL", "debug");
}

void kith_env_set(struct kith_env *e, const char *key, const char *value)
{
	size_t klen = strlen(key);

	for (int i = 0; i < e->n; i++) {
		if (strncmp(e->vars[i], key, klen) == 0 && e->vars[i][klen] == '=') {
			free((char *)e->vars[i]);
			e->vars[i] = xasprintf("%s=%s", key, value);
			return;
		}
	}
	if (e->n >= (int)(sizeof(e->vars) / sizeof(e->vars[0])) - 1)
		abort();
	e->vars[e->n++] = xasprintf("%s=%s", key, value);
	e->vars[e->n] = NULL;
}

void kith_env_release(struct kith_env *e)
{
	for (int i = 0; i < e->n; i++)
		free((char *)e->vars[i]);
	free(e->data_dir);
	free(e->db_path);
	memset(e, 0, sizeof(*e));
}

static void collect_argv(const char *argv[16], va_list ap)
{
	int argc = 0;
	const char *a;

	argv[argc++] = kith_bin();
	while ((a = va_arg(ap, const char *)) && argc < 15)
		argv[argc++] = a;
	argv[argc] = NULL;
}

int kith_run(struct kith_env *e, const char *stdin_text, struct proc_result *r, ...)
{
	const char *argv[16];
	va_list ap;
	struct proc_opts o = { 0 };

	va_start(ap, r);
	collect_argv(argv, ap);
	va_end(ap);
	o.argv = argv;
	o.env = e->vars;
	o.stdin_text = stdin_text;
	o.timeout_ms = 60000;
	return proc_run(&o, r);
}

static struct proc *start_v(struct kith_env *e, const char *stdin_text, va_list ap)
{
	const char *argv[16];
	struct proc_opts o = { 0 };

	collect_argv(argv, ap);
	o.argv = argv;
	o.env = e->vars;
	o.stdin_text = stdin_text;
	return proc_start(&o);
}

struct proc *kith_start(struct kith_env *e, ...)
{
	va_list ap;
	struct proc *p;

	va_start(ap, e);
	p = start_v(e, NULL, ap);
	va_end(ap);
	return p;
}

int kith_signal_mid_call(struct kith_env *e, struct fake_llm *fake, const char *stdin_text,
			 int sig, struct proc_result *r, const char **failure, ...)
{
	va_list ap;
	size_t before = fake_llm_request_count(fake);
	struct proc *p;

	va_start(ap, failure);
	p = start_v(e, stdin_text, ap);
	va_end(ap);
	*r = (struct proc_result){ 0 };
	if (!p) {
		*failure = "kith could not be started";
		return -1;
	}
	if (!fake_llm_wait_requests(fake, before + 1, 20000)) {
		proc_kill(p);
		*failure = "the request never reached the fake";
		return -1;
	}
	kill(proc_pid(p), sig);
	if (proc_wait(p, 5000, r) != 0) {
		proc_kill(p);
		*failure = "kith did not stop after the signal";
		return -1;
	}
	return 0;
}

static sqlite3_stmt *query(const char *db_path, const char *sql, sqlite3 **db)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_open_v2(db_path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(*db, 5000);
	if (sqlite3_prepare_v2(*db, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "db query failed: %s: %s\n", sql, sqlite3_errmsg(*db));
		return NULL;
	}
	return s;
}

long long db_int(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = query(db_path, sql, &db);
	long long v = -1;

	if (s && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

char *db_text(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = query(db_path, sql, &db);
	char *v = NULL;

	if (s && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}
