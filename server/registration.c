/*
 * registration.c -- syncd's entry in rpcbind: made, checked, restored, removed.
 *
 * Clients find syncd through rpcbind, and rpcbind forgets registrations when
 * it restarts (unless it was stopped cleanly and runs with -w).  So syncd
 * registers at startup (after dropping any stale entry a crashed instance
 * left), checks periodically that its entry is still there and restores it,
 * registers again on SIGHUP, and removes it on exit.  None of this may run in
 * a signal handler: it is all RPC calls, made from the main loop.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "registration.h"

#define RPCBIND_TIMEOUT_S 5       /* wait for a lookup answer at most this */

/*
 * Describes the last rpcbind client error in buf (n bytes); "refused" when
 * rpcbind answered but said no (rpc_createerr was reset before the call).
 */
static void
rpc_error(char *buf, size_t n)
{
	enum clnt_stat st = rpc_createerr.cf_stat;
	int err = rpc_createerr.cf_error.re_errno;

	if (st == RPC_SUCCESS)
		snprintf(buf, n, "refused (is the program registered by another "
		    "user or daemon?)");
	else if (st == RPC_SYSTEMERROR && err != 0)
		snprintf(buf, n, "%s: %s", clnt_sperrno(st), strerror(err));
	else
		snprintf(buf, n, "%s", clnt_sperrno(st));
}

/*
 * Registers SYNC_PROG version 1 under every netid of reg, the way svc_reg
 * would.  Returns 0, or -1 with the reason of the first refusal in why (n
 * bytes).
 */
static int
rpcbind_set(struct registration *reg, char *why, size_t n)
{
	for (size_t i = 0; i < reg->n; i++) {
		struct netbuf nb = {
			.maxlen = reg->v[i].len,
			.len = reg->v[i].len,
			.buf = &reg->v[i].addr,
		};

		rpc_createerr.cf_stat = RPC_SUCCESS;
		if (!rpcb_set(SYNC_PROG, SYNC_V1, reg->v[i].nconf, &nb)) {
			rpc_error(why, n);
			return -1;
		}
	}
	return 0;
}

/* Drops our program's entries under every netid of reg. */
static void
rpcbind_unset(struct registration *reg)
{
	for (size_t i = 0; i < reg->n; i++)
		rpcb_unset(SYNC_PROG, SYNC_V1, reg->v[i].nconf);
}

/* Returns the port of the AF_INET or AF_INET6 address sa, or -1. */
static int
port_of(const struct sockaddr *sa, size_t len)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return -1;
}

/*
 * Asks the local rpcbind (127.0.0.1 over "tcp", or ::1 over "tcp6" when
 * that is our first netid: rpcbind answers for the netid it is asked over)
 * where SYNC_PROG version 1 is, with RPCBPROC_GETVERSADDR.  On
 * REG_UNREACHABLE, why (n bytes) says what failed.
 *
 * Not rpcb_getaddr(): in libtirpc 1.3.3 it caches rpcbind's address, and
 * the first lookup after rpcbind went away frees that cache entry's
 * universal address twice (delete_cache() then destroy_addr() in
 * rpcb_clnt.c), which aborts the daemon.  A handle of our own has no cache.
 */
static enum reg_state
rpcbind_lookup(struct registration *reg, char *why, size_t n)
{
	const struct reg_netid *want = &reg->v[0];
	struct sockaddr_in rb4 = { .sin_family = AF_INET, .sin_port = htons(111),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 rb6 = { .sin6_family = AF_INET6, .sin6_port = htons(111),
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int six = want->addr.ss_family == AF_INET6;
	struct netbuf rbaddr = {
		.maxlen = six ? sizeof rb6 : sizeof rb4,
		.len = six ? sizeof rb6 : sizeof rb4,
		.buf = six ? (void *)&rb6 : (void *)&rb4,
	};
	struct timeval tmo = { .tv_sec = RPCBIND_TIMEOUT_S, .tv_usec = 0 };
	char empty[] = "";
	RPCB parms = { SYNC_PROG, SYNC_V1, want->nconf->nc_netid, empty, empty };
	enum reg_state st = REG_UNREACHABLE;
	enum clnt_stat cs;
	struct netbuf *addr;
	char *uaddr = NULL;
	CLIENT *cl;

	rpc_createerr.cf_stat = RPC_SUCCESS;
	cl = clnt_tli_create(RPC_ANYFD, want->nconf, &rbaddr, RPCBPROG, RPCBVERS4, 0, 0);
	if (cl == NULL) {
		rpc_error(why, n);
		return REG_UNREACHABLE;
	}
	cs = clnt_call(cl, RPCBPROC_GETVERSADDR, (xdrproc_t)xdr_rpcb,
	    (caddr_t)&parms, (xdrproc_t)xdr_wrapstring, (caddr_t)&uaddr, tmo);
	if (cs != RPC_SUCCESS) {
		snprintf(why, n, "%s", clnt_sperrno(cs));
	} else if (uaddr == NULL || uaddr[0] == '\0') {
		st = REG_MISSING;
	} else {
		/* A wildcard registration comes back as the address we asked. */
		st = REG_OTHER;
		addr = uaddr2taddr(want->nconf, uaddr);
		if (addr != NULL) {
			if (port_of(addr->buf, addr->len) ==
			    port_of((const struct sockaddr *)&want->addr, want->len))
				st = REG_OURS;
			free(addr->buf);
			free(addr);
		}
	}
	xdr_free((xdrproc_t)xdr_wrapstring, (char *)&uaddr);
	clnt_destroy(cl);
	return st;
}

/*
 * First registration: drops whatever a previous instance left (a crashed
 * daemon's entry points at a dead port), then registers.  Returns 0, or
 * EX_UNAVAILABLE (logged).
 */
/*
 * Adds the netid named netid with the address addr (len bytes) to reg.
 * Returns 0, or -1 (logged) when /etc/netconfig has no such entry.
 */
static int
netid_add(struct registration *reg, const char *netid, const void *addr, socklen_t len)
{
	struct reg_netid *v = &reg->v[reg->n];

	if ((v->nconf = getnetconfigent(netid)) == NULL) {
		log_err("cannot register with rpcbind: no \"%s\" entry in /etc/netconfig",
		    netid);
		return -1;
	}
	memcpy(&v->addr, addr, len);
	v->len = len;
	reg->n++;
	return 0;
}

/*
 * First registration: drops whatever a previous instance left (a crashed
 * daemon's entry points at a dead port), then registers.  Returns 0, or
 * EX_UNAVAILABLE (logged).
 */
int
registration_start(struct registration *reg, const struct sockaddr *addr,
    socklen_t len, int dual)
{
	char why[256];

	if (addr->sa_family == AF_INET6 && dual) {
		struct sockaddr_in any4 = { .sin_family = AF_INET,
		    .sin_port = ((const struct sockaddr_in6 *)(const void *)addr)->sin6_port,
		    .sin_addr.s_addr = htonl(INADDR_ANY) };

		if (netid_add(reg, "tcp", &any4, sizeof any4) != 0)
			return EX_UNAVAILABLE;
	}
	if (netid_add(reg, addr->sa_family == AF_INET6 ? "tcp6" : "tcp", addr, len) != 0)
		return EX_UNAVAILABLE;
	rpcbind_unset(reg);
	if (rpcbind_set(reg, why, sizeof why) != 0) {
		log_err("cannot register with rpcbind: %s", why);
		return EX_UNAVAILABLE;
	}
	reg->last_check = REG_OURS;
	return 0;
}

/*
 * SIGHUP: makes sure rpcbind points at us now, replacing another entry for
 * our program if there is one (the admin asked for it).  Logs the outcome.
 */
void
registration_refresh(struct registration *reg)
{
	char why[256];
	enum reg_state st = rpcbind_lookup(reg, why, sizeof why);

	if (st == REG_OURS) {
		log_info("SIGHUP: registration with rpcbind is current");
		return;
	}
	if (st == REG_OTHER)
		rpcbind_unset(reg);
	if (rpcbind_set(reg, why, sizeof why) == 0) {
		log_info("SIGHUP: registered with rpcbind");
		reg->last_check = REG_OURS;
	} else {
		log_warn("SIGHUP: cannot register with rpcbind: %s", why);
	}
}

/*
 * Periodic check: registers again if rpcbind lost our entry (it was
 * restarted), and takes the entry back if it points elsewhere: after an
 * rpcbind restart any local user may register our program number first,
 * and clients would then send their files to that user's listener.  Each
 * problem is logged when it starts, not at every check.
 */
void
registration_check(struct registration *reg)
{
	char why[256];
	enum reg_state st = rpcbind_lookup(reg, why, sizeof why);

	switch (st) {
	case REG_UNSET:         /* lookup never returns it */
	case REG_OURS:
		break;
	case REG_OTHER:
		log_warn("rpcbind lists another address for syncd; replacing it");
		rpcbind_unset(reg);
		/* FALLTHROUGH */
	case REG_MISSING:
		if (rpcbind_set(reg, why, sizeof why) == 0) {
			log_info("re-registered with rpcbind");
			st = REG_OURS;
		} else if (reg->last_check != st) {
			log_warn("cannot re-register with rpcbind: %s", why);
		}
		break;
	case REG_UNREACHABLE:
		if (reg->last_check != REG_UNREACHABLE)
			log_warn("cannot reach rpcbind: %s", why);
		break;
	}
	reg->last_check = st;
}

void
registration_stop(struct registration *reg)
{
	/* Never remove an entry that, at the last look, was not ours. */
	if (reg->n > 0 && reg->last_check != REG_UNSET && reg->last_check != REG_OTHER)
		rpcbind_unset(reg);
	for (size_t i = 0; i < reg->n; i++)
		freenetconfigent(reg->v[i].nconf);
	reg->n = 0;
}
