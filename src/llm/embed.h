/* embed.h — embedders: turn texts into L2-normalised vectors.
 *
 * Three kinds behind one object: the Ollama (/api/embed) or OpenAI-compatible
 * (/v1/embeddings) model configured for the embedding role, reached through
 * llm_embed(); and a built-in deterministic hashing embedder (word tokens,
 * word bigrams, character n-grams; signed feature hashing; L2-normalised)
 * used when no model is configured, so memory works offline.
 *
 * An embedder's id names the model and its dimension is fixed once known
 * (a model's dimension is learnt from its first answer), so callers can keep
 * one index per (id, dim) and never mix vectors of different models.
 * Thread-safe. */
#ifndef KITH_LLM_EMBED_H
#define KITH_LLM_EMBED_H

#include <stddef.h>

#include "core/cancel.h"
#include "core/status.h"

struct llm_client;
struct config;

#define EMBED_HASH_DIM 384          /* the hashing embedder's default dimension */
#define EMBED_BATCH_MAX 64          /* texts per request to a model */
#define EMBED_TEXT_MAX 8000         /* bytes of a text that are embedded */

struct embedder;

/* The hashing embedder ("hash-v1" of dim dims, 16..4096; 0 = EMBED_HASH_DIM). */
struct embedder *embedder_hash_new(int dims);

/* The model of the embedding role of `c` (borrowed; must outlive the
 * embedder).  *why when the client has no embedding model. */
enum kith_status embedder_llm_new(struct llm_client *c, struct embedder **out,
				  char **why) KITH_MUST_CHECK;

/* The configured embedder: the model when OLLAMA_EMBEDDING_MODEL or
 * MEMORY_EMBEDDING_MODEL is set (c must then be non-NULL), else hashing. */
enum kith_status embedder_from_config(const struct config *cfg, struct llm_client *c,
				      struct embedder **out, char **why) KITH_MUST_CHECK;

void embedder_free(struct embedder *e);

/* "hash-v1", "ollama/nomic-embed-text", "openai/text-embedding-3-small". */
const char *embedder_id(const struct embedder *e);
/* Dimension; 0 for a model not asked yet (embedder_probe learns it). */
int embedder_dim(struct embedder *e);
/* Learn a model's dimension by embedding a short text. */
enum kith_status embedder_probe(struct embedder *e, char **why) KITH_MUST_CHECK;

/* Embed n texts into out[n*dim] (dim = embedder_dim after the call; for a
 * model not probed yet, call embedder_probe first).  Texts are cut at
 * EMBED_TEXT_MAX bytes on a UTF-8 boundary; requests go in batches of
 * EMBED_BATCH_MAX with the LLM layer's retries.  Vectors are L2-normalised.
 * A model that answers with another dimension than before is KITH_EPROTO. */
enum kith_status embedder_embed(struct embedder *e, const char *const *texts, size_t n,
				float *out, const struct cancel *cancel, char **why) KITH_MUST_CHECK;

#endif
