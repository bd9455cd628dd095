/* wire_records.c — the body of POST /v1/records (semantic records).
 *
 * {"snapshot_id", "stream"?, "records": [{"id": int64, "text": "…"} or
 * {"id": int64, "vector": [dim numbers]}]}.  Texts are borrowed from the
 * parsed body for the embedder; vectors are checked finite and of the
 * index's dimension; an id may appear once per request (which of two would
 * win is not something a client should have to guess). */
#include "him/vindex.h"
#include "him/wire.h"
#include "him/wire_int.h"
#include "core/alloc.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void him_wire_records_release(struct him_wire_records *r)
{
	json_decref(r->root);
	free(r->ids);
	free(r->vecs);
	free(r->texts);
	free(r->text_at);
	memset(r, 0, sizeof(*r));
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* One record: {"id": int64, "text": "…"} or {"id": int64, "vector": [dim floats]}. */
static enum kith_status parse_record(struct him_wire_records *r, const json_t *v, size_t i, int dim,
				     char **why)
{
	char base[WIRE_PATH_MAX];
	json_t *id = wire_field(v, "id"), *text = wire_field(v, "text");
	json_t *vec = wire_field(v, "vector"), *x;
	enum kith_status st;
	size_t k;

	snprintf(base, sizeof(base), "records[%zu]", i);
	if ((st = wire_want_object(v, base, why)))
		return st;
	if (!json_is_integer(id))
		return kith_why(why, KITH_EINVAL, "%s.id: expected an integer", base);
	r->ids[i] = (int64_t)json_integer_value(id);
	if (!text == !vec)
		return kith_why(why, KITH_EINVAL, "%s: expected exactly one of \"text\" and "
				"\"vector\"", base);
	if (text) {
		if (!json_is_string(text) || json_string_length(text) == 0 ||
		    memchr(json_string_value(text), '\0', json_string_length(text)))
			return kith_why(why, KITH_EINVAL, "%s.text: expected a non-empty string",
					base);
		if (json_string_length(text) > HIM_WIRE_MAX_RECORD_TEXT)
			return kith_why(why, KITH_ETOOBIG, "%s.text: longer than %d bytes", base,
					HIM_WIRE_MAX_RECORD_TEXT);
		r->texts[r->ntexts] = json_string_value(text);
		r->text_at[r->ntexts++] = i;
		return KITH_OK;
	}
	if (!json_is_array(vec) || json_array_size(vec) != (size_t)dim)
		return kith_why(why, KITH_EINVAL, "%s.vector: expected an array of %d numbers "
				"(the index's dimension), got %s%zu", base, dim,
				json_is_array(vec) ? "" : "a non-array, size ",
				json_is_array(vec) ? json_array_size(vec) : (size_t)0);
	json_array_foreach(vec, k, x) {
		double d = json_number_value(x);

		if (!json_is_number(x) || !isfinite(d) || fabs(d) > FLT_MAX)
			return kith_why(why, KITH_EINVAL, "%s.vector[%zu]: expected a finite number",
					base, k);
		r->vecs[i * (size_t)dim + k] = (float)d;
	}
	return KITH_OK;
}

enum kith_status him_wire_parse_records(const char *body, size_t len, const char *default_stream,
					int dim, struct him_wire_records *r, char **why)
{
	json_t *arr, *v;
	int64_t *sorted;
	enum kith_status st;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->stream = default_stream;
	if (dim < 1 || dim > HIM_VINDEX_MAX_DIM)
		return kith_why(why, KITH_EINVAL, "dim: %d is not a usable dimension", dim);
	if (!(r->root = wire_parse_body(body, len, why)))
		return KITH_EINVAL;
	if ((st = wire_want_object(r->root, "body", why)) ||
	    (st = wire_get_name(r->root, "", "snapshot_id", true, &r->snapshot_id, why)) ||
	    (st = wire_get_name(r->root, "", "stream", false, &r->stream, why)))
		return st;
	arr = wire_field(r->root, "records");
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return kith_why(why, KITH_EINVAL, "records: expected a non-empty array");
	if (json_array_size(arr) > HIM_WIRE_MAX_VRECORDS)
		return kith_why(why, KITH_ETOOBIG, "records: more than %d in one request; send "
				"them in several", HIM_WIRE_MAX_VRECORDS);
	r->n = json_array_size(arr);
	r->ids = xcalloc(r->n, sizeof(*r->ids));
	r->vecs = xcalloc(r->n * (size_t)dim, sizeof(*r->vecs));
	r->texts = xcalloc(r->n, sizeof(*r->texts));
	r->text_at = xcalloc(r->n, sizeof(*r->text_at));
	json_array_foreach(arr, i, v) {
		if ((st = parse_record(r, v, i, dim, why)))
			return st;
	}
	/* One vector per id and request: which of two would win is not
	 * something a client should have to guess. */
	sorted = xmalloc(r->n * sizeof(*sorted));
	memcpy(sorted, r->ids, r->n * sizeof(*sorted));
	qsort(sorted, r->n, sizeof(*sorted), cmp_id);
	for (i = 1; i < r->n; i++) {
		if (sorted[i] == sorted[i - 1]) {
			st = kith_why(why, KITH_EINVAL, "records: id %lld appears more than once",
				      (long long)sorted[i]);
			break;
		}
	}
	free(sorted);
	return st;
}
