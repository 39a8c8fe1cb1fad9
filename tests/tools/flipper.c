/*
 * flipper.c -- swaps two directory entries as fast as it can, for races.
 *
 * Why it exists: the server must never follow a symlink out of an export,
 * even when a local user swaps a directory for a symlink between the
 * server's checks and its uses.  This tool plays that user: it exchanges
 * the entries A and B of DIR (renameat2 RENAME_EXCHANGE: both names always
 * exist, atomically swapped) until SECONDS have passed, so a test can run
 * many operations against the flipping name and then check that nothing
 * outside the export changed.
 *
 *   flipper DIR A B SECONDS
 *
 * Stops early on SIGTERM.  Prints "flips=N" at the end.  Exit: 0, or 2 on
 * usage or setup errors.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static volatile sig_atomic_t stop;

/* SIGTERM: finish the current exchange, then report. */
static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct timespec start, now;
	unsigned long flips = 0;
	double secs;
	int dfd;

	if (argc != 5 || (secs = atof(argv[4])) <= 0 || secs > 600) {
		fprintf(stderr, "usage: flipper DIR A B SECONDS (0 < SECONDS <= 600)\n");
		return 2;
	}
	if ((dfd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(argv[1]);
		return 2;
	}
	signal(SIGTERM, on_term);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop) {
		if (renameat2(dfd, argv[2], dfd, argv[3], RENAME_EXCHANGE) == 0)
			flips++;
		if ((flips & 255) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((double)(now.tv_sec - start.tv_sec) +
			    (double)(now.tv_nsec - start.tv_nsec) / 1e9 >= secs)
				break;
		}
	}
	printf("flips=%lu\n", flips);
	close(dfd);
	return 0;
}
