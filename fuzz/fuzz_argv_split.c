/* fuzz_argv_split.c — the system agent's word splitter on arbitrary input.
 *
 * Whatever system_argv_split() accepts must be a non-empty, NULL-terminated
 * word list with no NUL inside the words' bytes beyond their ends, no more
 * than the word cap, and — the property that matters — quoting it back with
 * system_shell_quote() and splitting that again must give the same words:
 * the quoted line means exactly the argv to any POSIX shell, so a word can
 * never turn into an operator on its way to tmux.  Refusals must say why. */
#include "tools/system_agent.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **argv = NULL, **again = NULL, *why = NULL, *line;
	size_t argc = 0, argc2 = 0;

	if (system_argv_split((const char *)data, size, &argv, &argc, &why) != KITH_OK) {
		if (argv || !why)
			abort();
		free(why);
		return 0;
	}
	if (why || argc == 0 || argc >= SYSTEM_ARGV_MAX_WORDS || argv[argc] != NULL)
		abort();
	line = system_shell_quote((const char *const *)argv);
	/* Inside single quotes nothing is syntax, so the re-split may fail
	 * only because quoting made the line longer than the input cap. */
	if (system_argv_split(line, strlen(line), &again, &argc2, &why) == KITH_OK) {
		if (argc2 != argc)
			abort();
		for (size_t i = 0; i < argc; i++)
			if (strcmp(argv[i], again[i]) != 0)
				abort();
		system_argv_free(again);
	} else {
		if (strlen(line) <= SYSTEM_ARGV_MAX_INPUT)
			abort();
		free(why);
	}
	free(line);
	system_argv_free(argv);
	return 0;
}
