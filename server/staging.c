/*
 * staging.c -- CREATE, WRITE, COPY, COMMIT, ABORT: where a file becomes visible.
 *
 * Why it exists: a client's file must appear under its final name complete
 * or not at all, even if the connection drops or the machine crashes halfway.
 * So data goes to a temp file (PATH_TEMP_PREFIX + random suffix) beside the
 * final name, and only a renameat() over the final name publishes it.
 *
 * Durability is bought in groups: COMMIT only queues the closed temp into
 * the group being filled.  Publishing a group (group_run) is one syncfs()
 * per filesystem, the renames, and one more syncfs(); if the first syncfs
 * fails, nothing of the group is renamed and every temp is removed.
 *
 * Pipelining: a group that grows large (files, bytes, directory fds) is
 * handed to a flusher thread, and the connection thread goes on receiving
 * the next group while the disk makes the last one durable.  Design: one
 * short-lived thread per group, at most one group in flight per session
 * (closing the next group first joins the last).  pthread_create/join are
 * the whole hand-over: while a group is in flight the flusher alone touches
 * it (and reads the directory fds its entries hold and a snapshot of the
 * prepend-only syncfs fd list); the connection thread touches it again only
 * after the join, and only then turns the outcomes the flusher left in it
 * into session_fail() entries, so the session needs no lock.  A thread per
 * group costs tens of microseconds against a syncfs of milliseconds, needs
 * no queue, wakeups or shutdown protocol, and keeps sessions independent (a
 * shared flusher would make one session's slow syncfs delay every other).
 * staging_flush (BARRIER, the procedures that depend on earlier renames, a
 * HELLO that switches export, session end) joins the group in flight and
 * then publishes the rest inline.  A later COMMIT of a name that a group in
 * flight publishes needs no wait: groups are published strictly in order.
 * Memory and descriptors stay bounded: one group in flight, one filling,
 * and the parent fds they share counted together (STAGING_DIRS_MAX).
 * Writeback is not started per file at COMMIT (sync_file_range): measured,
 * that put every file's block allocation and I/O submission on the
 * connection thread and made pushes slower; the flusher's syncfs does that
 * work in bulk, off the receiving thread.  Large files are the exception
 * (write_behind): their writeback starts every STAGING_WRITE_BEHIND bytes
 * as they arrive by WRITE or COPY, so the disk works while the network does
 * (measured: S2 wall 0.92x; S4, a 256 MiB delta that COPYs 255 MiB, about
 * 0.65 -> 0.52 s, the group's syncfs finding almost nothing left to write).
 *
 * A failed syncfs fails its whole group as before, and also every file
 * written but not yet published (the group being filled, the open writes):
 * syncfs writes back the whole filesystem, so the lost data may be theirs,
 * and it reports an error only once per descriptor (staging_poison).
 *
 * Descriptors: each open write holds its temp fd; parent directories are
 * O_PATH fds shared (by inode) between writes and queued commits, and the
 * number of distinct ones is bounded by flushing early.  For each filesystem
 * touched, one O_RDONLY directory fd is kept for the whole session: syncfs()
 * reports writeback errors that happened since that fd was opened, so it is
 * opened at the first CREATE on that filesystem, before any data is written.
 *
 * Delta transfers: a CREATE with `basis` also opens the file currently at
 * the final name (read-only, never through a link) and keeps it with the
 * open write until COMMIT or ABORT; COPY moves byte ranges of it into the
 * temp (copy_file_range, so a filesystem that can share extents does no
 * I/O).  Since the basis may change between the client's SIGNATURE and this
 * CREATE, the client sends the hash of the file it meant to build, and
 * COMMIT refuses a temp whose content hash differs (SYNC_ERR_CHECKSUM).
 *
 * Compressed WRITEs (raw_len != 0, after HELLO granted SYNC_CAP_ZSTD) are
 * decoded into the session's one decoder buffer of SYNC_CHUNK_MAX bytes
 * (common/zstdio.h), which bounds what any frame can expand to; a frame
 * that is not exactly what raw_len says fails the handle like any WRITE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef FIU_ENABLE
#include <fiu-local.h>
#else
#define fiu_return_on(name, retval) ((void)0)  /* as fiu-local.h has it */
#endif

#include "confine.h"
#include "delta.h"
#include "log.h"
#include "ops.h"
#include "partial.h"
#include "status.h"
#include "zstdio.h"

#define STAGING_OPEN_MAX    64              /* open writes per session */
#define STAGING_QUEUE_FILES 1024            /* flush at this many commits ... */
#define STAGING_QUEUE_BYTES (64ULL << 20)   /* ... or this many bytes ... */
/*
 * ... or when the session holds this many parent fds (the group in flight
 * and the one filling share them).  A tree with a few hundred directories,
 * sent largest file first, touches most of them within any 1024 files: a
 * smaller bound would close groups of a few hundred files and pay a syncfs
 * pair each.
 */
#define STAGING_DIRS_MAX    4096
#define STAGING_OFFSET_MAX  (1ULL << 62)    /* largest file we accept */
#define STAGING_TEMP_TRIES  8               /* EEXIST on a random name */
#define STAGING_COPY_CHUNK  (1ULL << 30)    /* bytes per copy_file_range() call */
#define STAGING_COPY_BUF    (1U << 20)      /* buffer of the pread/pwrite fallback */
#define STAGING_WRITE_BEHIND (8ULL << 20)   /* start writeback every this many bytes */
#define NSEC_PER_SEC        1000000000U
#define STAGING_FLUSHER_STACK (256U << 10) /* a flusher only makes syscalls and logs */

/* A parent directory, shared by every write and commit inside it. */
struct sdir {
	int          fd;        /* O_PATH|O_DIRECTORY: the parent, from confine_open */
	dev_t        dev;
	ino_t        ino;
	unsigned int refs;
	struct sdir *next;
};

/* One filesystem that holds staged data; its fd is what syncfs() needs. */
struct sdev {
	dev_t        dev;
	int          fd;        /* O_RDONLY directory fd, opened before any write */
	struct sdev *next;
};

/* An open write: CREATE done, COMMIT or ABORT not yet. */
struct wfile {
	sync_handle  handle;
	struct sdir *dir;
	int          fd;        /* the temp file, O_RDWR (COMMIT may hash it) */
	int          failed;    /* a WRITE or COPY failed: COMMIT must fail */
	int          basis_fd;  /* CREATE with basis: the old file, O_RDONLY; else -1 */
	uint64_t     basis_size; /* its size when opened: COPY's bound */
	sync_status  lost;      /* COMMIT fails with this: a syncfs failed meanwhile, or
	                           RESUME could not have the partial (data ignored) */
	uint64_t     behind;    /* writeback started for the bytes before this offset */
	uint64_t     end;       /* the temp's size: no WRITE or COPY may start past it */
	int          keyed;     /* tmp is a partial (RESUME): kept if the session ends */
	const struct export *export;  /* where the partial would be kept */
	char         tmp[PARTIAL_NAME_BUF];  /* the longer of the two kinds of temp names */
	char        *path;      /* final path as CREATE named it */
	const char  *leaf;      /* final name, inside path */
};

/* A committed temp waiting for the group rename. */
struct pending {
	struct sdir *dir;
	char         tmp[PARTIAL_NAME_BUF];
	char        *path;      /* for failure reports */
	const char  *leaf;
	unsigned int index;     /* the COMMIT's position in its batch */
	int          renamed;   /* group_run: the rename was done */
	sync_status  status;    /* group_run: SYNC_OK, or why this file failed */
};

/*
 * A group of committed temps, published together by group_run().  While a
 * group is being filled only the connection thread touches it; once handed
 * to a flusher, only the flusher does, until group_join().
 */
struct group {
	struct pending     *v;
	size_t              n, cap;
	uint64_t            bytes;  /* data committed into the group */
	int                 err;    /* group_run: errno of a failed syncfs, else 0 */
	const struct sdev  *devs;   /* the syncfs fds, fixed when the group is closed */
	const char         *peer;   /* for logs */
};

struct staging {
	struct wfile    open[STAGING_OPEN_MAX];
	size_t          nopen;
	struct group    fill;       /* COMMITs since the last flush */
	struct group    flight;     /* the group a flusher publishes while busy */
	pthread_t       flusher;
	int             busy;       /* flusher runs; flight is its own */
	struct sdir    *dirs;
	size_t          ndirs;
	struct sdev    *devs;       /* prepend-only; nodes immutable until staging_free */
	/*
	 * The parent directory of the last CREATE, reused while the name is the
	 * same: files arrive directory by directory, and resolving the parent
	 * again costs an openat2, an fstat and a close per file.  The cache holds
	 * no reference (sdir_put forgets it) and is dropped by staging_flush(),
	 * which every procedure that removes or replaces a directory (DELETE,
	 * SYMLINK) runs first; so the fd is one the session resolved under this
	 * name since its last namespace change -- as much as the renames of a
	 * group, which use the same fds, already rely on.
	 */
	struct sdir    *last_dir;
	char            last_parent[PATH_BUF];
};

/* Returns s's staging state, creating it on first use; NULL if out of memory. */
static struct staging *
staging_get(struct session *s)
{
	if (s->staging == NULL && (s->staging = calloc(1, sizeof *s->staging)) == NULL)
		log_err("%s: staging: out of memory", s->peer);
	return s->staging;
}

/* Returns the open write named handle, or NULL. */
static struct wfile *
wfile_find(struct staging *st, sync_handle handle)
{
	for (size_t i = 0; i < st->nopen; i++)
		if (st->open[i].handle == handle)
			return &st->open[i];
	return NULL;
}

/*
 * Takes ownership of the directory fd pfd and returns the shared sdir for
 * that inode (pfd is closed if one exists already).  Returns NULL with errno
 * on failure, pfd closed.
 */
static struct sdir *
sdir_get(struct staging *st, int pfd)
{
	struct stat sb;
	struct sdir *d;
	int saved;

	if (fstat(pfd, &sb) != 0)
		goto fail;
	for (d = st->dirs; d != NULL; d = d->next) {
		if (d->dev == sb.st_dev && d->ino == sb.st_ino) {
			close(pfd);
			d->refs++;
			return d;
		}
	}
	if ((d = calloc(1, sizeof *d)) == NULL)
		goto fail;
	d->fd = pfd;
	d->dev = sb.st_dev;
	d->ino = sb.st_ino;
	d->refs = 1;
	d->next = st->dirs;
	st->dirs = d;
	st->ndirs++;
	return d;
fail:
	saved = errno;
	close(pfd);
	errno = saved;
	return NULL;
}

/* Drops one reference to d; the last one closes and frees it. */
static void
sdir_put(struct staging *st, struct sdir *d)
{
	struct sdir **pp;

	if (--d->refs != 0)
		return;
	for (pp = &st->dirs; *pp != d; pp = &(*pp)->next)
		;
	*pp = d->next;
	st->ndirs--;
	if (st->last_dir == d)
		st->last_dir = NULL;
	close(d->fd);
	free(d);
}

/*
 * Makes sure a syncfs() fd exists for the filesystem of d.  Returns 0, or -1
 * with errno.
 */
static int
sdev_ensure(struct staging *st, const struct sdir *d)
{
	struct sdev *v;
	int fd;

	for (v = st->devs; v != NULL; v = v->next)
		if (v->dev == d->dev)
			return 0;
	/* syncfs() refuses O_PATH fds; reopening needs read access (syncd runs as root). */
	if ((fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if ((v = calloc(1, sizeof *v)) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	v->dev = d->dev;
	v->fd = fd;
	v->next = st->devs;
	st->devs = v;
	return 0;
}

/*
 * syncfs(fd): 0, or -1 with errno.  The libfiu fault point "staging/syncfs"
 * makes it fail with EIO instead: libfiu's POSIX preload does not wrap
 * syncfs(), and fault matrix row 9 (tests/integration/t_88_fiu.sh) needs a
 * writeback error on demand.  The point compiles to nothing unless
 * FIU_ENABLE is defined, which only the test build BUILD/tests/syncd-fiu does.
 */
static int
fs_sync(int fd)
{
	fiu_return_on("staging/syncfs", (errno = EIO, -1));
	return syncfs(fd);
}

/*
 * syncfs() on every filesystem of the list devs.  Returns 0 or an errno.
 * Reads only the list, so a flusher may run it on a snapshot of the head.
 */
static int
sync_all(const struct sdev *devs)
{
	int err = 0;

	for (const struct sdev *v = devs; v != NULL; v = v->next) {
		if (fs_sync(v->fd) != 0) {
			err = errno;
			log_err("syncfs: %s", strerror(err));
		}
	}
	return err;
}

/*
 * Removes the temp tmp in d, logging any failure but a missing file.  On a
 * filesystem that turned read-only every removal fails and the file's own
 * failure is logged already: that is a debug line, not a second line per
 * file (the sweep at the next start removes the temp).
 */
static void
temp_unlink(const struct sdir *d, const char *tmp)
{
	if (unlinkat(d->fd, tmp, 0) != 0 && errno != ENOENT)
		log_msg(errno == EROFS ? LOG_DEBUG : LOG_ERR, "unlink temp %s: %s", tmp,
		    strerror(errno));
}

/* Closes the basis of w, if it has one. */
static void
basis_close(struct wfile *w)
{
	if (w->basis_fd >= 0)
		close(w->basis_fd);
	w->basis_fd = -1;
}

/*
 * Ends the open write w: removes the temp when unlink_tmp is set, closes
 * it, releases what it holds and takes it out of the table (the last entry
 * moves into its slot).  The name goes before the descriptor: closing a
 * partial releases its lock, and another session may take the name at once.
 */
static void
wfile_drop(struct staging *st, struct wfile *w, int unlink_tmp)
{
	basis_close(w);
	if (unlink_tmp)
		temp_unlink(w->dir, w->tmp);
	if (w->fd >= 0)
		close(w->fd);
	sdir_put(st, w->dir);
	free(w->path);
	*w = st->open[--st->nopen];
	memset(&st->open[st->nopen], 0, sizeof st->open[st->nopen]);
}

/*
 * The session ends with w open: a partial with data in it is kept for a
 * resume (partial.h), anything else is removed.  Then w is dropped.
 */
static void
wfile_leave(struct staging *st, struct wfile *w)
{
	char parent[PATH_BUF], name[PARTIAL_NAME_BUF];
	const struct export *e = w->export;
	const char *leaf;
	struct stat sb;
	int keep;

	keep = w->keyed && !w->failed && w->lost == SYNC_OK && fstat(w->fd, &sb) == 0 &&
	    sb.st_size > 0 && path_split(w->path, parent, &leaf) == 0;
	memcpy(name, w->tmp, sizeof name);
	wfile_drop(st, w, !keep);       /* closes it: the lock goes */
	if (keep)
		partials_keep(e, parent, name);
}

/*
 * Opens the partial for key beside the final name of w in w->dir, cut to
 * offset (partial_open), into w->fd and w->tmp.  If it cannot be had (in
 * use, missing, shorter, not a plain file), w gets a random temp from the
 * caller instead, and with a non-zero offset its COMMIT is doomed to fail
 * with CHECKSUM (the client then sends the file whole).  Returns 0 when w
 * has a temp or needs one, -1 with errno on other errors.
 */
static int
partial_take(struct session *s, struct wfile *w, const char *key, uint64_t offset)
{
	partial_name(key, w->tmp);
	if ((w->fd = partial_open(w->dir->fd, w->tmp, offset)) >= 0) {
		w->keyed = 1;
		w->behind = offset;
		w->end = offset;
		return 0;
	}
	if (errno != EBUSY && errno != ENOENT && errno != ENODATA && errno != EINVAL)
		return -1;
	log_debug("%s: resume %s at %llu: %s; not resumable", s->peer, w->path,
	    (unsigned long long)offset, strerror(errno));
	if (offset != 0)
		w->lost = SYNC_ERR_CHECKSUM;
	return 0;
}

/*
 * Opens the parent of path, shares it, with basis set opens the regular
 * file at path as the basis, and creates a temp beside it: the partial for
 * key from offset on when key is not NULL (RESUME), else a fresh random one.
 * Fills w (handle, dir, fd, tmp, path, leaf, basis_fd, basis_size, keyed).
 * Returns 0, or -1 with errno and nothing held (a missing basis is ENOENT,
 * a non-regular one EISDIR or EINVAL).
 */
static int
temp_create(struct session *s, struct staging *st, const char *path, int basis,
    const char *key, uint64_t offset, struct wfile *w)
{
	char parent[PATH_BUF];
	struct stat sb;
	const char *leaf;
	int pfd, saved;

	if (path_split(path, parent, &leaf) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (st->last_dir != NULL && strcmp(parent, st->last_parent) == 0) {
		w->dir = st->last_dir;
		w->dir->refs++;
	} else {
		pfd = confine_open(s->export->root_fd, parent, O_PATH | O_DIRECTORY, 0);
		if (pfd < 0 || (w->dir = sdir_get(st, pfd)) == NULL)
			return -1;
		if (sdev_ensure(st, w->dir) != 0)
			goto fail;
		st->last_dir = w->dir;
		memcpy(st->last_parent, parent, strlen(parent) + 1);
	}
	/* Not a guard (the rename decides), just an early answer before any data is sent. */
	if (fstatat(w->dir->fd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if ((w->path = strdup(path)) == NULL)
		goto fail;
	w->leaf = w->path + (leaf - path);
	if (basis) {
		if ((w->basis_fd = confine_open_regular(w->dir->fd, w->leaf, O_RDONLY, &sb)) < 0)
			goto fail;
		w->basis_size = (uint64_t)sb.st_size;
	}
	w->export = s->export;
	if (key != NULL && partial_take(s, w, key, offset) != 0)
		goto fail;
	for (int i = 0; i < STAGING_TEMP_TRIES && w->fd < 0; i++) {
		if (confine_temp_name(w->tmp) != 0)
			goto fail;
		w->fd = openat(w->dir->fd, w->tmp,
		    O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR | O_CLOEXEC, 0600);
		if (w->fd >= 0 || errno != EEXIST)
			break;
	}
	if (w->fd < 0)
		goto fail;
	return 0;
fail:
	saved = errno;
	basis_close(w);
	free(w->path);
	w->path = NULL;
	sdir_put(st, w->dir);
	w->dir = NULL;
	errno = saved;
	return -1;
}

/*
 * CREATE and RESUME: opens a temp beside the checked wire path under handle
 * (temp_create: the partial for key from offset, or a fresh one), and with
 * basis the current file at path as the source of COPY.  Returns INVAL for
 * a duplicate handle or the export root, TOOMANY past STAGING_OPEN_MAX open
 * writes, ISDIR if the final name is a directory; with a basis, NOENT if
 * nothing is there and INVAL if it is not a regular file.
 */
static sync_status
open_write(struct session *s, sync_handle handle, const sync_path *wire, int basis,
    const char *key, uint64_t offset)
{
	char path[PATH_BUF];
	struct staging *st;
	struct wfile w;
	sync_status rc;
	int retried = 0;

	if ((rc = confine_path(wire, path)) != SYNC_OK)
		goto out;
	if (path[0] == '\0') {
		rc = SYNC_ERR_INVAL;        /* the export root is not a file */
		goto out;
	}
	if ((st = staging_get(s)) == NULL) {
		rc = SYNC_ERR_SERVERFAULT;
		goto out;
	}
	if (wfile_find(st, handle) != NULL) {
		rc = SYNC_ERR_INVAL;
		goto out;
	}
	if (st->nopen >= STAGING_OPEN_MAX) {
		rc = SYNC_ERR_TOOMANY;
		goto out;
	}
again:
	memset(&w, 0, sizeof w);
	w.handle = handle;
	w.fd = -1;
	w.basis_fd = -1;
	if (temp_create(s, st, path, basis, key, offset, &w) != 0) {
		/* Queued commits hold directory fds: publish them and try once more. */
		if ((errno == EMFILE || errno == ENFILE) && (st->fill.n != 0 || st->busy) &&
		    !retried) {
			retried = 1;
			staging_flush(s);
			goto again;
		}
		rc = status_from_errno(errno);
		log_debug("%s: create %s: %s", s->peer, path, strerror(errno));
		goto out;
	}
	st->open[st->nopen++] = w;
	rc = SYNC_OK;
out:
	return rc;
}

/* CREATE: a fresh temp (open_write). */
sync_status
op_create(struct session *s, const create_args *a)
{
	return open_write(s, a->handle, &a->path, a->basis, NULL, 0);
}

/* RESUME: the partial for a->key from a->offset on (open_write, partial.h). */
sync_status
op_resume(struct session *s, const resume_args *a)
{
	return open_write(s, a->handle, &a->path, 0, a->key, a->offset);
}

/*
 * Sets *data and *len to the bytes WRITE a carries for w: a->data itself
 * when a->raw_len is 0, else the zstd frame in a->data decoded into the
 * session's decoder buffer (created on first use, freed at session end).
 * Returns SYNC_OK; INVAL when the session was not granted SYNC_CAP_ZSTD or
 * the frame is not one frame of exactly raw_len (1..SYNC_CHUNK_MAX) bytes;
 * SERVERFAULT when the decoder cannot be allocated.
 */
static sync_status
write_payload(struct session *s, const struct wfile *w, const write_args *a,
    const char **data, size_t *len)
{
	const void *raw;
	const char *why;
	sync_status rc;

	*data = a->data.data_val;
	*len = a->data.data_len;
	if (a->raw_len == 0) {
		rc = SYNC_OK;
		goto out;
	}
	if (!(s->caps & SYNC_CAP_ZSTD)) {
		log_debug("%s: write %s: compressed data without SYNC_CAP_ZSTD", s->peer,
		    w->path);
		rc = SYNC_ERR_INVAL;
		goto out;
	}
	if (s->zdec == NULL && (s->zdec = zstdio_dec_new(SYNC_CHUNK_MAX)) == NULL) {
		log_err("%s: write %s: decompressor: out of memory", s->peer, w->path);
		rc = SYNC_ERR_SERVERFAULT;
		goto out;
	}
	if (zstdio_decompress(s->zdec, a->data.data_val, a->data.data_len, a->raw_len,
	    &raw, &why) != 0) {
		log_debug("%s: write %s: compressed data refused: %s", s->peer, w->path, why);
		rc = SYNC_ERR_INVAL;
		goto out;
	}
	*data = raw;
	*len = a->raw_len;
	rc = SYNC_OK;
out:
	return rc;
}

/*
 * Starts writeback of what w holds before end once STAGING_WRITE_BEHIND new
 * bytes have piled up in front of it, so that the disk writes a large file
 * while the rest of it is still arriving and the group's syncfs finds little
 * left to do.  Only for data written in order (a file's WRITEs are); errors
 * are the syncfs's to report.
 */
static void
write_behind(struct wfile *w, uint64_t end)
{
	if (end < w->behind || end - w->behind < STAGING_WRITE_BEHIND)
		return;
	(void)sync_file_range(w->fd, (off_t)w->behind, (off_t)(end - w->behind),
	    SYNC_FILE_RANGE_WRITE);
	w->behind = end;
}

/*
 * WRITE: pwrite()s all of the data (decoded first when compressed) at the
 * offset.  Any failure, including an offset past the temp's end (a gap
 * would make a sparse file, which every later hash of it -- COMMIT's,
 * PARTIAL's, LIST's -- reads in full: a few bytes on the wire could pin a
 * thread for hours), data past STAGING_OFFSET_MAX, or compressed data that
 * is refused, marks the handle failed (its COMMIT fails).
 */
sync_status
op_write(struct session *s, const write_args *a)
{
	struct wfile *w;
	const char *p;
	uint64_t off = a->offset;
	size_t left;
	sync_status rc;

	if (s->staging == NULL || (w = wfile_find(s->staging, a->handle)) == NULL ||
	    w->failed) {
		rc = SYNC_ERR_BADHANDLE;
		goto out;
	}
	if (w->lost != SYNC_OK) {
		rc = SYNC_OK;           /* its COMMIT fails anyway, and says why */
		goto out;
	}
	if ((rc = write_payload(s, w, a, &p, &left)) != SYNC_OK)
		goto fail;
	if (off > w->end || left > STAGING_OFFSET_MAX - off || (left != 0 && p == NULL)) {
		rc = SYNC_ERR_INVAL;
		goto fail;
	}
	while (left > 0) {
		ssize_t n = pwrite(w->fd, p, left, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			rc = status_from_errno(errno);
			/* Once per file: the handle fails, later WRITEs are refused unlogged. */
			log_msg(status_is_storage(rc) ? LOG_WARNING : LOG_DEBUG, "%s: write %s: %s",
			    s->peer, w->path, strerror(errno));
			goto fail;
		}
		p += n;
		off += (uint64_t)n;
		left -= (size_t)n;
	}
	write_behind(w, off);
	if (off > w->end)
		w->end = off;
	rc = SYNC_OK;
	goto out;
fail:
	w->failed = 1;
out:
	return rc;
}

/*
 * Copies len bytes at in_off of in to out_off of out with pread/pwrite, for
 * filesystems without copy_file_range().  Returns 0, or -1 with errno
 * (ENODATA if in ends early).
 */
static int
copy_plain(int in, uint64_t in_off, int out, uint64_t out_off, uint64_t len)
{
	size_t bufsz = len < STAGING_COPY_BUF ? (size_t)len : STAGING_COPY_BUF;
	char *buf = malloc(bufsz);
	int rc = -1, saved;

	if (buf == NULL) {
		errno = ENOMEM;
		return -1;
	}
	while (len > 0) {
		size_t want = len < bufsz ? (size_t)len : bufsz, done = 0;
		ssize_t n = pread(in, buf, want, (off_t)in_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENODATA;
			goto out;
		}
		while (done < (size_t)n) {
			ssize_t m = pwrite(out, buf + done, (size_t)n - done,
			    (off_t)(out_off + done));

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0) {
				if (m == 0)
					errno = EIO;
				goto out;
			}
			done += (size_t)m;
		}
		in_off += (uint64_t)n;
		out_off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	rc = 0;
out:
	saved = errno;
	free(buf);
	errno = saved;
	return rc;
}

/*
 * Copies len bytes at in_off of in to out_off of out, in the kernel when it
 * can (copy_file_range), else through copy_plain().  Returns 0, or -1 with
 * errno (ENODATA if in ends early).
 */
static int
copy_range(int in, uint64_t in_off, int out, uint64_t out_off, uint64_t len)
{
	loff_t io = (loff_t)in_off, oo = (loff_t)out_off;

	while (len > 0) {
		size_t want = len < STAGING_COPY_CHUNK ? (size_t)len : (size_t)STAGING_COPY_CHUNK;
		ssize_t n = copy_file_range(in, &io, out, &oo, want, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
		    errno == EINVAL))
			return copy_plain(in, (uint64_t)io, out, (uint64_t)oo, len);
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENODATA;        /* the basis shrank since CREATE */
			return -1;
		}
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * COPY: copies a->length bytes of the handle's basis at a->basis_offset
 * into its temp at a->offset.  INVAL if the handle has no basis, if the
 * range is not inside the basis (as it was at CREATE), or if the target
 * range starts past the temp's end (as for WRITE) or passes
 * STAGING_OFFSET_MAX; IO if the basis shrank meanwhile.  Any
 * failure marks the handle failed, like WRITE's.
 */
sync_status
op_copy(struct session *s, const copy_args *a)
{
	struct wfile *w;
	sync_status rc;

	if (s->staging == NULL || (w = wfile_find(s->staging, a->handle)) == NULL ||
	    w->failed) {
		rc = SYNC_ERR_BADHANDLE;
		goto out;
	}
	if (w->lost != SYNC_OK) {
		rc = SYNC_OK;           /* as in op_write */
		goto out;
	}
	/* Each test keeps to one subtraction that cannot wrap. */
	if (w->basis_fd < 0 || a->length > w->basis_size ||
	    a->basis_offset > w->basis_size - a->length ||
	    a->offset > w->end || a->length > STAGING_OFFSET_MAX - a->offset) {
		log_debug("%s: copy %s: range outside the basis or the file limit", s->peer,
		    w->path);
		rc = SYNC_ERR_INVAL;
		goto fail;
	}
	/* In pieces, so that writeback of a long copy starts as it goes (write_behind). */
	for (uint64_t done = 0; done < a->length;) {
		uint64_t piece = a->length - done < STAGING_WRITE_BEHIND ?
		    a->length - done : STAGING_WRITE_BEHIND;

		if (copy_range(w->basis_fd, a->basis_offset + done, w->fd, a->offset + done,
		    piece) != 0) {
			rc = errno == ENODATA ? SYNC_ERR_IO : status_from_errno(errno);
			log_msg(status_is_storage(rc) && errno != ENODATA ? LOG_WARNING : LOG_DEBUG,
			    "%s: copy %s: %s", s->peer, w->path,
			    errno == ENODATA ? "basis shrank" : strerror(errno));
			goto fail;
		}
		done += piece;
		write_behind(w, a->offset + done);
	}
	if (a->offset + a->length > w->end)
		w->end = a->offset + a->length;
	rc = SYNC_OK;
	goto out;
fail:
	w->failed = 1;
out:
	return rc;
}

/* Releases what each entry of g holds (temps stay) and empties g. */
static void
group_clear(struct staging *st, struct group *g)
{
	for (size_t i = 0; i < g->n; i++) {
		sdir_put(st, g->v[i].dir);
		free(g->v[i].path);
	}
	g->n = 0;
	g->bytes = 0;
	g->err = 0;
	g->devs = NULL;
}

/*
 * Publishes the group g: syncfs on g->devs, then each temp renamed over its
 * final name, then syncfs again.  If the first syncfs fails, nothing is
 * renamed and every temp is removed.  Touches only g and what its entries
 * hold (directory fds kept open until group_clear), so a flusher thread can
 * run it while the connection thread goes on; each file's outcome is left
 * in its entry (status, renamed) for group_finish.
 */
static void
group_run(struct group *g)
{
	struct pending *p;
	int err;

	if ((err = sync_all(g->devs)) != 0) {
		/* The data may be lost: publishing any of it could expose garbage. */
		g->err = err;
		for (size_t i = 0; i < g->n; i++) {
			p = &g->v[i];
			temp_unlink(p->dir, p->tmp);
			p->status = status_from_errno(err);
		}
		return;
	}
	for (size_t i = 0; i < g->n; i++) {
		p = &g->v[i];
		if (renameat(p->dir->fd, p->tmp, p->dir->fd, p->leaf) != 0) {
			err = errno;
			log_debug("%s: rename %s: %s", g->peer, p->path, strerror(err));
			temp_unlink(p->dir, p->tmp);
			p->status = status_from_errno(err);
			continue;
		}
		p->renamed = 1;
	}
	if ((err = sync_all(g->devs)) != 0) {
		/* Visible, but the renames may not survive a crash: say so. */
		g->err = err;
		for (size_t i = 0; i < g->n; i++) {
			p = &g->v[i];
			if (p->renamed)
				p->status = status_from_errno(err);
		}
	}
}

/*
 * After a failed syncfs (errno err): the data that was lost may belong to
 * any file of the session written and not yet published, not only to the
 * group whose syncfs said so.  syncfs writes back the whole filesystem, a
 * group's files included while a flusher runs, and reports an error once
 * per descriptor, so no later syncfs would tell.  Hence every file queued in
 * the group being filled fails now (its temp removed), and every open write
 * fails at its COMMIT.  Connection thread only.
 */
static void
staging_poison(struct session *s, int err)
{
	struct staging *st = s->staging;
	sync_status rc = status_from_errno(err);
	const struct pending *p;

	for (size_t i = 0; i < st->fill.n; i++) {
		p = &st->fill.v[i];
		temp_unlink(p->dir, p->tmp);
		session_fail(s, p->index, p->path, strlen(p->path), rc);
	}
	group_clear(st, &st->fill);
	for (size_t i = 0; i < st->nopen; i++)
		if (st->open[i].lost == SYNC_OK)
			st->open[i].lost = rc;
}

/*
 * Records with session_fail() the failures that group_run left in g, in the
 * order an inline flush meets them (first the files not renamed, then the
 * renamed ones whose durability is unknown), each under its COMMIT's index
 * and path; then empties g, and after a failed syncfs fails what else may
 * have lost data (staging_poison).  Connection thread only.
 */
static void
group_finish(struct session *s, struct group *g)
{
	int err = g->err;

	for (int renamed = 0; renamed <= 1; renamed++) {
		for (size_t i = 0; i < g->n; i++) {
			const struct pending *p = &g->v[i];

			if (p->status != SYNC_OK && p->renamed == renamed)
				session_fail(s, p->index, p->path, strlen(p->path), p->status);
		}
	}
	group_clear(s->staging, g);
	if (err != 0)
		staging_poison(s, err);
}

/* The flusher thread: publishes the one group it was given, then ends. */
static void *
flusher_main(void *arg)
{
	group_run(arg);
	return NULL;
}

/*
 * Waits for the group in flight, if any, and records its failures: after
 * it, every COMMIT handed to a flusher is renamed or reported.  Connection
 * thread only.
 */
static void
group_join(struct session *s)
{
	struct staging *st = s->staging;
	int err;

	if (st == NULL || !st->busy)
		return;
	if ((err = pthread_join(st->flusher, NULL)) != 0) {
		/*
		 * Only a bug gets here.  The flusher may still be using the
		 * group, and going on would race with it: stop (the startup
		 * sweep removes the temps).
		 */
		log_err("%s: cannot join the flusher: %s", s->peer, strerror(err));
		abort();
	}
	st->busy = 0;
	group_finish(s, &st->flight);
}

/*
 * Closes the group being filled and hands it to a new flusher thread, after
 * waiting for the previous one: at most one group per session is in flight.
 * Returns at once; if no thread can be started, publishes the group inline.
 */
static void
flush_async(struct session *s)
{
	struct staging *st = s->staging;
	struct group spare;
	pthread_attr_t attr;
	int err;

	group_join(s);
	if (st->fill.n == 0)
		return;
	/* flight is empty after the join: its array becomes the next fill. */
	spare = st->flight;
	st->flight = st->fill;
	st->fill = spare;
	/* devs only grows at its head and its nodes never change: a safe snapshot. */
	st->flight.devs = st->devs;
	st->flight.peer = s->peer;
	if ((err = pthread_attr_init(&attr)) != 0)
		goto out;
	err = pthread_attr_setstacksize(&attr, STAGING_FLUSHER_STACK);
	if (err == 0)
		err = pthread_create(&st->flusher, &attr, flusher_main, &st->flight);
	pthread_attr_destroy(&attr);
	if (err == 0)
		st->busy = 1;
out:
	if (err != 0) {
		log_warn("%s: cannot start a flusher thread: %s; flushing inline", s->peer,
		    strerror(err));
		group_run(&st->flight);
		group_finish(s, &st->flight);
	}
}

/*
 * Moves the closed temp of w into the group being filled under batch index
 * index and takes w out of the open table.  Returns 0, or -1 (out of
 * memory) with w untouched.
 */
static int
queue_push(struct staging *st, struct wfile *w, unsigned int index, uint64_t size)
{
	struct group *g = &st->fill;
	struct pending *p;

	if (g->n == g->cap) {
		size_t ncap = g->cap != 0 ? g->cap * 2 : 64;

		if ((p = reallocarray(g->v, ncap, sizeof *p)) == NULL)
			return -1;
		g->v = p;
		g->cap = ncap;
	}
	p = &g->v[g->n++];
	memset(p, 0, sizeof *p);
	p->dir = w->dir;
	memcpy(p->tmp, w->tmp, sizeof p->tmp);
	p->path = w->path;
	p->leaf = w->leaf;
	p->index = index;
	g->bytes += size;
	/* Ownership of dir and path moved to the queue. */
	*w = st->open[--st->nopen];
	memset(&st->open[st->nopen], 0, sizeof st->open[st->nopen]);
	return 0;
}

/*
 * Renames the partial of w (still locked: its fd is open) to a fresh random
 * temp name, so that its key is free for another transfer while the file
 * waits for publication.  Returns 0, or -1 with errno.
 */
static int
unkey(struct wfile *w)
{
	char tmp[CONFINE_TEMP_BUF];

	for (int i = 0; i < STAGING_TEMP_TRIES; i++) {
		if (confine_temp_name(tmp) != 0)
			return -1;
		if (renameat2(w->dir->fd, w->tmp, w->dir->fd, tmp, RENAME_NOREPLACE) != 0 &&
		    (errno != EINVAL ||     /* a filesystem without RENAME_NOREPLACE */
		    renameat(w->dir->fd, w->tmp, w->dir->fd, tmp) != 0)) {
			if (errno == EEXIST)
				continue;
			return -1;
		}
		memcpy(w->tmp, tmp, sizeof tmp);
		w->keyed = 0;
		return 0;
	}
	errno = EEXIST;
	return -1;
}

/*
 * Checks the temp of w against the hash COMMIT sent (none: nothing to
 * check).  Returns SYNC_OK, INVAL for a hash that is not DELTA_HASH_LEN
 * bytes, CHECKSUM on a mismatch, or the status of a read error.
 */
static sync_status
hash_check(struct session *s, struct wfile *w, const sync_hash *want)
{
	unsigned char got[DELTA_HASH_LEN];

	if (want->sync_hash_len == 0)
		return SYNC_OK;
	if (want->sync_hash_len != DELTA_HASH_LEN || want->sync_hash_val == NULL)
		return SYNC_ERR_INVAL;
	if (delta_hash_fd(w->fd, got, NULL) != 0) {
		log_err("%s: commit %s: hash: %s", s->peer, w->path, strerror(errno));
		return status_from_errno(errno);
	}
	if (memcmp(got, want->sync_hash_val, DELTA_HASH_LEN) != 0) {
		log_debug("%s: commit %s: content hash mismatch", s->peer, w->path);
		return SYNC_ERR_CHECKSUM;
	}
	return SYNC_OK;
}

/*
 * COMMIT: checks the size and, when given, the content hash, applies mode
 * (& SYNC_MODE_MASK) and mtime, closes the temp and the basis, and queues the temp
 * for the group rename under the current batch index; a full group goes to
 * a flusher.  Any failure removes the temp.  Returns SYNC_OK once queued;
 * IO (or NOSPC) if a syncfs of the session failed since the CREATE.
 */
sync_status
op_commit(struct session *s, const commit_args *a)
{
	struct staging *st = s->staging;
	struct wfile *w;
	struct stat sb;
	struct timespec ts[2];
	sync_status rc;
	int fd;

	if (st == NULL || (w = wfile_find(st, a->handle)) == NULL) {
		rc = SYNC_ERR_BADHANDLE;
		goto out;
	}
	if (w->failed) {
		rc = SYNC_ERR_BADHANDLE;    /* the WRITE's failure was reported already */
		goto drop;
	}
	if (w->lost != SYNC_OK) {
		rc = w->lost;               /* a syncfs failed since CREATE */
		goto drop;
	}
	if (a->mtime.nsec >= NSEC_PER_SEC) {
		rc = SYNC_ERR_INVAL;
		goto drop;
	}
	if (fstat(w->fd, &sb) != 0) {
		rc = status_from_errno(errno);
		goto drop;
	}
	if ((uint64_t)sb.st_size != a->size) {
		log_debug("%s: commit %s: size %lld, expected %llu", s->peer, w->path,
		    (long long)sb.st_size, (unsigned long long)a->size);
		rc = SYNC_ERR_INVAL;
		goto drop;
	}
	if ((rc = hash_check(s, w, &a->hash)) != SYNC_OK)
		goto drop;
	basis_close(w);
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = (time_t)a->mtime.sec;
	ts[1].tv_nsec = (long)a->mtime.nsec;
	/* Permission bits only: setuid, setgid and sticky are never mirrored. */
	if (fchmod(w->fd, (mode_t)(a->mode & SYNC_MODE_MASK)) != 0 || futimens(w->fd, ts) != 0) {
		rc = status_from_errno(errno);
		log_msg(status_is_storage(rc) ? LOG_WARNING : LOG_DEBUG, "%s: commit %s: %s",
		    s->peer, w->path, strerror(errno));
		goto drop;
	}
	if (w->keyed && unkey(w) != 0) {
		rc = status_from_errno(errno);
		log_err("%s: commit %s: rename partial: %s", s->peer, w->path, strerror(errno));
		goto drop;
	}
	fd = w->fd;
	w->fd = -1;
	if (close(fd) != 0) {
		rc = status_from_errno(errno);
		log_err("%s: close %s: %s", s->peer, w->path, strerror(errno));
		goto drop;
	}
	if (queue_push(st, w, s->batch_index, (uint64_t)sb.st_size) != 0) {
		rc = SYNC_ERR_SERVERFAULT;
		log_err("%s: commit %s: out of memory", s->peer, w->path);
		goto drop;
	}
	if (st->fill.n >= STAGING_QUEUE_FILES || st->fill.bytes >= STAGING_QUEUE_BYTES) {
		flush_async(s);
	} else if (st->ndirs >= STAGING_DIRS_MAX) {
		/* The group in flight may hold most of them: joining it releases those. */
		group_join(s);
		if (st->ndirs >= STAGING_DIRS_MAX)
			flush_async(s);
	}
	rc = SYNC_OK;
	goto out;
drop:
	wfile_drop(st, w, 1);
out:
	return rc;
}

/* ABORT: removes the temp of handle and forgets it; BADHANDLE if unknown. */
sync_status
op_abort(struct session *s, const abort_args *a)
{
	struct wfile *w;

	if (s->staging == NULL || (w = wfile_find(s->staging, a->handle)) == NULL)
		return SYNC_ERR_BADHANDLE;
	wfile_drop(s->staging, w, 1);
	return SYNC_OK;
}

/*
 * Group commit (ops.h): waits for the group in flight, then publishes the
 * group being filled inline.  Every failure is recorded with session_fail()
 * under its COMMIT's index and path.
 */
void
staging_flush(struct session *s)
{
	struct staging *st = s->staging;

	if (st == NULL)
		return;
	st->last_dir = NULL;
	group_join(s);
	if (st->fill.n == 0)
		return;
	st->fill.devs = st->devs;
	st->fill.peer = s->peer;
	group_run(&st->fill);
	group_finish(s, &st->fill);
}

/* Joins the flusher, removes every unpublished temp, closes every fd, frees s->staging. */
void
staging_free(struct session *s)
{
	struct staging *st = s->staging;
	struct sdev *v;

	if (st == NULL)
		return;
	group_join(s);          /* normally done by staging_flush already */
	while (st->nopen > 0)
		wfile_leave(st, &st->open[0]);
	/* Normally flushed before; if not, unpublished temps are dropped. */
	for (size_t i = 0; i < st->fill.n; i++)
		temp_unlink(st->fill.v[i].dir, st->fill.v[i].tmp);
	group_clear(st, &st->fill);
	free(st->fill.v);
	free(st->flight.v);
	while ((v = st->devs) != NULL) {
		st->devs = v->next;
		close(v->fd);
		free(v);
	}
	free(st);
	s->staging = NULL;
}

/*
 * Removes every temp name in the directory dirfd (path, relative to the
 * root of e, PATH_BUF bytes that the walk extends and restores) and below,
 * depth levels under the export root, except partials young enough to be
 * resumed (partials_sweep_one).  Adds removals to *count.  Returns 0, or
 * -1 if anything could not be read or removed (logged; the walk goes on).
 */
static int
sweep_dir(const struct export *e, int dirfd, char *path, unsigned int depth, int *count)
{
	struct confine_names names;
	size_t plen = strlen(path);
	struct stat sb;
	int rc = 0, fd, r;

	if (confine_read_names(dirfd, &names) != 0) {
		log_err("sweep: read directory: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];

		if (partial_is_name(name)) {
			if ((r = partials_sweep_one(e, dirfd, path, name)) < 0)
				rc = -1;
			*count += r > 0;
			continue;
		}
		if (strncmp(name, PATH_TEMP_PREFIX, strlen(PATH_TEMP_PREFIX)) == 0) {
			if (unlinkat(dirfd, name, 0) == 0) {
				(*count)++;
			} else if (errno != ENOENT) {
				log_err("sweep: unlink %s: %s", name, strerror(errno));
				rc = -1;
			}
			continue;
		}
		if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		if (depth + 1 > CONFINE_DEPTH_MAX) {
			log_warn("sweep: %s: deeper than %d levels, not swept", name,
			    CONFINE_DEPTH_MAX);
			continue;
		}
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;               /* changed under us */
			log_err("sweep: open %s: %s", name, strerror(errno));
			rc = -1;
			continue;
		}
		if (plen + 1 + strlen(name) >= PATH_BUF) {
			log_warn("sweep: %s/%s: path too long, not swept", path, name);
			close(fd);
			continue;
		}
		snprintf(path + plen, PATH_BUF - plen, "%s%s", plen != 0 ? "/" : "", name);
		if (sweep_dir(e, fd, path, depth + 1, count) != 0)
			rc = -1;
		path[plen] = '\0';
		close(fd);
	}
	confine_names_free(&names);
	return rc;
}

/* Removes stale temps in e; their count, or -1 if any could not be (logged). */
int
export_sweep_temps(const struct export *e)
{
	char path[PATH_BUF] = "";
	int count = 0;

	if (sweep_dir(e, e->root_fd, path, 0, &count) != 0)
		return -1;
	return count;
}
