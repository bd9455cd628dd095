/* eval.c — `kith eval locomo PATH [--k 5,10,25,50] [--json] [--category N]`:
 * retrieval quality of kith's memory on the LoCoMo benchmark, with the
 * configured embedder (the built-in hashing one when none is configured).
 * Argument parsing and printing only; the work is memory/locomo*.c. */
#include "cli/cli.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "llm/embed.h"
#include "llm/llm.h"
#include "memory/locomo.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_FILE_MAX (512L << 20)

static const char *const category_names[] = {
	"overall", "multi-hop", "temporal", "open-domain", "single-hop", "adversarial",
};

static int usage(void)
{
	fprintf(stderr, "usage: kith eval locomo PATH [--k 5,10,25,50] [--json] [--category N]\n");
	return EXIT_USAGE;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_ks(const char *s, int *ks, size_t *nk)
{
	char *copy = xstrdup(s), *p = copy;
	bool ok = true;

	*nk = 0;
	while (ok && p) {
		char *comma = strchr(p, ',');
		long v;

		if (comma)
			*comma = '\0';
		ok = *nk < LOCOMO_MAX_K && parse_long(p, 1, LOCOMO_K_MAX, &v);
		if (ok)
			ks[(*nk)++] = (int)v;
		p = comma ? comma + 1 : NULL;
	}
	free(copy);
	return ok && *nk > 0;
}

static char *read_file(const char *path, size_t *len, char **why)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		kith_why(why, KITH_EIO, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		data = xgrow(data, &cap, n + 65536, 1);
		size_t got = fread(data + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
		if (n > (size_t)EVAL_FILE_MAX) {
			kith_why(why, KITH_ETOOBIG, "%s is larger than %ld MiB", path,
				 EVAL_FILE_MAX >> 20);
			free(data);
			fclose(f);
			return NULL;
		}
	}
	if (ferror(f)) {
		kith_why(why, KITH_EIO, "cannot read %s", path);
		free(data);
		data = NULL;
	}
	fclose(f);
	*len = n;
	return data;
}

static void progress(const char *conv, size_t done, size_t total, void *ud)
{
	(void)ud;
	fprintf(stderr, "kith: %s (%zu/%zu)\n", conv, done + 1, total);
}

static void print_table(const struct locomo *l, const struct locomo_score *s, const char *emb)
{
	const struct locomo_stats *st = &l->stats;

	printf("LoCoMo retrieval — embedder %s, %zu conversations, %zu questions scored\n\n", emb,
	       l->n, s->count[0]);
	printf("%-14s %5s  %-*s  %s\n", "", "", (int)(7 * s->nk), "recall@k (%)",
	       "session recall@k (%)");
	printf("%-14s %5s", "category", "n");
	for (int pass = 0; pass < 2; pass++) {
		printf(pass ? "  " : "");
		for (size_t k = 0; k < s->nk; k++) {
			char h[16];
			snprintf(h, sizeof h, "@%d", s->ks[k]);
			printf(" %6s", h);
		}
	}
	printf("\n");
	for (int c = 1; c <= LOCOMO_CATEGORIES + 1; c++) {
		int cat = c % (LOCOMO_CATEGORIES + 1);   /* categories first, overall last */
		char name[32];

		if (cat && s->count[cat] == 0)
			continue;
		if (cat)
			snprintf(name, sizeof name, "%d %s", cat, category_names[cat]);
		else
			snprintf(name, sizeof name, "%s", category_names[0]);
		printf("%-14s %5zu", name, s->count[cat]);
		for (int pass = 0; pass < 2; pass++) {
			printf(pass ? "  " : "");
			for (size_t k = 0; k < s->nk; k++)
				printf(" %6.1f", 100 * locomo_score_mean(s, cat, k, pass == 1));
		}
		printf("\n");
	}
	printf("\nskipped/malformed: %zu evidence strings split, %zu invalid pieces dropped, "
	       "%zu repaired, %zu ids of missing turns (never retrievable), %zu questions "
	       "without evidence skipped, %zu turns dropped, %zu dates unparsed\n",
	       st->split, st->invalid, st->repaired, st->missing, s->skipped, st->bad_turns,
	       st->bad_dates);
}

static void print_json(const struct locomo *l, const struct locomo_score *s, const char *emb)
{
	json_t *o = json_object(), *ks = json_array(), *rec = json_object(),
	       *ses = json_object(), *cnt = json_object(), *ev = json_object();
	char *text;

	for (size_t k = 0; k < s->nk; k++)
		json_array_append_new(ks, json_integer(s->ks[k]));
	for (int cat = 0; cat <= LOCOMO_CATEGORIES; cat++) {
		json_t *r = json_object(), *x = json_object();

		if (cat && s->count[cat] == 0) {
			json_decref(r);
			json_decref(x);
			continue;
		}
		for (size_t k = 0; k < s->nk; k++) {
			char key[16];
			snprintf(key, sizeof key, "%d", s->ks[k]);
			json_object_set_new(r, key, json_real(locomo_score_mean(s, cat, k, false)));
			json_object_set_new(x, key, json_real(locomo_score_mean(s, cat, k, true)));
		}
		json_object_set_new(rec, category_names[cat], r);
		json_object_set_new(ses, category_names[cat], x);
		json_object_set_new(cnt, category_names[cat], json_integer((json_int_t)s->count[cat]));
	}
	json_object_set_new(ev, "split", json_integer((json_int_t)l->stats.split));
	json_object_set_new(ev, "invalid", json_integer((json_int_t)l->stats.invalid));
	json_object_set_new(ev, "repaired", json_integer((json_int_t)l->stats.repaired));
	json_object_set_new(ev, "missing", json_integer((json_int_t)l->stats.missing));
	json_object_set_new(ev, "no_evidence", json_integer((json_int_t)s->skipped));
	json_object_set_new(ev, "bad_turns", json_integer((json_int_t)l->stats.bad_turns));
	json_object_set_new(ev, "bad_dates", json_integer((json_int_t)l->stats.bad_dates));
	json_object_set_new(o, "embedder", json_string(emb));
	json_object_set_new(o, "conversations", json_integer((json_int_t)l->n));
	json_object_set_new(o, "questions", json_integer((json_int_t)s->count[0]));
	json_object_set_new(o, "k", ks);
	json_object_set_new(o, "recall", rec);
	json_object_set_new(o, "session_recall", ses);
	json_object_set_new(o, "counts", cnt);
	json_object_set_new(o, "malformed", ev);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(text ? text : "{}");
	free(text);
	json_decref(o);
}

static int eval_locomo(int argc, char **argv)
{
	int ks[LOCOMO_MAX_K] = { 5, 10, 25, 50 };
	size_t nk = 4, len = 0;
	long category = 0;
	bool json = false;
	const char *path = NULL;
	struct config *cfg = NULL;
	struct llm_client *llm = NULL;
	struct embedder *emb = NULL;
	struct locomo *l = NULL;
	struct locomo_score score;
	struct locomo_run_options ro = { 0 };
	struct llm_config lc;
	char *data = NULL, *why = NULL, *embname = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--k") == 0 && i + 1 < argc) {
			if (!parse_ks(argv[++i], ks, &nk))
				return usage();
		} else if (strcmp(argv[i], "--category") == 0 && i + 1 < argc) {
			if (!parse_long(argv[++i], 1, LOCOMO_CATEGORIES, &category))
				return usage();
		} else if (argv[i][0] == '-' || path) {
			return usage();
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return usage();
	if (config_load(&cfg, NULL, NULL, &why) != KITH_OK) {
		fprintf(stderr, "kith: invalid configuration: %s\n", why ? why : "unknown error");
		free(why);
		return EXIT_USAGE;
	}
	log_set_stderr_level(LOG_WARN);
	if (config_llm(cfg, &lc, &why) == KITH_OK)
		llm = llm_client_new(&lc);
	llm_config_release(&lc);
	free(why);
	why = NULL;
	if (embedder_from_config(cfg, llm, &emb, &why) != KITH_OK) {
		fprintf(stderr, "kith: no embedder: %s\n", why ? why : "unknown error");
		rc = EXIT_USAGE;
		goto out;
	}
	data = read_file(path, &len, &why);
	if (!data || locomo_parse(data, len, &l, &why) != KITH_OK) {
		fprintf(stderr, "kith: %s: %s\n", path, why ? why : "unreadable");
		goto out;
	}
	locomo_score_init(&score, ks, nk);
	ro.embedder = emb;
	ro.category = (int)category;
	ro.progress = json ? NULL : progress;
	if (locomo_run(l, &ro, &score, &why) != KITH_OK) {
		fprintf(stderr, "kith: evaluation failed: %s\n", why ? why : "unknown error");
		goto out;
	}
	embname = xasprintf("%s:%d", embedder_id(emb), embedder_dim(emb));
	if (json)
		print_json(l, &score, embname);
	else
		print_table(l, &score, embname);
	rc = 0;
out:
	free(embname);
	free(why);
	free(data);
	locomo_free(l);
	embedder_free(emb);
	llm_client_free(llm);
	config_free(cfg);
	return rc;
}

int cli_eval(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "locomo") != 0)
		return usage();
	return eval_locomo(argc - 1, argv + 1);
}
