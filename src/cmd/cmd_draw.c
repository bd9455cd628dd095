/* cmd_draw.c — /draw PROMPT: a picture from the Ollama image model
 * (tools/draw.h), sent as an attachment.
 *
 * The attachment is the answer, so the text is short.  The server is the
 * LLM client's when that client speaks to Ollama (one URL to configure),
 * else OLLAMA_API_URL: an OpenAI-compatible main provider can still draw
 * with a local Ollama. */
#include "cmd/cmd.h"

#include "agent/agent.h"
#include "config/config.h"
#include "core/alloc.h"
#include "llm/llm.h"
#include "tools/draw.h"

#include <stdlib.h>
#include <string.h>

static const char *image_model(const struct cmd_ctx *ctx)
{
	const struct config *cfg = ctx->deps ? ctx->deps->cfg : NULL;
	const char *m = cfg ? config_str(cfg, CFG_OLLAMA_IMAGE_MODEL) : NULL;

	if ((!m || !*m) && ctx->deps && ctx->deps->llm)
		m = llm_model(ctx->deps->llm, LLM_ROLE_IMAGE);
	return m && *m ? m : NULL;
}

static const char *base_url(const struct cmd_ctx *ctx)
{
	const struct config *cfg = ctx->deps ? ctx->deps->cfg : NULL;

	if (ctx->deps && ctx->deps->llm) {
		const struct llm_config *lc = llm_client_config(ctx->deps->llm);

		if (lc->provider == LLM_PROVIDER_OLLAMA && lc->base_url && *lc->base_url)
			return lc->base_url;
	}
	return cfg ? config_str(cfg, CFG_OLLAMA_API_URL) : NULL;
}

const char *cmd_draw_needs(const struct cmd_ctx *ctx)
{
	if (!image_model(ctx))
		return "Set OLLAMA_IMAGE_MODEL (an Ollama image-generation model) to use /draw.";
	return NULL;
}

enum kith_status cmd_draw(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct draw_params p = { 0 };
	struct draw_image img;
	const char *missing = cmd_draw_needs(ctx);
	char *why = NULL;
	enum kith_status rc;

	if (missing) {
		*reply = xstrdup(missing);
		return KITH_EUNSUPPORTED;
	}
	if (!*args) {
		*reply = xstrdup("Usage: /draw PROMPT, for example `/draw a lighthouse at dusk, "
				 "watercolour`.");
		return KITH_EINVAL;
	}
	if (strlen(args) > DRAW_PROMPT_MAX) {
		*reply = xasprintf("That prompt is too long (at most %d characters).",
				   DRAW_PROMPT_MAX);
		return KITH_EINVAL;
	}
	if (!ctx->out) {
		*reply = xstrdup("I can only send drawings where pictures can be attached.");
		return KITH_EUNSUPPORTED;
	}
	p.base_url = base_url(ctx);
	p.model = image_model(ctx);
	if (ctx->deps && ctx->deps->llm) {
		const struct llm_config *lc = llm_client_config(ctx->deps->llm);

		p.max_attempts = lc->max_attempts;
		p.retry_base_ms = lc->retry_base_ms;
	}
	rc = draw_generate(&p, args, &img, &why);
	if (rc == KITH_OK) {
		cmd_attach(ctx, img.mime, img.filename, img.data, img.len);
		*reply = xstrdup("Here you go.");
	} else {
		*reply = xasprintf("Couldn't draw that: %s", why ? why : kith_strerror(rc));
	}
	draw_image_release(&img);
	free(why);
	return rc;
}
