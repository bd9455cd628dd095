/* wire_snapshot.c — the snapshot, merge and replay request bodies, and the
 * response shapes (JSON out of structs).
 *
 * Same rules as wire.c, whose typed getters it uses: strict types, every
 * error names its field, unknown keys ignored.  These parsers return heap
 * copies (no borrowed strings), since their results outlive the body. */
#include "him/wire_int.h"
#include "core/alloc.h"
#include "core/json.h"

#include <sodium.h>
#include <string.h>

/* ---- snapshots, merge, replay ------------------------------------------ */

static enum kith_status get_policy(const json_t *obj, char **out, char **why)
{
	const char *s = NULL;
	enum kith_status st = wire_get_str(obj, "", "merge_policy", 16, false, false, &s, why);

	if (st || !s)
		return st;
	if (strcmp(s, "lww") != 0 && strcmp(s, "manual") != 0)
		return wire_bad(why, "merge_policy", "expected \"lww\" or \"manual\"");
	*out = xstrdup(s);
	return KITH_OK;
}

/* An array of distinct names at obj[key] into a new char*[]. */
static enum kith_status get_names(const json_t *obj, const char *key, bool nonempty,
				  char ***out, size_t *n, char **why)
{
	json_t *v = wire_field(obj, key);
	char path[WIRE_PATH_MAX];
	enum kith_status st;

	if (!v)
		return nonempty ? wire_bad(why, key, "is required") : KITH_OK;
	if (!json_is_array(v) || json_array_size(v) > HIM_WIRE_MAX_PARENTS ||
	    (nonempty && json_array_size(v) == 0))
		return kith_why(why, KITH_EINVAL, "%s: expected an array of 1 to %d snapshot ids",
				key, HIM_WIRE_MAX_PARENTS);
	*out = xcalloc(json_array_size(v) + 1, sizeof(**out));
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);

		snprintf(path, sizeof(path), "%s[%zu]", key, i);
		if ((st = wire_name_at(e, path, why)))
			return st;
		for (size_t j = 0; j < *n; j++)
			if (strcmp((*out)[j], json_string_value(e)) == 0)
				return wire_bad(why, path, "duplicate snapshot id");
		(*out)[(*n)++] = xstrdup(json_string_value(e));
	}
	return KITH_OK;
}

static enum kith_status snap_tags(const json_t *root, json_t **out, char **why)
{
	json_t *v = wire_field(root, "tags"), *val;
	const char *key;
	char path[WIRE_PATH_MAX];

	*out = json_object();
	if (!v)
		return KITH_OK;
	if (!json_is_object(v) || json_object_size(v) > 64)
		return wire_bad(why, "tags", "expected an object of at most 64 strings");
	json_object_foreach(v, key, val) {
		snprintf(path, sizeof(path), "tags.%.64s", key);
		if (strlen(key) == 0 || strlen(key) > 128)
			return wire_bad(why, path, "keys must be 1 to 128 bytes");
		if (!json_is_string(val) || json_string_length(val) > HIM_WIRE_MAX_TEXT ||
		    json_string_length(val) != strlen(json_string_value(val)))
			return wire_bad(why, path, "expected a string");
		json_object_set(*out, key, val);
	}
	return KITH_OK;
}

static enum kith_status snap_provenance(const json_t *root, json_t **out, char **why)
{
	static const char *const strs[] = { "model", "code_sha", "cuda", "driver" };
	json_t *v = wire_field(root, "provenance");
	long long seed = 0;
	enum kith_status st;

	if (!v)
		return wire_bad(why, "provenance", "is required");
	if ((st = wire_want_object(v, "provenance", why)))
		return st;
	*out = json_object();
	for (size_t i = 0; i < 4; i++) {
		const char *s = NULL;

		if ((st = wire_get_str(v, "provenance", strs[i], 256, i < 2, i < 2, &s, why)))
			return st;
		kjson_set_str(*out, strs[i], s);
	}
	if (wire_field(v, "seed")) {
		if ((st = wire_get_int(v, "provenance", "seed", INT64_MIN, INT64_MAX, false, &seed,
					why)))
			return st;
		json_object_set_new(*out, "seed", json_integer(seed));
	}
	return KITH_OK;
}

enum kith_status him_wire_parse_snapshot(const char *body, size_t len, struct him_snapshot *out,
					 char **why)
{
	json_t *root = wire_parse_body(body, len, why);
	const char *id = NULL;
	enum kith_status st = KITH_EINVAL;

	memset(out, 0, sizeof(*out));
	if (!root)
		return KITH_EINVAL;
	if ((st = wire_want_object(root, "body", why)) ||
	    (st = wire_get_name(root, "", "snapshot_id", true, &id, why)))
		goto out;
	out->snapshot_id = xstrdup(id);
	if ((st = get_names(root, "parents", false, &out->parents, &out->nparents, why)) ||
	    (st = snap_tags(root, &out->tags, why)) ||
	    (st = snap_provenance(root, &out->provenance, why)) ||
	    (st = get_policy(root, &out->merge_policy, why)))
		goto out;
	for (size_t i = 0; i < out->nparents; i++)
		if (strcmp(out->parents[i], id) == 0) {
			st = wire_bad(why, "parents", "a snapshot cannot be its own parent");
			goto out;
		}
	if (!out->merge_policy)
		out->merge_policy = xstrdup("lww");
out:
	json_decref(root);
	if (st) {
		him_snapshot_release(out);
		memset(out, 0, sizeof(*out));
	}
	return st;
}

enum kith_status him_wire_parse_merge(const char *body, size_t len, struct him_wire_merge *out,
				      char **why)
{
	json_t *root = wire_parse_body(body, len, why);
	const char *id = NULL;
	enum kith_status st;

	memset(out, 0, sizeof(*out));
	if (!root)
		return KITH_EINVAL;
	if (!(st = wire_want_object(root, "body", why)) &&
	    !(st = get_names(root, "with", true, &out->with, &out->nwith, why)) &&
	    !(st = wire_get_name(root, "", "snapshot_id", false, &id, why)) &&
	    !(st = get_policy(root, &out->merge_policy, why)))
		out->snapshot_id = xstrdup(id);
	json_decref(root);
	if (st)
		him_wire_merge_release(out);
	return st;
}

void him_wire_merge_release(struct him_wire_merge *m)
{
	for (size_t i = 0; m->with && i < m->nwith; i++)
		free(m->with[i]);
	free(m->with);
	free(m->snapshot_id);
	free(m->merge_policy);
	memset(m, 0, sizeof(*m));
}

bool him_is_trace_id(const char *s)
{
	if (!s || strncmp(s, "tr_", 3) != 0 || strlen(s) != 27)
		return false;
	for (s += 3; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

enum kith_status him_wire_parse_replay(const char *body, size_t len, struct him_wire_replay *out,
				       char **why)
{
	json_t *root = wire_parse_body(body, len, why);
	const char *id = NULL, *tr = NULL;
	enum kith_status st;

	memset(out, 0, sizeof(*out));
	if (!root)
		return KITH_EINVAL;
	if (!(st = wire_want_object(root, "body", why)) &&
	    !(st = wire_get_name(root, "", "snapshot_id", true, &id, why)) &&
	    !(st = wire_get_str(root, "", "trace_id", 64, true, true, &tr, why))) {
		if (him_is_trace_id(tr)) {
			out->snapshot_id = xstrdup(id);
			out->trace_id = xstrdup(tr);
		} else {
			st = wire_bad(why, "trace_id", "expected \"tr_\" and 24 hex digits");
		}
	}
	json_decref(root);
	return st;
}

void him_wire_replay_release(struct him_wire_replay *r)
{
	free(r->snapshot_id);
	free(r->trace_id);
	memset(r, 0, sizeof(*r));
}

/* ---- responses ----------------------------------------------------------- */

json_t *him_wire_metas_json(const struct him_tile_meta *m, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, him_tile_meta_json(&m[i]));
	return a;
}

json_t *him_wire_tile_json(const struct him_tile_meta *m, const void *payload, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(cap);
	json_t *o = json_object();

	sodium_bin2base64(b64, cap, payload, n, sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(o, "metadata", him_tile_meta_json(m));
	json_object_set_new(o, "payload", json_string(b64));
	free(b64);
	return o;
}

json_t *him_wire_snapshots_json(const struct him_snapshot *s, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, him_snapshot_json(&s[i]));
	return a;
}

json_t *him_wire_merge_json(const struct him_merge_result *r)
{
	json_t *o = json_object();

	if (r->snapshot_id)
		json_object_set_new(o, "snapshot_id", json_string(r->snapshot_id));
	json_object_set_new(o, "tiles", json_integer((json_int_t)r->tiles));
	json_object_set_new(o, "resolved", json_integer((json_int_t)r->resolved));
	if (r->conflicts)
		json_object_set(o, "conflicts", r->conflicts);
	return o;
}
