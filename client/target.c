/*
 * target.c -- parse "HOST[:EXPORT][/PATH]".
 *
 * The destination path is checked here with path_check(), the same judge
 * the server uses, so a bad PATH is a usage error before any connection is
 * made rather than a BADPATH failure after one.
 */
#include <stdio.h>
#include <string.h>

#include "target.h"

/* Returns non-zero if the len bytes at h can be a host name or address. */
static int
host_ok(const char *h, size_t len)
{
	if (len == 0 || len > TARGET_HOST_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c <= ' ' || c == 0x7f || c == '[' || c == ']' || c == '/')
			return 0;
	}
	return 1;
}

int
target_export_ok(const char *name, size_t len)
{
	return path_token_ok(name, len, SYNC_EXPORT_MAX, '.');
}

/*
 * Stores the PATH part p (after the '/' that ends HOST or EXPORT) in t.
 * Returns 0, or -1 with a reason in err.
 */
static int
parse_path(const char *p, struct target *t, char *err, size_t errlen)
{
	size_t len = strlen(p);

	if (len > 0 && p[len - 1] == '/')
		len--;
	if ((len == 0 && p[0] != '\0') || path_check(p, len, t->path) < 0) {
		snprintf(err, errlen, "invalid path '%.*s'", (int)len, p);
		return -1;
	}
	t->has_path = 1;
	return 0;
}

int
target_parse(const char *spec, struct target *t, char *err, size_t errlen)
{
	const char *host = spec, *rest;
	size_t hlen;

	memset(t, 0, sizeof *t);
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL) {
			snprintf(err, errlen, "missing ']' after IPv6 address");
			return -1;
		}
		host = spec + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
		if (*rest != '\0' && *rest != ':' && *rest != '/') {
			snprintf(err, errlen, "unexpected text after ']'");
			return -1;
		}
	} else {
		hlen = strcspn(spec, ":/");
		rest = spec + hlen;
	}
	if (!host_ok(host, hlen)) {
		snprintf(err, errlen, hlen == 0 ? "empty host" : "invalid host");
		return -1;
	}
	memcpy(t->host, host, hlen);
	t->host[hlen] = '\0';

	if (*rest == ':') {
		size_t elen = strcspn(++rest, "/");

		if (!target_export_ok(rest, elen)) {
			snprintf(err, errlen, "invalid export name '%.*s'", (int)elen, rest);
			return -1;
		}
		memcpy(t->export, rest, elen);
		t->export[elen] = '\0';
		rest += elen;
	} else {
		strcpy(t->export, TARGET_DEFAULT_EXPORT);
	}
	if (*rest == '/')
		return parse_path(rest + 1, t, err, errlen);
	return 0;
}

int
target_set_path(struct target *t, const char *name, char *err, size_t errlen)
{
	if (path_check(name, strlen(name), t->path) < 0) {
		snprintf(err, errlen, "'%s' is not a valid destination name", name);
		return -1;
	}
	t->has_path = 1;
	return 0;
}
