/*
 * dial.c -- one connection to syncd: dialing (rpcbind or --port), the
 * deadline of every call on it, how a failed call is reported, closing.
 *
 * Why it is built this way:
 *   - A dead or stalled server must be an error, never a hang: connect is
 *     bounded by poll(), sends by SO_SNDTIMEO (clnt_vc writes with plain
 *     write()), receives by CLSET_TIMEOUT and SO_RCVTIMEO.  Those bound
 *     each read() or write(), not a call: a server that trickles its reply
 *     a byte at a time (or reads our batch that way) would restart them
 *     forever.  So every call also runs against a deadline, one --timeout
 *     from its start, kept by a watchdog thread per connection that shuts
 *     the socket down when it passes (clnt_call blocks signals, and
 *     nothing else can interrupt it); the connection is then dead, which
 *     a timeout means anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rpc/rpc.h>

#include "log.h"
#include "remote_int.h"
#include "zstdio.h"

/* ---- errors ---------------------------------------------------------- */

/* Returns the class of a failed clnt_call: transport trouble or not. */
static int
classify(enum clnt_stat st)
{
	switch (st) {
	case RPC_CANTSEND:
	case RPC_CANTRECV:
	case RPC_TIMEDOUT:
	case RPC_SYSTEMERROR:
	case RPC_INTR:
		return REMOTE_DOWN;
	default:
		return REMOTE_PROTO;  /* the peer does not speak our protocol */
	}
}

int
call_failed(struct remote *r, const char *what, enum clnt_stat st)
{
	struct rpc_err e;

	if (st == RPC_TIMEDOUT) {
		log_err("%s: %s: timed out (the call did not complete within %ld s)",
		    r->name, what, (long)r->timeout.tv_sec);
		return REMOTE_DOWN;
	}
	if (st == RPC_CANTDECODERES) {
		log_err("%s: protocol error: %s: the reply does not decode (a count or "
		    "length beyond its bound, or a truncated reply)", r->name, what);
		return REMOTE_PROTO;
	}
	clnt_geterr(r->cl, &e);
	if ((st == RPC_CANTSEND || st == RPC_CANTRECV || st == RPC_SYSTEMERROR) &&
	    e.re_errno != 0)
		log_err("%s: %s: %s: %s", r->name, what, clnt_sperrno(st),
		    strerror(e.re_errno));
	else
		log_err("%s: %s: %s", r->name, what, clnt_sperrno(st));
	return classify(st);
}

int
proto_error(struct remote *r, const char *what)
{
	log_err("%s: protocol error: %s", r->name, what);
	return REMOTE_PROTO;
}

/* Returns rpc_createerr as text, without clnt_spcreateerror's ": " prefix. */
static const char *
createerr_text(void)
{
	const char *s = clnt_spcreateerror("");

	return strncmp(s, ": ", 2) == 0 ? s + 2 : s;
}

/* ---- deadlines ------------------------------------------------------- */

/* The watchdog's loop (a pthread start routine; arg: the remote). */
static void *
watchdog_run(void *arg)
{
	struct watchdog *w = &((struct remote *)arg)->wd;
	struct timespec now;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (!w->armed) {
			w->waiting = 1;
			pthread_cond_wait(&w->wake, &w->lock);
			w->waiting = 0;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > w->deadline.tv_sec || (now.tv_sec == w->deadline.tv_sec &&
		    now.tv_nsec >= w->deadline.tv_nsec)) {
			w->fired = 1;
			w->armed = 0;
			shutdown(w->fd, SHUT_RDWR);    /* the fd stays open until remote_close */
			continue;
		}
		pthread_cond_timedwait(&w->wake, &w->lock, &w->deadline);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * Starts r's watchdog over the socket fd.  Returns 0, or -1 with a message
 * logged.
 */
static int
watchdog_start(struct remote *r, int fd)
{
	struct watchdog *w = &r->wd;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	int err;

	w->fd = fd;
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&w->wake, &ca) != 0 ||
	    pthread_mutex_init(&w->lock, NULL) != 0) {
		log_err("%s: cannot set up the call deadline", r->name);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, 64 * 1024);
	err = pthread_create(&w->thread, &ta, watchdog_run, r);
	pthread_attr_destroy(&ta);
	if (err != 0) {
		log_err("%s: cannot start the call deadline thread: %s", r->name,
		    strerror(err));
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		return -1;
	}
	w->running = 1;
	return 0;
}

/* Ends r's watchdog, if it runs. */
static void
watchdog_stop(struct remote *r)
{
	struct watchdog *w = &r->wd;

	if (!w->running)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	w->running = 0;
}

enum clnt_stat
timed_call(struct remote *r, rpcproc_t proc, xdrproc_t inproc, void *in,
    xdrproc_t outproc, void *out, struct timeval tmo)
{
	struct watchdog *w = &r->wd;
	enum clnt_stat st;
	int fired;

	pthread_mutex_lock(&w->lock);
	if (!w->fired) {
		clock_gettime(CLOCK_MONOTONIC, &w->deadline);
		w->deadline.tv_sec += r->timeout.tv_sec;
		w->armed = 1;
		if (w->waiting)
			pthread_cond_signal(&w->wake);
	}
	fired = w->fired;
	pthread_mutex_unlock(&w->lock);
	if (fired)
		return RPC_TIMEDOUT;
	st = clnt_call(r->cl, proc, inproc, (caddr_t)in, outproc, (caddr_t)out, tmo);
	pthread_mutex_lock(&w->lock);
	w->armed = 0;
	fired = w->fired;
	pthread_mutex_unlock(&w->lock);
	return fired ? RPC_TIMEDOUT : st;
}

/* ---- dialing --------------------------------------------------------- */

/*
 * Connects a TCP socket to ai within timeout_ms.  Returns the connected,
 * blocking fd, or -1 with errno set.
 */
static int
connect_timed(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	int fd, err = 0, n;
	socklen_t elen = sizeof err;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			n = poll(&pfd, 1, timeout_ms);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			if (n == 0)
				errno = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/*
 * Wraps the connected socket fd (to sa, len bytes) in a CLIENT that closes
 * fd when destroyed; on failure fd is closed.  Returns the CLIENT, or NULL
 * with a message logged (a local failure: r->open_err REMOTE_UNREACHABLE).
 */
static CLIENT *
wrap_fd(struct remote *r, int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage ss;
	struct netconfig *nc = NULL;
	struct netbuf nb = { .len = len, .maxlen = len, .buf = &ss };
	CLIENT *cl = NULL;

	memcpy(&ss, sa, len);
	r->open_err = REMOTE_UNREACHABLE;
	nc = getnetconfigent(sa->sa_family == AF_INET6 ? "tcp6" : "tcp");
	if (nc == NULL) {
		log_err("%s: no netconfig entry for tcp", r->name);
		goto out;
	}
	cl = clnt_tli_create(fd, nc, &nb, SYNC_PROG, SYNC_V1, 0, 0);
	if (cl == NULL) {
		log_err("%s: %s", r->name, createerr_text());
		goto out;
	}
	clnt_control(cl, CLSET_FD_CLOSE, NULL);   /* clnt_destroy closes fd */
	fd = -1;
	r->open_err = REMOTE_DOWN;
out:
	if (nc != NULL)
		freenetconfigent(nc);
	if (fd >= 0)
		close(fd);
	return cl;
}

/*
 * Dials host:port directly (no rpcbind) and wraps the socket in a CLIENT.
 * Returns it, or NULL with a message logged and r->open_err set: a name
 * that does not resolve is REMOTE_UNREACHABLE (but for a temporary failure
 * of the resolver), a failed connect REMOTE_DOWN.
 */
static CLIENT *
dial_port(struct remote *r, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int fd = -1, gai, err = 0;

	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		log_err("%s: cannot resolve: %s", r->name, gai_strerror(gai));
		if (gai != EAI_AGAIN)
			r->open_err = REMOTE_UNREACHABLE;
		return NULL;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = connect_timed(ai, (int)r->timeout.tv_sec * 1000);
		if (fd < 0) {
			err = errno;
			continue;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		len = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_err("%s: cannot connect: %s", r->name, strerror(err));
		return NULL;
	}
	return wrap_fd(r, fd, (struct sockaddr *)&ss, len);
}

/*
 * Asks host's rpcbind where syncd listens and connects there.  Returns the
 * CLIENT, or NULL with a message logged and r->open_err set: syncd not
 * registered (it may be restarting) and rpcbind or syncd unreachable are
 * REMOTE_DOWN; an unknown host and a syncd without our version are
 * REMOTE_UNREACHABLE.
 */
static CLIENT *
dial_rpcbind(struct remote *r, const char *host)
{
	struct timeval tv = r->timeout;
	struct netconfig *nc;
	CLIENT *cl = NULL;

	/* An IPv6 literal needs the "tcp6" netid; clnt_create's nettypes have none. */
	if (strchr(host, ':') == NULL) {
		cl = clnt_create_timed(host, SYNC_PROG, SYNC_V1, "tcp", &tv);
	} else if ((nc = getnetconfigent("tcp6")) != NULL) {
		cl = clnt_tp_create_timed(host, SYNC_PROG, SYNC_V1, nc, &tv);
		freenetconfigent(nc);
	}

	if (cl != NULL)
		return cl;
	switch (rpc_createerr.cf_stat) {
	case RPC_PROGNOTREGISTERED:
		log_err("%s: syncd is not registered with rpcbind", r->name);
		return NULL;
	case RPC_PROGVERSMISMATCH:
	case RPC_UNKNOWNHOST:
	case RPC_UNKNOWNPROTO:
	case RPC_UNKNOWNADDR:
		r->open_err = REMOTE_UNREACHABLE;
		break;
	default:
		break;
	}
	log_err("%s: cannot reach rpcbind: %s", r->name, createerr_text());
	return NULL;
}

/*
 * Bounds every wait on r's socket by r->timeout, and every call as a whole
 * (the watchdog), and turns off Nagle so the final BARRIER is not held
 * back.  Returns 0, or -1 with a message logged.
 */
static int
set_timeouts(struct remote *r)
{
	int fd, one = 1;

	if (!clnt_control(r->cl, CLGET_FD, (char *)&fd) ||
	    !clnt_control(r->cl, CLSET_TIMEOUT, (char *)&r->timeout)) {
		log_err("%s: cannot configure the RPC client", r->name);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &r->timeout, sizeof r->timeout) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r->timeout, sizeof r->timeout) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
		log_err("%s: setsockopt: %s", r->name, strerror(errno));
		return -1;
	}
	r->peer_len = sizeof r->peer;
	if (getpeername(fd, (struct sockaddr *)&r->peer, &r->peer_len) < 0)
		r->peer_len = 0;      /* remote_open_same() will say so */
	return watchdog_start(r, fd);
}

struct remote *
remote_open(const char *host, const char *port, unsigned int timeout, int *err)
{
	struct remote *r = calloc(1, sizeof *r);
	const char *lb = "", *rb = "";

	*err = REMOTE_NOMEM;
	if (r == NULL) {
		log_err("out of memory");
		return NULL;
	}
	*err = REMOTE_DOWN;
	if (strchr(host, ':') != NULL) {
		lb = "[";
		rb = "]";
	}
	if (port != NULL)
		snprintf(r->name, sizeof r->name, "%s%s%s:%s", lb, host, rb, port);
	else
		snprintf(r->name, sizeof r->name, "%s%s%s", lb, host, rb);
	r->timeout.tv_sec = (time_t)timeout;
	r->list_max = REMOTE_LIST_MAX_DEFAULT;
	r->open_err = REMOTE_DOWN;
	r->cl = port != NULL ? dial_port(r, host, port) : dial_rpcbind(r, host);
	if (r->cl != NULL && set_timeouts(r) < 0)
		r->open_err = REMOTE_UNREACHABLE;     /* local trouble */
	if (r->cl == NULL || r->open_err != REMOTE_DOWN) {
		*err = r->open_err;
		remote_close(r);
		return NULL;
	}
	*err = REMOTE_OK;
	return r;
}

struct remote *
remote_open_same(const struct remote *like, int *err)
{
	struct remote *r = calloc(1, sizeof *r);
	struct addrinfo ai = { 0 };
	int fd;

	*err = REMOTE_NOMEM;
	if (r == NULL) {
		log_err("out of memory");
		return NULL;
	}
	*err = REMOTE_DOWN;
	/* Only fields remote_open() fixed: like's owner may be using it meanwhile. */
	memcpy(r->name, like->name, sizeof r->name);
	r->timeout = like->timeout;
	r->list_max = like->list_max;
	if (like->peer_len == 0) {
		log_err("%s: cannot open another connection: server address unknown",
		    r->name);
		goto fail;
	}
	ai.ai_family = like->peer.ss_family;
	ai.ai_addr = (struct sockaddr *)&like->peer;
	ai.ai_addrlen = like->peer_len;
	if ((fd = connect_timed(&ai, (int)r->timeout.tv_sec * 1000)) < 0) {
		log_err("%s: cannot connect: %s", r->name, strerror(errno));
		goto fail;
	}
	r->cl = wrap_fd(r, fd, ai.ai_addr, ai.ai_addrlen);
	if (r->cl == NULL || set_timeouts(r) < 0)
		goto fail;
	*err = REMOTE_OK;
	return r;
fail:
	remote_close(r);
	return NULL;
}

void
remote_close(struct remote *r)
{
	if (r == NULL)
		return;
	watchdog_stop(r);
	if (r->cl != NULL)
		clnt_destroy(r->cl);
	zstdio_enc_free(r->zenc);
	free(r->zbuf);
	free(r->names);
	free(r->calls);
	free(r);
}
