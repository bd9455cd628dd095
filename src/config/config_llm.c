/* config_llm.c — turn the LLM settings into a struct llm_config.
 *
 * Three families of settings feed two wire protocols: OLLAMA_* (Penny)
 * speak Ollama's API; OPENROUTER_* (SEL) and LOCALAI_* (SEL HEAD) speak the
 * OpenAI one.  The family is chosen once, here, so nothing downstream ever
 * looks at provider names again.  Explicit beats inferred: LLM_PROVIDER
 * decides when given; otherwise the presence of a URL or key says which
 * system the .env was written for, and an empty configuration means a local
 * Ollama, the local-first default. */
#include <string.h>
#include <strings.h>

#include "config/config_int.h"
#include "core/alloc.h"

#define OPENROUTER_HOST "https://openrouter.ai/"

const char *cfg_llm_family(const struct config *c)
{
	const char *forced = config_str(c, CFG_LLM_PROVIDER);

	if (forced && strcmp(forced, "auto") != 0) {
		if (strcmp(forced, "openai") == 0)
			return "openrouter";
		return forced;
	}
	if (config_is_set(c, CFG_OLLAMA_API_URL))
		return "ollama";
	if (config_is_set(c, CFG_OPENROUTER_API_KEY) || config_is_set(c, CFG_OPENROUTER_BASE_URL))
		return "openrouter";
	return "ollama";
}

/* Copy of a URL without trailing slashes (keeps "scheme://host"). */
static char *strip_slashes(const char *u)
{
	size_t n = strlen(u);
	const char *auth = strstr(u, "://");
	size_t floor_n = auth ? (size_t)(auth - u) + 3 : 0;

	while (n > floor_n && u[n - 1] == '/')
		n--;
	return xstrndup(u, n);
}

/* LocalAI serves the OpenAI API under /v1; SEL users wrote the bare root. */
static char *localai_base(const char *u)
{
	char *base = strip_slashes(u);
	const char *auth = strstr(base, "://");
	char *out;

	if (auth && !strchr(auth + 3, '/')) {
		out = xasprintf("%s/v1", base);
		free(base);
		return out;
	}
	return base;
}

static double temp_if_set(const struct config *c, enum cfg_id id)
{
	return config_is_set(c, id) ? config_float(c, id) : -1;
}

enum kith_status config_llm(const struct config *c, struct llm_config *out, char **why)
{
	const char *family = cfg_llm_family(c);
	const char *embed;

	llm_config_init(out);
	out->timeout_ms = (long)(config_float(c, CFG_LLM_TIMEOUT) * 1000.0 + 0.5);
	out->max_attempts = (int)config_int(c, CFG_LLM_MAX_RETRIES) + 1;
	out->referer = xstrdup(config_str(c, CFG_OPENROUTER_REFERER));
	out->title = xstrdup(config_str(c, CFG_OPENROUTER_TITLE));

	if (strcmp(family, "ollama") == 0) {
		const char *main_model = config_str(c, CFG_OLLAMA_FOREGROUND_MODEL);
		const char *util = config_str(c, CFG_OLLAMA_BACKGROUND_MODEL);

		out->provider = LLM_PROVIDER_OLLAMA;
		out->base_url = strip_slashes(config_str(c, CFG_OLLAMA_API_URL));
		out->models[LLM_ROLE_MAIN] = xstrdup(main_model);
		out->models[LLM_ROLE_UTIL] = xstrdup(util ? util : main_model);
		out->models[LLM_ROLE_VISION] = xstrdup(config_str(c, CFG_OLLAMA_VISION_MODEL));
		embed = config_str(c, CFG_OLLAMA_EMBEDDING_MODEL);
		if (!embed)
			embed = config_str(c, CFG_MEMORY_EMBEDDING_MODEL);
		out->models[LLM_ROLE_EMBED] = xstrdup(embed);
		out->models[LLM_ROLE_IMAGE] = xstrdup(config_str(c, CFG_OLLAMA_IMAGE_MODEL));
		/* Ollama models carry their own tuned sampling defaults; only a
		 * temperature the user wrote down overrides them. */
		out->temperature[LLM_ROLE_MAIN] = temp_if_set(c, CFG_OPENROUTER_MAIN_TEMP);
		out->temperature[LLM_ROLE_UTIL] = temp_if_set(c, CFG_OPENROUTER_UTIL_TEMP);
		out->temperature[LLM_ROLE_VISION] = out->temperature[LLM_ROLE_UTIL];
		out->top_p = temp_if_set(c, CFG_OPENROUTER_TOP_P);
		return KITH_OK;
	}

	out->provider = LLM_PROVIDER_OPENAI;
	out->models[LLM_ROLE_EMBED] = xstrdup(config_str(c, CFG_MEMORY_EMBEDDING_MODEL));
	if (strcmp(family, "localai") == 0) {
		out->base_url = localai_base(config_str(c, CFG_LOCALAI_BASE_URL));
		out->api_key = xstrdup(config_str(c, CFG_LOCALAI_API_KEY));
		out->models[LLM_ROLE_MAIN] = xstrdup(config_str(c, CFG_LOCALAI_MAIN_MODEL));
		out->models[LLM_ROLE_UTIL] = xstrdup(config_str(c, CFG_LOCALAI_UTIL_MODEL));
		out->models[LLM_ROLE_VISION] = xstrdup(config_str(c, CFG_LOCALAI_VISION_MODEL));
		out->temperature[LLM_ROLE_MAIN] = config_float(c, CFG_LOCALAI_MAIN_TEMP);
		out->temperature[LLM_ROLE_UTIL] = config_float(c, CFG_LOCALAI_UTIL_TEMP);
		out->temperature[LLM_ROLE_VISION] = out->temperature[LLM_ROLE_UTIL];
		out->top_p = temp_if_set(c, CFG_OPENROUTER_TOP_P);
	} else {
		out->base_url = strip_slashes(config_str(c, CFG_OPENROUTER_BASE_URL));
		out->api_key = xstrdup(config_str(c, CFG_OPENROUTER_API_KEY));
		out->models[LLM_ROLE_MAIN] = xstrdup(config_str(c, CFG_OPENROUTER_MAIN_MODEL));
		out->models[LLM_ROLE_UTIL] = xstrdup(config_str(c, CFG_OPENROUTER_UTIL_MODEL));
		out->models[LLM_ROLE_VISION] = xstrdup(config_str(c, CFG_OPENROUTER_VISION_MODEL));
		out->temperature[LLM_ROLE_MAIN] = config_float(c, CFG_OPENROUTER_MAIN_TEMP);
		out->temperature[LLM_ROLE_UTIL] = config_float(c, CFG_OPENROUTER_UTIL_TEMP);
		/* SEL described images at the utility temperature. */
		out->temperature[LLM_ROLE_VISION] = out->temperature[LLM_ROLE_UTIL];
		out->top_p = config_float(c, CFG_OPENROUTER_TOP_P);
		if (!out->api_key &&
		    strncasecmp(out->base_url, OPENROUTER_HOST, strlen(OPENROUTER_HOST)) == 0) {
			enum kith_status rc = kith_why(why, KITH_ECONFIG,
				"OPENROUTER_API_KEY is required for %s (or set OPENROUTER_BASE_URL "
				"to a local server)", out->base_url);

			llm_config_release(out);
			return rc;
		}
	}
	if (!out->models[LLM_ROLE_UTIL])
		out->models[LLM_ROLE_UTIL] = xstrdup(out->models[LLM_ROLE_MAIN]);
	return KITH_OK;
}
