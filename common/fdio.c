/*
 * fdio.c -- the one short-read loop (see fdio.h).
 */
#include <errno.h>
#include <unistd.h>

#include "fdio.h"

ssize_t
pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}
