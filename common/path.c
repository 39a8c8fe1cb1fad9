/*
 * path.c -- validation, ordering and joining of protocol paths.
 *
 * Why a module of its own: a path from the network is the attacker's main
 * lever against a file server.  Keeping the rules in one small, unit-tested
 * function means the server's confinement layer (which enforces them again in
 * the kernel with openat2 RESOLVE_BENEATH) and the client's check of server
 * replies can never disagree.
 */
#include <string.h>

#include "path.h"

int
path_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > SYNC_NAME_MAX)
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (strchr(name, '/') != NULL)
		return 0;
	if (strncmp(name, PATH_TEMP_PREFIX, strlen(PATH_TEMP_PREFIX)) == 0)
		return 0;
	return 1;
}

int
path_check(const char *p, size_t len, char out[PATH_BUF])
{
	size_t start, end;
	char name[SYNC_NAME_MAX + 1];

	if (len == 0) {             /* XDR decodes an empty opaque as NULL */
		out[0] = '\0';
		return 0;
	}
	if (len > SYNC_PATH_MAX || memchr(p, '\0', len) != NULL)
		return -1;
	for (start = 0; start < len; start = end + 1) {
		const char *slash = memchr(p + start, '/', len - start);

		end = slash != NULL ? (size_t)(slash - p) : len;
		if (end - start > SYNC_NAME_MAX)
			return -1;
		memcpy(name, p + start, end - start);
		name[end - start] = '\0';
		if (!path_name_ok(name))
			return -1;
		if (slash != NULL && end + 1 == len)
			return -1;          /* trailing '/' */
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int
path_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	for (; *x != '\0' && *x == *y; x++, y++)
		;
	/* '/' ends a component, so it must sort before every name byte. */
	unsigned cx = *x == '/' ? 1 : (*x == '\0' ? 0 : (unsigned)*x + 1);
	unsigned cy = *y == '/' ? 1 : (*y == '\0' ? 0 : (unsigned)*y + 1);

	return (int)cx - (int)cy;
}

int
path_join(char *out, size_t n, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t need = la + lb + (la != 0 && lb != 0) + 1;

	if (need > n)
		return -1;
	memmove(out, a, la);
	if (la != 0 && lb != 0)
		out[la++] = '/';
	memmove(out + la, b, lb);
	out[la + lb] = '\0';
	return 0;
}

int
path_split(const char *path, char parent[PATH_BUF], const char **leaf)
{
	const char *slash = strrchr(path, '/');
	size_t plen;

	if (*path == '\0')
		return -1;
	plen = slash != NULL ? (size_t)(slash - path) : 0;
	if (plen >= PATH_BUF)
		return -1;
	memcpy(parent, path, plen);
	parent[plen] = '\0';
	*leaf = slash != NULL ? slash + 1 : path;
	return 0;
}

int
path_token_ok(const char *s, size_t len, size_t max, char bad_first)
{
	if (len == 0 || len > max || s[0] == bad_first)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}
