/*
 * remote_int.h -- one connection to syncd, shared by the files that use it.
 *
 * Why it exists: the connection has three roles, one file each -- dial.c
 * opens and closes it and bounds every call by its deadline, listing.c
 * fetches a LIST and checks all a hostile server could put in it,
 * remote.c makes the other calls and keeps the batch -- and they work on
 * the same struct remote, defined here with the functions they call
 * across those files.  remote.h is the connection's face to the rest of
 * syncctl; only those three include this.
 */
#ifndef RPCSYNC_REMOTE_INT_H
#define RPCSYNC_REMOTE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <rpc/rpc.h>

#include "remote.h"

/*
 * Keeps the deadline of the call in progress on one connection: a thread
 * that shuts the socket down (which ends any read or write clnt_call is
 * blocked in) once the armed deadline has passed.  Everything below is
 * under lock.
 */
struct watchdog {
	pthread_t       thread;
	pthread_mutex_t lock;
	pthread_cond_t  wake;        /* armed, or stop */
	struct timespec deadline;    /* CLOCK_MONOTONIC */
	int             fd;          /* the connection's socket */
	int             armed;       /* a call is in progress */
	int             waiting;     /* the thread sleeps with no deadline */
	int             fired;       /* the deadline passed: the socket is shut */
	int             stop;        /* remote_close(): the thread must end */
	int             running;     /* the thread was started */
};

struct remote {
	CLIENT        *cl;
	char           name[300];     /* "host" or "host:port", for messages */
	struct timeval timeout;
	unsigned long  round_trips;   /* synchronous calls made */

	/* Compression of WRITE data (remote_set_compress, HELLO's grant). */
	int            zlevel;        /* level to ask for; 0: do not ask */
	unsigned int   caps;          /* SYNC_CAP_* the last HELLO granted */
	struct zstdio_enc *zenc;      /* made when SYNC_CAP_ZSTD is granted */
	char          *zbuf;          /* one compressed chunk */
	size_t         zbuf_cap;
	unsigned long long wire_data; /* WRITE data bytes sent, after compression */
	unsigned long long sig_data;  /* SIGNATURE sums received, as encoded */
	const char    *user;          /* remote_set_auth(); NULL: no credentials */
	const unsigned char *secret;
	size_t         secret_len;
	int            insist;        /* refuse an export that does not ask */
	struct sockaddr_storage peer; /* the server's address, for remote_open_same() */
	socklen_t      peer_len;      /* 0: unknown */
	int            open_err;      /* why dialing failed: REMOTE_DOWN (worth
	                                 another try) or REMOTE_UNREACHABLE */

	/* The path of every batched call since the last BARRIER. */
	char          *names;         /* NUL-terminated paths, back to back */
	size_t         names_len, names_cap;
	uint32_t      *calls;         /* per call: offset of its path in names */
	size_t         ncalls, calls_cap;

	size_t         list_max;      /* most entries a listing may have */
	size_t         list_bytes;    /* bytes of names the listing in progress holds */
	struct watchdog wd;
};

/* ---- dial.c: the connection, the deadline and failure of a call ------- */

/*
 * clnt_call on r bounded as a whole by r->timeout (the watchdog).  A call
 * whose deadline passed, whatever clnt_call made of the shut socket,
 * returns RPC_TIMEDOUT; the connection is unusable from then on.
 */
enum clnt_stat timed_call(struct remote *r, rpcproc_t proc, xdrproc_t inproc, void *in,
    xdrproc_t outproc, void *out, struct timeval tmo);

/* Logs "NAME: WHAT: <rpc error>" for a failed call on r; returns its class. */
int call_failed(struct remote *r, const char *what, enum clnt_stat st);

/* Logs "NAME: what" as a protocol violation; returns REMOTE_PROTO. */
int proto_error(struct remote *r, const char *what);

#endif
