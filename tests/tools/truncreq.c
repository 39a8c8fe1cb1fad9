/*
 * truncreq.c -- many connections, each sending a cut-off request.
 *
 * Why it exists: a server that leaks a little per malformed request (a
 * buffer, a descriptor, a thread) dies slowly under a stream of them.  This
 * opens N connections to 127.0.0.1:PORT one after another; each sends a
 * record mark announcing 1000 bytes, a few of them, and closes.  At most
 * INFLIGHT connections are open at once, so the server's connection cap is
 * not what the test measures.
 *
 *   truncreq PORT N [INFLIGHT]      (INFLIGHT defaults to 1)
 *
 * Prints "sent=N".  Exit: 0, or 2 on usage or connection errors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define INFLIGHT_MAX 64

int
main(int argc, char **argv)
{
	static const unsigned char req[] = { 0x80, 0x00, 0x03, 0xe8, 't', 'r', 'u', 'n', 'c' };
	int fds[INFLIGHT_MAX];
	struct sockaddr_in sin;
	long n, inflight = 1, sent = 0;

	if (argc < 3 || argc > 4 || (n = atol(argv[2])) <= 0 || n > 10000000 ||
	    (argc == 4 && ((inflight = atol(argv[3])) < 1 || inflight > INFLIGHT_MAX))) {
		fprintf(stderr, "usage: truncreq PORT N [INFLIGHT 1-%d]\n", INFLIGHT_MAX);
		return 2;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (long i = 0; i < inflight; i++)
		fds[i] = -1;
	for (long i = 0; i < n; i++) {
		int *fd = &fds[i % inflight];

		if (*fd >= 0)
			close(*fd);
		if ((*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    connect(*fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
			perror("truncreq: connect");
			return 2;
		}
		if (write(*fd, req, sizeof req) == (ssize_t)sizeof req)
			sent++;
	}
	for (long i = 0; i < inflight; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	printf("sent=%ld\n", sent);
	return 0;
}
