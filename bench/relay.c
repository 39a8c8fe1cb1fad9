/*
 * relay.c -- a TCP relay for the benchmark: adds latency, counts bytes.
 *
 *   relay -l LISTEN_PORT -t TARGET_PORT [-d DELAY_MS]
 *
 * Why it exists: loopback has no latency and these machines have no netem,
 * yet round trips are what a real network charges for.  So each tool dials
 * this relay (on 127.0.0.1:LISTEN_PORT), which connects to its server (on
 * 127.0.0.1:TARGET_PORT) and holds every byte DELAY_MS in each direction,
 * like a link with a round-trip time of 2 x DELAY_MS.  With -d 0 it is a
 * plain byte counter, the one way bytes on the wire are measured for both
 * tools (TCP payload in each direction, whatever the protocol).
 *
 * How: one thread, one poll loop.  Each direction of each connection is a
 * delay line: what is read is stamped "due at arrival + delay" and kept in a
 * bounded ring (RING_SIZE bytes, MARKS stamps) until due, then written.
 * When the ring is full that side is not read, so TCP flow control slows the
 * sender instead of the relay growing (throughput is then bounded by
 * RING_SIZE / delay, 670 MB/s at 25 ms).  EOF is forwarded (shutdown) after
 * the same delay.  Both sockets get TCP_NODELAY: the relay adds no batching.
 *
 * Output (stdout, one line each, flushed): "listening PORT" once ready;
 * "conn N up BYTES down BYTES" when connection N ends (up = client to
 * server); on SIGTERM or SIGINT "total up BYTES down BYTES conns N", then exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING_SIZE (16u << 20)   /* bytes held per direction */
#define MARKS     65536u        /* reads held per direction */
#define READ_MAX  (256u << 10)  /* bytes per read() */
#define CONNS_MAX 16
#define NS_PER_MS 1000000LL

/* A read that is waiting: the stream offset it ends at, and when it is due. */
struct mark {
	uint64_t end;
	int64_t  due;
};

/* One direction of a connection: bytes read from `in` wait to go to `out`. */
struct line {
	int          in, out;
	char        *ring;
	uint64_t     rd, wr, ready; /* stream offsets: read, written, releasable */
	struct mark *marks;
	unsigned     mhead, mcount;
	int          eof;           /* `in` has reached EOF ... */
	int64_t      eof_due;       /* ... which is forwarded at this time */
	int          shut;          /* shutdown(out, SHUT_WR) done */
	int          want_out;      /* the last write would have blocked */
};

/* A relayed connection: up = client to server, down = server to client. */
struct conn {
	int         used;
	unsigned    id;
	int         cfd, sfd;
	struct line up, down;
};

static volatile sig_atomic_t stop;
static struct conn conns[CONNS_MAX];
static uint64_t total_up, total_down;
static unsigned nconns;

/* Records that a stop signal arrived. */
static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Returns CLOCK_MONOTONIC in nanoseconds. */
static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Parses s as a port or delay in [0, max]; exits with a message if not. */
static long
parse_num(const char *s, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		fprintf(stderr, "relay: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

/* Makes fd non-blocking with TCP_NODELAY.  Returns 0 or -1. */
static int
tune_socket(int fd)
{
	int one = 1, fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Returns a loopback IPv4 address with the given port. */
static struct sockaddr_in
loopback(long port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* Sets up an empty line from in to out.  Returns 0, or -1 if out of memory. */
static int
line_init(struct line *l, int in, int out)
{
	memset(l, 0, sizeof *l);
	l->in = in;
	l->out = out;
	l->ring = malloc(RING_SIZE);
	l->marks = malloc(MARKS * sizeof *l->marks);
	return l->ring != NULL && l->marks != NULL ? 0 : -1;
}

/* Ends connection c: logs its byte counts, closes both sockets, frees it. */
static void
conn_end(struct conn *c)
{
	printf("conn %u up %llu down %llu\n", c->id,
	    (unsigned long long)c->up.rd, (unsigned long long)c->down.rd);
	fflush(stdout);
	total_up += c->up.rd;
	total_down += c->down.rd;
	close(c->cfd);
	close(c->sfd);
	free(c->up.ring);
	free(c->up.marks);
	free(c->down.ring);
	free(c->down.marks);
	memset(c, 0, sizeof *c);
}

/*
 * Accepts one client on lfd and connects it to the target port.  A client
 * over CONNS_MAX, or whose server cannot be reached, is closed at once.
 */
static void
accept_one(int lfd, long target)
{
	struct sockaddr_in sa = loopback(target);
	struct conn *c = NULL;
	int cfd, sfd, i;

	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	for (i = 0; i < CONNS_MAX && c == NULL; i++)
		if (!conns[i].used)
			c = &conns[i];
	sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c == NULL || sfd < 0
	    || connect(sfd, (struct sockaddr *)&sa, sizeof sa) < 0
	    || tune_socket(cfd) < 0 || tune_socket(sfd) < 0) {
		fprintf(stderr, "relay: dropping a client: %s\n",
		    c == NULL ? "too many connections" : strerror(errno));
		close(cfd);
		if (sfd >= 0)
			close(sfd);
		return;
	}
	c->used = 1;
	c->id = ++nconns;
	c->cfd = cfd;
	c->sfd = sfd;
	if (line_init(&c->up, cfd, sfd) < 0 || line_init(&c->down, sfd, cfd) < 0) {
		fprintf(stderr, "relay: out of memory\n");
		conn_end(c);
	}
}

/* Returns non-zero if l has room to read more. */
static int
line_can_read(const struct line *l)
{
	return !l->eof && l->rd - l->wr < RING_SIZE && l->mcount < MARKS;
}

/*
 * Reads what `in` has into l's ring, stamped due at now + delay.  Returns 0,
 * or -1 if the connection failed.
 */
static int
line_read(struct line *l, int64_t now, int64_t delay)
{
	size_t pos = (size_t)(l->rd % RING_SIZE), room, want;
	ssize_t n;
	struct mark *m;

	room = RING_SIZE - (size_t)(l->rd - l->wr);
	want = RING_SIZE - pos;                 /* contiguous up to the wrap */
	if (want > room)
		want = room;
	if (want > READ_MAX)
		want = READ_MAX;
	n = read(l->in, l->ring + pos, want);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0) {
		l->eof = 1;
		l->eof_due = now + delay;
		return 0;
	}
	l->rd += (uint64_t)n;
	m = &l->marks[(l->mhead + l->mcount) % MARKS];
	m->end = l->rd;
	m->due = now + delay;
	l->mcount++;
	return 0;
}

/*
 * Writes what is due in l to `out`, and forwards a due EOF.  Returns 0, or
 * -1 if the connection failed.
 */
static int
line_write(struct line *l, int64_t now)
{
	size_t pos, n;
	ssize_t w;

	while (l->mcount > 0 && l->marks[l->mhead].due <= now) {
		l->ready = l->marks[l->mhead].end;
		l->mhead = (l->mhead + 1) % MARKS;
		l->mcount--;
	}
	l->want_out = 0;
	while (l->wr < l->ready) {
		pos = (size_t)(l->wr % RING_SIZE);
		n = (size_t)(l->ready - l->wr);
		if (n > RING_SIZE - pos)
			n = RING_SIZE - pos;
		w = send(l->out, l->ring + pos, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			l->want_out = 1;
			return 0;
		}
		if (w < 0)
			return -1;
		l->wr += (uint64_t)w;
	}
	if (l->eof && !l->shut && l->wr == l->rd && l->eof_due <= now) {
		shutdown(l->out, SHUT_WR);
		l->shut = 1;
	}
	return 0;
}

/* Returns when l next has something due (INT64_MAX if nothing waits). */
static int64_t
line_next_due(const struct line *l)
{
	if (l->mcount > 0)
		return l->marks[l->mhead].due;
	if (l->eof && !l->shut && l->wr == l->rd)
		return l->eof_due;
	return INT64_MAX;
}

/* Services connection c after poll: p = its client and server pollfds. */
static void
conn_service(struct conn *c, const struct pollfd *p, int64_t delay)
{
	int64_t now = now_ns();
	const short in = POLLIN | POLLHUP | POLLERR;

	if ((p[0].revents & in) && line_can_read(&c->up)
	    && line_read(&c->up, now, delay) < 0)
		goto dead;
	if ((p[1].revents & in) && line_can_read(&c->down)
	    && line_read(&c->down, now, delay) < 0)
		goto dead;
	if (line_write(&c->up, now) < 0 || line_write(&c->down, now) < 0)
		goto dead;
	if (c->up.shut && c->down.shut)
		conn_end(c);
	return;
dead:
	conn_end(c);
}

/*
 * Parses the options, listens, and relays until SIGTERM or SIGINT; then
 * prints the totals and returns 0.  Returns 2 on a usage error and 1 if it
 * cannot listen or poll.
 */
int
main(int argc, char **argv)
{
	long lport = 0, target = 0, delay_ms = 0;
	struct pollfd pfd[1 + 2 * CONNS_MAX];
	struct conn *map[CONNS_MAX];
	struct sockaddr_in la;
	struct sigaction sa;
	struct timespec ts, *tsp;
	sigset_t block, orig;
	int64_t delay, next, due, now;
	int lfd, opt, one = 1, i, n, k;
	short ev;

	while ((opt = getopt(argc, argv, "l:t:d:")) != -1) {
		switch (opt) {
		case 'l': lport = parse_num(optarg, 65535, "port"); break;
		case 't': target = parse_num(optarg, 65535, "port"); break;
		case 'd': delay_ms = parse_num(optarg, 60000, "delay"); break;
		default:
			fprintf(stderr, "usage: relay -l LISTEN_PORT -t TARGET_PORT [-d DELAY_MS]\n");
			return 2;
		}
	}
	if (lport < 1 || target < 1 || optind != argc) {
		fprintf(stderr, "usage: relay -l LISTEN_PORT -t TARGET_PORT [-d DELAY_MS]\n");
		return 2;
	}
	delay = delay_ms * NS_PER_MS;

	/* TERM/INT are only delivered inside ppoll, so `stop` is never missed. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);

	la = loopback(lport);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
	    || bind(lfd, (struct sockaddr *)&la, sizeof la) < 0 || listen(lfd, 64) < 0) {
		fprintf(stderr, "relay: cannot listen on 127.0.0.1:%ld: %s\n",
		    lport, strerror(errno));
		return 1;
	}
	printf("listening %ld\n", lport);
	fflush(stdout);

	while (!stop) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		n = 1;
		next = INT64_MAX;
		for (i = 0; i < CONNS_MAX; i++) {
			struct conn *c = &conns[i];

			if (!c->used)
				continue;
			map[(n - 1) / 2] = c;
			/* client fd: read for up, write for down; server fd: the reverse */
			ev = (short)((line_can_read(&c->up) ? POLLIN : 0)
			    | (c->down.want_out ? POLLOUT : 0));
			pfd[n].fd = ev ? c->cfd : -1;
			pfd[n++].events = ev;
			ev = (short)((line_can_read(&c->down) ? POLLIN : 0)
			    | (c->up.want_out ? POLLOUT : 0));
			pfd[n].fd = ev ? c->sfd : -1;
			pfd[n++].events = ev;
			due = line_next_due(&c->up);
			if (due < next)
				next = due;
			due = line_next_due(&c->down);
			if (due < next)
				next = due;
		}
		tsp = NULL;
		if (next != INT64_MAX) {
			now = now_ns();
			next = next > now ? next - now : 0;
			ts.tv_sec = (time_t)(next / 1000000000LL);
			ts.tv_nsec = (long)(next % 1000000000LL);
			tsp = &ts;
		}
		k = ppoll(pfd, (nfds_t)n, tsp, &orig);
		if (k < 0 && errno != EINTR) {
			perror("relay: ppoll");
			return 1;
		}
		if (k < 0)
			continue;
		for (i = 1; i < n; i += 2)
			conn_service(map[(i - 1) / 2], &pfd[i], delay);
		if (pfd[0].revents & POLLIN)
			accept_one(lfd, target);
	}
	for (i = 0; i < CONNS_MAX; i++)
		if (conns[i].used)
			conn_end(&conns[i]);
	printf("total up %llu down %llu conns %u\n", (unsigned long long)total_up,
	    (unsigned long long)total_down, nconns);
	fflush(stdout);
	return 0;
}
