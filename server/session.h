/*
 * session.h -- what syncd knows about one connection.
 *
 * A session lives exactly as long as its TCP connection and is touched only
 * by that connection's thread, so it needs no locking (the flusher threads
 * of staging.c read only `peer`, which never changes after session_init).
 * HELLO selects the export; batched calls are counted so that BARRIER can
 * report how many ran and which failed, by their index in the batch.
 */
#ifndef RPCSYNC_SESSION_H
#define RPCSYNC_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "hostacl.h"
#include "secrets.h"
#include "sync.h"

struct config;

/* One configured export.  Immutable once the daemon serves requests. */
struct export {
	const struct config *config;    /* the configuration it is part of */
	char *name;             /* as HELLO names it */
	char *path;             /* absolute directory, for logs only */
	int   root_fd;          /* O_PATH|O_DIRECTORY fd; every access starts here */
	int   read_only;        /* refuse every mutating procedure */
	char *secrets_file;     /* NULL: no authentication; else AUTH first */
	struct secrets secrets; /* loaded from secrets_file before serving */
	struct host_list hosts_allow, hosts_deny;   /* empty: no restriction */
	unsigned int max_sessions;  /* "max connections" of the export; 0: none */
	char *uid_name, *gid_name;  /* "uid" / "gid" as written; NULL: not set */
	long  uid, gid;             /* resolved at startup; -1: the daemon's own */
};

struct staging;             /* open writes and pending commits: staging.c */
struct zstdio_dec;          /* decoder of compressed WRITE data: common/zstdio.h */

struct session {
	const struct export *export;    /* selected by HELLO; NULL before */
	struct staging *staging;        /* NULL until the first CREATE */
	unsigned int caps;              /* SYNC_CAP_* granted by the last HELLO */
	struct zstdio_dec *zdec;        /* NULL until the first compressed WRITE */
	char peer[64];                  /* "addr:port", for logs */
	struct sockaddr_storage addr;   /* the peer, for hosts allow/deny and throttling */

	/* Authentication (only for an export with a secrets file). */
	unsigned char nonce[SYNC_NONCE_LEN]; /* the last HELLO's challenge */
	int nonce_live;                 /* set by HELLO, spent by the next AUTH */
	int authed;                     /* AUTH succeeded since the last HELLO */

	/*
	 * Batch accounting since the last BARRIER.  batch_index is the index
	 * of the batched call being executed; the dispatcher increments it
	 * after each batched call returns.
	 */
	unsigned int batch_index;
	unsigned int batch_failed;
	unsigned int nfailures;         /* entries used in failures[] */
	sync_failure failures[SYNC_FAIL_MAX];
};

/*
 * Prepares s for a new connection from peer ("addr:port", for logs) whose
 * address is addr (addrlen bytes; copied).
 */
void session_init(struct session *s, const char *peer, const struct sockaddr *addr,
    socklen_t addrlen);

/*
 * Records that batched call number index, which named path (pathlen bytes,
 * not necessarily valid or NUL-terminated), failed with st.  Counts every
 * failure; itemises the first SYNC_FAIL_MAX.  Logs it at debug level, or
 * as a warning when st is about the storage (status_is_storage, but not a
 * read-only export's refusal) and path is given.
 */
void session_fail(struct session *s, unsigned int index, const char *path,
    size_t pathlen, sync_status st);

/*
 * Fills r from the batch accounting and resets it for the next batch.  The
 * caller has already flushed pending commits (staging_flush).  Ownership of
 * the failure paths moves into r (freed by xdr_free of barrier_res).
 */
void session_take_barrier(struct session *s, barrier_ok *r);

/*
 * Counts one more session using the export named as e is, unless it
 * already has e's max_sessions of them (sessions on an export of the same
 * name in an older configuration count too).  Thread-safe.  Returns 0, or
 * -1 when it is full (nothing counted).
 */
int export_reserve(const struct export *e);

/* Counts one session fewer using the export named as e is. */
void export_release(const struct export *e);

/*
 * Makes the calling thread (and the threads it starts later) touch files as
 * e's uid and gid -- filesystem ids and supplementary groups of this thread
 * only -- or as the daemon itself when e sets neither.  Returns 0, or -1
 * with errno if the kernel refused.
 */
int export_become(const struct export *e);

/*
 * Ends the session: completes pending commits, drops open temps, leaves the
 * export, frees all (the decompressor too).
 */
void session_end(struct session *s);

#endif
