/* dotenv.c — a .env parser that takes any bytes and never trusts them.
 *
 * The dialect is python-dotenv's, which is what SEL and Penny users have
 * written their files against: `export ` prefixes, # comments, blank lines,
 * CRLF, 'literal' and "escaped, possibly multi-line" values, and unquoted
 * values whose ` #comment` tail is dropped.  Unlike python-dotenv, a line it
 * cannot make sense of is an error rather than something silently skipped:
 * a typo in a .env should not quietly turn a setting off.  The scanner is a
 * single pass over (text, n) with explicit bounds, so NUL bytes and missing
 * final newlines are just more input (it has a fuzz target). */
#include <stdbool.h>
#include <string.h>

#include "config/config_int.h"
#include "core/alloc.h"
#include "core/buf.h"

struct scan {
	const char *p;
	const char *end;
	int line;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_key_start(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool is_key_char(unsigned char ch)
{
	return is_key_start(ch) || (ch >= '0' && ch <= '9') || ch == '.';
}

static void skip_blanks(struct scan *s)
{
	while (s->p < s->end && is_blank(*s->p))
		s->p++;
}

/* At end of line (\n, \r\n or end of input)?  Consumes it when true. */
static bool eat_eol(struct scan *s)
{
	if (s->p == s->end)
		return true;
	if (*s->p == '\n') {
		s->p++;
		return true;
	}
	if (*s->p == '\r' && s->p + 1 < s->end && s->p[1] == '\n') {
		s->p += 2;
		return true;
	}
	if (*s->p == '\r' && s->p + 1 == s->end) {
		s->p++;
		return true;
	}
	return false;
}

/* After a closing quote: blanks, an optional comment, then end of line. */
static bool finish_line(struct scan *s)
{
	skip_blanks(s);
	if (s->p < s->end && *s->p == '#') {
		while (s->p < s->end && *s->p != '\n')
			s->p++;
	}
	return eat_eol(s);
}

static const char *scan_single(struct scan *s, struct buf *val)
{
	s->p++;   /* opening quote */
	for (;;) {
		if (s->p == s->end)
			return "unterminated single-quoted value";
		if (*s->p == '\'')
			break;
		if (*s->p == '\0')
			return "NUL byte in value";
		if (*s->p == '\n')
			s->line++;
		(void)buf_append(val, s->p, 1);
		s->p++;
	}
	s->p++;
	return finish_line(s) ? NULL : "unexpected text after the closing quote";
}

static const char *scan_double(struct scan *s, struct buf *val)
{
	s->p++;
	for (;;) {
		char ch;

		if (s->p == s->end)
			return "unterminated double-quoted value";
		ch = *s->p++;
		if (ch == '"')
			break;
		if (ch == '\0')
			return "NUL byte in value";
		if (ch == '\n')
			s->line++;
		if (ch == '\\' && s->p < s->end) {
			char e = *s->p++;

			switch (e) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case '"': ch = '"'; break;
			case '\\': ch = '\\'; break;
			case '\'': ch = '\''; break;
			case '$': ch = '$'; break;
			default:
				/* Unknown escapes stay as written (python-dotenv does the same). */
				if (e == '\0')
					return "NUL byte in value";
				if (e == '\n')
					s->line++;
				(void)buf_append(val, "\\", 1);
				ch = e;
				break;
			}
		}
		(void)buf_append(val, &ch, 1);
	}
	return finish_line(s) ? NULL : "unexpected text after the closing quote";
}

static const char *scan_unquoted(struct scan *s, struct buf *val)
{
	const char *start = s->p, *stop;

	while (s->p < s->end && *s->p != '\n') {
		if (*s->p == '\0')
			return "NUL byte in value";
		/* " #" starts a comment; a # glued to text (or to the '=') is
		 * part of the value, as in python-dotenv: KEY=#fff is "#fff". */
		if (*s->p == '#' && is_blank(s->p[-1]))
			break;
		s->p++;
	}
	stop = s->p;
	while (s->p < s->end && *s->p != '\n') {
		if (*s->p == '\0')
			return "NUL byte in comment";
		s->p++;
	}
	if (s->p < s->end)
		s->p++;   /* the newline */
	while (start < stop && (is_blank(*start)))
		start++;
	while (stop > start && (is_blank(stop[-1]) || stop[-1] == '\r'))
		stop--;
	(void)buf_append(val, start, (size_t)(stop - start));
	return NULL;
}

enum kith_status dotenv_scan(const char *text, size_t n,
			     void (*set)(const char *key, const char *value, int line, void *ud),
			     void *ud, int *errline, const char **errmsg)
{
	struct scan s = { text, text + n, 1 };
	struct buf key = BUF_INIT(0), val = BUF_INIT(0);
	enum kith_status rc = KITH_OK;
	const char *msg = NULL;

	/* A UTF-8 byte-order mark is something editors add, not a key. */
	if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		s.p += 3;

	while (s.p < s.end) {
		const char *kstart;
		int line = s.line;
		bool glued;

		skip_blanks(&s);
		if (eat_eol(&s)) {
			s.line++;
			continue;
		}
		if (*s.p == '#') {
			while (s.p < s.end && *s.p != '\n')
				s.p++;
			if (s.p < s.end)
				s.p++;
			s.line++;
			continue;
		}
		/* `export KEY=…` (but `export=1` and `exporter=1` are keys). */
		if (s.end - s.p > 7 && memcmp(s.p, "export", 6) == 0 && is_blank(s.p[6])) {
			s.p += 6;
			skip_blanks(&s);
		}
		kstart = s.p;
		if (s.p == s.end || !is_key_start((unsigned char)*s.p)) {
			msg = "expected a variable name (letters, digits, '_' or '.', not starting with a digit)";
			goto bad;
		}
		while (s.p < s.end && is_key_char((unsigned char)*s.p))
			s.p++;
		buf_reset(&key);
		(void)buf_append(&key, kstart, (size_t)(s.p - kstart));
		/* "BAD-KEY=1" is a bad name; "no equals here" is a missing '='. */
		glued = s.p < s.end && !is_blank(*s.p) && *s.p != '=' && *s.p != '\n' &&
			*s.p != '\r' && *s.p != '#';
		skip_blanks(&s);
		if (s.p == s.end || *s.p != '=') {
			msg = glued ? "invalid character in variable name"
				    : "expected KEY=VALUE (no '=' found)";
			goto bad;
		}
		s.p++;   /* '=' */
		buf_reset(&val);
		{
			const char *q = s.p;

			while (q < s.end && is_blank(*q))
				q++;
			if (q < s.end && (*q == '\'' || *q == '"')) {
				s.p = q;
				msg = *q == '\'' ? scan_single(&s, &val) : scan_double(&s, &val);
			} else {
				msg = scan_unquoted(&s, &val);
			}
		}
		if (msg)
			goto bad;
		set(buf_str(&key), buf_str(&val), line, ud);
		s.line++;
		continue;
bad:
		rc = KITH_EINVAL;
		if (errline)
			*errline = line;
		if (errmsg)
			*errmsg = msg;
		break;
	}
	buf_release(&key);
	buf_release(&val);
	return rc;
}

struct plain_ud {
	void (*set)(const char *key, const char *value, void *ud);
	void *ud;
};

static void plain_set(const char *key, const char *value, int line, void *ud)
{
	struct plain_ud *p = ud;

	(void)line;
	p->set(key, value, p->ud);
}

enum kith_status dotenv_parse(const char *text, size_t n,
			      void (*set)(const char *key, const char *value, void *ud),
			      void *ud, char **why)
{
	struct plain_ud p = { set, ud };
	int line = 0;
	const char *msg = NULL;
	enum kith_status rc = dotenv_scan(text, n, plain_set, &p, &line, &msg);

	if (rc)
		return kith_why(why, rc, "line %d: %s", line, msg);
	return KITH_OK;
}
