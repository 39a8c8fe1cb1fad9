/*
 * server_secrets.c -- unit tests for server/secrets.c.
 *
 * A secrets file decides who may write to an export: every malformed line
 * must stop the daemon with a message that names the line (and never shows
 * a secret), and an unsafe file must be refused before it is read.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../server/secrets.h"
#include "check.h"

/* Parses text; returns secrets_parse()'s result, err filled on failure. */
static int
parse(const char *text, struct secrets *s, char *err, size_t errlen)
{
	err[0] = '\0';
	return secrets_parse(text, "t.secrets", s, err, errlen);
}

/* Accepted files and what they hold. */
static void
test_good(void)
{
	struct secrets s;
	const struct secret *e;
	char err[256];

	CHECK(parse("# users\n\nalice:correct horse\r\nbackup:a:b:c\nz:x", &s, err,
	    sizeof err) == 0 && s.n == 3, "three users, comments and blank lines skipped (%s)", err);
	e = secrets_find(&s, "alice");
	CHECK(e != NULL && e->len == 13 && memcmp(e->key, "correct horse", 13) == 0,
	    "the secret is everything after the first ':' (CR dropped)");
	e = secrets_find(&s, "backup");
	CHECK(e != NULL && e->len == 5 && memcmp(e->key, "a:b:c", 5) == 0,
	    "a secret may contain ':'");
	CHECK(secrets_find(&s, "z") != NULL && secrets_find(&s, "nobody") == NULL &&
	    secrets_find(&s, "alic") == NULL, "lookup is by the whole name");
	secrets_free(&s);
	CHECK(s.n == 0 && s.v == NULL, "free empties it");
	CHECK(parse("", &s, err, sizeof err) == 0 && s.n == 0, "an empty file: no users");
	secrets_free(&s);
}

/* Refused lines: the message names the line and never the secret. */
static void
test_bad(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "alice\n", "t.secrets:1: expected 'user:secret'" },
		{ "ok:x\n:nouser\n", "t.secrets:2: bad user name" },
		{ "al ice:topsecret\n", "t.secrets:1: bad user name" },
		{ "-x:topsecret\n", "t.secrets:1: bad user name" },
		{ "alice:\n", "t.secrets:1: the secret must be" },
		{ "a:topsecret\n#\na:topsecret2\n", "t.secrets:3: user 'a' named twice" },
		{ "0123456789abcdef0123456789abcdefX:topsecret\n", "bad user name" },
	};
	struct secrets s;
	char err[256], longline[AUTH_SECRET_MAX + 8];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(parse(bad[i].text, &s, err, sizeof err) == -1 && s.n == 0 && s.v == NULL &&
		    strstr(err, bad[i].want) != NULL && strstr(err, "topsecret") == NULL,
		    "refused: %s", err);
	}
	memcpy(longline, "u:", 2);
	memset(longline + 2, 'k', AUTH_SECRET_MAX + 1);
	longline[AUTH_SECRET_MAX + 3] = '\0';
	CHECK(parse(longline, &s, err, sizeof err) == -1 && strstr(err, "1-256 bytes") != NULL,
	    "a secret one byte too long (%s)", err);
	longline[AUTH_SECRET_MAX + 2] = '\0';
	CHECK(parse(longline, &s, err, sizeof err) == 0 && s.n == 1 &&
	    s.v[0].len == AUTH_SECRET_MAX, "the longest secret");
	secrets_free(&s);
}

/* Writes data to path with mode. */
static void
put(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		perror(path);
	if (fd >= 0)
		close(fd);
}

/* The file checks of secrets_load(). */
static void
test_load(void)
{
	char dir[] = "/tmp/secrets-test.XXXXXX", path[64], err[256];
	struct secrets s;
	char *big;

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/s", dir);
	put(path, "alice:pw\n", 9, 0600);
	CHECK(secrets_load(path, &s, err, sizeof err) == 0 && s.n == 1, "a 0600 file loads");
	secrets_free(&s);
	put(path, "alice:pw\n", 9, 0400);
	CHECK(secrets_load(path, &s, err, sizeof err) == 0 && s.n == 1, "a 0400 file loads");
	secrets_free(&s);
	put(path, "alice:pw\n", 9, 0640);
	CHECK(secrets_load(path, &s, err, sizeof err) == -1 && strstr(err, "chmod 600") != NULL,
	    "a group-readable file is refused (%s)", err);
	put(path, "alice:pw\n", 9, 0602);
	CHECK(secrets_load(path, &s, err, sizeof err) == -1, "a world-writable file is refused");
	put(path, "alice:p\0w\n", 10, 0600);
	CHECK(secrets_load(path, &s, err, sizeof err) == -1 && strstr(err, "NUL") != NULL,
	    "a NUL byte is refused");
	if ((big = malloc((64 << 10) + 1)) != NULL) {
		memset(big, '\n', (64 << 10) + 1);
		put(path, big, (64 << 10) + 1, 0600);
		CHECK(secrets_load(path, &s, err, sizeof err) == -1 &&
		    strstr(err, "larger than") != NULL, "a file over 64 KiB is refused");
		free(big);
	}
	CHECK(secrets_load(dir, &s, err, sizeof err) == -1 && strstr(err, "regular") != NULL,
	    "a directory is refused");
	CHECK(secrets_load("/nonexistent/s", &s, err, sizeof err) == -1 &&
	    strstr(err, "/nonexistent/s") != NULL, "a missing file names itself (%s)", err);
	unlink(path);
	rmdir(dir);
}

/* Runs every check; TAP on stdout, exit status 1 if any failed. */
int
main(void)
{
	test_good();
	test_bad();
	test_load();
	return check_done();
}
