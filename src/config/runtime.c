/* runtime.c — saved /config values become overrides (runtime.h). */
#include "config/runtime.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "store/store.h"

#include <stdbool.h>
#include <string.h>

enum kith_status config_runtime_sync(const struct config *cfg, struct store *st, int64_t *seen,
				     char **why)
{
	struct store_setting *rows = NULL;
	size_t n = 0;
	bool saved[CFG_COUNT_] = { false };
	int64_t version = store_data_version(st);
	enum kith_status rc;

	if (seen && *seen >= 0 && version >= 0 && version == *seen)
		return KITH_OK;
	if ((rc = store_settings_list(st, &rows, &n, why)) != KITH_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		enum cfg_id id = config_lookup(rows[i].key);
		char *err = NULL;

		if (id == CFG_COUNT_ || !config_runtime_settable(id)) {
			log_warn("config", "ignoring the saved value of %s: it can't be changed at "
				 "run time", rows[i].key);
			continue;
		}
		if (config_override(cfg, id, rows[i].value, &err) != KITH_OK) {
			log_warn("config", "ignoring the saved value of %s: %s", rows[i].key, err);
			free(err);
			continue;
		}
		saved[id] = true;
	}
	for (int id = 0; id < CFG_COUNT_; id++) {
		if (!saved[id] && config_runtime_settable((enum cfg_id)id) &&
		    config_is_overridden(cfg, (enum cfg_id)id) &&
		    config_override(cfg, (enum cfg_id)id, NULL, NULL) != KITH_OK)
			log_warn("config", "could not drop the override of %s",
				 config_def((enum cfg_id)id)->name);
	}
	store_settings_free(rows, n);
	if (seen)
		*seen = version;
	return KITH_OK;
}
