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
 * Registers SYNC_PROG version 1 over TCP at the listener's address, the way
 * svc_reg would.  Returns 0, or -1 with the reason in why (n bytes).
 */
static int
rpcbind_set(struct registration *reg, char *why, size_t n)
{
	struct netbuf nb = {
		.maxlen = sizeof reg->addr,
		.len = sizeof reg->addr,
		.buf = &reg->addr,
	};

	rpc_createerr.cf_stat = RPC_SUCCESS;
	if (rpcb_set(SYNC_PROG, SYNC_V1, reg->nconf, &nb))
		return 0;
	rpc_error(why, n);
	return -1;
}

/*
 * Asks the rpcbind on 127.0.0.1 (over TCP, so that it answers for netid
 * "tcp") where SYNC_PROG version 1 is, with RPCBPROC_GETVERSADDR.  On
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
	struct sockaddr_in rb = { .sin_family = AF_INET, .sin_port = htons(111) };
	struct netbuf rbaddr = { .maxlen = sizeof rb, .len = sizeof rb, .buf = &rb };
	struct timeval tmo = { .tv_sec = RPCBIND_TIMEOUT_S, .tv_usec = 0 };
	char netid[] = "tcp", empty[] = "";
	RPCB parms = { SYNC_PROG, SYNC_V1, netid, empty, empty };
	enum reg_state st = REG_UNREACHABLE;
	enum clnt_stat cs;
	struct netbuf *addr;
	char *uaddr = NULL;
	CLIENT *cl;

	rb.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rpc_createerr.cf_stat = RPC_SUCCESS;
	cl = clnt_tli_create(RPC_ANYFD, reg->nconf, &rbaddr, RPCBPROG, RPCBVERS4,
	    0, 0);
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
		addr = uaddr2taddr(reg->nconf, uaddr);
		if (addr != NULL) {
			const struct sockaddr_in *sin = addr->buf;

			if (addr->len >= sizeof *sin && sin->sin_family == AF_INET &&
			    sin->sin_port == reg->addr.sin_port)
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
int
registration_start(struct registration *reg, const struct sockaddr_in *addr)
{
	char why[256];

	reg->addr = *addr;
	reg->nconf = getnetconfigent("tcp");
	if (reg->nconf == NULL) {
		log_err("cannot register with rpcbind: no \"tcp\" entry in "
		    "/etc/netconfig");
		return EX_UNAVAILABLE;
	}
	rpcb_unset(SYNC_PROG, SYNC_V1, reg->nconf);
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
		rpcb_unset(SYNC_PROG, SYNC_V1, reg->nconf);
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
		rpcb_unset(SYNC_PROG, SYNC_V1, reg->nconf);
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
	if (reg->nconf == NULL)
		return;
	/* Never remove an entry that, at the last look, was not ours. */
	if (reg->last_check != REG_UNSET && reg->last_check != REG_OTHER)
		rpcb_unset(SYNC_PROG, SYNC_V1, reg->nconf);
	freenetconfigent(reg->nconf);
	reg->nconf = NULL;
}
