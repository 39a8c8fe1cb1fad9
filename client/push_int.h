/*
 * push_int.h -- the state of one push, shared by the files that carry it out.
 *
 * Why it exists: a push has five roles, one file each -- push.c runs it
 * (sessions, windows handed to the worker streams, retries), plan.c
 * compares the trees and plans each window, send.c sends one regular
 * file, batch.c ends a stream's batches, report.c says how it went --
 * and they work on the same few structs, defined here with the functions
 * they call across those files, each calling only the ones below it
 * (push, send, plan, batch, report).  push.h is the push's face to
 * main.c; only those five include this.
 */
#ifndef RPCSYNC_PUSH_INT_H
#define RPCSYNC_PUSH_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "path.h"
#include "push.h"
#include "remote.h"
#include "streams.h"
#include "sync.h"
#include "walk.h"

/*
 * The size of a window: at most WINDOW_ENTRIES entries and about
 * WINDOW_BYTES of paths and link targets.  Two windows are alive at a
 * time (one being sent, one being planned), ~320 KiB each at these
 * bounds (64-byte entries, two 64 KiB string blocks, the per-entry plan
 * arrays), and a window costs at most one primary BARRIER (~0.1 ms over
 * loopback, only when it made or deleted something) and a handover to
 * the workers: a 100,000-file tree is ~50 windows.  Measured on that
 * tree (2 cores, loopback): 1024 or 8192 entries were no faster.
 */
#define WINDOW_ENTRIES 2048
#define WINDOW_BYTES   (96 * 1024)

/* Returns non-zero if two times are equal to the nanosecond. */
static inline int
same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

struct push;
struct window;

/* Failures that BARRIERs reported, with their paths (moved out of the reports). */
struct failures {
	struct remote_failure *v;
	size_t                 n, cap;
	unsigned long          failed;   /* failed calls, itemised or not */
};

/* One connection and everything that only the thread driving it touches. */
struct stream {
	struct push       *p;            /* shared: only read while streams run */
	struct window     *w;            /* the window whose files it is sending */
	struct remote     *r;            /* NULL: not (or no longer) connected */
	char              *buf;          /* one WRITE chunk */
	size_t             chunk;
	sync_handle        next_handle;
	unsigned long      failures;     /* problems reported on our side */
	unsigned long      trips;        /* round trips of r, kept once r is closed */
	struct push_stats  st;           /* round_trips: see trips */
	struct failures    fails;        /* what its BARRIERs reported */
	char             **checked;      /* local paths of the files whose COMMIT
	                                    carried a hash (deltas, resumed sends)
	                                    since the last resend_refused() (their
	                                    window may be gone by then) */
	size_t             nchecked, checked_cap;
	enum push_result   res;          /* PUSH_OK, or how its connection failed */
	char               dest[PATH_BUF]; /* scratch for destination paths */
};

/*
 * A directory this push creates that a worker makes too, before the files
 * it sends (plan_parents): the first len bytes of the path of the window's
 * local entry i.
 */
struct dir_make {
	size_t   i;
	size_t   len;
	uint16_t mode;
};

/* A regular file for phase 5. */
struct file_job {
	size_t       i;                  /* index in the window */
	unsigned int set;                /* 0: send the contents; else SETATTR these */
};

/*
 * A stretch of the local tree and its plan.  The arrays indexed by local
 * entry hold WINDOW_ENTRIES each, allocated once.
 */
struct window {
	struct entry_list  local;        /* in path_cmp() order */
	size_t             bytes;        /* of paths and targets in local */
	long              *lmatch;       /* local index -> remote namesake, or -1 */
	size_t             rfirst, rend; /* the remote entries this window settles */
	long              *rmatch;       /* remote index - rfirst -> local namesake, or -1 */
	size_t             rmatch_cap;
	signed char       *same;         /* --checksum: local file i has the same
	                                    content (1), not (0), unreadable (-1) */
	size_t            *cand;         /* --checksum: the local files to hash */
	struct file_job   *jobs;         /* phase 5, in path order */
	size_t             njobs;
	struct dir_make   *makes;        /* with workers: the new directories the
	                                    files to send go in, parents first */
	size_t             nmakes, makes_cap;
	struct work_queue  queue;        /* hands out jobs (first: cand) */
};

/* A directory's attributes, kept from its window until phase 6. */
struct dir_attr {
	size_t          path;            /* offset of its path in dir_list.names */
	struct timespec mtime;
	uint16_t        mode;
	unsigned char   settled;         /* the server's copy has this mode and mtime */
	unsigned char   touch;           /* new, or changed inside: needs SETATTR */
	unsigned char   made;            /* new: the server has no directory there */
};

/* Every local directory walked so far (but unexaminable ones), in path order. */
struct dir_list {
	struct dir_attr *v;
	size_t           n, cap;
	char            *names;          /* NUL-terminated paths, back to back */
	size_t           names_len, names_cap;
};

/* Everything one push_run() works with. */
struct push {
	const struct push_opts *o;
	int                rootfd;       /* the local directory */
	struct walk        walk;
	int                walking;      /* walk started (walk_end it) */
	struct walk_stats  ws;
	struct entry_list  remote;
	size_t             rnext;        /* first remote entry no window settled yet */
	int                path_missing; /* the destination does not exist yet */
	const char        *skip;         /* send_deletes: subtree handled (in remote) */
	struct dir_list    dirs;
	struct window      win[2];       /* one being sent while the other is planned */
	unsigned long      windows;      /* planned so far */
	int                unsettled;    /* the primary deleted something since
	                                    its last BARRIER */
	uint64_t           want_files, want_bytes; /* to send, before workers */
	struct relay       relay;        /* hands windows to the workers */
	struct crew        crew;         /* the workers' threads */
	size_t             nworkers;     /* asked for; 0: the primary sends files */
	atomic_int         connected;    /* a worker has said HELLO */
	struct stream     *s;            /* nstreams: s[0] the primary, then workers */
	struct stream     *hs;           /* nmax: for the --checksum hashing threads */
	size_t             nmax;         /* --streams */
	size_t             nstreams;     /* nmax + 1 */
};

/* ---- batch.c: a stream's batch --------------------------------------- */

/*
 * Returns the destination path of rel (PATH/rel, in s->dest), or NULL when
 * it would be too long (reported and counted).
 */
const char *dest_of(struct stream *s, const char *rel);

/*
 * Ends s's batch with a BARRIER if it holds BATCH_CALLS_MAX calls, so that
 * what remote.c remembers about them stays bounded.  Returns a remote_rc.
 */
int settle_if_full(struct stream *s);

/*
 * Ends s's batch with a BARRIER and keeps the failures it reports in
 * s->fails (printed at the end, with every stream's).  Returns a remote_rc.
 */
int barrier(struct stream *s);

/* ---- push.c: the run -------------------------------------------------- */

/* ---- plan.c: the trees compared, each window planned ------------------ */

/*
 * Returns the remote namesake of entry i of window w if it has the same
 * type, else NULL (missing, or to be replaced).
 */
const struct entry *counterpart(const struct push *p, const struct window *w, size_t i);

/*
 * Opens the local file rel for reading through open_beneath(): beneath the
 * root and through no symlink.  Returns the fd, or -1 with errno set.
 */
int open_local(int rootfd, const char *rel);

/* Allocates w's fixed arrays.  Returns 0, or -1 when out of memory (reported). */
int window_init(struct window *w);

/* Empties w for the next stretch of the tree, keeping its memory. */
void window_clear(struct window *w);

/* Frees everything w holds. */
void window_free(struct window *w);

/*
 * Fills the empty window w with the next stretch of the walk.  Returns 1
 * if the walk goes on after it, 0 if it has ended (w may then be empty),
 * or -1 when out of memory (reported).
 */
int fill_window(struct push *p, struct window *w);

/*
 * Phase 6: sets mode and mtime of every directory that is new, differs, or
 * changed inside, deepest first (reverse path_cmp order puts every
 * directory after all of its contents), the root last.  Returns a remote_rc.
 */
int send_dir_attrs(struct stream *s);

/*
 * Sends again the SETATTR (mode and mtime) of the local directory holding
 * rel, after a late rename into it moved its mtime.  Only for the primary
 * once the workers are done (it reads the directory list).  Returns a
 * remote_rc.
 */
int resend_parent_attrs(struct stream *s, const char *rel);

/*
 * Plans window w on the primary stream s (last: the walk has ended) and
 * queues phases 1-4 for it; its file jobs are left in w->jobs.  Returns a
 * remote_rc (REMOTE_NOMEM: out of memory, reported).
 */
int plan_window(struct stream *s, struct window *w, int last);

/*
 * For workers: lists in w->makes every directory this push creates that
 * holds a file of w to send, with its new ancestors, parents first.
 * Returns 0, or -1 when out of memory (reported).
 */
int plan_parents(struct push *p, struct window *w);

/*
 * Phases 1 and 3 again on worker stream s, for the files of window w it
 * sends: queues MKDIR of the missing destination (mkdir -p) and of every
 * directory in w->makes, which the server answers with success where the
 * primary (or another worker) made it first.  Returns a remote_rc.
 */
int send_parents(struct stream *s, struct window *w);

/* ---- send.c: one regular file ----------------------------------------- */

/* Forgets the files note_checked() remembered on s. */
void checked_clear(struct stream *s);

/*
 * Sends the local file rel under destination d on stream s (send_once).  A
 * file that cannot be read is reported (and its temp ABORTed) and the push
 * goes on; one that changes while it is read is sent again, up to
 * SOURCE_TRIES times in all, and then reported and left as the server has
 * it: a file is never published torn.  A file whose COMMIT the server
 * checks against its hash is remembered for resend_refused().  A resend
 * (whole set) is not counted as one more file sent.  Returns a remote_rc.
 */
int send_file(struct stream *s, const char *rel, const char *d, const struct entry *re,
    int whole);

/*
 * rsync's redo: every file that s sent as a delta and whose COMMIT its
 * BARRIERs refused with CHECKSUM (the server's copy changed between
 * SIGNATURE and COPY, or a truncated strong sum matched the wrong block:
 * nothing was published) is sent again whole, and a BARRIER reports how
 * that went; the refusal is dropped from s->fails.  With fix_dirs (the
 * primary, whose directory SETATTRs went out before its last BARRIER) the
 * parent of each resent file gets its SETATTR again, as the rename moved
 * its mtime.  Costs nothing (no round trip) when nothing was refused.
 * Returns a remote_rc.
 */
int resend_refused(struct stream *s, int fix_dirs);

/* ---- report.c: what the user reads ------------------------------------ */

/* Logs "DIR/rel: what" about a local entry and counts the failure in s. */
void local_error(struct stream *s, const char *rel, const char *what);

/* Prints one --verbose line: the quoted path, then suffix. */
void say(const struct push *p, const char *prefix, const char *path, const char *suffix);

/*
 * Moves the failures of rep into f (rep keeps no path; free it as usual).
 * Returns 0, or -1 when out of memory (reported; they stay counted).
 */
int failures_take(struct failures *f, struct remote_report *rep);

/* Frees what failures_take() put in f. */
void failures_free(struct failures *f);

/*
 * Reports the failures and returns how the push went: the first stream
 * whose connection failed decides (its failure was reported when it
 * happened; the others finished the work); else PUSH_FAILED if anything
 * failed on either side; else PUSH_OK.
 */
enum push_result conclude(const struct push *p);

/* Prints the --stats counters on stdout, summed over the streams. */
void print_stats(const struct push *p);

#endif
