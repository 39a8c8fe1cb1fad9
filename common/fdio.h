/*
 * fdio.h -- reading a whole range from a file descriptor, or a whole small
 * file.
 *
 * pread() may return fewer bytes than asked (signals, some filesystems);
 * every caller that needs "all of it unless the file ends" goes through
 * this one loop instead of writing its own.  Likewise the configuration and
 * secret files both programs read are taken in whole by one function that
 * applies the same checks to all of them.
 */
#ifndef RPCSYNC_FDIO_H
#define RPCSYNC_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Reads len bytes at offset off of fd into buf, retrying short reads and
 * EINTR.  Returns the count read (less than len only at end of file), or -1
 * with errno.
 */
ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off);

/* fdio_read_text() flag: refuse a file that group or others may access. */
#define FDIO_PRIVATE 1

/*
 * Reads the whole of file, a regular file of at most max bytes with no NUL
 * byte, into a fresh NUL-terminated buffer (*text, *len bytes before the
 * NUL; the caller frees it).  With FDIO_PRIVATE in flags the open file must
 * not be accessible by group or others.  Returns 0, or -1 with "FILE:
 * reason" in err.
 */
int fdio_read_text(const char *file, size_t max, unsigned int flags, char **text,
    size_t *len, char *err, size_t errlen);

#endif
