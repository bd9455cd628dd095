/* tmuxd.c — `kith tmuxd [--host H] [--port N]`: the tmux control API.
 *
 * A remote shell for kith's owner (and the system agent), so the start-up
 * is strict: no TMUX_CONTROL_TOKEN, no server (exit 2); the port comes from
 * TMUX_CONTROL_URL, the host from it only when loopback.  Session shells
 * get a short list of this process's variables (PATH, HOME, USER, LANG …)
 * and nothing else: kith's tokens and keys live in its environment and must
 * not be one `env` away. */
#include "cli/cli.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "tools/sysaccess.h"
#include "tools/tmux.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const passed_env[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", NULL,
};

int cli_listen_args(const char *cmd, int argc, char **argv, struct cli_listen *a)
{
	a->host = NULL;
	a->port = -1;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		long p;

		if (strcmp(argv[i], "--host") != 0 && strcmp(argv[i], "--port") != 0) {
			fprintf(stderr, "kith %s: unknown option %s (usage: kith %s [--host H] "
				"[--port N])\n", cmd, argv[i], cmd);
			return EXIT_USAGE;
		}
		if (!v) {
			fprintf(stderr, "kith %s: %s needs a value\n", cmd, argv[i]);
			return EXIT_USAGE;
		}
		if (strcmp(argv[i], "--host") == 0) {
			a->host = v;
		} else {
			p = strtol(v, &end, 10);
			if (!*v || *end || p < 0 || p > 65535) {
				fprintf(stderr, "kith %s: --port expects 0..65535, got '%s'\n", cmd, v);
				return EXIT_USAGE;
			}
			a->port = (int)p;
		}
		i++;
	}
	return 0;
}

int cli_tmuxd(int argc, char **argv)
{
	struct cli_listen a;
	struct app app;
	struct tmuxd_config tc = { 0 };
	struct tmuxd *d = NULL;
	const char *env[16];
	char *host = NULL, *note = NULL, *why = NULL;
	size_t n = 0;
	sigset_t signals;
	int rc, sig = 0;

	rc = cli_listen_args("tmuxd", argc, argv, &a);
	if (rc)
		return rc;
	rc = app_init(&app, 0);
	if (rc)
		return rc;
	if (!config_str(app.cfg, CFG_TMUX_CONTROL_TOKEN)) {
		fprintf(stderr, "kith: tmuxd is a remote shell and will not start without a token: "
			"set TMUX_CONTROL_TOKEN (clients send it as a bearer token)\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (sysaccess_listen_addr(config_str(app.cfg, CFG_TMUX_CONTROL_URL), "TMUX_CONTROL_URL",
				  TMUX_DEFAULT_PORT, a.host, a.port, &host, &tc.port, &note,
				  &why) != KITH_OK) {
		fprintf(stderr, "kith: invalid configuration: %s\n", why);
		rc = EXIT_USAGE;
		goto out;
	}
	if (note)
		log_info("tmuxd", "%s", note);
	for (size_t i = 0; passed_env[i]; i++) {
		const char *v = getenv(passed_env[i]);

		if (v && n < 15)
			env[n++] = xasprintf("%s=%s", passed_env[i], v);
	}
	env[n] = NULL;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	tc.host = host;
	tc.token = config_str(app.cfg, CFG_TMUX_CONTROL_TOKEN);
	tc.tmux.tmpdir = getenv("TMUX_TMPDIR");
	tc.tmux.session_env = env;
	if (tmuxd_start(&tc, &d, &why) != KITH_OK) {
		fprintf(stderr, "kith: tmuxd: %s\n", why);
		rc = 1;
		goto out;
	}
	printf("tmuxd serving on http://%s:%d (tmux socket %s)\n", host, tmuxd_port(d),
	       tmuxd_socket_path(d));
	fflush(stdout);
	log_info("tmuxd", "serving on %s:%d, tmux socket %s (token required)", host,
		 tmuxd_port(d), tmuxd_socket_path(d));
	sigwait(&signals, &sig);
	log_info("tmuxd", "%s received; ending the tmux sessions and stopping",
		 sig == SIGINT ? "SIGINT" : "SIGTERM");
	tmuxd_stop(d);
out:
	for (size_t i = 0; i < n; i++)
		free((char *)env[i]);
	free(host);
	free(note);
	free(why);
	app_release(&app);
	return rc;
}
