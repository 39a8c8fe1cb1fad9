/*
 * auth.h -- the challenge-response both sides compute (HMAC-SHA256).
 *
 * Why it exists: an export with a secrets file must know who is writing,
 * without the secret ever crossing the wire and without a recorded exchange
 * being good for a second connection.  So each side contributes a fresh
 * random nonce (the server's in its HELLO reply, the client's in AUTH), and
 * each proves knowledge of the shared secret with an HMAC over both nonces,
 * the user and the export.  The client's proof and the server's differ by a
 * role byte, so neither can be reflected back as the other, and the server's
 * proof lets the client know it reached a daemon that holds the secret too.
 * The MAC input is length-prefixed field by field, so no two different
 * (user, export) pairs can produce the same bytes.
 *
 * What it does not give: privacy (data on the wire stays readable) or
 * integrity after the handshake (an active man-in-the-middle could take the
 * connection over once it is authenticated).
 *
 * Everything here is pure apart from auth_nonce() (getrandom) and
 * auth_read_secret() (one file), and is unit-tested against RFC 4231.
 */
#ifndef RPCSYNC_AUTH_H
#define RPCSYNC_AUTH_H

#include <stddef.h>

#include "sync.h"

#define AUTH_NONCE_LEN  SYNC_NONCE_LEN  /* 32: bytes of each side's nonce */
#define AUTH_PROOF_LEN  SYNC_PROOF_LEN  /* 32: HMAC-SHA256 */
#define AUTH_USER_MAX   SYNC_USER_MAX   /* 32: longest user name */
#define AUTH_SECRET_MAX 256     /* longest secret */

/* Which side a proof comes from: it is part of the MAC input. */
enum auth_role {
	AUTH_CLIENT = 'C',
	AUTH_SERVER = 'S'
};

/* Fills n with AUTH_NONCE_LEN random bytes.  Returns 0, or -1 with errno. */
int auth_nonce(unsigned char n[AUTH_NONCE_LEN]);

/*
 * Computes the proof of role over both nonces (AUTH_NONCE_LEN bytes each),
 * user and export with secret (secret_len bytes) into out (AUTH_PROOF_LEN
 * bytes).  The nonces and proofs are untyped bytes so that rpcgen's char
 * arrays pass as they are.  Returns 0, or -1 if libcrypto failed.
 */
int auth_proof(enum auth_role role, const unsigned char *secret, size_t secret_len,
    const void *server_nonce, const void *client_nonce, const char *user,
    const char *export, void *out);

/*
 * Compares two proofs (AUTH_PROOF_LEN bytes) in time that does not depend
 * on where they differ.  Returns 1 if equal, else 0.
 */
int auth_proof_equal(const void *a, const void *b);

/*
 * Returns 1 if name is a valid user name: 1..AUTH_USER_MAX bytes of
 * [A-Za-z0-9._-], not starting with '-'.  Else 0.
 */
int auth_user_ok(const char *name, size_t len);

/*
 * Reads a client secret file: the first line, without its newline, 1 to
 * AUTH_SECRET_MAX bytes, into secret (AUTH_SECRET_MAX + 1 bytes, NUL
 * terminated); *len gets its length.  A file that is not regular, or that
 * group or others may access (checked on the open file, like ssh's private
 * keys), is refused.  Returns 0, or -1 with a one-line reason in err.
 */
int auth_read_secret(const char *file, char *secret, size_t *len, char *err,
    size_t errlen);

/* Overwrites n bytes at p with zeros in a way the compiler keeps. */
void auth_wipe(void *p, size_t n);

#endif
