/*
 * send.c -- send one regular file: whole, as a delta, or resumably.
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
 * Whatever the form, the file is read as it goes out, so before its
 * COMMIT is queued it is checked not to have changed meanwhile (size,
 * mtime, ctime); one that did is ABORTed and sent again, and a file is
 * never published torn.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "delta.h"
#include "log.h"
#include "path.h"
#include "push_int.h"
#include "quote.h"
#include "remote.h"
#include "status.h"

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

void
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

int
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

int
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
