/* memory_add.c — storing memories and embedding them, now or later.
 *
 * Rows go to the database first (one transaction), so a memory is kept and
 * keyword-searchable whatever the embedder does.  Then the new rows are
 * embedded in one batch and added to their scope's vector index under
 * their row ids; only after the index accepted them is embedded_with set,
 * so a crash in between leaves them pending and they are embedded again
 * (re-adding an id replaces its vector).  A failing embedder is logged and
 * leaves rows pending for memory_embed_pending and the background thread. */
#include "memory/memory_int.h"
#include "core/alloc.h"
#include "core/log.h"
#include "llm/embed.h"

#include <string.h>

#define PENDING_BATCH 256

static bool is_zero(const float *v, int dim)
{
	for (int i = 0; i < dim; i++)
		if (v[i] != 0.0f)
			return false;
	return true;
}

enum kith_status memory_embed_rows(struct memory *m, struct store *st,
				   const struct store_memory *rows, size_t n, char **why)
{
	const char *key;
	char **texts = NULL;
	float *vecs = NULL;
	int64_t *ids = NULL, *zero_ids = NULL;
	bool *done = NULL;
	enum kith_status rc;
	int dim;

	if (n == 0)
		return KITH_OK;
	rc = memory_key(m, &key, why);
	if (rc)
		return rc;
	dim = m->hemb.dim;
	texts = xcalloc(n, sizeof(*texts));
	for (size_t i = 0; i < n; i++)
		texts[i] = memory_embed_text(rows[i].speaker, rows[i].text, rows[i].context);
	vecs = xmalloc(n * (size_t)dim * sizeof(*vecs));
	rc = m->hemb.embed(m->hemb.ctx, (const char *const *)texts, n, vecs, why);
	if (rc)
		goto out;
	/* one index add per scope, rows of a scope kept together */
	ids = xmalloc(n * sizeof(*ids));
	zero_ids = xmalloc(n * sizeof(*zero_ids));
	done = xcalloc(n, sizeof(*done));
	float *grp = xmalloc(n * (size_t)dim * sizeof(*grp));
	for (size_t i = 0; i < n && !rc; i++) {
		struct him_vindex *vi;
		size_t g = 0;

		if (done[i])
			continue;
		size_t nz = 0;
		for (size_t j = i; j < n; j++) {
			if (done[j] || strcmp(rows[j].scope, rows[i].scope) != 0)
				continue;
			done[j] = true;
			/* a text without features (only punctuation) has a zero
			 * vector: nothing to index, but it is not pending either */
			if (is_zero(vecs + j * (size_t)dim, dim)) {
				zero_ids[nz++] = rows[j].id;
				continue;
			}
			ids[g] = rows[j].id;
			memcpy(grp + g * (size_t)dim, vecs + j * (size_t)dim,
			       (size_t)dim * sizeof(*grp));
			g++;
		}
		rc = memory_index_for(m, rows[i].scope, &vi, why);
		if (!rc && g)
			rc = him_vindex_add(vi, ids, grp, g, why);
		if (!rc)
			rc = store_memories_mark_embedded(st, ids, g, key, why);
		if (!rc)
			rc = store_memories_mark_embedded(st, zero_ids, nz, key, why);
	}
	free(grp);
out:
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(vecs);
	free(ids);
	free(zero_ids);
	free(done);
	return rc;
}

static enum kith_status check_new(const struct memory_new *in, char **why)
{
	if (!in->scope || !*in->scope)
		return kith_why(why, KITH_EINVAL, "a memory needs a scope");
	if (strlen(in->scope) > MEMORY_SCOPE_MAX)
		return kith_why(why, KITH_EINVAL, "memory scope is longer than %d bytes",
				MEMORY_SCOPE_MAX);
	if (!in->text || !*in->text)
		return kith_why(why, KITH_EINVAL, "a memory needs a text");
	return KITH_OK;
}

enum kith_status memory_add(struct memory *m, struct store *st, const struct memory_new *in,
			    size_t n, int64_t *ids, bool *dup, char **why)
{
	struct store_memory_new *rows = NULL;
	char (*digests)[65] = NULL;
	int64_t *rid = NULL;
	bool *rdup = NULL;
	struct store_memory *fresh = NULL;
	size_t nfresh = 0;
	enum kith_status rc = KITH_OK;

	if (n == 0)
		return KITH_OK;
	for (size_t i = 0; i < n && !rc; i++)
		rc = check_new(&in[i], why);
	if (rc)
		return rc;
	rows = xcalloc(n, sizeof(*rows));
	digests = xcalloc(n, sizeof(*digests));
	rid = xcalloc(n, sizeof(*rid));
	rdup = xcalloc(n, sizeof(*rdup));
	for (size_t i = 0; i < n; i++) {
		memory_digest(in[i].scope, in[i].text, digests[i]);
		rows[i] = (struct store_memory_new){
			.scope = in[i].scope, .speaker = in[i].speaker, .text = in[i].text,
			.tags = in[i].tags, .context = in[i].context, .salience = in[i].salience,
			.created_at = in[i].created_at, .source = in[i].source,
			.digest = digests[i],
		};
	}
	rc = store_memories_add(st, rows, n, rid, rdup, why);
	if (rc)
		goto out;
	/* embed the rows this call created (a batch may repeat a text: once) */
	fresh = xcalloc(n, sizeof(*fresh));
	for (size_t i = 0; i < n; i++) {
		bool seen = rdup[i];

		for (size_t j = 0; j < nfresh && !seen; j++)
			seen = fresh[j].id == rid[i];
		if (seen)
			continue;
		fresh[nfresh++] = (struct store_memory){
			.id = rid[i], .scope = (char *)in[i].scope, .speaker = (char *)in[i].speaker,
			.text = (char *)in[i].text, .context = (char *)in[i].context,
		};
	}
	char *ewhy = NULL;
	if (memory_embed_rows(m, st, fresh, nfresh, &ewhy) != KITH_OK) {
		log_warn("memory", "%zu memories stay pending: %s", nfresh, ewhy ? ewhy : "?");
		free(ewhy);
		memory_kick(m);
	}
	for (size_t i = 0; i < n; i++) {
		if (ids)
			ids[i] = rid[i];
		if (dup)
			dup[i] = rdup[i];
	}
out:
	free(fresh);
	free(rows);
	free(digests);
	free(rid);
	free(rdup);
	return rc;
}

enum kith_status memory_embed_pending(struct memory *m, struct store *st, size_t max,
				      size_t *done, char **why)
{
	const char *key;
	enum kith_status rc;
	size_t total = 0;

	if (done)
		*done = 0;
	pthread_mutex_lock(&m->embed_mu);
	rc = memory_key(m, &key, why);
	while (!rc && (max == 0 || total < max)) {
		struct store_memory *rows = NULL;
		size_t n = 0, want = PENDING_BATCH;

		if (max && max - total < want)
			want = max - total;
		rc = store_memories_pending(st, key, want, &rows, &n, why);
		if (!rc && n)
			rc = memory_embed_rows(m, st, rows, n, why);
		if (!rc)
			total += n;
		store_memories_free(rows, n);
		if (n < want)
			break;
	}
	pthread_mutex_unlock(&m->embed_mu);
	if (done)
		*done = total;
	return rc;
}
