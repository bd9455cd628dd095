/* tilefile.c — the on-disk tile format and atomic file writes.
 *
 * A tile file is a fixed 112-byte header (magic, version, encoding, delta
 * depth, raw size, tile id, checksum of the raw payload, delta base id; see
 * him_int.h) followed by one zstd frame.  Full tiles are plain zstd level 3;
 * delta tiles are zstd with the base tile's raw payload referenced as a
 * prefix dictionary (ZSTD_CCtx_refPrefix), which turns "mostly the same as
 * the parent" into a few back-references.  The header makes a file
 * self-describing, so fsck can name an orphan and readers can reject a file
 * that belongs to another tile.  Decoding always ends with the BLAKE3
 * checksum of the result: a file that decodes to the wrong bytes is corrupt.
 *
 * Writes are atomic — a temp file in the target directory, renamed into
 * place — but not synced: the write section makes a whole batch durable
 * with one syncfs before its COMMIT (journal.c), which is far cheaper than
 * syncing every file and directory, and a file that a crash leaves half
 * written was never catalogued, so the journal's recovery removes it.
 * Reading a catalogued tile follows its delta chain through the catalogue
 * (at most HIM_MAX_DELTA_DEPTH hops) and checks the header against the row
 * before decoding. */
#include "him/him_int.h"
#include "him/blake3.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define WINDOW_LOG_MAX 27   /* 128 MiB: a 64 MiB base plus a 64 MiB payload */
#define LDM_FROM (1u << 20)  /* deltas over base + payload this large use LDM */

static const unsigned char zero_id[32];

static void put_u64le(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64le(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 64 hex chars → 32 bytes; "" or NULL → zeros. */
static void id_to_bin(const char *hex, unsigned char out[32])
{
	memset(out, 0, 32);
	if (!hex || !him_is_tile_id(hex))
		return;
	for (int i = 0; i < 32; i++)
		out[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
}

static enum kith_status zstd_error(char **why, const char *doing, size_t r)
{
	return kith_why(why, KITH_EPROTO, "%s: %s", doing, ZSTD_getErrorName(r));
}

/* Window large enough for the frame to reach back over the whole base. */
static int delta_window_log(size_t base_len, size_t raw_len)
{
	uint64_t need = (uint64_t)base_len + raw_len;
	int log = 10;   /* ZSTD_WINDOWLOG_MIN (static-linking-only API) */

	while (log < WINDOW_LOG_MAX && ((uint64_t)1 << log) < need)
		log++;
	return log;
}

static void write_header(const struct him_tilefile *hdr, unsigned char *p)
{
	memset(p, 0, HIM_TILEFILE_HEADER);
	memcpy(p, HIM_TILEFILE_MAGIC, 4);
	p[4] = HIM_TILEFILE_VERSION;
	p[5] = (unsigned char)hdr->encoding;
	p[6] = (unsigned char)hdr->depth;
	put_u64le(p + 8, hdr->raw_size);
	id_to_bin(hdr->tile_id, p + 16);
	id_to_bin(hdr->checksum, p + 48);
	if (hdr->encoding == HIM_ENC_DELTA)
		id_to_bin(hdr->base_id, p + 80);
}

enum kith_status him_tilefile_encode(const struct him_tilefile *hdr, const void *raw,
				     const void *base, size_t base_len, unsigned char **image,
				     size_t *len, char **why)
{
	size_t bound = ZSTD_compressBound(hdr->raw_size), r;
	unsigned char *out = xmalloc(HIM_TILEFILE_HEADER + bound);
	ZSTD_CCtx *cc = ZSTD_createCCtx();

	*image = NULL;
	KITH_ASSERT(cc);
	r = ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, HIM_ZSTD_LEVEL);
	if (!ZSTD_isError(r) && base) {
		r = ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog,
					   delta_window_log(base_len, hdr->raw_size));
		/* level 3's hash tables forget most of a large prefix; long
		 * distance matching finds it (64 MiB + 3 changed bytes: 63 MB
		 * without, 7 KB with).  Decoding needs nothing extra. */
		if (!ZSTD_isError(r) && base_len + hdr->raw_size > LDM_FROM)
			r = ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1);
		if (!ZSTD_isError(r))
			r = ZSTD_CCtx_refPrefix(cc, base, base_len);
	}
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(cc, out + HIM_TILEFILE_HEADER, bound, raw ? raw : "",
				   hdr->raw_size);
	ZSTD_freeCCtx(cc);
	if (ZSTD_isError(r)) {
		free(out);
		return zstd_error(why, "compressing a tile", r);
	}
	write_header(hdr, out);
	*image = out;
	*len = HIM_TILEFILE_HEADER + r;
	return KITH_OK;
}

enum kith_status him_tilefile_parse(const void *image, size_t len, struct him_tilefile *hdr,
				    char **reason)
{
	const unsigned char *p = image;

	memset(hdr, 0, sizeof(*hdr));
	if (len < HIM_TILEFILE_HEADER)
		return kith_why(reason, KITH_EPROTO, "file too short (%zu bytes)", len);
	if (memcmp(p, HIM_TILEFILE_MAGIC, 4) != 0)
		return kith_why(reason, KITH_EPROTO, "bad header: not a tile file");
	if (p[4] != HIM_TILEFILE_VERSION)
		return kith_why(reason, KITH_EPROTO, "bad header: unknown format version %u",
				p[4]);
	hdr->encoding = p[5];
	hdr->depth = p[6];
	hdr->raw_size = get_u64le(p + 8);
	blake3_to_hex(p + 16, 32, hdr->tile_id);
	blake3_to_hex(p + 48, 32, hdr->checksum);
	if (hdr->encoding == HIM_ENC_DELTA)
		blake3_to_hex(p + 80, 32, hdr->base_id);
	if (hdr->encoding != HIM_ENC_FULL && hdr->encoding != HIM_ENC_DELTA)
		return kith_why(reason, KITH_EPROTO, "bad header: unknown encoding %d",
				hdr->encoding);
	if (hdr->encoding == HIM_ENC_FULL &&
	    (hdr->depth != 0 || memcmp(p + 80, zero_id, 32) != 0))
		return kith_why(reason, KITH_EPROTO, "bad header: full tile with a delta base");
	if (hdr->encoding == HIM_ENC_DELTA &&
	    (hdr->depth < 1 || hdr->depth > HIM_MAX_DELTA_DEPTH))
		return kith_why(reason, KITH_EPROTO, "bad header: delta depth %d out of range",
				hdr->depth);
	if (p[7] != 0)
		return kith_why(reason, KITH_EPROTO, "bad header: reserved byte set");
	if (hdr->raw_size > HIM_MAX_PAYLOAD)
		return kith_why(reason, KITH_EPROTO, "bad header: raw size %llu too large",
				(unsigned long long)hdr->raw_size);
	return KITH_OK;
}

enum kith_status him_tilefile_decode(const struct him_tilefile *hdr, const void *image,
				     size_t len, const void *base, size_t base_len,
				     unsigned char **raw, char **reason)
{
	const unsigned char *frame = (const unsigned char *)image + HIM_TILEFILE_HEADER;
	size_t frame_len, r;
	unsigned long long content;
	unsigned char *out;
	ZSTD_DCtx *dc;
	char sum[HIM_ID_HEX + 1];

	*raw = NULL;
	if (len < HIM_TILEFILE_HEADER)
		return kith_why(reason, KITH_EPROTO, "file too short");
	frame_len = len - HIM_TILEFILE_HEADER;
	content = ZSTD_getFrameContentSize(frame, frame_len);
	if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN)
		return kith_why(reason, KITH_EPROTO, "cannot decode: not a sized zstd frame");
	if (content != hdr->raw_size)
		return kith_why(reason, KITH_EPROTO, "cannot decode: frame holds %llu bytes, header says %llu",
				content, (unsigned long long)hdr->raw_size);
	if (hdr->encoding == HIM_ENC_DELTA && !base)
		return kith_why(reason, KITH_EPROTO, "cannot decode: delta base not available");
	out = xmalloc(hdr->raw_size + 1);
	dc = ZSTD_createDCtx();
	KITH_ASSERT(dc);
	r = ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
	if (!ZSTD_isError(r) && hdr->encoding == HIM_ENC_DELTA)
		r = ZSTD_DCtx_refPrefix(dc, base, base_len);
	if (!ZSTD_isError(r))
		r = ZSTD_decompressDCtx(dc, out, hdr->raw_size, frame, frame_len);
	ZSTD_freeDCtx(dc);
	if (ZSTD_isError(r)) {
		free(out);
		return zstd_error(reason, "cannot decode", r);
	}
	if (r != hdr->raw_size) {
		free(out);
		return kith_why(reason, KITH_EPROTO, "cannot decode: short frame");
	}
	blake3_hex(out, hdr->raw_size, sum);
	if (strcmp(sum, hdr->checksum) != 0) {
		free(out);
		return kith_why(reason, KITH_EPROTO, "checksum mismatch");
	}
	*raw = out;
	return KITH_OK;
}

enum kith_status him_fsync_dir(const char *dir, char **why)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enum kith_status rc = KITH_OK;

	if (fd < 0)
		return kith_why(why, KITH_EIO, "cannot open directory %s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		rc = kith_why(why, KITH_EIO, "cannot sync directory %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/* mkdir one directory; when it is new and `sync`, sync its parent so that
 * a crash cannot lose the path to a file renamed into it. */
static enum kith_status make_dir(char *dir, bool sync, char **why)
{
	char *slash;
	enum kith_status rc;

	if (mkdir(dir, 0700) != 0)
		return errno == EEXIST ? KITH_OK
				       : kith_why(why, KITH_EIO, "cannot create directory %s: %s",
						  dir, strerror(errno));
	if (!sync)
		return KITH_OK;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return him_fsync_dir(slash ? "/" : ".", why);
	*slash = '\0';
	rc = him_fsync_dir(dir, why);
	*slash = '/';
	return rc;
}

/* mkdir -p (0700). */
static enum kith_status make_dirs(char *dir, bool sync, char **why)
{
	struct stat st;

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? KITH_OK
					   : kith_why(why, KITH_EIO, "%s is not a directory", dir);
	for (char *p = dir + 1; *p; p++) {
		enum kith_status rc;

		if (*p != '/')
			continue;
		*p = '\0';
		rc = make_dir(dir, sync, why);
		*p = '/';
		if (rc)
			return rc;
	}
	return make_dir(dir, sync, why);
}

enum kith_status him_make_dirs(const char *dir, char **why)
{
	char *copy = xstrdup(dir);
	enum kith_status rc = make_dirs(copy, true, why);

	free(copy);
	return rc;
}

static enum kith_status write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return KITH_EIO;
		p += w;
		n -= (size_t)w;
	}
	return KITH_OK;
}

enum kith_status him_tilefile_write(const char *path, const void *image, size_t len, char **why)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/'), *tmp = NULL;
	enum kith_status rc;
	int fd = -1;

	KITH_ASSERT(slash && slash != dir);
	*slash = '\0';
	rc = make_dirs(dir, false, why);
	if (rc)
		goto out;
	tmp = xasprintf("%s/.%s" HIM_TMP_MARK "XXXXXX", dir, slash + 1);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = kith_why(why, KITH_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
		goto out;
	}
	if (write_all(fd, image, len) != KITH_OK) {
		rc = kith_why(why, KITH_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = kith_why(why, KITH_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = kith_why(why, KITH_EIO, "cannot rename %s to %s: %s", tmp, path,
			      strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

enum kith_status him_tilefile_read(const char *path, unsigned char **image, size_t *len,
				   char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t max = HIM_TILEFILE_HEADER + ZSTD_compressBound(HIM_MAX_PAYLOAD), got = 0;
	struct stat st;
	unsigned char *p;

	*image = NULL;
	*len = 0;
	if (fd < 0)
		return errno == ENOENT ? kith_why(why, KITH_ENOTFOUND, "file missing")
				       : kith_why(why, KITH_EIO, "cannot open file: %s",
						  strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return kith_why(why, KITH_EPROTO, "not a regular tile file of sane size");
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(p);
		return kith_why(why, KITH_EIO, "cannot read file");
	}
	*image = p;
	*len = got;
	return KITH_OK;
}

/* ---- reading a catalogued tile ----------------------------------------- */

char *him_tile_path(const struct him *h, const struct him_tile_meta *m)
{
	char *rel = him_tile_relpath(m->stream, m->snapshot_id, m->level, m->x, m->y, m->tile_id);
	char *path = xasprintf("%s/%s", h->dir, rel);

	free(rel);
	return path;
}

static enum kith_status read_chain(struct him *h, const struct him_row *row, bool use_cache,
				   int hops, unsigned char **raw, size_t *n, char **reason);

/* The raw payload of a delta base: warm copy or its own file. */
static enum kith_status read_base(struct him *h, const char *base_id, bool use_cache, int hops,
				  unsigned char **raw, size_t *n, char **reason)
{
	sqlite3 *db = him_db_acquire(h);
	struct him_row base;
	struct buf warm = BUF_INIT(0);
	char *sub = NULL;
	enum kith_status rc;

	if (!db)
		return kith_why(reason, KITH_EDB, "cannot open %s", h->db_path);
	rc = him_row_by_id(db, base_id, &base, NULL);
	him_db_release(h, db);
	if (rc)
		return kith_why(reason, KITH_EPROTO, "delta parent %s is not catalogued", base_id);
	if (use_cache && him_cache_peek(h->cache, base_id, &warm)) {
		*n = warm.len;
		*raw = (unsigned char *)buf_detach(&warm);
	} else {
		rc = read_chain(h, &base, use_cache, hops, raw, n, &sub);
		if (rc)
			rc = kith_why(reason, rc, "delta parent %s: %s", base_id, sub ? sub : "unreadable");
	}
	free(sub);
	him_row_release(&base);
	return rc;
}

static enum kith_status read_chain(struct him *h, const struct him_row *row, bool use_cache,
				   int hops, unsigned char **raw, size_t *n, char **reason)
{
	char *path = him_tile_path(h, &row->meta);
	unsigned char *img = NULL, *base = NULL;
	size_t len = 0, base_len = 0;
	struct him_tilefile hdr;
	enum kith_status rc = him_tilefile_read(path, &img, &len, reason);

	*raw = NULL;
	if (rc == KITH_ENOTFOUND)
		rc = KITH_EPROTO;
	if (!rc)
		rc = him_tilefile_parse(img, len, &hdr, reason);
	if (rc)
		goto out;
	if (strcmp(hdr.tile_id, row->meta.tile_id) != 0)
		rc = kith_why(reason, KITH_EPROTO, "file belongs to tile %s", hdr.tile_id);
	else if (strcmp(hdr.checksum, row->meta.checksum) != 0)
		rc = kith_why(reason, KITH_EPROTO, "checksum mismatch (header)");
	else if (hdr.raw_size != row->meta.size_bytes)
		rc = kith_why(reason, KITH_EPROTO, "size mismatch (header says %llu)",
			      (unsigned long long)hdr.raw_size);
	else if (hdr.encoding == HIM_ENC_DELTA && hops >= HIM_MAX_DELTA_DEPTH)
		rc = kith_why(reason, KITH_EPROTO, "delta chain deeper than %d", HIM_MAX_DELTA_DEPTH);
	else if (hdr.encoding == HIM_ENC_DELTA)
		rc = read_base(h, hdr.base_id, use_cache, hops + 1, &base, &base_len, reason);
	if (!rc)
		rc = him_tilefile_decode(&hdr, img, len, base, base_len, raw, reason);
	if (!rc)
		*n = hdr.raw_size;
out:
	free(base);
	free(img);
	free(path);
	return rc;
}

enum kith_status him_tile_read(struct him *h, const struct him_row *row, bool use_cache,
			       unsigned char **raw, size_t *n, char **reason)
{
	*n = 0;
	return read_chain(h, row, use_cache, 0, raw, n, reason);
}
