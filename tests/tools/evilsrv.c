/*
 * evilsrv.c -- a hostile syncd for the client's checklist (t_72_evil_server).
 *
 * Why it exists: syncctl must survive whatever a malicious or broken server
 * replies, and syncd never sends such replies.  evilsrv speaks just enough
 * of the protocol to take syncctl to the point of each scenario (HELLO,
 * LIST, batched calls, SIGNATURE, BARRIER) and then answers with the one
 * hostile reply that scenario names.  Replies are encoded by hand (an RPC
 * reply header and our own XDR routines in a memory buffer, then one
 * record) rather than by svc_sendreply(), so a reply may break every bound
 * of sync.x, and may go out byte by byte or not at all.
 *
 *   evilsrv [--log FILE] SCENARIO
 *
 * Listens on 127.0.0.1 (any free port), prints "PORT" on a line of stdout,
 * and serves each connection in a child process until the client leaves.
 * With --log every call received is appended to FILE as one line:
 * "PROC PATH" (PATH escaped as \xNN where not printable; "-" for calls
 * without one; LIST adds " after=AFTER" when it resumes, BARRIER "
 * done=N").  Run without arguments for the list of scenarios.
 *
 * It links only with common/ and the generated XDR code: nothing of
 * server/ (a test server that shared syncd's code would share its bugs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rpc/rpc.h>
#include <rpc/svc_auth.h>

#include "sync.h"

/* xdrproc_t is variadic; casting through void (*)(void) is the sanctioned way. */
#define XDRPROC(f) ((xdrproc_t)(void (*)(void))(f))

#define PAGE_MAX     1024           /* entries in one page we build */
#define ENDLESS_PAGE 1000           /* entries per page of "endless" */
#define TRICKLE_MS   200            /* delay between bytes of "trickle*" */
#define BIG_SIZE     100000         /* the remote "big" file of the sig-* scenarios */

/* One scenario: its name, what it does, and which reply it spoils. */
struct scenario {
	const char *name;
	const char *what;
};

static const struct scenario scenarios[] = {
	{ "ok",              "a well-behaved server: LIST shows \"old\" (a file) in an empty directory" },
	{ "absolute",        "LIST returns \"/etc/passwd\"" },
	{ "dotdot",          "LIST returns \"../victim\"" },
	{ "dotdot-inner",    "LIST returns \"a\" (a directory), then \"a/../../victim\"" },
	{ "empty-component", "LIST returns \"a\" (a directory), then \"a//victim\"" },
	{ "nul",             "LIST returns a name with a NUL byte inside" },
	{ "tmpname",         "LIST returns a name with the server's reserved temp prefix" },
	{ "duplicate",       "LIST returns \"victim\" twice" },
	{ "unordered",       "LIST returns \"b\" before \"a\" in one page" },
	{ "unordered-pages", "LIST returns \"b\" in page 1, \"a\" in page 2" },
	{ "symlink-parent",  "LIST returns \"l\" (a symlink to /tmp), then \"l/victim\"" },
	{ "file-parent",     "LIST returns \"f\" (a file), then \"f/victim\"" },
	{ "orphan",          "LIST returns \"ghost/victim\" with no \"ghost\" listed" },
	{ "second-root",     "LIST's page 2 starts with another root entry" },
	{ "no-root",         "LIST's first entry is \"a\", not the root" },
	{ "bad-type",        "LIST returns an entry of type 9" },
	{ "bad-time",        "LIST returns an mtime with 10^9 nanoseconds" },
	{ "bad-hash",        "LIST returns a 5-byte content hash" },
	{ "bad-target",      "LIST returns a symlink with an empty target" },
	{ "huge-count",      "LIST claims 2^32-1 entries in its page" },
	{ "over-max",        "LIST claims SYNC_LIST_MAX+1 entries in its page" },
	{ "long-path",       "LIST returns a path of 5000 bytes (over SYNC_PATH_MAX)" },
	{ "empty-page",      "LIST returns empty pages that never end" },
	{ "endless",         "LIST returns pages of 1000 new entries forever" },
	{ "list-fail-mid",   "LIST's page 2 fails with NOENT" },
	{ "hello-caps",      "HELLO grants SYNC_CAP_ZSTD, never asked for" },
	{ "hello-caps-unknown", "HELLO grants capability bit 0x80" },
	{ "hello-version",   "HELLO answers with protocol version 2" },
	{ "hello-chunk-zero", "HELLO says chunk_max 0" },
	{ "hello-chunk-huge", "HELLO says chunk_max 2^32-1" },
	{ "hello-chunk-tiny", "HELLO says chunk_max 1" },
	{ "sig-short",       "SIGNATURE's strong sums are one byte short" },
	{ "sig-count",       "SIGNATURE has one block more than its sizes allow" },
	{ "sig-zero-block",  "SIGNATURE says block_size 0" },
	{ "sig-wide-strong", "SIGNATURE says strong_size 17" },
	{ "sig-huge",        "SIGNATURE claims 2^32-1 weak sums" },
	{ "barrier-index",   "BARRIER reports a failure at an index never sent" },
	{ "barrier-done",    "BARRIER counts one call more than was sent" },
	{ "barrier-failed",  "BARRIER says more calls failed than were done" },
	{ "barrier-huge",    "BARRIER claims 2^32-1 failures in its list" },
	{ "barrier-status",  "BARRIER answers SERVERFAULT" },
	{ "trickle",         "every reply goes out one byte per 200 ms" },
	{ "trickle-list",    "HELLO is answered, LIST's reply trickles one byte per 200 ms" },
	{ "silent",          "nothing is ever answered" },
	{ "silent-list",     "HELLO is answered, LIST never" },
};

static const char *scen;        /* the scenario being played */
static int log_fd = -1;         /* --log, or -1 */

/* Returns 1 if the scenario being played is name. */
static int
is(const char *name)
{
	return strcmp(scen, name) == 0;
}

/* Returns 1 if the scenario being played starts with prefix. */
static int
starts(const char *prefix)
{
	return strncmp(scen, prefix, strlen(prefix)) == 0;
}

/* ---- the call log -------------------------------------------------------- */

/*
 * Appends "proc PATH extra\n" to the log (PATH: len bytes, escaped; NULL:
 * "-").  One write() per line, so the children's lines never mix.
 */
static void
log_call(const char *proc, const char *path, size_t len, const char *extra)
{
	char line[4 * SYNC_PATH_MAX + 128];
	size_t n;

	if (log_fd < 0)
		return;
	n = (size_t)snprintf(line, sizeof line, "%s ", proc);
	if (path == NULL)
		line[n++] = '-';
	for (size_t i = 0; path != NULL && i < len && n + 8 < sizeof line; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c > 0x20 && c < 0x7f && c != '\\')
			line[n++] = (char)c;
		else
			n += (size_t)snprintf(line + n, 5, "\\x%02x", c);
	}
	n += (size_t)snprintf(line + n, sizeof line - n, "%s\n", extra ? extra : "");
	if (write(log_fd, line, n) < 0)
		perror("evilsrv: log");
}

/* ---- replies ------------------------------------------------------------- */

/*
 * Sends the reply to call xid with the result res encoded by proc, as one
 * record: at once, or one byte per TRICKLE_MS when trickle is set.
 * Returns 0, or -1 when the client has gone.
 */
static int
reply(int fd, u_int xid, xdrproc_t proc, void *res, int trickle)
{
	struct rpc_msg m;
	XDR x;
	char *buf;
	u_int size, len;
	uint32_t mark;
	int rc = -1;

	memset(&m, 0, sizeof m);
	m.rm_xid = xid;
	m.rm_direction = REPLY;
	m.rm_reply.rp_stat = MSG_ACCEPTED;
	m.acpted_rply.ar_verf = _null_auth;
	m.acpted_rply.ar_stat = SUCCESS;
	m.acpted_rply.ar_results.where = res;
	m.acpted_rply.ar_results.proc = proc;
	size = 64 + (u_int)xdr_sizeof(XDRPROC(xdr_replymsg), &m);
	if ((buf = malloc(4 + (size_t)size)) == NULL) {
		perror("evilsrv: malloc");
		return -1;
	}
	xdrmem_create(&x, buf + 4, size, XDR_ENCODE);
	if (!xdr_replymsg(&x, &m)) {
		fprintf(stderr, "evilsrv: cannot encode a reply\n");
		goto out;
	}
	len = xdr_getpos(&x);
	xdr_destroy(&x);
	mark = htonl(0x80000000u | len);
	memcpy(buf, &mark, 4);
	len += 4;
	for (u_int off = 0; off < len;) {
		size_t n = trickle ? 1 : len - off;
		ssize_t w = write(fd, buf + off, n);

		if (w <= 0)
			goto out;
		off += (u_int)w;
		if (trickle) {
			struct timespec ts = { 0, TRICKLE_MS * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ---- HELLO --------------------------------------------------------------- */

/* The HELLO answer of the scenario (asked: the caps the client asked for). */
static hello_res
hello_reply(u_int asked)
{
	hello_res res;

	memset(&res, 0, sizeof res);
	res.status = SYNC_OK;
	res.hello_res_u.ok.proto_version = is("hello-version") ? 2 : SYNC_VERSION;
	res.hello_res_u.ok.chunk_max = SYNC_CHUNK_MAX;
	if (is("hello-chunk-zero"))
		res.hello_res_u.ok.chunk_max = 0;
	else if (is("hello-chunk-huge"))
		res.hello_res_u.ok.chunk_max = 0xffffffffu;
	else if (is("hello-chunk-tiny"))
		res.hello_res_u.ok.chunk_max = 1;
	res.hello_res_u.ok.caps = asked & SYNC_CAP_ZSTD;
	if (is("hello-caps"))
		res.hello_res_u.ok.caps = SYNC_CAP_ZSTD;
	else if (is("hello-caps-unknown"))
		res.hello_res_u.ok.caps |= 0x80;
	return res;
}

/* ---- LIST ---------------------------------------------------------------- */

/* One page being built. */
struct page {
	sync_entry v[PAGE_MAX];
	u_int      n;
	bool_t     eof;
};

/* Appends an entry (path of len bytes, type, target or NULL) to pg. */
static void
add_n(struct page *pg, const char *path, size_t len, int type, const char *target)
{
	sync_entry *e = &pg->v[pg->n++];

	memset(e, 0, sizeof *e);
	e->path.sync_path_len = (u_int)len;
	e->path.sync_path_val = (char *)path;
	e->attr.type = (sync_ftype)type;
	e->attr.mode = type == SYNC_DIR ? 0755 : 0644;
	e->attr.size = type == SYNC_REG ? 3 : 0;
	e->attr.mtime.sec = 1000000000;
	if (target != NULL) {
		e->target.sync_path_len = (u_int)strlen(target);
		e->target.sync_path_val = (char *)target;
		e->attr.size = strlen(target);
	}
}

/* Appends an entry named by the string path. */
static void
add(struct page *pg, const char *path, int type)
{
	add_n(pg, path, strlen(path), type, NULL);
}

/* Encodes pg as a list_res (SYNC_OK). */
static bool_t
xdr_page(XDR *x, struct page *pg)
{
	sync_status st = SYNC_OK;

	if (!xdr_sync_status(x, &st) || !xdr_u_int(x, &pg->n))
		return FALSE;
	for (u_int i = 0; i < pg->n; i++)
		if (!xdr_sync_entry(x, &pg->v[i]))
			return FALSE;
	return xdr_bool(x, &pg->eof);
}

/* Encodes a list_res that claims *count entries and holds none. */
static bool_t
xdr_claim(XDR *x, u_int *count)
{
	sync_status st = SYNC_OK;

	return xdr_sync_status(x, &st) && xdr_u_int(x, count);
}

/* Encodes a page whose second entry's path is *len bytes of 'a'. */
static bool_t
xdr_long_path(XDR *x, u_int *len)
{
	static char a[8192];
	struct page root = { .n = 0 };
	sync_status st = SYNC_OK;
	u_int two = 2;
	sync_attr at = { .type = SYNC_REG, .mode = 0644 };
	bool_t eof = TRUE;
	char *p = a;

	memset(a, 'a', sizeof a);
	add(&root, "", SYNC_DIR);
	return xdr_sync_status(x, &st) && xdr_u_int(x, &two) &&
	    xdr_sync_entry(x, &root.v[0]) &&
	    xdr_bytes(x, &p, len, sizeof a) && xdr_sync_attr(x, &at) &&
	    xdr_u_int(x, &(u_int){ 0 }) && xdr_u_int(x, &(u_int){ 0 }) &&
	    xdr_bool(x, &eof);
}

/*
 * Answers one LIST call (a: its arguments; page: how many LISTs this
 * connection answered before).  Returns 0, or -1 when the client has gone.
 */
static int
answer_list(int fd, u_int xid, const list_args *a, unsigned long page)
{
	static struct page pg;
	static char names[ENDLESS_PAGE][16];
	static unsigned long endless_next;
	static const char nul_name[] = "vic\0tim";
	u_int claim;
	int trickle = is("trickle") || is("trickle-list");

	memset(&pg, 0, sizeof pg);
	pg.eof = TRUE;
	if (!a->resume)
		add(&pg, "", SYNC_DIR);
	if (is("huge-count") || is("over-max")) {
		claim = is("over-max") ? SYNC_LIST_MAX + 1 : 0xffffffffu;
		return reply(fd, xid, XDRPROC(xdr_claim), &claim, 0);
	}
	if (is("long-path")) {
		claim = 5000;
		return reply(fd, xid, XDRPROC(xdr_long_path), &claim, 0);
	}
	if (is("ok")) {
		add(&pg, "old", SYNC_REG);
	} else if (is("absolute")) {
		add(&pg, "/etc/passwd", SYNC_REG);
	} else if (is("dotdot")) {
		add(&pg, "../victim", SYNC_REG);
	} else if (is("dotdot-inner")) {
		add(&pg, "a", SYNC_DIR);
		add(&pg, "a/../../victim", SYNC_REG);
	} else if (is("empty-component")) {
		add(&pg, "a", SYNC_DIR);
		add(&pg, "a//victim", SYNC_REG);
	} else if (is("nul")) {
		add_n(&pg, nul_name, sizeof nul_name - 1, SYNC_REG, NULL);
	} else if (is("tmpname")) {
		add(&pg, ".syncd-tmp.victim", SYNC_REG);
	} else if (is("duplicate")) {
		add(&pg, "victim", SYNC_REG);
		add(&pg, "victim", SYNC_REG);
	} else if (is("unordered")) {
		add(&pg, "b", SYNC_REG);
		add(&pg, "a", SYNC_REG);
	} else if (is("unordered-pages") || is("second-root") || is("list-fail-mid")) {
		if (page == 0) {
			add(&pg, "b", SYNC_REG);
			pg.eof = FALSE;
		} else if (is("list-fail-mid")) {
			list_res res = { .status = SYNC_ERR_NOENT };

			return reply(fd, xid, XDRPROC(xdr_list_res), &res, 0);
		} else {
			add(&pg, is("second-root") ? "" : "a", SYNC_REG);
		}
	} else if (is("symlink-parent")) {
		add_n(&pg, "l", 1, SYNC_LNK, "/tmp");
		add(&pg, "l/victim", SYNC_REG);
	} else if (is("file-parent")) {
		add(&pg, "f", SYNC_REG);
		add(&pg, "f/victim", SYNC_REG);
	} else if (is("orphan")) {
		add(&pg, "ghost/victim", SYNC_REG);
	} else if (is("no-root")) {
		pg.n = 0;
		add(&pg, "a", SYNC_REG);
		add(&pg, "", SYNC_DIR);
	} else if (is("bad-type")) {
		add(&pg, "victim", 9);
	} else if (is("bad-time")) {
		add(&pg, "victim", SYNC_REG);
		pg.v[pg.n - 1].attr.mtime.nsec = 1000000000u;
	} else if (is("bad-hash")) {
		add(&pg, "victim", SYNC_REG);
		pg.v[pg.n - 1].hash.sync_hash_len = 5;
		pg.v[pg.n - 1].hash.sync_hash_val = "hash!";
	} else if (is("bad-target")) {
		add_n(&pg, "victim", 6, SYNC_LNK, "");
	} else if (is("empty-page")) {
		pg.eof = FALSE;
		if (a->resume)
			pg.n = 0;
	} else if (is("endless")) {
		pg.eof = FALSE;
		for (u_int i = 0; i < ENDLESS_PAGE; i++) {
			snprintf(names[i], sizeof names[i], "e%012lu", endless_next++);
			add(&pg, names[i], SYNC_REG);
		}
	} else if (starts("sig-")) {
		add(&pg, "big", SYNC_REG);
		pg.v[pg.n - 1].attr.size = BIG_SIZE;
	}
	return reply(fd, xid, XDRPROC(xdr_page), &pg, trickle);
}

/* ---- SIGNATURE ----------------------------------------------------------- */

/* Encodes a signature_res (SYNC_OK) claiming *count weak sums and holding none. */
static bool_t
xdr_sig_claim(XDR *x, u_int *count)
{
	sync_status st = SYNC_OK;
	u_int bs = 2048, ss = 8;
	u_quad_t size = BIG_SIZE;

	return xdr_sync_status(x, &st) && xdr_u_int(x, &bs) &&
	    xdr_u_quad_t(x, &size) && xdr_u_int(x, &ss) && xdr_u_int(x, count);
}

/* Answers SIGNATURE with the scenario's spoiled signature of "big". */
static int
answer_signature(int fd, u_int xid)
{
	static u_int weak[SYNC_SIG_MAX];
	static char strong[SYNC_SIG_STRONG_MAX];
	signature_res res;
	signature_ok *ok = &res.signature_res_u.ok;
	u_int blocks = (BIG_SIZE + 2047) / 2048, claim = 0xffffffffu;

	if (is("sig-huge"))
		return reply(fd, xid, XDRPROC(xdr_sig_claim), &claim, 0);
	memset(&res, 0, sizeof res);
	res.status = SYNC_OK;
	ok->block_size = 2048;
	ok->file_size = BIG_SIZE;
	ok->strong_size = 8;
	ok->weak.weak_len = blocks;
	ok->weak.weak_val = weak;
	ok->strong.strong_len = blocks * 8;
	ok->strong.strong_val = strong;
	if (is("sig-short")) {
		ok->strong.strong_len--;
	} else if (is("sig-count")) {
		ok->weak.weak_len++;
		ok->strong.strong_len += 8;
	} else if (is("sig-zero-block")) {
		ok->block_size = 0;
	} else if (is("sig-wide-strong")) {
		ok->strong_size = 17;
		ok->strong.strong_len = blocks * 17;
	}
	return reply(fd, xid, XDRPROC(xdr_signature_res), &res, 0);
}

/* ---- BARRIER ------------------------------------------------------------- */

/* Encodes a barrier_res (SYNC_OK) for *done calls, claiming 2^32-1 failures. */
static bool_t
xdr_barrier_claim(XDR *x, u_int *done)
{
	sync_status st = SYNC_OK;
	u_int failed = 1, count = 0xffffffffu;

	return xdr_sync_status(x, &st) && xdr_u_int(x, done) &&
	    xdr_u_int(x, &failed) && xdr_u_int(x, &count);
}

/* Answers BARRIER after done batched calls, spoiled as the scenario says. */
static int
answer_barrier(int fd, u_int xid, u_int done)
{
	barrier_res res;
	barrier_ok *ok = &res.barrier_res_u.ok;
	sync_failure f = { .index = done + 7, .path = { 6, "victim" },
	    .status = SYNC_ERR_IO };

	if (is("barrier-huge"))
		return reply(fd, xid, XDRPROC(xdr_barrier_claim), &done, 0);
	memset(&res, 0, sizeof res);
	res.status = is("barrier-status") ? SYNC_ERR_SERVERFAULT : SYNC_OK;
	ok->done = done;
	if (is("barrier-index")) {
		ok->failed = 1;
		ok->failures.failures_len = 1;
		ok->failures.failures_val = &f;
	} else if (is("barrier-done")) {
		ok->done = done + 1;
	} else if (is("barrier-failed")) {
		ok->failed = done + 1;
	}
	return reply(fd, xid, XDRPROC(xdr_barrier_res), &res, is("trickle"));
}

/* ---- one connection ------------------------------------------------------ */

/* The arguments of any call we decode. */
union args {
	hello_args     hello;
	list_args      list;
	signature_args sig;
	create_args    create;
	write_args     write;
	commit_args    commit;
	abort_args     abort;
	mkdir_args     mkdir;
	symlink_args   symlink;
	setattr_args   setattr;
	delete_args    del;
	copy_args      copy;
};

/* How to decode and log each procedure: name, decoder, where its path is. */
struct proc {
	const char *name;
	xdrproc_t   decode;     /* NULL: no arguments */
	size_t      path_off;   /* offset of a sync_path in union args, or -1 */
};

#define NOPATH ((size_t)-1)
static const struct proc procs[] = {
	[SYNC_NULL]      = { "NULL", NULL, NOPATH },
	[SYNC_HELLO]     = { "HELLO", XDRPROC(xdr_hello_args), NOPATH },
	[SYNC_LIST]      = { "LIST", XDRPROC(xdr_list_args), offsetof(list_args, path) },
	[SYNC_READ]      = { "READ", NULL, NOPATH },
	[SYNC_BARRIER]   = { "BARRIER", NULL, NOPATH },
	[SYNC_CREATE]    = { "CREATE", XDRPROC(xdr_create_args), offsetof(create_args, path) },
	[SYNC_WRITE]     = { "WRITE", XDRPROC(xdr_write_args), NOPATH },
	[SYNC_COMMIT]    = { "COMMIT", XDRPROC(xdr_commit_args), NOPATH },
	[SYNC_ABORT]     = { "ABORT", XDRPROC(xdr_abort_args), NOPATH },
	[SYNC_MKDIR]     = { "MKDIR", XDRPROC(xdr_mkdir_args), offsetof(mkdir_args, path) },
	[SYNC_SYMLINK]   = { "SYMLINK", XDRPROC(xdr_symlink_args), offsetof(symlink_args, path) },
	[SYNC_SETATTR]   = { "SETATTR", XDRPROC(xdr_setattr_args), offsetof(setattr_args, path) },
	[SYNC_DELETE]    = { "DELETE", XDRPROC(xdr_delete_args), offsetof(delete_args, path) },
	[SYNC_SIGNATURE] = { "SIGNATURE", XDRPROC(xdr_signature_args), offsetof(signature_args, path) },
	[SYNC_COPY]      = { "COPY", XDRPROC(xdr_copy_args), NOPATH },
};

/*
 * Answers one decoded call of procedure proc (args a) on fd; done counts
 * the batched calls since the last BARRIER, lists the LISTs answered.
 * Returns 0, or -1 when the connection should end.
 */
static int
answer(int fd, u_int xid, rpcproc_t proc, union args *a, u_int *done,
    unsigned long *lists)
{
	if (is("silent") || (is("silent-list") && proc != SYNC_HELLO))
		return 0;
	switch (proc) {
	case SYNC_NULL:
		return reply(fd, xid, XDRPROC(xdr_void), NULL, 0);
	case SYNC_HELLO: {
		hello_res res = hello_reply(a->hello.caps);

		return reply(fd, xid, XDRPROC(xdr_hello_res), &res, is("trickle"));
	}
	case SYNC_LIST:
		return answer_list(fd, xid, &a->list, (*lists)++);
	case SYNC_SIGNATURE:
		return answer_signature(fd, xid);
	case SYNC_BARRIER: {
		u_int n = *done;

		*done = 0;
		return answer_barrier(fd, xid, n);
	}
	default:
		(*done)++;     /* batched: never answered */
		return 0;
	}
}

/*
 * Serves the accepted socket fd until the client leaves: each call is
 * received by libtirpc (svc_fd_create, blocking), logged, and answered by
 * hand.  Never returns.
 */
static void
serve(int fd)
{
	SVCXPRT *x = svc_fd_create(fd, 0, 0);
	u_int done = 0;
	unsigned long lists = 0;

	if (x == NULL) {
		fprintf(stderr, "evilsrv: svc_fd_create failed\n");
		_exit(1);
	}
	for (;;) {
		char cred[3 * MAX_AUTH_BYTES];
		struct rpc_msg msg;
		struct svc_req rq;
		union args a;
		const struct proc *p;
		bool_t nodispatch;
		char extra[64] = "";
		const sync_path *path = NULL;

		memset(&msg, 0, sizeof msg);
		memset(&rq, 0, sizeof rq);
		msg.rm_call.cb_cred.oa_base = cred;
		msg.rm_call.cb_verf.oa_base = cred + MAX_AUTH_BYTES;
		rq.rq_clntcred = cred + 2 * MAX_AUTH_BYTES;
		if (!SVC_RECV(x, &msg)) {
			if (SVC_STAT(x) == XPRT_DIED)
				break;
			continue;
		}
		rq.rq_xprt = x;
		rq.rq_prog = msg.rm_call.cb_prog;
		rq.rq_vers = msg.rm_call.cb_vers;
		rq.rq_proc = msg.rm_call.cb_proc;
		rq.rq_cred = msg.rm_call.cb_cred;
		if (_gss_authenticate(&rq, &msg, &nodispatch) != AUTH_OK || nodispatch)
			break;
		if (rq.rq_proc >= sizeof procs / sizeof procs[0] ||
		    procs[rq.rq_proc].name == NULL) {
			svcerr_noproc(x);
			continue;
		}
		p = &procs[rq.rq_proc];
		memset(&a, 0, sizeof a);
		if (p->decode != NULL && !svc_getargs(x, p->decode, (caddr_t)&a)) {
			log_call(p->name, "<undecodable>", 13, NULL);
			svc_freeargs(x, p->decode, (caddr_t)&a);
			break;
		}
		if (p->path_off != NOPATH)
			path = (const sync_path *)((char *)&a + p->path_off);
		if (rq.rq_proc == SYNC_LIST && a.list.resume)
			snprintf(extra, sizeof extra, " after=%.*s",
			    (int)(a.list.after.sync_path_len < 40 ? a.list.after.sync_path_len : 40),
			    a.list.after.sync_path_val);
		if (rq.rq_proc == SYNC_BARRIER)
			snprintf(extra, sizeof extra, " done=%u", done);
		log_call(p->name, path ? path->sync_path_val : NULL,
		    path ? path->sync_path_len : 0, extra);
		if (answer(fd, msg.rm_xid, rq.rq_proc, &a, &done, &lists) < 0)
			break;
		if (p->decode != NULL)
			svc_freeargs(x, p->decode, (caddr_t)&a);
	}
	SVC_DESTROY(x);
	_exit(0);
}

/* Prints the usage and the scenarios to f. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: evilsrv [--log FILE] SCENARIO\nscenarios:\n");
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		fprintf(f, "  %-20s %s\n", scenarios[i].name, scenarios[i].what);
}

/* Listens, prints the port, and forks a child per connection, forever. */
int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	int lfd, one = 1, argi = 1;
	size_t i;

	if (argc == 4 && strcmp(argv[1], "--log") == 0) {
		log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			perror(argv[2]);
			return 2;
		}
		argi = 3;
	}
	if (argc != argi + 1) {
		usage(stderr);
		return 2;
	}
	scen = argv[argi];
	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (is(scenarios[i].name))
			break;
	if (i == sizeof scenarios / sizeof scenarios[0]) {
		fprintf(stderr, "evilsrv: unknown scenario '%s'\n", scen);
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);       /* children are reaped by the kernel */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) < 0) {
		perror("evilsrv: listen");
		return 1;
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pid_t pid;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("evilsrv: accept");
			return 1;
		}
		pid = fork();
		if (pid == 0) {
			close(lfd);
			serve(fd);
		}
		if (pid < 0)
			perror("evilsrv: fork");
		close(fd);
	}
}
