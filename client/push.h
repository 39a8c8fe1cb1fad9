/*
 * push.h -- make a directory on the server a copy of a local one.
 *
 * main.c gathers the options; push_run() does the rest (connect, HELLO,
 * LIST, walk and plan window by window, batch, BARRIER, report) and says how it went as a value
 * that main() turns into an exit status.
 */
#ifndef RPCSYNC_PUSH_H
#define RPCSYNC_PUSH_H

#include <stddef.h>

/* When WRITE data is compressed (zstd, if the server grants it). */
enum push_compress {
	PUSH_COMPRESS_AUTO = 0, /* unless the server is reached over loopback */
	PUSH_COMPRESS_ON,       /* -z, --compress */
	PUSH_COMPRESS_OFF,      /* --no-compress */
};

struct push_opts {
	const char  *host;
	const char  *port;      /* NULL: ask the host's rpcbind */
	const char  *export;
	const char  *path;      /* destination below the export, "" = its root */
	const char  *dir;       /* local directory to copy */
	unsigned int timeout;   /* seconds for any wait on the server */
	unsigned int streams;   /* connections sharing the file phase, 1..STREAMS_MAX
	                           (--streams; main() defaults it to the cores);
	                           above 1 they are workers beside the primary */
	int          delete;    /* delete remote entries absent locally */
	int          stats;     /* print the counters at the end */
	int          verbose;   /* one line per entry sent or deleted */
	int          whole_file; /* never send a delta (--whole-file) */
	int          checksum;  /* compare content hashes, not size+mtime (--checksum) */
	enum push_compress compress; /* -z / --no-compress; AUTO by default */
	int          compress_level; /* --compress-level; 0: ZSTDIO_LEVEL_DEFAULT */
	const char  *user;      /* NULL: no credentials (main.c: --user or $USER) */
	const unsigned char *secret; /* of --secret-file or $SYNC_SECRET_FILE ... */
	size_t       secret_len;     /* ... and its length */
	int          auth_insist; /* --user given: refuse an export that does not ask */
	size_t       max_entries; /* --max-entries: most remote entries accepted;
	                             0: REMOTE_LIST_MAX_DEFAULT */
	unsigned int retries;   /* --retries: attempts after the first when one
	                           fails transiently (PUSH_UNAVAILABLE, PUSH_BUSY) */
};

/* How a push ended; main() maps each to its exit status. */
enum push_result {
	PUSH_OK,                /* everything done */
	PUSH_FAILED,            /* some entries failed, each reported */
	PUSH_UNAVAILABLE,       /* no syncd reachable, or the connection broke or
	                           timed out: worth another try */
	PUSH_UNREACHABLE,       /* no syncd reachable, and another try will not
	                           help (unknown host, no such protocol version) */
	PUSH_BUSY,              /* HELLO refused: too many sessions on the export */
	PUSH_LOCAL_IO,          /* DIR missing or unreadable */
	PUSH_PROTOCOL,          /* the server refused the session or broke the protocol */
	PUSH_READONLY,          /* the export is read-only */
	PUSH_DENIED,            /* authentication or the export's host lists refused us */
};

/*
 * The counters --stats prints, one "name: N" line each:
 *   files scanned   local entries examined (files, directories, links; not the root)
 *   files sent      regular files whose contents were sent
 *   entries deleted DELETE calls sent (a directory tree counts once)
 *   bytes sent      file data bytes sent (WRITE data; for a delta, its literals)
 *   bytes on wire (data)  the same data as it went out in WRITE calls, after
 *                   compression (equal to bytes sent when nothing compressed)
 *   bytes matched   file bytes the server copied from its old version (COPY)
 *   round trips     synchronous calls (HELLO, LIST pages, SIGNATURE, BARRIER),
 *                   over all connections
 */
struct push_stats {
	unsigned long long scanned, sent, deleted, bytes, matched, round_trips;
	unsigned long long wire;    /* bytes on wire (data) */
	unsigned long long sig;     /* signature bytes (received) */
	unsigned long long resumed; /* bytes the server kept from an interrupted send */
};

/*
 * The pause before retry number n (1, 2, ...): 1 s, doubling each time, at
 * most PUSH_BACKOFF_MAX seconds.
 */
#define PUSH_BACKOFF_MAX 10

/*
 * Pushes o->dir to o->path in o->export on o->host, in the order DESIGN.md
 * describes (mkdir -p of PATH, deletions, directories, symlinks, files,
 * directory attributes deepest first, a BARRIER), taking the local tree a
 * window at a time so that memory does not grow with it; with several
 * streams the files go over up to o->streams worker connections (see
 * push.c).  Every problem is reported on stderr as one line; verbose and
 * --stats output go to stdout.  An attempt that fails transiently (the
 * connection could not be made, broke or timed out; the export was busy) is
 * followed by up to o->retries more, each after a backoff and one line on
 * stderr, and each from scratch: new connections, a new listing and plan, so
 * what an earlier attempt finished is found done and not sent again.
 */
enum push_result push_run(const struct push_opts *o);

#endif
