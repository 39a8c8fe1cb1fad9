/*
 * conn.h -- one thread per client connection.
 *
 * main.c accepts a TCP connection and hands the socket to conn_start(); from
 * then on the connection belongs to its own thread, which runs the RPC
 * receive loop and the dispatcher until the client goes away or stays idle
 * too long.  A slow or hostile client can therefore stall only its own
 * thread.  The number of live connections, eviction and the SIGTERM drain
 * are all main.c sees of them.
 */
#ifndef RPCSYNC_CONN_H
#define RPCSYNC_CONN_H

#include "config.h"

/* A connection idle this long (no request started) is closed, unless
 * syncd.conf sets its own "idle timeout". */
#ifndef CONN_IDLE_MS
#define CONN_IDLE_MS (15 * 60 * 1000)
#endif

/* Stack size of each connection thread. */
#define CONN_STACK_SIZE (1024 * 1024)

/*
 * An idle connection that has selected an export (HELLO) may be closed to
 * make room only after this long without a request; one that has not can
 * be closed at once.  Tests may build with a shorter one.
 */
#ifndef CONN_EVICT_SESSION_MS
#define CONN_EVICT_SESSION_MS (10 * 1000)
#endif

/* Returns the number of connections being served, not counting evicted ones. */
unsigned int conn_count(void);

/*
 * Makes room when the connection cap is reached: closes the idle
 * connection that has not sent HELLO and has waited longest, else the one
 * of those idle for at least CONN_EVICT_SESSION_MS that has waited longest.
 * An evicted connection's thread ends without serving another request (its
 * session ends as at any disconnect) and stops counting in conn_count() at
 * once.  Returns 1 if one was closed, 0 if none qualified.
 */
int conn_evict_idle(void);

/*
 * Closes every connection that has been receiving one call for longer than
 * the idle timeout (a client that stalled in the middle of a record: the
 * blocking transport would otherwise wait in read() for libtirpc's fixed
 * 35 s per read, however long the stall).  Called from the main loop about
 * once a second.  Returns how many it closed.
 */
int conn_reap_stalled(void);

/*
 * SIGTERM, after the listener closed: from now on a connection ends as soon
 * as it waits for a request with no batch open (every batched call since
 * the last BARRIER answered by a BARRIER); those idle that way now end at
 * once.  The others finish their current batch.  Returns the number of
 * connection threads alive when the drain began.
 */
unsigned int conn_drain(void);

/*
 * The drain's end: shuts down every connection not yet ending (a request
 * in progress completes, its reply fails; open temps are dropped by
 * session_end).  Returns how many it cut.
 */
unsigned int conn_cut(void);

/* Returns the number of connection threads still running (evicted included). */
unsigned int conn_threads(void);

/*
 * Makes cfg the configuration in force (held until replaced; NULL lets go
 * of the last one): connections started from now on get it, and every
 * session takes it at its next HELLO.  Thread-safe.
 */
void conn_set_config(const struct config *cfg);

/*
 * Serves the connected, blocking TCP socket fd on a new detached thread
 * (1 MiB stack) until the client disconnects.  peer ("addr:port") is copied
 * for logs and addr (addrlen bytes) for the export's host lists; the
 * connection holds the configuration in force until its next HELLO finds
 * another.  Takes ownership of fd in every case: on failure it is closed.
 * Returns 0 when the thread was started, -1 on failure (logged).
 */
int conn_start(int fd, const char *peer, const struct sockaddr *addr, socklen_t addrlen);

/*
 * The thread body: arg is the connection state made by conn_start().  Runs
 * the receive loop (poll with an idle timeout, SVC_RECV, authentication,
 * dispatch, repeat while SVC_STAT says more requests are buffered), then ends
 * the session, destroys the transport (closing the socket), drops the
 * configuration, frees arg and decrements the live-connection count.  Always returns NULL.
 */
void *conn_serve(void *arg);

#endif
