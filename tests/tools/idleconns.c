/*
 * idleconns.c -- holds many idle connections open, for descriptor floods.
 *
 * Why it exists: a daemon whose open-file limit is smaller than the number
 * of clients must neither lock new clients out nor spin on accept() when
 * idle connections have taken every descriptor.  This opens N TCP
 * connections to 127.0.0.1:PORT, sends nothing, and holds them until
 * SIGTERM or until SECONDS have passed, so a test can measure the daemon
 * meanwhile.  Connections the daemon closes stay open on this side.
 *
 *   idleconns PORT N SECONDS      (N up to 4096, SECONDS up to 600)
 *
 * Prints "open=N" once every connection is made.  Exit: 0, or 2 on usage
 * or connection errors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 4096

int
main(int argc, char **argv)
{
	struct timespec tmo = { 0, 0 };
	struct sockaddr_in sin;
	struct rlimit rl;
	sigset_t set;
	long n;
	int rc = 2;

	if (argc != 4 || (n = atol(argv[2])) <= 0 || n > CONNS_MAX ||
	    (tmo.tv_sec = atol(argv[3])) <= 0 || tmo.tv_sec > 600) {
		fprintf(stderr, "usage: idleconns PORT N SECONDS (N <= %d, SECONDS <= 600)\n",
		    CONNS_MAX);
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 16) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n + 16 ? rl.rlim_max : (rlim_t)n + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
			perror("idleconns: connect");
			goto out;
		}
	}
	printf("open=%ld\n", n);
	fflush(stdout);
	sigtimedwait(&set, NULL, &tmo);
	rc = 0;
out:
	return rc;     /* the descriptors close at exit */
}
