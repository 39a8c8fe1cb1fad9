/*
 * push.c -- compare the local and the remote tree, send the difference.
 *
 * This file runs a push: it connects (the primary stream), lists the
 * destination and starts the walk, then takes the local tree a window at
 * a time -- each planned by plan.c, which says why the batch is in the
 * order it is, its files sent by send.c on the primary or on worker
 * streams -- and leaves it to report.c to say how it went.  An attempt
 * that fails transiently is made again from scratch (push_run).
 *
 * A changed file of at least DELTA_MIN bytes whose old version the server
 * has goes out as a delta (common/delta.h): one synchronous SIGNATURE, then
 * CREATE with the old file as basis, the matcher's ops as batched COPY and
 * WRITE calls as they are found, and a COMMIT carrying the hash of the new
 * content, so the server refuses a result that differs from our file.  A
 * SIGNATURE that fails (the file vanished, say) just means a whole-file send.
 * A delta the server refused with CHECKSUM (its copy changed after the
 * SIGNATURE, or truncated strong sums matched a wrong block) is sent again
 * whole after the stream's BARRIER, like rsync's redo phase (resend_refused).
 *
 * Parallel streams (--streams N).  Phase 5 is nearly all the work (reading,
 * hashing, matching, sending; the server's writes), so once the files to
 * send pay for it (want_workers()) it goes to N worker connections, each
 * driven by a thread of its own, while the primary connection keeps
 * walking and planning.  The windows travel through a relay (streams.h):
 * the primary plans window k+1 (its deletions, directories and symlinks
 * on the primary connection) while the workers send window k's files,
 * taking them from the window's queue, biggest first.  Calls on different
 * connections are not ordered with one another, so before a window is
 * handed out the primary ends its batch with a BARRIER when it deleted or
 * made anything since its last one: every name is then free and every
 * directory exists before a worker creates a file in it.  When the last
 * window is done, each worker ends with its own BARRIER (its renames are
 * then done), and the primary sends phase 6 and the last BARRIER.  Until
 * the files pay for workers, the primary sends them itself, in path
 * order: one stream is exactly the single batch plan.c describes.  A worker writes
 * only its own struct stream (connection, buffer, counters, failures);
 * the remote list and a published window are only read while it runs.
 * With --checksum the local hashing of a window's candidates is spread
 * over up to N threads of its own first (no connection needed).
 *
 * Every connection's batch is also ended by a BARRIER once it holds
 * BATCH_CALLS_MAX calls: remote.c remembers the path of each call until
 * the next BARRIER (to name failures), and that memory must stay bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beneath.h"
#include "delta.h"
#include "log.h"
#include "path.h"
#include "push.h"
#include "push_int.h"
#include "quote.h"
#include "remote.h"
#include "status.h"
#include "streams.h"
#include "walk.h"
#include "zstdio.h"

#define PUSH_CHUNK (1024 * 1024)    /* bytes per WRITE */
#define DELTA_MIN  (64 * 1024)      /* smallest file (old and new) sent as a delta */
#define SOURCE_TRIES 3              /* sends of a file that keeps changing as it is read */

/*
 * Files from RESUME_MIN bytes on are sent resumably (sync.x PARTIAL and
 * RESUME): when a push is cut short, the server keeps what it received,
 * and the next push sends only the rest.  It costs a round trip per such
 * file (PARTIAL), under 1% of sending 64 MiB over a 1 Gbit/s link with
 * 5 ms round trips, and the server renames the temp once more at COMMIT.
 */
#define RESUME_MIN (64ULL << 20)

/*
 * Most batched calls a connection queues before it ends the batch with a
 * BARRIER: remote.c keeps 4 bytes per call and each distinct path until
 * then (~100 KiB here for small files, 3 calls each), and a BARRIER costs
 * a round trip on that stream's critical path and, on the server, the
 * publication of the files staged so far (a group commit; groups are 1024
 * files anyway).  Measured on fresh pushes: of 100,000 small files over
 * loopback, 4096 and 32768 calls were no faster; of 10,000 through a
 * 25 ms relay, 16384 (no such BARRIER at all) was no faster either, and
 * it costs ~0.4 MiB more at the peak.
 */
#define BATCH_CALLS_MAX 8192

/*
 * When extra connections pay.  Each costs a thread, a TCP connect, a HELLO
 * and a BARRIER, a thread and a syncfs pair on the server, and adds about
 * two round trips to the critical path (the primary's first BARRIER, and
 * the slowest worker's BARRIER before the last one): ~1-2 ms in all over
 * loopback (measured), ~1 ms plus two RTTs on a network.  It earns by doing
 * part of phase 5 at the same time.  One file is one stream's job, hence
 * STREAMS_MIN_FILES.  A MiB of file data costs ~1.3 ms to read, send and
 * store (measured over loopback: 256 MiB in 0.34 s), so from
 * STREAMS_MIN_BYTES on, the work to share is as large as the cost; a small
 * file costs ~40 us (2000 in 75 ms), so STREAMS_MANY_FILES of them are
 * ~2.5 ms, at any size.  Below both, a push stays on one connection: the
 * common "a few small files changed" case keeps its minimal round trips,
 * and above them the loss, if any, is bounded by those ~2 ms (measured:
 * 64 small files 6 -> 8 ms on 2 shared cores), while 4 x 64 MiB takes
 * 36% less time (tmpfs; 49% for deltas).  The files are counted over the
 * windows planned so far, so workers start with the first window that
 * brings the count over (the files before it went on the primary).
 */
#define STREAMS_MIN_FILES  2
#define STREAMS_MIN_BYTES  (1024 * 1024)
#define STREAMS_MANY_FILES 64

/* ---- helpers ---------------------------------------------------------- */

/* Maps a remote_rc to the result push_run() returns. */
static enum push_result
from_remote(int rc)
{
	switch (rc) {
	case REMOTE_OK:
		return PUSH_OK;
	case REMOTE_DOWN:
		return PUSH_UNAVAILABLE;
	case REMOTE_PROTO:
		return PUSH_PROTOCOL;
	case REMOTE_AUTH:
		return PUSH_DENIED;
	case REMOTE_UNREACHABLE:
		return PUSH_UNREACHABLE;
	default:
		return PUSH_FAILED;
	}
}

const char *
dest_of(struct stream *s, const char *rel)
{
	if (path_join(s->dest, sizeof s->dest, s->p->o->path, rel) < 0) {
		local_error(s, rel, "destination path too long");
		return NULL;
	}
	return s->dest;
}

int
open_local(int rootfd, const char *rel)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
	int fd = open_beneath(rootfd, rel, flags, 0);

	if (fd < 0 && errno == ENOSYS)     /* kernel older than 5.6 */
		fd = openat(rootfd, rel, flags | O_CLOEXEC);
	return fd;
}

/* ---- the session ------------------------------------------------------ */

/*
 * Returns the zstd level stream r should ask the server for, 0 for none:
 * -z forces compression on and --no-compress off; by default it is on
 * unless the server is reached over loopback, where it would only cost CPU.
 */
static int
compress_level(const struct push_opts *o, const struct remote *r)
{
	if (o->compress == PUSH_COMPRESS_OFF ||
	    (o->compress == PUSH_COMPRESS_AUTO && remote_peer_loopback(r)))
		return 0;
	return o->compress_level > 0 ? o->compress_level : ZSTDIO_LEVEL_DEFAULT;
}

/*
 * Connects stream s -- afresh to o->host when like is NULL, else to the
 * very server that like is connected to -- says HELLO and allocates its
 * buffer.  Returns PUSH_OK or why not (reported).
 */
static enum push_result
start_session(struct stream *s, const struct remote *like)
{
	const struct push_opts *o = s->p->o;
	const char *lb = strchr(o->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	struct remote_hello h = { 0 };
	int rc;

	s->r = like != NULL ? remote_open_same(like, &rc) :
	    remote_open(o->host, o->port, o->timeout, &rc);
	if (s->r == NULL)
		return from_remote(rc);
	remote_set_compress(s->r, compress_level(o, s->r));
	remote_set_auth(s->r, o->user, o->secret, o->secret_len, o->auth_insist);
	if (o->max_entries != 0)
		remote_set_list_max(s->r, o->max_entries);
	rc = remote_hello(s->r, o->export, &h);
	if (rc != REMOTE_OK)
		return from_remote(rc);
	if (h.status != SYNC_OK) {
		log_err("%s%s%s:%s: %s", lb, o->host, rb, o->export, status_str(h.status));
		return h.status == SYNC_ERR_ACCES ? PUSH_DENIED :
		    h.status == SYNC_ERR_TOOMANY ? PUSH_BUSY : PUSH_PROTOCOL;
	}
	if (h.flags & SYNC_EXPORT_READONLY) {
		log_err("%s%s%s:%s: export is read-only", lb, o->host, rb, o->export);
		return PUSH_READONLY;
	}
	s->chunk = PUSH_CHUNK;
	if (h.chunk_max != 0 && h.chunk_max < s->chunk)
		s->chunk = h.chunk_max;
	if ((s->buf = malloc(s->chunk)) == NULL) {
		log_err("out of memory");
		return PUSH_FAILED;
	}
	return PUSH_OK;
}

/* Closes s's connection (keeping its round-trip and wire counts), frees its buffer. */
static void
end_stream(struct stream *s)
{
	if (s->r != NULL) {
		s->trips = remote_round_trips(s->r);
		s->st.wire = remote_wire_data(s->r);
		s->st.sig = remote_sig_data(s->r);
	}
	remote_close(s->r);
	s->r = NULL;
	free(s->buf);
	s->buf = NULL;
}

/*
 * Opens the local directory and starts the walk.  Returns PUSH_OK or
 * PUSH_LOCAL_IO (reported).
 */
static enum push_result
scan_local(struct push *p)
{
	p->rootfd = walk_open_root(p->o->dir);
	if (p->rootfd < 0 || walk_start(&p->walk, p->rootfd, p->o->dir, &p->ws) < 0)
		return PUSH_LOCAL_IO;
	p->walking = 1;
	return PUSH_OK;
}

/*
 * Lists the destination.  A missing one is fine (it will be created); one
 * that is not a directory is a failure.  Returns PUSH_OK or why not.
 */
static enum push_result
scan_remote(struct push *p)
{
	const char *path = p->o->path;
	char q[QUOTE_BUF];
	sync_status st;
	int rc = remote_list(p->s[0].r, path, p->o->checksum, &p->remote, &st);

	quote_str(*path ? path : ".", q);
	if (rc != REMOTE_OK)
		return from_remote(rc);
	if (st == SYNC_ERR_NOENT && *path != '\0') {
		p->path_missing = 1;
		return PUSH_OK;
	}
	if (st != SYNC_OK) {
		log_err("%s: %s", q, status_str(st));
		return PUSH_FAILED;
	}
	if (p->remote.v[0].type != SYNC_DIR) {
		log_err("%s: exists and is not a directory", q);
		return PUSH_FAILED;
	}
	return PUSH_OK;
}

/* ---- batches and streams ---------------------------------------------- */

int
settle_if_full(struct stream *s)
{
	if (remote_pending(s->r) < BATCH_CALLS_MAX)
		return REMOTE_OK;
	return barrier(s);
}

/* How the sending of one file ended. */
enum file_outcome {
	FILE_SENT,              /* COMMIT queued */
	FILE_CHECKED,           /* COMMIT queued with the hash the server checks */
	FILE_FAILED,            /* a local problem, reported; the temp ABORTed */
	FILE_FALLBACK,          /* no delta possible: send the whole file instead */
	FILE_CHANGED,           /* it changed while being read; the temp ABORTed */
};

/*
 * Returns 1 if the open file fd no longer has the size, mtime or ctime of
 * sb, the attributes it had before it was read: someone wrote to it while
 * it was being sent, and what was read may mix two versions.  The ctime
 * catches a writer that put the mtime back.
 */
static int
source_changed(int fd, const struct stat *sb)
{
	struct stat now;

	if (fstat(fd, &now) != 0)
		return 1;
	return now.st_size != sb->st_size || !same_time(now.st_mtim, sb->st_mtim) ||
	    !same_time(now.st_ctim, sb->st_ctim);
}

/*
 * The key of a resumable send (sync.x RESUME): a hash of the destination
 * and of the source file's identity (device, inode, size, mtime), so a
 * partial is only ever resumed by the same version of the same file.
 */
static void
resume_key(const char *d, const struct stat *sb, unsigned char key[DELTA_HASH_LEN])
{
	uint64_t id[5] = { (uint64_t)sb->st_dev, (uint64_t)sb->st_ino, (uint64_t)sb->st_size,
	    (uint64_t)sb->st_mtim.tv_sec, (uint64_t)sb->st_mtim.tv_nsec };
	char buf[sizeof id + PATH_BUF];
	size_t len = strlen(d);

	memcpy(buf, id, sizeof id);
	memcpy(buf + sizeof id, d, len);
	delta_strong(buf, sizeof id + len, key);
}

/*
 * Where the resumable send of fd (attributes sb) to d under key starts:
 * asks the server what it keeps (PARTIAL) and, if that is the start of our
 * file (no longer than it, same hash), sets *from to its length, with h
 * holding the hash of those bytes; else *from is 0 (h then holds anything).
 * Returns a remote_rc.
 */
static int
resume_point(struct stream *s, const char *d, int fd, const struct stat *sb,
    const unsigned char key[DELTA_HASH_LEN], struct delta_hash *h, uint64_t *from)
{
	unsigned char theirs[DELTA_HASH_LEN], ours[DELTA_HASH_LEN];
	char q[QUOTE_BUF];
	uint64_t len = 0;
	sync_status st;
	int rc;

	*from = 0;
	rc = remote_partial(s->r, d, key, &len, theirs, &st);
	if (rc != REMOTE_OK || st != SYNC_OK || len == 0 || len > (uint64_t)sb->st_size)
		return rc;
	if (delta_hash_add_fd(h, fd, len) != 0) {
		log_info("%s: cannot read what to resume: %s; sending it all", quote_str(d, q),
		    strerror(errno));
		return REMOTE_OK;
	}
	delta_hash_digest(h, ours);
	if (memcmp(ours, theirs, DELTA_HASH_LEN) != 0) {
		log_info("%s: the server's partial copy differs; sending it all",
		    quote_str(d, q));
		return REMOTE_OK;
	}
	*from = len;
	return REMOTE_OK;
}

/*
 * Sends the size bytes of fd (the local file rel) as CREATE, WRITE chunks
 * and COMMIT under destination d on stream s.  A resumable send opens the
 * temp with RESUME instead, after what the server kept of an interrupted
 * send of this version of the file (resume_point), and its COMMIT then
 * carries the whole file's hash.  Sets *out.  Returns a remote_rc.
 */
static int
send_whole(struct stream *s, const char *rel, const char *d, int fd, const struct stat *sb,
    int resumable, enum file_outcome *out)
{
	uint64_t off = 0, from = 0, size = (uint64_t)sb->st_size;
	unsigned char key[DELTA_HASH_LEN], hash[DELTA_HASH_LEN];
	struct delta_hash hs = { NULL };
	sync_handle h = ++s->next_handle;
	int rc;

	*out = FILE_FAILED;
	if (resumable) {
		if (delta_hash_start(&hs) != 0) {
			local_error(s, rel, strerror(errno));
			return REMOTE_OK;
		}
		resume_key(d, sb, key);
		rc = resume_point(s, d, fd, sb, key, &hs, &from);
		if (rc == REMOTE_OK)
			rc = remote_batch_resume(s->r, h, d, key, from);
		off = from;
		s->st.resumed += from;
	} else {
		rc = remote_batch_create(s->r, h, d, 0);
	}
	while (rc == REMOTE_OK && off < size) {
		size_t want = size - off < s->chunk ? (size_t)(size - off) : s->chunk;
		ssize_t n = pread(fd, s->buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			*out = FILE_CHANGED;        /* it shrank */
		else if (n < 0)
			local_error(s, rel, strerror(errno));
		if (n <= 0) {
			rc = remote_batch_abort(s->r, h, d);
			goto out;
		}
		if (from != 0)
			delta_hash_add(&hs, s->buf, (size_t)n);
		rc = remote_batch_write(s->r, h, off, s->buf, (size_t)n, d);
		off += (uint64_t)n;
		s->st.bytes += (uint64_t)n;
	}
	if (rc != REMOTE_OK)
		goto out;
	if (source_changed(fd, sb)) {
		*out = FILE_CHANGED;
		rc = remote_batch_abort(s->r, h, d);
		goto out;
	}
	if (from != 0)
		delta_hash_digest(&hs, hash);
	*out = from != 0 ? FILE_CHECKED : FILE_SENT;
	rc = remote_batch_commit(s->r, h, size, sb->st_mode & SYNC_MODE_MASK, sb->st_mtim,
	    from != 0 ? hash : NULL, d);
out:
	delta_hash_end(&hs);
	return rc;
}

/* What the matcher's callback needs to turn ops into batched calls. */
struct delta_send {
	struct stream *s;
	sync_handle    h;
	const char    *d;
	int            rc;      /* the first remote failure */
};

/*
 * delta_emit_fn: queues a COPY or a WRITE for op and counts it.  Returns
 * non-zero (stopping the match) when the call could not be queued.
 */
static int
delta_emit(void *arg, const struct delta_op *op)
{
	struct delta_send *ds = arg;

	if (op->type == DELTA_COPY) {
		ds->rc = remote_batch_copy(ds->s->r, ds->h, op->basis_offset, op->length,
		    op->offset, ds->d);
		ds->s->st.matched += op->length;
	} else {
		ds->rc = remote_batch_write(ds->s->r, ds->h, op->offset, op->data,
		    (size_t)op->length, ds->d);
		ds->s->st.bytes += op->length;
	}
	return ds->rc != REMOTE_OK;
}

/*
 * Sends the size bytes of fd (the local file rel) as a delta against the server's
 * copy under destination d: SIGNATURE, CREATE with basis, COPY/WRITE as the
 * matcher finds them, COMMIT with the new content's hash.  Sets *out
 * (FILE_FALLBACK when the server gave no signature).  Returns a remote_rc.
 */
static int
send_delta(struct stream *s, const char *rel, const char *d, int fd, const struct stat *sb,
    enum file_outcome *out)
{
	struct delta_match_opts mo = { .literal_max = s->chunk };
	struct delta_send ds = { .s = s, .d = d, .rc = REMOTE_OK };
	unsigned char hash[DELTA_HASH_LEN];
	struct delta_index *ix = NULL;
	struct delta_sig sig;
	sync_status st;
	int rc, mrc;

	*out = FILE_FALLBACK;
	if ((rc = remote_signature(s->r, d, &sig, &st)) != REMOTE_OK)
		return rc;
	if (st != SYNC_OK) {
		log_debug("%s: no signature (%s): sending the whole file", d, status_str(st));
		goto out;
	}
	if ((ix = delta_index_new(&sig)) == NULL) {
		log_err("%s: delta: %s: sending the whole file", d, strerror(errno));
		goto out;
	}
	*out = FILE_FAILED;
	ds.h = ++s->next_handle;
	if ((rc = remote_batch_create(s->r, ds.h, d, 1)) != REMOTE_OK)
		goto out;
	mrc = delta_match_fd(ix, fd, (uint64_t)sb->st_size, &mo, delta_emit, &ds, hash);
	if (mrc == DELTA_STOPPED) {
		rc = ds.rc;
		goto out;
	}
	if (mrc != DELTA_OK && errno != ENODATA)    /* ENODATA: it shrank */
		local_error(s, rel, strerror(errno));
	else if (mrc != DELTA_OK || source_changed(fd, sb))
		*out = FILE_CHANGED;
	if (mrc != DELTA_OK || *out == FILE_CHANGED) {
		rc = remote_batch_abort(s->r, ds.h, d);
		goto out;
	}
	*out = FILE_CHECKED;
	rc = remote_batch_commit(s->r, ds.h, (uint64_t)sb->st_size,
	    sb->st_mode & SYNC_MODE_MASK, sb->st_mtim, hash, d);
out:
	delta_index_free(ix);
	remote_sig_free(&sig);
	return rc;
}

/*
 * Remembers that the local file rel went out on s with a COMMIT that the
 * server checks against its hash (a delta, a resumed send), for
 * resend_refused().  Returns 0, or -1 when out of memory (reported and
 * counted: that file then has no second chance).
 */
static int
note_checked(struct stream *s, const char *rel)
{
	char *copy = strdup(rel);

	if (copy != NULL && s->nchecked == s->checked_cap) {
		size_t ncap = s->checked_cap ? s->checked_cap * 2 : 16;
		char **nv = realloc(s->checked, ncap * sizeof *nv);

		if (nv == NULL) {
			free(copy);
			copy = NULL;
		} else {
			s->checked = nv;
			s->checked_cap = ncap;
		}
	}
	if (copy == NULL) {
		log_err("out of memory");
		s->failures++;
		return -1;
	}
	s->checked[s->nchecked++] = copy;
	return 0;
}

/* Forgets the files note_checked() remembered on s. */
static void
checked_clear(struct stream *s)
{
	for (size_t k = 0; k < s->nchecked; k++)
		free(s->checked[k]);
	s->nchecked = 0;
}

/*
 * Sends the local file rel once (send_file): as a delta when the server
 * holds an old version re and both are at least DELTA_MIN bytes (unless
 * --whole-file or whole), else whole, resumably from RESUME_MIN bytes on
 * (unless whole).  Sets *out.  Returns a remote_rc.
 */
static int
send_once(struct stream *s, const char *rel, const char *d, const struct entry *re,
    int whole, enum file_outcome *out)
{
	struct stat sb;
	int fd, rc = REMOTE_OK;

	*out = FILE_FAILED;
	fd = open_local(s->p->rootfd, rel);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		local_error(s, rel, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		local_error(s, rel, "no longer a regular file");
		goto out;
	}
	*out = FILE_FALLBACK;
	if (!whole && !s->p->o->whole_file && re != NULL && re->size >= DELTA_MIN &&
	    (uint64_t)sb.st_size >= DELTA_MIN)
		rc = send_delta(s, rel, d, fd, &sb, out);
	if (rc == REMOTE_OK && *out == FILE_FALLBACK)
		rc = send_whole(s, rel, d, fd, &sb,
		    !whole && (uint64_t)sb.st_size >= RESUME_MIN, out);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Sends the local file rel under destination d on stream s (send_once).  A
 * file that cannot be read is reported (and its temp ABORTed) and the push
 * goes on; one that changes while it is read is sent again, up to
 * SOURCE_TRIES times in all, and then reported and left as the server has
 * it: a file is never published torn.  A file whose COMMIT the server
 * checks against its hash is remembered for resend_refused().  A resend
 * (whole set) is not counted as one more file sent.  Returns a remote_rc.
 */
static int
send_file(struct stream *s, const char *rel, const char *d, const struct entry *re,
    int whole)
{
	enum file_outcome out = FILE_FAILED;
	char q[QUOTE_BUF];
	int rc = REMOTE_OK;

	if (!whole)
		say(s->p, "", d, "");
	for (int tries = 1; tries <= SOURCE_TRIES; tries++) {
		rc = send_once(s, rel, d, re, whole, &out);
		if (rc != REMOTE_OK || out != FILE_CHANGED)
			break;
		if (tries < SOURCE_TRIES)
			log_info("%s: changed while being sent; sending it again",
			    quote_str(rel, q));
	}
	if (rc != REMOTE_OK)
		return rc;
	if (out == FILE_CHANGED)
		local_error(s, rel, "kept changing while being sent; not updated");
	if (out == FILE_CHECKED)
		(void)note_checked(s, rel);
	if ((out == FILE_SENT || out == FILE_CHECKED) && !whole)
		s->st.sent++;
	return REMOTE_OK;
}

/*
 * Counts window w's files to send towards the workers and returns how
 * many workers to start now: none while the files planned so far do not
 * pay for extra connections (STREAMS_MIN_BYTES, STREAMS_MANY_FILES) or
 * --streams is 1, else --streams, but no more than there are files.
 */
static size_t
want_workers(struct push *p, const struct window *w)
{
	for (size_t k = 0; k < w->njobs; k++) {
		if (w->jobs[k].set != 0)
			continue;
		p->want_files++;
		p->want_bytes += w->local.v[w->jobs[k].i].size;
	}
	if (p->nmax < 2 || (p->want_files < STREAMS_MANY_FILES &&
	    (p->want_files < STREAMS_MIN_FILES || p->want_bytes < STREAMS_MIN_BYTES)))
		return 0;
	return p->want_files < p->nmax ? (size_t)p->want_files : p->nmax;
}

/*
 * Orders window w's queue: in path order for the primary alone (the
 * single batch of old), else biggest files first, so that a big file
 * starts at once instead of ending the window alone.  Returns 0, or -1
 * when out of memory (reported).
 */
static int
queue_files(struct push *p, struct window *w)
{
	uint64_t weight[WINDOW_ENTRIES];

	if (p->nworkers > 0)
		for (size_t k = 0; k < w->njobs; k++)
			weight[k] = w->jobs[k].set == 0 ? w->local.v[w->jobs[k].i].size : 0;
	if (work_queue_init(&w->queue, p->nworkers > 0 ? weight : NULL, w->njobs) < 0) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

/*
 * Phase 5 on stream s: takes jobs from window w's queue until it is empty
 * or s's connection fails, sending each file or fixing its attributes.
 * Returns a remote_rc.
 */
static int
send_files(struct stream *s, struct window *w)
{
	int rc = REMOTE_OK;
	size_t k;

	s->w = w;
	while (rc == REMOTE_OK && work_queue_take(&w->queue, &k)) {
		const struct file_job *j = &w->jobs[k];
		const struct entry *e = &w->local.v[j->i];
		const char *d;

		if ((d = dest_of(s, e->path)) == NULL)
			continue;
		if (j->set == 0)
			rc = send_file(s, e->path, d, counterpart(s->p, w, j->i), 0);
		else
			rc = remote_batch_setattr(s->r, d, j->set, e->mode, e->mtime);
		if (rc == REMOTE_OK)
			rc = settle_if_full(s);
	}
	return rc;
}

int
barrier(struct stream *s)
{
	struct remote_report rep;
	int rc = remote_barrier(s->r, &rep);

	if (rc != REMOTE_OK)
		return rc;
	if (s == &s->p->s[0])
		s->p->unsettled = 0;
	if (failures_take(&s->fails, &rep) < 0)
		s->failures++;
	remote_report_free(&rep);
	return REMOTE_OK;
}

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
static int
resend_refused(struct stream *s, int fix_dirs)
{
	struct failures *f = &s->fails;
	size_t nredo = 0;               /* s->checked[0..nredo): the files to resend */
	char q[QUOTE_BUF];
	int rc = REMOTE_OK;

	if (s->nchecked == 0)
		return REMOTE_OK;
	for (size_t m = 0; m < f->n;) {
		size_t k = s->nchecked;
		char *t;

		if (f->v[m].status == SYNC_ERR_CHECKSUM)
			for (k = nredo; k < s->nchecked; k++) {
				const char *d = dest_of(s, s->checked[k]);

				if (d != NULL && strcmp(d, f->v[m].path) == 0)
					break;
			}
		if (k == s->nchecked) {
			m++;
			continue;
		}
		log_info("%s: delta refused (content hash mismatch); sending it whole",
		    quote_str(f->v[m].path, q));
		t = s->checked[k];
		s->checked[k] = s->checked[nredo];
		s->checked[nredo++] = t;
		free(f->v[m].path);
		memmove(&f->v[m], &f->v[m + 1], (f->n - m - 1) * sizeof *f->v);
		f->n--;
		f->failed--;
	}
	for (size_t k = 0; k < nredo && rc == REMOTE_OK; k++) {
		const char *d = dest_of(s, s->checked[k]);

		if (d != NULL)
			rc = send_file(s, s->checked[k], d, NULL, 1);
		if (rc == REMOTE_OK && fix_dirs)
			rc = resend_parent_attrs(s, s->checked[k]);
	}
	checked_clear(s);
	if (rc == REMOTE_OK && nredo > 0)
		rc = barrier(s);
	return rc;
}

/*
 * Thread body of a worker: connects to the primary's server and says
 * HELLO (a worker that cannot connect only warns: its share goes to the
 * others), then sends the files of every window the relay hands it, and
 * ends with its own BARRIER.  A worker whose connection fails leaves the
 * relay.  How it went is in s->res, s->fails and its counters; its
 * connection is closed on return.
 */
static void *
stream_main(void *arg)
{
	struct stream *s = arg;
	struct push *p = s->p;
	unsigned long seen = 0;
	struct window *w;
	int rc = REMOTE_OK;

	if ((s->res = start_session(s, p->s[0].r)) != PUSH_OK) {
		/*
		 * It took no job yet: the other streams drain the queue, so a
		 * server at its connection or session cap only makes the push
		 * narrower.
		 */
		if (s->res == PUSH_UNAVAILABLE || s->res == PUSH_BUSY) {
			log_warn("an extra connection failed; going on with fewer streams");
			s->res = PUSH_OK;
		}
		relay_leave(&p->relay, seen);
		goto out;
	}
	while (rc == REMOTE_OK && (w = relay_take(&p->relay, &seen)) != NULL) {
		rc = send_files(s, w);
		relay_done(&p->relay);
	}
	if (rc != REMOTE_OK)
		relay_leave(&p->relay, seen);
	else
		rc = barrier(s);
	if (rc == REMOTE_OK)
		rc = resend_refused(s, 0);
	s->res = from_remote(rc);
out:
	end_stream(s);
	return NULL;
}

/*
 * Starts n workers (threads of their own, each connecting by itself) and
 * makes them the relay's members.
 */
static void
start_workers(struct push *p, size_t n)
{
	void *args[STREAMS_MAX];
	size_t started;

	for (size_t k = 0; k < n; k++)
		args[k] = &p->s[1 + k];
	p->nworkers = n;
	relay_members(&p->relay, n);
	started = crew_start(&p->crew, n, stream_main, args);
	for (size_t k = started; k < n; k++)
		relay_leave(&p->relay, 0);
}

/*
 * Waits until the workers are done with window w, sends on the primary
 * what they left (the jobs of workers whose connection failed: the queue
 * is empty otherwise) unless the primary's connection failed too (rc),
 * and empties w.  Returns a remote_rc.
 */
static int
finish_window(struct push *p, struct window *w, int rc)
{
	relay_wait(&p->relay);
	if (rc == REMOTE_OK)
		rc = send_files(&p->s[0], w);
	window_clear(w);
	return rc;
}

/*
 * Runs the push, window by window, on the primary: plans each window and
 * queues its phases 1-4, then sends its files itself, or, once workers
 * run, settles its batch (BARRIER) if it made or deleted anything and
 * hands the window to the workers, planning the next one while they send.
 * After the last window and the workers' own BARRIERs: phase 6 and the
 * last BARRIER.  The primary's outcome goes to s[0].res.
 */
static void
run_windows(struct push *p)
{
	struct stream *s0 = &p->s[0];
	struct window *sending = NULL;  /* handed to the workers */
	int rc = REMOTE_OK, more = 1;

	while (rc == REMOTE_OK && more) {
		struct window *w = sending == &p->win[0] ? &p->win[1] : &p->win[0];
		size_t n;

		if ((more = fill_window(p, w)) < 0) {
			rc = REMOTE_NOMEM;
			break;
		}
		if ((rc = plan_window(s0, w, !more)) != REMOTE_OK)
			break;
		if (p->nworkers == 0 && (n = want_workers(p, w)) > 0)
			start_workers(p, n);
		if (queue_files(p, w) < 0) {
			rc = REMOTE_NOMEM;
			break;
		}
		if (p->nworkers == 0) {
			rc = send_files(s0, w);
			window_clear(w);
			continue;
		}
		/* Workers must find every directory made, every name freed. */
		if (p->unsettled)
			rc = barrier(s0);
		if (sending != NULL)
			rc = finish_window(p, sending, rc);
		sending = NULL;
		if (rc != REMOTE_OK)
			break;
		relay_publish(&p->relay, w);
		sending = w;
	}
	if (sending != NULL)
		rc = finish_window(p, sending, rc);
	relay_close(&p->relay);
	crew_join(&p->crew);
	/* Every stream's renames are done now: directory mtimes stay put. */
	if (rc == REMOTE_OK)
		rc = send_dir_attrs(s0);
	if (rc == REMOTE_OK)
		rc = barrier(s0);
	if (rc == REMOTE_OK)
		rc = resend_refused(s0, 1);
	s0->res = from_remote(rc);
}

/*
 * One attempt at the whole push: connects, lists, plans and sends, and
 * releases everything it used (threads, connections, descriptors, memory)
 * before it returns how it went.
 */
static enum push_result
push_attempt(const struct push_opts *o)
{
	struct push p = { .o = o, .rootfd = -1, .relay = RELAY_INITIALIZER };
	enum push_result res;

	p.nmax = o->streams < 1 ? 1 : o->streams > STREAMS_MAX ? STREAMS_MAX : o->streams;
	p.nstreams = p.nmax + 1;
	p.s = calloc(p.nstreams, sizeof *p.s);
	p.hs = calloc(p.nmax, sizeof *p.hs);
	if (p.s == NULL || p.hs == NULL) {
		log_err("out of memory");
		res = PUSH_FAILED;
		goto out;
	}
	for (size_t k = 0; k < p.nstreams; k++)
		p.s[k].p = &p;
	for (size_t k = 0; k < p.nmax; k++)
		p.hs[k].p = &p;
	if ((res = start_session(&p.s[0], NULL)) != PUSH_OK)
		goto out;
	if ((res = scan_local(&p)) != PUSH_OK)
		goto out;
	if ((res = scan_remote(&p)) != PUSH_OK)
		goto out;
	if (window_init(&p.win[0]) < 0 || window_init(&p.win[1]) < 0) {
		res = PUSH_FAILED;
		goto out;
	}
	run_windows(&p);
	p.s[0].failures += p.ws.errors;
	res = conclude(&p);
	if (o->stats && (res == PUSH_OK || res == PUSH_FAILED))
		print_stats(&p);
out:
	fflush(stdout);
	for (size_t k = 0; p.s != NULL && k < p.nstreams; k++) {
		end_stream(&p.s[k]);
		failures_free(&p.s[k].fails);
		checked_clear(&p.s[k]);
		free(p.s[k].checked);
	}
	free(p.s);
	free(p.hs);
	if (p.walking)
		walk_end(&p.walk);
	if (p.rootfd >= 0)
		close(p.rootfd);
	entry_list_free(&p.remote);
	window_free(&p.win[0]);
	window_free(&p.win[1]);
	free(p.dirs.v);
	free(p.dirs.names);
	return res;
}

/* Sleeps for secs seconds (signals do not cut it short). */
static void
pause_for(unsigned int secs)
{
	struct timespec left = { .tv_sec = (time_t)secs };

	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

enum push_result
push_run(const struct push_opts *o)
{
	const char *lb = strchr(o->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	unsigned int delay = 1;
	enum push_result res;

	for (unsigned int n = 1;; n++) {
		res = push_attempt(o);
		if ((res != PUSH_UNAVAILABLE && res != PUSH_BUSY) || n > o->retries)
			return res;
		if (res == PUSH_BUSY)
			log_err("%s%s%s:%s is busy (too many sessions); retrying in "
			    "%u s (attempt %u of %u)", lb, o->host, rb, o->export, delay,
			    n + 1, o->retries + 1);
		else
			log_err("connection to %s%s%s failed or was lost; retrying in "
			    "%u s (attempt %u of %u)", lb, o->host, rb, delay, n + 1,
			    o->retries + 1);
		pause_for(delay);
		delay = delay * 2 > PUSH_BACKOFF_MAX ? PUSH_BACKOFF_MAX : delay * 2;
	}
}
