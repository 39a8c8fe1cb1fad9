/*
 * beneath.c -- the one openat2() call of both programs.
 *
 * Why a module of its own: the resolve flags are the security boundary of
 * syncd's exports and of syncctl's reads, so they are spelled once, here,
 * together with the details that are easy to get wrong at each call site:
 * openat2 takes no mode without O_CREAT/O_TMPFILE, does not accept "" as a
 * name, and may fail with EAGAIN when a rename races the lookup.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "beneath.h"

/* openat2 returns EAGAIN when a concurrent rename or mount races the walk. */
#define BENEATH_EAGAIN_TRIES 8

/* openat2 beneath dirfd, no symlinks, EAGAIN retried; fd or -1/errno (beneath.h). */
int
open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how;
	int fd = -1;

	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = (uint64_t)(mode & 07777);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	if (*rel == '\0')
		rel = ".";
	for (int i = 0; i < BENEATH_EAGAIN_TRIES; i++) {
		fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd;
}
