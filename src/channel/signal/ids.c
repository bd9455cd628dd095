/* ids.c — Signal identifiers: validating SIGNAL_NUMBER, the group id form
 * the API expects, masking numbers for logs, and the small encoders.
 *
 * The account number is checked the way Penny checks it — the template's
 * placeholder is refused by name — and more strictly: it must be E.164,
 * since it goes into every URL path.  Group ids are base64 once more on
 * the way out ("group." + base64(groupId)): the API decodes twice. */
#include "channel/signal/signal_int.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

static const char *const placeholders[] = {
	"+1234567890", "+12345678900", "+10000000000", "+15555555555", "+00000000000",
};

enum kith_status signal_check_number(const char *number, char **why)
{
	size_t digits = 0;

	if (!number || !*number)
		return kith_why(why, KITH_ECONFIG, "SIGNAL_NUMBER is not set; set it to the phone number "
				"registered with signal-cli, in international form (+15551234567)");
	for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
		if (strcmp(number, placeholders[i]) == 0)
			return kith_why(why, KITH_ECONFIG, "SIGNAL_NUMBER is still the placeholder \"%s\"; "
					"set it to the phone number registered with signal-cli",
					number);
	if (number[0] == '+')
		for (const char *p = number + 1; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (number[0] != '+' || number[1] == '0' || digits < 7 || digits > 15 ||
	    number[1 + digits] != '\0')
		return kith_why(why, KITH_ECONFIG, "SIGNAL_NUMBER \"%.40s\" %s; set it to the phone number "
				"registered with signal-cli, in international form (+15551234567)",
				number, strcasestr(number, "your") || strcasestr(number, "number") ||
				strchr(number, 'x') || strchr(number, 'X') ? "looks like a placeholder"
				: "is not a phone number in international form");
	return KITH_OK;
}

char *sg_base64(const void *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(len);

	sodium_bin2base64(out, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

char *signal_group_conversation(const char *group_id)
{
	char *b = sg_base64(group_id, strlen(group_id));
	char *r = xasprintf("group.%s", b);

	free(b);
	return r;
}

char *sg_mask(const char *id)
{
	size_t n;

	if (!id)
		return xstrdup("(none)");
	n = strlen(id);
	if (id[0] == '+' && n > 7) {
		struct buf b = BUF_INIT(0);

		(void)buf_append(&b, id, 5);
		for (size_t i = 5; i < n - 2; i++)
			(void)buf_puts(&b, "\xE2\x80\xA2");   /* • */
		(void)buf_append(&b, id + n - 2, 2);
		return buf_detach(&b);
	}
	if (strncmp(id, "group.", 6) == 0)
		return xasprintf("%.12s…", id);
	return n > 6 ? xasprintf("%.6s…", id) : xstrdup("…");
}

char *sg_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT(0);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			(void)buf_append(&b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			(void)buf_append(&b, e, 3);
		}
	}
	return buf_detach(&b);
}

int64_t sg_parse_ts(const char *s)
{
	int64_t v = 0;

	if (!s || !*s || strlen(s) > 18)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v;
}

bool sg_valid_recipient(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > 512)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '"' || c == '\\')
			return false;
	}
	return true;
}

long sg_backoff_ms(long base_ms, long max_ms, int attempt, double r)
{
	double d = (double)base_ms;

	for (int i = 1; i < attempt && d < (double)max_ms; i++)
		d *= 2;
	if (d > (double)max_ms)
		d = (double)max_ms;
	d *= 0.75 + 0.5 * r;
	if (d > (double)max_ms)
		d = (double)max_ms;
	return d < 1 ? 1 : (long)d;
}
