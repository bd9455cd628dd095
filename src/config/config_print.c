/* config_print.c — show the effective configuration without leaking it.
 *
 * `kith config` is what people paste into bug reports, so everything here
 * assumes the output will be public: secrets show at most their last four
 * characters (enough to tell two keys apart), URL passwords are starred,
 * and control characters are escaped so a value cannot forge extra lines.
 * The same knowledge of what is secret feeds log_add_secret(). */
#include <string.h>

#include "config/config_int.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"

static void put_escaped(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}

static void put_value(FILE *out, const char *s)
{
	char *red = cfg_redact_url(s);

	put_escaped(out, red);
	free(red);
}

static void put_origin(const struct config *c, enum cfg_id id, FILE *out)
{
	const struct cfg_slot *s = cfg_slot_of(c, id);

	if (s->src == CFG_SRC_DOTENV)
		fprintf(out, "   (%s:%d)\n", c->files[s->file], s->line);
	else if (s->src == CFG_SRC_ENV)
		fputs("   (environment)\n", out);
	else if (s->src == CFG_SRC_DB)
		fputs("   (database, /config)\n", out);
	else
		fputs("   (default)\n", out);
}

static void put_secret(FILE *out, const char *s)
{
	size_t n = strlen(s);

	fputs("****", out);
	if (n >= 12)
		put_escaped(out, s + n - 4);
}

/* One line for a setting that has a value or is a secret (so a missing
 * key is visible); nothing otherwise.  The group heading goes out before
 * the first line of its group, so empty groups print nothing. */
static void print_setting(const struct config *c, enum cfg_id id, int width,
			  const char **pending_group, FILE *out)
{
	const struct cfg_def *d = config_def(id);
	const struct cfg_slot *s = cfg_slot_of(c, id);

	if (!s->text && !(d->flags & CFG_SECRET))
		return;
	if (*pending_group) {
		fprintf(out, "\n[%s]\n", *pending_group);
		*pending_group = NULL;
	}
	if (!s->text) {
		fprintf(out, "%-*s = (unset)\n", width, d->name);
		return;
	}
	fprintf(out, "%-*s = ", width, d->name);
	if (d->flags & CFG_SECRET) {
		put_secret(out, s->text);
	} else if (d->type == CFG_T_LIST) {
		if (!s->list || !s->list[0])
			fputs("(empty)", out);
		for (char **p = s->list; p && *p; p++) {
			if (p != s->list)
				fputs(", ", out);
			put_value(out, *p);
		}
	} else {
		put_value(out, s->text);
	}
	put_origin(c, id, out);
}

static void print_llm(const struct config *c, FILE *out)
{
	struct llm_config llm;
	char *why = NULL;

	if (config_llm(c, &llm, &why) != KITH_OK) {
		fputs("LLM       : not usable: ", out);
		put_escaped(out, why ? why : "invalid settings");
		fputc('\n', out);
		free(why);
		return;
	}
	fprintf(out, "LLM       : %s at ", llm_provider_name(llm.provider));
	put_value(out, llm.base_url);
	fprintf(out, " (%s settings)\n", cfg_llm_family(c));
	for (int r = 0; r < LLM_ROLE_COUNT_; r++) {
		fprintf(out, "  %-7s : ", llm_role_name((enum llm_role)r));
		if (llm.models[r])
			put_escaped(out, llm.models[r]);
		else
			fputs("(none)", out);
		if (llm.models[r] && llm.temperature[r] >= 0)
			fprintf(out, "  temperature %g", llm.temperature[r]);
		fputc('\n', out);
	}
	llm_config_release(&llm);
}

void config_print(const struct config *c, FILE *out)
{
	fputs("# kith configuration: NAME = value   (origin); secrets are masked\n", out);
	fputs("data dir  : ", out);
	put_escaped(out, c->data_dir);
	fputs("\ndatabase  : ", out);
	put_escaped(out, c->db_path);
	if (c->db_postgres)
		fputs("   (DATABASE_URL names PostgreSQL, not supported yet: using SQLite here)", out);
	fputs("\nHIM dir   : ", out);
	put_escaped(out, c->him_dir);
	fputc('\n', out);
	print_llm(c, out);

	for (size_t i = 0; i < CFG_COUNT_; i++) {
		const char *group = config_def((enum cfg_id)i)->group, *pending;
		bool seen = false;
		int width = 0;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(config_def((enum cfg_id)j)->group, group) == 0;
		if (seen)
			continue;
		for (size_t j = i; j < CFG_COUNT_; j++) {
			const struct cfg_def *d = config_def((enum cfg_id)j);

			if (strcmp(d->group, group) == 0 && (int)strlen(d->name) > width)
				width = (int)strlen(d->name);
		}
		pending = group;
		for (size_t j = i; j < CFG_COUNT_; j++)
			if (strcmp(config_def((enum cfg_id)j)->group, group) == 0)
				print_setting(c, (enum cfg_id)j, width, &pending, out);
	}
}

void config_register_secrets(const struct config *c)
{
	for (size_t i = 0; i < CFG_COUNT_; i++) {
		const struct cfg_def *d = config_def((enum cfg_id)i);
		const char *text = cfg_slot_of(c, (enum cfg_id)i)->text;
		char *pw;

		if (!text || !config_is_set(c, (enum cfg_id)i))
			continue;
		if (d->flags & CFG_SECRET)
			log_add_secret(text);
		/* A password inside a URL (postgres://user:pw@host) is a secret too. */
		pw = cfg_url_password(text);
		if (pw)
			log_add_secret(pw);
		free(pw);
	}
}
