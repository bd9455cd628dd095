/* hostexec.c — `kith hostexec [--host H] [--port N]`: the host-exec API.
 *
 * Runs only what HOST_EXEC_WHITELIST names (empty = nothing), as argument
 * vectors, for callers holding HOST_EXEC_TOKEN; refuses to start without
 * the token or with a whitelist it cannot honour exactly ("*", command
 * lines, relative paths) — exit 2 with the reason.  The port comes from
 * HOST_EXEC_URL, the host only when that URL's host is loopback (its
 * default, host.docker.internal, is where a container reaches the host; the
 * server still listens on 127.0.0.1 unless --host says otherwise). */
#include "cli/cli.h"
#include "config/config.h"
#include "core/log.h"
#include "tools/hostexec.h"
#include "tools/sysaccess.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_hostexec(int argc, char **argv)
{
	struct cli_listen a;
	struct app app;
	struct hostexec_config hc = { 0 };
	struct hostexec_server *s = NULL;
	char *host = NULL, *note = NULL, *why = NULL;
	sigset_t signals;
	enum kith_status st;
	int rc, sig = 0;

	rc = cli_listen_args("hostexec", argc, argv, &a);
	if (rc)
		return rc;
	rc = app_init(&app, 0);
	if (rc)
		return rc;
	if (!config_str(app.cfg, CFG_HOST_EXEC_TOKEN)) {
		fprintf(stderr, "kith: hostexec will not start without a token: set "
			"HOST_EXEC_TOKEN (clients send it as a bearer token)\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (sysaccess_listen_addr(config_str(app.cfg, CFG_HOST_EXEC_URL), "HOST_EXEC_URL",
				  HOSTEXEC_DEFAULT_PORT, a.host, a.port, &host, &hc.port, &note,
				  &why) != KITH_OK) {
		fprintf(stderr, "kith: invalid configuration: %s\n", why);
		rc = EXIT_USAGE;
		goto out;
	}
	if (note)
		log_info("hostexec", "%s", note);
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	hc.host = host;
	hc.token = config_str(app.cfg, CFG_HOST_EXEC_TOKEN);
	hc.whitelist = config_list(app.cfg, CFG_HOST_EXEC_WHITELIST);
	hc.default_cwd = getenv("HOME");
	st = hostexec_server_start(&hc, &s, &why);
	if (st != KITH_OK) {
		fprintf(stderr, "kith: %s%s\n", st == KITH_ECONFIG ? "invalid configuration: " :
			"hostexec: ", why);
		rc = st == KITH_ECONFIG ? EXIT_USAGE : 1;
		goto out;
	}
	printf("hostexec serving on http://%s:%d\n", host, hostexec_server_port(s));
	fflush(stdout);
	log_info("hostexec", "serving on %s:%d (token required)", host, hostexec_server_port(s));
	sigwait(&signals, &sig);
	log_info("hostexec", "%s received; stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	hostexec_server_stop(s);
out:
	free(host);
	free(note);
	free(why);
	app_release(&app);
	return rc;
}
