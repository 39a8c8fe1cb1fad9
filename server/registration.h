/*
 * registration.h -- syncd's entry in rpcbind (registration.c).
 */
#ifndef RPCSYNC_REGISTRATION_H
#define RPCSYNC_REGISTRATION_H

#include <netinet/in.h>

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
};

/* syncd's registration; zero-initialise before registration_start(). */
struct registration {
	struct reg_netid v[2];          /* v[0] is what the periodic check asks about */
	size_t n;
	enum reg_state last_check;      /* result of the previous check */
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
 * SIGHUP: makes sure rpcbind points at us now, replacing another entry for
 * our program if there is one.  Logs the outcome.
 */
void registration_refresh(struct registration *reg);

/*
 * Periodic check: registers again if rpcbind lost our entry, and takes it
 * back if it points elsewhere (after an rpcbind restart any local user may
 * claim our program number).  Each problem is logged once, when it starts.
 */
void registration_check(struct registration *reg);

/* Removes our entry (if we made one) and frees what reg holds. */
void registration_stop(struct registration *reg);

#endif
