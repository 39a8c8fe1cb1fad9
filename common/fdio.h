/*
 * fdio.h -- reading a whole range from a file descriptor.
 *
 * pread() may return fewer bytes than asked (signals, some filesystems);
 * every caller that needs "all of it unless the file ends" goes through
 * this one loop instead of writing its own.
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

#endif
