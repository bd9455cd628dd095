/* fuzz_extraction.c — the knowledge extraction's structured-reply parser
 * and the name filter, TCR and key functions it feeds.
 *
 * Input: the model's reply, any bytes.  Every parsed name and fact goes
 * through the pure text functions, which must neither crash nor leak. */
#include "knowledge/knowledge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct knowledge_reply r;

	if (knowledge_parse_reply((const char *)data, size, &r, NULL) == KITH_OK) {
		for (size_t i = 0; i < r.n; i++) {
			char *k = knowledge_name_key(r.ents[i].name);
			char *n = knowledge_name_norm(r.ents[i].name);

			(void)knowledge_name_valid(r.ents[i].name);
			(void)knowledge_tcr_pass(r.ents[i].name, r.ents[i].tagline, 0.6);
			if (r.ents[i].nfacts > KX_MAX_FACTS || strlen(n) > KX_MAX_NAME)
				__builtin_trap();
			for (size_t f = 0; f < r.ents[i].nfacts; f++)
				free(knowledge_fact_norm(r.ents[i].facts[f]));
			free(k);
			free(n);
		}
		if (r.n > KX_MAX_ENTITIES)
			__builtin_trap();
	}
	knowledge_reply_release(&r);
	return 0;
}
