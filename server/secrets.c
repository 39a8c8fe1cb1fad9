/*
 * secrets.c -- loading and looking up a secrets file (see secrets.h).
 *
 * Why strict: a secrets file that others can read is a leaked password
 * list, and one that is silently half-parsed locks users out (or in) in ways
 * nobody notices; refusing to start says so at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdio.h"
#include "secrets.h"

#define SECRETS_FILE_MAX (64 << 10)    /* thousands of users; bounds the entry array */

int
secrets_parse(const char *text, const char *origin, struct secrets *out,
    char *err, size_t errlen)
{
	const char *p = text;
	unsigned int line = 0;
	size_t lines = 1;

	/* One allocation for every line that could be an entry: no realloc()
	 * ever frees a copy of a secret unwiped. */
	for (const char *q = text; (q = strchr(q, '\n')) != NULL; q++)
		lines++;
	out->n = 0;
	if ((out->v = calloc(lines, sizeof *out->v)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", origin);
		return -1;
	}
	while (*p != '\0') {
		const char *end = strchr(p, '\n'), *colon;
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		char user[AUTH_USER_MAX + 1];
		size_t ulen, klen;

		line++;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0 || p[0] == '#')
			goto next;
		colon = memchr(p, ':', len);
		if (colon == NULL) {
			snprintf(err, errlen, "%s:%u: expected 'user:secret'", origin, line);
			goto fail;
		}
		ulen = (size_t)(colon - p);
		klen = len - ulen - 1;
		if (!auth_user_ok(p, ulen)) {
			snprintf(err, errlen, "%s:%u: bad user name (1-%d of A-Z a-z 0-9 . _ -)",
			    origin, line, AUTH_USER_MAX);
			goto fail;
		}
		if (klen == 0 || klen > AUTH_SECRET_MAX) {
			snprintf(err, errlen, "%s:%u: the secret must be 1-%d bytes", origin, line,
			    AUTH_SECRET_MAX);
			goto fail;
		}
		memcpy(user, p, ulen);
		user[ulen] = '\0';
		if (secrets_find(out, user) != NULL) {
			snprintf(err, errlen, "%s:%u: user '%s' named twice", origin, line, user);
			goto fail;
		}
		memcpy(out->v[out->n].user, user, ulen + 1);
		memcpy(out->v[out->n].key, colon + 1, klen);
		out->v[out->n++].len = klen;
next:
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
fail:
	secrets_free(out);
	return -1;
}

int
secrets_load(const char *file, struct secrets *out, char *err, size_t errlen)
{
	char *text, why[512];
	size_t len;
	int rc;

	out->v = NULL;
	out->n = 0;
	if (fdio_read_text(file, SECRETS_FILE_MAX, FDIO_PRIVATE, &text, &len, why,
	    sizeof why) != 0) {
		snprintf(err, errlen, "secrets file %s", why);
		return -1;
	}
	rc = secrets_parse(text, file, out, err, errlen);
	auth_wipe(text, len);
	free(text);
	return rc;
}

const struct secret *
secrets_find(const struct secrets *s, const char *user)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].user, user) == 0)
			return &s->v[i];
	return NULL;
}

void
secrets_free(struct secrets *s)
{
	if (s->v != NULL) {
		auth_wipe(s->v, s->n * sizeof *s->v);
		free(s->v);
	}
	s->v = NULL;
	s->n = 0;
}
