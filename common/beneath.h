/*
 * beneath.h -- open a name relative to a directory without ever leaving it.
 *
 * Both programs open names they did not choose: syncd those a client sends,
 * syncctl those it found while walking a tree that may change under it.  The
 * kernel's openat2() with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS refuses, atomically with the open, any name that
 * climbs out of the directory or crosses a symlink.  This is the one place
 * that issues that call; policy (extra flags, logging) stays with the callers.
 */
#ifndef RPCSYNC_BENEATH_H
#define RPCSYNC_BENEATH_H

#include <sys/types.h>

/*
 * Opens rel relative to dirfd with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): no component may leave
 * dirfd's tree (EXDEV) or be a symlink (ELOOP; a final symlink only if the
 * caller's flags do not ask for the link itself).  O_CLOEXEC is always added.
 * mode (permission bits) is used only with O_CREAT or O_TMPFILE.  The empty
 * rel opens dirfd's directory itself.  Retries a bounded number of times on
 * EAGAIN (a concurrent rename or mount raced the lookup).  Logs nothing.
 * Returns the fd, or -1 with errno.
 */
int open_beneath(int dirfd, const char *rel, int flags, mode_t mode);

#endif
