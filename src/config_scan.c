/* The raw bytes of a configuration file, checked before libconfig reads them: see config_scan in
 * config_private.h. */
#include "config_private.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct raw {
	const char *name, *text;
	size_t len, i;
	int line;
	char *errbuf;
	size_t errsize;
};

static int raw_fail(struct raw *r, const char *what)
{
	snprintf(r->errbuf, r->errsize, "%s:%d: %s", r->name, r->line, what);
	return -1;
}

/* libconfig 1.5 silently keeps the low 32 bits of a larger integer written without L (4294967297 reads as 1), so
 * every integer literal is checked here: none of our settings needs more than 31 bits. */
static int raw_number(struct raw *r)
{
	const char *p = r->text + r->i;
	size_t n = 0;
	int hex = r->len - r->i > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	unsigned long long v = 0;

	if (hex)
		n = 2;
	for (; r->i + n < r->len; n++) {
		unsigned c = (unsigned char)p[n], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (hex && ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
			d = (c | 0x20) - 'a' + 10;
		else
			break;
		v = v > 0xFFFFFFFFull ? v : v * (hex ? 16 : 10) + d;
	}
	if (!hex && r->i + n < r->len && (p[n] == '.' || p[n] == 'e' || p[n] == 'E')) {
		r->i += n; /* a float: libconfig reads those right, and no setting takes one */
		return 0;
	}
	r->i += n - 1;
	if (v > 0x7FFFFFFFull)
		return raw_fail(r, "number too large (no setting takes more than 2147483647)");
	return 0;
}

/* At the start of a line: libconfig would follow an @include to any file (a FIFO, /dev/zero). */
static int raw_line_start(struct raw *r)
{
	size_t k = r->i;

	while (k < r->len && (r->text[k] == ' ' || r->text[k] == '\t'))
		k++;
	if (r->len - k >= 8 && memcmp(r->text + k, "@include", 8) == 0)
		return raw_fail(r, "@include is not supported");
	return 0;
}

/* Byte-level checks libconfig cannot make: it would silently cut a string at an embedded NUL, follow includes
 * and truncate large integers. A small scanner that knows libconfig's strings and comments. */
int config_scan(const char *name, const char *text, size_t len, char *errbuf, size_t errsize)
{
	enum { CODE, STRING, LINE_COMMENT, BLOCK_COMMENT } st = CODE;
	struct raw r = { name, text, len, 0, 1, errbuf, errsize };

	if (len > CONFIG_MAX_BYTES) {
		snprintf(errbuf, errsize, "%s: larger than %d bytes", name, CONFIG_MAX_BYTES);
		return -1;
	}
	if (len > 0 && raw_line_start(&r) < 0)
		return -1;
	for (; r.i < len; r.i++) {
		char c = text[r.i], next = r.i + 1 < len ? text[r.i + 1] : '\0';

		if (c == '\0')
			return raw_fail(&r, "a NUL byte in the file");
		if (c == '\n') {
			r.line++;
			if (st == LINE_COMMENT)
				st = CODE;
			r.i++;
			if (r.i < len && raw_line_start(&r) < 0)
				return -1;
			r.i--;
			continue;
		}
		switch (st) {
		case STRING:
			if (c == '"')
				st = CODE;
			else if (c == '\\' && (next == 'x' || next == 'X') && r.i + 3 < len && text[r.i + 2] == '0' &&
				 text[r.i + 3] == '0')
				return raw_fail(&r, "\\x00 (an embedded NUL) is not allowed in a string");
			else if (c == '\\' && next != '\n' && next != '\0')
				r.i++; /* an escaped character: "\\x00" is a backslash followed by text */
			break;
		case LINE_COMMENT:
			break;
		case BLOCK_COMMENT:
			if (c == '*' && next == '/')
				st = CODE, r.i++;
			break;
		case CODE:
			if (c == '"')
				st = STRING;
			else if (c == '#' || (c == '/' && next == '/'))
				st = LINE_COMMENT;
			else if (c == '/' && next == '*')
				st = BLOCK_COMMENT, r.i++;
			else if (c >= '0' && c <= '9' &&
				 (r.i == 0 || !(isalnum((unsigned char)text[r.i - 1]) || text[r.i - 1] == '_' ||
						text[r.i - 1] == '.')) &&
				 raw_number(&r) < 0)
				return -1;
			break;
		}
	}
	return 0;
}
