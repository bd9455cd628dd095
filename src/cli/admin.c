/* admin.c — the small administrative subcommands: config, migrate, version. */
#include "cli/cli.h"
#include "config/config.h"
#include "store/store.h"

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <string.h>

int cli_config(int argc, char **argv)
{
	struct config *cfg = NULL;
	char *why = NULL;

	if (config_load(&cfg, NULL, NULL, &why) != KITH_OK) {
		fprintf(stderr, "kith: invalid configuration: %s\n", why ? why : "unknown error");
		free(why);
		return EXIT_USAGE;
	}
	config_print(cfg, stdout);
	config_free(cfg);
	return 0;
}

int cli_migrate(int argc, char **argv)
{
	struct app app;
	char *why = NULL;
	int rc, version = 0;

	if (argc > 1 && strcmp(argv[1], "--validate") == 0) {
		if (store_migrations_validate(&why) != KITH_OK) {
			fprintf(stderr, "kith: migrations are invalid: %s\n", why);
			free(why);
			return 1;
		}
		printf("migrations OK: 1..%04d, no duplicates\n", store_migrations_latest());
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: kith migrate [--validate]\n");
		return EXIT_USAGE;
	}
	rc = app_init(&app, APP_STORE | APP_QUIET);
	if (!rc && store_schema_version(app.st, &version, &why) == KITH_OK)
		printf("database %s is at schema %04d\n", config_db_path(app.cfg), version);
	free(why);
	app_release(&app);
	return rc;
}

int cli_version(int argc, char **argv)
{
	printf("kith %s\nlibcurl %s, SQLite %s, jansson %s, libmicrohttpd %s\n", KITH_VERSION,
	       curl_version_info(CURLVERSION_NOW)->version, sqlite3_libversion(), JANSSON_VERSION,
	       MHD_get_version());
	return 0;
}
