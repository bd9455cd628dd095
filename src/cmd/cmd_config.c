/* cmd_config.c — /config: Penny's runtime settings, and /forget.
 *
 *   /config               every setting that can change while kith runs,
 *                         by group, with its value and where it came from
 *   /config KEY           one setting: value, origin, bounds and help
 *   /config KEY VALUE     validate, save in the database, apply at once
 *   /config KEY reset     drop the saved value (back to .env or default)
 *
 * Anyone may read; only the owner may change (an unset APPROVAL_USER_ID
 * means nobody), because the settings steer what kith does on its own.
 * The value is checked exactly as at start-up (config_check_value) before
 * anything is saved, so a refused value changes nothing.  Saved values
 * live in the runtime_config table and reach every process sharing the
 * database through config_runtime_sync (config/runtime.c). */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "config/config.h"
#include "config/runtime.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "store/store.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *type_phrase(const struct cfg_def *d, char *tmp, size_t n)
{
	switch (d->type) {
	case CFG_T_INT: snprintf(tmp, n, "a whole number %.15g–%.15g", d->min, d->max); return tmp;
	case CFG_T_FLOAT: snprintf(tmp, n, "a number %.15g–%.15g", d->min, d->max); return tmp;
	case CFG_T_BOOL: return "true or false";
	case CFG_T_ENUM: snprintf(tmp, n, "one of %s", d->choices); return tmp;
	case CFG_T_LIST: return "a comma-separated list";
	default: return "text";
	}
}

static void value_line(struct buf *b, const struct config *cfg, enum cfg_id id)
{
	const char *v = config_str(cfg, id);

	buf_printf(b, "%s = %s", config_def(id)->name, v ? v : "(unset)");
	if (config_is_overridden(cfg, id))
		buf_puts(b, " (set with /config)");
	buf_puts(b, "\n");
}

static enum kith_status list_all(const struct config *cfg, char **reply)
{
	struct buf b = BUF_INIT(0);
	const char *group = NULL;

	buf_puts(&b, "Runtime settings (change one with /config KEY VALUE):\n");
	for (int i = 0; i < CFG_COUNT_; i++) {
		const struct cfg_def *d = config_def((enum cfg_id)i);

		if (!config_runtime_settable((enum cfg_id)i))
			continue;
		if (!group || strcmp(group, d->group) != 0) {
			group = d->group;
			buf_printf(&b, "\n%s\n", group);
		}
		value_line(&b, cfg, (enum cfg_id)i);
	}
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	*reply = buf_detach(&b);
	return KITH_OK;
}

static enum kith_status show_one(const struct config *cfg, enum cfg_id id, char **reply)
{
	const struct cfg_def *d = config_def(id);
	const char *base = config_base_text(cfg, id);
	struct buf b = BUF_INIT(0);
	char tmp[160];

	value_line(&b, cfg, id);
	buf_printf(&b, "%s.\nTakes %s. From: %s.", d->help, type_phrase(d, tmp, sizeof(tmp)),
		   config_origin(cfg, id));
	if (config_is_overridden(cfg, id))
		buf_printf(&b, " Without it: %s.", base ? base : "(unset)");
	*reply = buf_detach(&b);
	return KITH_OK;
}

/* A CFG_RUNTIME setting named (case-insensitively) by `key`; CFG_COUNT_ if
 * none, with *reply saying why. */
static enum cfg_id runtime_id(const char *key, size_t n, char **reply)
{
	char name[96];
	enum cfg_id id;

	if (n == 0 || n >= sizeof(name)) {
		*reply = xstrdup("Unknown setting. /config lists the ones that can be changed.");
		return CFG_COUNT_;
	}
	for (size_t i = 0; i < n; i++)
		name[i] = (char)toupper((unsigned char)key[i]);
	name[n] = '\0';
	id = config_lookup(name);
	if (id == CFG_COUNT_) {
		*reply = xasprintf("Unknown setting %s. /config lists the ones that can be changed.",
				   name);
		return CFG_COUNT_;
	}
	if (!config_runtime_settable(id)) {
		*reply = xasprintf("%s is read once at start-up: set it in .env or the environment "
				   "and restart.", name);
		return CFG_COUNT_;
	}
	return id;
}

static enum kith_status change(const struct cmd_ctx *ctx, enum cfg_id id, const char *value,
			       char **reply)
{
	const struct config *cfg = ctx->deps->cfg;
	const char *name = config_def(id)->name;
	char *norm = NULL, *why = NULL;
	enum kith_status rc;
	bool reset = strcasecmp(value, "reset") == 0 || strcasecmp(value, "default") == 0;

	if (!cmd_is_owner(ctx)) {
		const char *owner = config_str(cfg, CFG_APPROVAL_USER_ID);

		*reply = owner && *owner ? xstrdup("Only the owner may change settings.")
					 : xstrdup("Only the owner may change settings, and no owner "
						   "is configured: set APPROVAL_USER_ID.");
		return KITH_EAUTH;
	}
	if (!ctx->st) {
		*reply = xstrdup("Settings are kept in the database, and none is open here.");
		return KITH_EUNSUPPORTED;
	}
	if (reset) {
		rc = store_setting_delete(ctx->st, name, &why);
		if (rc == KITH_ENOTFOUND) {
			*reply = xasprintf("%s has no saved value; it stays %s.", name,
					   config_str(cfg, id) ? config_str(cfg, id) : "unset");
			free(why);
			return KITH_OK;
		}
	} else {
		if ((rc = config_check_value(id, value, &norm, &why)) != KITH_OK) {
			*reply = xasprintf("Not changed: %s", why);
			free(why);
			return KITH_EINVAL;
		}
		rc = store_setting_put(ctx->st, name, norm, cmd_author(ctx), &why);
	}
	if (rc == KITH_OK)
		rc = config_override(cfg, id, reset ? NULL : norm, &why);
	if (rc) {
		*reply = xasprintf("Not changed: %s", why ? why : kith_strerror(rc));
		free(why);
		free(norm);
		return rc;
	}
	*reply = reset ? xasprintf("%s is back to %s.", name,
				   config_str(cfg, id) ? config_str(cfg, id) : "unset")
		       : xasprintf("%s is now %s.", name, norm);
	free(norm);
	return KITH_OK;
}

enum kith_status cmd_config(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const struct config *cfg = ctx->deps ? ctx->deps->cfg : NULL;
	struct slice all = slice_trim(slice_cstr(args)), key, value;
	enum cfg_id id;

	if (!cfg) {
		*reply = xstrdup("No configuration is loaded here.");
		return KITH_EUNSUPPORTED;
	}
	if (all.n == 0)
		return list_all(cfg, reply);
	if (!slice_split(all, ' ', &key, &value))
		value = slice_of("", 0);
	id = runtime_id(key.p, key.n, reply);
	if (id == CFG_COUNT_)
		return KITH_ENOTFOUND;
	value = slice_trim(value);
	if (value.n == 0)
		return show_one(cfg, id, reply);
	{
		char *v = slice_dup(value);
		enum kith_status rc = change(ctx, id, v, reply);

		free(v);
		return rc;
	}
}

enum kith_status cmd_forget(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	char *with = xasprintf("forget %s", args);
	enum kith_status rc = cmd_memory(ctx, with, reply);

	free(with);
	return rc;
}
