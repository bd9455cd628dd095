/* names.c — stream and snapshot names, tile ids and tile paths.
 *
 * Names become path components, so they are held to a charset that cannot
 * name anything outside the store: [A-Za-z0-9_.-]{1,64}, no leading '.', no
 * "..".  The tile id hashes the coordinates with a literal '|' between
 * fields and decimal integers; since names cannot contain '|' and the
 * integers are decimal, the preimage splits one way only (the reference
 * code's plain concatenation made "ab"+"c" and "a"+"bc" collide).
 *
 * Ingest records are checked here as a whole before anything is stored:
 * ranges, the stream's format rules and signatures.  The goal text of a
 * query is reduced here to quoted FTS5 word tokens. */
#include "him/him_int.h"
#include "him/blake3.h"
#include "core/alloc.h"

#include <sodium.h>
#include <string.h>

#define FTS_TOKENS_MAX 32
#define FTS_TOKEN_LEN_MAX 64

static bool name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

enum kith_status him_check_name(const char *what, const char *s, char **why)
{
	size_t n;

	if (!what)
		what = "name";
	if (!s || !*s)
		return kith_why(why, KITH_EINVAL, "%s is empty", what);
	n = strlen(s);
	if (n > HIM_NAME_MAX)
		return kith_why(why, KITH_EINVAL, "%s is longer than %d characters", what,
				HIM_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok((unsigned char)s[i]))
			return kith_why(why, KITH_EINVAL,
					"%s may contain only letters, digits, '_', '-' and '.'",
					what);
	if (s[0] == '.')
		return kith_why(why, KITH_EINVAL, "%s must not start with '.'", what);
	if (strstr(s, ".."))
		return kith_why(why, KITH_EINVAL, "%s must not contain \"..\"", what);
	return KITH_OK;
}

bool him_is_tile_id(const char *s)
{
	if (!s)
		return false;
	for (int i = 0; i < HIM_ID_HEX; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return s[HIM_ID_HEX] == '\0';
}

void him_tile_id(const char *stream, const char *snapshot_id, int level, long x, long y,
		 const void *payload, size_t n, char out[HIM_ID_HEX + 1])
{
	struct blake3 b;
	char num[3][24];
	uint8_t digest[BLAKE3_OUT_LEN];
	int len[3];

	len[0] = snprintf(num[0], sizeof(num[0]), "%d", level);
	len[1] = snprintf(num[1], sizeof(num[1]), "%ld", x);
	len[2] = snprintf(num[2], sizeof(num[2]), "%ld", y);
	blake3_init(&b);
	blake3_update(&b, stream, strlen(stream));
	blake3_update(&b, "|", 1);
	blake3_update(&b, snapshot_id, strlen(snapshot_id));
	for (int i = 0; i < 3; i++) {
		blake3_update(&b, "|", 1);
		blake3_update(&b, num[i], (size_t)len[i]);
	}
	blake3_update(&b, "|", 1);
	if (n)
		blake3_update(&b, payload, n);
	blake3_finalize(&b, digest, sizeof(digest));
	blake3_to_hex(digest, sizeof(digest), out);
}

char *him_tile_relpath(const char *stream, const char *snapshot_id, int level, long x, long y,
		       const char *tile_id)
{
	return xasprintf("%s/%s/%d/%ld/%ld/%.12s", stream, snapshot_id, level, x, y, tile_id);
}

/* Length of the valid multi-byte UTF-8 sequence at p, 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;

	if (p[0] >= 0xf5 || !n || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* The goal as an FTS5 query of quoted word tokens joined by OR: letters,
 * digits and well-formed non-ASCII characters only, so quotes, operators,
 * column filters and NUL bytes cannot reach the FTS parser.  Returns the
 * number of tokens. */
int him_fts_query(const char *goal, struct buf *q)
{
	const unsigned char *p = (const unsigned char *)goal;
	size_t left = strlen(goal), toklen = 0;
	int ntok = 0;

	while (left && ntok < FTS_TOKENS_MAX) {
		size_t n = *p < 0x80 ? ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
					(*p >= 'A' && *p <= 'Z')) : utf8_seq(p, left);

		if (n && toklen + n <= FTS_TOKEN_LEN_MAX) {
			if (!toklen)
				buf_puts(q, ntok ? " OR \"" : "\"");
			buf_append(q, p, n);
			toklen += n;
		} else if (!n && toklen) {
			buf_puts(q, "\"");
			toklen = 0;
			ntok++;
		}
		p += n ? n : 1;
		left -= n ? n : 1;
	}
	if (toklen) {
		buf_puts(q, "\"");
		ntok++;
	}
	return ntok;
}

/* ---- ingest records ------------------------------------------------------ */

/* Streams whose payload is a raster/tensor tile (512×512 plus halo). */
static const char *const raster_streams[] = { "kv_cache", "emb" };

/* kv_cache tensor dtypes: element size, and whether float32 per-channel
 * scales (shape[2] of them) follow the elements. */
static const struct kv_dtype {
	const char *name;
	size_t elem;
	bool scales;
} kv_dtypes[] = {
	{ "fp16", 2, false }, { "bf16", 2, false }, { "fp32", 4, false },
	{ "int8", 1, true },  { "fp8", 1, true },
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static enum kith_status check_dtype(const char *dtype, char **why)
{
	size_t n = dtype ? strlen(dtype) : 0;

	if (!n || n > 32)
		return kith_why(why, KITH_EINVAL, "dtype must be 1 to 32 characters");
	for (size_t i = 0; i < n; i++)
		if (dtype[i] <= ' ' || dtype[i] > '~')
			return kith_why(why, KITH_EINVAL, "dtype must be printable ASCII without spaces");
	return KITH_OK;
}

static enum kith_status check_ranges(const struct him_tile_in *t, char **why)
{
	if (t->level < 0 || t->level > HIM_MAX_LEVEL)
		return kith_why(why, KITH_EINVAL, "level must be 0..%d", HIM_MAX_LEVEL);
	if (t->x < 0 || t->x > HIM_MAX_COORD || t->y < 0 || t->y > HIM_MAX_COORD)
		return kith_why(why, KITH_EINVAL, "x and y must be 0..%ld", HIM_MAX_COORD);
	for (int i = 0; i < 3; i++)
		if (t->shape[i] < 0)
			return kith_why(why, KITH_EINVAL, "shape[%d] is negative", i);
	if (t->halo != -1 && t->halo != 0 && t->halo != HIM_HALO)
		return kith_why(why, KITH_EINVAL, "halo must be null, 0 or %d", HIM_HALO);
	if (t->payload_len > HIM_MAX_PAYLOAD)
		return kith_why(why, KITH_EINVAL, "payload is larger than %u bytes",
				HIM_MAX_PAYLOAD);
	if (!t->payload && t->payload_len)
		return kith_why(why, KITH_EINVAL, "payload missing");
	if (t->parent_tile_id && !him_is_tile_id(t->parent_tile_id))
		return kith_why(why, KITH_EINVAL, "parent_tile_id is not a tile id");
	return KITH_OK;
}

/* kv_cache tensors: the payload is exactly the elements (plus scales). */
static enum kith_status check_kv_size(const struct him_tile_in *t, char **why)
{
	size_t elems, bytes, scales = 0;

	for (size_t i = 0; i < sizeof(kv_dtypes) / sizeof(kv_dtypes[0]); i++) {
		const struct kv_dtype *d = &kv_dtypes[i];

		if (strcmp(t->dtype, d->name) != 0)
			continue;
		if (__builtin_mul_overflow((size_t)t->shape[0], (size_t)t->shape[1], &elems) ||
		    __builtin_mul_overflow(elems, (size_t)t->shape[2], &elems) ||
		    __builtin_mul_overflow(elems, d->elem, &bytes) ||
		    (d->scales && __builtin_mul_overflow((size_t)t->shape[2], (size_t)4, &scales)) ||
		    __builtin_add_overflow(bytes, scales, &bytes))
			return kith_why(why, KITH_EINVAL, "shape is too large");
		if (t->payload_len != bytes)
			return kith_why(why, KITH_EINVAL,
					"a %s tile of shape [%ld,%ld,%ld] holds %zu bytes%s, not %zu",
					d->name, t->shape[0], t->shape[1], t->shape[2], bytes,
					d->scales ? " (with float32 per-channel scales)" : "",
					t->payload_len);
	}
	return KITH_OK;
}

/* logs/audit: row groups of JSON lines; every non-blank line an object. */
static enum kith_status check_json_lines(const unsigned char *p, size_t n, char **why)
{
	size_t line = 0;

	while (n) {
		const unsigned char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n, end = len;
		json_error_t err;
		json_t *v;

		line++;
		while (end && (p[end - 1] == '\r' || p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		if (end) {
			v = json_loadb((const char *)p, end, 0, &err);
			if (!json_is_object(v)) {
				json_decref(v);
				return kith_why(why, KITH_EINVAL, "line %zu is not a JSON object", line);
			}
			json_decref(v);
		}
		p += nl ? len + 1 : len;
		n -= nl ? len + 1 : len;
	}
	return KITH_OK;
}

static enum kith_status check_stream_rules(const struct him *h, const struct him_tile_in *t,
					   char **why)
{
	long side = HIM_TILE_SIDE + 2L * (t->halo > 0 ? t->halo : 0);

	if (in_list(t->stream, raster_streams, 2) && (t->shape[0] > side || t->shape[1] > side))
		return kith_why(why, KITH_EINVAL, "a %s tile is at most %ld×%ld", t->stream, side,
				side);
	if (strcmp(t->stream, "kv_cache") == 0)
		return check_kv_size(t, why);
	if (strcmp(t->stream, "logs") == 0 || strcmp(t->stream, "audit") == 0)
		return check_json_lines(t->payload, t->payload_len, why);
	if (strcmp(t->stream, "skills") == 0 && h->verify_signatures) {
		const unsigned char *p = t->payload ? t->payload : (const unsigned char *)"";

		if (!t->signature)
			return kith_why(why, KITH_EINVAL, "skills tiles must be signed");
		if (crypto_sign_verify_detached(t->signature, p, t->payload_len,
						h->signing_pk) != 0)
			return kith_why(why, KITH_EINVAL, "the skill's signature does not verify");
	}
	return KITH_OK;
}

enum kith_status him_check_tile_in(const struct him *h, const struct him_tile_in *t, char **why)
{
	enum kith_status rc = him_check_name("stream", t->stream, why);

	if (!rc)
		rc = him_check_name("snapshot_id", t->snapshot_id, why);
	if (!rc)
		rc = check_ranges(t, why);
	if (!rc)
		rc = check_dtype(t->dtype, why);
	if (!rc)
		rc = check_stream_rules(h, t, why);
	return rc;
}
