/* embed_int.h — shared between the embedder files of llm/. */
#ifndef KITH_LLM_EMBED_INT_H
#define KITH_LLM_EMBED_INT_H

#include <stddef.h>

#define EMBED_HASH_ID "hash-v1"

/* The hashing embedder (embed_hash.c): out[dim] receives the L2-normalised
 * signed feature-hashing vector of text[0..len) (all zeros for a text with
 * no features).  Pure and deterministic across machines. */
void embed_hash_text(const char *text, size_t len, int dim, float *out);

#endif
