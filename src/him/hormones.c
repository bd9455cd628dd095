/* hormones.c — hormone history in HIM (hormones.h): channel ids to
 * snapshots, levels to and from JSON, the PUT body, and the time-bucket
 * pyramid that him_hormones_put writes and him_hormones_get /
 * him_hormones_history read.
 *
 * Design: a bucket tile carries running statistics (sample count, and per
 * hormone count, mean, min, max, plus the latest sample) rather than the
 * samples, so a week bucket stays a few hundred bytes however many samples
 * fall in it.  Every level is computed from the samples themselves, not
 * from the finer level's means, which would weigh a quiet hour like a busy
 * one.  A put reads the current version of each of its four buckets and
 * writes the next inside one write section (journal.c), so concurrent puts
 * — threads or processes — never lose a sample, and a failed put leaves
 * nothing behind.  Each new version names the previous one as its parent,
 * so HIM stores it as a small zstd delta.
 *
 * Reads go through the catalogue's coordinate index (snapshot, stream,
 * level, x, y): "latest" is the newest version of the highest level-0
 * bucket, history a descending range scan over x that stops after `limit`
 * buckets. */
#include "him/hormones.h"
#include "him/blake3.h"
#include "him/him_int.h"
#include "him/wire_int.h"
#include "core/alloc.h"
#include "core/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[HIM_HORMONES] = {
	"dopamine", "serotonin", "oxytocin", "cortisol",
	"melatonin", "novelty", "curiosity", "patience",
};

/* 5 min, 1 h, 1 day, 1 week.  Weeks count from the epoch (a Thursday), as
 * the reference's `epoch // 604800` did: any fixed origin works as long as
 * it never changes, and this one needs no time zone. */
static const int64_t bucket_sizes[HIM_HORMONE_LEVELS] = { 300000, 3600000, 86400000, 604800000 };
static const char *const bucket_labels[HIM_HORMONE_LEVELS] = { "5m", "1h", "1d", "1w" };

#define ALL_PRESENT ((1u << HIM_HORMONES) - 1)
#define SNAP_PLAIN "hormones_"
#define SNAP_HASHED "hormones."
#define PLAIN_MAX (HIM_NAME_MAX - 9)   /* after "hormones_" */
#define SHOWN_MAX 22                   /* readable part of a hashed name */
#define HASH_HEX 32                    /* 128 bits of blake3 */

const char *him_hormone_name(int i)
{
	return i >= 0 && i < HIM_HORMONES ? names[i] : NULL;
}

int him_hormone_index(const char *name)
{
	for (int i = 0; name && i < HIM_HORMONES; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int64_t him_hormone_bucket_ms(int level)
{
	return level >= 0 && level < HIM_HORMONE_LEVELS ? bucket_sizes[level] : 0;
}

const char *him_hormone_bucket_label(int level)
{
	return level >= 0 && level < HIM_HORMONE_LEVELS ? bucket_labels[level] : NULL;
}

int him_hormone_bucket_level(const char *label)
{
	for (int i = 0; label && i < HIM_HORMONE_LEVELS; i++)
		if (strcmp(label, bucket_labels[i]) == 0)
			return i;
	return -1;
}

/* ---- channel ids -------------------------------------------------------- */

static bool plain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* 1..256 bytes of UTF-8 without control characters: it goes into JSON
 * payloads and snapshot tags, and into nothing else. */
static enum kith_status check_channel(const char *id, char **why)
{
	size_t n;
	json_t *probe;

	if (!id || !*id)
		return kith_why(why, KITH_EINVAL, "channel_id is empty");
	n = strlen(id);
	if (n > HIM_HORMONE_CHANNEL_MAX)
		return kith_why(why, KITH_EINVAL, "channel_id is longer than %d bytes",
				HIM_HORMONE_CHANNEL_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
			return kith_why(why, KITH_EINVAL,
					"channel_id must not contain control characters");
	probe = json_stringn(id, n);   /* NULL unless valid UTF-8 */
	if (!probe)
		return kith_why(why, KITH_EINVAL, "channel_id is not valid UTF-8");
	json_decref(probe);
	return KITH_OK;
}

enum kith_status him_hormones_snapshot_id(const char *channel_id, char out[HIM_NAME_MAX + 1],
					  char **why)
{
	char shown[SHOWN_MAX + 1], hex[2 * BLAKE3_OUT_LEN + 1];
	enum kith_status rc = check_channel(channel_id, why);
	size_t n, i;
	bool plain = true;

	out[0] = '\0';
	if (rc)
		return rc;
	n = strlen(channel_id);
	for (i = 0; i < n && plain; i++)
		plain = plain_char((unsigned char)channel_id[i]);
	if (plain && n <= PLAIN_MAX) {
		snprintf(out, HIM_NAME_MAX + 1, SNAP_PLAIN "%s", channel_id);
		return KITH_OK;
	}
	/* Anything else is hashed: the '.' this form always has and the plain
	 * form never has keeps the two apart, and 128 bits of BLAKE3 keep
	 * hashed ids apart.  The readable prefix is only for people. */
	for (i = 0; i < n && i < SHOWN_MAX; i++)
		shown[i] = plain_char((unsigned char)channel_id[i]) ? channel_id[i] : '_';
	shown[i] = '\0';
	blake3_hex(channel_id, n, hex);
	snprintf(out, HIM_NAME_MAX + 1, SNAP_HASHED "%s.%.*s", shown, HASH_HEX, hex);
	return KITH_OK;
}

/* ---- levels ------------------------------------------------------------- */

static bool level_ok(double v)
{
	return isfinite(v) && v >= 0.0 && v <= 1.0;
}

/* An unknown key, quoted in the reason only when it is short printable
 * ASCII (it comes from outside and ends up in a JSON error). */
static enum kith_status unknown_name(const char *path, const char *key, char **why)
{
	static const char known[] = "dopamine, serotonin, oxytocin, cortisol, melatonin, "
				    "novelty, curiosity, patience";
	char sub[WIRE_PATH_MAX];
	size_t n = strlen(key);
	bool show = n > 0 && n <= 32;

	for (size_t i = 0; show && i < n; i++)
		show = key[i] > 0x20 && key[i] < 0x7f;
	if (!show)
		return kith_why(why, KITH_EINVAL, "%s: an unknown hormone name (known: %s)", path,
				known);
	wire_subpath(sub, path, key);
	return kith_why(why, KITH_EINVAL, "%s: not a hormone (known: %s)", sub, known);
}

enum kith_status him_hormone_levels_parse(const json_t *obj, const char *path,
					  struct him_hormone_levels *out, char **why)
{
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return wire_bad(why, path, "expected an object of hormone levels");
	json_object_foreach((json_t *)obj, key, v) {
		char sub[WIRE_PATH_MAX];
		int i = him_hormone_index(key);

		if (i < 0)
			return unknown_name(path, key, why);
		wire_subpath(sub, path, key);
		if (!json_is_number(v) || !level_ok(json_number_value(v)))
			return wire_bad(why, sub, "expected a number between 0 and 1");
		out->v[i] = json_number_value(v);
		out->present |= 1u << i;
	}
	if (!out->present)
		return wire_bad(why, path, "names no hormone");
	return KITH_OK;
}

json_t *him_hormone_levels_json(const struct him_hormone_levels *lv)
{
	json_t *o = json_object();

	for (int i = 0; i < HIM_HORMONES; i++)
		if (lv->present & (1u << i))
			json_object_set_new(o, names[i], json_real(lv->v[i]));
	return o;
}

/* Levels handed in by a caller of the C API. */
static enum kith_status check_levels(const struct him_hormone_levels *lv, char **why)
{
	if (!lv || !(lv->present & ALL_PRESENT) || (lv->present & ~ALL_PRESENT))
		return kith_why(why, KITH_EINVAL, "levels: name at least one of the %d hormones",
				HIM_HORMONES);
	for (int i = 0; i < HIM_HORMONES; i++)
		if ((lv->present & (1u << i)) && !level_ok(lv->v[i]))
			return kith_why(why, KITH_EINVAL, "levels.%s: expected a number between 0 "
					"and 1", names[i]);
	return KITH_OK;
}

/* ---- the PUT body ------------------------------------------------------- */

enum kith_status him_hormones_parse_put(const char *body, size_t len,
					struct him_hormones_put_body *out, char **why)
{
	json_t *root;
	long long at = 0;
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	root = wire_parse_body(body, len, why);
	if (!root)
		return KITH_EINVAL;
	rc = wire_want_object(root, "body", why);
	if (!rc && !wire_field(root, "levels"))
		rc = wire_bad(why, "levels", "is required");
	if (!rc)
		rc = him_hormone_levels_parse(wire_field(root, "levels"), "levels", &out->levels,
					      why);
	if (!rc && wire_field(root, "at_ms")) {
		rc = wire_get_int(root, "", "at_ms", 0, HIM_HORMONE_AT_MAX, true, &at, why);
		out->at_ms = at;
		out->has_at = rc == KITH_OK;
	}
	json_decref(root);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- bucket payloads ---------------------------------------------------- */

/* The stored form: canonical JSON (sorted keys, compact, reals with 17
 * digits so a mean survives the round trip exactly):
 *   {"bucket_ms", "bucket_start_ms", "channel_id", "counts": {name: n},
 *    "last": {...}, "last_at_ms", "levels": {name: mean}, "max": {...},
 *    "min": {...}, "samples"} */
static json_t *bucket_json(const char *channel_id, const struct him_hormone_point *p)
{
	json_t *counts = json_object();

	for (int i = 0; i < HIM_HORMONES; i++)
		if (p->counts[i])
			json_object_set_new(counts, names[i], json_integer(p->counts[i]));
	return json_pack("{s:I, s:I, s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:I}",
			 "bucket_ms", (json_int_t)p->bucket_ms,
			 "bucket_start_ms", (json_int_t)p->bucket_start_ms,
			 "channel_id", channel_id, "counts", counts,
			 "last", him_hormone_levels_json(&p->last),
			 "last_at_ms", (json_int_t)p->last_at_ms,
			 "levels", him_hormone_levels_json(&p->mean),
			 "max", him_hormone_levels_json(&p->max),
			 "min", him_hormone_levels_json(&p->min),
			 "samples", (json_int_t)p->samples);
}

/* Why a stored bucket is not one we wrote, or NULL when it is sound. */
static const char *bucket_fields(const json_t *root, int64_t size, int64_t start,
				 struct him_hormone_point *p)
{
	const json_t *counts = json_object_get(root, "counts");
	const char *key;
	json_t *v;
	long long n;
	unsigned mask = 0;

	if (!kjson_int(root, "bucket_ms", &n) || n != size)
		return "bucket_ms differs from the level's";
	p->bucket_ms = n;
	if (!kjson_int(root, "bucket_start_ms", &n) || n != start)
		return "bucket_start_ms differs from the coordinate's";
	p->bucket_start_ms = n;
	if (!kjson_int(root, "samples", &n) || n < 1)
		return "samples is not a positive integer";
	p->samples = n;
	if (!kjson_int(root, "last_at_ms", &n) || n < start || n - start >= size)
		return "last_at_ms is outside the bucket";
	p->last_at_ms = n;
	if (!json_is_object(counts))
		return "counts is missing";
	json_object_foreach((json_t *)counts, key, v) {
		int i = him_hormone_index(key);

		if (i < 0 || !json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > p->samples)
			return "counts holds an unknown name or a bad count";
		p->counts[i] = json_integer_value(v);
		mask |= 1u << i;
	}
	if (him_hormone_levels_parse(json_object_get(root, "levels"), "", &p->mean, NULL) ||
	    him_hormone_levels_parse(json_object_get(root, "min"), "", &p->min, NULL) ||
	    him_hormone_levels_parse(json_object_get(root, "max"), "", &p->max, NULL) ||
	    him_hormone_levels_parse(json_object_get(root, "last"), "", &p->last, NULL))
		return "levels, min, max or last are not hormone levels";
	if (p->mean.present != mask || p->min.present != mask || p->max.present != mask ||
	    (p->last.present & ~mask))
		return "levels, min, max and counts name different hormones";
	return NULL;
}

static enum kith_status bucket_parse(const struct buf *payload, const char *tile_id, int64_t size,
				     int64_t start, struct him_hormone_point *p, char **why)
{
	json_t *root = json_loadb(payload->data ? payload->data : "", payload->len,
				  JSON_REJECT_DUPLICATES, NULL);
	const char *bad = json_is_object(root) ? NULL : "not a JSON object";

	memset(p, 0, sizeof(*p));
	if (!bad)
		bad = bucket_fields(root, size, start, p);
	json_decref(root);
	if (bad)
		return kith_why(why, KITH_EPROTO, "tile %s of %s is not a hormone bucket: %s",
				tile_id, HIM_HORMONES_STREAM, bad);
	return KITH_OK;
}

/* Add one sample.  The mean is updated incrementally (mean += (v - mean)
 * / n): exact for the first sample, no large sum to lose precision in over
 * thousands, and clamped to [min, max] so rounding can never push it past
 * them (or out of [0, 1], which a read would refuse). */
static void bucket_add(struct him_hormone_point *p, const struct him_hormone_levels *lv,
		       int64_t at_ms)
{
	for (int i = 0; i < HIM_HORMONES; i++) {
		unsigned bit = 1u << i;
		double v = lv->v[i];

		if (!(lv->present & bit))
			continue;
		if (!p->counts[i]) {
			p->mean.v[i] = p->min.v[i] = p->max.v[i] = v;
			p->mean.present |= bit;
			p->min.present |= bit;
			p->max.present |= bit;
		} else {
			p->min.v[i] = fmin(p->min.v[i], v);
			p->max.v[i] = fmax(p->max.v[i], v);
			p->mean.v[i] += (v - p->mean.v[i]) / (double)(p->counts[i] + 1);
			p->mean.v[i] = fmin(fmax(p->mean.v[i], p->min.v[i]), p->max.v[i]);
		}
		p->counts[i]++;
	}
	/* Of equal times the later put wins: it is the newer news. */
	if (!p->samples || at_ms >= p->last_at_ms) {
		p->last = *lv;
		p->last_at_ms = at_ms;
	}
	p->samples++;
}

/* ---- catalogue reads ---------------------------------------------------- */

static enum kith_status snapshot_exists(sqlite3 *db, const char *id, bool *yes, char **why)
{
	sqlite3_stmt *s = NULL;
	int step;

	*yes = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM snapshots WHERE snapshot_id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return him_db_fail(db, "reading snapshots", why);
	him_bind_text(s, 1, id);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return him_db_fail(db, "reading snapshots", why);
	*yes = step == SQLITE_ROW;
	return KITH_OK;
}

/* One bucket coordinate and its newest version. */
struct version {
	long x;
	int64_t lamport, seq;
	char tile_id[HIM_ID_HEX + 1];
};

/* The newest version of each level-`level` bucket with x in [xlo, xhi],
 * highest x first, at most `limit` of them (*more: there were others).
 * The scan walks the coordinate index downwards, so it stops early; the
 * versions of one x are compared here (lamport, then seq, as him_row_at
 * does) rather than sorted by SQLite. */
static enum kith_status newest_versions(sqlite3 *db, const char *snap, int level, long xlo,
					long xhi, size_t limit, struct version **out, size_t *n,
					bool *more, char **why)
{
	static const char sql[] =
		"SELECT x, lamport, seq, tile_id FROM tiles WHERE snapshot_id = ?1 AND stream = ?2"
		" AND level = ?3 AND x BETWEEN ?4 AND ?5 AND y = 0 ORDER BY x DESC";
	sqlite3_stmt *s = NULL;
	struct version *v = NULL;
	size_t cap = 0, count = 0;
	enum kith_status rc = KITH_OK;
	int step;

	*more = false;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "reading hormone buckets", why);
	him_bind_text(s, 1, snap);
	him_bind_text(s, 2, HIM_HORMONES_STREAM);
	sqlite3_bind_int(s, 3, level);
	sqlite3_bind_int64(s, 4, xlo);
	sqlite3_bind_int64(s, 5, xhi);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		long x = (long)sqlite3_column_int64(s, 0);
		int64_t lamport = sqlite3_column_int64(s, 1), seq = sqlite3_column_int64(s, 2);
		const unsigned char *id = sqlite3_column_text(s, 3);
		struct version *cur = count ? &v[count - 1] : NULL;

		if (!id || strlen((const char *)id) != HIM_ID_HEX)
			continue;
		if (!cur || cur->x != x) {
			if (count == limit) {
				*more = true;
				break;
			}
			v = xgrow(v, &cap, count + 1, sizeof(*v));
			cur = &v[count++];
			cur->x = x;
			cur->lamport = -1;
		}
		if (lamport > cur->lamport || (lamport == cur->lamport && seq > cur->seq)) {
			cur->lamport = lamport;
			cur->seq = seq;
			memcpy(cur->tile_id, id, HIM_ID_HEX + 1);
		}
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = him_db_fail(db, "reading hormone buckets", why);
	sqlite3_finalize(s);
	if (rc) {
		free(v);
		v = NULL;
		count = 0;
	}
	*out = v;
	*n = count;
	return rc;
}

/* A bucket tile's statistics, checksum verified by the read. */
static enum kith_status load_bucket(struct him *h, const char *tile_id, int level, long x,
				    struct him_hormone_point *p, char **why)
{
	struct buf payload = BUF_INIT(0);
	int64_t size = bucket_sizes[level];
	enum kith_status rc = him_get_tile_by_id(h, tile_id, NULL, &payload, why);

	if (!rc)
		rc = bucket_parse(&payload, tile_id, size, (int64_t)x * size, p, why);
	buf_release(&payload);
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

/* The channel's snapshot, created on its first sample (inside the caller's
 * write section, so it commits with the tiles or not at all). */
static enum kith_status ensure_snapshot(struct him *h, sqlite3 *db, const char *snap,
					const char *channel_id, char **why)
{
	struct him_snapshot s = { .snapshot_id = (char *)snap };
	bool exists = false;
	enum kith_status rc = snapshot_exists(db, snap, &exists, why);

	if (rc || exists)
		return rc;
	s.tags = json_pack("{s:s, s:s}", "channel_id", channel_id, "type", HIM_HORMONES_STREAM);
	s.provenance = json_pack("{s:s, s:s}", "model", "kith-hormones", "code_sha", "local");
	rc = him_snapshot_insert(h, db, &s, NULL, why);
	json_decref(s.tags);
	json_decref(s.provenance);
	return rc;
}

/* The next version of the level-`level` bucket holding at_ms: the current
 * one (read inside the write section, so no other put can slip in between)
 * plus the sample.  *parent (heap, NULL for a new bucket) is the current
 * version's id. */
static enum kith_status next_bucket(struct him *h, sqlite3 *db, const char *snap, int level,
				    const struct him_hormone_levels *lv, int64_t at_ms,
				    struct him_hormone_point *p, char **parent, char **why)
{
	int64_t size = bucket_sizes[level];
	long x = (long)(at_ms / size);
	struct buf payload = BUF_INIT(0);
	struct him_row row;
	enum kith_status rc = him_row_at(db, HIM_HORMONES_STREAM, snap, level, x, 0, &row, NULL);

	*parent = NULL;
	memset(p, 0, sizeof(*p));
	if (rc == KITH_ENOTFOUND) {
		p->bucket_ms = size;
		p->bucket_start_ms = (int64_t)x * size;
		rc = KITH_OK;
	} else if (rc == KITH_OK) {
		rc = him_load_payload(h, &row, false, &payload, why);
		if (!rc)
			rc = bucket_parse(&payload, row.meta.tile_id, size, (int64_t)x * size, p, why);
		if (!rc)
			*parent = xstrdup(row.meta.tile_id);
		him_row_release(&row);
	} else {
		rc = him_db_fail(db, "reading a hormone bucket", why);
	}
	buf_release(&payload);
	if (!rc)
		bucket_add(p, lv, at_ms);
	return rc;
}

enum kith_status him_hormones_put(struct him *h, const char *channel_id,
				  const struct him_hormone_levels *lv, int64_t at_ms, char **why)
{
	char snap[HIM_NAME_MAX + 1];
	struct him_tile_in in[HIM_HORMONE_LEVELS];
	char *payload[HIM_HORMONE_LEVELS] = { 0 }, *parent[HIM_HORMONE_LEVELS] = { 0 };
	sqlite3 *db = NULL;
	enum kith_status rc = him_hormones_snapshot_id(channel_id, snap, why);

	if (!rc)
		rc = check_levels(lv, why);
	if (!rc && (at_ms < 0 || at_ms > HIM_HORMONE_AT_MAX))
		rc = kith_why(why, KITH_EINVAL, "at_ms must be between 0 and %lld",
			      (long long)HIM_HORMONE_AT_MAX);
	if (rc)
		return rc;
	db = him_db_acquire(h);
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	rc = him_write_begin(h, db, why);
	if (rc)
		goto out;
	rc = ensure_snapshot(h, db, snap, channel_id, why);
	for (int level = 0; !rc && level < HIM_HORMONE_LEVELS; level++) {
		struct him_hormone_point p;
		json_t *j;

		rc = next_bucket(h, db, snap, level, lv, at_ms, &p, &parent[level], why);
		if (rc)
			break;
		j = bucket_json(channel_id, &p);
		payload[level] = kjson_dump(j, true);
		json_decref(j);
		in[level] = (struct him_tile_in){
			.stream = HIM_HORMONES_STREAM, .snapshot_id = snap, .level = level,
			.x = (long)(p.bucket_start_ms / p.bucket_ms), .y = 0, .shape = { 1, 1, 1 },
			.dtype = HIM_HORMONES_DTYPE,
			.payload = (const unsigned char *)payload[level],
			.payload_len = strlen(payload[level]), .halo = -1,
			.parent_tile_id = parent[level],
		};
	}
	if (!rc)
		rc = him_put_tiles_txn(h, db, in, HIM_HORMONE_LEVELS, NULL, NULL, why);
	if (rc)
		him_write_rollback(h, db);
	else
		rc = him_write_commit(h, db, why);
out:
	him_db_release(h, db);
	for (int level = 0; level < HIM_HORMONE_LEVELS; level++) {
		free(payload[level]);
		free(parent[level]);
	}
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

enum kith_status him_hormones_get(struct him *h, const char *channel_id,
				  struct him_hormone_state *out, char **why)
{
	char snap[HIM_NAME_MAX + 1];
	struct version *v = NULL;
	struct him_hormone_point p;
	size_t n = 0;
	bool more = false;
	sqlite3 *db;
	enum kith_status rc = him_hormones_snapshot_id(channel_id, snap, why);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	db = him_db_acquire(h);
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	/* The highest 5-minute bucket holds the latest sample: buckets
	 * partition time, and a bucket's `last` is its latest sample. */
	rc = newest_versions(db, snap, 0, 0, HIM_MAX_COORD, 1, &v, &n, &more, why);
	him_db_release(h, db);
	if (!rc && !n)
		rc = kith_why(why, KITH_ENOTFOUND, "no hormone levels recorded for this channel");
	if (!rc)
		rc = load_bucket(h, v[0].tile_id, 0, v[0].x, &p, why);
	if (!rc) {
		out->levels = p.last;
		out->at_ms = p.last_at_ms;
	}
	free(v);
	return rc;
}

json_t *him_hormone_point_json(const struct him_hormone_point *p)
{
	return json_pack("{s:I, s:I, s:o, s:o, s:o}",
			 "bucket_start_ms", (json_int_t)p->bucket_start_ms,
			 "samples", (json_int_t)p->samples,
			 "levels", him_hormone_levels_json(&p->mean),
			 "min", him_hormone_levels_json(&p->min),
			 "max", him_hormone_levels_json(&p->max));
}

enum kith_status him_hormones_history(struct him *h, const char *channel_id, int level,
				      int64_t from_ms, int64_t to_ms, size_t limit,
				      struct him_hormone_point **out, size_t *n, bool *truncated,
				      char **why)
{
	char snap[HIM_NAME_MAX + 1];
	struct version *v = NULL;
	struct him_hormone_point *points = NULL;
	size_t nv = 0;
	bool more = false, exists = false;
	sqlite3 *db;
	enum kith_status rc = him_hormones_snapshot_id(channel_id, snap, why);

	*out = NULL;
	*n = 0;
	if (truncated)
		*truncated = false;
	if (!rc && (level < 0 || level >= HIM_HORMONE_LEVELS))
		rc = kith_why(why, KITH_EINVAL, "bucket must be 5m, 1h, 1d or 1w");
	if (!rc && (limit < 1 || limit > HIM_HORMONE_HISTORY_MAX))
		rc = kith_why(why, KITH_EINVAL, "limit must be between 1 and %d",
			      HIM_HORMONE_HISTORY_MAX);
	if (!rc && (from_ms < 0 || to_ms < from_ms))
		rc = kith_why(why, KITH_EINVAL, "the range must have 0 <= from <= to");
	if (rc)
		return rc;
	db = him_db_acquire(h);
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	rc = snapshot_exists(db, snap, &exists, why);
	if (!rc && !exists)
		rc = kith_why(why, KITH_ENOTFOUND, "no hormone levels recorded for this channel");
	if (!rc && from_ms <= HIM_HORMONE_AT_MAX) {
		int64_t size = bucket_sizes[level];
		int64_t hi = to_ms < HIM_HORMONE_AT_MAX ? to_ms : HIM_HORMONE_AT_MAX;

		rc = newest_versions(db, snap, level, (long)(from_ms / size), (long)(hi / size),
				     limit, &v, &nv, &more, why);
	}
	him_db_release(h, db);
	if (!rc && nv)
		points = xcalloc(nv, sizeof(*points));
	/* Newest first from the scan; oldest first out. */
	for (size_t i = 0; !rc && i < nv; i++)
		rc = load_bucket(h, v[nv - 1 - i].tile_id, level, v[nv - 1 - i].x, &points[i], why);
	free(v);
	if (rc) {
		free(points);
		return rc;
	}
	*out = points;
	*n = nv;
	if (truncated)
		*truncated = more;
	return KITH_OK;
}
