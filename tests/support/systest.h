/* systest.h — starting `kith tmuxd` / `kith hostexec` from integration
 * tests; requests go through himtest.h's him_http helpers (they need only
 * the base URL and the token). */
#ifndef KITH_SYSTEST_H
#define KITH_SYSTEST_H

#include "support/himtest.h"

/* Start `kith SUB --port 0` with the env and wait (deadline 20 s) for it to
 * print its address.  Returns 0, or -1 with *failure set (the process is
 * reaped; its stderr, if it exited, is in *err, heap, may be NULL). */
int sys_server_start(struct him_server *s, struct kith_env *e, const char *sub,
		     const char **failure, char **err);

/* Is something accepting TCP connections on a non-loopback address of this
 * machine at `port`?  1 yes, 0 no, -1 no such address to try. */
int sys_reachable_off_loopback(int port);

#endif
