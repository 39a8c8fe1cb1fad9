/*
 * remote.h -- syncctl's side of one connection to syncd.
 *
 * Wraps the CLIENT handle and hides the two ways of calling: synchronous
 * calls (HELLO, LIST, SIGNATURE, BARRIER), each one round trip and counted,
 * and batched calls (CREATE .. DELETE, COPY) that are only queued in the send buffer
 * and reported on by the next BARRIER.  Since the server reports a batched
 * failure by its index in the batch, this module remembers which path each
 * batched call was about, so every failure can be named -- even for WRITE
 * and COMMIT, whose wire arguments carry no path.
 */
#ifndef RPCSYNC_REMOTE_H
#define RPCSYNC_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "delta.h"
#include "sync.h"
#include "walk.h"

struct remote;

/*
 * Bounds on what a server may send (a hostile one must not make us hang or
 * grow without limit; see listing.c and dial.c):
 *   REMOTE_LIST_MAX_DEFAULT  entries in a whole listing, unless
 *                            remote_set_list_max() says otherwise: 2^23,
 *                            at most 512 MiB of 64-byte entries;
 *   REMOTE_LIST_BYTES_MAX    bytes of paths and link targets in a listing;
 *   REMOTE_CHUNK_MIN         the smallest chunk_max a HELLO may announce
 *                            (the largest is SYNC_CHUNK_MAX): below it, a
 *                            file would go out in absurdly many WRITEs.
 * Every call (synchronous, or the sending of a batched one) must complete
 * within the connection's timeout as a whole, however slowly the server
 * trickles.
 */
#define REMOTE_LIST_MAX_DEFAULT ((size_t)1 << 23)
#define REMOTE_LIST_BYTES_MAX   ((size_t)1 << 30)
#define REMOTE_CHUNK_MIN        4096

/* How a remote_* call went; anything but REMOTE_OK has been logged. */
enum remote_rc {
	REMOTE_OK    = 0,
	REMOTE_DOWN  = -1,   /* no connection, or it broke or timed out */
	REMOTE_PROTO = -2,   /* the server broke the protocol */
	REMOTE_NOMEM = -3,   /* out of memory on our side */
	REMOTE_AUTH  = -4,   /* authentication needed, refused, or not proved */
	REMOTE_UNREACHABLE = -5, /* no connection, and trying again will not make one:
	                            the host name does not resolve, the server has
	                            not our version, local setup failed */
};

/* What HELLO told us about the export. */
struct remote_hello {
	sync_status  status;     /* SYNC_OK, or why the export was refused */
	unsigned int flags;      /* SYNC_EXPORT_* */
	unsigned int chunk_max;  /* largest WRITE the server takes
	                            (REMOTE_CHUNK_MIN..SYNC_CHUNK_MAX) */
	unsigned int caps;       /* SYNC_CAP_* granted (only ones we asked for) */
};

/* One failed batched call, as the BARRIER reported it. */
struct remote_failure {
	char       *path;        /* the path the call was about (ours, not the wire's) */
	sync_status status;
};

/* What a BARRIER reported; free with remote_report_free(). */
struct remote_report {
	unsigned int           done;     /* batched calls the server processed */
	unsigned int           failed;   /* how many failed (may exceed n) */
	size_t                 n;
	struct remote_failure *v;        /* the itemised failures, in batch order */
};

/*
 * Connects to syncd on host: through host's rpcbind when port is NULL, or
 * straight to host:port.  Every wait (connect, send, receive) is bounded by
 * timeout seconds.  Returns the connection, or NULL with a one-line message
 * logged and *err set to REMOTE_DOWN (worth another try later: refused,
 * timed out, syncd not registered, rpcbind unreachable), REMOTE_UNREACHABLE
 * or REMOTE_NOMEM.
 */
struct remote *remote_open(const char *host, const char *port,
    unsigned int timeout, int *err);

/*
 * Opens another connection to the very server like is connected to (its
 * peer address: no rpcbind query, no second name lookup that could pick
 * another machine), with like's timeout; HELLO is the caller's.  Reads only
 * what remote_open() fixed, so it may run while another thread uses like.
 * Returns the connection, or NULL with a message logged and *err set.
 */
struct remote *remote_open_same(const struct remote *like, int *err);

/* Closes the connection and frees r (NULL is allowed). */
void remote_close(struct remote *r);

/* Returns the number of synchronous calls (round trips) made so far. */
unsigned long remote_round_trips(const struct remote *r);

/* Returns the number of batched calls queued since the last BARRIER. */
size_t remote_pending(const struct remote *r);

/*
 * Asks for compression at r's next HELLO: level > 0 asks for SYNC_CAP_ZSTD
 * and, once granted, every WRITE's data goes out as a zstd frame at that
 * level when that saves at least 1/32 of it (raw otherwise); 0 asks for
 * nothing.  Call before remote_hello().
 */
void remote_set_compress(struct remote *r, int level);

/*
 * Gives r the credentials its next HELLO uses: user and the secret's len
 * bytes (both kept by reference: the caller keeps them alive and wipes
 * them); user NULL: none.  With insist set, an export that does not ask for
 * authentication is refused.  See remote_hello().
 */
void remote_set_auth(struct remote *r, const char *user, const unsigned char *secret,
    size_t len, int insist);

/*
 * Sets the most entries remote_list() accepts in one listing (default
 * REMOTE_LIST_MAX_DEFAULT); a listing beyond it is a protocol error.
 * Connections opened by remote_open_same(r) inherit it.
 */
void remote_set_list_max(struct remote *r, size_t max);

/* Returns 1 if r's server is reached over loopback (127/8, ::1), else 0. */
int remote_peer_loopback(const struct remote *r);

/* Returns the WRITE data bytes put on the wire so far (after compression). */
unsigned long long remote_wire_data(const struct remote *r);

/* Returns the bytes of block sums that SIGNATURE replies brought so far. */
unsigned long long remote_sig_data(const struct remote *r);

/*
 * HELLO: checks the protocol version, selects export and asks for the
 * capabilities remote_set_compress() chose, then authenticates: when the
 * export requires it (SYNC_EXPORT_AUTH), with the credentials of
 * remote_set_auth() (AUTH, and the server's proof checked).  With insist,
 * an export that does not ask for authentication is refused as well: such a
 * server cannot prove it holds the secret.  Returns REMOTE_OK with the
 * server's answer in *h (h->status may still refuse the export),
 * REMOTE_AUTH (logged) when authentication is missing, fails or is not
 * proved, or another error (REMOTE_PROTO also for a grant of something not
 * asked for, and for a chunk_max out of bounds).
 */
int remote_hello(struct remote *r, const char *export, struct remote_hello *h);

/*
 * LIST of path, page after page until the server says eof; with want_hash
 * the server adds the content hash of regular files (entry.has_hash).  On
 * SYNC_OK the entries go to out (which must be empty), sorted in path_cmp()
 * order, root (path "") first; every entry has been validated: path_check()ed
 * paths, known types, sent in strictly increasing path_cmp() order (so no
 * duplicates), a directory above every entry, non-empty NUL-free link
 * targets, hashes of SYNC_HASH_LEN bytes on regular files only, at most the
 * remote_set_list_max() entries and REMOTE_LIST_BYTES_MAX bytes of names.
 * Returns REMOTE_OK with the server's status in *st (out is left empty unless
 * it is SYNC_OK), or an error (out empty).
 */
int remote_list(struct remote *r, const char *path, int want_hash,
    struct entry_list *out, sync_status *st);

/*
 * SIGNATURE of the regular file path (one round trip).  On SYNC_OK, sig
 * describes the server's copy and has passed delta_sig_valid(), with
 * exactly n * strong_size bytes of strong sums; its sums are ours to free
 * with remote_sig_free().  Returns REMOTE_OK with the server's status in
 * *st (sig empty unless SYNC_OK), REMOTE_PROTO for an inconsistent
 * signature (logged), or another error.
 */
int remote_signature(struct remote *r, const char *path, struct delta_sig *sig,
    sync_status *st);

/*
 * PARTIAL: what the server keeps of an interrupted transfer of path under
 * key (one round trip).  Returns REMOTE_OK with the server's status in *st
 * and, on SYNC_OK, the partial's length in *len and hash in hash;
 * REMOTE_PROTO for a malformed reply (logged), or another error.
 */
int remote_partial(struct remote *r, const char *path, const unsigned char key[SYNC_HASH_LEN],
    uint64_t *len, unsigned char hash[SYNC_HASH_LEN], sync_status *st);

/* Frees the sums remote_signature() put in sig and empties it. */
void remote_sig_free(struct delta_sig *sig);

/*
 * Batched calls.  Each one is queued (no reply, no wait unless the send
 * buffer is full) and remembered under path for the next BARRIER's report.
 * WRITE's data (len at most SYNC_CHUNK_MAX) is compressed when HELLO
 * granted SYNC_CAP_ZSTD (remote_set_compress).
 * CREATE with basis also opens the server's current file as the source of
 * COPY; COMMIT's hash (SYNC_HASH_LEN bytes, or NULL for none) is checked by
 * the server against the finished file.
 * Return REMOTE_OK, REMOTE_DOWN if the connection failed, or REMOTE_NOMEM.
 */
int remote_batch_create(struct remote *r, sync_handle h, const char *path, int basis);
int remote_batch_resume(struct remote *r, sync_handle h, const char *path,
    const unsigned char key[SYNC_HASH_LEN], uint64_t offset);
int remote_batch_write(struct remote *r, sync_handle h, uint64_t offset,
    const void *data, size_t len, const char *path);
int remote_batch_copy(struct remote *r, sync_handle h, uint64_t basis_offset,
    uint64_t len, uint64_t offset, const char *path);
int remote_batch_commit(struct remote *r, sync_handle h, uint64_t size,
    unsigned int mode, struct timespec mtime, const unsigned char *hash,
    const char *path);
int remote_batch_abort(struct remote *r, sync_handle h, const char *path);
int remote_batch_mkdir(struct remote *r, const char *path, unsigned int mode);
int remote_batch_symlink(struct remote *r, const char *path, const char *target,
    struct timespec mtime);
int remote_batch_setattr(struct remote *r, const char *path, unsigned int set,
    unsigned int mode, struct timespec mtime);
int remote_batch_delete(struct remote *r, const char *path);

/*
 * BARRIER: sends everything queued, waits until the server has done it, and
 * fills rep with the outcome, each failure named by the path its call was
 * queued under.  A reply that does not match what was sent (wrong count,
 * unknown index) is a protocol error.  Returns REMOTE_OK or an error.
 */
int remote_barrier(struct remote *r, struct remote_report *rep);

/* Frees what remote_barrier() put in rep. */
void remote_report_free(struct remote_report *rep);

/* Conversions between the local and the wire form of a time. */
sync_time time_to_wire(struct timespec ts);
struct timespec time_from_wire(sync_time t);

#endif
