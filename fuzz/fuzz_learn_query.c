/* fuzz_learn_query.c — the LearnAgent's query parser.
 *
 * Input: the util model's reply to "the next search query".
 * knowledge_learn_parse_query() must accept any bytes; a query it returns
 * is never empty, never longer than LEARN_QUERY_MAX, holds no control
 * character and has no leading or trailing space; an error returns no
 * query. */
#include "knowledge/knowledge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = NULL, *why = NULL;
	size_t n;

	if (knowledge_learn_parse_query((const char *)data, size, &q, &why) != KITH_OK) {
		if (q)
			__builtin_trap();
		free(why);
		return 0;
	}
	if (q) {
		n = strlen(q);
		if (!n || n > LEARN_QUERY_MAX || q[0] == ' ' || q[n - 1] == ' ')
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)q[i] < 0x20 || q[i] == 0x7f)
				__builtin_trap();
	}
	free(q);
	free(why);
	return 0;
}
