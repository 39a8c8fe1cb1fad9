/*
 * hostacl.h -- "hosts allow" / "hosts deny": which peers an export admits.
 *
 * Why it exists: an export is often meant for a few machines, and the
 * kernel's view of the peer (the connected socket's address) is the only
 * identity a daemon without authentication has.  Lists hold IP addresses and
 * CIDR prefixes only, IPv4 and IPv6: no host names, because a name needs DNS
 * at connect time, and DNS that fails or lies must never open a door
 * (rsync's CVE-2026-70452 was a DNS error read as "allow").  Anything that
 * is not an address is a configuration error, so the daemon refuses to
 * start rather than guess.
 *
 * IPv4 rules and peers are kept as IPv4-mapped IPv6 addresses (::ffff:a.b.c.d),
 * so an IPv4 client reaching an IPv6 socket matches the same rules.
 */
#ifndef RPCSYNC_HOSTACL_H
#define RPCSYNC_HOSTACL_H

#include <stddef.h>
#include <sys/socket.h>

/* One prefix: the first bits bits of addr (IPv6 form). */
struct host_rule {
	unsigned char addr[16];
	unsigned int  bits;     /* 0..128 */
};

/* A parsed list; empty (n == 0) matches nobody. */
struct host_list {
	struct host_rule *v;
	size_t            n;
};

/*
 * Parses text, addresses and prefixes separated by commas and/or blanks
 * ("10.0.0.0/8, 192.0.2.7 2001:db8::/32"), appending to out.  Host bits
 * beyond a prefix are ignored.  Returns 0, or -1 with a one-line reason in
 * err ("'example.com' is not an IP address or CIDR prefix") and out
 * unchanged; out of memory is reported the same way.
 */
int hostacl_parse(const char *text, struct host_list *out, char *err, size_t errlen);

/*
 * Fills a with the IPv6 form of the address sa (IPv4 as ::ffff:a.b.c.d).
 * Returns 0, or -1 if sa is neither AF_INET nor AF_INET6.
 */
int hostacl_addr(const struct sockaddr *sa, unsigned char a[16]);

/* Returns 1 if the address sa (AF_INET or AF_INET6) matches a rule of l, else 0. */
int hostacl_match(const struct host_list *l, const struct sockaddr *sa);

/*
 * The export policy: a peer is admitted when allow is empty or matches it,
 * and deny does not match it.  Deny wins over allow, so a narrow deny can
 * cut a hole in a broad allow.  An address of another family is refused.
 * Returns 1 to admit, 0 to refuse.
 */
int hostacl_admits(const struct host_list *allow, const struct host_list *deny,
    const struct sockaddr *sa);

/* Frees l and leaves it empty. */
void hostacl_free(struct host_list *l);

#endif
