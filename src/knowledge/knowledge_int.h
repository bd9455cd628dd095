/* knowledge_int.h — what the knowledge pipeline's own files share. */
#ifndef KITH_KNOWLEDGE_INT_H
#define KITH_KNOWLEDGE_INT_H

extern const char kx_prompt_full[];   /* full mode: new and known entities */
extern const char kx_prompt_known[];  /* known-only mode: facts for known entities */

#endif
