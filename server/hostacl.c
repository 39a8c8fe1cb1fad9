/*
 * hostacl.c -- parsing and matching of "hosts allow" / "hosts deny" lists.
 *
 * Why so strict: inet_pton() is the whole parser, so "10.1" or "0x0a000001"
 * (which inet_aton would accept) and host names are refused, and a prefix
 * length must be plain decimal within the family's range.  See hostacl.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostacl.h"

#define HOSTACL_WORD_MAX 64     /* longer than any address with a prefix */

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/*
 * Reads a prefix length: 1-3 decimal digits, at most max.  Returns it, or -1.
 */
static int
prefix_len(const char *s, unsigned int max)
{
	unsigned int v = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	if (i == 0 || s[i] != '\0' || v > max)
		return -1;
	return (int)v;
}

/* Parses one word ("addr" or "addr/bits") into r.  Returns 0, or -1. */
static int
parse_rule(char *word, struct host_rule *r)
{
	char *slash = strchr(word, '/');
	int bits = -1;

	if (slash != NULL)
		*slash = '\0';
	memset(r, 0, sizeof *r);
	if (inet_pton(AF_INET, word, r->addr + 12) == 1) {
		memcpy(r->addr, v4_mapped, sizeof v4_mapped);
		bits = slash != NULL ? prefix_len(slash + 1, 32) : 32;
		if (bits >= 0)
			bits += 96;
	} else if (inet_pton(AF_INET6, word, r->addr) == 1) {
		bits = slash != NULL ? prefix_len(slash + 1, 128) : 128;
	}
	if (slash != NULL)
		*slash = '/';
	if (bits < 0)
		return -1;
	r->bits = (unsigned int)bits;
	return 0;
}

int
hostacl_parse(const char *text, struct host_list *out, char *err, size_t errlen)
{
	struct host_list add = { NULL, 0 };
	char word[HOSTACL_WORD_MAX + 1];
	const char *p = text;
	size_t cap = 0;
	int rc = -1;

	for (;;) {
		size_t len;

		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		if (len > HOSTACL_WORD_MAX) {
			snprintf(err, errlen, "'%.20s...' is not an IP address or CIDR prefix", p);
			goto out;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		p += len;
		if (add.n == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 8;
			struct host_rule *v = reallocarray(add.v, ncap, sizeof *v);

			if (v == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			add.v = v;
			cap = ncap;
		}
		if (parse_rule(word, &add.v[add.n]) != 0) {
			snprintf(err, errlen, "'%s' is not an IP address or CIDR prefix", word);
			goto out;
		}
		add.n++;
	}
	if (add.n != 0) {
		struct host_rule *v = reallocarray(out->v, out->n + add.n, sizeof *v);

		if (v == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		memcpy(v + out->n, add.v, add.n * sizeof *v);
		out->v = v;
		out->n += add.n;
	}
	rc = 0;
out:
	free(add.v);
	return rc;
}

int
hostacl_addr(const struct sockaddr *sa, unsigned char a[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(a, v4_mapped, sizeof v4_mapped);
		memcpy(a + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* Returns 1 if the first bits bits of a and b are equal. */
static int
same_prefix(const unsigned char a[16], const unsigned char b[16], unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

/* Returns 1 if the address a (IPv6 form) matches a rule of l, else 0. */
static int
list_has(const struct host_list *l, const unsigned char a[16])
{
	for (size_t i = 0; i < l->n; i++)
		if (same_prefix(a, l->v[i].addr, l->v[i].bits))
			return 1;
	return 0;
}

int
hostacl_match(const struct host_list *l, const struct sockaddr *sa)
{
	unsigned char a[16];

	return hostacl_addr(sa, a) == 0 && list_has(l, a);
}

int
hostacl_admits(const struct host_list *allow, const struct host_list *deny,
    const struct sockaddr *sa)
{
	unsigned char a[16];

	if (hostacl_addr(sa, a) != 0)
		return 0;
	return (allow->n == 0 || list_has(allow, a)) && !list_has(deny, a);
}

void
hostacl_free(struct host_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
