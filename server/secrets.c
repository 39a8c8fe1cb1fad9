/*
 * secrets.c -- loading and looking up a secrets file (see secrets.h).
 *
 * Why strict: a secrets file that others can read is a leaked password
 * list, and one that is silently half-parsed locks users out (or in) in ways
 * nobody notices; refusing to start says so at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	struct stat sb;
	char *text = NULL;
	size_t n = 0;
	int fd, rc = -1;

	out->v = NULL;
	out->n = 0;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "secrets file %s: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "secrets file %s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "secrets file %s: not a regular file", file);
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(err, errlen, "secrets file %s: group or others may access it "
		    "(chmod 600)", file);
		goto out;
	}
	if (sb.st_size > SECRETS_FILE_MAX) {
		snprintf(err, errlen, "secrets file %s: larger than %d bytes", file,
		    SECRETS_FILE_MAX);
		goto out;
	}
	if ((text = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(err, errlen, "secrets file %s: out of memory", file);
		goto out;
	}
	while (n < (size_t)sb.st_size) {
		ssize_t r = read(fd, text + n, (size_t)sb.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "secrets file %s: %s", file, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	text[n] = '\0';
	if (memchr(text, '\0', n) != NULL) {
		snprintf(err, errlen, "secrets file %s: contains a NUL byte", file);
		goto out;
	}
	rc = secrets_parse(text, file, out, err, errlen);
out:
	if (text != NULL) {
		auth_wipe(text, n);
		free(text);
	}
	close(fd);
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
