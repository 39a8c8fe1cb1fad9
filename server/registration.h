/*
 * registration.h -- syncd's entry in rpcbind (registration.c).
 */
#ifndef RPCSYNC_REGISTRATION_H
#define RPCSYNC_REGISTRATION_H

#include <netinet/in.h>
#include <pthread.h>

#include <netconfig.h>
#include <rpc/rpc.h>

#include "sync.h"

/* What rpcbind says about our program. */
enum reg_state {
	REG_UNSET,              /* never registered (zero value) */
	REG_OURS,               /* registered with our port */
	REG_OTHER,              /* registered with another address */
	REG_MISSING,            /* not registered */
	REG_UNREACHABLE         /* rpcbind did not answer */
};

/* One netid syncd is registered under, with the address clients get. */
struct reg_netid {
	struct netconfig       *nconf;  /* "tcp" or "tcp6" */
	struct sockaddr_storage addr;   /* the listener, in that netid's family */
	socklen_t               len;
	enum reg_state          last;   /* what rpcbind said at the last look */
};

/* syncd's registration; zero-initialise before registration_start(). */
struct registration {
	struct reg_netid v[2];          /* every netid, each checked on its own */
	size_t n;
	unsigned long period_s;         /* between checks; 0: only on SIGHUP */
	int watching;                   /* the thread runs (registration_watch) */
	pthread_t thread;
	pthread_mutex_t lock;           /* guards stop and refresh */
	pthread_cond_t wake;            /* CLOCK_MONOTONIC */
	int stop, refresh;              /* requests to the thread */
};

/*
 * Registers SYNC_PROG version 1 at the listener's address addr (len bytes),
 * first dropping whatever entries a previous instance left: over "tcp" for
 * an IPv4 listener, "tcp6" for an IPv6 one, and both for an IPv6 wildcard
 * listener that also takes IPv4 (dual set).  Returns 0, or EX_UNAVAILABLE
 * (logged).
 */
int registration_start(struct registration *reg, const struct sockaddr *addr,
    socklen_t len, int dual);

/*
 * Starts the thread that owns the registration from now on (after the
 * daemon detached: fork keeps no threads): every period_s seconds (never if
 * 0) it asks rpcbind about each netid and registers again what rpcbind lost
 * (it was restarted) or lists at another address (after an rpcbind restart
 * any local user may claim our program number).  Each problem is logged
 * once, when it starts.  Every RPC call it makes is bounded by timeouts
 * and none runs on the caller's thread.  Returns 0, or -1 (logged).
 */
int registration_watch(struct registration *reg, unsigned long period_s);

/*
 * SIGHUP: asks the thread to check every netid now and to replace whatever
 * is not ours; it logs the outcome.  Returns at once.
 */
void registration_refresh(struct registration *reg);

/*
 * Removes our entries (never one that at the last look was another's),
 * stops the thread, and frees what reg holds.  Waits at most a few seconds
 * for a hung rpcbind, then leaves the entries (logged).
 */
void registration_stop(struct registration *reg);

#endif
