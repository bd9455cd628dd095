/* blake3.h — the BLAKE3 hash (portable C; no packaged C library exists).
 *
 * Checked against the official test vectors (tests/data/) and Debian's
 * b3sum.  Incremental: init, update any number of times, finalize to any
 * output length (extendable output). */
#ifndef KITH_HIM_BLAKE3_H
#define KITH_HIM_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE3_KEY_LEN 32
#define BLAKE3_OUT_LEN 32
#define BLAKE3_BLOCK_LEN 64
#define BLAKE3_CHUNK_LEN 1024
#define BLAKE3_MAX_DEPTH 54

struct blake3 {
	uint32_t key[8];
	uint32_t cv_stack[BLAKE3_MAX_DEPTH + 1][8];
	uint8_t cv_stack_len;
	/* the chunk being filled */
	uint32_t chunk_cv[8];
	uint64_t chunk_counter;
	uint8_t block[BLAKE3_BLOCK_LEN];
	uint8_t block_len;
	uint8_t blocks_compressed;
	uint8_t flags;
};

void blake3_init(struct blake3 *h);
void blake3_init_keyed(struct blake3 *h, const uint8_t key[BLAKE3_KEY_LEN]);
void blake3_init_derive_key(struct blake3 *h, const char *context);
void blake3_update(struct blake3 *h, const void *data, size_t len);
/* Write out_len bytes of output (any length); the state is not changed, so
 * more input may follow. */
void blake3_finalize(const struct blake3 *h, uint8_t *out, size_t out_len);

/* One-shot: 32-byte digest as 64 lowercase hex chars + NUL. */
void blake3_hex(const void *data, size_t len, char out[2 * BLAKE3_OUT_LEN + 1]);
/* Hex-encode n bytes (out has 2n+1 bytes). */
void blake3_to_hex(const uint8_t *bytes, size_t n, char *out);

#endif
