/*
 * fdio.c -- the one short-read loop and the one small-file reader (fdio.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int
fdio_read_text(const char *file, size_t max, unsigned int flags, char **text,
    size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = -1;

	*text = NULL;
	*len = 0;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", file);
		goto out;
	}
	if ((flags & FDIO_PRIVATE) && (sb.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: group or others may access it (chmod 600)", file);
		goto out;
	}
	/* One byte more than allowed detects a file that grew meanwhile. */
	if ((uint64_t)sb.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", file, max);
		goto out;
	}
	if ((buf = malloc(max + 2)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			snprintf(err, errlen, "%s: larger than %zu bytes", file, max);
			goto out;
		}
	}
	if (memchr(buf, '\0', got) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", file);
		goto out;
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, got);       /* it may have held a secret */
		free(buf);
	}
	close(fd);
	return rc;
}
