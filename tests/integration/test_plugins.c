/* test_plugins.c — plugin agents with real files: shared objects compiled
 * here from C with the system's cc, executables (scripts run through
 * execve), both examples from agents/.
 *
 * Load and call both kinds; reload on change (add, replace, rewrite in
 * place, remove, the directory removed and made again), waiting on the
 * registry's scan counter with a deadline instead of sleeping; crashing and
 * hanging agents — in their run, their constructor or their --describe —
 * contained, with the error text, this process alive and every child
 * reaped; a wrong ABI version, a file that is no agent, bad names and
 * world-writable files refused; detection over the loaded agents with the
 * classify hook; /sel_agents and /sel_run_agent for the owner, another
 * user and with no approver configured, and the run remembered. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_llm.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/spawn.h"
#include "llm/embed.h"
#include "memory/memory.h"
#include "plugin/plugin.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 15000

/* ---- building agents -------------------------------------------------- */

static const char *source_dir(void)
{
	static char dir[4096];
	const char *env = getenv("KITH_SOURCE_DIR");
	const char *cut;

	if (env && *env)
		return env;
	/* run by hand: this file is tests/integration/test_plugins.c */
	cut = strstr(__FILE__, "/tests/integration/");
	snprintf(dir, sizeof(dir), "%.*s", cut ? (int)(cut - __FILE__) : 1, cut ? __FILE__ : ".");
	return dir;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	REQUIRE(f != NULL);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char *dir_in_tmp(const char *name)
{
	char *d = test_path(name);

	mkdir(d, 0755);
	return d;
}

/* Compile C source `code` into a shared object at `out` with the cc on
 * PATH, against include/kith/plugin.h. */
static bool compile_so(const char *code, const char *out)
{
	char *src = xasprintf("%s.c", out), *inc = xasprintf("%s/include", source_dir());
	const char *argv[] = { "cc", "-shared", "-fPIC", "-O0", "-Wall", "-I", inc, "-o", out, src,
			       NULL };
	struct buf log = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;
	enum kith_status rc;

	write_file(src, code, 0644);
	rc = spawn_capture(argv, 60000, 16384, &log, &r, &why);
	if (rc == KITH_ENOTFOUND)
		test_fail_(__FILE__, __LINE__, "no C compiler (cc) on PATH: these tests build real "
			   "shared-object agents");
	else if (rc || r.exit_code != 0)
		test_fail_(__FILE__, __LINE__, "cc failed for %s: %s%s", out, why ? why : "",
			   buf_str(&log));
	free(why);
	free(src);
	free(inc);
	buf_release(&log);
	return rc == KITH_OK && r.exit_code == 0;
}

/* Build into a scratch directory and rename into place, as a careful
 * installer would; the registry sees the whole file at once. */
static bool install_so(const char *code, const char *dir, const char *file)
{
	char *scratch = dir_in_tmp("scratch"), *tmp = xasprintf("%s/%s", scratch, file);
	char *dst = xasprintf("%s/%s", dir, file);
	bool ok = compile_so(code, tmp) && rename(tmp, dst) == 0;

	free(scratch);
	free(tmp);
	free(dst);
	return ok;
}

static void install_script(const char *text, const char *dir, const char *file, mode_t mode)
{
	char *scratch = dir_in_tmp("scratch"), *tmp = xasprintf("%s/%s", scratch, file);
	char *dst = xasprintf("%s/%s", dir, file);

	write_file(tmp, text, mode);
	CHECK_EQ(rename(tmp, dst), 0);
	free(scratch);
	free(tmp);
	free(dst);
}

static void copy_example(const char *file, const char *dir, mode_t mode)
{
	char *src = xasprintf("%s/agents/%s", source_dir(), file), *text;
	FILE *f = fopen(src, "r");
	struct buf b = BUF_INIT(0);
	char chunk[4096];
	size_t n;

	if (!f)
		test_fail_(__FILE__, __LINE__, "missing example %s", src);
	REQUIRE(f != NULL);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_append(&b, chunk, n);
	fclose(f);
	text = buf_detach(&b);
	if (strstr(file, ".c"))
		CHECK(install_so(text, dir, "dice.so"));
	else
		install_script(text, dir, file, mode);
	free(text);
	free(src);
}

static char *example_source(const char *file)
{
	char *src = xasprintf("%s/agents/%s", source_dir(), file);
	FILE *f = fopen(src, "r");
	struct buf b = BUF_INIT(0);
	char chunk[4096];
	size_t n;

	free(src);
	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_append(&b, chunk, n);
	fclose(f);
	return buf_detach(&b);
}

#define ECHO_SO(desc) \
	"#include <kith/plugin.h>\n#include <stdio.h>\n" \
	"KITH_PLUGIN(\"" desc "\");\n" \
	"KITH_PLUGIN_KEYWORDS(\"parrot\", \"Say Again\");\n" \
	"int kith_plugin_run(const char *in, char *out, size_t n)\n" \
	"{ snprintf(out, n, \"echo: %s\", in); return 0; }\n"

static const char crash_so[] =
	"#include <kith/plugin.h>\n"
	"KITH_PLUGIN(\"Crashes on every call\");\n"
	"int kith_plugin_run(const char *in, char *out, size_t n)\n"
	"{ volatile int *p = 0; (void)in; (void)out; (void)n; *p = 1; return 0; }\n";

static const char hang_so[] =
	"#include <kith/plugin.h>\n"
	"KITH_PLUGIN(\"Never returns\");\n"
	"int kith_plugin_run(const char *in, char *out, size_t n)\n"
	"{ volatile unsigned long x = 0; (void)in; (void)out; (void)n; for (;;) x++; }\n";

static const char fail_so[] =
	"#include <kith/plugin.h>\n#include <stdio.h>\n"
	"KITH_PLUGIN(\"Always says no\");\n"
	"int kith_plugin_run(const char *in, char *out, size_t n)\n"
	"{ snprintf(out, n, \"no such thing as %s\", in); return 2; }\n";

static const char abi_so[] =
	"#include <kith/plugin.h>\n"
	"KITH_PLUGIN_EXPORT const int kith_plugin_abi_version = 99;\n"
	"KITH_PLUGIN_EXPORT const char *const kith_plugin_description = \"From the future\";\n"
	"int kith_plugin_run(const char *in, char *out, size_t n)\n"
	"{ (void)in; (void)out; (void)n; return 0; }\n";

static const char ctor_crash_so[] =
	"#include <kith/plugin.h>\n"
	"KITH_PLUGIN(\"Crashes when loaded\");\n"
	"__attribute__((constructor)) static void boom(void) { volatile int *p = 0; *p = 1; }\n"
	"int kith_plugin_run(const char *in, char *out, size_t n)\n"
	"{ (void)in; (void)out; (void)n; return 0; }\n";

static const char ctor_hang_so[] =
	"#include <kith/plugin.h>\n"
	"KITH_PLUGIN(\"Hangs when loaded\");\n"
	"__attribute__((constructor)) static void stuck(void) { volatile int x = 0; for (;;) x++; }\n"
	"int kith_plugin_run(const char *in, char *out, size_t n)\n"
	"{ (void)in; (void)out; (void)n; return 0; }\n";

static const char not_agent_so[] = "int helper(void);\nint helper(void) { return 1; }\n";

#define SCRIPT(desc, body) \
	"#!/bin/sh\nif [ \"$1\" = --describe ]; then echo '" desc "'; exit 0; fi\n" body "\n"

static struct plugins *open_dir(const char *dir, bool watch)
{
	struct plugin_options o = { .dir = dir, .timeout_ms = 1500, .describe_timeout_ms = 1000,
				    .max_output = 1000, .watch = watch, .debounce_ms = 50 };
	struct plugins *p = NULL;
	char *why = NULL;

	if (plugins_open(&o, &p, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "plugins_open: %s", why ? why : "?");
	free(why);
	return p;
}

static char *description_of(struct plugins *p, const char *name)
{
	struct plugin_info *a = NULL;
	size_t n = plugins_list(p, &a);
	char *d = NULL;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(a[i].name, name) == 0)
			d = xstrdup(a[i].description);
	}
	plugin_info_free(a, n);
	return d;
}

/* Every child this process started has been reaped. */
static bool no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* ---- loading and calling ---------------------------------------------- */

static void test_examples_load_and_answer(void)
{
	char *dir = dir_in_tmp("examples"), *res = NULL, *why = NULL;
	struct plugin_info *a = NULL;
	struct plugins *p;
	size_t n;

	copy_example("dice.c", dir, 0644);
	copy_example("wordcount", dir, 0755);
	p = open_dir(dir, false);
	REQUIRE(p);
	n = plugins_list(p, &a);
	REQUIRE(n == 2);
	CHECK_STR(a[0].name, "dice");
	CHECK_EQ(a[0].kind, PLUGIN_SHARED);
	CHECK_CONTAINS(a[0].description, "Rolls dice");
	CHECK_STR(a[0].keywords[0], "dice");
	CHECK_STR(a[0].keywords[1], "roll");
	CHECK_STR(a[1].name, "wordcount");
	CHECK_EQ(a[1].kind, PLUGIN_EXEC);
	CHECK_STR(a[1].description, "Counts the words, lines and bytes of a text");
	CHECK_STR(a[1].keywords[0], "wordcount");
	plugin_info_free(a, n);

	CHECK_EQ(plugins_run(p, "dice", "please roll 3d6+2 for me", &res, &why), KITH_OK);
	CHECK(res && strncmp(res, "3d6+2: ", 7) == 0);
	CHECK_CONTAINS(res, " + 2 = ");
	free(res);
	CHECK_EQ(plugins_run(p, "dice", "0d6", &res, &why), KITH_EIO);
	CHECK_CONTAINS(why, "agent dice failed: I roll 1 to 100 dice");
	free(why);
	why = NULL;
	CHECK_EQ(plugins_run(p, "wordcount", "one two three\nfour $(rm -rf ~); `id`", &res, &why),
		 KITH_OK);
	CHECK_STR(res, "8 words, 1 lines, 36 bytes");
	free(res);
	CHECK_EQ(plugins_run(p, "nope", "x", &res, &why), KITH_ENOTFOUND);
	CHECK_CONTAINS(why, "no agent named nope");
	free(why);
	CHECK(no_children());
	plugins_free(p);
	free(dir);
}

static void test_crashes_and_hangs_are_contained(void)
{
	char *dir = dir_in_tmp("contained"), *res = NULL, *why = NULL, *big;
	struct plugins *p;
	int64_t t0;

	REQUIRE(install_so(crash_so, dir, "crash.so"));
	REQUIRE(install_so(hang_so, dir, "hang.so"));
	REQUIRE(install_so(fail_so, dir, "fail.so"));
	REQUIRE(install_so(ECHO_SO("Echoes"), dir, "echo.so"));
	install_script(SCRIPT("Hangs with a child", "sleep 60 &\nwait"), dir, "stuck", 0755);
	install_script(SCRIPT("Fails loudly", "echo 'disk on fire' >&2\nexit 3"), dir, "broken", 0755);
	install_script(SCRIPT("Floods", "head -c 100000 /dev/zero | tr '\\0' a"), dir, "flood", 0755);
	install_script(SCRIPT("Prints junk", "printf 'ok\\033[2J\\001\\377 done\\n\\n'"), dir, "junk",
		       0755);
	p = open_dir(dir, false);
	REQUIRE(p);
	CHECK(plugins_has(p, "crash") && plugins_has(p, "hang") && plugins_has(p, "stuck"));

	CHECK_EQ(plugins_run(p, "crash", "x", &res, &why), KITH_EIO);
	CHECK_STR(why, "agent crash crashed (signal 11)");
	free(why);
	why = NULL;

	t0 = clock_mono_ms();
	CHECK_EQ(plugins_run(p, "hang", "x", &res, &why), KITH_ETIMEDOUT);
	CHECK_STR(why, "agent hang timed out after 1.5 s");
	CHECK_INT(clock_mono_ms() - t0, <, 5000);
	free(why);
	why = NULL;

	t0 = clock_mono_ms();
	CHECK_EQ(plugins_run(p, "stuck", "x", &res, &why), KITH_ETIMEDOUT);
	CHECK_STR(why, "agent stuck timed out after 1.5 s");
	CHECK_INT(clock_mono_ms() - t0, <, 5000);
	free(why);
	why = NULL;

	CHECK_EQ(plugins_run(p, "fail", "unicorns", &res, &why), KITH_EIO);
	CHECK_STR(why, "agent fail failed: no such thing as unicorns");
	free(why);
	why = NULL;
	CHECK_EQ(plugins_run(p, "broken", "x", &res, &why), KITH_EIO);
	CHECK_STR(why, "agent broken failed (exit status 3): disk on fire");
	free(why);
	why = NULL;

	CHECK_EQ(plugins_run(p, "flood", "", &res, &why), KITH_OK);
	CHECK_EQ(strlen(res), 1000);
	free(res);
	CHECK_EQ(plugins_run(p, "junk", "", &res, &why), KITH_OK);
	CHECK_STR(res, "ok[2J\xef\xbf\xbd done");
	free(res);

	/* a large input reaches a shared object whole */
	big = xmalloc(200001);
	memset(big, 'z', 200000);
	big[200000] = '\0';
	CHECK_EQ(plugins_run(p, "echo", big, &res, &why), KITH_OK);
	CHECK_EQ(strlen(res), 1000);   /* the answer is capped at max_output */
	free(res);
	free(big);

	/* and after all that, everything still works and nothing is left over */
	CHECK_EQ(plugins_run(p, "echo", "still here", &res, &why), KITH_OK);
	CHECK_STR(res, "echo: still here");
	free(res);
	CHECK(no_children());
	plugins_free(p);
	free(dir);
}

static void test_refused_at_load(void)
{
	char *dir = dir_in_tmp("refused"), *open_file = test_path("refused/open");
	char *hidden = test_path("refused/.hidden"), *subdir = test_path("refused/subdir.so");
	struct plugin_info *a = NULL;
	struct plugins *p;
	int64_t t0;
	size_t n;

	REQUIRE(install_so(ECHO_SO("Echoes"), dir, "echo.so"));
	REQUIRE(install_so(abi_so, dir, "future.so"));
	REQUIRE(install_so(ctor_crash_so, dir, "boom.so"));
	REQUIRE(install_so(ctor_hang_so, dir, "stuckload.so"));
	REQUIRE(install_so(not_agent_so, dir, "helper.so"));
	REQUIRE(install_so(ECHO_SO("Shouty"), dir, "Loud.so"));
	REQUIRE(install_so(ECHO_SO("Dotted"), dir, "dot.ted.so"));
	install_script(SCRIPT("Spaced", "cat"), dir, "has space", 0755);
	install_script(SCRIPT("Open to all", "cat"), dir, "open", 0755);
	chmod(open_file, 0777);   /* umask-proof */
	install_script(SCRIPT("Second echo", "cat"), dir, "echo.sh", 0755);
	install_script(SCRIPT("Not executable", "cat"), dir, "plain", 0644);
	install_script("#!/bin/sh\nsleep 60\n", dir, "mute", 0755);
	install_script("#!/bin/sh\nexit 0\n", dir, "silent", 0755);
	write_file(hidden, "x", 0755);
	mkdir(subdir, 0755);

	t0 = clock_mono_ms();
	p = open_dir(dir, false);
	REQUIRE(p);
	CHECK_INT(clock_mono_ms() - t0, <, 10000);
	n = plugins_list(p, &a);
	/* one agent is left: "echo.sh" sorts before "echo.so", so the script
	 * takes the name and the shared object is the duplicate */
	CHECK_EQ(n, 1);
	if (n == 1) {
		CHECK_STR(a[0].name, "echo");
		CHECK_EQ(a[0].kind, PLUGIN_EXEC);
	}
	plugin_info_free(a, n);
	CHECK(!plugins_has(p, "future"));
	CHECK(!plugins_has(p, "boom"));
	CHECK(!plugins_has(p, "stuckload"));
	CHECK(!plugins_has(p, "helper"));
	CHECK(!plugins_has(p, "Loud") && !plugins_has(p, "loud"));
	CHECK(!plugins_has(p, "dot.ted") && !plugins_has(p, "dot"));
	CHECK(!plugins_has(p, "open"));
	CHECK(!plugins_has(p, "plain"));
	CHECK(!plugins_has(p, "mute") && !plugins_has(p, "silent"));
	CHECK(!plugins_has(p, "subdir"));
	CHECK(no_children());

	/* a rescan does not describe the unchanged refused files again: it is
	 * quick although two of them take the whole describe timeout */
	t0 = clock_mono_ms();
	plugins_reload(p);
	CHECK_INT(clock_mono_ms() - t0, <, 900);
	plugins_free(p);
	free(open_file);
	free(hidden);
	free(subdir);
	free(dir);
}

/* ---- reloading -------------------------------------------------------- */

struct want {
	const char *name;
	const char *description;   /* NULL = the agent must be gone */
};

static bool holds(struct plugins *p, const struct want *w)
{
	char *d = description_of(p, w->name);
	bool ok = w->description ? d && strcmp(d, w->description) == 0 : d == NULL;

	free(d);
	return ok;
}

/* Wait (without sleeping) for the registry to show `w`. */
static bool wait_for(struct plugins *p, const char *name, const char *description)
{
	struct want w = { name, description };
	int64_t deadline = clock_mono_ms() + WAIT_MS;

	for (;;) {
		uint64_t g = plugins_generation(p);
		int64_t left;

		if (holds(p, &w))
			return true;
		left = deadline - clock_mono_ms();
		if (left <= 0)
			return false;
		(void)plugins_wait_scan(p, g, (int)left);
	}
}

static void test_reload_on_change(void)
{
	char *dir = dir_in_tmp("live"), *so = test_path("live/echo.so");
	char *script = test_path("live/count"), *res = NULL, *why = NULL;
	struct plugins *p = open_dir(dir, true);

	REQUIRE(p);
	CHECK(!plugins_has(p, "echo"));

	/* added */
	REQUIRE(install_so(ECHO_SO("Echoes, first edition"), dir, "echo.so"));
	CHECK(wait_for(p, "echo", "Echoes, first edition"));
	CHECK_EQ(plugins_run(p, "echo", "hi", &res, &why), KITH_OK);
	CHECK_STR(res, "echo: hi");
	free(res);

	/* replaced by a new build */
	REQUIRE(install_so(ECHO_SO("Echoes, second edition"), dir, "echo.so"));
	CHECK(wait_for(p, "echo", "Echoes, second edition"));

	/* an executable added, then rewritten in place */
	install_script(SCRIPT("Counts v1", "wc -c"), dir, "count", 0755);
	CHECK(wait_for(p, "count", "Counts v1"));
	write_file(script, SCRIPT("Counts v2", "wc -c"), 0755);
	CHECK(wait_for(p, "count", "Counts v2"));

	/* removed */
	CHECK_EQ(unlink(so), 0);
	CHECK(wait_for(p, "echo", NULL));
	CHECK_EQ(plugins_run(p, "echo", "hi", &res, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;

	/* the whole directory removed, then made again */
	CHECK_EQ(unlink(script), 0);
	CHECK_EQ(rmdir(dir), 0);
	CHECK(wait_for(p, "count", NULL));
	mkdir(dir, 0755);
	install_script(SCRIPT("Back again", "cat"), dir, "phoenix", 0755);
	CHECK(wait_for(p, "phoenix", "Back again"));
	CHECK(no_children());
	plugins_free(p);
	free(so);
	free(script);
	free(dir);
}

static void test_missing_directory_then_created(void)
{
	char *dir = test_path("later");
	struct plugins *p = open_dir(dir, true);

	REQUIRE(p);
	CHECK(!plugins_has(p, "late"));
	mkdir(dir, 0755);
	install_script(SCRIPT("Arrives late", "cat"), dir, "late", 0755);
	CHECK(wait_for(p, "late", "Arrives late"));
	plugins_free(p);
	free(dir);
}

/* ---- detection over loaded agents ------------------------------------- */

struct classify_seen {
	size_t n;
	const char *answer;
};

static bool fake_classify(void *ud, const struct plugin_candidate *c, size_t n,
			  const char *text, struct plugin_match *out)
{
	struct classify_seen *s = ud;

	(void)c;
	(void)text;
	s->n = n;
	if (!s->answer)
		return false;
	out->agent = xstrdup(s->answer);
	return true;
}

static void test_detection_over_loaded_agents(void)
{
	char *dir = dir_in_tmp("detect");
	struct classify_seen seen = { 0, NULL };
	struct plugin_match m;
	struct plugins *p;

	REQUIRE(install_so(ECHO_SO("Echoes"), dir, "echo.so"));
	copy_example("wordcount", dir, 0755);
	p = open_dir(dir, false);
	REQUIRE(p);

	CHECK(plugins_detect(p, "Use Echo Hello There", NULL, NULL, &m));
	CHECK_STR(m.agent, "echo");
	CHECK_STR(m.input, "Hello There");
	plugin_match_release(&m);
	/* keywords are kept lower-case; "Say Again" matches in any case */
	CHECK(plugins_detect(p, "could you SAY AGAIN what you said", NULL, NULL, &m));
	CHECK_STR(m.agent, "echo");
	CHECK_EQ(m.how, PLUGIN_BY_KEYWORD);
	plugin_match_release(&m);
	/* the hook runs only when nothing else matched, sees every agent, and a
	 * name that is not loaded is ignored */
	CHECK(!plugins_detect(p, "what is the time", fake_classify, &seen, &m));
	CHECK_EQ(seen.n, 2);
	seen.answer = "system_agent";
	CHECK(!plugins_detect(p, "what is the time", fake_classify, &seen, &m));
	CHECK(m.agent == NULL);
	seen.answer = "wordcount";
	CHECK(plugins_detect(p, "how long is this sentence", fake_classify, &seen, &m));
	CHECK_STR(m.agent, "wordcount");
	CHECK_STR(m.input, "how long is this sentence");
	CHECK_EQ(m.how, PLUGIN_BY_MODEL);
	plugin_match_release(&m);
	plugins_free(p);
	free(dir);
}

/* ---- the slash commands ----------------------------------------------- */

static struct config *config_with(const char *approver)
{
	char *dd = xasprintf("KITH_DATA_DIR=%s", test_tmpdir());
	char *ap = approver ? xasprintf("APPROVAL_USER_ID=%s", approver) : NULL;
	const char *envp[] = { dd, ap, NULL };
	struct config *cfg = NULL;
	char *why = NULL;

	if (config_load(&cfg, envp, test_tmpdir(), &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "config: %s", why ? why : "?");
	free(why);
	free(dd);
	free(ap);
	return cfg;
}

static char *command(struct cmd_ctx *ctx, const char *author, const char *text,
		     enum kith_status *rc)
{
	struct inbound *ev = inbound_new(INBOUND_MESSAGE, NULL, "room", author, text);
	char *reply = NULL;

	ev->author_name = xstrdup("Ana");
	ctx->ev = ev;
	*rc = cmd_dispatch(ctx, text, &reply);
	ctx->ev = NULL;
	inbound_free(ev);
	return reply;
}

static void test_commands(void)
{
	char *dir = dir_in_tmp("cmds"), *reply, *db = test_path("cmds.db");
	char *him = test_path("cmds-him"), *why = NULL, *dice = example_source("dice.c");
	struct config *owner_cfg = config_with("42"), *open_cfg = config_with(NULL);
	struct embedder *e = embedder_hash_new(0);
	struct memory_options mo = { .him_dir = him, .embedder = e };
	struct agent_deps deps = { .cfg = owner_cfg, .memory_scope = "global" };
	struct cmd_ctx ctx = { .deps = &deps };
	struct memory_hit *hits = NULL;
	size_t nhits = 0;
	enum kith_status rc;
	bool remembered = false;

	REQUIRE(owner_cfg && open_cfg && dice);
	REQUIRE(store_open(db, &ctx.st, &why) == KITH_OK &&
		store_migrate(ctx.st, NULL, &why) == KITH_OK);
	REQUIRE(memory_open(&mo, &deps.memory, &why) == KITH_OK);
	REQUIRE(install_so(dice, dir, "dice.so"));
	REQUIRE(install_so(crash_so, dir, "crash.so"));
	copy_example("wordcount", dir, 0755);

	/* no registry wired in */
	reply = command(&ctx, "42", "/sel_agents", &rc);
	CHECK_EQ(rc, KITH_EUNSUPPORTED);
	CHECK_STR(reply, "Plugin agents are not loaded here.");
	free(reply);

	ctx.plugins = open_dir(dir, false);
	REQUIRE(ctx.plugins);
	reply = command(&ctx, "7", "/sel_agents", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(reply, "(3):");
	CHECK_CONTAINS(reply, "\n- crash (shared object): Crashes on every call");
	CHECK_CONTAINS(reply, "\n- dice (shared object): Rolls dice");
	CHECK_CONTAINS(reply, "\n- wordcount (executable): Counts the words, lines and bytes");
	free(reply);

	/* the owner runs agents */
	reply = command(&ctx, "42", "/sel_run_agent dice 2d6", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK(reply && strncmp(reply, "[dice] 2d6: ", 12) == 0);
	free(reply);
	reply = command(&ctx, "42", "/sel_run_agent wordcount the quick brown fox", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(reply, "[wordcount] 4 words, 0 lines, 19 bytes");
	free(reply);
	reply = command(&ctx, "42", "/sel_run_agent crash now", &rc);
	CHECK_EQ(rc, KITH_EIO);
	CHECK_STR(reply, "[crash] agent crash crashed (signal 11)");
	free(reply);
	reply = command(&ctx, "42", "/sel_run_agent ghost boo", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(reply, "There is no agent named ghost. /sel_agents lists them.");
	free(reply);
	reply = command(&ctx, "42", "/sel_run_agent", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(reply, "Usage: /sel_run_agent NAME TEXT");
	free(reply);

	/* the successful runs are remembered as actions */
	REQUIRE(memory_recent(deps.memory, ctx.st, "global", 10, &hits, &nhits, &why) == KITH_OK);
	for (size_t i = 0; i < nhits; i++)
		remembered = remembered || strstr(hits[i].text, "kith ran dice for Ana with 2d6");
	CHECK(remembered);
	CHECK_EQ(nhits, 2);
	memory_hits_free(hits, nhits);

	/* anyone else is refused, and nothing runs */
	reply = command(&ctx, "7", "/sel_run_agent dice 2d6", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_STR(reply, "Only the owner may use /sel_run_agent.");
	free(reply);
	reply = command(&ctx, "", "/sel_run_agent dice 2d6", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	free(reply);

	/* no approver configured: nobody, not everybody */
	deps.cfg = open_cfg;
	reply = command(&ctx, "42", "/sel_run_agent dice 2d6", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_CONTAINS(reply, "no owner is configured: set APPROVAL_USER_ID");
	free(reply);
	reply = command(&ctx, "unknown", "/sel_run_agent dice 2d6", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	free(reply);

	/* the table lists both commands */
	reply = command(&ctx, "7", "/commands", &rc);
	CHECK_CONTAINS(reply, "/sel_agents — ");
	CHECK_CONTAINS(reply, "/sel_run_agent NAME TEXT — ");
	free(reply);

	CHECK(no_children());
	plugins_free(ctx.plugins);
	memory_close(deps.memory);
	embedder_free(e);
	store_close(ctx.st);
	config_free(owner_cfg);
	config_free(open_cfg);
	free(dice);
	free(db);
	free(him);
	free(dir);
}

/* Through the whole daemon (`kith chat`): the owner's "use wordcount …"
 * runs the agent and the answer comes back as "[wordcount] …" without a
 * model call; the same words from someone else run nothing. */
static void test_agents_from_messages(void)
{
	char *dir = dir_in_tmp("chat-agents");
	struct fake_llm *fake = fake_llm_start(FAKE_LLM_OLLAMA);
	struct kith_env e;
	struct proc_result r;

	REQUIRE(fake);
	copy_example("wordcount", dir, 0755);
	kith_env_init(&e, "chat-agents");
	kith_env_set(&e, "OLLAMA_API_URL", fake_llm_url(fake));
	kith_env_set(&e, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(&e, "AGENTS_DIR", dir);
	kith_env_set(&e, "USER", "ana");
	kith_env_set(&e, "APPROVAL_USER_ID", "ana");
	/* Asked by name: the agent's own words.  Guessed by the model: the
	 * conversation answers from the agent's result. */
	fake_llm_push(fake, &(struct fake_reply){
		.content = "{\"agent\":\"wordcount\",\"input\":\"the quick brown fox\"}" });
	fake_llm_push(fake, &(struct fake_reply){ .content = "That is four words." });
	REQUIRE(kith_run(&e, "use wordcount the quick brown fox\n"
			     "how many words are in 'the quick brown fox'?\n", &r, "chat", NULL) == 0);
	CHECK_CONTAINS(r.out, "[wordcount] 4 words, 0 lines, 19 bytes");
	CHECK_CONTAINS(r.out, "That is four words.");
	CHECK_EQ(fake_llm_request_count(fake), 2);
	{
		char *body = fake_llm_request_body(fake, 1);

		CHECK_CONTAINS(body, "one of your agents has already run");
		CHECK_CONTAINS(body, "[wordcount] 4 words");
		free(body);
	}
	/* Both runs had the same input: one memory (memories are deduplicated). */
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE text LIKE "
				   "'%ran agent wordcount%'"), 1);
	proc_result_release(&r);
	kith_env_release(&e);

	kith_env_init(&e, "chat-agents-stranger");
	kith_env_set(&e, "OLLAMA_API_URL", fake_llm_url(fake));
	kith_env_set(&e, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(&e, "AGENTS_DIR", dir);
	kith_env_set(&e, "USER", "bob");
	kith_env_set(&e, "APPROVAL_USER_ID", "ana");
	REQUIRE(kith_run(&e, "use wordcount the quick brown fox\n", &r, "chat", NULL) == 0);
	CHECK_CONTAINS(r.out, "only my owner can run my agents");
	CHECK(!strstr(r.out, "[wordcount]"));
	CHECK_EQ(fake_llm_request_count(fake), 2);   /* no more model calls */
	proc_result_release(&r);
	kith_env_release(&e);
	fake_llm_stop(fake);
	free(dir);
}

int main(void)
{
	RUN(test_examples_load_and_answer);
	RUN(test_crashes_and_hangs_are_contained);
	RUN(test_refused_at_load);
	RUN(test_reload_on_change);
	RUN(test_missing_directory_then_created);
	RUN(test_detection_over_loaded_agents);
	RUN(test_commands);
	RUN(test_agents_from_messages);
	return test_summary();
}
