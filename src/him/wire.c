/* wire.c — HIM request bodies (untrusted JSON) into structs: the shared
 * typed getters, tile ingest, queries and prefetch hints (the snapshot,
 * merge and replay bodies and the responses are in wire_snapshot.c).
 *
 * Design: one small typed getter per JSON shape (integer in a range, name,
 * bounded string, base64) that knows the dotted path of the field it reads,
 * so every rejection says exactly where the body is wrong.  Types are
 * checked strictly (2.0 is not an integer, duplicate keys are refused);
 * unknown keys are ignored, as the reference API's models did.  Strings in
 * the tile, query and hint structs are borrowed from the parsed document,
 * which the struct keeps alive; decoded payloads are owned copies. */
#include "him/wire_int.h"
#include "core/alloc.h"
#include "core/json.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

static const char *const default_stream = "kv_cache";

enum kith_status wire_bad(char **why, const char *path, const char *what)
{
	return kith_why(why, KITH_EINVAL, "%s: %s", path, what);
}

/* "base.key" (or "key"), cut to WIRE_PATH_MAX - 1 bytes */
void wire_subpath(char *out, const char *base, const char *key)
{
	int n = snprintf(out, WIRE_PATH_MAX, "%s%s%s", base, *base ? "." : "", key);

	if (n < 0)
		out[0] = '\0';
}

json_t *wire_parse_body(const char *body, size_t len, char **why)
{
	json_error_t err;
	json_t *v = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &err) : NULL;

	if (!v)
		kith_why(why, KITH_EINVAL, "body: invalid JSON at line %d column %d: %s",
			 body ? err.line : 0, body ? err.column : 0, body ? err.text : "empty");
	return v;
}

/* obj[key] or NULL when absent or JSON null. */
json_t *wire_field(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

enum kith_status wire_want_object(const json_t *v, const char *path, char **why)
{
	return json_is_object(v) ? KITH_OK : wire_bad(why, path, "expected an object");
}

enum kith_status wire_get_int(const json_t *obj, const char *base, const char *key,
			      long long lo, long long hi, bool required, long long *out, char **why)
{
	char path[WIRE_PATH_MAX];
	json_t *v = wire_field(obj, key);

	wire_subpath(path, base, key);
	if (!v)
		return required ? wire_bad(why, path, "is required") : KITH_OK;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return kith_why(why, KITH_EINVAL, "%s: expected an integer between %lld and %lld",
				path, lo, hi);
	*out = json_integer_value(v);
	return KITH_OK;
}

/* A string without NUL bytes, at most max bytes (min 1 when nonempty). */
enum kith_status wire_get_str(const json_t *obj, const char *base, const char *key, size_t max,
			      bool required, bool nonempty, const char **out, char **why)
{
	char path[WIRE_PATH_MAX];
	json_t *v = wire_field(obj, key);
	size_t n;

	wire_subpath(path, base, key);
	if (!v)
		return required ? wire_bad(why, path, "is required") : KITH_OK;
	if (!json_is_string(v))
		return wire_bad(why, path, "expected a string");
	n = json_string_length(v);
	if (n != strlen(json_string_value(v)))
		return wire_bad(why, path, "must not contain NUL bytes");
	if (n > max)
		return kith_why(why, KITH_EINVAL, "%s: longer than %zu bytes", path, max);
	if (nonempty && n == 0)
		return wire_bad(why, path, "must not be empty");
	*out = json_string_value(v);
	return KITH_OK;
}

/* him_check_name's reason, as "path: reason". */
static enum kith_status check_name_at(const char *path, const char *s, char **why)
{
	char *reason = NULL;

	if (!him_check_name("the value", s, &reason))
		return KITH_OK;
	kith_why(why, KITH_EINVAL, "%s: %s", path, reason ? reason : "not a valid name");
	free(reason);
	return KITH_EINVAL;
}

enum kith_status wire_get_name(const json_t *obj, const char *base, const char *key,
			       bool required, const char **out, char **why)
{
	char path[WIRE_PATH_MAX];
	const char *s = NULL;
	enum kith_status st = wire_get_str(obj, base, key, HIM_NAME_MAX * 4, required, false, &s, why);

	if (st || !s)
		return st;
	wire_subpath(path, base, key);
	if ((st = check_name_at(path, s, why)))
		return st;
	*out = s;
	return KITH_OK;
}

/* An element of an array of names, at path "base[i]". */
enum kith_status wire_name_at(const json_t *v, const char *path, char **why)
{
	if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)))
		return wire_bad(why, path, "expected a name");
	return check_name_at(path, json_string_value(v), why);
}

/* [max, min] levels. */
static enum kith_status get_levels(const json_t *obj, const char *base, int *lmax, int *lmin,
				   char **why)
{
	char path[WIRE_PATH_MAX];
	json_t *v = wire_field(obj, "level_range");
	json_t *a, *b;

	wire_subpath(path, base, "level_range");
	if (!v)
		return KITH_OK;
	if (!json_is_array(v) || json_array_size(v) != 2)
		return wire_bad(why, path, "expected [max_level, min_level]");
	a = json_array_get(v, 0);
	b = json_array_get(v, 1);
	if (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) < 0 ||
	    json_integer_value(a) > HIM_MAX_LEVEL || json_integer_value(b) < 0 ||
	    json_integer_value(b) > HIM_MAX_LEVEL)
		return kith_why(why, KITH_EINVAL, "%s: expected two integers between 0 and %d",
				path, HIM_MAX_LEVEL);
	if (json_integer_value(a) < json_integer_value(b))
		return wire_bad(why, path, "max_level must be >= min_level");
	*lmax = (int)json_integer_value(a);
	*lmin = (int)json_integer_value(b);
	return KITH_OK;
}

/* Base64 (standard alphabet, padded or not; whitespace ignored) into a
 * new buffer of at most max bytes. */
static enum kith_status b64_decode(const char *s, size_t n, size_t max, const char *path,
				   unsigned char **out, size_t *outlen, char **why)
{
	static const int variants[2] = { sodium_base64_VARIANT_ORIGINAL,
					 sodium_base64_VARIANT_ORIGINAL_NO_PADDING };
	size_t cap = n / 4 * 3 + 3;
	unsigned char *bin;

	if (n / 4 * 3 > max + 3)
		return kith_why(why, KITH_EINVAL, "%s: larger than %zu bytes", path, max);
	bin = xmalloc(cap + 1);
	for (int i = 0; i < 2; i++) {
		const char *end = NULL;
		size_t len = 0;

		if (sodium_base642bin(bin, cap, s, n, " \t\r\n", &len, &end, variants[i]) == 0 &&
		    end == s + n && len <= max) {
			*out = bin;
			*outlen = len;
			return KITH_OK;
		}
	}
	free(bin);
	return wire_bad(why, path, "invalid base64");
}

/* ---- tiles -------------------------------------------------------------- */

static enum kith_status rec_payload(const json_t *rec, const char *base, unsigned char **bytes,
				    size_t *n, char **why)
{
	char path[WIRE_PATH_MAX];
	json_t *v = wire_field(rec, "payload");
	const char *s = NULL;

	wire_subpath(path, base, "payload");
	if (!v)
		return wire_bad(why, path, "is required");
	if (json_is_object(v)) {
		enum kith_status st = wire_get_str(v, path, "bytes_b64", SIZE_MAX, true, false, &s, why);

		if (st)
			return st;
		wire_subpath(path, base, "payload.bytes_b64");
	} else if (json_is_string(v)) {
		s = json_string_value(v);
	} else {
		return wire_bad(why, path, "expected {\"bytes_b64\": ...} or a base64 string");
	}
	return b64_decode(s, strlen(s), HIM_MAX_PAYLOAD, path, bytes, n, why);
}

static enum kith_status rec_shape(const json_t *rec, const char *base, long shape[3], char **why)
{
	char path[WIRE_PATH_MAX];
	json_t *v = wire_field(rec, "shape");

	wire_subpath(path, base, "shape");
	if (!v)
		return wire_bad(why, path, "is required");
	if (!json_is_array(v) || json_array_size(v) != 3)
		return wire_bad(why, path, "expected an array of 3 integers");
	for (size_t i = 0; i < 3; i++) {
		json_t *d = json_array_get(v, i);

		if (!json_is_integer(d) || json_integer_value(d) < 0 ||
		    json_integer_value(d) > HIM_MAX_COORD)
			return kith_why(why, KITH_EINVAL,
					"%s[%zu]: expected an integer between 0 and %ld", path, i,
					HIM_MAX_COORD);
		shape[i] = (long)json_integer_value(d);
	}
	return KITH_OK;
}

/* 1 to 32 printable ASCII characters, no spaces ("fp16", "text/plain"). */
static enum kith_status rec_dtype(const json_t *rec, const char *base, const char **out,
				  char **why)
{
	char path[WIRE_PATH_MAX];
	enum kith_status st = wire_get_str(rec, base, "dtype", 32, true, true, out, why);

	if (st)
		return st;
	wire_subpath(path, base, "dtype");
	for (const char *c = *out; *c; c++)
		if (*c <= ' ' || *c > '~')
			return wire_bad(why, path, "expected printable ASCII without spaces");
	return KITH_OK;
}

static enum kith_status rec_optional(const json_t *rec, const char *base, struct him_tile_in *t,
				     unsigned char **sig, char **why)
{
	char path[WIRE_PATH_MAX];
	long long halo = -1;
	json_t *crit = wire_field(rec, "critical");
	const char *s = NULL;
	size_t n = 0;
	enum kith_status st;

	if ((st = wire_get_int(rec, base, "halo", 0, HIM_HALO, false, &halo, why)))
		return st;
	wire_subpath(path, base, "halo");
	if (halo != -1 && halo != 0 && halo != HIM_HALO)
		return kith_why(why, KITH_EINVAL, "%s: expected null, 0 or %d", path, HIM_HALO);
	t->halo = (int)halo;
	if ((st = wire_get_str(rec, base, "parent_tile_id", HIM_ID_HEX, false, false,
			  &t->parent_tile_id, why)))
		return st;
	wire_subpath(path, base, "parent_tile_id");
	if (t->parent_tile_id && !him_is_tile_id(t->parent_tile_id))
		return wire_bad(why, path, "expected 64 lowercase hex digits");
	if ((st = wire_get_str(rec, base, "tags", HIM_WIRE_MAX_TEXT, false, false, &t->tags, why)))
		return st;
	wire_subpath(path, base, "critical");
	if (crit && !json_is_boolean(crit))
		return wire_bad(why, path, "expected true or false");
	t->critical = json_is_true(crit);
	if ((st = wire_get_str(rec, base, "signature", 256, false, false, &s, why)) || !s)
		return st;
	wire_subpath(path, base, "signature");
	if ((st = b64_decode(s, strlen(s), 64, path, sig, &n, why)))
		return st;
	if (n != 64)
		return wire_bad(why, path, "expected a 64-byte Ed25519 signature");
	t->signature = *sig;
	return KITH_OK;
}

static enum kith_status parse_record(const json_t *rec, size_t i, struct him_wire_tiles *w,
				     char **why)
{
	char base[WIRE_PATH_MAX];
	struct him_tile_in *t = &w->recs[i];
	long long level = 0, x = 0, y = 0;
	enum kith_status st;

	snprintf(base, sizeof(base), "records[%zu]", i);
	if ((st = wire_want_object(rec, base, why)) ||
	    (st = wire_get_name(rec, base, "stream", true, &t->stream, why)) ||
	    (st = wire_get_name(rec, base, "snapshot_id", true, &t->snapshot_id, why)) ||
	    (st = wire_get_int(rec, base, "level", 0, HIM_MAX_LEVEL, true, &level, why)) ||
	    (st = wire_get_int(rec, base, "x", 0, HIM_MAX_COORD, true, &x, why)) ||
	    (st = wire_get_int(rec, base, "y", 0, HIM_MAX_COORD, true, &y, why)) ||
	    (st = rec_shape(rec, base, t->shape, why)) ||
	    (st = rec_dtype(rec, base, &t->dtype, why)) ||
	    (st = rec_payload(rec, base, &w->payloads[i], &t->payload_len, why)) ||
	    (st = rec_optional(rec, base, t, &w->sigs[i], why)))
		return st;
	t->level = (int)level;
	t->x = (long)x;
	t->y = (long)y;
	t->payload = w->payloads[i];
	return KITH_OK;
}

static enum kith_status parse_tiles(const char *body, size_t len, struct him_wire_tiles *out,
				    char **why)
{
	enum kith_status st = KITH_OK;
	size_t n;

	if (!(out->root = wire_parse_body(body, len, why)))
		return KITH_EINVAL;
	if (!json_is_array(out->root))
		return wire_bad(why, "records", "expected a JSON array of tile records");
	n = json_array_size(out->root);
	if (n == 0)
		return wire_bad(why, "records", "must not be empty");
	if (n > HIM_WIRE_MAX_RECORDS)
		return kith_why(why, KITH_EINVAL, "records: more than %d records",
				HIM_WIRE_MAX_RECORDS);
	out->recs = xcalloc(n, sizeof(*out->recs));
	out->payloads = xcalloc(n, sizeof(*out->payloads));
	out->sigs = xcalloc(n, sizeof(*out->sigs));
	out->n = n;
	for (size_t i = 0; i < n && !st; i++)
		st = parse_record(json_array_get(out->root, i), i, out, why);
	return st;
}

enum kith_status him_wire_parse_tiles(const char *body, size_t len, struct him_wire_tiles *out,
				      char **why)
{
	enum kith_status st;

	memset(out, 0, sizeof(*out));
	if ((st = parse_tiles(body, len, out, why)))
		him_wire_tiles_release(out);
	return st;
}

void him_wire_tiles_release(struct him_wire_tiles *t)
{
	for (size_t i = 0; t->payloads && i < t->n; i++) {
		free(t->payloads[i]);
		free(t->sigs[i]);
	}
	free(t->payloads);
	free(t->sigs);
	free(t->recs);
	json_decref(t->root);
	memset(t, 0, sizeof(*t));
}

/* ---- query ------------------------------------------------------------- */

static enum kith_status parse_query(const char *body, size_t len, struct him_wire_query *out,
				    char **why)
{
	struct him_query *q = &out->q;
	long long budget = 0, k = 8;
	enum kith_status st;

	q->stream = default_stream;
	q->level_max = 2;
	q->level_min = 0;
	if (!(out->root = wire_parse_body(body, len, why)))
		return KITH_EINVAL;
	if ((st = wire_want_object(out->root, "body", why)) ||
	    (st = wire_get_str(out->root, "", "goal", HIM_WIRE_MAX_GOAL, true, false, &q->goal, why)) ||
	    (st = wire_get_name(out->root, "", "snapshot_id", true, &q->snapshot_id, why)) ||
	    (st = wire_get_name(out->root, "", "stream", false, &q->stream, why)) ||
	    (st = wire_get_int(out->root, "", "budget_ms", 1, HIM_WIRE_MAX_BUDGET_MS, true, &budget,
			  why)) ||
	    (st = wire_get_int(out->root, "", "max_tiles", 1, 32, false, &k, why)) ||
	    (st = get_levels(out->root, "", &q->level_max, &q->level_min, why)))
		return st;
	q->budget_ms = (int)budget;
	q->max_tiles = (int)k;
	return KITH_OK;
}

enum kith_status him_wire_parse_query(const char *body, size_t len, struct him_wire_query *out,
				      char **why)
{
	enum kith_status st;

	memset(out, 0, sizeof(*out));
	if ((st = parse_query(body, len, out, why)))
		him_wire_query_release(out);
	return st;
}

void him_wire_query_release(struct him_wire_query *q)
{
	json_decref(q->root);
	memset(q, 0, sizeof(*q));
}

/* ---- hints ------------------------------------------------------------- */

static enum kith_status hint_boxes(const json_t *v, const char *base, long (*boxes)[4],
				   size_t *n, char **why)
{
	char path[WIRE_PATH_MAX];
	json_t *arr = wire_field(v, "bboxes");

	wire_subpath(path, base, "bboxes");
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return wire_bad(why, path, "expected a non-empty array of [x, y, w, h]");
	if (json_array_size(arr) > HIM_WIRE_MAX_BBOXES)
		return kith_why(why, KITH_EINVAL, "%s: more than %d boxes", path,
				HIM_WIRE_MAX_BBOXES);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *b = json_array_get(arr, i);

		if (!json_is_array(b) || json_array_size(b) != 4)
			return kith_why(why, KITH_EINVAL, "%s[%zu]: expected [x, y, w, h]", path, i);
		for (size_t j = 0; j < 4; j++) {
			json_t *c = json_array_get(b, j);
			long long lo = j < 2 ? -HIM_MAX_COORD : 1;

			if (!json_is_integer(c) || json_integer_value(c) < lo ||
			    json_integer_value(c) > HIM_MAX_COORD)
				return kith_why(why, KITH_EINVAL,
						"%s[%zu][%zu]: expected an integer between %lld and %ld",
						path, i, j, lo, HIM_MAX_COORD);
			boxes[i][j] = (long)json_integer_value(c);
		}
	}
	*n = json_array_size(arr);
	return KITH_OK;
}

static enum kith_status parse_hint(const json_t *v, size_t i, struct him_hint *h,
				   long (*boxes)[4], char **why)
{
	char base[WIRE_PATH_MAX], path[WIRE_PATH_MAX];
	json_t *c;
	enum kith_status st;

	snprintf(base, sizeof(base), "hints[%zu]", i);
	h->stream = default_stream;
	h->level_max = 2;
	h->level_min = 0;
	if ((st = wire_want_object(v, base, why)) ||
	    (st = wire_get_str(v, base, "query_id", 256, true, true, &h->query_id, why)) ||
	    (st = wire_get_name(v, base, "snapshot_id", true, &h->snapshot_id, why)) ||
	    (st = wire_get_name(v, base, "stream", false, &h->stream, why)) ||
	    (st = get_levels(v, base, &h->level_max, &h->level_min, why)) ||
	    (st = hint_boxes(v, base, boxes, &h->nbboxes, why)))
		return st;
	h->bboxes = (const long (*)[4])boxes;
	wire_subpath(path, base, "confidence");
	c = wire_field(v, "confidence");
	if (!c)
		return wire_bad(why, path, "is required");
	if (!json_is_number(c) || !isfinite(json_number_value(c)) || json_number_value(c) < 0 ||
	    json_number_value(c) > 1)
		return wire_bad(why, path, "expected a number between 0 and 1");
	h->confidence = json_number_value(c);
	return KITH_OK;
}

static enum kith_status parse_hints(const char *body, size_t len, struct him_wire_hints *out,
				    char **why)
{
	size_t n, nboxes = 0;
	enum kith_status st;

	if (!(out->root = wire_parse_body(body, len, why)))
		return KITH_EINVAL;
	if (!json_is_array(out->root))
		return wire_bad(why, "hints", "expected a JSON array of hints");
	n = json_array_size(out->root);
	if (n == 0)
		return wire_bad(why, "hints", "must not be empty");
	if (n > HIM_WIRE_MAX_HINTS)
		return kith_why(why, KITH_EINVAL, "hints: more than %d hints", HIM_WIRE_MAX_HINTS);
	out->hints = xcalloc(n, sizeof(*out->hints));
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		json_t *b = kjson_arr(json_array_get(out->root, i), "bboxes");

		nboxes += b && json_array_size(b) <= HIM_WIRE_MAX_BBOXES ? json_array_size(b) : 0;
	}
	out->boxes = xcalloc(nboxes + 1, sizeof(*out->boxes));
	nboxes = 0;
	for (size_t i = 0; i < n; i++) {
		if ((st = parse_hint(json_array_get(out->root, i), i, &out->hints[i],
				     out->boxes + nboxes, why)))
			return st;
		nboxes += out->hints[i].nbboxes;
	}
	return KITH_OK;
}

enum kith_status him_wire_parse_hints(const char *body, size_t len, struct him_wire_hints *out,
				      char **why)
{
	enum kith_status st;

	memset(out, 0, sizeof(*out));
	if ((st = parse_hints(body, len, out, why)))
		him_wire_hints_release(out);
	return st;
}

void him_wire_hints_release(struct him_wire_hints *h)
{
	free(h->hints);
	free(h->boxes);
	json_decref(h->root);
	memset(h, 0, sizeof(*h));
}
