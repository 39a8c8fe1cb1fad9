/*
 * confine.c -- the only code in syncd that resolves a client-supplied name.
 *
 * Why a module of its own: a file server is only as safe as its narrowest
 * path lookup.  Lexical checks (path_check) reject malformed names, but only
 * the kernel can say whether a name that looks harmless crosses a symlink or
 * leaves the export at the moment it is opened.  openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS gives exactly
 * that guarantee, atomically with the open, so there is no window between a
 * check and a use.  Everything else in the server acts on the descriptors
 * handed out here, with *at() calls on single, already-checked components.
 *
 * Policy: symlinks are stored, listed and deleted, but never traversed, not
 * even ones that point back inside the export.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "beneath.h"
#include "confine.h"
#include "log.h"

/* Judges the wire path with path_check(); SYNC_OK with out filled, else BADPATH. */
sync_status
confine_path(const sync_path *wire, char out[PATH_BUF])
{
	if (wire == NULL || (wire->sync_path_len != 0 && wire->sync_path_val == NULL))
		return SYNC_ERR_BADPATH;
	if (path_check(wire->sync_path_val, wire->sync_path_len, out) != 0)
		return SYNC_ERR_BADPATH;
	return SYNC_OK;
}

/* open_beneath(), O_NOFOLLOW unless O_PATH, failures logged (confine.h). */
int
confine_open(int root_fd, const char *relpath, int flags, mode_t mode)
{
	int fd, saved;

	if ((flags & O_PATH) == 0)
		flags |= O_NOFOLLOW;
	fd = open_beneath(root_fd, relpath, flags, mode);
	if (fd < 0) {
		saved = errno;
		log_debug("confine: open '%s': %s", *relpath != '\0' ? relpath : ".",
		    strerror(saved));
		errno = saved;
	}
	return fd;
}

/* Returns the errno for "a regular file was expected, mode was found". */
static int
not_regular_errno(mode_t mode)
{
	return S_ISDIR(mode) ? EISDIR : EINVAL;
}

/* An fd of the regular file leaf in dirfd, never a link or device (confine.h). */
int
confine_open_regular(int dirfd, const char *leaf, int flags, struct stat *sb)
{
	int fd, saved;

	if (fstatat(dirfd, leaf, sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT || !(flags & O_CREAT))
			return -1;
	} else if (!S_ISREG(sb->st_mode)) {
		errno = not_regular_errno(sb->st_mode);
		return -1;
	}
	fd = openat(dirfd, leaf, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == ELOOP)
			errno = EINVAL;         /* became a symlink meanwhile */
		return -1;
	}
	if (fstat(fd, sb) != 0)
		goto fail;
	if (!S_ISREG(sb->st_mode)) {
		errno = not_regular_errno(sb->st_mode);
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* O_PATH fd of relpath's parent through confine_open, *leaf its last component. */
int
confine_parent(int root_fd, const char *relpath, const char **leaf)
{
	char parent[PATH_BUF];

	if (path_split(relpath, parent, leaf) != 0) {
		errno = EINVAL;
		return -1;
	}
	return confine_open(root_fd, parent, O_PATH | O_DIRECTORY, 0);
}

/*
 * Random bytes for temp names, drawn from getrandom() a pool at a time: a
 * syscall per file was measurable on pushes of many small files, and a
 * thread-local pool keeps every name as unpredictable as before with no lock.
 */
#define TEMP_POOL 512

/* A fresh random temp name into out; 0, or -1 with errno. */
int
confine_temp_name(char out[CONFINE_TEMP_BUF])
{
	static _Thread_local unsigned char pool[TEMP_POOL];
	static _Thread_local size_t used = TEMP_POOL;
	const unsigned char *rnd;

	if (used + 8 > TEMP_POOL) {
		size_t got = 0;

		while (got < TEMP_POOL) {
			ssize_t n = getrandom(pool + got, TEMP_POOL - got, 0);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				log_err("getrandom: %s", strerror(errno));
				return -1;
			}
			got += (size_t)n;
		}
		used = 0;
	}
	rnd = pool + used;
	used += 8;
	snprintf(out, CONFINE_TEMP_BUF, "%s%02x%02x%02x%02x%02x%02x%02x%02x",
	    PATH_TEMP_PREFIX, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	    rnd[6], rnd[7]);
	return 0;
}

/* qsort comparator: bytewise order of two name pointers. */
static int
names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Appends name to the growing arena *buf (used bytes *used, capacity *cap)
 * and its offset to *offs (count *n, capacity *ocap).  Returns 0 or -1 with
 * errno ENOMEM.
 */
static int
names_push(const char *name, char **buf, size_t *used, size_t *cap,
    size_t **offs, size_t *n, size_t *ocap)
{
	size_t len = strlen(name) + 1;

	if (*used + len > *cap) {
		size_t ncap = *cap != 0 ? *cap * 2 : 4096;
		char *p;

		while (ncap < *used + len)
			ncap *= 2;
		if ((p = realloc(*buf, ncap)) == NULL)
			return -1;
		*buf = p;
		*cap = ncap;
	}
	if (*n == *ocap) {
		size_t nocap = *ocap != 0 ? *ocap * 2 : 64;
		size_t *p = reallocarray(*offs, nocap, sizeof **offs);

		if (p == NULL)
			return -1;
		*offs = p;
		*ocap = nocap;
	}
	memcpy(*buf + *used, name, len);
	(*offs)[(*n)++] = *used;
	*used += len;
	return 0;
}

/* All names of the directory dirfd, sorted; 0, or -1 with errno and out empty. */
int
confine_read_names(int dirfd, struct confine_names *out)
{
	DIR *d = NULL;
	struct dirent *de;
	char *buf = NULL;
	size_t used = 0, cap = 0, n = 0, ocap = 0, *offs = NULL;
	int fd, rc = -1, saved;

	memset(out, 0, sizeof *out);
	/* A fresh open file description: dirfd may be O_PATH, and its offset stays ours. */
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto out;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				goto out;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (names_push(de->d_name, &buf, &used, &cap, &offs, &n, &ocap) != 0)
			goto out;
	}
	if (n != 0) {
		if ((out->v = calloc(n, sizeof *out->v)) == NULL)
			goto out;
		for (size_t i = 0; i < n; i++)
			out->v[i] = buf + offs[i];
		qsort(out->v, n, sizeof *out->v, names_cmp);
	}
	out->n = n;
	out->buf = buf;
	buf = NULL;
	rc = 0;
out:
	saved = errno;
	if (d != NULL)
		closedir(d);
	free(buf);
	free(offs);
	errno = saved;
	return rc;
}

/* Frees names and leaves it empty. */
void
confine_names_free(struct confine_names *names)
{
	free(names->v);
	free(names->buf);
	memset(names, 0, sizeof *names);
}
