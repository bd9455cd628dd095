/* run.c — running an agent and choosing one for a message, over the
 * registry's agents of the moment.
 *
 * Both work on copies taken under the registry lock and hold no lock while
 * an agent runs or the classify hook thinks, so a slow agent delays neither
 * reloads nor other messages.  Every failure is turned into one sentence
 * that names the agent, fit to show the person who asked. */
#include "plugin/plugin_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <string.h>

#include "kith/plugin.h"

bool plugins_has(struct plugins *p, const char *name)
{
	struct plugin_info i;
	bool found = plugins_lookup_(p, name, &i, NULL, NULL);

	plugin_info_release(&i);
	return found;
}

static enum kith_status failed(const char *name, const struct plugin_outcome *how,
			       int timeout_ms, char **why)
{
	if (how->timed_out)
		return kith_why(why, KITH_ETIMEDOUT, "agent %s timed out after %g s", name,
				timeout_ms / 1000.0);
	if (how->term_signal)
		return kith_why(why, KITH_EIO, "agent %s crashed (signal %d)", name,
				how->term_signal);
	if (how->truncated)
		return kith_why(why, KITH_EIO, "agent %s sent more than kith reads", name);
	return kith_why(why, KITH_EIO, "agent %s exited without answering (exit status %d)", name,
			how->exit_code);
}

static enum kith_status run_so(const struct plugin_info *a, const char *input, int timeout_ms,
			       size_t max_output, char **result, char **why)
{
	struct plugin_reply rep;
	struct plugin_outcome how;
	char *perr = NULL;
	enum kith_status rc = plugin_so_call(a->path, input, timeout_ms, max_output, &rep, &how,
					     &perr);

	if (how.timed_out || how.term_signal || how.truncated || how.exit_code)
		rc = failed(a->name, &how, timeout_ms, why);
	else if (rc)
		rc = kith_why(why, KITH_EIO, "agent %s answered in a form kith cannot read: %s",
			      a->name, perr ? perr : kith_strerror(rc));
	else if (rep.error)
		rc = kith_why(why, KITH_EIO, "agent %s could not run: %s", a->name, rep.error);
	else if (!rep.has_abi || rep.abi != KITH_PLUGIN_ABI_VERSION)
		rc = kith_why(why, KITH_EIO, "agent %s was built for plugin ABI %d; kith loads "
			      "version %d", a->name, rep.abi, KITH_PLUGIN_ABI_VERSION);
	else if (!rep.has_status)
		rc = kith_why(why, KITH_EIO, "agent %s gave no answer", a->name);
	else if (rep.status != 0)
		rc = rep.output && *rep.output
			     ? kith_why(why, KITH_EIO, "agent %s failed: %s", a->name, rep.output)
			     : kith_why(why, KITH_EIO, "agent %s failed (it returned %d)", a->name,
					rep.status);
	else
		*result = xstrdup(rep.output ? rep.output : "");
	free(perr);
	plugin_reply_release(&rep);
	return rc;
}

/* The first line of what the program said on stderr, else stdout. */
static char *complaint(const struct buf *err, const struct buf *out)
{
	const struct buf *b = err->len ? err : out;
	const char *nl = memchr(buf_str(b), '\n', b->len);

	return plugin_text_clean(buf_str(b), nl ? (size_t)(nl - buf_str(b)) : b->len,
				 PLUGIN_ERROR_MAX, true);
}

static enum kith_status run_exec(const struct plugin_info *a, const char *input, int timeout_ms,
				 size_t max_output, char **result, char **why)
{
	struct buf out = BUF_INIT(0), err = BUF_INIT(0);
	struct plugin_outcome how;
	char *serr = NULL, *said;
	enum kith_status rc = plugin_exec_call(a->path, input, timeout_ms, max_output, &out, &err,
					       &how, &serr);

	if (rc == KITH_OK) {
		*result = plugin_text_clean(buf_str(&out), out.len, max_output, false);
		if (how.truncated)
			log_info(PLUGIN_LOG, "%s wrote more than %zu bytes; the rest was dropped",
				 a->name, max_output);
	} else if (rc != KITH_EIO) {
		rc = kith_why(why, KITH_EIO, "agent %s could not be started: %s", a->name,
			      serr ? serr : kith_strerror(rc));
	} else if (how.timed_out || how.term_signal) {
		rc = failed(a->name, &how, timeout_ms, why);
	} else {
		said = complaint(&err, &out);
		if (*said)
			rc = kith_why(why, KITH_EIO, "agent %s failed (exit status %d): %s",
				      a->name, how.exit_code, said);
		else
			rc = kith_why(why, KITH_EIO, "agent %s failed (exit status %d)", a->name,
				      how.exit_code);
		free(said);
	}
	free(serr);
	buf_release(&out);
	buf_release(&err);
	return rc;
}

enum kith_status plugins_run(struct plugins *p, const char *name, const char *input,
			     char **result, char **why)
{
	struct plugin_info a;
	int timeout_ms;
	size_t max_output;
	int64_t t0 = clock_mono_ms();
	char *reason = NULL;
	enum kith_status rc;

	*result = NULL;
	if (!plugins_lookup_(p, name, &a, &timeout_ms, &max_output)) {
		plugin_info_release(&a);
		return kith_why(why, KITH_ENOTFOUND, "there is no agent named %s",
				name ? name : "(none)");
	}
	if (!input)
		input = "";
	rc = a.kind == PLUGIN_SHARED ? run_so(&a, input, timeout_ms, max_output, result, &reason)
				     : run_exec(&a, input, timeout_ms, max_output, result, &reason);
	if (rc) {
		log_warn(PLUGIN_LOG, "%s", reason);
		if (why && !*why)
			*why = reason;
		else
			free(reason);
	} else {
		log_info(PLUGIN_LOG, "ran %s (%s): %zu bytes in, %zu out, %lld ms", a.name,
			 plugin_kind_name(a.kind), strlen(input), strlen(*result),
			 (long long)(clock_mono_ms() - t0));
	}
	plugin_info_release(&a);
	return rc;
}

/* ---- choosing an agent ------------------------------------------------ */

bool plugins_detect(struct plugins *p, const char *text, plugin_classify_fn classify,
		    void *ud, struct plugin_match *out)
{
	struct plugin_info *a = NULL;
	struct plugin_candidate *c;
	size_t n = plugins_list(p, &a);
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (n == 0 || !text)
		return false;
	c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		c[i].name = a[i].name;
		c[i].description = a[i].description;
		c[i].keywords = (const char *const *)a[i].keywords;
	}
	found = plugin_detect_explicit(c, n, text, out) || plugin_detect_keyword(c, n, text, out);
	if (!found && classify && classify(ud, c, n, text, out)) {
		for (size_t i = 0; i < n && !found; i++)
			found = out->agent && strcmp(out->agent, c[i].name) == 0;
		if (found) {
			out->how = PLUGIN_BY_MODEL;
			if (!out->input)
				out->input = xstrdup(text);
		} else {
			plugin_match_release(out);
		}
	}
	free(c);
	plugin_info_free(a, n);
	return found;
}
