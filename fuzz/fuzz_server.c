/*
 * fuzz_server.c -- libFuzzer harness: the whole server stack over a socket.
 *
 * Why: the decoders alone miss what happens after them -- record marking,
 * the credential check, the dispatcher's gates, the procedures themselves on
 * a real directory, session teardown.  Each input is the byte stream a
 * client sends on one connection: the harness hands one end of a socketpair
 * to conn_start() (syncd's own connection thread), writes the input to the
 * other end while draining the replies, closes it, and waits for the
 * connection to end.  Exports: "default" (read-write, the stage of
 * fuzzlib.h), "ro" (the same directory, read-only) and "auth" (the same,
 * behind a secrets file).  Oracle: no crash, no leak, no sanitizer report,
 * the sentinel outside untouched, no reply carrying its contents, the
 * connection always ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../server/config.h"
#include "../server/conn.h"
#include "../server/partial.h"
#include "fuzzlib.h"
#include "log.h"
#include "monotime.h"

#define WAIT_MS 10000           /* an input taking longer is a hang: abort */
#define FILE_MAX (16 << 20)     /* RLIMIT_FSIZE: the largest file an input may make */

static struct config cfg;

/*
 * Builds the configuration once: three exports over the stage.  Files are
 * limited to FILE_MAX bytes (a WRITE beyond fails with EFBIG, SIGXFSZ
 * ignored): a few bytes WRITTEN far out make a sparse file that COMMIT's
 * hash, PARTIAL, SIGNATURE or LIST's hashes read whole, which in syncd
 * costs time in proportion to the file's size, not to what the client
 * sent, and would trip WAIT_MS here (a known limit, not a finding).
 */
static void
setup(void)
{
	const struct fz_stage *st = fz_setup();
	const struct rlimit fsize = { FILE_MAX, FILE_MAX };
	char text[512], err[256];

	if (cfg.nexports != 0)
		return;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &fsize) != 0)
		abort();
	log_set_level(LOG_CRIT);        /* quiet: inputs provoke errors by the million */
	snprintf(text, sizeof text, "[default]\npath = %s\n[ro]\npath = %s\nread only = yes\n"
	    "[auth]\npath = %s\nsecrets file = /nonexistent\n", st->export, st->export,
	    st->export);
	if (config_parse(text, "fuzz", &cfg, err, sizeof err) != 0 ||
	    secrets_parse("alice:secret\n", "fuzz", &cfg.exports[2].secrets, err,
	    sizeof err) != 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	for (size_t i = 0; i < cfg.nexports; i++)
		cfg.exports[i].root_fd = st->export_fd;
	/*
	 * Partials are kept as by default, so that a switch of export can
	 * leave one to PARTIAL and RESUME.  The expiry thread is not started:
	 * the list of kept ones fills up (PARTIALS_MAX, a bounded array)
	 * and then partials are removed at once, as syncd does when it is full.
	 */
	partials_set_config(&cfg);
	conn_set_config(&cfg);          /* never dropped to 0: cfg is static */
}

/*
 * Sends the input on fd while reading (and dropping) whatever comes back,
 * then half-closes and reads until the server closes its end.
 */
static void
converse(int fd, const uint8_t *data, size_t size)
{
	long long deadline = monotime_ms() + WAIT_MS;
	size_t sent = 0;
	int shut = 0;
	char buf[65536];

	for (;;) {
		struct pollfd pfd = { fd, POLLIN | (sent < size ? POLLOUT : 0), 0 };
		long long left = deadline - monotime_ms();

		if (left <= 0) {
			fprintf(stderr, "fuzz: the connection did not end within %d ms\n", WAIT_MS);
			abort();
		}
		if (sent == size && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			abort();
		if (pfd.revents & POLLOUT) {
			ssize_t n = write(fd, data + sent, size - sent);

			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = size;    /* the server hung up: stop sending */
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(fd, buf, sizeof buf);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return;
			if (n > 0 && memmem(buf, (size_t)n, "OUTSIDE", 7) != NULL) {
				fprintf(stderr, "fuzz: a reply carried bytes of a file outside the export\n");
				abort();
			}
		}
	}
}

/* Waits (bounded) until no connection thread is left. */
static void
wait_idle(void)
{
	long long deadline = monotime_ms() + WAIT_MS;
	struct timespec tick = { 0, 100000 };

	while (conn_count() != 0) {
		if (monotime_ms() > deadline) {
			fprintf(stderr, "fuzz: the connection thread did not end\n");
			abort();
		}
		nanosleep(&tick, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in peer = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(1) };
	int sv[2];

	setup();
	fz_reset();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
		abort();
	if (conn_start(sv[0], "fuzz", (struct sockaddr *)&peer, sizeof peer) != 0)
		abort();
	converse(sv[1], data, size);
	close(sv[1]);
	wait_idle();
	fz_check_outside();
	return 0;
}
