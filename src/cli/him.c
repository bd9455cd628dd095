/* him.c — `kith him serve|profile|fsck`: the HIM service and its tools.
 *
 * `serve` hands the API the configured embedder (the embedding model when
 * one is set, else the built-in hashing one) as a struct him_embedder, so
 * HIM itself never touches llm/.  An embedding model that cannot be reached
 * at start-up turns the semantic features off with a warning rather than
 * keeping the tile store from serving. */
#include "cli/cli.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/spawn.h"
#include "him/api.h"
#include "him/him.h"
#include "him/vindex.h"
#include "llm/embed.h"
#include "llm/llm.h"

#include <ctype.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct him_args {
	const char *dir;
	const char *host;
	int port;          /* -1 = from configuration */
};

static int parse_args(int argc, char **argv, struct him_args *a)
{
	a->dir = NULL;
	a->host = NULL;
	a->port = -1;
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;

		if (!v) {
			fprintf(stderr, "kith him: %s needs a value\n", argv[i]);
			return EXIT_USAGE;
		}
		if (strcmp(argv[i], "--data-dir") == 0) {
			a->dir = v;
		} else if (strcmp(argv[i], "--host") == 0) {
			a->host = v;
		} else if (strcmp(argv[i], "--port") == 0) {
			long p = strtol(v, &end, 10);

			if (!*v || *end || p < 0 || p > 65535) {
				fprintf(stderr, "kith him: --port expects 0..65535, got '%s'\n", v);
				return EXIT_USAGE;
			}
			a->port = (int)p;
		} else {
			fprintf(stderr, "kith him: unknown option %s\n", argv[i]);
			return EXIT_USAGE;
		}
		i++;
	}
	return 0;
}

static int signing_key(const struct config *cfg, unsigned char pk[32], int *have)
{
	const char *hex = config_str(cfg, CFG_HIM_SIGNING_PUBLIC_KEY);
	size_t n = 0;

	*have = 0;
	if (!hex)
		return 0;
	if (sodium_hex2bin(pk, 32, hex, strlen(hex), NULL, &n, NULL) != 0 || n != 32) {
		fprintf(stderr, "kith: invalid configuration: HIM_SIGNING_PUBLIC_KEY: expected 64 "
			"hex characters (an Ed25519 public key)\n");
		return EXIT_USAGE;
	}
	*have = 1;
	return 0;
}

static int open_him(struct app *app, const struct him_args *a, struct him **h)
{
	unsigned char pk[32];
	int have_key, rc;
	struct him_options o = { 0 };
	char *why = NULL;

	rc = signing_key(app->cfg, pk, &have_key);
	if (rc)
		return rc;
	o.dir = a->dir ? a->dir : config_him_dir(app->cfg);
	o.cache_bytes = (size_t)config_int(app->cfg, CFG_HIM_CACHE_MB) << 20;
	o.signing_pk = have_key ? pk : NULL;
	if (him_open(&o, h, &why) != KITH_OK) {
		fprintf(stderr, "kith: cannot open the HIM store at %s: %s\n", o.dir, why);
		free(why);
		return 1;
	}
	return 0;
}

/* What `serve` embeds with; all NULL when semantic features are off. */
struct serve_embedder {
	struct llm_client *llm;      /* only when a model is configured */
	struct embedder *e;
	struct him_embedder he;
};

static enum kith_status embed_texts(void *ctx, const char *const *texts, size_t n, float *out,
				    char **why)
{
	return embedder_embed(ctx, texts, n, out, NULL, why);
}

static void serve_embedder_release(struct serve_embedder *se)
{
	embedder_free(se->e);
	llm_client_free(se->llm);
	memset(se, 0, sizeof(*se));
}

/* The configured embedder, probed; false (with a warning) when semantic
 * features have to stay off; exit code 2 in *rc for a bad configuration. */
static bool serve_embedder_init(struct app *app, struct serve_embedder *se, int *rc)
{
	struct llm_config lc;
	char *why = NULL;
	int dim;

	memset(se, 0, sizeof(*se));
	*rc = 0;
	if (config_str(app->cfg, CFG_OLLAMA_EMBEDDING_MODEL) ||
	    config_str(app->cfg, CFG_MEMORY_EMBEDDING_MODEL)) {
		if (config_llm(app->cfg, &lc, &why) != KITH_OK) {
			fprintf(stderr, "kith: invalid configuration: %s\n", why);
			free(why);
			llm_config_release(&lc);
			*rc = EXIT_USAGE;
			return false;
		}
		se->llm = llm_client_new(&lc);
		llm_config_release(&lc);
	}
	if (embedder_from_config(app->cfg, se->llm, &se->e, &why) != KITH_OK) {
		fprintf(stderr, "kith: invalid configuration: %s\n", why);
		free(why);
		serve_embedder_release(se);
		*rc = EXIT_USAGE;
		return false;
	}
	if (embedder_probe(se->e, &why) != KITH_OK) {
		fprintf(stderr, "kith: warning: semantic records and queries are off: %s\n", why);
		log_warn("him", "semantic features off: %s", why);
		free(why);
		serve_embedder_release(se);
		return false;
	}
	dim = embedder_dim(se->e);
	if (dim > HIM_VINDEX_MAX_DIM) {
		fprintf(stderr, "kith: warning: semantic records and queries are off: %s has %d "
			"dimensions, the semantic index takes at most %d\n", embedder_id(se->e),
			dim, HIM_VINDEX_MAX_DIM);
		log_warn("him", "semantic features off: %s has %d dimensions (max %d)",
			 embedder_id(se->e), dim, HIM_VINDEX_MAX_DIM);
		serve_embedder_release(se);
		return false;
	}
	se->he = (struct him_embedder){ .model = embedder_id(se->e), .dim = dim,
					.embed = embed_texts, .ctx = se->e };
	log_info("him", "semantic records and queries embed with %s (%d dimensions)",
		 embedder_id(se->e), dim);
	return true;
}

static int him_serve(struct app *app, const struct him_args *a)
{
	struct him *h = NULL;
	struct him_api *srv = NULL;
	struct him_api_config ac = { 0 };
	struct serve_embedder se;
	sigset_t signals;
	char *why = NULL;
	int rc, sig = 0;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	if (serve_embedder_init(app, &se, &rc))
		ac.embedder = &se.he;
	else if (rc)
		return rc;
	rc = open_him(app, a, &h);
	if (rc) {
		serve_embedder_release(&se);
		return rc;
	}
	ac.host = a->host ? a->host : config_str(app->cfg, CFG_HIM_API_HOST);
	ac.port = a->port >= 0 ? a->port : (int)config_int(app->cfg, CFG_HIM_API_PORT);
	ac.token = config_str(app->cfg, CFG_HIM_API_TOKEN);
	ac.threads = (unsigned)config_int(app->cfg, CFG_HIM_API_THREADS);
	if (him_api_start(h, &ac, &srv, &why) != KITH_OK) {
		fprintf(stderr, "kith: %s\n", why);
		free(why);
		him_close(h);
		serve_embedder_release(&se);
		return 1;
	}
	printf("HIM serving %s on http://%s:%d\n", him_dir(h), ac.host, him_api_port(srv));
	fflush(stdout);
	log_info("him", "serving %s on %s:%d%s", him_dir(h), ac.host, him_api_port(srv),
		 ac.token ? " (token required)" : "");
	sigwait(&signals, &sig);
	log_info("him", "%s received; stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	him_api_stop(srv);
	him_close(h);
	serve_embedder_release(&se);
	return 0;
}

static void print_report_line(const char *line, void *ud)
{
	(void)ud;
	printf("%s\n", line);
}

static int him_fsck_cmd(struct app *app, const struct him_args *a)
{
	struct him *h = NULL;
	size_t problems = 0;
	char *why = NULL;
	int rc = open_him(app, a, &h);

	if (rc)
		return rc;
	if (him_fsck(h, print_report_line, NULL, &problems, &why) != KITH_OK) {
		fprintf(stderr, "kith: fsck failed: %s\n", why);
		free(why);
		rc = 1;
	} else {
		printf("%s: %zu problem%s\n", him_dir(h), problems, problems == 1 ? "" : "s");
		rc = problems ? 1 : 0;
	}
	him_close(h);
	return rc;
}

/* First "model name" line of /proc/cpuinfo, or the machine type. */
static char *cpu_model(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			struct slice s = slice_trim(slice_cstr(colon + 1));

			fclose(f);
			return slice_dup(s);
		}
	}
	if (f)
		fclose(f);
	return xstrdup("unknown");
}

static long long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long long v = -1;
	size_t kl = strlen(key);

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtoll(line + kl + 1, NULL, 10);
			break;
		}
	}
	if (f)
		fclose(f);
	return v;
}

static void print_gpus(void)
{
	const char *argv[] = { "nvidia-smi", "--query-gpu=name,memory.total",
			       "--format=csv,noheader,nounits", NULL };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;

	if (spawn_capture(argv, 5000, 16384, &out, &r, &why) != KITH_OK || r.exit_code != 0) {
		printf("  GPU       : none detected (nvidia-smi %s)\n",
		       why ? "not installed" : "found no GPU");
	} else {
		struct slice rest = slice_of(buf_str(&out), out.len), line;
		int i = 0;

		while (rest.n) {
			bool more = slice_split(rest, '\n', &line, &rest);

			line = slice_trim(line);
			if (line.n)
				printf("  GPU %d     : %.*s MiB\n", i++, (int)line.n, line.p);
			if (!more)
				break;
		}
	}
	free(why);
	buf_release(&out);
}

static int him_profile(struct app *app, const struct him_args *a)
{
	const char *dir = a->dir ? a->dir : config_him_dir(app->cfg);
	char *cpu = cpu_model();
	struct statvfs vfs;
	long long total = meminfo_kb("MemTotal"), avail = meminfo_kb("MemAvailable");

	printf("Hardware profile\n");
	printf("  CPU       : %s (%ld logical cores online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
	printf("  memory    : %.1f GiB total, %.1f GiB available\n", total / 1048576.0,
	       avail / 1048576.0);
	print_gpus();
	if (statvfs(dir, &vfs) == 0 ||
	    statvfs(config_data_dir(app->cfg), &vfs) == 0 || statvfs(".", &vfs) == 0)
		printf("  disk      : %.1f GiB total, %.1f GiB free (filesystem of %s)\n",
		       (double)vfs.f_blocks * vfs.f_frsize / 1073741824.0,
		       (double)vfs.f_bavail * vfs.f_frsize / 1073741824.0, dir);
	printf("HIM settings\n");
	printf("  store     : %s\n", dir);
	printf("  warm cache: %lld MiB (HIM_CACHE_MB)\n", config_int(app->cfg, CFG_HIM_CACHE_MB));
	printf("  threads   : %lld HTTP workers (HIM_API_THREADS), 1 prefetch thread\n",
	       config_int(app->cfg, CFG_HIM_API_THREADS));
	printf("  listen    : %s:%d%s\n",
	       a->host ? a->host : config_str(app->cfg, CFG_HIM_API_HOST),
	       a->port >= 0 ? a->port : (int)config_int(app->cfg, CFG_HIM_API_PORT),
	       config_str(app->cfg, CFG_HIM_API_TOKEN) ? " (bearer token set)" : "");
	free(cpu);
	return 0;
}

int cli_him(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct app *, const struct him_args *);
	} verbs[] = {
		{ "serve", him_serve }, { "profile", him_profile }, { "fsck", him_fsck_cmd },
	};
	struct him_args a;
	struct app app;
	int rc;

	for (size_t i = 0; argc > 1 && i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		rc = parse_args(argc, argv, &a);
		if (rc)
			return rc;
		rc = app_init(&app, strcmp(argv[1], "serve") == 0 ? 0 : APP_QUIET);
		if (!rc)
			rc = verbs[i].run(&app, &a);
		app_release(&app);
		return rc;
	}
	fprintf(stderr, "usage: kith him serve|profile|fsck [--data-dir DIR] [--host H] [--port N]\n");
	return EXIT_USAGE;
}
