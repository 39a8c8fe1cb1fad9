/*
 * notify.c -- tells the service manager how syncd is doing (sd_notify).
 *
 * Why hand-written: the protocol is one datagram of "KEY=value" lines to
 * the AF_UNIX socket named by $NOTIFY_SOCKET, and libsystemd would be a
 * dependency (and a few hundred KiB of RSS) for a dozen lines.  Without
 * $NOTIFY_SOCKET (not under systemd, or not Type=notify) it does nothing.
 * A name starting with '@' is in the abstract namespace.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

/*
 * Sends the datagram state to $NOTIFY_SOCKET.  Returns 0 (also when there
 * is no manager to tell), or -1 if it could not be sent (logged once).
 */
static int
notify_send(const char *state)
{
	static int warned;
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t salen;
	int fd, rc = -1;

	if (path == NULL || path[0] == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) {
		errno = EINVAL;
		goto out;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		goto out;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) >= 0)
		rc = 0;
	close(fd);
out:
	if (rc != 0 && !warned) {
		warned = 1;
		log_warn("cannot notify the service manager at %s: %s", path, strerror(errno));
	}
	return rc;
}

void
notify_ready(void)
{
	(void)notify_send("READY=1\nSTATUS=serving");
}

void
notify_reloading(void)
{
	struct timespec ts;
	char state[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	(void)notify_send(state);
}

void
notify_stopping(void)
{
	(void)notify_send("STOPPING=1\nSTATUS=draining sessions");
}
