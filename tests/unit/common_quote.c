/*
 * common_quote.c -- unit tests for common/quote.c.
 *
 * quote_bytes() is what stands between a peer's name and a message line in
 * both programs; its escapes and its cut are worth checking byte for byte.
 */
#include <string.h>

#include "check.h"
#include "quote.h"

/* quote_str() makes any name one printable line. */
static void
test_str(void)
{
	char q[QUOTE_BUF], longname[QUOTE_BUF * 2];

	CHECK(strcmp(quote_str("a b", q), "a b") == 0, "quote keeps spaces");
	CHECK(strcmp(quote_str("a\nb\\c\001", q), "a\\nb\\\\c\\001") == 0,
	    "quote escapes control bytes (%s)", q);
	CHECK(strcmp(quote_str("\t\177", q), "\\t\\177") == 0, "quote escapes tab and DEL");
	CHECK(strcmp(quote_str("\xc3\xa9", q), "\xc3\xa9") == 0, "quote keeps UTF-8");
	CHECK(strcmp(quote_str("", q), "") == 0, "quote of the empty name");
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	quote_str(longname, q);
	CHECK(strlen(q) < QUOTE_BUF && strcmp(q + strlen(q) - 3, "...") == 0,
	    "quote cuts long names");
}

/* quote_bytes() takes a length (NUL bytes included) and any buffer size. */
static void
test_bytes(void)
{
	char q[QUOTE_BUF], small[8];

	CHECK(strcmp(quote_bytes("a\0b", 3, q, sizeof q), "a\\000b") == 0,
	    "NUL bytes are escaped (%s)", q);
	CHECK(strcmp(quote_bytes("abcdef", 3, q, sizeof q), "abc") == 0,
	    "only len bytes are read");
	CHECK(strcmp(quote_bytes(NULL, 0, q, sizeof q), "") == 0, "no bytes at all");
	CHECK(strcmp(quote_bytes("abc", 3, small, sizeof small), "abc") == 0,
	    "a short name fits a small buffer");
	CHECK(strcmp(quote_bytes("abcdefghij", 10, small, sizeof small), "abcd...") == 0,
	    "a long name is cut to the buffer (%s)", small);
	CHECK(strcmp(quote_bytes("ab\001cdef", 7, small, sizeof small), "ab...") == 0,
	    "an escape is never split (%s)", small);
	CHECK(strcmp(quote_bytes("abcdef", 6, small, 4), "...") == 0,
	    "the smallest buffer holds the cut mark");
}

/* Runs every check; TAP on stdout, exit status 1 if any failed. */
int
main(void)
{
	test_str();
	test_bytes();
	return check_done();
}
