/* blake3.c — BLAKE3, written from the specification (portable C, no SIMD).
 *
 * HIM names tiles by content, so the hash must be bit-exact with every other
 * BLAKE3 (b3sum, the Rust crate); speed is secondary.  The structure follows
 * the specification's own layering, one level per section below:
 *
 *   compression function   one 64-byte block into a 16-word state
 *   chunk state            up to 16 blocks (1 KiB) chained into a chunk CV
 *   CV stack               chunk CVs merged pairwise into the binary tree
 *   output / XOF           the root node compressed again and again with an
 *                          incrementing counter, for any output length
 *
 * The tree is built incrementally with a stack of chaining values (CVs), so
 * memory is constant however long the input.  The one subtle rule: a chunk
 * (or parent) may only be finalised once we know it is not the root, i.e.
 * once more input has arrived; the root is compressed with the ROOT flag. */
#include "him/blake3.h"

#include <string.h>

/* Domain-separation flags, OR-ed into the compression function's `d` word. */
enum {
	CHUNK_START = 1 << 0,
	CHUNK_END = 1 << 1,
	PARENT = 1 << 2,
	ROOT = 1 << 3,
	KEYED_HASH = 1 << 4,
	DERIVE_KEY_CONTEXT = 1 << 5,
	DERIVE_KEY_MATERIAL = 1 << 6,
};

/* The initial CV (the same constants as SHA-256's IV); also the key of the
 * unkeyed modes. */
static const uint32_t IV[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
};

/* Message word order for each of the 7 rounds.  The specification permutes
 * the message words between rounds with
 *   P = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};
 * row r here is P applied r times, so rounds index the block directly
 * instead of shuffling it. */
static const uint8_t SCHEDULE[7][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8 },
	{ 3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1 },
	{ 10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6 },
	{ 12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4 },
	{ 9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7 },
	{ 11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13 },
};

static inline uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void store32(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w;
	p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16);
	p[3] = (uint8_t)(w >> 24);
}

static inline uint32_t rotr32(uint32_t w, unsigned c)
{
	return (w >> c) | (w << (32 - c));
}

/* ---- compression function ------------------------------------------------ */

/* The quarter-round "G" (ChaCha's, with BLAKE2s's rotations 16, 12, 8, 7):
 * mixes two message words into one column or diagonal of the state. */
static inline void g(uint32_t s[16], int a, int b, int c, int d, uint32_t mx, uint32_t my)
{
	s[a] = s[a] + s[b] + mx;
	s[d] = rotr32(s[d] ^ s[a], 16);
	s[c] = s[c] + s[d];
	s[b] = rotr32(s[b] ^ s[c], 12);
	s[a] = s[a] + s[b] + my;
	s[d] = rotr32(s[d] ^ s[a], 8);
	s[c] = s[c] + s[d];
	s[b] = rotr32(s[b] ^ s[c], 7);
}

/* Compress one block.  The state is a 4x4 matrix of words:
 *
 *   cv[0..3]   cv[4..7]   IV[0..3]   counter lo, counter hi, block_len, flags
 *
 * seven rounds each mix the columns, then the diagonals.  The 16-word result
 * is  s[i] ^= s[i+8]  (the new CV, words 0..7) and  s[i+8] ^= cv[i]  (the
 * extra words only the XOF uses, so a root block yields 64 bytes). */
static void compress(const uint32_t cv[8], const uint8_t block[BLAKE3_BLOCK_LEN],
		     uint64_t counter, uint32_t block_len, uint32_t flags, uint32_t out[16])
{
	uint32_t m[16], s[16];

	for (int i = 0; i < 16; i++)
		m[i] = load32(block + 4 * i);
	memcpy(s, cv, 8 * sizeof(uint32_t));
	memcpy(s + 8, IV, 4 * sizeof(uint32_t));
	s[12] = (uint32_t)counter;
	s[13] = (uint32_t)(counter >> 32);
	s[14] = block_len;
	s[15] = flags;

	for (int r = 0; r < 7; r++) {
		const uint8_t *k = SCHEDULE[r];

		g(s, 0, 4, 8, 12, m[k[0]], m[k[1]]);
		g(s, 1, 5, 9, 13, m[k[2]], m[k[3]]);
		g(s, 2, 6, 10, 14, m[k[4]], m[k[5]]);
		g(s, 3, 7, 11, 15, m[k[6]], m[k[7]]);
		g(s, 0, 5, 10, 15, m[k[8]], m[k[9]]);
		g(s, 1, 6, 11, 12, m[k[10]], m[k[11]]);
		g(s, 2, 7, 8, 13, m[k[12]], m[k[13]]);
		g(s, 3, 4, 9, 14, m[k[14]], m[k[15]]);
	}
	for (int i = 0; i < 8; i++) {
		out[i] = s[i] ^ s[i + 8];
		out[i + 8] = s[i + 8] ^ cv[i];
	}
}

/* Compress in place: the chaining value becomes the first 8 output words. */
static void compress_cv(uint32_t cv[8], const uint8_t block[BLAKE3_BLOCK_LEN],
			uint64_t counter, uint32_t block_len, uint32_t flags)
{
	uint32_t out[16];

	compress(cv, block, counter, block_len, flags, out);
	memcpy(cv, out, 8 * sizeof(uint32_t));
}

/* ---- output nodes ---------------------------------------------------------- */

/* A node's last compression, held back until we know whether the node is the
 * root: as a child it yields a CV (8 words); as the root it is compressed
 * once per 64 output bytes with ROOT set. */
struct output {
	uint32_t cv[8];
	uint8_t block[BLAKE3_BLOCK_LEN];
	uint64_t counter;   /* chunk index (a chunk's), 0 (a parent's) */
	uint8_t block_len;
	uint8_t flags;
};

static void output_cv(const struct output *o, uint32_t cv[8])
{
	memcpy(cv, o->cv, sizeof(o->cv));
	compress_cv(cv, o->block, o->counter, o->block_len, o->flags);
}

/* The XOF: output block i is the root compressed with counter i (in place
 * of the chunk counter), so any length comes out and every prefix of a long
 * output equals the shorter output. */
static void output_root_bytes(const struct output *o, uint8_t *out, size_t out_len)
{
	uint64_t counter = 0;

	while (out_len > 0) {
		uint32_t words[16];
		uint8_t bytes[BLAKE3_BLOCK_LEN];
		size_t n = out_len < sizeof(bytes) ? out_len : sizeof(bytes);

		compress(o->cv, o->block, counter++, o->block_len, o->flags | ROOT, words);
		for (int i = 0; i < 16; i++)
			store32(bytes + 4 * i, words[i]);
		memcpy(out, bytes, n);
		out += n;
		out_len -= n;
	}
}

/* A parent node: its block is the two child CVs, left then right. */
static void parent_output(const uint32_t left[8], const uint32_t right[8],
			  const uint32_t key[8], uint8_t flags, struct output *o)
{
	memcpy(o->cv, key, sizeof(o->cv));
	for (int i = 0; i < 8; i++) {
		store32(o->block + 4 * i, left[i]);
		store32(o->block + 32 + 4 * i, right[i]);
	}
	o->counter = 0;
	o->block_len = BLAKE3_BLOCK_LEN;
	o->flags = flags | PARENT;
}

/* ---- chunk state -----------------------------------------------------------
 *
 * A chunk is up to 16 blocks chained through chunk_cv, starting from the key;
 * every block of the chunk is compressed with the chunk's index as counter,
 * the first with CHUNK_START and the last with CHUNK_END.  The last block
 * (which may be partial, or empty for empty input) stays in h->block until
 * chunk_output() because it is compressed differently if the chunk is the
 * root. */

static size_t chunk_len(const struct blake3 *h)
{
	return (size_t)h->blocks_compressed * BLAKE3_BLOCK_LEN + h->block_len;
}

static uint8_t chunk_start_flag(const struct blake3 *h)
{
	return h->blocks_compressed == 0 ? CHUNK_START : 0;
}

static void chunk_reset(struct blake3 *h, uint64_t chunk_counter)
{
	memcpy(h->chunk_cv, h->key, sizeof(h->chunk_cv));
	h->chunk_counter = chunk_counter;
	memset(h->block, 0, sizeof(h->block));
	h->block_len = 0;
	h->blocks_compressed = 0;
}

/* Feed at most the rest of the chunk (the caller limits len).  A full buffered
 * block is only compressed when more bytes follow, so the chunk's final block
 * is always still in h->block. */
static void chunk_update(struct blake3 *h, const uint8_t *in, size_t len)
{
	while (len > 0) {
		size_t take;

		if (h->block_len == BLAKE3_BLOCK_LEN) {
			compress_cv(h->chunk_cv, h->block, h->chunk_counter,
				    BLAKE3_BLOCK_LEN, h->flags | chunk_start_flag(h));
			h->blocks_compressed++;
			h->block_len = 0;
			memset(h->block, 0, sizeof(h->block));
		}
		/* Whole blocks straight from the input, skipping the copy, as long
		 * as at least one byte remains to be the chunk's last block. */
		while (h->block_len == 0 && len > BLAKE3_BLOCK_LEN) {
			compress_cv(h->chunk_cv, in, h->chunk_counter, BLAKE3_BLOCK_LEN,
				    h->flags | chunk_start_flag(h));
			h->blocks_compressed++;
			in += BLAKE3_BLOCK_LEN;
			len -= BLAKE3_BLOCK_LEN;
		}
		take = BLAKE3_BLOCK_LEN - h->block_len;
		if (take > len)
			take = len;
		memcpy(h->block + h->block_len, in, take);
		h->block_len = (uint8_t)(h->block_len + take);
		in += take;
		len -= take;
	}
}

static void chunk_output(const struct blake3 *h, struct output *o)
{
	memcpy(o->cv, h->chunk_cv, sizeof(o->cv));
	memcpy(o->block, h->block, sizeof(o->block));   /* zero-padded */
	o->counter = h->chunk_counter;
	o->block_len = h->block_len;
	o->flags = h->flags | chunk_start_flag(h) | CHUNK_END;
}

/* ---- the CV stack ------------------------------------------------------------
 *
 * The tree's left subtrees are always complete powers of two, so the
 * completed-but-unmerged subtrees are exactly the 1 bits of the number of
 * chunks so far, largest at the bottom of the stack.  After the chunk that
 * makes the total `total_chunks`, merge once per trailing 0 bit of
 * total_chunks (each is a pair of equal-sized subtrees that just completed),
 * then push.  Merges are never deferred past the next chunk, yet none is
 * done too early: a completed chunk is only pushed once more input exists,
 * so no node on the stack can be the root. */
static void push_chunk_cv(struct blake3 *h, const uint32_t cv_in[8], uint64_t total_chunks)
{
	uint32_t cv[8];

	memcpy(cv, cv_in, sizeof(cv));
	while ((total_chunks & 1) == 0) {
		struct output parent;

		h->cv_stack_len--;
		parent_output(h->cv_stack[h->cv_stack_len], cv, h->key, h->flags, &parent);
		output_cv(&parent, cv);
		total_chunks >>= 1;
	}
	memcpy(h->cv_stack[h->cv_stack_len], cv, sizeof(cv));
	h->cv_stack_len++;
}

/* ---- public interface ------------------------------------------------------ */

static void init_with(struct blake3 *h, const uint32_t key[8], uint8_t flags)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->key, key, sizeof(h->key));
	h->flags = flags;
	chunk_reset(h, 0);
}

void blake3_init(struct blake3 *h)
{
	init_with(h, IV, 0);
}

void blake3_init_keyed(struct blake3 *h, const uint8_t key[BLAKE3_KEY_LEN])
{
	uint32_t words[8];

	for (int i = 0; i < 8; i++)
		words[i] = load32(key + 4 * i);
	init_with(h, words, KEYED_HASH);
}

/* Key derivation is two hashes: the context string is hashed (flag
 * DERIVE_KEY_CONTEXT) into a context key, which then keys the hash of the
 * key material (flag DERIVE_KEY_MATERIAL) that the caller feeds in. */
void blake3_init_derive_key(struct blake3 *h, const char *context)
{
	struct blake3 ctx;
	uint8_t context_key[BLAKE3_KEY_LEN];
	uint32_t words[8];

	init_with(&ctx, IV, DERIVE_KEY_CONTEXT);
	blake3_update(&ctx, context, strlen(context));
	blake3_finalize(&ctx, context_key, sizeof(context_key));
	for (int i = 0; i < 8; i++)
		words[i] = load32(context_key + 4 * i);
	init_with(h, words, DERIVE_KEY_MATERIAL);
}

void blake3_update(struct blake3 *h, const void *data, size_t len)
{
	const uint8_t *in = data;

	while (len > 0) {
		size_t take;

		/* The current chunk is full and more input exists, so it is not the
		 * root: finish it and fold its CV into the tree. */
		if (chunk_len(h) == BLAKE3_CHUNK_LEN) {
			struct output o;
			uint32_t cv[8];
			uint64_t total_chunks = h->chunk_counter + 1;

			chunk_output(h, &o);
			output_cv(&o, cv);
			push_chunk_cv(h, cv, total_chunks);
			chunk_reset(h, total_chunks);
		}
		take = BLAKE3_CHUNK_LEN - chunk_len(h);
		if (take > len)
			take = len;
		chunk_update(h, in, take);
		in += take;
		len -= take;
	}
}

/* The root is the current chunk merged with every CV on the stack, right to
 * left.  Only the final merge (or the lone chunk) is the root node; every
 * step before it is an ordinary parent CV.  The state is read, not changed. */
void blake3_finalize(const struct blake3 *h, uint8_t *out, size_t out_len)
{
	struct output o;

	chunk_output(h, &o);
	for (size_t i = h->cv_stack_len; i > 0; i--) {
		uint32_t right[8];

		output_cv(&o, right);
		parent_output(h->cv_stack[i - 1], right, h->key, h->flags, &o);
	}
	output_root_bytes(&o, out, out_len);
}

void blake3_hex(const void *data, size_t len, char out[2 * BLAKE3_OUT_LEN + 1])
{
	struct blake3 h;
	uint8_t digest[BLAKE3_OUT_LEN];

	blake3_init(&h);
	blake3_update(&h, data, len);
	blake3_finalize(&h, digest, sizeof(digest));
	blake3_to_hex(digest, sizeof(digest), out);
}

void blake3_to_hex(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * n] = '\0';
}
