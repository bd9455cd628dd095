/* fuzz_dotenv.c — feed arbitrary bytes to dotenv_parse.
 *
 * Besides "no crash, no sanitizer report", the callback checks what the
 * parser promises: every key it delivers matches [A-Za-z_][A-Za-z0-9_.]*,
 * and an error always comes with a "line N: " reason while success never
 * leaves one behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static void check_pair(const char *key, const char *value, void *ud)
{
	size_t *count = ud;

	if (!((key[0] >= 'A' && key[0] <= 'Z') || (key[0] >= 'a' && key[0] <= 'z') ||
	      key[0] == '_'))
		abort();
	for (const char *p = key + 1; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
			abort();
	(void)strlen(value);   /* must be a terminated string */
	(void)config_lookup(key);
	(*count)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t count = 0;
	char *why = NULL;
	/* A private copy, so reading past `size` is caught by ASan instead of
	 * landing in the fuzzer's larger buffer. */
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	if (dotenv_parse(copy, size, check_pair, &count, &why) != KITH_OK) {
		if (!why || strncmp(why, "line ", 5) != 0)
			abort();
	} else if (why) {
		abort();
	}
	free(why);
	free(copy);
	return 0;
}
