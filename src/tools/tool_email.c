/* tool_email.c — the agent's email tools: search_emails and read_emails.
 *
 * Thin on purpose: the settings are read on every call (they may change at
 * run time), arguments are checked before anything goes on the wire (a
 * date the model made up is a tool error it can correct, not a JMAP
 * invalidArguments), and the JMAP client turns the answers into text.
 * Penny summarises read emails with a second model call; here the model
 * that asked reads the bodies itself (cut at EMAIL_BODY_MAX_LENGTH). */
#include "agent/tools.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/json.h"
#include "tools/jmap.h"

#include <string.h>

static void conn_from(const struct tool_ctx *ctx, struct jmap_conn *conn)
{
	double secs = config_float(ctx->cfg, CFG_JMAP_REQUEST_TIMEOUT);

	memset(conn, 0, sizeof(*conn));
	conn->session_url = config_str(ctx->cfg, CFG_JMAP_SESSION_URL);
	conn->token = config_str(ctx->cfg, CFG_FASTMAIL_API_TOKEN);
	conn->timeout_ms = secs > 0 ? (long)(secs * 1000) : 0;
	conn->cancel = ctx->cancel;
}

/* A trimmed, non-empty string argument, or NULL. */
static const char *arg(const json_t *args, const char *key)
{
	const char *s = kjson_str(args, key);

	while (s && (*s == ' ' || *s == '\t'))
		s++;
	return s && *s ? s : NULL;
}

static enum kith_status run_search(const struct tool_ctx *ctx, const json_t *args, char **result,
				   char **why)
{
	struct jmap_filter f = { arg(args, "text"), arg(args, "from_addr"), arg(args, "subject"),
				 NULL, NULL };
	const char *after = arg(args, "after"), *before = arg(args, "before");
	char *a = NULL, *b = NULL;
	struct jmap_conn conn;
	struct jmap_emails found;
	enum kith_status rc = KITH_OK;

	memset(&found, 0, sizeof(found));
	if (after)
		rc = jmap_utc_date(after, &a, why);
	if (!rc && before)
		rc = jmap_utc_date(before, &b, why);
	if (rc)
		goto out;
	f.after = a;
	f.before = b;
	conn_from(ctx, &conn);
	rc = jmap_search(jmap_shared(), &conn, &f, JMAP_SEARCH_LIMIT, &found, why);
	if (!rc)
		*result = jmap_format_search(&found);
out:
	jmap_emails_release(&found);
	free(a);
	free(b);
	return rc;
}

static enum kith_status run_read(const struct tool_ctx *ctx, const json_t *args, char **result,
				 char **why)
{
	const json_t *list = kjson_arr(args, "email_ids");
	const char *ids[JMAP_READ_MAX_IDS];
	size_t n = 0, total = json_array_size(list);
	long long body_max = config_int(ctx->cfg, CFG_EMAIL_BODY_MAX_LENGTH);
	struct jmap_conn conn;
	struct jmap_emails got;
	enum kith_status rc;

	for (size_t i = 0; i < total && n < JMAP_READ_MAX_IDS; i++) {
		const char *id = json_string_value(json_array_get(list, i));
		bool dup = false;

		for (size_t k = 0; id && k < n; k++)
			dup = dup || strcmp(ids[k], id) == 0;
		if (id && *id && !dup)
			ids[n++] = id;
	}
	if (!n)
		return kith_why(why, KITH_EINVAL, "no email ids were given: pass the ids in "
				"brackets from search_emails");
	conn_from(ctx, &conn);
	rc = jmap_read(jmap_shared(), &conn, ids, n, body_max > 0 ? (size_t)body_max : 0, &got,
		       why);
	if (!rc) {
		char *text = jmap_format_read(&got);

		*result = total > JMAP_READ_MAX_IDS
				  ? xasprintf("%s\n\n(Only the first %d ids were read.)", text,
					      JMAP_READ_MAX_IDS)
				  : xstrdup(text);
		free(text);
	}
	jmap_emails_release(&got);
	return rc;
}

const struct tool_def tool_search_emails = {
	.name = "search_emails",
	.description = "Search the owner's email (newest first, at most 10 results). Each result "
		       "shows its id in brackets, the date, the sender, the subject and a short "
		       "preview. Give at least one condition; all given conditions must match.",
	.parameters = "{\"type\":\"object\",\"properties\":{"
		      "\"text\":{\"type\":\"string\",\"description\":\"words anywhere in the email\"},"
		      "\"from_addr\":{\"type\":\"string\",\"description\":\"sender name or address\"},"
		      "\"subject\":{\"type\":\"string\",\"description\":\"words in the subject\"},"
		      "\"after\":{\"type\":\"string\",\"description\":\"only emails received on or "
		      "after this UTC date, YYYY-MM-DD\"},"
		      "\"before\":{\"type\":\"string\",\"description\":\"only emails received before "
		      "this UTC date, YYYY-MM-DD\"}},"
		      "\"additionalProperties\":false}",
	.run = run_search,
};

const struct tool_def tool_read_emails = {
	.name = "read_emails",
	.description = "Read the full text of emails found by search_emails (up to 10 at once): "
		       "subject, sender, date and body.",
	.parameters = "{\"type\":\"object\",\"properties\":{"
		      "\"email_ids\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
		      "\"description\":\"ids from search_emails, without the brackets\"}},"
		      "\"required\":[\"email_ids\"],\"additionalProperties\":false}",
	.run = run_read,
};
