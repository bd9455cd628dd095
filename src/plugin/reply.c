/* reply.c — reading what agents send back: the shared-object child's
 * records, an executable's `--describe` text, and any text an agent prints.
 *
 * Everything here treats its input as hostile (a crashing child may leave
 * half a record; an executable may print binary): strict lengths, caps on
 * every field, and text that is valid UTF-8 without control characters
 * before it goes near a chat, a prompt or the log.  fuzz/fuzz_agent_output.c
 * drives all of it. */
#include "plugin/plugin_int.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- text ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1–4), or 0 when it is not one
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_valid(const unsigned char *p, size_t avail, uint32_t *cp)
{
	uint32_t c;
	size_t n;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	c = p[0] & (0x7f >> n);
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

char *plugin_text_clean(const char *p, size_t n, size_t cap, bool one_line)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)p;
	struct buf b = BUF_INIT(0);
	size_t i = 0, keep;

	/* The cap is on the cleaned text, so reading stops once it is full;
	 * blanks are kept until something follows them (trimming the end). */
	while (i < n && b.len < cap) {
		uint32_t cp = 0;
		size_t k = utf8_valid(s + i, n - i, &cp);
		const char *piece = (const char *)s + i;
		size_t plen = k;
		char sp = ' ';

		if (k == 0) {
			piece = replacement;
			plen = 3;
			k = 1;
		} else if (cp == '\r') {
			if (i + 1 < n && s[i + 1] == '\n') {
				i++;
				continue;
			}
			piece = one_line ? &sp : "\n";
			plen = 1;
		} else if (cp == '\n' || cp == '\t') {
			if (one_line) {
				piece = &sp;
				plen = 1;
			}
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			i += k;
			continue;
		}
		i += k;
		if (b.len == 0 && (piece[0] == ' ' || piece[0] == '\n' || piece[0] == '\t'))
			continue;   /* leading blanks */
		if (b.len + plen > cap)
			break;
		(void)buf_append(&b, piece, plen);
	}
	keep = b.len;
	while (keep > 0 && (b.data[keep - 1] == ' ' || b.data[keep - 1] == '\n' ||
			    b.data[keep - 1] == '\t'))
		keep--;
	if (!b.data)
		return xstrdup("");
	b.data[keep] = '\0';
	return b.data;
}

void plugin_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

char **plugin_keywords_clean(const char *const *raw, size_t n, size_t *count)
{
	char **v = xcalloc(PLUGIN_KEYWORDS_MAX + 1, sizeof(*v));
	size_t k = 0;

	for (size_t i = 0; i < n && raw && raw[i] && k < PLUGIN_KEYWORDS_MAX; i++) {
		char *w = plugin_text_clean(raw[i], strlen(raw[i]), PLUGIN_KEYWORD_LEN, true);
		bool dup = false;

		for (char *c = w; *c; c++) {
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + ('a' - 'A'));
		}
		for (size_t j = 0; j < k && !dup; j++)
			dup = strcmp(v[j], w) == 0;
		if (!*w || dup) {
			free(w);
			continue;
		}
		v[k++] = w;
	}
	if (count)
		*count = k;
	return v;
}

/* ---- the child's records ---------------------------------------------- */

size_t plugin_itoa(int v, char *out)
{
	char tmp[12];
	size_t n = 0, len = 0;
	unsigned int u = v < 0 ? 0u - (unsigned int)v : (unsigned int)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[len++] = '-';
	while (n)
		out[len++] = tmp[--n];
	out[len] = '\0';
	return len;
}

size_t plugin_record_header(char tag, size_t len, char *hdr)
{
	char tmp[24];
	size_t n = 0, k = 0;

	do {
		tmp[n++] = (char)('0' + len % 10);
		len /= 10;
	} while (len);
	hdr[k++] = tag;
	while (n)
		hdr[k++] = tmp[--n];
	hdr[k++] = ':';
	return k;
}

void plugin_reply_release(struct plugin_reply *r)
{
	free(r->description);
	plugin_strv_free(r->keywords);
	free(r->output);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

static bool parse_int(const char *p, size_t n, int *out)
{
	long long v = 0;
	size_t i = 0;
	bool neg = false;

	if (n > 0 && p[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == n || n - i > 10)
		return false;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < INT_MIN || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

enum kith_status plugin_reply_parse(const char *p, size_t n, size_t max_field,
				    struct plugin_reply *out, char **why)
{
	const char *raw_kw[PLUGIN_KEYWORDS_MAX];
	size_t raw_len[PLUGIN_KEYWORDS_MAX], nkw = 0, i = 0;
	enum kith_status rc = KITH_OK;

	memset(out, 0, sizeof(*out));
	while (i < n) {
		char tag = p[i++];
		size_t len = 0, digits = 0;
		const char *field;

		if (!strchr("VDKSOE", tag) || tag == '\0') {
			rc = kith_why(why, KITH_EPROTO, "unknown record at byte %zu", i - 1);
			goto out;
		}
		while (i < n && p[i] >= '0' && p[i] <= '9' && digits < 10) {
			len = len * 10 + (size_t)(p[i++] - '0');
			digits++;
		}
		if (digits == 0 || i >= n || p[i] != ':') {
			rc = kith_why(why, KITH_EPROTO, "bad record length at byte %zu", i);
			goto out;
		}
		i++;
		if (len > max_field) {
			rc = kith_why(why, KITH_ETOOBIG, "a record of %zu bytes is over the cap "
				      "of %zu", len, max_field);
			goto out;
		}
		if (len >= n - i || p[i + len] != '\n') {
			rc = kith_why(why, KITH_EPROTO, "a record is cut short");
			goto out;
		}
		field = p + i;
		i += len + 1;
		switch (tag) {
		case 'V':
		case 'S': {
			bool again = tag == 'V' ? out->has_abi : out->has_status;
			int v;

			if (!parse_int(field, len, &v) || again) {
				rc = kith_why(why, KITH_EPROTO, "bad %s record",
					      tag == 'V' ? "version" : "status");
				goto out;
			}
			if (tag == 'V') {
				out->has_abi = true;
				out->abi = v;
			} else {
				out->has_status = true;
				out->status = v;
			}
			break;
		}
		case 'D':
		case 'O':
		case 'E': {
			char **dst = tag == 'D' ? &out->description
				     : tag == 'O' ? &out->output : &out->error;
			size_t cap = tag == 'O' ? max_field
				     : tag == 'D' ? PLUGIN_DESCRIPTION_MAX : PLUGIN_ERROR_MAX;

			if (*dst) {
				rc = kith_why(why, KITH_EPROTO, "a repeated record");
				goto out;
			}
			*dst = plugin_text_clean(field, len, cap, tag != 'O');
			break;
		}
		default: /* 'K' */
			if (nkw < PLUGIN_KEYWORDS_MAX) {
				raw_kw[nkw] = field;
				raw_len[nkw++] = len;
			}
			break;
		}
	}
	if (nkw) {
		char *copies[PLUGIN_KEYWORDS_MAX];

		for (size_t k = 0; k < nkw; k++)
			copies[k] = xstrndup(raw_kw[k], raw_len[k]);
		out->keywords = plugin_keywords_clean((const char *const *)copies, nkw,
						      &out->nkeywords);
		for (size_t k = 0; k < nkw; k++)
			free(copies[k]);
	}
out:
	if (rc)
		plugin_reply_release(out);
	return rc;
}

/* ---- an executable's --describe --------------------------------------- */

static char **split_keywords(const char *s)
{
	const char *raw[PLUGIN_KEYWORDS_MAX];
	char *copy = xstrdup(s), *p = copy, **v;
	bool commas = strchr(copy, ',') != NULL;
	size_t n = 0;

	while (*p && n < PLUGIN_KEYWORDS_MAX) {
		char *e = p;

		while (*e && (commas ? *e != ',' : (*e != ' ' && *e != '\t')))
			e++;
		if (*e)
			*e++ = '\0';
		raw[n++] = p;
		p = e;
	}
	v = plugin_keywords_clean(raw, n, NULL);
	free(copy);
	return v;
}

enum kith_status plugin_describe_parse(const char *p, size_t n, char **description,
				       char ***keywords, char **why)
{
	char *text = plugin_text_clean(p, n, 8192, false), *line = text;

	*description = NULL;
	*keywords = NULL;
	while (line && *line) {
		char *nl = strchr(line, '\n'), *clean;

		if (nl)
			*nl = '\0';
		clean = plugin_text_clean(line, strlen(line), 4096, true);
		if (strncasecmp(clean, "keywords:", 9) == 0) {
			if (!*keywords)
				*keywords = split_keywords(clean + 9);
		} else if (!*description && *clean) {
			*description = plugin_text_clean(clean, strlen(clean),
							 PLUGIN_DESCRIPTION_MAX, true);
		}
		free(clean);
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	if (!*keywords)
		*keywords = xcalloc(1, sizeof(char *));
	if (!*description) {
		plugin_strv_free(*keywords);
		*keywords = NULL;
		return kith_why(why, KITH_EPROTO, "it printed no description for --describe");
	}
	return KITH_OK;
}
