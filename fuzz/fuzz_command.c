/* fuzz_command.c — the slash-command line on arbitrary input.
 *
 * cmd_parse_line must split any text into a lower-cased name without
 * blanks and trimmed arguments (or refuse it), and the command lookup must
 * cope with whatever name comes out.  Then the whole dispatcher runs on the
 * text for the commands that need neither a model nor a network — owner
 * checks, /config's key and value validation, the numbering of /memory,
 * /follow and friends without a database — and must always answer in
 * words, never crash. */
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;

/* Commands the fuzzer may run for real (no model, no network, no disk). */
static const char *const offline[] = { "commands", "config", "memory", "forget", "learn",
				       "follow", "unfollow", "events", "test", NULL };

static bool runs_offline(const char *name)
{
	const struct cmd_entry *c = cmd_find(name);

	for (int i = 0; c && offline[i]; i++)
		if (strcmp(c->name, offline[i]) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *name = NULL, *args = NULL, *reply = NULL;

	if (!cfg) {
		static const char *const env[] = { "APPROVAL_USER_ID=42",
						   "KITH_DATA_DIR=/nonexistent-kith-fuzz", NULL };
		char *why = NULL;

		log_set_stderr_level(LOG_OFF);
		if (config_load(&cfg, env, "/nonexistent-kith-fuzz", &why) != KITH_OK)
			abort();
	}
	if (size > 4096)
		return 0;
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (cmd_parse_line(text, &name, &args)) {
		size_t n = strlen(args);

		for (const char *p = name; *p; p++)
			if (isspace((unsigned char)*p) || isupper((unsigned char)*p))
				abort();
		if (n && (isspace((unsigned char)args[0]) || isspace((unsigned char)args[n - 1])))
			abort();
		if (runs_offline(name)) {
			struct agent_deps deps = { .cfg = cfg };
			struct inbound ev = { .conversation = "fuzz", .author_id = "42",
					      .text = text };
			struct cmd_ctx ctx = { .deps = &deps, .ev = &ev };

			(void)cmd_dispatch(&ctx, text, &reply);
			if (!reply)
				abort();
		}
	} else if (cmd_is_command(text)) {
		abort();
	}
	free(reply);
	free(name);
	free(args);
	free(text);
	return 0;
}
