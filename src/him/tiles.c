/* tiles.c — opening the store and reading tiles back.
 *
 * Opening makes the directory, opens the catalogue, then the intent
 * journal, which undoes a write that a crash interrupted (journal.c) before
 * anything can be served.  Ingest lives in ingest.c.
 *
 * Reads go warm cache → file; a file read decodes the delta chain and
 * verifies the BLAKE3 checksum, so a corrupt tile is reported, never
 * served.  The cache holds only verified payloads. */
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/log.h"

#include <sodium.h>
#include <zstd.h>
#include <string.h>
#include <time.h>

/* ---- reading ------------------------------------------------------------ */

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

enum kith_status him_load_payload(struct him *h, const struct him_row *row, bool count_access,
				  struct buf *payload, char **why)
{
	double t0 = mono_ms();
	const char *id = row->meta.tile_id;
	bool hit = count_access ? him_cache_get(h->cache, id, payload, NULL)
				: him_cache_peek(h->cache, id, payload);

	if (!hit) {
		unsigned char *raw = NULL;
		char *reason = NULL;
		size_t n = 0;
		enum kith_status rc = him_tile_read(h, row, true, &raw, &n, &reason);

		buf_reset(payload);
		if (rc == KITH_EPROTO) {
			log_warn("him", "tile %s is corrupt: %s", id, reason ? reason : "?");
			rc = kith_why(why, rc, "tile %s is corrupt: %s", id, reason ? reason : "?");
		} else if (rc) {
			rc = kith_why(why, rc, "tile %s: %s", id, reason ? reason : "unreadable");
		}
		free(reason);
		if (!rc) {
			rc = buf_append(payload, raw, n);
			if (rc)
				kith_why(why, rc, "tile %s is too large for the buffer", id);
		}
		if (!rc && count_access)
			him_cache_put(h->cache, id, raw, n, row->critical, false);
		free(raw);
		if (rc)
			return rc;
	}
	if (count_access) {
		him_note_access(h, id);
		him_metrics_get(h, mono_ms() - t0, hit);
	}
	return KITH_OK;
}

bool him_cache_stage(struct him *h, const struct him_row *row)
{
	unsigned char *raw = NULL;
	char *reason = NULL;
	size_t n = 0;

	if (him_cache_contains(h->cache, row->meta.tile_id))
		return true;
	if (him_tile_read(h, row, true, &raw, &n, &reason) == KITH_OK)
		him_cache_put(h->cache, row->meta.tile_id, raw, n, row->critical, true);
	else
		log_warn("him", "cannot stage tile %s: %s", row->meta.tile_id, reason ? reason : "?");
	free(reason);
	free(raw);
	return false;
}

static enum kith_status get_row(struct him *h, struct him_row *row, struct him_tile_meta *meta,
				struct buf *payload, char **why)
{
	struct buf scratch = BUF_INIT(0);
	enum kith_status rc = him_load_payload(h, row, true, payload ? payload : &scratch, why);

	buf_release(&scratch);
	if (!rc && meta)
		him_tile_meta_copy(meta, &row->meta);
	return rc;
}

enum kith_status him_get_tile(struct him *h, const char *stream, const char *snapshot_id,
			      int level, long x, long y, struct him_tile_meta *meta,
			      struct buf *payload, char **why)
{
	struct him_row row;
	sqlite3 *db;
	enum kith_status rc = him_check_name("stream", stream, why);

	if (meta)
		memset(meta, 0, sizeof(*meta));
	if (!rc)
		rc = him_check_name("snapshot_id", snapshot_id, why);
	if (rc)
		return rc;
	db = him_db_acquire(h);
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	rc = him_row_at(db, stream, snapshot_id, level, x, y, &row, why);
	him_db_release(h, db);
	if (rc)
		return rc;
	rc = get_row(h, &row, meta, payload, why);
	him_row_release(&row);
	return rc;
}

enum kith_status him_get_tile_by_id(struct him *h, const char *tile_id,
				    struct him_tile_meta *meta, struct buf *payload, char **why)
{
	struct him_row row;
	sqlite3 *db;
	enum kith_status rc;

	if (meta)
		memset(meta, 0, sizeof(*meta));
	if (!him_is_tile_id(tile_id))
		return kith_why(why, KITH_EINVAL, "a tile id is 64 lowercase hex characters");
	db = him_db_acquire(h);
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	rc = him_row_by_id(db, tile_id, &row, why);
	him_db_release(h, db);
	if (rc)
		return rc;
	rc = get_row(h, &row, meta, payload, why);
	him_row_release(&row);
	return rc;
}

/* ---- the store ---------------------------------------------------------- */

enum kith_status him_open(const struct him_options *o, struct him **out, char **why)
{
	struct him *h;
	size_t len;
	enum kith_status rc;

	*out = NULL;
	if (!o || !o->dir || !*o->dir)
		return kith_why(why, KITH_ECONFIG, "no HIM data directory (HIM_MEMORY_DIR)");
	if (sodium_init() < 0)
		return kith_why(why, KITH_ECONFIG, "libsodium failed to initialise");
	h = xcalloc(1, sizeof(*h));
	h->dir = xstrdup(o->dir);
	len = strlen(h->dir);
	while (len > 1 && h->dir[len - 1] == '/')
		h->dir[--len] = '\0';
	h->db_path = xasprintf("%s/him.db", h->dir);
	h->opts = *o;
	h->opts.dir = h->dir;
	h->opts.cache_bytes = o->cache_bytes ? o->cache_bytes : (size_t)256 << 20;
	h->opts.pin_touches = o->pin_touches > 0 ? o->pin_touches : 8;
	if (o->signing_pk) {
		memcpy(h->signing_pk, o->signing_pk, sizeof(h->signing_pk));
		h->verify_signatures = true;
	}
	h->opts.signing_pk = h->verify_signatures ? h->signing_pk : NULL;
	pthread_mutex_init(&h->pool_mu, NULL);
	pthread_mutex_init(&h->write_mu, NULL);
	pthread_mutex_init(&h->index_mu, NULL);
	h->journal.fd = -1;
	rc = him_make_dirs(h->dir, why);
	if (!rc)
		rc = him_catalog_open(h, why);
	if (!rc)
		rc = him_journal_open(h, why);
	if (rc) {
		him_close(h);
		return rc;
	}
	h->cache = him_cache_new(h->opts.cache_bytes, h->opts.pin_touches);
	h->metrics = him_metrics_new();
	h->access = him_access_new();
	h->prefetch = him_prefetcher_new(h);
	log_debug("him", "store %s open (cache %zu MiB, zstd %s, sqlite %s)", h->dir,
		 h->opts.cache_bytes >> 20, ZSTD_versionString(), sqlite3_libversion());
	*out = h;
	return KITH_OK;
}

void him_close(struct him *h)
{
	if (!h)
		return;
	if (h->prefetch)
		him_prefetcher_free(h->prefetch);
	if (h->access) {
		him_access_flush(h);
		him_access_free(h->access);
	}
	if (h->metrics)
		him_metrics_free(h->metrics);
	him_cache_free(h->cache);
	him_journal_close(h);
	him_catalog_close(h);
	pthread_mutex_destroy(&h->pool_mu);
	pthread_mutex_destroy(&h->write_mu);
	pthread_mutex_destroy(&h->index_mu);
	free(h->db_path);
	free(h->dir);
	free(h);
}

const char *him_dir(const struct him *h)
{
	return h->dir;
}
