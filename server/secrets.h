/*
 * secrets.h -- an export's secrets file: who may authenticate, with what.
 *
 *   # comment
 *   alice:correct horse battery staple
 *   backup:s3cr3t:with:colons
 *
 * One "user:secret" per line: the user is a name auth_user_ok() accepts, the
 * secret everything after the first ':' (1..AUTH_SECRET_MAX bytes).  Blank
 * lines and lines starting with '#' are skipped; anything else is an error,
 * as is a user named twice.  The file holds every password of the export, so
 * syncd refuses it (and so refuses to start or reload) when it is not a
 * regular file or when group or others may access it.
 */
#ifndef RPCSYNC_SECRETS_H
#define RPCSYNC_SECRETS_H

#include <stddef.h>

#include "auth.h"

struct secret {
	char          user[AUTH_USER_MAX + 1];
	unsigned char key[AUTH_SECRET_MAX];
	size_t        len;
};

struct secrets {
	struct secret *v;
	size_t         n;
};

/*
 * Parses text (a secrets file's content); origin names it in messages.
 * Returns 0 and fills out, or -1 with a one-line reason ("origin:LINE: ...",
 * never quoting a secret) in err and out empty.
 */
int secrets_parse(const char *text, const char *origin, struct secrets *out,
    char *err, size_t errlen);

/*
 * Opens file (refusing a non-regular file or one that group or others may
 * access, judged on the open file), reads it (at most 64 KiB) and parses it
 * as above.  Returns 0, or -1 with the reason in err.
 */
int secrets_load(const char *file, struct secrets *out, char *err, size_t errlen);

/* Returns the entry of user, or NULL. */
const struct secret *secrets_find(const struct secrets *s, const char *user);

/* Wipes and frees everything s holds and leaves it empty. */
void secrets_free(struct secrets *s);

#endif
