/*
 * quote.c -- one rendering of untrusted names for messages (quote.h).
 *
 * Why C escapes rather than '?': a user comparing a message with a directory
 * listing needs to see which byte a name really holds, and UTF-8 names must
 * stay readable.  Why a fixed bound: a peer may send names of any length,
 * and a message is one line.
 */
#include <stdio.h>
#include <string.h>

#include "quote.h"

/* C escapes, \ooo for other controls, "..." when cut; returns buf (quote.h). */
const char *
quote_bytes(const char *p, size_t len, char *buf, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char esc[5];
		size_t k;

		if (s[i] == '\n')
			k = (size_t)snprintf(esc, sizeof esc, "\\n");
		else if (s[i] == '\t')
			k = (size_t)snprintf(esc, sizeof esc, "\\t");
		else if (s[i] == '\\')
			k = (size_t)snprintf(esc, sizeof esc, "\\\\");
		else if (s[i] < 0x20 || s[i] == 0x7f)
			k = (size_t)snprintf(esc, sizeof esc, "\\%03o", s[i]);
		else
			esc[0] = (char)s[i], esc[1] = '\0', k = 1;
		if (o + k + 4 > n) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		memcpy(buf + o, esc, k);
		o += k;
	}
	buf[o] = '\0';
	return buf;
}

/* quote_bytes() of a NUL-terminated string into QUOTE_BUF bytes; returns buf. */
const char *
quote_str(const char *s, char buf[QUOTE_BUF])
{
	return quote_bytes(s, strlen(s), buf, QUOTE_BUF);
}
