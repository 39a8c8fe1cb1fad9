/*
 * auth.c -- HMAC-SHA256 proofs, nonces and secret files (see auth.h).
 *
 * Why libcrypto: HMAC and the constant-time comparison are exactly the code
 * one must not write by hand; OpenSSL's are reviewed and maintained.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "auth.h"
#include "fdio.h"
#include "path.h"

#define AUTH_FILE_MAX (64 << 10)   /* a secret file larger than this is a mistake */

/* Domain separation: no other MAC computed with these secrets starts like this. */
static const char auth_label[] = "rpcsync-auth-v1";

int
auth_nonce(unsigned char n[AUTH_NONCE_LEN])
{
	size_t got = 0;

	while (got < AUTH_NONCE_LEN) {
		ssize_t r = getrandom(n + got, AUTH_NONCE_LEN - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Appends a 32-bit big-endian length and then len bytes of p to the MAC. */
static int
mac_field(EVP_MAC_CTX *ctx, const void *p, size_t len)
{
	unsigned char be[4] = {
		(unsigned char)(len >> 24), (unsigned char)(len >> 16),
		(unsigned char)(len >> 8), (unsigned char)len
	};

	return EVP_MAC_update(ctx, be, sizeof be) == 1 &&
	    (len == 0 || EVP_MAC_update(ctx, p, len) == 1);
}

int
auth_proof(enum auth_role role, const unsigned char *secret, size_t secret_len,
    const void *server_nonce, const void *client_nonce, const char *user,
    const char *export, void *out)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end()
	};
	unsigned char r = (unsigned char)role;
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac;
	size_t outlen = 0;
	int ok = 0;

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	if ((ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	ok = EVP_MAC_init(ctx, secret, secret_len, params) == 1 &&
	    mac_field(ctx, auth_label, sizeof auth_label - 1) &&
	    mac_field(ctx, &r, 1) &&
	    mac_field(ctx, server_nonce, AUTH_NONCE_LEN) &&
	    mac_field(ctx, client_nonce, AUTH_NONCE_LEN) &&
	    mac_field(ctx, user, strlen(user)) &&
	    mac_field(ctx, export, strlen(export)) &&
	    EVP_MAC_final(ctx, out, &outlen, AUTH_PROOF_LEN) == 1 &&
	    outlen == AUTH_PROOF_LEN;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

int
auth_proof_equal(const void *a, const void *b)
{
	return CRYPTO_memcmp(a, b, AUTH_PROOF_LEN) == 0;
}

int
auth_user_ok(const char *name, size_t len)
{
	return path_token_ok(name, len, AUTH_USER_MAX, '-');
}

int
auth_read_secret(const char *file, char *secret, size_t *len, char *err, size_t errlen)
{
	char *text, *nl;
	size_t n, line;
	int rc = -1;

	if (fdio_read_text(file, AUTH_FILE_MAX, FDIO_PRIVATE, &text, &n, err, errlen) != 0)
		return -1;
	nl = strchr(text, '\n');
	line = nl != NULL ? (size_t)(nl - text) : n;
	if (line > 0 && text[line - 1] == '\r')
		line--;
	if (line == 0 || line > AUTH_SECRET_MAX) {
		snprintf(err, errlen, "%s: the first line must hold the secret (1-%d bytes)",
		    file, AUTH_SECRET_MAX);
		goto out;
	}
	memcpy(secret, text, line);
	secret[line] = '\0';
	*len = line;
	rc = 0;
out:
	auth_wipe(text, n);
	free(text);
	return rc;
}

void
auth_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
