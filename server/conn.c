/*
 * conn.c -- the per-connection thread: receive loop and dispatcher.
 *
 * Why not svc_run() and rpcgen's dispatcher: svc_run serves every client
 * from one thread, so one client that stops in the middle of a record
 * freezes all the others; and rpcgen's dispatcher leaks decoded arguments
 * when decoding fails and replies to every procedure, while batched
 * procedures must never reply (the client does not read those replies, and
 * enough of them deadlock both sides).  So each connection gets its own
 * thread with a blocking transport (svc_fd_create: records of any size,
 * batching works) and the loop of docs/DESIGN.md: poll with an idle timeout,
 * SVC_RECV, authentication, our own table-driven dispatch, and again while
 * SVC_STAT reports buffered requests.
 *
 * Every procedure's arguments are decoded into a zeroed union on the stack
 * and released with svc_freeargs on every path; every reply is released with
 * xdr_free after it is sent.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rpc/rpc.h>
#include <rpc/svc_auth.h>

#include "auth.h"
#include "conn.h"
#include "log.h"
#include "monotime.h"
#include "ops.h"
#include "quote.h"
#include "session.h"
#include "throttle.h"

/*
 * Room for the decoded credential and verifier (MAX_AUTH_BYTES each) plus
 * the "cooked" credential that the authenticator fills; libtirpc's own
 * svc_getreq_common uses the same layout with 400 bytes for the latter.
 */
#define CONN_COOKED_CRED 400
#define CONN_CRED_AREA (2 * MAX_AUTH_BYTES + CONN_COOKED_CRED)

/* Connections being served; only conn_start() increments it. */
static atomic_uint conn_live;

/*
 * The configuration in force (conn_set_config), with a reference of its
 * own.  A connection starts with it and takes it again at each HELLO, so a
 * reload applies to every session from its next HELLO on: one that began
 * before cannot go on opening exports, under hosts lists or secrets, that
 * the reload withdrew.
 */
static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct config *current;

/* Everything one connection thread owns. */
struct conn {
	SVCXPRT *xprt;
	const struct config *cfg;       /* held; changed under reg_lock (see adopt_current) */
	struct session s;
	/* Registry fields, under reg_lock (see conn_evict_idle). */
	struct conn *prev, *next;
	int idle;               /* waiting for a request, nothing in progress */
	long long idle_since;   /* monotonic ms */
	int evicted;            /* shut down by conn_evict_idle: leave at once */
	long long reading_since; /* monotonic ms a call began to arrive; 0: none
	                            is (see conn_reap_stalled) */
};

/*
 * The registry of live connections, so that a full server can close the
 * one that has been idle longest instead of turning new clients away
 * (otherwise any peer could hold every slot with connections that never
 * send a byte).  A connection is idle only while its thread waits in poll
 * for the next request; the thread checks the evicted flag under the lock
 * before it serves anything, so a connection is never cut in the middle
 * of a request.
 */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *reg_head;
static atomic_uint conn_evicting;       /* evicted, thread not yet gone */
static int conn_draining;               /* under reg_lock; see conn_drain */

/*
 * Notes whether c's thread is receiving a call (from the moment it starts
 * reading one until its arguments are decoded), for conn_reap_stalled().
 */
static void
reg_set_reading(struct conn *c, int reading)
{
	pthread_mutex_lock(&reg_lock);
	c->reading_since = reading ? monotime_ms() : 0;
	pthread_mutex_unlock(&reg_lock);
}

/* Decoded arguments of any procedure; zeroed before each decode. */
union args {
	hello_args hello;
	list_args list;
	read_args read;
	create_args create;
	write_args write;
	commit_args commit;
	abort_args abort;
	mkdir_args mkdir;
	symlink_args symlink;
	setattr_args setattr;
	delete_args delete;
	signature_args signature;
	copy_args copy;
	auth_args auth;
	partial_args partial;
	resume_args resume;
};

/*
 * The reply of any synchronous procedure.  Every reply type starts with its
 * sync_status, so `head` (a common initial sequence) sets the status of
 * whichever reply the procedure sends.
 */
union results {
	struct {
		sync_status status;
	} head;
	hello_res hello;
	list_res list;
	read_res read;
	barrier_res barrier;
	signature_res signature;
	auth_res auth;
	partial_res partial;
};

/* The HELLO capabilities this server supports (granted when asked). */
#define CONN_CAPS SYNC_CAP_ZSTD

/* Procedure flags. */
#define P_ANYTIME 0x1   /* allowed before HELLO selected an export */
#define P_BATCHED 0x2   /* never replies; outcome reported by BARRIER */
#define P_MUTATES 0x4   /* changes files: refused on a read-only export */
#define P_PREAUTH 0x8   /* allowed before AUTH on an export that requires it */

#define NO_PATH SIZE_MAX

/* One row of the dispatch table, indexed by procedure number. */
struct proc {
	const char *name;
	xdrproc_t xargs;        /* argument decoder (xdr_void for none) */
	xdrproc_t xres;         /* reply encoder; NULL for batched procedures */
	unsigned int flags;
	/* Synchronous: fills r (status and, on success, the ok arm). */
	void (*call)(struct conn *c, const union args *a, union results *r);
	/* Batched: performs the call and returns its status. */
	sync_status (*batch)(struct session *s, const union args *a);
	size_t path_off;        /* offset of the sync_path the call names, or NO_PATH */
};

/* Returns 1 if the session may not use its export before an AUTH succeeds. */
static int
needs_auth(const struct session *s)
{
	return s->export != NULL && s->export->secrets_file != NULL && !s->authed;
}

/* Returns the configuration in force, held for the caller; NULL before any. */
static const struct config *
current_config(void)
{
	const struct config *cfg;

	pthread_mutex_lock(&current_lock);
	if ((cfg = current) != NULL)
		config_hold(cfg);
	pthread_mutex_unlock(&current_lock);
	return cfg;
}

/*
 * At a HELLO: if a reload replaced the configuration since c took its own,
 * ends what the session had under the old one (its pending COMMITs are
 * published, as when a HELLO switches export; its export is left; AUTH is
 * needed again) and moves c to the new one.
 */
static void
adopt_current(struct conn *c)
{
	const struct config *cur = current_config(), *old;
	struct session *s = &c->s;

	if (cur == NULL || cur == c->cfg) {
		if (cur != NULL)
			config_drop(cur);
		return;
	}
	if (s->staging != NULL) {
		staging_flush(s);
		staging_free(s);
		s->staging = NULL;
	}
	if (s->export != NULL) {
		export_release(s->export);
		s->export = NULL;
	}
	s->nonce_live = 0;
	s->authed = 0;
	pthread_mutex_lock(&reg_lock);  /* conn_reap_stalled reads c->cfg */
	old = c->cfg;
	c->cfg = cur;
	pthread_mutex_unlock(&reg_lock);
	config_drop(old);
	log_debug("%s: HELLO under the reloaded configuration", s->peer);
}

/*
 * HELLO: checks the protocol version and selects the export named by the
 * client for the rest of the connection, if the export's host lists admit
 * the peer (else ACCES, logged) and it has room for one more session (else
 * TOOMANY, logged).  Switching to another export completes the
 * pending commits and drops the open writes of the old one first, so that
 * nothing staged under one export survives into the other.  Grants the
 * asked capabilities that CONN_CAPS has (unknown bits are ignored).  Every
 * HELLO sends a fresh nonce and ends any earlier authentication; a refused
 * HELLO changes neither the export nor the grant.
 */
static void
call_hello(struct conn *c, const union args *a, union results *r)
{
	const hello_args *h = &a->hello;
	struct session *s = &c->s;
	unsigned char nonce[SYNC_NONCE_LEN];
	const struct export *e;
	char shown[QUOTE_BUF];

	quote_str(h->export != NULL ? h->export : "", shown);
	if (h->proto_version != SYNC_VERSION) {
		log_debug("%s: HELLO with protocol version %u", s->peer, h->proto_version);
		r->hello.status = SYNC_ERR_VERSION;
		return;
	}
	adopt_current(c);
	e = config_find(c->cfg, h->export != NULL ? h->export : "");
	if (e == NULL) {
		log_debug("%s: HELLO for unknown export '%s'", s->peer, shown);
		r->hello.status = SYNC_ERR_NOEXPORT;
		return;
	}
	if (!hostacl_admits(&e->hosts_allow, &e->hosts_deny, (struct sockaddr *)&s->addr)) {
		log_warn("%s: export '%s' refused by its hosts allow/deny", s->peer, e->name);
		r->hello.status = SYNC_ERR_ACCES;
		return;
	}
	if (auth_nonce(nonce) != 0) {
		log_err("%s: getrandom: %s", s->peer, strerror(errno));
		r->hello.status = SYNC_ERR_SERVERFAULT;
		return;
	}
	if (s->export != e && export_reserve(e) != 0) {
		log_warn("%s: export '%s' refused: %u sessions already", s->peer, e->name,
		    e->max_sessions);
		r->hello.status = SYNC_ERR_TOOMANY;
		return;
	}
	if (s->export != e && s->staging != NULL) {
		/* The old export's files are finished under its own ids. */
		staging_flush(s);
		staging_free(s);
		s->staging = NULL;
	}
	if (export_become(e) != 0) {
		log_err("%s: export '%s': cannot act as uid %ld gid %ld: %s", s->peer, e->name,
		    e->uid, e->gid, strerror(errno));
		if (s->export != e)
			export_release(e);
		r->hello.status = SYNC_ERR_SERVERFAULT;
		return;
	}
	if (s->export != NULL && s->export != e)
		export_release(s->export);
	s->export = e;
	s->caps = h->caps & CONN_CAPS;
	memcpy(s->nonce, nonce, sizeof nonce);
	s->nonce_live = 1;
	s->authed = 0;
	log_debug("%s: selected export '%s'%s%s, capabilities %#x", s->peer, e->name,
	    e->read_only ? " (read-only)" : "", needs_auth(s) ? " (AUTH required)" : "",
	    s->caps);
	r->hello.status = SYNC_OK;
	r->hello.hello_res_u.ok.proto_version = SYNC_VERSION;
	r->hello.hello_res_u.ok.flags = (e->read_only ? SYNC_EXPORT_READONLY : 0) |
	    (needs_auth(s) ? SYNC_EXPORT_AUTH : 0);
	r->hello.hello_res_u.ok.chunk_max = SYNC_CHUNK_MAX;
	r->hello.hello_res_u.ok.caps = s->caps;
	memcpy(r->hello.hello_res_u.ok.nonce, s->nonce, SYNC_NONCE_LEN);
}

/*
 * AUTH: checks the client's proof of a user's secret for the selected
 * export against the nonce of the last HELLO (each nonce serves one AUTH),
 * and on success answers with the server's proof and opens the export.
 * INVAL for an export without a secrets file; AUTH for everything that is
 * refused: a spent nonce, a throttled address, an unknown user or a wrong
 * proof (the last two indistinguishable, in time too: an unknown user is
 * checked against a dummy key).  Failures are logged with the peer and
 * counted against its address (throttle.h).
 */
static void
call_auth(struct conn *c, const union args *a, union results *r)
{
	static const unsigned char dummy_key[32];   /* stands in for an unknown user's */
	const auth_args *x = &a->auth;
	struct session *s = &c->s;
	const struct export *e = s->export;
	const struct secret *sec = NULL;
	const char *user = x->user != NULL ? x->user : "";
	unsigned char want[AUTH_PROOF_LEN];
	char shown[QUOTE_BUF];

	r->auth.status = SYNC_ERR_AUTH;
	quote_str(user, shown);
	if (e->secrets_file == NULL) {
		r->auth.status = SYNC_ERR_INVAL;
		return;
	}
	if (!s->nonce_live) {
		log_debug("%s: AUTH without a fresh HELLO", s->peer);
		return;
	}
	s->nonce_live = 0;
	if (throttle_blocked((struct sockaddr *)&s->addr)) {
		log_warn("%s: AUTH as '%s' refused: too many failures from this address",
		    s->peer, shown);
		return;
	}
	if (auth_user_ok(user, strlen(user)))
		sec = secrets_find(&e->secrets, user);
	if (auth_proof(AUTH_CLIENT, sec != NULL ? sec->key : dummy_key,
	    sec != NULL ? sec->len : sizeof dummy_key, s->nonce, x->client_nonce, user,
	    e->name, want) != 0) {
		log_err("%s: AUTH: HMAC failed", s->peer);
		r->auth.status = SYNC_ERR_SERVERFAULT;
		return;
	}
	if (sec == NULL || !auth_proof_equal(want, x->proof)) {
		throttle_fail((struct sockaddr *)&s->addr);
		log_warn("%s: authentication failed for user '%s' on export '%s'", s->peer,
		    shown, e->name);
		return;
	}
	if (auth_proof(AUTH_SERVER, sec->key, sec->len, s->nonce, x->client_nonce, user,
	    e->name, r->auth.auth_res_u.server_proof) != 0) {
		log_err("%s: AUTH: HMAC failed", s->peer);
		r->auth.status = SYNC_ERR_SERVERFAULT;
		return;
	}
	s->authed = 1;
	log_info("%s: authenticated as '%s' on export '%s'", s->peer, shown, e->name);
	r->auth.status = SYNC_OK;
}

/* LIST: one page of the listing (list.c). */
static void
call_list(struct conn *c, const union args *a, union results *r)
{
	op_list(&c->s, &a->list, &r->list);
}

/* READ: one chunk of a file (fileops.c). */
static void
call_read(struct conn *c, const union args *a, union results *r)
{
	op_read(&c->s, &a->read, &r->read);
}

/* SIGNATURE: block checksums of a file, for a delta transfer (fileops.c). */
static void
call_signature(struct conn *c, const union args *a, union results *r)
{
	op_signature(&c->s, &a->signature, &r->signature);
}

/* PARTIAL: what the server holds of an interrupted file (partial.c). */
static void
call_partial(struct conn *c, const union args *a, union results *r)
{
	op_partial(&c->s, &a->partial, &r->partial);
}

/*
 * BARRIER: makes every COMMIT of the batch durable and visible, then reports
 * the batch's accounting and starts the next batch.
 */
static void
call_barrier(struct conn *c, const union args *a, union results *r)
{
	(void)a;
	if (c->s.staging != NULL)
		staging_flush(&c->s);
	session_take_barrier(&c->s, &r->barrier.barrier_res_u.ok);
	r->barrier.status = SYNC_OK;
}

/* Adapters from the table's generic signature to the typed op_* functions. */
#define BATCH_ADAPTER(op, member) \
	static sync_status \
	batch_##op(struct session *s, const union args *a) \
	{ \
		return op_##op(s, &a->member); \
	}
BATCH_ADAPTER(create, create)
BATCH_ADAPTER(write, write)
BATCH_ADAPTER(commit, commit)
BATCH_ADAPTER(abort, abort)
BATCH_ADAPTER(mkdir, mkdir)
BATCH_ADAPTER(symlink, symlink)
BATCH_ADAPTER(setattr, setattr)
BATCH_ADAPTER(delete, delete)
BATCH_ADAPTER(copy, copy)
BATCH_ADAPTER(resume, resume)

/* Through void (*)(void), the generic function pointer, so that xdr_void
 * (declared without parameters) converts without a warning. */
#define X(f) ((xdrproc_t)(void (*)(void))(f))
#define BATCHED(name, op, type, off) \
	{ name, X(xdr_##type), NULL, P_BATCHED | P_MUTATES, NULL, batch_##op, off }

/*
 * The dispatch table; a NULL name marks a hole (none today).  SIGNATURE
 * only reads, so it is allowed on a read-only export; COPY writes a temp.
 */
static const struct proc procs[] = {
	[SYNC_NULL] = { "NULL", X(xdr_void), X(xdr_void), P_ANYTIME, NULL, NULL,
	    NO_PATH },
	[SYNC_HELLO] = { "HELLO", X(xdr_hello_args), X(xdr_hello_res), P_ANYTIME,
	    call_hello, NULL, NO_PATH },
	[SYNC_LIST] = { "LIST", X(xdr_list_args), X(xdr_list_res), 0, call_list,
	    NULL, NO_PATH },
	[SYNC_READ] = { "READ", X(xdr_read_args), X(xdr_read_res), 0, call_read,
	    NULL, NO_PATH },
	[SYNC_BARRIER] = { "BARRIER", X(xdr_void), X(xdr_barrier_res), 0,
	    call_barrier, NULL, NO_PATH },
	/* WRITE/COMMIT/ABORT name no path: staging reports its own. */
	[SYNC_CREATE] = BATCHED("CREATE", create, create_args,
	    offsetof(create_args, path)),
	[SYNC_WRITE] = BATCHED("WRITE", write, write_args, NO_PATH),
	[SYNC_COMMIT] = BATCHED("COMMIT", commit, commit_args, NO_PATH),
	[SYNC_ABORT] = BATCHED("ABORT", abort, abort_args, NO_PATH),
	[SYNC_MKDIR] = BATCHED("MKDIR", mkdir, mkdir_args,
	    offsetof(mkdir_args, path)),
	[SYNC_SYMLINK] = BATCHED("SYMLINK", symlink, symlink_args,
	    offsetof(symlink_args, path)),
	[SYNC_SETATTR] = BATCHED("SETATTR", setattr, setattr_args,
	    offsetof(setattr_args, path)),
	[SYNC_DELETE] = BATCHED("DELETE", delete, delete_args,
	    offsetof(delete_args, path)),
	[SYNC_SIGNATURE] = { "SIGNATURE", X(xdr_signature_args), X(xdr_signature_res), 0,
	    call_signature, NULL, NO_PATH },
	/* COPY names no path, like WRITE. */
	[SYNC_COPY] = BATCHED("COPY", copy, copy_args, NO_PATH),
	[SYNC_AUTH] = { "AUTH", X(xdr_auth_args), X(xdr_auth_res), P_PREAUTH, call_auth,
	    NULL, NO_PATH },
	/* PARTIAL only reads; RESUME is a CREATE. */
	[SYNC_PARTIAL] = { "PARTIAL", X(xdr_partial_args), X(xdr_partial_res), 0,
	    call_partial, NULL, NO_PATH },
	[SYNC_RESUME] = BATCHED("RESUME", resume, resume_args,
	    offsetof(resume_args, path)),
};

#define NPROCS (sizeof procs / sizeof procs[0])

/*
 * Records the outcome st of the batched call p (arguments a, or NULL when
 * they could not be decoded) under the current batch index, then advances
 * the index.  Never replies.
 */
static void
batch_account(struct conn *c, const struct proc *p, const union args *a,
    sync_status st)
{
	struct session *s = &c->s;

	if (st != SYNC_OK) {
		const sync_path *path = NULL;

		if (a != NULL && p->path_off != NO_PATH)
			path = (const sync_path *)((const char *)a + p->path_off);
		session_fail(s, s->batch_index,
		    path != NULL ? path->sync_path_val : NULL,
		    path != NULL ? path->sync_path_len : 0, st);
	}
	s->batch_index++;
}

/*
 * Runs the batched procedure p on decoded arguments a: refused before HELLO
 * (NOSESSION) and on a read-only export (ROFS) without calling the op.
 */
static void
run_batched(struct conn *c, const struct proc *p, const union args *a)
{
	const struct export *e = c->s.export;
	sync_status st;

	if (e == NULL)
		st = SYNC_ERR_NOSESSION;
	else if (needs_auth(&c->s))
		st = SYNC_ERR_AUTH;
	else if ((p->flags & P_MUTATES) && e->read_only)
		st = SYNC_ERR_ROFS;
	else
		st = p->batch(&c->s, a);
	batch_account(c, p, a, st);
}

/*
 * Runs the synchronous procedure p on decoded arguments a and sends its
 * reply, then frees the reply.
 */
static void
run_sync(struct conn *c, const struct proc *p, const union args *a)
{
	union results r;

	memset(&r, 0, sizeof r);
	if (!(p->flags & P_ANYTIME) && c->s.export == NULL)
		r.head.status = SYNC_ERR_NOSESSION;
	else if (!(p->flags & (P_ANYTIME | P_PREAUTH)) && needs_auth(&c->s))
		r.head.status = SYNC_ERR_AUTH;
	else if ((p->flags & P_MUTATES) && c->s.export != NULL &&
	    c->s.export->read_only)
		r.head.status = SYNC_ERR_ROFS;
	else if (p->call != NULL)
		p->call(c, a, &r);
	if (!svc_sendreply(c->xprt, p->xres, (caddr_t)&r))
		log_debug("%s: cannot send the %s reply", c->s.peer, p->name);
	xdr_free(p->xres, (char *)&r);
}

/*
 * Decodes and runs one call of our program and version (rq), replying if
 * the procedure is synchronous.  The arguments are freed on every path.
 */
static void
dispatch(struct conn *c, struct svc_req *rq)
{
	const struct proc *p;
	union args a;
	bool_t decoded;

	if (rq->rq_proc >= NPROCS || procs[rq->rq_proc].name == NULL) {
		log_debug("%s: unknown procedure %u", c->s.peer, rq->rq_proc);
		svcerr_noproc(c->xprt);
		return;
	}
	p = &procs[rq->rq_proc];
	memset(&a, 0, sizeof a);
	decoded = svc_getargs(c->xprt, p->xargs, (caddr_t)&a);
	reg_set_reading(c, 0);          /* the whole call has arrived (or never will) */
	if (!decoded) {
		log_debug("%s: cannot decode %s arguments", c->s.peer, p->name);
		/*
		 * Even for a batched call: GARBAGE_ARGS is an RPC-level error,
		 * not a result, and a batching client skips it by xid at its
		 * next synchronous call.  The failure is also counted, so that
		 * the batch indices stay in step with what the client sent.
		 */
		svcerr_decode(c->xprt);
		if (p->flags & P_BATCHED)
			batch_account(c, p, NULL, SYNC_ERR_INVAL);
	} else if (p->flags & P_BATCHED) {
		run_batched(c, p, &a);
	} else {
		run_sync(c, p, &a);
	}
	if (!svc_freeargs(c->xprt, p->xargs, (caddr_t)&a))
		log_warn("%s: cannot free %s arguments", c->s.peer, p->name);
}

/*
 * Receives one buffered or incoming call on c's transport, authenticates it
 * and dispatches it.  Errors are answered (auth, program, version) or, for
 * a malformed message, left to SVC_STAT, which then reports the transport
 * dead.
 */
static void
handle_one(struct conn *c)
{
	char cred_area[CONN_CRED_AREA];
	struct rpc_msg msg;
	struct svc_req rq;
	enum auth_stat why;
	bool_t no_dispatch = FALSE;

	memset(&msg, 0, sizeof msg);
	memset(&rq, 0, sizeof rq);
	msg.rm_call.cb_cred.oa_base = cred_area;
	msg.rm_call.cb_verf.oa_base = cred_area + MAX_AUTH_BYTES;
	rq.rq_clntcred = cred_area + 2 * MAX_AUTH_BYTES;
	if (!SVC_RECV(c->xprt, &msg))
		return;
	rq.rq_xprt = c->xprt;
	rq.rq_prog = msg.rm_call.cb_prog;
	rq.rq_vers = msg.rm_call.cb_vers;
	rq.rq_proc = msg.rm_call.cb_proc;
	rq.rq_cred = msg.rm_call.cb_cred;
	/*
	 * Only the flavors we use reach libtirpc's authenticator: given any
	 * other it would run its RPCSEC_GSS code, which leaks memory on every
	 * call and exposes the Kerberos stack to unauthenticated peers.
	 */
	if (rq.rq_cred.oa_flavor != AUTH_NONE && rq.rq_cred.oa_flavor != AUTH_SYS) {
		log_debug("%s: credential flavor %d refused", c->s.peer,
		    (int)rq.rq_cred.oa_flavor);
		svcerr_auth(c->xprt, AUTH_REJECTEDCRED);
		return;
	}
	why = _gss_authenticate(&rq, &msg, &no_dispatch);
	if (why != AUTH_OK) {
		log_debug("%s: authentication failed (%d)", c->s.peer, (int)why);
		svcerr_auth(c->xprt, why);
		return;
	}
	if (no_dispatch)
		return;
	if (rq.rq_prog != SYNC_PROG) {
		svcerr_noprog(c->xprt);
		return;
	}
	if (rq.rq_vers != SYNC_V1) {
		svcerr_progvers(c->xprt, SYNC_V1, SYNC_V1);
		return;
	}
	dispatch(c, &rq);
}

unsigned int
conn_count(void)
{
	unsigned int live = atomic_load(&conn_live), going = atomic_load(&conn_evicting);

	return live > going ? live - going : 0;
}

/* Adds c to the registry, busy. */
static void
reg_add(struct conn *c)
{
	pthread_mutex_lock(&reg_lock);
	c->prev = NULL;
	c->next = reg_head;
	if (reg_head != NULL)
		reg_head->prev = c;
	reg_head = c;
	pthread_mutex_unlock(&reg_lock);
}

/* Takes c out of the registry (before its socket is closed). */
static void
reg_remove(struct conn *c)
{
	pthread_mutex_lock(&reg_lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		reg_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->evicted)
		atomic_fetch_sub(&conn_evicting, 1);
	pthread_mutex_unlock(&reg_lock);
}

/*
 * Marks c idle (waiting for a request) or busy.  Returns 0 if c was evicted
 * meanwhile, or is about to wait for a request while syncd drains and its
 * batch is complete: it must end without serving anything.  Else 1.
 */
static int
reg_set_idle(struct conn *c, int idle)
{
	int alive;

	pthread_mutex_lock(&reg_lock);
	alive = !c->evicted && !(idle && conn_draining && c->s.batch_index == 0);
	if (alive) {
		c->idle = idle;
		if (idle)
			c->idle_since = monotime_ms();
	}
	pthread_mutex_unlock(&reg_lock);
	return alive;
}

/*
 * Shuts c's socket down so that its thread ends (its poll wakes, or its
 * next reply fails) and stops counting c in conn_count().  Under reg_lock.
 */
static void
reg_close(struct conn *c)
{
	c->evicted = 1;
	atomic_fetch_add(&conn_evicting, 1);
	shutdown(c->xprt->xp_fd, SHUT_RDWR);
}

int
conn_evict_idle(void)
{
	long long now = monotime_ms();
	struct conn *best = NULL;

	pthread_mutex_lock(&reg_lock);
	for (struct conn *c = reg_head; c != NULL; c = c->next) {
		/* A session that selected an export must have been quiet a while. */
		int eligible = c->idle && !c->evicted && (c->s.export == NULL ||
		    now - c->idle_since >= CONN_EVICT_SESSION_MS);

		if (!eligible)
			continue;
		if (best == NULL || (c->s.export == NULL) > (best->s.export == NULL) ||
		    ((c->s.export == NULL) == (best->s.export == NULL) &&
		    c->idle_since <= best->idle_since))
			best = c;       /* <=: on a tie, the older connection (nearer the tail) */
	}
	if (best != NULL) {
		reg_close(best);
		log_debug("%s: idle for %lld ms, closed to make room", best->s.peer,
		    now - best->idle_since);
	}
	pthread_mutex_unlock(&reg_lock);
	return best != NULL;
}

int
conn_reap_stalled(void)
{
	long long now = monotime_ms();
	int n = 0;

	pthread_mutex_lock(&reg_lock);
	for (struct conn *c = reg_head; c != NULL; c = c->next) {
		long long limit = c->cfg->idle_s != 0 ? (long long)c->cfg->idle_s * 1000 :
		    CONN_IDLE_MS;

		if (c->evicted || c->reading_since == 0 || now - c->reading_since < limit)
			continue;
		reg_close(c);                           /* ends the blocked read */
		log_debug("%s: call incomplete for %lld s, closing", c->s.peer,
		    (now - c->reading_since) / 1000);
		n++;
	}
	pthread_mutex_unlock(&reg_lock);
	return n;
}

unsigned int
conn_drain(void)
{
	unsigned int live;

	pthread_mutex_lock(&reg_lock);
	conn_draining = 1;
	live = atomic_load(&conn_live);     /* before any of them can end */
	for (struct conn *c = reg_head; c != NULL; c = c->next)
		if (c->idle && !c->evicted && c->s.batch_index == 0)
			reg_close(c);
	pthread_mutex_unlock(&reg_lock);
	return live;
}

unsigned int
conn_cut(void)
{
	unsigned int n = 0;

	pthread_mutex_lock(&reg_lock);
	for (struct conn *c = reg_head; c != NULL; c = c->next) {
		if (!c->evicted) {
			reg_close(c);
			n++;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return n;
}

unsigned int
conn_threads(void)
{
	return atomic_load(&conn_live);
}

void *
conn_serve(void *arg)
{
	struct conn *c = arg;
	struct pollfd pfd = { .fd = c->xprt->xp_fd, .events = POLLIN };
	enum xprt_stat st = XPRT_IDLE;

	log_debug("%s: connection opened", c->s.peer);
	while (st != XPRT_DIED) {
		int idle_ms = c->cfg->idle_s != 0 ? (int)c->cfg->idle_s * 1000 : CONN_IDLE_MS;
		int n;

		if (!reg_set_idle(c, 1))
			break;
		n = poll(&pfd, 1, idle_ms);
		if (!reg_set_idle(c, 0))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("%s: poll: %s", c->s.peer, strerror(errno));
			break;
		}
		if (n == 0) {
			log_debug("%s: idle for %d s, closing", c->s.peer, idle_ms / 1000);
			break;
		}
		/* Serve everything already buffered before polling again. */
		do {
			reg_set_reading(c, 1);
			handle_one(c);
			reg_set_reading(c, 0);
			st = SVC_STAT(c->xprt);
		} while (st == XPRT_MOREREQS);
	}
	session_end(&c->s);
	log_debug("%s: connection closed", c->s.peer);
	reg_remove(c);
	SVC_DESTROY(c->xprt);
	config_drop(c->cfg);
	free(c);
	atomic_fetch_sub(&conn_live, 1);
	return NULL;
}

void
conn_set_config(const struct config *cfg)
{
	const struct config *old;

	if (cfg != NULL)
		config_hold(cfg);
	pthread_mutex_lock(&current_lock);
	old = current;
	current = cfg;
	pthread_mutex_unlock(&current_lock);
	if (old != NULL)
		config_drop(old);
}

int
conn_start(int fd, const char *peer, const struct sockaddr *addr, socklen_t addrlen)
{
	pthread_attr_t attr;
	pthread_t tid;
	struct conn *c = NULL;
	SVCXPRT *x = NULL;
	int attr_ok = 0, rc = -1, err;

	c = calloc(1, sizeof *c);
	if (c == NULL) {
		log_err("%s: out of memory", peer);
		goto out;
	}
	x = svc_fd_create(fd, 0, 0);
	if (x == NULL) {
		log_err("%s: cannot create the RPC transport", peer);
		goto out;
	}
	fd = -1;                /* owned by x from now on */
	c->xprt = x;
	session_init(&c->s, peer, addr, addrlen);
	if ((c->cfg = current_config()) == NULL) {
		log_err("%s: no configuration to serve", peer);
		goto out;
	}

	err = pthread_attr_init(&attr);
	if (err != 0) {
		log_err("%s: pthread_attr_init: %s", peer, strerror(err));
		goto out;
	}
	attr_ok = 1;
	err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (err == 0)
		err = pthread_attr_setstacksize(&attr, CONN_STACK_SIZE);
	if (err != 0) {
		log_err("%s: thread attributes: %s", peer, strerror(err));
		goto out;
	}
	atomic_fetch_add(&conn_live, 1);
	reg_add(c);
	err = pthread_create(&tid, &attr, conn_serve, c);
	if (err != 0) {
		reg_remove(c);
		atomic_fetch_sub(&conn_live, 1);
		log_err("%s: cannot start a thread: %s", peer, strerror(err));
		goto out;
	}
	c = NULL;               /* owned by the thread */
	x = NULL;
	rc = 0;
out:
	if (attr_ok)
		pthread_attr_destroy(&attr);
	if (x != NULL)
		SVC_DESTROY(x);
	else if (fd >= 0)
		close(fd);
	if (c != NULL && c->cfg != NULL)
		config_drop(c->cfg);
	free(c);
	return rc;
}
