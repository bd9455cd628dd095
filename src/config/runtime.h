/* runtime.h — the database layer of the settings (Penny's /config).
 *
 * /config saves a value in the runtime_config table and overrides the
 * setting in the running process at once (config_override).  Other
 * processes and threads that share the database pick saved values up with
 * config_runtime_sync, which the background scheduler calls before every
 * tick and `kith run` at start: rows become overrides, removed rows stop
 * overriding, and a saved value that no longer validates (a bound changed
 * in a new version) is skipped with a warning. */
#ifndef KITH_CONFIG_RUNTIME_H
#define KITH_CONFIG_RUNTIME_H

#include <stdint.h>

#include "core/status.h"

struct config;
struct store;

/* Apply the saved values.  `*seen` (may be NULL) is the database version
 * last synced: when unchanged nothing is read.  Start it at -1. */
enum kith_status config_runtime_sync(const struct config *cfg, struct store *st, int64_t *seen,
				     char **why) KITH_MUST_CHECK;

#endif
