/* hormones.h — hormone history in HIM: each channel's hormone levels kept
 * as a time-bucket pyramid and read back as the latest state or a range of
 * buckets (served as /v1/hormones/{channel_id} by api_hormones.c).
 *
 * A hormone state is a set of named levels in [0, 1] — the eight of SEL's
 * seed, in mind/hormones.h's order — plus a timestamp.  HIM knows nothing
 * of what they mean (it does not depend on mind/): it stores samples and
 * their per-bucket statistics.
 *
 * Storage: stream `hormonal_state`, one snapshot per channel (named by
 * him_hormones_snapshot_id), pyramid level L holding buckets of 5 min, 1 h,
 * 1 day and 1 week for L = 0..3, at x = floor(at_ms / bucket_ms), y = 0.
 * Each put updates the running count / mean / min / max / last of the
 * four buckets containing it, each written as a new version of its tile
 * whose parent is the previous version (so it is stored as a delta), in
 * one write section: a put is all or nothing.  See docs/him.md, "Hormone
 * history".
 *
 * All functions are thread-safe; results are plain values owned by the
 * caller (history points: free() the array). */
#ifndef KITH_HIM_HORMONES_H
#define KITH_HIM_HORMONES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "him/him.h"

#define HIM_HORMONES 8                     /* named levels */
#define HIM_HORMONES_STREAM "hormonal_state"
#define HIM_HORMONES_DTYPE "hormone-bucket;v1"   /* JSON, but kept out of the keyword
						  * index (no "json" in it) */
#define HIM_HORMONE_LEVELS 4               /* pyramid levels: 5 min, 1 h, 1 day, 1 week */
#define HIM_HORMONE_CHANNEL_MAX 256        /* bytes of a channel id */
#define HIM_HORMONE_HISTORY_DEFAULT 288    /* points per history read (a day of 5 min) */
#define HIM_HORMONE_HISTORY_MAX 10000
/* The latest time a sample may carry: the 5-minute bucket index must be a
 * valid coordinate (x <= 2^31 - 1), i.e. about the year 22000. */
#define HIM_HORMONE_AT_MAX ((int64_t)2147483647 * 300000 + 299999)

/* "dopamine", "serotonin", "oxytocin", "cortisol", "melatonin", "novelty",
 * "curiosity", "patience" for 0..7; NULL otherwise. */
const char *him_hormone_name(int i);
/* The index of a name, or -1. */
int him_hormone_index(const char *name);

/* Levels by index; only those whose bit is set in `present` are part of
 * the state (a sample may name some of the hormones only). */
struct him_hormone_levels {
	double v[HIM_HORMONES];
	unsigned present;
};

/* Bucket size of a pyramid level (0 for anything but 0..3), its label
 * ("5m", "1h", "1d", "1w"; NULL otherwise), and the level of a label (-1). */
int64_t him_hormone_bucket_ms(int level);
const char *him_hormone_bucket_label(int level);
int him_hormone_bucket_level(const char *label);

/* The HIM snapshot that holds a channel's history.  A channel id is 1 to
 * 256 bytes of UTF-8 without control characters (KITH_EINVAL otherwise).
 * An id made of [A-Za-z0-9_-] only, up to 55 bytes, maps to "hormones_"
 * + id; any other to "hormones." + up to 22 of its characters (others as
 * '_') + "." + 32 hex digits of blake3(id).  The first form never holds a
 * '.', the second always does, so distinct channel ids never share a
 * snapshot. */
enum kith_status him_hormones_snapshot_id(const char *channel_id, char out[HIM_NAME_MAX + 1],
					  char **why) KITH_MUST_CHECK;

/* A JSON object {name: level} into *out: known names only, finite numbers
 * in [0, 1], at least one.  KITH_EINVAL with *why "path.name: reason"
 * (path names the object, e.g. "levels"). */
enum kith_status him_hormone_levels_parse(const json_t *obj, const char *path,
					  struct him_hormone_levels *out,
					  char **why) KITH_MUST_CHECK;
/* {name: level} of the present levels (new reference). */
json_t *him_hormone_levels_json(const struct him_hormone_levels *lv);

/* The PUT body {"levels": {...}, "at_ms"?: int} (untrusted bytes; fuzzed).
 * at_ms is 0..HIM_HORMONE_AT_MAX when given (has_at).  KITH_EINVAL with a
 * "field: reason" *why. */
struct him_hormones_put_body {
	struct him_hormone_levels levels;
	int64_t at_ms;
	bool has_at;
};
enum kith_status him_hormones_parse_put(const char *body, size_t len,
					struct him_hormones_put_body *out,
					char **why) KITH_MUST_CHECK;

/* Record a sample of channel_id's levels at at_ms (0..HIM_HORMONE_AT_MAX)
 * in the four buckets containing it; the channel's snapshot is created on
 * its first sample.  KITH_EINVAL for a bad id, levels or time (nothing is
 * written); KITH_EPROTO when a stored bucket is not one of ours. */
enum kith_status him_hormones_put(struct him *h, const char *channel_id,
				  const struct him_hormone_levels *lv, int64_t at_ms,
				  char **why) KITH_MUST_CHECK;

/* The latest sample of a channel (the one with the greatest at_ms; of equal
 * times, the last put).  KITH_ENOTFOUND when the channel has none. */
struct him_hormone_state {
	struct him_hormone_levels levels;
	int64_t at_ms;
};
enum kith_status him_hormones_get(struct him *h, const char *channel_id,
				  struct him_hormone_state *out, char **why) KITH_MUST_CHECK;

/* One bucket: the count of samples, and per hormone the number of samples
 * that named it, their mean, min and max, and the levels of its latest
 * sample. */
struct him_hormone_point {
	int64_t bucket_start_ms, bucket_ms;
	int64_t samples;
	int64_t counts[HIM_HORMONES];
	struct him_hormone_levels mean, min, max, last;
	int64_t last_at_ms;
};

/* The buckets of pyramid level `level` (0..3) that overlap [from_ms,
 * to_ms] (inclusive; from <= to), oldest first.  When more than `limit`
 * (1..HIM_HORMONE_HISTORY_MAX) overlap, the newest `limit` are returned and
 * *truncated (may be NULL) is set.  *out is a heap array (free()), NULL
 * when *n is 0.  KITH_ENOTFOUND when the channel has no history at all;
 * KITH_EINVAL for bad arguments. */
enum kith_status him_hormones_history(struct him *h, const char *channel_id, int level,
				      int64_t from_ms, int64_t to_ms, size_t limit,
				      struct him_hormone_point **out, size_t *n, bool *truncated,
				      char **why) KITH_MUST_CHECK;

/* A point as the API shows it: {bucket_start_ms, samples, levels, min, max}
 * (new reference). */
json_t *him_hormone_point_json(const struct him_hormone_point *p);

#endif
