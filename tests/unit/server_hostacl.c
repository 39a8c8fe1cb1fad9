/*
 * server_hostacl.c -- unit tests for server/hostacl.c.
 *
 * The list decides who may talk to an export, so both halves are checked:
 * what the parser refuses (it must fail closed: no names, no sloppy forms)
 * and which peers match, across families and at prefix edges.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../../server/hostacl.h"
#include "check.h"

/* Parses text into a fresh list; returns the result of hostacl_parse(). */
static int
parse(const char *text, struct host_list *l, char *err, size_t errlen)
{
	memset(l, 0, sizeof *l);
	return hostacl_parse(text, l, err, errlen);
}

/* A sockaddr for the textual address a (IPv4 or IPv6). */
static const struct sockaddr *
peer(const char *a)
{
	static struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	if (strchr(a, ':') == NULL) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		inet_pton(AF_INET, a, &in->sin_addr);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, a, &in6->sin6_addr);
	}
	return (const struct sockaddr *)&ss;
}

/* What the parser refuses, and that a refusal leaves the list unchanged. */
static void
test_parse(void)
{
	static const char *bad[] = {
		"example.com", "localhost", "10.1", "0x0a000001", "10.0.0.0/33", "10.0.0.0/",
		"10.0.0.0/-1", "10.0.0.0/+8", "::1/129", "10.0.0.0/8/8", "1.2.3.4.5",
		"10.0.0.0/0008", "*", "10.0.0.0 bad", "fe80::1%eth0",
		"0123456789012345678901234567890123456789012345678901234567890123456789",
	};
	struct host_list l;
	char err[128];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(bad[i], &l, err, sizeof err);

		CHECK(rc == -1 && l.n == 0 && strstr(err, "not an IP address") != NULL,
		    "refused: '%s' (%s)", bad[i], err);
		hostacl_free(&l);
	}
	CHECK(parse("10.0.0.0/8, 192.0.2.7\t2001:db8::/32,,::1", &l, err, sizeof err) == 0 &&
	    l.n == 4, "commas and blanks separate (%zu rules)", l.n);
	CHECK(l.n == 4 && l.v[0].bits == 104 && l.v[1].bits == 128 && l.v[2].bits == 32 &&
	    l.v[3].bits == 128, "IPv4 prefixes are kept in IPv6 form");
	CHECK(hostacl_parse("nope", &l, err, sizeof err) == -1 && l.n == 4,
	    "a refused append leaves the list as it was");
	CHECK(hostacl_parse("198.51.100.0/24", &l, err, sizeof err) == 0 && l.n == 5,
	    "an accepted append adds to it");
	hostacl_free(&l);
	CHECK(parse("  ", &l, err, sizeof err) == 0 && l.n == 0, "a blank list is empty");
}

/* Which peers match, at prefix edges and across families. */
static void
test_match(void)
{
	struct host_list l;
	char err[128];

	CHECK(parse("10.1.2.0/23, 2001:db8:aa::/48, 192.0.2.9", &l, err, sizeof err) == 0,
	    "parsed");
	CHECK(hostacl_match(&l, peer("10.1.2.0")) && hostacl_match(&l, peer("10.1.3.255")),
	    "both ends of a /23 match");
	CHECK(!hostacl_match(&l, peer("10.1.1.255")) && !hostacl_match(&l, peer("10.1.4.0")),
	    "one address outside either end does not");
	CHECK(hostacl_match(&l, peer("192.0.2.9")) && !hostacl_match(&l, peer("192.0.2.8")),
	    "a single address matches itself only");
	CHECK(hostacl_match(&l, peer("::ffff:10.1.3.7")),
	    "an IPv4-mapped IPv6 peer matches the IPv4 rule");
	CHECK(!hostacl_match(&l, peer("::10.1.3.7")) && !hostacl_match(&l, peer("::1")),
	    "other IPv6 forms of it do not");
	CHECK(hostacl_match(&l, peer("2001:db8:aa:ffff::1")) &&
	    !hostacl_match(&l, peer("2001:db8:ab::1")), "an IPv6 /48");
	hostacl_free(&l);
	CHECK(parse("0.0.0.0/0", &l, err, sizeof err) == 0 && hostacl_match(&l, peer("8.8.8.8")) &&
	    !hostacl_match(&l, peer("2001:db8::1")), "0.0.0.0/0 is every IPv4 peer, no IPv6 one");
	hostacl_free(&l);
	CHECK(parse("::/0", &l, err, sizeof err) == 0 && hostacl_match(&l, peer("8.8.8.8")) &&
	    hostacl_match(&l, peer("2001:db8::1")), "::/0 is everyone");
	hostacl_free(&l);
	CHECK(parse("10.0.0.7/8", &l, err, sizeof err) == 0 && hostacl_match(&l, peer("10.9.9.9")),
	    "host bits beyond the prefix are ignored");
	hostacl_free(&l);
}

/* The export policy: allow (if any) must match, deny must not. */
static void
test_admits(void)
{
	struct host_list allow, deny, none = { NULL, 0 };
	struct sockaddr bogus;
	char err[128];

	CHECK(hostacl_admits(&none, &none, peer("203.0.113.1")), "no lists: everyone");
	CHECK(parse("10.0.0.0/8", &allow, err, sizeof err) == 0 &&
	    parse("10.6.6.6", &deny, err, sizeof err) == 0, "parsed");
	CHECK(hostacl_admits(&allow, &none, peer("10.6.6.6")) &&
	    !hostacl_admits(&allow, &none, peer("11.0.0.1")), "allow alone admits its own only");
	CHECK(!hostacl_admits(&none, &deny, peer("10.6.6.6")) &&
	    hostacl_admits(&none, &deny, peer("11.0.0.1")), "deny alone refuses its own only");
	CHECK(!hostacl_admits(&allow, &deny, peer("10.6.6.6")) &&
	    hostacl_admits(&allow, &deny, peer("10.6.6.7")), "deny wins over allow");
	memset(&bogus, 0, sizeof bogus);
	bogus.sa_family = AF_UNIX;
	CHECK(!hostacl_admits(&none, &none, &bogus), "another address family is refused");
	hostacl_free(&allow);
	hostacl_free(&deny);
}

/* Runs every check; TAP on stdout, exit status 1 if any failed. */
int
main(void)
{
	test_parse();
	test_match();
	test_admits();
	return check_done();
}
