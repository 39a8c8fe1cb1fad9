/*
 * faultrelay.c -- a TCP relay that breaks ONC RPC connections on purpose.
 *
 *   faultrelay -t TARGET_PORT [-l LISTEN_PORT] [-n CONN]
 *              [-k K | -r K | -s BYTES] [-d DELAY_MS] [-j JITTER_MS] [-H CONN]
 *
 * Why it exists: the fault matrix needs links that fail at exact points of
 * the protocol (after the K-th request, instead of the K-th reply, in the
 * middle of a record), and latency with jitter, and these machines have no
 * netem.  syncctl dials this relay (127.0.0.1:LISTEN_PORT, with --port),
 * which connects each client to 127.0.0.1:TARGET_PORT (syncd) and follows
 * the record marking of both directions (4-byte fragment headers, the top
 * bit marking a record's last fragment).
 *
 * Faults, on connection number CONN only (-n; 1 is the first accepted;
 * default 0: every connection), the others pass through cleanly:
 *   -k K      cut: forward K whole client records, then reset both sides
 *             (SO_LINGER 0) once they reached the server;
 *   -r K      drop the K-th server record (a reply): forward the ones
 *             before it, then reset both sides instead;
 *   (once a fault strikes, the other direction forwards nothing more)
 *   -s BYTES  stall: forward BYTES of the client stream, then nothing more
 *             in either direction, keeping both sockets open (until the
 *             server closes its side: the relay then closes both).
 * On every connection:
 *   -d, -j    hold each read DELAY_MS + a random 0..JITTER_MS before it is
 *             forwarded (both directions; never reordered);
 *   -H CONN   hold connection CONN: nothing is forwarded on it until the
 *             relay gets SIGUSR1.
 *
 * How: one thread, one poll loop (100 ms ticks at most), non-blocking
 * sockets.  Each direction has a bounded buffer (BUF_SIZE) and a bounded
 * list of due times (MARKS), and is not read while either is full, so TCP
 * flow control slows the sender.  Every loop is bounded by its buffer.
 *
 * Output (stdout, one line each, flushed): "listening PORT" once ready;
 * "conn N open"; "conn N cut after K client records", "conn N dropped
 * server record K", "conn N stalled after B bytes" when a fault strikes;
 * "conn N closed up BYTES/RECORDS down BYTES/RECORDS" when it ends (what
 * was forwarded: bytes, and whole records); "conn N server closed" when
 * the server ends a stalled connection.  SIGTERM or SIGINT: exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE  (256u << 10)  /* bytes held per direction */
#define MARKS     1024u         /* reads held per direction */
#define CONNS_MAX 64
#define TICK_MS   100           /* longest poll: signals are seen this soon */
#define FLUSH_MS  2000          /* longest wait for a cut's bytes to be acked */

/* Where a direction's fault stops it. */
enum stop { GO, STOP_AFTER_RECORD, STOP_BEFORE_RECORD, STOP_AT_BYTE };

/* Record marking of one direction, as far as it was read. */
struct marking {
	unsigned char hdr[4];
	int           hn;         /* header bytes seen */
	uint32_t      left;       /* bytes left in the current fragment */
	int           last;       /* the current fragment ends its record */
	int           inrec;      /* inside a record */
	uint64_t      records;    /* whole records read */
};

/* One direction of a connection: bytes read from in wait to go to out. */
struct line {
	int            in, out;
	unsigned char *buf;
	size_t         head, tail;     /* buf[head, tail) waits */
	uint64_t       rd, wr, ready;  /* stream offsets read, written, due */
	uint64_t       mend[MARKS];    /* a read ends at this offset ... */
	int64_t        mdue[MARKS];    /* ... and is due then (ns) */
	unsigned       mh, mn;
	int64_t        last_due;
	struct marking m;
	uint64_t       wrecords;       /* whole records written */
	enum stop      stop;
	uint64_t       stop_arg;
	int            stopped;        /* the fault struck: read no more */
	int            eof, shut;
};

struct conn {
	int         used;
	unsigned    id;
	int         cfd, sfd;
	struct line up, down;          /* up: client to server */
	int         held;              /* -H: nothing moves until SIGUSR1 */
	int         stalled;           /* -s struck: only the server's close counts */
	int64_t     reset_by;          /* a cut waits for its bytes until then */
};

static volatile sig_atomic_t stop_now, release;
static struct conn conns[CONNS_MAX];
static unsigned nconns;
static long o_target, o_listen, o_conn, o_hold, o_delay, o_jitter;
static enum stop o_stop = GO;
static uint64_t o_stop_arg;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* Records a signal: TERM/INT stop, USR1 releases the held connection. */
static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		release = 1;
	else
		stop_now = 1;
}

/* Returns CLOCK_MONOTONIC in nanoseconds. */
static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Returns a pseudo-random number in [0, n] (xorshift64). */
static uint64_t
random_upto(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n == 0 ? 0 : rng % (n + 1);
}

/* Parses s as a number in [0, max]; exits with a message if it is not. */
static long
parse_num(const char *s, long max, int opt)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		fprintf(stderr, "faultrelay: -%c: bad number '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

/* Prints one line of output and flushes it. */
static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/*
 * Follows the record marking over p[0..n) and returns how many of those
 * bytes may be forwarded: all of them, or those before the point where l's
 * fault stops it (l->stopped is then set).
 */
static size_t
mark_feed(struct line *l, const unsigned char *p, size_t n)
{
	struct marking *m = &l->m;
	size_t i = 0, take;

	while (i < n) {
		if (l->stop == STOP_BEFORE_RECORD && !m->inrec &&
		    m->records + 1 == l->stop_arg) {
			l->stopped = 1;
			return i;
		}
		if (m->left == 0) {
			m->inrec = 1;
			m->hdr[m->hn++] = p[i++];
			if (m->hn < 4)
				continue;
			m->hn = 0;
			m->last = m->hdr[0] >> 7;
			m->left = ((uint32_t)(m->hdr[0] & 0x7f) << 24) |
			    ((uint32_t)m->hdr[1] << 16) | ((uint32_t)m->hdr[2] << 8) | m->hdr[3];
		} else {
			take = n - i < m->left ? n - i : m->left;
			i += take;
			m->left -= (uint32_t)take;
		}
		if (m->left == 0 && m->hn == 0 && m->last) {
			m->records++;
			m->inrec = 0;
			m->last = 0;
			if (l->stop == STOP_AFTER_RECORD && m->records == l->stop_arg) {
				l->stopped = 1;
				return i;
			}
		}
	}
	return i;
}

/* Reads what fits from l->in into l's buffer.  Returns 0, or -1 on EOF or error. */
static int
line_read(struct line *l)
{
	unsigned char *p;
	ssize_t n;
	size_t room, keep;

	if (l->head == l->tail)
		l->head = l->tail = 0;
	if (l->tail == BUF_SIZE && l->head > 0) {
		memmove(l->buf, l->buf + l->head, l->tail - l->head);
		l->tail -= l->head;
		l->head = 0;
	}
	room = BUF_SIZE - l->tail;
	if (l->stop == STOP_AT_BYTE && l->stop_arg - l->rd < room)
		room = (size_t)(l->stop_arg - l->rd);
	if (room == 0)
		return 0;
	p = l->buf + l->tail;
	n = read(l->in, p, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	keep = mark_feed(l, p, (size_t)n);
	l->tail += keep;
	l->rd += keep;
	if (l->stop == STOP_AT_BYTE && l->rd == l->stop_arg)
		l->stopped = 1;
	if (keep > 0) {
		int64_t due = now_ns() + (o_delay + (int64_t)random_upto((uint64_t)o_jitter)) *
		    1000000LL;

		if (due < l->last_due)
			due = l->last_due;      /* jitter never reorders */
		l->last_due = due;
		l->mend[(l->mh + l->mn) % MARKS] = l->rd;
		l->mdue[(l->mh + l->mn) % MARKS] = due;
		l->mn++;
	}
	return 0;
}

/* Writes what is due from l's buffer to l->out.  Returns 0, or -1 on error. */
static int
line_write(struct line *l, int64_t now)
{
	ssize_t n;

	while (l->mn > 0 && l->mdue[l->mh] <= now) {
		l->ready = l->mend[l->mh];
		l->mh = (l->mh + 1) % MARKS;
		l->mn--;
	}
	if (l->ready <= l->wr)
		return 0;
	/* buf[head] is stream offset wr */
	n = write(l->out, l->buf + l->head, (size_t)(l->ready - l->wr));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	l->head += (size_t)n;
	l->wr += (uint64_t)n;
	return 0;
}

/* True if everything read on l has been written. */
static int
line_drained(const struct line *l)
{
	return l->head == l->tail;
}

/* Closes fd with a reset (SO_LINGER 0). */
static void
reset_fd(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* Ends c: prints what it forwarded, closes (or resets) both sockets. */
static void
conn_end(struct conn *c, int reset)
{
	say("conn %u closed up %llu/%llu down %llu/%llu", c->id,
	    (unsigned long long)c->up.wr, (unsigned long long)c->up.m.records,
	    (unsigned long long)c->down.wr, (unsigned long long)c->down.m.records);
	if (reset) {
		reset_fd(c->cfd);
		reset_fd(c->sfd);
	} else {
		close(c->cfd);
		close(c->sfd);
	}
	free(c->up.buf);
	free(c->down.buf);
	memset(c, 0, sizeof *c);
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

/* Makes fd non-blocking with TCP_NODELAY.  Returns 0 or -1. */
static int
tune_socket(int fd)
{
	int one = 1, fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/*
 * Accepts one client on lfd and connects it to the target.  A client over
 * CONNS_MAX, or whose server cannot be reached, is reset at once.
 */
static void
accept_one(int lfd)
{
	struct sockaddr_in sa = loopback(o_target);
	struct conn *c = NULL;
	int cfd, sfd;

	if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	nconns++;
	for (int i = 0; i < CONNS_MAX && c == NULL; i++)
		if (!conns[i].used)
			c = &conns[i];
	sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c == NULL || sfd < 0 || connect(sfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    tune_socket(cfd) < 0 || tune_socket(sfd) < 0) {
		say("conn %u refused: %s", nconns, c == NULL ? "too many connections" :
		    strerror(errno));
		reset_fd(cfd);
		if (sfd >= 0)
			close(sfd);
		return;
	}
	memset(c, 0, sizeof *c);
	c->used = 1;
	c->id = nconns;
	c->cfd = cfd;
	c->sfd = sfd;
	c->up.in = c->down.out = cfd;
	c->up.out = c->down.in = sfd;
	c->up.buf = malloc(BUF_SIZE);
	c->down.buf = malloc(BUF_SIZE);
	c->held = o_hold == (long)c->id;
	if ((o_conn == 0 || o_conn == (long)c->id) && o_stop != GO) {
		struct line *l = o_stop == STOP_BEFORE_RECORD ? &c->down : &c->up;

		l->stop = o_stop;
		l->stop_arg = o_stop_arg;
	}
	say("conn %u open", c->id);
	if (c->up.buf == NULL || c->down.buf == NULL) {
		fprintf(stderr, "faultrelay: out of memory\n");
		conn_end(c, 1);
	}
}

/* Returns the bytes fd has sent that its peer has not acknowledged yet. */
static int
unacked(int fd)
{
	int n = 0;

	return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : 0;
}

/*
 * Moves c on after poll (pfd: its client and server entries): reads, writes,
 * strikes its fault and ends it when its time has come.
 */
static void
conn_step(struct conn *c, const struct pollfd *pc, const struct pollfd *ps, int64_t now)
{
	struct line *ls[2] = { &c->up, &c->down };
	const struct pollfd *in[2] = { pc, ps };

	if (c->stalled) {
		if (ps->revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			say("conn %u server closed", c->id);
			conn_end(c, 0);
		}
		return;
	}
	for (int d = 0; d < 2; d++) {
		struct line *l = ls[d];

		/* Once a fault struck, only its own line drains. */
		if ((c->up.stopped || c->down.stopped) && !l->stopped)
			continue;
		if ((in[d]->events & POLLIN) && (in[d]->revents & (POLLIN | POLLHUP | POLLERR)) &&
		    line_read(l) < 0)
			l->eof = 1;
		if (line_write(l, now) < 0) {
			conn_end(c, 1);
			return;
		}
		if (l->eof && !l->shut && line_drained(l)) {
			shutdown(l->out, SHUT_WR);
			l->shut = 1;
		}
	}
	if (c->up.stopped || c->down.stopped) {
		struct line *l = c->up.stopped ? &c->up : &c->down;

		if (l->stop == STOP_AT_BYTE) {
			if (line_drained(l)) {
				say("conn %u stalled after %llu bytes", c->id,
				    (unsigned long long)l->wr);
				c->stalled = 1;
			}
			return;
		}
		if (!line_drained(l))
			return;
		if (c->reset_by == 0)
			c->reset_by = now + FLUSH_MS * 1000000LL;
		if (unacked(l->out) > 0 && now < c->reset_by)
			return;
		if (l->stop == STOP_AFTER_RECORD)
			say("conn %u cut after %llu client records", c->id,
			    (unsigned long long)l->m.records);
		else
			say("conn %u dropped server record %llu", c->id,
			    (unsigned long long)l->stop_arg);
		conn_end(c, 1);
		return;
	}
	if (c->up.shut && c->down.shut)
		conn_end(c, 0);
}

/* Sets the poll entries of c (client, server) for what it can do now. */
static void
conn_events(const struct conn *c, struct pollfd *pc, struct pollfd *ps)
{
	pc->fd = c->cfd;
	ps->fd = c->sfd;
	pc->events = ps->events = 0;
	if (c->stalled) {
		ps->events = POLLRDHUP;
		return;
	}
	if (c->held)
		return;
	if (c->up.stopped || c->down.stopped) {
		if (c->up.ready > c->up.wr)
			ps->events |= POLLOUT;
		if (c->down.ready > c->down.wr)
			pc->events |= POLLOUT;
		return;
	}
	if (!c->up.stopped && !c->up.eof && c->up.tail - c->up.head < BUF_SIZE &&
	    c->up.mn < MARKS)
		pc->events |= POLLIN;
	if (!c->down.stopped && !c->down.eof && c->down.tail - c->down.head < BUF_SIZE &&
	    c->down.mn < MARKS)
		ps->events |= POLLIN;
	if (c->up.ready > c->up.wr)
		ps->events |= POLLOUT;
	if (c->down.ready > c->down.wr)
		pc->events |= POLLOUT;
}

/* Returns the poll timeout: TICK_MS, or less when a held read falls due. */
static int
next_timeout(int64_t now)
{
	int64_t t = TICK_MS;

	for (int i = 0; i < CONNS_MAX; i++) {
		const struct conn *c = &conns[i];

		if (!c->used || c->held || c->stalled)
			continue;
		if (c->up.stopped || c->down.stopped)
			t = 10;         /* a cut waits for its bytes to be acked */
		for (int d = 0; d < 2; d++) {
			const struct line *l = d == 0 ? &c->up : &c->down;

			if (l->mn > 0) {
				int64_t ms = (l->mdue[l->mh] - now) / 1000000LL;

				if (ms < t)
					t = ms < 0 ? 0 : ms + 1;
			}
		}
	}
	return (int)t;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	struct pollfd pfd[1 + 2 * CONNS_MAX];
	struct conn *at[CONNS_MAX];
	int lfd, one = 1, opt;

	while ((opt = getopt(argc, argv, "t:l:n:k:r:s:d:j:H:")) != -1) {
		switch (opt) {
		case 't': o_target = parse_num(optarg, 65535, opt); break;
		case 'l': o_listen = parse_num(optarg, 65535, opt); break;
		case 'n': o_conn = parse_num(optarg, 1000000, opt); break;
		case 'H': o_hold = parse_num(optarg, 1000000, opt); break;
		case 'd': o_delay = parse_num(optarg, 60000, opt); break;
		case 'j': o_jitter = parse_num(optarg, 60000, opt); break;
		case 'k':
		case 'r':
		case 's':
			if (o_stop != GO) {
				fprintf(stderr, "faultrelay: one of -k, -r, -s\n");
				return 2;
			}
			o_stop = opt == 'k' ? STOP_AFTER_RECORD : opt == 'r' ?
			    STOP_BEFORE_RECORD : STOP_AT_BYTE;
			o_stop_arg = (uint64_t)parse_num(optarg, 1L << 40, opt);
			if (o_stop_arg == 0) {
				fprintf(stderr, "faultrelay: -%c must be at least 1\n", opt);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: faultrelay -t TARGET_PORT [-l PORT] [-n CONN] "
			    "[-k K | -r K | -s BYTES] [-d MS] [-j MS] [-H CONN]\n");
			return 2;
		}
	}
	if (o_target == 0) {
		fprintf(stderr, "faultrelay: -t TARGET_PORT is required\n");
		return 2;
	}
	rng ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGUSR1, on_signal);

	sa = loopback(o_listen);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0) {
		perror("faultrelay: listen");
		return 1;
	}
	say("listening %u", ntohs(sa.sin_port));

	while (!stop_now) {
		int n = 1, r;
		int64_t now;

		if (release) {
			for (int i = 0; i < CONNS_MAX; i++)
				conns[i].held = 0;
			o_hold = 0;
			release = 0;
		}
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (int i = 0; i < CONNS_MAX; i++) {
			if (!conns[i].used)
				continue;
			at[(n - 1) / 2] = &conns[i];
			conn_events(&conns[i], &pfd[n], &pfd[n + 1]);
			n += 2;
		}
		r = poll(pfd, (nfds_t)n, next_timeout(now_ns()));
		if (r < 0 && errno != EINTR) {
			perror("faultrelay: poll");
			return 1;
		}
		if (r < 0)
			continue;
		now = now_ns();
		for (int k = 0; k < (n - 1) / 2; k++)
			if (!at[k]->held)
				conn_step(at[k], &pfd[1 + 2 * k], &pfd[2 + 2 * k], now);
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
	}
	for (int i = 0; i < CONNS_MAX; i++)
		if (conns[i].used)
			conn_end(&conns[i], 0);
	close(lfd);
	return 0;
}
