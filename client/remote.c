/*
 * remote.c -- the calls on one connection to syncd: HELLO and AUTH,
 * SIGNATURE, PARTIAL, the batched calls and the BARRIER that reports on
 * them.
 *
 * Why it is built this way:
 *   - clnt_vc batches a call only when it has no result decoder (NULL, not
 *     xdr_void) and a {0,0} timeout; it then just appends the record to its
 *     send buffer.  That is what lets a push of a million entries cost three
 *     round trips.  The price is that the server's report on those calls
 *     comes later, by index, so we log the path of every batched call.
 *   - Compression is a property of the connection, not of the caller: once
 *     HELLO granted SYNC_CAP_ZSTD, remote_batch_write() compresses each
 *     chunk (common/zstdio.h), so whole files and delta literals alike are
 *     compressed without send.c knowing.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rpc/rpc.h>

#include "auth.h"
#include "log.h"
#include "remote_int.h"
#include "status.h"
#include "zstdio.h"

static const struct timeval no_wait = { 0, 0 };

/* BARRIER has no arguments; xdr_void's (void) prototype does not fit xdrproc_t. */
static bool_t
xdr_no_args(XDR *xdrs, void *unused)
{
	(void)xdrs;
	(void)unused;
	return TRUE;
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
