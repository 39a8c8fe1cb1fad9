/*
 * registration.c -- syncd's entry in rpcbind: made, checked, restored, removed.
 *
 * Clients find syncd through rpcbind, and rpcbind forgets registrations when
 * it restarts (unless it was stopped cleanly and runs with -w).  So syncd
 * registers at startup (after dropping any stale entry a crashed instance
 * left), checks periodically that its entry is still there under every
 * netid it serves and restores what is missing, registers again on SIGHUP,
 * and removes it on exit.  None of this may run in a signal handler: it is
 * all RPC calls.  After startup they run on a thread of their own, so that
 * an rpcbind that is slow, hung or gone (each call may wait for its
 * timeout) never delays accepting connections or a signal.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "monotime.h"
#include "registration.h"

#define RPCBIND_TIMEOUT_S 5       /* wait for a lookup answer at most this */
#define RPCBIND_STOP_WAIT_S 3     /* at exit, wait this long for a hung rpcbind */

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
 * Registers SYNC_PROG version 1 under netid i of reg, the way svc_reg would.
 * Returns 0, or -1 with the reason of the refusal in why (n bytes).
 */
static int
rpcbind_set_one(struct registration *reg, size_t i, char *why, size_t n)
{
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
	return 0;
}

/*
 * Registers under every netid of reg.  Returns 0, or -1 with the reason of
 * the first refusal in why (n bytes).
 */
static int
rpcbind_set(struct registration *reg, char *why, size_t n)
{
	for (size_t i = 0; i < reg->n; i++)
		if (rpcbind_set_one(reg, i, why, n) != 0)
			return -1;
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
 * Asks the local rpcbind where SYNC_PROG version 1 is under netid i of reg,
 * with RPCBPROC_GETVERSADDR over that netid (127.0.0.1 over "tcp", ::1 over
 * "tcp6": rpcbind answers for the netid it is asked over).  Waits at most
 * RPCBIND_TIMEOUT_S for the answer.  On REG_UNREACHABLE, why (n bytes) says
 * what failed.
 *
 * Not rpcb_getaddr(): in libtirpc 1.3.3 it caches rpcbind's address, and
 * the first lookup after rpcbind went away frees that cache entry's
 * universal address twice (delete_cache() then destroy_addr() in
 * rpcb_clnt.c), which aborts the daemon.  A handle of our own has no cache.
 */
static enum reg_state
rpcbind_lookup(const struct registration *reg, size_t i, char *why, size_t n)
{
	const struct reg_netid *want = &reg->v[i];
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
	for (size_t i = 0; i < reg->n; i++)
		reg->v[i].last = REG_OURS;
	return 0;
}

/*
 * Brings netid i of reg back to REG_OURS if rpcbind lost it (it was
 * restarted) or lists another address: after an rpcbind restart any local
 * user may register our program number first, and clients would then send
 * their files to that user's listener.  quiet: log a problem only when it
 * starts (the periodic check), not at every look.  Returns what rpcbind
 * now lists, REG_OURS when restored.
 */
static enum reg_state
check_netid(struct registration *reg, size_t i, int quiet)
{
	const char *netid = reg->v[i].nconf->nc_netid;
	enum reg_state st, was = reg->v[i].last;
	char why[256];

	st = rpcbind_lookup(reg, i, why, sizeof why);
	switch (st) {
	case REG_UNSET:         /* lookup never returns it */
	case REG_OURS:
		break;
	case REG_OTHER:
		log_warn("rpcbind lists another address for syncd over %s; "
		    "replacing it", netid);
		rpcb_unset(SYNC_PROG, SYNC_V1, reg->v[i].nconf);
		/* FALLTHROUGH */
	case REG_MISSING:
		if (rpcbind_set_one(reg, i, why, sizeof why) == 0) {
			log_info("re-registered with rpcbind over %s", netid);
			st = REG_OURS;
		} else if (!quiet || was != st) {
			log_warn("cannot re-register with rpcbind over %s: %s", netid, why);
		}
		break;
	case REG_UNREACHABLE:
		if (!quiet || was != REG_UNREACHABLE)
			log_warn("cannot reach rpcbind over %s: %s", netid, why);
		break;
	}
	reg->v[i].last = st;
	return st;
}

/* Removes our entries, except those that at the last look were not ours. */
static void
unset_ours(struct registration *reg)
{
	for (size_t i = 0; i < reg->n; i++)
		if (reg->v[i].last != REG_UNSET && reg->v[i].last != REG_OTHER)
			rpcb_unset(SYNC_PROG, SYNC_V1, reg->v[i].nconf);
}

/*
 * The registration thread: checks every netid each period_s seconds (never
 * when 0), at once when registration_refresh() asks, and ends when
 * registration_stop() asks, after removing our entries.  The lock is never
 * held across an RPC call.
 */
static void *
watch(void *arg)
{
	struct registration *reg = arg;
	long long next = monotime_ms() + (long long)reg->period_s * 1000;

	pthread_mutex_lock(&reg->lock);
	for (;;) {
		int refresh, ours = 1;
		long long left = 0;

		while (!reg->stop && !reg->refresh &&
		    (reg->period_s == 0 || (left = next - monotime_ms()) > 0)) {
			struct timespec ts;

			if (reg->period_s == 0) {
				pthread_cond_wait(&reg->wake, &reg->lock);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &ts);    /* wake's clock */
			ts.tv_sec += left / 1000 + (ts.tv_nsec + left % 1000 * 1000000) / 1000000000;
			ts.tv_nsec = (ts.tv_nsec + left % 1000 * 1000000) % 1000000000;
			pthread_cond_timedwait(&reg->wake, &reg->lock, &ts);
		}
		if (reg->stop)
			break;
		refresh = reg->refresh;
		reg->refresh = 0;
		pthread_mutex_unlock(&reg->lock);
		for (size_t i = 0; i < reg->n; i++)
			ours &= check_netid(reg, i, !refresh) == REG_OURS;
		if (refresh)
			log_info("SIGHUP: registration with rpcbind is %s",
			    ours ? "current" : "incomplete");
		next = monotime_ms() + (long long)reg->period_s * 1000;
		pthread_mutex_lock(&reg->lock);
	}
	pthread_mutex_unlock(&reg->lock);
	unset_ours(reg);
	return NULL;
}

int
registration_watch(struct registration *reg, unsigned long period_s)
{
	pthread_condattr_t ca;
	int err;

	reg->period_s = period_s;
	err = pthread_condattr_init(&ca);
	if (err == 0) {
		err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (err == 0)
			err = pthread_cond_init(&reg->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (err != 0) {
		log_err("rpcbind watch: %s", strerror(err));
		return -1;
	}
	err = pthread_mutex_init(&reg->lock, NULL);
	if (err == 0) {
		err = pthread_create(&reg->thread, NULL, watch, reg);
		if (err != 0)
			pthread_mutex_destroy(&reg->lock);
	}
	if (err != 0) {
		pthread_cond_destroy(&reg->wake);
		log_err("cannot start the rpcbind watch: %s", strerror(err));
		return -1;
	}
	reg->watching = 1;
	return 0;
}

void
registration_refresh(struct registration *reg)
{
	if (!reg->watching)
		return;
	pthread_mutex_lock(&reg->lock);
	reg->refresh = 1;
	pthread_cond_signal(&reg->wake);
	pthread_mutex_unlock(&reg->lock);
}

void
registration_stop(struct registration *reg)
{
	if (reg->watching) {
		struct timespec ts;
		int err;

		pthread_mutex_lock(&reg->lock);
		reg->stop = 1;
		pthread_cond_signal(&reg->wake);
		pthread_mutex_unlock(&reg->lock);
		/* The thread removes the entries; a hung rpcbind cannot hold
		 * the exit longer than this. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += RPCBIND_STOP_WAIT_S;
		err = pthread_timedjoin_np(reg->thread, NULL, &ts);
		if (err != 0) {
			log_warn("rpcbind does not answer: exiting without removing "
			    "the registration");
			return;     /* the thread still uses reg: leave it be */
		}
		reg->watching = 0;
		pthread_cond_destroy(&reg->wake);
		pthread_mutex_destroy(&reg->lock);
	} else {
		unset_ours(reg);
	}
	for (size_t i = 0; i < reg->n; i++)
		freenetconfigent(reg->v[i].nconf);
	reg->n = 0;
}
