/* fuzz_hostexec.c — the host-exec request body parser on arbitrary bytes.
 *
 * Besides "no crash, no sanitizer report, no leak": an error is
 * KITH_EINVAL with a "field: reason" why; a success has 1..MAX arguments,
 * a non-empty argv[0], no NUL inside any argument (argc strings, then a
 * NULL), a timeout within bounds and an absolute cwd or none.  Whatever
 * parses is then put to a fixed allow-list, which must either refuse it
 * or name a file for exactly a listed program. */
#include "tools/hostexec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const listed[] = { "echo", "/bin/true", NULL };
	static struct hostexec_policy *policy;
	struct hostexec_request r;
	char *why = NULL, *path = NULL;
	enum kith_status st;

	if (!policy && hostexec_policy_new(listed, &policy, NULL) != KITH_OK)
		abort();
	st = hostexec_parse_request((const char *)data, size, &r, &why);
	if (st) {
		if (st != KITH_EINVAL || !why || !strchr(why, ':'))
			abort();
		free(why);
		hostexec_request_release(&r);
		return 0;
	}
	if (why || r.argc < 1 || r.argc > HOSTEXEC_MAX_ARGS || !r.argv[0][0] || r.argv[r.argc])
		abort();
	for (size_t i = 0; i < r.argc; i++)
		if (strlen(r.argv[i]) > HOSTEXEC_MAX_ARG_BYTES)
			abort();
	if (r.timeout_ms < 1 || r.timeout_ms > HOSTEXEC_MAX_TIMEOUT_S * 1000)
		abort();
	if (r.cwd && r.cwd[0] != '/')
		abort();
	st = hostexec_policy_resolve(policy, r.argv[0], &path, &why);
	if (st == KITH_OK && strcmp(r.argv[0], "echo") != 0 && strcmp(r.argv[0], "/bin/true") != 0)
		abort();
	if (st != KITH_OK && (path || !why))
		abort();
	free(path);
	free(why);
	hostexec_request_release(&r);
	return 0;
}
