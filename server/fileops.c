/*
 * fileops.c -- READ, SIGNATURE, MKDIR, SYMLINK, SETATTR and DELETE.
 *
 * Why together: each of these acts on one final component through its
 * parent directory -- the parent opened by the confinement layer, then a
 * single *at() call on the leaf with AT_SYMLINK_NOFOLLOW or O_NOFOLLOW.  No
 * function here resolves a multi-component client path itself, and none ever
 * follows a symlink: links are created (atomically, by rename), listed, given
 * an mtime and deleted, but the inode they point at is never touched.
 *
 * Procedures that must see the result of earlier COMMITs (DELETE, SYMLINK,
 * SETATTR) flush the staging queue first, as DESIGN.md requires.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"
#include "delta.h"
#include "fdio.h"
#include "log.h"
#include "ops.h"
#include "status.h"

#define NSEC_PER_SEC     1000000000U
#define READ_OFFSET_MAX  ((uint64_t)INT64_MAX)
#define TEMP_TRIES       8

/* fchmodat2 (Linux 6.6) honours AT_SYMLINK_NOFOLLOW; Debian 12's headers predate it. */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/*
 * Checks the wire path into path and opens its parent: *pfd is the parent's
 * O_PATH fd and *leaf the final component.  The empty path is refused with
 * empty_st.  Returns SYNC_OK or the failure status (nothing left open).
 */
static sync_status
open_parent(struct session *s, const sync_path *wire, sync_status empty_st,
    char path[PATH_BUF], int *pfd, const char **leaf)
{
	sync_status st;

	*pfd = -1;
	if ((st = confine_path(wire, path)) != SYNC_OK)
		return st;
	if (path[0] == '\0')
		return empty_st;
	if ((*pfd = confine_parent(s->export->root_fd, path, leaf)) < 0) {
		st = status_from_errno(errno);
		log_debug("%s: %s: parent: %s", s->peer, path, strerror(errno));
		return st;
	}
	return SYNC_OK;
}

/*
 * Checks the wire path into path and opens it read-only as a regular file
 * (confine_open_regular: never a link, FIFO or device): *fd and *sb on
 * success.  The empty path is ISDIR (the export root).  Returns SYNC_OK or
 * the failure status (nothing left open): ISDIR for a directory, INVAL for
 * anything else that is not a regular file.
 */
static sync_status
open_file(struct session *s, const sync_path *wire, char path[PATH_BUF], int *fd,
    struct stat *sb)
{
	const char *leaf;
	int pfd;
	sync_status st;

	*fd = -1;
	if ((st = open_parent(s, wire, SYNC_ERR_ISDIR, path, &pfd, &leaf)) != SYNC_OK)
		return st;
	if ((*fd = confine_open_regular(pfd, leaf, O_RDONLY, sb)) < 0) {
		st = status_from_errno(errno);
		log_debug("%s: open %s: %s", s->peer, path, strerror(errno));
	}
	close(pfd);
	return st;
}

/*
 * READ: up to min(count, SYNC_CHUNK_MAX) bytes of a regular file; eof when the
 * end was reached.  ISDIR for a directory, INVAL for any other non-file.
 */
void
op_read(struct session *s, const read_args *a, read_res *r)
{
	char path[PATH_BUF];
	struct stat sb;
	char *buf = NULL;
	size_t want;
	ssize_t got;
	int fd = -1;
	sync_status st;

	memset(r, 0, sizeof *r);
	if ((st = open_file(s, &a->path, path, &fd, &sb)) != SYNC_OK)
		goto out;
	if (a->offset > READ_OFFSET_MAX) {
		st = SYNC_ERR_INVAL;
		goto out;
	}
	want = a->count < SYNC_CHUNK_MAX ? a->count : SYNC_CHUNK_MAX;
	if (want > READ_OFFSET_MAX - a->offset)
		want = (size_t)(READ_OFFSET_MAX - a->offset);   /* offset + want stays an off_t */
	if (want != 0 && (buf = malloc(want)) == NULL) {
		log_err("%s: read %s: out of memory", s->peer, path);
		st = SYNC_ERR_SERVERFAULT;
		goto out;
	}
	if ((got = pread_full(fd, buf, want, a->offset)) < 0) {
		st = status_from_errno(errno);
		log_debug("%s: read %s: %s", s->peer, path, strerror(errno));
		goto out;
	}
	r->read_res_u.ok.eof = (size_t)got < want ||
	    a->offset + (uint64_t)got >= (uint64_t)sb.st_size;
	if (got == 0) {
		free(buf);
		buf = NULL;
	}
	r->read_res_u.ok.data.data_val = buf;
	r->read_res_u.ok.data.data_len = (u_int)got;
	buf = NULL;
	st = SYNC_OK;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	r->status = st;
}

/*
 * SIGNATURE: the block checksums of a regular file (common/delta.h), with
 * syncd's block size and strong sum length for its size.  INVAL for a file too large to describe
 * in SYNC_SIG_MAX blocks of at most DELTA_BLOCK_LIMIT bytes; IO if it
 * shrank while being read.
 */
void
op_signature(struct session *s, const signature_args *a, signature_res *r)
{
	signature_ok *ok = &r->signature_res_u.ok;
	char path[PATH_BUF];
	struct stat sb;
	uint32_t *weak = NULL;
	unsigned char *strong = NULL;
	uint64_t size, n;
	uint32_t bs, ss;
	int fd = -1;
	sync_status st;

	memset(r, 0, sizeof *r);
	if ((st = open_file(s, &a->path, path, &fd, &sb)) != SYNC_OK)
		goto out;
	size = (uint64_t)sb.st_size;
	if ((bs = delta_block_size(size)) == 0) {
		log_debug("%s: signature %s: %llu bytes is too large", s->peer, path,
		    (unsigned long long)size);
		st = SYNC_ERR_INVAL;
		goto out;
	}
	ss = delta_strong_size(size, bs);
	n = delta_block_count(size, bs);
	if (n != 0 && ((weak = calloc((size_t)n, sizeof *weak)) == NULL ||
	    (strong = malloc((size_t)n * ss)) == NULL)) {
		log_err("%s: signature %s: out of memory", s->peer, path);
		st = SYNC_ERR_SERVERFAULT;
		goto out;
	}
	if (delta_signature_fd(fd, size, bs, ss, weak, strong) != 0) {
		st = errno == ENODATA ? SYNC_ERR_IO : status_from_errno(errno);
		log_debug("%s: signature %s: %s", s->peer, path,
		    errno == ENODATA ? "file shrank while being read" : strerror(errno));
		goto out;
	}
	ok->block_size = bs;
	ok->file_size = size;
	ok->strong_size = ss;
	ok->weak.weak_len = (u_int)n;
	ok->weak.weak_val = weak;
	ok->strong.strong_len = (u_int)(n * ss);
	ok->strong.strong_val = (char *)strong;
	weak = NULL;
	strong = NULL;
	st = SYNC_OK;
out:
	free(weak);
	free(strong);
	if (fd >= 0)
		close(fd);
	r->status = st;
}

/* MKDIR: creates the directory (mode & SYNC_MODE_MASK); an existing directory is OK. */
sync_status
op_mkdir(struct session *s, const mkdir_args *a)
{
	char path[PATH_BUF];
	const char *leaf;
	struct stat sb;
	int pfd = -1;
	sync_status st;

	/* The export root always exists: success, like any existing directory. */
	if ((st = open_parent(s, &a->path, SYNC_OK, path, &pfd, &leaf)) != SYNC_OK ||
	    pfd < 0)
		goto out;
	if (mkdirat(pfd, leaf, (mode_t)(a->mode & SYNC_MODE_MASK)) == 0)
		goto out;
	st = status_from_errno(errno);
	if (errno == EEXIST && fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(sb.st_mode))
		st = SYNC_OK;           /* mode untouched: SETATTR's job */
out:
	if (pfd >= 0)
		close(pfd);
	return st;
}

/*
 * Checks a symlink target from the wire (non-empty, no NUL, at most
 * SYNC_PATH_MAX bytes) and copies it NUL-terminated into out.  The target
 * is stored verbatim: it is never resolved, so ".." or "/" in it are fine.
 */
static sync_status
target_check(const sync_path *t, char out[PATH_BUF])
{
	if (t->sync_path_len == 0 || t->sync_path_len > SYNC_PATH_MAX ||
	    t->sync_path_val == NULL || memchr(t->sync_path_val, '\0', t->sync_path_len) != NULL)
		return SYNC_ERR_INVAL;
	memcpy(out, t->sync_path_val, t->sync_path_len);
	out[t->sync_path_len] = '\0';
	return SYNC_OK;
}

/*
 * SYMLINK: creates the link at a temp name with its mtime and renames it over
 * the path (atomic replace).  ISDIR if a directory holds the name.
 */
sync_status
op_symlink(struct session *s, const symlink_args *a)
{
	char path[PATH_BUF], target[PATH_BUF], tmp[CONFINE_TEMP_BUF];
	struct timespec ts[2];
	const char *leaf;
	int pfd = -1, made = 0;
	sync_status st;

	if ((st = target_check(&a->target, target)) != SYNC_OK)
		goto out;
	if (a->mtime.nsec >= NSEC_PER_SEC) {
		st = SYNC_ERR_INVAL;
		goto out;
	}
	staging_flush(s);
	if ((st = open_parent(s, &a->path, SYNC_ERR_INVAL, path, &pfd, &leaf)) != SYNC_OK)
		goto out;
	for (int i = 0; i < TEMP_TRIES && !made; i++) {
		if (confine_temp_name(tmp) != 0)
			goto fail;
		if (symlinkat(target, pfd, tmp) == 0)
			made = 1;
		else if (errno != EEXIST)
			goto fail;
	}
	if (!made)
		goto fail;
	/* The mtime goes on the temp, so the link appears complete. */
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = (time_t)a->mtime.sec;
	ts[1].tv_nsec = (long)a->mtime.nsec;
	if (utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW) != 0)
		goto fail;
	/* Atomic replace; a directory under the final name gives EISDIR. */
	if (renameat(pfd, tmp, pfd, leaf) != 0)
		goto fail;
	made = 0;
	st = SYNC_OK;
	goto out;
fail:
	st = status_from_errno(errno);
	log_debug("%s: symlink %s: %s", s->peer, path, strerror(errno));
out:
	if (made && unlinkat(pfd, tmp, 0) != 0)
		log_err("%s: symlink %s: unlink temp: %s", s->peer, path, strerror(errno));
	if (pfd >= 0)
		close(pfd);
	return st;
}

/*
 * Sets the mode of name in dirfd without following a final symlink: fchmodat2
 * where the kernel has it, else glibc's race-free O_PATH emulation.  A link
 * gives EOPNOTSUPP.  Returns 0 or -1 with errno.
 */
static int
chmod_nofollow(int dirfd, const char *name, mode_t mode)
{
	if (syscall(SYS_fchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return -1;
	return fchmodat(dirfd, name, mode, AT_SYMLINK_NOFOLLOW);
}

/*
 * SETATTR: mode (& SYNC_MODE_MASK, not for links) and/or mtime of the path, never
 * through a link; the empty path is the export root.
 */
sync_status
op_setattr(struct session *s, const setattr_args *a)
{
	char path[PATH_BUF];
	struct timespec ts[2];
	struct stat sb;
	const char *leaf;
	int dfd = -1;
	sync_status st;

	if ((a->set & ~(u_int)(SYNC_SET_MODE | SYNC_SET_MTIME)) != 0 ||
	    ((a->set & SYNC_SET_MTIME) != 0 && a->mtime.nsec >= NSEC_PER_SEC)) {
		st = SYNC_ERR_INVAL;
		goto out;
	}
	staging_flush(s);
	if ((st = open_parent(s, &a->path, SYNC_OK, path, &dfd, &leaf)) != SYNC_OK)
		goto out;
	if (dfd < 0) {
		/* The export root itself: "." of a confined open of the root. */
		if ((dfd = confine_open(s->export->root_fd, "", O_PATH | O_DIRECTORY, 0)) < 0)
			goto fail;
		leaf = ".";
	}
	if (fstatat(dfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		goto fail;
	/*
	 * chmod and utimens act on the inode: for a hard-linked file that
	 * could be a file outside the export.  Refuse; a COMMIT (new inode,
	 * renamed into place) is the way to change such a file.
	 */
	if (S_ISREG(sb.st_mode) && sb.st_nlink > 1) {
		log_debug("%s: setattr %s: refused, %ju hard links", s->peer,
		    path, (uintmax_t)sb.st_nlink);
		st = SYNC_ERR_ACCES;
		goto out;
	}
	if ((a->set & SYNC_SET_MODE) != 0) {
		if (S_ISLNK(sb.st_mode)) {
			st = SYNC_ERR_INVAL;    /* a link has no mode of its own */
			goto out;
		}
		if (chmod_nofollow(dfd, leaf, (mode_t)(a->mode & SYNC_MODE_MASK)) != 0) {
			if (errno == EOPNOTSUPP)
				errno = EINVAL; /* became a link meanwhile */
			goto fail;
		}
	}
	if ((a->set & SYNC_SET_MTIME) != 0) {
		ts[0].tv_sec = 0;
		ts[0].tv_nsec = UTIME_OMIT;
		ts[1].tv_sec = (time_t)a->mtime.sec;
		ts[1].tv_nsec = (long)a->mtime.nsec;
		if (utimensat(dfd, leaf, ts, AT_SYMLINK_NOFOLLOW) != 0)
			goto fail;
	}
	st = SYNC_OK;
	goto out;
fail:
	st = status_from_errno(errno);
	log_debug("%s: setattr %s: %s", s->peer, path, strerror(errno));
out:
	if (dfd >= 0)
		close(dfd);
	return st;
}

static int remove_entry(int dirfd, const char *name, unsigned int depth);

/*
 * Removes everything inside the directory name of dirfd, depth levels below
 * the deleted path, opening it with O_NOFOLLOW so a link is never entered.
 * Returns 0 or -1 with errno.
 */
static int
empty_dir(int dirfd, const char *name, unsigned int depth)
{
	struct confine_names names = { 0 };
	struct stat sb, parent_sb;
	int fd, rc = -1, saved;

	if (depth > CONFINE_DEPTH_MAX) {
		log_warn("delete: tree deeper than %d levels", CONFINE_DEPTH_MAX);
		errno = EINVAL;
		return -1;
	}
	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	/* Never empty another filesystem mounted inside the export. */
	if (fstat(dirfd, &parent_sb) != 0 || fstat(fd, &sb) != 0)
		goto out;
	if (sb.st_dev != parent_sb.st_dev) {
		log_warn("delete: %s is a mount point; not descending", name);
		errno = EXDEV;
		goto out;
	}
	if (confine_read_names(fd, &names) != 0)
		goto out;
	for (size_t i = 0; i < names.n; i++)
		if (remove_entry(fd, names.v[i], depth + 1) != 0)
			goto out;
	rc = 0;
out:
	saved = errno;
	confine_names_free(&names);
	close(fd);
	errno = saved;
	return rc;
}

/*
 * Removes name from dirfd: unlinks a file, link or anything else; empties
 * and removes a directory.  A name that is already gone is success.
 * Returns 0 or -1 with errno.
 */
static int
remove_entry(int dirfd, const char *name, unsigned int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -1;
	if (empty_dir(dirfd, name, depth) != 0)
		return errno == ENOENT ? 0 : -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

/*
 * DELETE: removes a file, link or whole tree; missing is OK, the export root
 * is INVAL.  Never descends through a link.
 */
sync_status
op_delete(struct session *s, const delete_args *a)
{
	char path[PATH_BUF];
	const char *leaf;
	int pfd = -1;
	sync_status st;

	staging_flush(s);
	/* Deleting the export root is refused. */
	if ((st = open_parent(s, &a->path, SYNC_ERR_INVAL, path, &pfd, &leaf)) != SYNC_OK) {
		if (st == SYNC_ERR_NOENT)
			st = SYNC_OK;   /* a missing parent: nothing to delete */
		goto out;
	}
	if (remove_entry(pfd, leaf, 0) != 0) {
		st = status_from_errno(errno);
		log_debug("%s: delete %s: %s", s->peer, path, strerror(errno));
	}
out:
	if (pfd >= 0)
		close(pfd);
	return st;
}
