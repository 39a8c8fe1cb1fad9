/*
 * common_path.c -- unit tests for common/path.c.
 *
 * path_check() is the gate every wire path passes on both sides, and
 * path_cmp() the order the client's merge relies on; both are worth a
 * table of their edge cases.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "path.h"

/* Runs path_check on the first len bytes of p; returns its result. */
static int
check_len(const char *p, size_t len)
{
	char out[PATH_BUF];

	return path_check(p, len, out);
}

/* Runs path_check on the string p. */
static int
check_str(const char *p)
{
	return check_len(p, strlen(p));
}

/* Returns s with control bytes shown as \ooo, for one-line TAP output. */
static const char *
show(const char *s)
{
	static char buf[4][64];
	static int k;
	char *o = buf[k = (k + 1) % 4];
	size_t n = 0;

	for (; *s != '\0' && n + 5 < sizeof buf[0]; s++) {
		if ((unsigned char)*s < 0x20)
			n += (size_t)snprintf(o + n, 5, "\\%03o", (unsigned char)*s);
		else
			o[n++] = *s;
	}
	o[n] = '\0';
	return o;
}

/* Fills buf with n copies of c and a NUL; returns buf. */
static char *
repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* Writes a valid-looking path of exactly len bytes ("a/a/.../aa") into buf. */
static char *
long_path(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 2 < len; i += 2)
		memcpy(buf + i, "a/", 2);
	repeat(buf + i, 'a', len - i);
	return buf;
}

/* path_check() accepts valid paths, up to the length limits. */
static void
test_check_accepts(void)
{
	static const char *good[] = {
		"", "a", "a/b", "a/b/c", "a b", "-x", "\xc3\xa9t\xc3\xa9", ".a",
		"..a", "a..", "...", "a\nb", ".syncd-tmp", "x.syncd-tmp.y",
	};
	char out[PATH_BUF], buf[PATH_BUF + 8];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECK(check_str(good[i]) == 0, "path_check accepts \"%s\"", show(good[i]));
	CHECK(path_check("a/b", 3, out) == 0 && strcmp(out, "a/b") == 0,
	    "path_check copies the path, NUL-terminated");
	CHECK(path_check("abc", 2, out) == 0 && strcmp(out, "ab") == 0,
	    "path_check takes exactly len bytes");
	CHECK(path_check(NULL, 0, out) == 0 && out[0] == '\0',
	    "path_check accepts an empty opaque decoded as NULL");
	CHECK(check_str(repeat(buf, 'n', SYNC_NAME_MAX)) == 0,
	    "a %d-byte component is accepted", SYNC_NAME_MAX);
	CHECK(check_str(long_path(buf, SYNC_PATH_MAX)) == 0,
	    "a path of SYNC_PATH_MAX bytes is accepted");
}

/* path_check() refuses every malformed or hostile path. */
static void
test_check_refuses(void)
{
	static const char *bad[] = {
		".", "..", "./a", "../a", "a/.", "a/..", "a/../b", "../../etc/passwd",
		"/", "/a", "/etc/passwd", "a//b", "//", "a/", "a/b/",
		".syncd-tmp.", ".syncd-tmp.x", "a/.syncd-tmp.123", ".syncd-tmp.x/b",
	};
	char buf[PATH_BUF + 8];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(check_str(bad[i]) == -1, "path_check refuses \"%s\"", show(bad[i]));
	CHECK(check_len("a\0b", 3) == -1, "path_check refuses an embedded NUL");
	CHECK(check_len("ab\0", 3) == -1, "path_check refuses a trailing NUL");
	CHECK(check_len("\0", 1) == -1, "path_check refuses a lone NUL");
	CHECK(check_str(repeat(buf, 'n', SYNC_NAME_MAX + 1)) == -1,
	    "a %d-byte component is refused", SYNC_NAME_MAX + 1);
	memcpy(buf, "a/", 2);
	repeat(buf + 2, 'n', SYNC_NAME_MAX + 1);
	CHECK(check_str(buf) == -1, "a %d-byte last component is refused",
	    SYNC_NAME_MAX + 1);
	CHECK(check_str(long_path(buf, SYNC_PATH_MAX + 1)) == -1,
	    "a path of SYNC_PATH_MAX + 1 bytes is refused");
}

/* path_name_ok() judges single components. */
static void
test_name_ok(void)
{
	char buf[PATH_BUF];

	CHECK(path_name_ok("a"), "path_name_ok(\"a\")");
	CHECK(path_name_ok("a b\n"), "path_name_ok accepts spaces and newlines");
	CHECK(!path_name_ok(""), "path_name_ok refuses \"\"");
	CHECK(!path_name_ok("."), "path_name_ok refuses \".\"");
	CHECK(!path_name_ok(".."), "path_name_ok refuses \"..\"");
	CHECK(!path_name_ok("a/b"), "path_name_ok refuses a slash");
	CHECK(!path_name_ok(".syncd-tmp.abc"), "path_name_ok refuses the temp prefix");
	CHECK(path_name_ok(repeat(buf, 'x', SYNC_NAME_MAX)), "path_name_ok: 255 bytes");
	CHECK(!path_name_ok(repeat(buf, 'x', SYNC_NAME_MAX + 1)), "path_name_ok: 256 bytes");
}

/* Returns the sign of x: -1, 0 or 1. */
static int
sign(int x)
{
	return (x > 0) - (x < 0);
}

/* path_cmp() orders a table strictly, and is antisymmetric. */
static void
test_cmp(void)
{
	/* Each entry sorts strictly before the next one. */
	static const char *order[] = {
		"", "a", "a/b", "a/b/c", "a/b-", "a/c", "a-c", "a0", "ab",
		"b", "b/a", "b\xff", "\xc3\xa9",
	};
	size_t n = sizeof order / sizeof order[0];

	for (size_t i = 0; i < n; i++) {
		CHECK(path_cmp(order[i], order[i]) == 0, "\"%s\" == itself", show(order[i]));
		for (size_t j = i + 1; j < n; j++) {
			CHECK(path_cmp(order[i], order[j]) < 0, "\"%s\" < \"%s\"",
			    show(order[i]), show(order[j]));
			CHECK(sign(path_cmp(order[j], order[i])) == 1, "\"%s\" > \"%s\"",
			    show(order[j]), show(order[i]));
		}
	}
}

/* path_join() joins with one slash, omitted next to an empty side. */
static void
test_join(void)
{
	char out[16];

	CHECK(path_join(out, sizeof out, "a", "b") == 0 && strcmp(out, "a/b") == 0,
	    "join a + b = a/b");
	CHECK(path_join(out, sizeof out, "", "b") == 0 && strcmp(out, "b") == 0,
	    "join \"\" + b = b");
	CHECK(path_join(out, sizeof out, "a/b", "") == 0 && strcmp(out, "a/b") == 0,
	    "join a/b + \"\" = a/b");
	CHECK(path_join(out, sizeof out, "", "") == 0 && strcmp(out, "") == 0,
	    "join \"\" + \"\" = \"\"");
	CHECK(path_join(out, 4, "a", "b") == 0 && strcmp(out, "a/b") == 0,
	    "join fits exactly");
	CHECK(path_join(out, 3, "a", "b") == -1, "join refuses a buffer one byte short");
	strcpy(out, "x/y");
	CHECK(path_join(out, sizeof out, out, "z") == 0 && strcmp(out, "x/y/z") == 0,
	    "join in place (out == a)");
}

/* path_split() separates parent and leaf. */
static void
test_split(void)
{
	char parent[PATH_BUF];
	const char *leaf = NULL;

	CHECK(path_split("a", parent, &leaf) == 0 && strcmp(parent, "") == 0 &&
	    strcmp(leaf, "a") == 0, "split a = \"\" + a");
	CHECK(path_split("a/b/c", parent, &leaf) == 0 && strcmp(parent, "a/b") == 0 &&
	    strcmp(leaf, "c") == 0, "split a/b/c = a/b + c");
	CHECK(path_split("", parent, &leaf) == -1, "split refuses the empty path");
}

/* Runs every test; the exit status says whether all passed. */
int
main(void)
{
	test_check_accepts();
	test_check_refuses();
	test_name_ok();
	test_cmp();
	test_join();
	test_split();
	return check_done();
}
