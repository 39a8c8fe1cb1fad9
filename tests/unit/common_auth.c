/*
 * common_auth.c -- unit tests for common/auth.c.
 *
 * The proof must be exactly the documented HMAC (a known answer computed
 * independently), must change with every input that binds it, and the
 * secret file must be refused in every unsafe or malformed shape.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"

static unsigned char sn[AUTH_NONCE_LEN], cn[AUTH_NONCE_LEN];

/* Lower-case hex of the proof p into out (2 * AUTH_PROOF_LEN + 1 bytes). */
static const char *
hex(const unsigned char *p, char *out)
{
	for (size_t i = 0; i < AUTH_PROOF_LEN; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	return out;
}

/* The proof of role with the test nonces. */
static void
proof(enum auth_role role, const char *secret, const char *user, const char *export,
    unsigned char out[AUTH_PROOF_LEN])
{
	if (auth_proof(role, (const unsigned char *)secret, strlen(secret), sn, cn, user,
	    export, out) != 0)
		memset(out, 0, AUTH_PROOF_LEN);
}

/*
 * Known answers: HMAC-SHA256 with key "s3cret" over the length-prefixed
 * fields "rpcsync-auth-v1", role, server nonce 00..1f, client nonce 20..3f,
 * "alice", "default" (computed with Python's hmac module).
 */
static void
test_known_answer(void)
{
	unsigned char p[AUTH_PROOF_LEN];
	char h[2 * AUTH_PROOF_LEN + 1];

	proof(AUTH_CLIENT, "s3cret", "alice", "default", p);
	CHECK(strcmp(hex(p, h),
	    "4f8e71cf4cffbcc1c2257e020a4450ff0a272a21bbf6a39ddf0016912f67845c") == 0,
	    "client proof is the documented HMAC (%s)", h);
	proof(AUTH_SERVER, "s3cret", "alice", "default", p);
	CHECK(strcmp(hex(p, h),
	    "8eb507b442e68221800b74e328b5d3c957f2688e815dd91ec5c8a289e0447ac4") == 0,
	    "server proof is the documented HMAC (%s)", h);
}

/* Every input changes the proof; equal proofs compare equal. */
static void
test_binding(void)
{
	unsigned char base[AUTH_PROOF_LEN], p[AUTH_PROOF_LEN];

	proof(AUTH_CLIENT, "s3cret", "alice", "default", base);
	proof(AUTH_CLIENT, "s3cret", "alice", "default", p);
	CHECK(auth_proof_equal(base, p), "the same inputs give the same proof");
	proof(AUTH_SERVER, "s3cret", "alice", "default", p);
	CHECK(!auth_proof_equal(base, p), "the role is bound");
	proof(AUTH_CLIENT, "s3cres", "alice", "default", p);
	CHECK(!auth_proof_equal(base, p), "the secret is bound");
	proof(AUTH_CLIENT, "s3cret", "alicf", "default", p);
	CHECK(!auth_proof_equal(base, p), "the user is bound");
	proof(AUTH_CLIENT, "s3cret", "alice", "defaulu", p);
	CHECK(!auth_proof_equal(base, p), "the export is bound");
	proof(AUTH_CLIENT, "s3cret", "alicedef", "ault", p);
	CHECK(!auth_proof_equal(base, p), "fields are length-prefixed (alice|default != alicedef|ault)");
	sn[31] ^= 1;
	proof(AUTH_CLIENT, "s3cret", "alice", "default", p);
	sn[31] ^= 1;
	CHECK(!auth_proof_equal(base, p), "the server nonce is bound");
	cn[0] ^= 0x80;
	proof(AUTH_CLIENT, "s3cret", "alice", "default", p);
	cn[0] ^= 0x80;
	CHECK(!auth_proof_equal(base, p), "the client nonce is bound");
	memcpy(p, base, sizeof p);
	p[AUTH_PROOF_LEN - 1] ^= 1;
	CHECK(!auth_proof_equal(base, p), "a difference in the last byte is seen");
}

/* Nonces are fresh; user names are checked. */
static void
test_nonce_and_user(void)
{
	unsigned char a[AUTH_NONCE_LEN], b[AUTH_NONCE_LEN];

	CHECK(auth_nonce(a) == 0 && auth_nonce(b) == 0 && memcmp(a, b, sizeof a) != 0,
	    "two nonces differ");
	CHECK(auth_user_ok("alice", 5) && auth_user_ok("a.b_c-9", 7), "plain names pass");
	CHECK(!auth_user_ok("", 0) && !auth_user_ok("-x", 2) && !auth_user_ok("a b", 3) &&
	    !auth_user_ok("a:b", 3) && !auth_user_ok("a\0b", 3) && !auth_user_ok("\xc3\xa9", 2),
	    "empty, leading '-', blanks, ':', NUL and non-ASCII are refused");
	CHECK(auth_user_ok("0123456789abcdef0123456789abcdef", 32) &&
	    !auth_user_ok("0123456789abcdef0123456789abcdefX", 33), "at most 32 bytes");
}

/* Writes data to path with mode; returns path. */
static const char *
put(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		perror(path);
	if (fd >= 0)
		close(fd);
	return path;
}

/* The client's secret file: shapes accepted and refused. */
static void
test_secret_file(void)
{
	char dir[] = "/tmp/auth-test.XXXXXX", path[64], s[AUTH_SECRET_MAX + 1];
	char err[256], big[AUTH_SECRET_MAX + 2];
	size_t len = 0;

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/secret", dir);
	CHECK(auth_read_secret(put(path, "pa:ss word\nrest\n", 16, 0600), s, &len, err,
	    sizeof err) == 0 && len == 10 && strcmp(s, "pa:ss word") == 0,
	    "the first line is the secret");
	CHECK(auth_read_secret(put(path, "crlf\r\n", 6, 0400), s, &len, err, sizeof err) == 0 &&
	    strcmp(s, "crlf") == 0, "a CRLF line end is dropped");
	CHECK(auth_read_secret(put(path, "nonl", 4, 0600), s, &len, err, sizeof err) == 0 &&
	    strcmp(s, "nonl") == 0, "a last line without newline");
	CHECK(auth_read_secret(put(path, "x\n", 2, 0640), s, &len, err, sizeof err) == -1 &&
	    strstr(err, "chmod 600") != NULL, "group-readable: refused (%s)", err);
	CHECK(auth_read_secret(put(path, "x\n", 2, 0604), s, &len, err, sizeof err) == -1,
	    "world-readable: refused");
	CHECK(auth_read_secret(put(path, "\nx\n", 3, 0600), s, &len, err, sizeof err) == -1 &&
	    strstr(err, "first line") != NULL, "an empty first line: refused");
	CHECK(auth_read_secret(put(path, "a\0b\n", 4, 0600), s, &len, err, sizeof err) == -1,
	    "a NUL in the secret: refused");
	memset(big, 'k', sizeof big);
	CHECK(auth_read_secret(put(path, big, AUTH_SECRET_MAX, 0600), s, &len, err,
	    sizeof err) == 0 && len == AUTH_SECRET_MAX, "the longest secret");
	CHECK(auth_read_secret(put(path, big, sizeof big, 0600), s, &len, err, sizeof err) == -1,
	    "one byte more: refused");
	CHECK(auth_read_secret(dir, s, &len, err, sizeof err) == -1 &&
	    strstr(err, "regular") != NULL, "a directory: refused");
	CHECK(auth_read_secret("/nonexistent/x", s, &len, err, sizeof err) == -1 &&
	    strstr(err, "No such file") != NULL, "a missing file: refused (%s)", err);
	unlink(path);
	rmdir(dir);
}

/* Runs every check; TAP on stdout, exit status 1 if any failed. */
int
main(void)
{
	for (int i = 0; i < AUTH_NONCE_LEN; i++) {
		sn[i] = (unsigned char)i;
		cn[i] = (unsigned char)(32 + i);
	}
	test_known_answer();
	test_binding();
	test_nonce_and_user();
	test_secret_file();
	return check_done();
}
