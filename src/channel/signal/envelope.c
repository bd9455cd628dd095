/* envelope.c — parsing what signal-cli-rest-api sends: receive frames
 * (envelopes), the poll array, /v2/send answers, error bodies, /v1/about.
 *
 * Pure functions over untrusted text, every field checked for type and
 * unknown keys ignored; versions differ in whether empty arrays and null
 * fields are sent, and in whether timestamps are numbers or strings, so
 * both are read.  What is not for kith — typing, receipts, sync messages
 * from the account's other devices (kith's own sends come back that way
 * too), stories, calls, group updates, another account's traffic, kith's
 * own messages — comes out as SG_IGNORE with a reason for the debug log.
 * A reaction removal is ignored as well: nothing downstream undoes one. */
#include "channel/signal/signal_int.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* An integer or a decimal string, > 0. */
static int64_t ts_of(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
	if (json_is_string(v))
		return sg_parse_ts(json_string_value(v));
	return 0;
}

static char *str_of(const json_t *obj, const char *key)
{
	const char *s = kjson_str(obj, key);

	return s && *s ? xstrdup(s) : NULL;
}

/* The first non-empty of several keys. */
static char *first_str(const json_t *obj, const char *a, const char *b, const char *c)
{
	char *s = str_of(obj, a);

	if (!s && b)
		s = str_of(obj, b);
	if (!s && c)
		s = str_of(obj, c);
	return s;
}

void sg_event_release(struct sg_event *e)
{
	if (!e)
		return;
	free(e->source);
	free(e->source_name);
	free(e->group_id);
	free(e->conversation);
	free(e->text);
	free(e->quote_author);
	free(e->quote_text);
	for (size_t i = 0; i < e->natts; i++) {
		free(e->atts[i].id);
		free(e->atts[i].content_type);
		free(e->atts[i].filename);
	}
	free(e->atts);
	free(e->target_author);
	memset(e, 0, sizeof(*e));
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Text with surrounding whitespace removed (caller frees). */
static char *stripped(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s, n);
}

/* Mentions: the text holds U+FFFC where each one goes; put "@name" there
 * (in order of `start`) and note whether one is us. */
static char *with_mentions(const char *text, const json_t *mentions, const char *self,
			   bool *mentions_self)
{
	static const char obj[] = "\xEF\xBF\xBC";
	struct buf o = BUF_INIT(0);
	const json_t **order = NULL;
	size_t n = json_is_array(mentions) ? json_array_size(mentions) : 0, used = 0, k = 0;

	if (n > 64)
		n = 64;
	order = n ? xcalloc(n, sizeof(*order)) : NULL;
	for (size_t i = 0; i < n; i++) {
		const json_t *m = json_array_get(mentions, i);
		long long st = 0, st2 = 0;
		size_t at = k;

		if (!json_is_object(m))
			continue;
		if (same(kjson_str(m, "number"), self))
			*mentions_self = true;
		(void)kjson_int(m, "start", &st);
		while (at > 0 && kjson_int(order[at - 1], "start", &st2) && st2 > st) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = m;
		k++;
	}
	for (const char *p = text; *p;) {
		if (strncmp(p, obj, 3) == 0 && used < k) {
			const json_t *m = order[used++];
			const char *name = kjson_str(m, "name");

			if (!name || !*name)
				name = kjson_str(m, "number");
			if (!name || !*name)
				name = kjson_str(m, "uuid");
			(void)buf_printf(&o, "@%s", name && *name ? name : "someone");
			p += 3;
			continue;
		}
		(void)buf_append(&o, p, 1);
		p++;
	}
	free(order);
	return buf_detach(&o);
}

static void parse_attachments(const json_t *arr, struct sg_event *e)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;

	if (n > 32)
		n = 32;
	for (size_t i = 0; i < n; i++) {
		const json_t *a = json_array_get(arr, i);
		const char *id = kjson_str(a, "id");
		long long size = -1;
		struct sg_attachment *x;

		if (!id || !*id)
			continue;
		if (!e->atts)
			e->atts = xcalloc(n, sizeof(*e->atts));
		x = &e->atts[e->natts++];
		x->id = xstrdup(id);
		x->content_type = str_of(a, "contentType");
		x->filename = str_of(a, "filename");
		x->size = kjson_int(a, "size", &size) && size >= 0 ? size : -1;
	}
}

/* Where a data message belongs: the group, else the sender. */
static void set_conversation(struct sg_event *e, const json_t *dm)
{
	const char *gid = kjson_str(kjson_obj(dm, "groupInfo"), "groupId");

	if (gid && *gid) {
		e->group_id = xstrdup(gid);
		e->conversation = signal_group_conversation(gid);
	} else {
		e->conversation = xstrdup(e->source);
	}
}

static void parse_reaction(const json_t *r, struct sg_event *e)
{
	json_t *emoji = json_object_get(r, "emoji");
	const char *em = json_is_string(emoji) ? json_string_value(emoji)
		: kjson_str(emoji, "value");
	bool remove = false;

	(void)kjson_bool(r, "isRemove", &remove);
	e->target_ts = ts_of(r, "targetSentTimestamp");
	if (remove) {
		e->ignored = "a reaction was removed";
		return;
	}
	if (!em || !*em || !e->target_ts) {
		e->ignored = "a reaction without an emoji or a target";
		return;
	}
	e->kind = SG_REACTION;
	e->text = xstrdup(em);
	e->target_author = first_str(r, "targetAuthorNumber", "targetAuthor", "targetAuthorUuid");
}

static void parse_data(const json_t *dm, const char *self, struct sg_event *e)
{
	const json_t *quote = kjson_obj(dm, "quote");
	const json_t *reaction = kjson_obj(dm, "reaction");
	const char *msg = kjson_str(dm, "message");
	int64_t ts = ts_of(dm, "timestamp");

	if (ts)
		e->timestamp = ts;
	set_conversation(e, dm);
	if (reaction) {
		parse_reaction(reaction, e);
		return;
	}
	if (kjson_obj(dm, "remoteDelete")) {
		e->ignored = "a remote delete";
		return;
	}
	parse_attachments(kjson_arr(dm, "attachments"), e);
	if (msg) {
		char *t = with_mentions(msg, kjson_arr(dm, "mentions"), self, &e->mentions_self);

		e->text = stripped(t, strlen(t));
		free(t);
	}
	if ((!e->text || !*e->text) && !e->natts) {
		e->ignored = "no text and no attachments";
		return;
	}
	if (!e->text)
		e->text = xstrdup("");
	if (quote) {
		e->quote_id = ts_of(quote, "id");
		if (e->quote_id) {
			e->quote_author = first_str(quote, "authorNumber", "author", "authorUuid");
			e->quote_text = str_of(quote, "text");
		}
	}
	e->kind = SG_MESSAGE;
}

enum kith_status sg_envelope_parse(const char *p, size_t n, const char *self,
				   struct sg_event *out, char **why)
{
	json_t *root = kjson_parse(p, n, why), *env, *dm, *edit;
	const char *account, *err;
	enum kith_status st = KITH_OK;

	memset(out, 0, sizeof(*out));
	if (!root)
		return KITH_EPROTO;
	if (!json_is_object(root)) {
		st = kith_why(why, KITH_EPROTO, "a receive frame that is not a JSON object");
		goto out;
	}
	err = kjson_str(root, "error");
	env = kjson_obj(root, "envelope");
	if (err && !env) {
		out->kind = SG_ERROR;
		out->text = xstrdup(err);
		goto out;
	}
	if (!env) {
		st = kith_why(why, KITH_EPROTO, "a receive frame without an \"envelope\"");
		goto out;
	}
	account = kjson_str(root, "account");
	out->source = first_str(env, "sourceNumber", "sourceUuid", "source");
	out->source_name = str_of(env, "sourceName");
	out->timestamp = ts_of(env, "timestamp");
	if (account && self && strcmp(account, self) != 0) {
		out->ignored = "for another account";
		goto out;
	}
	if (!out->source || !out->timestamp) {
		out->ignored = "no sender or no timestamp";
		goto out;
	}
	if (same(out->source, self) || same(kjson_str(env, "sourceNumber"), self)) {
		out->ignored = "our own message";
		goto out;
	}
	dm = kjson_obj(env, "dataMessage");
	edit = kjson_obj(env, "editMessage");
	if (dm) {
		parse_data(dm, self, out);
	} else if (edit && kjson_obj(edit, "dataMessage")) {
		parse_data(kjson_obj(edit, "dataMessage"), self, out);
		if (out->kind == SG_MESSAGE) {
			out->kind = SG_EDIT;
			out->target_ts = ts_of(edit, "targetSentTimestamp");
			if (!out->target_ts) {
				out->kind = SG_IGNORE;
				out->ignored = "an edit without a target";
			}
		}
	} else if (kjson_obj(env, "syncMessage")) {
		out->ignored = "a sync message from one of our own devices";
	} else if (kjson_obj(env, "typingMessage")) {
		out->ignored = "a typing indicator";
	} else if (kjson_obj(env, "receiptMessage")) {
		out->ignored = "a receipt";
	} else {
		out->ignored = "not a message";
	}
out:
	json_decref(root);
	if (st)
		sg_event_release(out);
	return st;
}

static char *ts_text(int64_t ts)
{
	return xasprintf("%lld", (long long)ts);
}

struct inbound *sg_event_to_inbound(const struct sg_event *e, struct channel *ch)
{
	struct inbound *ev;

	switch (e->kind) {
	case SG_MESSAGE:
		ev = inbound_new(INBOUND_MESSAGE, ch, e->conversation, e->source, e->text);
		ev->external_id = ts_text(e->timestamp);
		if (e->quote_id) {
			ev->reply_to = ts_text(e->quote_id);
			ev->reply_to_author = xstrdup(e->quote_author);
			ev->reply_to_text = xstrdup(e->quote_text);
		}
		if (e->natts) {
			ev->attachments = xcalloc(e->natts, sizeof(*ev->attachments));
			for (size_t i = 0; i < e->natts; i++) {
				ev->attachments[i].content_type = xstrdup(e->atts[i].content_type);
				ev->attachments[i].filename = xstrdup(e->atts[i].filename);
			}
			ev->nattachments = e->natts;
		}
		break;
	case SG_REACTION:
		ev = inbound_new(INBOUND_REACTION, ch, e->conversation, e->source, e->text);
		ev->external_id = ts_text(e->target_ts);
		ev->reply_to = ts_text(e->target_ts);
		ev->reply_to_author = xstrdup(e->target_author);
		break;
	case SG_EDIT:
		ev = inbound_new(INBOUND_EDIT, ch, e->conversation, e->source, e->text);
		ev->external_id = ts_text(e->target_ts);
		break;
	default:
		return NULL;
	}
	ev->author_name = xstrdup(e->source_name);
	ev->created_at = e->timestamp;
	ev->direct = e->group_id == NULL;
	ev->mentions_self = e->mentions_self;
	return ev;
}

enum kith_status sg_parse_receive_array(const char *p, size_t n, char ***frames, size_t *count,
					char **why)
{
	json_t *root = kjson_parse(p, n, why);
	size_t k = 0, len;
	char **v;

	*frames = NULL;
	*count = 0;
	if (!root)
		return KITH_EPROTO;
	if (!json_is_array(root)) {
		json_decref(root);
		return kith_why(why, KITH_EPROTO, "the receive answer is not a JSON array");
	}
	len = json_array_size(root);
	v = len ? xcalloc(len, sizeof(*v)) : NULL;
	for (size_t i = 0; i < len; i++) {
		json_t *item = json_array_get(root, i);

		if (json_is_object(item))
			v[k++] = kjson_dump(item, false);
	}
	json_decref(root);
	*frames = v;
	*count = k;
	return KITH_OK;
}

void sg_parse_send_answer(const char *p, size_t n, int64_t *ts, char **failures)
{
	json_t *root = json_loadb(p, n, 0, NULL), *o = root;
	const json_t *recips;
	struct buf f = BUF_INIT(0);

	*ts = 0;
	*failures = NULL;
	if (json_is_array(root))
		o = json_array_get(root, 0);
	if (!json_is_object(o))
		goto out;
	*ts = ts_of(o, "timestamp");
	recips = kjson_arr(kjson_obj(o, "errors"), "recipients");
	for (size_t i = 0; recips && i < json_array_size(recips) && i < 16; i++) {
		const char *reason = kjson_str(json_array_get(recips, i), "reason");

		if (reason && *reason)
			(void)buf_printf(&f, "%s%.64s", f.len ? ", " : "", reason);
	}
	if (f.len)
		*failures = buf_detach(&f);
out:
	buf_release(&f);
	json_decref(root);
}

char *sg_error_text(const char *p, size_t n)
{
	json_t *root = json_loadb(p, n, 0, NULL);
	const char *e = kjson_str(root, "error");
	char *r = e && *e ? utf8_dup_max(e, 300) : NULL;

	json_decref(root);
	return r;
}

char *sg_parse_about_mode(const char *p, size_t n)
{
	json_t *root = json_loadb(p, n, 0, NULL);
	const char *m = kjson_str(root, "mode");
	char *r = m && *m ? utf8_dup_max(m, 32) : NULL;

	json_decref(root);
	return r;
}
