/* systest.c — start the system-access servers and probe where they listen. */
#include "support/systest.h"
#include "support/test.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int sys_server_start(struct him_server *s, struct kith_env *e, const char *sub,
		     const char **failure, char **err)
{
	const char *argv[] = { kith_bin(), sub, "--port", "0", NULL };
	struct proc_opts o = { 0 };
	int64_t deadline = clock_mono_ms() + 20000;
	struct timespec step = { 0, 5 * 1000000L };

	memset(s, 0, sizeof(*s));
	if (err)
		*err = NULL;
	o.argv = argv;
	o.env = e->vars;
	s->proc = proc_start(&o);
	if (!s->proc) {
		*failure = "cannot start kith";
		return -1;
	}
	while (clock_mono_ms() < deadline) {
		FILE *f = fopen(proc_stdout_path(s->proc), "r");
		char line[512] = "";
		char *at;

		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		at = strstr(line, "http://");
		if (at && strchr(at, '\n')) {
			char *colon = strchr(at + 7, ':');
			int port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;

			snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", port);
			return 0;
		}
		if (kill(proc_pid(s->proc), 0) != 0)
			break;
		nanosleep(&step, NULL);
	}
	{
		struct proc_result r;

		if (proc_wait(s->proc, 5000, &r) == 0) {
			if (err)
				*err = xstrdup(r.err ? r.err : "");
			proc_result_release(&r);
		} else {
			proc_kill(s->proc);
		}
		s->proc = NULL;
	}
	*failure = "kith did not announce its address";
	return -1;
}

int sys_reachable_off_loopback(int port)
{
	struct ifaddrs *ifs = NULL;
	int result = -1;

	if (getifaddrs(&ifs) != 0)
		return -1;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		struct sockaddr_in a;
		int fd;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		memcpy(&a, i->ifa_addr, sizeof(a));
		if ((ntohl(a.sin_addr.s_addr) >> 24) == 127)
			continue;
		a.sin_port = htons((uint16_t)port);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			result = 1;
		} else if (result < 0) {
			result = 0;
		}
		close(fd);
		if (result == 1)
			break;
	}
	freeifaddrs(ifs);
	return result;
}
