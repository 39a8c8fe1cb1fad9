/*
 * notifysink.c -- stands in for the service manager's notification socket.
 *
 *   notifysink PATH
 *
 * Why it exists: syncd tells systemd READY/RELOADING/STOPPING by datagrams
 * to $NOTIFY_SOCKET, and there is no systemd as PID 1 in the tests.  This
 * binds an AF_UNIX datagram socket at PATH ("@name": in the abstract
 * namespace, as $NOTIFY_SOCKET may say) and prints every datagram it
 * receives as one line, its newlines turned into spaces ("READY=1
 * STATUS=serving"), flushed at once.  It prints "listening" when bound, and
 * exits 0 on SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act;
	char buf[4096];
	socklen_t salen;
	int fd, abstract;

	if (argc != 2 || strlen(argv[1]) >= sizeof sa.sun_path) {
		fprintf(stderr, "usage: notifysink PATH\n");
		return 2;
	}
	memset(&act, 0, sizeof act);
	act.sa_handler = on_signal;         /* no SA_RESTART: recv returns EINTR */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	memcpy(sa.sun_path, argv[1], strlen(argv[1]));
	abstract = argv[1][0] == '@';
	if (abstract)
		sa.sun_path[0] = '\0';
	else
		unlink(argv[1]);
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(argv[1]));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, salen) != 0) {
		perror("notifysink");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	while (!stop) {
		ssize_t n = recv(fd, buf, sizeof buf - 1, 0);

		if (n < 0)
			continue;               /* EINTR: the loop checks stop */
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		printf("%s\n", buf);
		fflush(stdout);
	}
	close(fd);
	if (!abstract)
		unlink(argv[1]);
	return 0;
}
