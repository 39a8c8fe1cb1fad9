/*
 * remote.c -- one connection to syncd: dialing, synchronous calls, batching.
 *
 * Why it is built this way:
 *   - clnt_vc batches a call only when it has no result decoder (NULL, not
 *     xdr_void) and a {0,0} timeout; it then just appends the record to its
 *     send buffer.  That is what lets a push of a million entries cost three
 *     round trips.  The price is that the server's report on those calls
 *     comes later, by index, so we log the path of every batched call.
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
 *   - Whatever a LIST reply contains is checked before anyone uses it: a
 *     malicious server must not be able to make plan.c act on paths outside
 *     the destination or on entries below a symlink.  A listing must come
 *     in canonical order, strictly increasing, and it is bounded (entries:
 *     remote_set_list_max(); bytes of names: REMOTE_LIST_BYTES_MAX), since
 *     it is held whole and pages could otherwise come forever.
 *   - Compression is a property of the connection, not of the caller: once
 *     HELLO granted SYNC_CAP_ZSTD, remote_batch_write() compresses each
 *     chunk (common/zstdio.h), so whole files and delta literals alike are
 *     compressed without send.c knowing.
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

#include "auth.h"
#include "log.h"
#include "path.h"
#include "remote.h"
#include "status.h"
#include "zstdio.h"

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

static const struct timeval no_wait = { 0, 0 };

/* BARRIER has no arguments; xdr_void's (void) prototype does not fit xdrproc_t. */
static bool_t
xdr_no_args(XDR *xdrs, void *unused)
{
	(void)xdrs;
	(void)unused;
	return TRUE;
}

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

/* Logs "NAME: WHAT: <rpc error>" for a failed call on r; returns its class. */
static int
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

/* Logs "NAME: what" as a protocol violation; returns REMOTE_PROTO. */
static int
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

/*
 * clnt_call on r bounded as a whole by r->timeout (the watchdog).  A call
 * whose deadline passed, whatever clnt_call made of the shut socket,
 * returns RPC_TIMEDOUT; the connection is unusable from then on.
 */
static enum clnt_stat
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

unsigned long
remote_round_trips(const struct remote *r)
{
	return r->round_trips;
}

size_t
remote_pending(const struct remote *r)
{
	return r->ncalls;
}

void
remote_set_list_max(struct remote *r, size_t max)
{
	r->list_max = max;
}

/* ---- compression ----------------------------------------------------- */

void
remote_set_compress(struct remote *r, int level)
{
	r->zlevel = level > 0 ? level : 0;
}

int
remote_peer_loopback(const struct remote *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd;

	if (!clnt_control(r->cl, CLGET_FD, (char *)&fd) ||
	    getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;       /* unknown: treat as remote, compressing is harmless */
	return zstdio_addr_is_loopback((struct sockaddr *)&ss, len);
}

unsigned long long
remote_wire_data(const struct remote *r)
{
	return r->wire_data;
}

unsigned long long
remote_sig_data(const struct remote *r)
{
	return r->sig_data;
}

/*
 * Replaces a's data (len bytes at most SYNC_CHUNK_MAX) by a zstd frame and
 * sets a->raw_len when compression is on and the frame is worth it; leaves
 * a alone otherwise.  The frame lives in r->zbuf until the next call.
 * Returns REMOTE_OK or REMOTE_NOMEM (logged).
 */
static int
compress_write(struct remote *r, write_args *a)
{
	size_t len = a->data.data_len, n;

	if (r->zenc == NULL || !(r->caps & SYNC_CAP_ZSTD) || len == 0)
		return REMOTE_OK;
	if (len > r->zbuf_cap) {
		char *nb = realloc(r->zbuf, len);

		if (nb == NULL) {
			log_err("out of memory");
			return REMOTE_NOMEM;
		}
		r->zbuf = nb;
		r->zbuf_cap = len;
	}
	n = zstdio_compress(r->zenc, a->data.data_val, len, r->zbuf, len);
	if (n == 0)
		return REMOTE_OK;       /* not worth it: the chunk goes raw */
	a->raw_len = (u_int)len;
	a->data.data_len = (u_int)n;
	a->data.data_val = r->zbuf;
	return REMOTE_OK;
}

/* ---- synchronous calls ----------------------------------------------- */

void
remote_set_auth(struct remote *r, const char *user, const unsigned char *secret,
    size_t len, int insist)
{
	r->user = user;
	r->secret = secret;
	r->secret_len = len;
	r->insist = insist;
}

/*
 * AUTH for export against the nonce of the HELLO just answered; checks the
 * server's proof.  Returns REMOTE_OK, REMOTE_AUTH (logged) or a transport
 * error.
 */
static int
authenticate(struct remote *r, const char *export, const char *nonce)
{
	unsigned char want[AUTH_PROOF_LEN];
	auth_args a;
	auth_res res;
	enum clnt_stat st;
	int rc = REMOTE_AUTH;

	memset(&a, 0, sizeof a);
	memset(&res, 0, sizeof res);
	a.user = (char *)r->user;
	if (auth_nonce((unsigned char *)a.client_nonce) != 0 ||
	    auth_proof(AUTH_CLIENT, r->secret, r->secret_len, nonce, a.client_nonce,
	    r->user, export, a.proof) != 0) {
		log_err("%s: cannot compute the authentication proof", r->name);
		return REMOTE_AUTH;
	}
	r->round_trips++;
	st = timed_call(r, SYNC_AUTH, (xdrproc_t)xdr_auth_args, (caddr_t)&a,
	    (xdrproc_t)xdr_auth_res, (caddr_t)&res, r->timeout);
	if (st != RPC_SUCCESS)
		return call_failed(r, "AUTH", st);
	if (res.status != SYNC_OK) {
		log_err("%s:%s: authentication failed%s", r->name, export,
		    res.status == SYNC_ERR_AUTH ? "" : " (the server refused AUTH)");
		goto out;
	}
	if (auth_proof(AUTH_SERVER, r->secret, r->secret_len, nonce, a.client_nonce,
	    r->user, export, want) != 0 || !auth_proof_equal(want, res.auth_res_u.server_proof)) {
		log_err("%s:%s: the server could not prove that it holds the secret",
		    r->name, export);
		goto out;
	}
	rc = REMOTE_OK;
out:
	xdr_free((xdrproc_t)xdr_auth_res, (char *)&res);
	return rc;
}

int
remote_hello(struct remote *r, const char *export, struct remote_hello *h)
{
	hello_args a = { .proto_version = SYNC_VERSION, .export = (char *)export,
	    .caps = r->zlevel > 0 ? SYNC_CAP_ZSTD : 0 };
	hello_res res;
	enum clnt_stat st;
	int rc = REMOTE_OK;

	memset(&res, 0, sizeof res);
	r->round_trips++;
	st = timed_call(r, SYNC_HELLO, (xdrproc_t)xdr_hello_args, (caddr_t)&a,
	    (xdrproc_t)xdr_hello_res, (caddr_t)&res, r->timeout);
	if (st != RPC_SUCCESS) {
		rc = call_failed(r, "HELLO", st);
		goto out;
	}
	h->status = res.status;
	if (res.status != SYNC_OK)
		goto out;
	if (res.hello_res_u.ok.proto_version != SYNC_VERSION) {
		rc = proto_error(r, "HELLO answered with another protocol version");
		goto out;
	}
	if (res.hello_res_u.ok.caps & ~a.caps) {
		rc = proto_error(r, "HELLO granted a capability that was not asked for");
		goto out;
	}
	h->flags = res.hello_res_u.ok.flags;
	if ((h->flags & SYNC_EXPORT_AUTH) && r->user == NULL) {
		log_err("%s:%s: the export requires authentication (--user and "
		    "--secret-file, or SYNC_SECRET_FILE)", r->name, export);
		rc = REMOTE_AUTH;
		goto out;
	}
	if (!(h->flags & SYNC_EXPORT_AUTH) && r->insist) {
		log_err("%s:%s: the export does not ask for authentication, so the server "
		    "cannot prove it holds the secret; not sending to it", r->name, export);
		rc = REMOTE_AUTH;
		goto out;
	}
	if ((h->flags & SYNC_EXPORT_AUTH) &&
	    (rc = authenticate(r, export, res.hello_res_u.ok.nonce)) != REMOTE_OK)
		goto out;
	h->chunk_max = res.hello_res_u.ok.chunk_max;
	if (h->chunk_max < REMOTE_CHUNK_MIN || h->chunk_max > SYNC_CHUNK_MAX) {
		log_err("%s: protocol error: HELLO announced a chunk size of %u bytes "
		    "(not %d to %d)", r->name, h->chunk_max, REMOTE_CHUNK_MIN, SYNC_CHUNK_MAX);
		rc = REMOTE_PROTO;
		goto out;
	}
	h->caps = r->caps = res.hello_res_u.ok.caps;
	if ((r->caps & SYNC_CAP_ZSTD) && r->zenc == NULL &&
	    (r->zenc = zstdio_enc_new(r->zlevel)) == NULL) {
		log_err("out of memory");
		rc = REMOTE_NOMEM;
		goto out;
	}
out:
	xdr_free((xdrproc_t)xdr_hello_res, (char *)&res);
	return rc;
}

/*
 * Validates one LIST entry and appends it to out.  first says whether it is
 * the very first entry of the listing (which must be the root, path "").
 * after (NULL on the first page) is the resume point: every entry of a
 * resumed page must sort after it, so paging always makes progress.  Every
 * entry must sort strictly after the one before it (canonical order: no
 * duplicates, and out is sorted as it grows), and the listing must stay
 * within r->list_max entries and REMOTE_LIST_BYTES_MAX bytes of names.
 * Returns REMOTE_OK, REMOTE_PROTO (logged) or REMOTE_NOMEM.
 */
static int
take_entry(struct remote *r, const sync_entry *se, int first,
    const char *after, struct entry_list *out)
{
	char path[PATH_BUF], target[PATH_BUF];
	const sync_path *tp = &se->target;
	struct entry e = { 0 };

	if (path_check(se->path.sync_path_val, se->path.sync_path_len, path) < 0)
		return proto_error(r, "LIST returned an invalid path");
	if ((path[0] == '\0') != first)
		return proto_error(r, "LIST root entry missing or repeated");
	if (after != NULL && path_cmp(path, after) <= 0)
		return proto_error(r, "LIST page does not continue after the previous one");
	if (out->n > 0) {
		int c = path_cmp(path, out->v[out->n - 1].path);

		if (c == 0)
			return proto_error(r, "LIST returned a path twice");
		if (c < 0)
			return proto_error(r, "LIST returned entries out of canonical order");
	}
	if (out->n >= r->list_max) {
		log_err("%s: protocol error: LIST returned more than %zu entries "
		    "(--max-entries)", r->name, r->list_max);
		return REMOTE_PROTO;
	}
	r->list_bytes += se->path.sync_path_len + 1 + tp->sync_path_len + 1;
	if (r->list_bytes > REMOTE_LIST_BYTES_MAX) {
		log_err("%s: protocol error: LIST returned more than %llu bytes of names",
		    r->name, (unsigned long long)REMOTE_LIST_BYTES_MAX);
		return REMOTE_PROTO;
	}
	if (se->attr.type < SYNC_REG || se->attr.type > SYNC_OTHER)
		return proto_error(r, "LIST returned an unknown file type");
	if (se->attr.mtime.nsec >= 1000000000u)
		return proto_error(r, "LIST returned an invalid time");
	if (se->attr.type == SYNC_LNK &&
	    (tp->sync_path_len == 0 || tp->sync_path_len > SYNC_PATH_MAX ||
	    memchr(tp->sync_path_val, '\0', tp->sync_path_len) != NULL))
		return proto_error(r, "LIST returned an invalid symlink target");
	if (se->hash.sync_hash_len != 0 &&
	    (se->hash.sync_hash_len != SYNC_HASH_LEN || se->attr.type != SYNC_REG))
		return proto_error(r, "LIST returned an invalid content hash");

	e.type = se->attr.type;
	e.mode = se->attr.mode & 07777;
	e.size = se->attr.size;
	e.mtime = time_from_wire(se->attr.mtime);
	if (se->hash.sync_hash_len == SYNC_HASH_LEN) {
		memcpy(e.hash, se->hash.sync_hash_val, SYNC_HASH_LEN);
		e.has_hash = 1;
	}
	e.path = path;
	if (e.type == SYNC_LNK) {
		memcpy(target, tp->sync_path_val, tp->sync_path_len);
		target[tp->sync_path_len] = '\0';
		e.target = target;
	}
	if (entry_list_add(out, &e) < 0)
		goto nomem;
	return REMOTE_OK;
nomem:
	log_err("out of memory");
	return REMOTE_NOMEM;
}

/*
 * Checks the whole listing, sorted already (take_entry() refused anything
 * out of order): refuses duplicates and entries whose parent is not a
 * listed directory (such as a name below a symlink or a file, or below a
 * directory never listed).  Returns REMOTE_OK or REMOTE_PROTO (logged).
 */
static int
check_tree(struct remote *r, struct entry_list *l)
{
	char parent[PATH_BUF];
	const char *leaf;

	for (size_t i = 1; i < l->n; i++) {
		long k;

		if (path_cmp(l->v[i - 1].path, l->v[i].path) == 0)
			return proto_error(r, "LIST returned a path twice");
		if (path_split(l->v[i].path, parent, &leaf) < 0)
			return proto_error(r, "LIST returned a second root");
		k = entry_list_find(l, parent);
		if (k < 0 || l->v[k].type != SYNC_DIR)
			return proto_error(r, "LIST returned an entry outside any listed directory");
	}
	return REMOTE_OK;
}

/* Where list_decode() puts a LIST reply: straight into the entry list. */
struct list_sink {
	struct remote     *r;
	const char        *after;    /* the resume point, NULL on the first page */
	struct entry_list *out;
	sync_status        status;
	u_int              count;    /* entries in the page */
	bool_t             eof;
	int                rc;       /* REMOTE_OK, or what the first bad entry was */
};

/*
 * xdrproc_t of a LIST reply: decodes its entries one at a time into fixed
 * buffers and appends each, validated by take_entry(), to sink->out, so a
 * page of up to SYNC_LIST_MAX entries never exists in decoded form (a
 * no-change push of a big tree holds only the compact list).  After a bad
 * entry (sink->rc) the rest of the page is read and dropped, which keeps
 * the connection in step.  Returns FALSE only for an undecodable reply.
 */
static bool_t
list_decode(XDR *xdrs, struct list_sink *sink)
{
	char path[SYNC_PATH_MAX], target[SYNC_PATH_MAX], hash[SYNC_HASH_LEN];
	sync_entry se;

	if (xdrs->x_op != XDR_DECODE)
		return TRUE;            /* nothing of ours to encode or free */
	if (!xdr_sync_status(xdrs, &sink->status))
		return FALSE;
	if (sink->status != SYNC_OK)
		return TRUE;
	if (!xdr_u_int(xdrs, &sink->count) || sink->count > SYNC_LIST_MAX)
		return FALSE;
	for (u_int i = 0; i < sink->count; i++) {
		memset(&se, 0, sizeof se);
		se.path.sync_path_val = path;
		se.target.sync_path_val = target;
		se.hash.sync_hash_val = hash;
		if (!xdr_sync_entry(xdrs, &se))
			return FALSE;
		if (sink->rc == REMOTE_OK)
			sink->rc = take_entry(sink->r, &se, sink->after == NULL && i == 0,
			    sink->after, sink->out);
	}
	return xdr_bool(xdrs, &sink->eof);
}

/*
 * Fetches one LIST page into out (after: the resume point, or NULL for the
 * first page; want_hash: ask for content hashes).  Returns REMOTE_OK with
 * *st the server's status, *eof and the last path of the page in last
 * (PATH_BUF bytes), or an error.
 */
static int
list_page(struct remote *r, const char *path, int want_hash, const char *after,
    struct entry_list *out, sync_status *st, int *eof, char *last)
{
	list_args a = { .path = { strlen(path), (char *)path },
	    .resume = after != NULL,
	    .after = { after ? strlen(after) : 0, (char *)(after ? after : "") },
	    .want_hash = want_hash != 0 };
	struct list_sink sink = { .r = r, .after = after, .out = out, .rc = REMOTE_OK };
	enum clnt_stat cs;

	r->round_trips++;
	cs = timed_call(r, SYNC_LIST, (xdrproc_t)xdr_list_args, (caddr_t)&a,
	    (xdrproc_t)list_decode, (caddr_t)&sink, r->timeout);
	if (cs != RPC_SUCCESS)
		return call_failed(r, "LIST", cs);
	*st = sink.status;
	if (sink.status != SYNC_OK)
		return REMOTE_OK;
	if (sink.rc != REMOTE_OK)
		return sink.rc;
	if (sink.count == 0 && !sink.eof)
		return proto_error(r, "LIST returned an empty page before the end");
	if (out->n > 0)
		strcpy(last, out->v[out->n - 1].path);
	*eof = sink.eof;
	return REMOTE_OK;
}

int
remote_list(struct remote *r, const char *path, int want_hash,
    struct entry_list *out, sync_status *st)
{
	char last[PATH_BUF];
	int eof = 0, rc;

	*st = SYNC_OK;
	r->list_bytes = 0;
	rc = list_page(r, path, want_hash, NULL, out, st, &eof, last);
	if (rc == REMOTE_OK && *st == SYNC_OK && out->n == 0)
		rc = proto_error(r, "LIST returned no root entry");
	while (rc == REMOTE_OK && *st == SYNC_OK && !eof) {
		char after[PATH_BUF];

		strcpy(after, last);
		rc = list_page(r, path, want_hash, after, out, st, &eof, last);
		if (rc == REMOTE_OK && *st != SYNC_OK)
			rc = proto_error(r, "LIST failed in the middle of a listing");
	}
	if (rc == REMOTE_OK && *st == SYNC_OK)
		rc = check_tree(r, out);
	if (rc != REMOTE_OK || *st != SYNC_OK)
		entry_list_free(out);
	return rc;
}

/* SIGNATURE: one round trip; the validated signature goes to sig (remote.h). */
int
remote_signature(struct remote *r, const char *path, struct delta_sig *sig,
    sync_status *st)
{
	signature_args a = { .path = { strlen(path), (char *)path } };
	signature_res res;
	signature_ok *ok = &res.signature_res_u.ok;
	enum clnt_stat cs;
	int rc = REMOTE_OK;

	memset(sig, 0, sizeof *sig);
	memset(&res, 0, sizeof res);
	r->round_trips++;
	cs = timed_call(r, SYNC_SIGNATURE, (xdrproc_t)xdr_signature_args, (caddr_t)&a,
	    (xdrproc_t)xdr_signature_res, (caddr_t)&res, r->timeout);
	if (cs != RPC_SUCCESS) {
		rc = call_failed(r, "SIGNATURE", cs);
		goto out;
	}
	*st = res.status;
	if (res.status != SYNC_OK)
		goto out;
	sig->block_size = ok->block_size;
	sig->strong_size = ok->strong_size;
	sig->file_size = ok->file_size;
	sig->n = ok->weak.weak_len;
	sig->weak = ok->weak.weak_val;
	sig->strong = (const unsigned char *)ok->strong.strong_val;
	/* Every block has one weak sum and strong_size bytes of strong sum. */
	if (!delta_sig_valid(sig) ||
	    (uint64_t)ok->strong.strong_len != (uint64_t)sig->n * sig->strong_size) {
		memset(sig, 0, sizeof *sig);
		rc = proto_error(r, "SIGNATURE returned an inconsistent signature");
		goto out;
	}
	/* The two arrays as XDR encodes them: a count, 4 bytes per weak sum, a length, padded sums. */
	r->sig_data += 4 + 4ull * sig->n + 4 + ((ok->strong.strong_len + 3ull) & ~3ull);
	/* The sums are ours now (xdr_free would free them with free()). */
	ok->weak.weak_val = NULL;
	ok->weak.weak_len = 0;
	ok->strong.strong_val = NULL;
	ok->strong.strong_len = 0;
out:
	xdr_free((xdrproc_t)xdr_signature_res, (char *)&res);
	return rc;
}

/* Frees the sums remote_signature() handed over. */
void
remote_sig_free(struct delta_sig *sig)
{
	free((void *)sig->weak);
	free((void *)sig->strong);
	memset(sig, 0, sizeof *sig);
}

/* ---- batched calls --------------------------------------------------- */

/*
 * Records that the next batched call is about path (sharing the previous
 * record when the path is the same, as for CREATE, WRITE..., COMMIT).
 * Returns 0, or -1 when out of memory.
 */
static int
remember(struct remote *r, const char *path)
{
	size_t len = strlen(path) + 1;

	if (r->ncalls == r->calls_cap) {
		size_t ncap = r->calls_cap ? r->calls_cap * 2 : 1024;
		uint32_t *nv = realloc(r->calls, ncap * sizeof *nv);

		if (nv == NULL)
			return -1;
		r->calls = nv;
		r->calls_cap = ncap;
	}
	if (r->ncalls > 0 && strcmp(r->names + r->calls[r->ncalls - 1], path) == 0) {
		r->calls[r->ncalls] = r->calls[r->ncalls - 1];
		r->ncalls++;
		return 0;
	}
	if (r->names_len + len > UINT32_MAX)
		return -1;              /* 4 GiB of paths in one batch: end it first */
	if (r->names_len + len > r->names_cap) {
		size_t ncap = r->names_cap ? r->names_cap * 2 : 65536;
		char *nv;

		while (ncap < r->names_len + len)
			ncap *= 2;
		nv = realloc(r->names, ncap);
		if (nv == NULL)
			return -1;
		r->names = nv;
		r->names_cap = ncap;
	}
	memcpy(r->names + r->names_len, path, len);
	r->calls[r->ncalls++] = (uint32_t)r->names_len;
	r->names_len += len;
	return 0;
}

/*
 * Queues one batched call: no result decoder and a zero timeout, so
 * clnt_call only encodes it into the send buffer (writing the buffer out
 * when it is full).  Returns REMOTE_OK, REMOTE_NOMEM, or the class of the
 * transport failure (logged).
 */
static int
batch(struct remote *r, rpcproc_t proc, const char *what, xdrproc_t fn,
    void *args, const char *path)
{
	enum clnt_stat st;

	if (remember(r, path) < 0) {
		log_err("out of memory");
		return REMOTE_NOMEM;
	}
	st = timed_call(r, proc, fn, args, NULL, NULL, no_wait);
	if (st != RPC_SUCCESS)
		return call_failed(r, what, st);
	return REMOTE_OK;
}

/* A sync_path naming the NUL-terminated string s (not copied). */
static sync_path
wire_path(const char *s)
{
	sync_path p = { strlen(s), (char *)s };

	return p;
}

/* PARTIAL: one round trip (remote.h). */
int
remote_partial(struct remote *r, const char *path, const unsigned char key[SYNC_HASH_LEN],
    uint64_t *len, unsigned char hash[SYNC_HASH_LEN], sync_status *st)
{
	partial_args a = { .path = wire_path(path) };
	partial_res res;
	enum clnt_stat cs;
	int rc = REMOTE_OK;

	memcpy(a.key, key, SYNC_HASH_LEN);
	memset(&res, 0, sizeof res);
	r->round_trips++;
	cs = timed_call(r, SYNC_PARTIAL, (xdrproc_t)xdr_partial_args, (caddr_t)&a,
	    (xdrproc_t)xdr_partial_res, (caddr_t)&res, r->timeout);
	if (cs != RPC_SUCCESS) {
		rc = call_failed(r, "PARTIAL", cs);
		goto out;
	}
	*st = res.status;
	if (res.status != SYNC_OK)
		goto out;
	if (res.partial_res_u.ok.hash.sync_hash_len != SYNC_HASH_LEN) {
		rc = proto_error(r, "PARTIAL returned a hash of the wrong length");
		goto out;
	}
	*len = res.partial_res_u.ok.length;
	memcpy(hash, res.partial_res_u.ok.hash.sync_hash_val, SYNC_HASH_LEN);
out:
	xdr_free((xdrproc_t)xdr_partial_res, (char *)&res);
	return rc;
}

/* Queues CREATE: a temp file for handle h beside path (basis: for COPY). */
int
remote_batch_create(struct remote *r, sync_handle h, const char *path, int basis)
{
	create_args a = { .handle = h, .path = wire_path(path), .basis = basis != 0 };

	return batch(r, SYNC_CREATE, "CREATE", (xdrproc_t)xdr_create_args, &a, path);
}

/* Queues RESUME: the server's partial for key beside path, from offset on. */
int
remote_batch_resume(struct remote *r, sync_handle h, const char *path,
    const unsigned char key[SYNC_HASH_LEN], uint64_t offset)
{
	resume_args a = { .handle = h, .path = wire_path(path), .offset = offset };

	memcpy(a.key, key, SYNC_HASH_LEN);
	return batch(r, SYNC_RESUME, "RESUME", (xdrproc_t)xdr_resume_args, &a, path);
}

/*
 * Queues WRITE of len bytes at offset into handle h (path: for the report),
 * compressed when that was negotiated and pays; counts the bytes that go
 * on the wire.
 */
int
remote_batch_write(struct remote *r, sync_handle h, uint64_t offset,
    const void *data, size_t len, const char *path)
{
	write_args a = { .handle = h, .offset = offset, .raw_len = 0,
	    .data = { (u_int)len, (char *)data } };
	int rc;

	if ((rc = compress_write(r, &a)) != REMOTE_OK)
		return rc;
	rc = batch(r, SYNC_WRITE, "WRITE", (xdrproc_t)xdr_write_args, &a, path);
	if (rc == REMOTE_OK)
		r->wire_data += a.data.data_len;
	return rc;
}

/* Queues COPY of len bytes at basis_offset of h's basis to offset in its temp. */
int
remote_batch_copy(struct remote *r, sync_handle h, uint64_t basis_offset,
    uint64_t len, uint64_t offset, const char *path)
{
	copy_args a = { .handle = h, .basis_offset = basis_offset, .length = len,
	    .offset = offset };

	return batch(r, SYNC_COPY, "COPY", (xdrproc_t)xdr_copy_args, &a, path);
}

/* Queues COMMIT of handle h with its final size, mode, mtime and content hash. */
int
remote_batch_commit(struct remote *r, sync_handle h, uint64_t size,
    unsigned int mode, struct timespec mtime, const unsigned char *hash,
    const char *path)
{
	commit_args a = { .handle = h, .size = size, .mode = mode,
	    .mtime = time_to_wire(mtime),
	    .hash = { hash != NULL ? SYNC_HASH_LEN : 0, (char *)hash } };

	return batch(r, SYNC_COMMIT, "COMMIT", (xdrproc_t)xdr_commit_args, &a, path);
}

/* Queues ABORT of handle h: the temp is dropped, path untouched. */
int
remote_batch_abort(struct remote *r, sync_handle h, const char *path)
{
	abort_args a = { .handle = h };

	return batch(r, SYNC_ABORT, "ABORT", (xdrproc_t)xdr_abort_args, &a, path);
}

/* Queues MKDIR of path (an existing directory is success). */
int
remote_batch_mkdir(struct remote *r, const char *path, unsigned int mode)
{
	mkdir_args a = { .path = wire_path(path), .mode = mode };

	return batch(r, SYNC_MKDIR, "MKDIR", (xdrproc_t)xdr_mkdir_args, &a, path);
}

/* Queues SYMLINK: path becomes a link to target, with mtime. */
int
remote_batch_symlink(struct remote *r, const char *path, const char *target,
    struct timespec mtime)
{
	symlink_args a = { .path = wire_path(path), .target = wire_path(target),
	    .mtime = time_to_wire(mtime) };

	return batch(r, SYNC_SYMLINK, "SYMLINK", (xdrproc_t)xdr_symlink_args, &a, path);
}

/* Queues SETATTR of the SYNC_SET_* attributes in set on path. */
int
remote_batch_setattr(struct remote *r, const char *path, unsigned int set,
    unsigned int mode, struct timespec mtime)
{
	setattr_args a = { .path = wire_path(path), .set = set, .mode = mode,
	    .mtime = time_to_wire(mtime) };

	return batch(r, SYNC_SETATTR, "SETATTR", (xdrproc_t)xdr_setattr_args, &a, path);
}

/* Queues DELETE of path (a directory with all it contains). */
int
remote_batch_delete(struct remote *r, const char *path)
{
	delete_args a = { .path = wire_path(path) };

	return batch(r, SYNC_DELETE, "DELETE", (xdrproc_t)xdr_delete_args, &a, path);
}

/* ---- BARRIER --------------------------------------------------------- */

/*
 * Copies the failures of b into rep, naming each by the path its call was
 * queued under.  Returns REMOTE_OK, REMOTE_PROTO (logged) or REMOTE_NOMEM.
 */
static int
take_failures(struct remote *r, const barrier_ok *b, struct remote_report *rep)
{
	u_int n = b->failures.failures_len;

	if (b->done != r->ncalls)
		return proto_error(r, "BARRIER count differs from the calls sent");
	if (n > b->failed || b->failed > b->done)
		return proto_error(r, "BARRIER failure count is inconsistent");
	rep->done = b->done;
	rep->failed = b->failed;
	if (n == 0)
		return REMOTE_OK;
	rep->v = calloc(n, sizeof *rep->v);
	if (rep->v == NULL)
		goto nomem;
	for (u_int i = 0; i < n; i++) {
		const sync_failure *f = &b->failures.failures_val[i];

		if (f->index >= r->ncalls)
			return proto_error(r, "BARRIER names a call that was not sent");
		rep->v[i].path = strdup(r->names + r->calls[f->index]);
		if (rep->v[i].path == NULL)
			goto nomem;
		rep->v[i].status = f->status;
		rep->n = i + 1;
	}
	return REMOTE_OK;
nomem:
	log_err("out of memory");
	return REMOTE_NOMEM;
}

int
remote_barrier(struct remote *r, struct remote_report *rep)
{
	barrier_res res;
	enum clnt_stat st;
	int rc = REMOTE_OK;

	memset(rep, 0, sizeof *rep);
	memset(&res, 0, sizeof res);
	r->round_trips++;
	st = timed_call(r, SYNC_BARRIER, (xdrproc_t)xdr_no_args, NULL,
	    (xdrproc_t)xdr_barrier_res, (caddr_t)&res, r->timeout);
	if (st != RPC_SUCCESS) {
		rc = call_failed(r, "BARRIER", st);
		goto out;
	}
	if (res.status != SYNC_OK) {
		log_err("%s: BARRIER: %s", r->name, status_str(res.status));
		rc = REMOTE_PROTO;
		goto out;
	}
	rc = take_failures(r, &res.barrier_res_u.ok, rep);
out:
	xdr_free((xdrproc_t)xdr_barrier_res, (char *)&res);
	if (rc != REMOTE_OK)
		remote_report_free(rep);
	r->ncalls = 0;
	r->names_len = 0;
	return rc;
}

void
remote_report_free(struct remote_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		free(rep->v[i].path);
	free(rep->v);
	memset(rep, 0, sizeof *rep);
}

/* ---- time ------------------------------------------------------------ */

sync_time
time_to_wire(struct timespec ts)
{
	sync_time t = { .sec = ts.tv_sec, .nsec = (u_int)ts.tv_nsec };

	return t;
}

struct timespec
time_from_wire(sync_time t)
{
	struct timespec ts = { .tv_sec = (time_t)t.sec, .tv_nsec = (long)t.nsec };

	return ts;
}
