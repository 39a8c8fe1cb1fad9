/*
 * confine.h -- the confinement layer: the only way from a client-supplied
 * name to a file descriptor.
 *
 * Every path from the wire is judged by path_check() (confine_path) and then
 * resolved by the kernel with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) relative to the export's root fd.  The kernel, not a
 * lexical check, guarantees that no component leaves the export and that no
 * symlink is followed: a symlink anywhere in the path fails with ELOOP and an
 * escape with EXDEV, both of which status_from_errno() turns into
 * SYNC_ERR_BADPATH.  Operations on a final component open its parent this way
 * and then act with *at(parent_fd, leaf, ...) and AT_SYMLINK_NOFOLLOW or
 * O_NOFOLLOW, so a name is never resolved twice by path.
 *
 * The helpers below the line work on directory fds the caller already holds
 * (directory reading, temp names); they never resolve a client path.
 */
#ifndef RPCSYNC_CONFINE_H
#define RPCSYNC_CONFINE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "path.h"
#include "sync.h"

/* Deepest directory nesting that any walk (LIST, DELETE, sweep) enters. */
#define CONFINE_DEPTH_MAX 1024

/* PATH_TEMP_PREFIX, 16 hex digits and a NUL. */
#define CONFINE_TEMP_BUF (sizeof(PATH_TEMP_PREFIX) + 16)

/*
 * Checks the wire path and copies it, NUL-terminated, into out.  Returns
 * SYNC_OK, or SYNC_ERR_BADPATH if path_check() refuses it.
 */
sync_status confine_path(const sync_path *wire, char out[PATH_BUF]);

/*
 * Opens relpath (already checked by confine_path) beneath root_fd with
 * open_beneath() (common/beneath.h): openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), O_CLOEXEC always added, mode
 * used only with O_CREAT or O_TMPFILE, the empty relpath opening the root
 * itself, EAGAIN retried a bounded number of times.  Without O_PATH,
 * O_NOFOLLOW is added too, so a symlink as the last component fails with
 * ELOOP.  With O_PATH the caller chooses: O_PATH alone refuses a final
 * symlink (ELOOP), O_PATH|O_NOFOLLOW returns a handle on the link itself.
 * A failure is logged at debug level.  Returns the fd, or -1 with errno.
 */
int confine_open(int root_fd, const char *relpath, int flags, mode_t mode);

/*
 * Opens the parent directory of the non-empty relpath (already checked) as an
 * O_PATH|O_DIRECTORY fd, through confine_open, and points *leaf at the last
 * component inside relpath.  Usable as the dirfd of any *at() call, not for
 * reading the directory.  Returns the fd, or -1 with errno (EINVAL for the
 * empty path, which has no parent).
 */
int confine_parent(int root_fd, const char *relpath, const char **leaf);

/* ---- helpers on descriptors the caller already holds ---- */

/*
 * Opens the entry leaf (one component) of the directory dirfd with flags
 * (O_RDONLY or O_RDWR; with O_CREAT a missing one is created, mode 0600) if
 * it is a regular file: looks first (fstatat, AT_SYMLINK_NOFOLLOW) so a FIFO
 * or device is never opened, opens with O_NOFOLLOW|O_NONBLOCK|O_NOCTTY, and
 * checks again on the open fd, which is what decides.  *sb gets the open
 * file's attributes.  Returns the fd, or -1 with errno: EISDIR for a
 * directory, EINVAL for a symlink or any other non-regular entry.
 */
int confine_open_regular(int dirfd, const char *leaf, int flags, struct stat *sb);

/*
 * Writes a fresh temp name, PATH_TEMP_PREFIX followed by 16 random hex
 * digits (getrandom, a pool per thread), into out.  Returns 0, or -1 with
 * errno.
 */
int confine_temp_name(char out[CONFINE_TEMP_BUF]);

/* The entry names of one directory, sorted bytewise, without "." and "..". */
struct confine_names {
	char  **v;          /* v[0..n-1] point into buf */
	size_t  n;
	char   *buf;
};

/*
 * Reads every name of the directory open as dirfd (any fd of a directory,
 * O_PATH included; it is reopened as "." so its own offset is untouched) into
 * out, sorted with strcmp.  Returns 0, or -1 with errno and out empty.
 */
int confine_read_names(int dirfd, struct confine_names *out);

/* Frees what confine_read_names() filled in and empties it. */
void confine_names_free(struct confine_names *names);

#endif
