/*
 * main.c -- syncd: options, listener, signals, accepting, reloading.
 *
 * Why syncd has its own main() rather than rpcgen's: the generated one
 * listens on random UDP and TCP ports, serves every client from one thread
 * (svc_run) and exits from signal handlers.  Here the main thread only
 * accepts: each connection is served by its own thread (conn.c), the one
 * TCP listener has the port the admin chose, and signals arrive through a
 * signalfd in the same poll loop as the listener, so that unregistering from
 * rpcbind (an RPC call) never runs inside a signal handler.
 *
 * registration.c keeps syncd listed by rpcbind from a thread of its own
 * (rpcbind forgets on restart; a hung one must not stall accepting).
 *
 * SIGHUP reloads the configuration file, all or nothing: a new one is
 * swapped in only when every export of it opened, else the old one stays
 * and says why.  Configurations are reference-counted (config.h), so the
 * sessions of the old one carry on undisturbed; the registration is
 * renewed at once too.
 *
 * SIGTERM (or SIGINT) drains: the listener closes and the registration goes
 * at once, sessions finish their current batch for up to the drain timeout,
 * the rest are cut (their temps dropped: a file is old or new, never
 * partial), and syncd exits 0 saying how many it drained and cut.  A second
 * signal cuts at once.
 *
 * The connection cap is clamped to what the open-file limit can hold, so a
 * flood of idle connections meets the cap (and eviction) before EMFILE.
 *
 * Startup order matters: everything that can fail for a reason the admin
 * must fix (usage 64, config 78, OS 71, rpcbind 69) happens before the
 * daemon detaches, so the exit status reaches whoever started it; signals
 * are blocked before any thread exists, so every thread inherits the mask.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <netconfig.h>
#include <rpc/rpc.h>

#include "config.h"
#include "conn.h"
#include "exports.h"
#include "log.h"
#include "monotime.h"
#include "ops.h"
#include "notify.h"
#include "partial.h"
#include "registration.h"
#include "sync.h"

#define SYNCD_VERSION     "0.1.0"
#define LISTEN_BACKLOG    128
#define ACCEPT_BURST      64      /* connections accepted per wakeup */
#define ACCEPT_BACKOFF_MS 100     /* listener ignored after EMFILE and kin */
#define REAP_PERIOD_MS    1000    /* how often stalled calls are looked for */
#define CONN_SEND_TIMEOUT_S 60    /* a reply that cannot be sent for this long kills the connection */
#define DRAIN_DEFAULT_S   10      /* sessions get this long to finish after SIGTERM */
#define CUT_WAIT_MS       5000    /* then cut sessions get this long to end */
#define DRAIN_POLL_MS     50      /* how often the drain looks at the threads */
#define FD_RESERVE        16      /* descriptors not for connections (+1 per export) */
#define FD_PER_CONN       8       /* socket, temps, their directories, spare */
#define RUN               (-1)    /* parse_options: go on and serve */

/* Command-line settings. */
struct options {
	int foreground;
	int verbose;
	const char *root;               /* --root DIR, or NULL */
	const char *config;             /* -c FILE, or NULL */
	unsigned long port;
	struct sockaddr_storage bind;   /* --bind; ss_family 0: the IPv6/IPv4 wildcard */
	unsigned long max_conn;         /* 0: not given */
	unsigned long check_secs;       /* 0: no periodic rpcbind check */
	unsigned long drain_secs;       /* --drain-timeout, if drain_given */
	int drain_given;
	int test_only;                  /* -t: check the configuration, then exit */
};

/* Everything the main thread owns. */
struct server {
	struct options opt;
	char *config_path;              /* opt.config made absolute (reloads happen after chdir) */
	struct config *cfg;             /* the current one; sessions may hold older ones */
	unsigned long max_conn;         /* in effect: --max-connections, else the config's */
	unsigned long drain_secs;       /* in effect: --drain-timeout, else the config's */
	int lfd;                        /* listener */
	int sfd;                        /* signalfd for TERM, INT, HUP */
	struct sockaddr_storage addr;   /* listener address */
	socklen_t addr_len;
	int dual;                       /* an IPv6 wildcard listener that takes IPv4 too */
	struct registration reg;        /* our entry in rpcbind */
	long long listen_resume_ms;     /* listener ignored until then */
	unsigned long refused;          /* refusals not yet logged */
	long long refused_log_ms;       /* when refusals were last logged */
};

/* Prints the usage summary to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: syncd [-ftv] (--root DIR | -c FILE) [--port N] [--bind ADDR]\n"
	    "             [--max-connections N] [--rpcbind-check SEC]\n"
	    "             [--drain-timeout SEC]\n"
	    "  -f, --foreground        stay in the foreground, log to stderr\n"
	    "      --root DIR          export DIR read-write as \"default\"\n"
	    "  -c, --config FILE       read the exports from FILE\n"
	    "      --port N            TCP port (default 0: any free port)\n"
	    "      --bind ADDR         IPv4 or IPv6 address to listen on (default:\n"
	    "                          every address, IPv6 and IPv4)\n"
	    "      --max-connections N clients served at once (default: the\n"
	    "                          config's 'max connections', else 64)\n"
	    "      --rpcbind-check SEC re-check the rpcbind registration every SEC\n"
	    "                          seconds (default 2, 0 disables)\n"
	    "      --drain-timeout SEC on SIGTERM, let sessions finish their batch\n"
	    "                          for up to SEC seconds (default: the config's\n"
	    "                          'drain timeout', else 10)\n"
	    "  -t, --test-config       check the configuration as a start (or a\n"
	    "                          reload) would, say OK or why not, and exit\n"
	    "  -v, --verbose           log debug messages\n"
	    "  -h, --help              show this help\n"
	    "  -V, --version           show the version\n");
}

/* Parses an IPv4 or IPv6 literal into out.  Returns 0, or -1. */
static int
parse_bind(const char *s, struct sockaddr_storage *out)
{
	struct sockaddr_in *in = (struct sockaddr_in *)out;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/*
 * Parses s as a decimal number in [min, max] into *out.  Returns 0, or -1
 * (logged, naming the option opt) if it is not one.
 */
static int
parse_number(const char *opt, const char *s, unsigned long min,
    unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		log_err("%s: '%s' is not a number from %lu to %lu", opt, s, min,
		    max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Fills o from the command line.  Returns RUN to go on, or the exit status:
 * EX_OK after --help/--version, EX_USAGE (logged) for bad usage.
 */
static int
parse_options(int argc, char **argv, struct options *o)
{
	enum { O_ROOT = 256, O_PORT, O_BIND, O_MAXCONN, O_CHECK, O_DRAIN };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "root", required_argument, NULL, O_ROOT },
		{ "config", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, O_PORT },
		{ "bind", required_argument, NULL, O_BIND },
		{ "max-connections", required_argument, NULL, O_MAXCONN },
		{ "rpcbind-check", required_argument, NULL, O_CHECK },
		{ "drain-timeout", required_argument, NULL, O_DRAIN },
		{ "test-config", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof *o);
	o->max_conn = 0;                /* not given: the config's, else 64 */
	o->check_secs = 2;
	while ((ch = getopt_long(argc, argv, "fc:tvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->foreground = 1;
			break;
		case O_ROOT:
			o->root = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case O_PORT:
			if (parse_number("--port", optarg, 0, 65535, &o->port) != 0)
				goto usage;
			break;
		case O_BIND:
			if (parse_bind(optarg, &o->bind) != 0) {
				log_err("--bind: '%s' is not an IPv4 or IPv6 address", optarg);
				goto usage;
			}
			break;
		case O_MAXCONN:
			if (parse_number("--max-connections", optarg, 1, 65536,
			    &o->max_conn) != 0)
				goto usage;
			break;
		case O_CHECK:
			if (parse_number("--rpcbind-check", optarg, 0, 86400,
			    &o->check_secs) != 0)
				goto usage;
			break;
		case O_DRAIN:
			if (parse_number("--drain-timeout", optarg, 0, 3600,
			    &o->drain_secs) != 0)
				goto usage;
			o->drain_given = 1;
			break;
		case 't':
			o->test_only = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("syncd %s\n", SYNCD_VERSION);
			return EX_OK;
		default:
			goto usage;     /* getopt has said what is wrong */
		}
	}
	if (optind < argc) {
		log_err("unexpected argument '%s'", argv[optind]);
		goto usage;
	}
	if ((o->root == NULL) == (o->config == NULL)) {
		log_err("exactly one of --root and --config is required");
		goto usage;
	}
	return RUN;
usage:
	fprintf(stderr, "Try 'syncd --help' for more information.\n");
	return EX_USAGE;
}

/* Raises the soft open-file limit to the hard one (staging holds many fds). */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
}

/*
 * Lowers the connection cap to what the open-file limit can hold: each
 * connection needs its socket and, while it writes, temps and their
 * directories (FD_PER_CONN), and the daemon keeps FD_RESERVE plus an export
 * root each.  Over the cap a new client evicts an idle one, so with the cap
 * below the limit a flood of idle connections never runs syncd out of
 * descriptors (where accept could only fail).  Logs a clamp.
 */
static void
clamp_max_conn(struct server *sv)
{
	struct rlimit rl;
	unsigned long fit, reserve = FD_RESERVE + sv->cfg->nexports;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	fit = rl.rlim_cur > reserve + FD_PER_CONN ?
	    (unsigned long)((rl.rlim_cur - reserve) / FD_PER_CONN) : 1;
	if (sv->max_conn <= fit)
		return;
	log_warn("max connections %lu lowered to %lu: the open-file limit (%llu) "
	    "holds %d descriptors for each beside %lu for the daemon",
	    sv->max_conn, fit, (unsigned long long)rl.rlim_cur, FD_PER_CONN,
	    reserve);
	sv->max_conn = fit;
}

/*
 * Blocks TERM, INT and HUP in this (still the only) thread, so that every
 * thread created later inherits the mask, and opens sv->sfd to read them;
 * ignores SIGPIPE so that a vanished client is an EPIPE, not a death.
 * Returns 0, or EX_OSERR (logged).
 */
static int
setup_signals(struct server *sv)
{
	struct sigaction sa;
	sigset_t set;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (err != 0) {
		log_err("pthread_sigmask: %s", strerror(err));
		return EX_OSERR;
	}
	sv->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv->sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return EX_OSERR;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) != 0) {
		log_err("sigaction(SIGPIPE): %s", strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

/*
 * Writes sa as "1.2.3.4:PORT" or "[2001:db8::1]:PORT" into out (n bytes);
 * an IPv4-mapped IPv6 address is written as IPv4.  Returns out.
 */
static char *
addr_str(const struct sockaddr *sa, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		snprintf(out, n, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof ip);
			snprintf(out, n, "%s:%u", ip, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
			snprintf(out, n, "[%s]:%u", ip, ntohs(in6->sin6_port));
		}
	} else {
		snprintf(out, n, "?");
	}
	return out;
}

/*
 * Turns an IPv4-mapped IPv6 peer address in ss (a dual-stack listener's
 * view of an IPv4 client) into the plain IPv4 one; *len follows.
 */
static void
addr_unmap(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 in6;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6 || *len < sizeof in6)
		return;
	memcpy(&in6, ss, sizeof in6);
	if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr))
		return;
	memset(ss, 0, sizeof *ss);
	in->sin_family = AF_INET;
	in->sin_port = in6.sin6_port;
	memcpy(&in->sin_addr, &in6.sin6_addr.s6_addr[12], 4);
	*len = sizeof *in;
}

/*
 * Opens the non-blocking TCP listener on --bind:--port -- without --bind,
 * on every IPv6 address and, through the same socket, every IPv4 one (or
 * on 0.0.0.0 where IPv6 is not available) -- and stores its real address
 * (the port the kernel chose for --port 0) in sv->addr.  Returns 0, or
 * EX_OSERR (logged).
 */
static int
open_listener(struct server *sv)
{
	struct sockaddr_storage want = sv->opt.bind;
	socklen_t want_len;
	char shown[INET6_ADDRSTRLEN + 16];
	int one = 1, zero = 0;

	if (want.ss_family == 0) {
		want.ss_family = AF_INET6;      /* the wildcard, both families */
		sv->dual = 1;
	}
	sv->lfd = socket(want.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sv->lfd < 0 && sv->dual && errno == EAFNOSUPPORT) {
		want.ss_family = AF_INET;       /* no IPv6 here: 0.0.0.0 */
		sv->dual = 0;
		sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (sv->lfd < 0) {
		log_err("socket: %s", strerror(errno));
		return EX_OSERR;
	}
	if (setsockopt(sv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    (sv->dual && setsockopt(sv->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
	    sizeof zero) != 0)) {
		log_err("setsockopt: %s", strerror(errno));
		return EX_OSERR;
	}
	if (want.ss_family == AF_INET) {
		((struct sockaddr_in *)&want)->sin_port = htons((unsigned short)sv->opt.port);
		want_len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&want)->sin6_port = htons((unsigned short)sv->opt.port);
		want_len = sizeof(struct sockaddr_in6);
	}
	if (bind(sv->lfd, (struct sockaddr *)&want, want_len) != 0) {
		log_err("cannot bind %s: %s", addr_str((struct sockaddr *)&want, shown,
		    sizeof shown), strerror(errno));
		return EX_OSERR;
	}
	if (listen(sv->lfd, LISTEN_BACKLOG) != 0) {
		log_err("listen: %s", strerror(errno));
		return EX_OSERR;
	}
	sv->addr_len = sizeof sv->addr;
	if (getsockname(sv->lfd, (struct sockaddr *)&sv->addr, &sv->addr_len) != 0) {
		log_err("getsockname: %s", strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

/*
 * Detaches from the terminal unless --foreground (before any thread exists:
 * fork keeps only the calling thread); from then on messages go to syslog.
 * Returns 0, or EX_OSERR (logged).
 */
static int
detach(const struct options *o)
{
	if (o->foreground)
		return 0;
	if (daemon(0, 0) != 0) {
		log_err("daemon: %s", strerror(errno));
		return EX_OSERR;
	}
	log_init("syncd", 1);
	return 0;
}

/* Logs the one startup line: where syncd listens and what it exports. */
static void
log_listening(const struct server *sv)
{
	char where[INET6_ADDRSTRLEN + 16];
	char *list = exports_describe(sv->cfg);

	addr_str((const struct sockaddr *)&sv->addr, where, sizeof where);
	log_info("listening on %s%s, exports: %s", where, sv->dual ? " (and IPv4)" : "",
	    list != NULL ? list : "?");
	free(list);
}

/*
 * Notes that a connection was refused because of the cap, logging at most
 * once a second how many were refused since the last message.
 */
static void
note_refusal(struct server *sv)
{
	long long now = monotime_ms();

	sv->refused++;
	if (now - sv->refused_log_ms < 1000)
		return;
	log_warn("refused %lu connection%s: %lu clients already connected",
	    sv->refused, sv->refused == 1 ? "" : "s", sv->max_conn);
	sv->refused = 0;
	sv->refused_log_ms = now;
}

/*
 * Prepares an accepted socket: no Nagle delay for small replies; keepalive
 * so a vanished peer is noticed; and a send timeout, so that a client that
 * stops reading its replies makes the reply fail (and its connection end)
 * instead of pinning a thread and a connection slot forever.
 */
static void
tune_socket(int fd, const char *peer)
{
	struct timeval tmo = { .tv_sec = CONN_SEND_TIMEOUT_S, .tv_usec = 0 };
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof tmo) != 0)
		log_debug("%s: setsockopt: %s", peer, strerror(errno));
}

/*
 * Accepts the connections waiting on the listener (up to ACCEPT_BURST) and
 * starts a thread for each, or closes it at once when the cap is reached.
 * Out of file descriptors, the listener is ignored for a moment instead of
 * spinning on it.
 */
static void
accept_ready(struct server *sv)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		char peer[64];
		int fd;

		fd = accept4(sv->lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("accept: %s; pausing for %d ms",
				    strerror(errno), ACCEPT_BACKOFF_MS);
				sv->listen_resume_ms = monotime_ms() + ACCEPT_BACKOFF_MS;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED) {
				log_warn("accept: %s", strerror(errno));
			}
			return;
		}
		if (conn_count() >= sv->max_conn && !conn_evict_idle()) {
			close(fd);
			note_refusal(sv);
			continue;
		}
		addr_unmap(&ss, &len);
		addr_str((struct sockaddr *)&ss, peer, sizeof peer);
		tune_socket(fd, peer);
		conn_start(fd, peer, (struct sockaddr *)&ss, len); /* closes fd on failure */
	}
}

/*
 * Makes the -c path absolute: a detached syncd works from "/", and SIGHUP
 * must read the same file as the start did.  Returns 0 (a path that does
 * not resolve is left for exports_load to report), or EX_OSERR (logged).
 */
static int
absolute_config(struct server *sv)
{
	if (sv->opt.config == NULL)
		return 0;
	if ((sv->config_path = realpath(sv->opt.config, NULL)) != NULL) {
		sv->opt.config = sv->config_path;
	} else if (errno == ENOMEM) {
		log_err("out of memory");
		return EX_OSERR;
	}
	return 0;
}

/*
 * Puts sv->cfg in force: for connections and HELLOs from now on
 * (conn_set_config), for partials (partials_set_config), and its settings
 * where the command line did not fix them: the connection cap (clamped to
 * the open-file limit) and the drain timeout.
 */
static void
apply_settings(struct server *sv)
{
	const struct config *cfg = sv->cfg;

	conn_set_config(cfg);
	partials_set_config(cfg);
	sv->max_conn = sv->opt.max_conn != 0 ? sv->opt.max_conn :
	    cfg->max_conn != 0 ? cfg->max_conn : 64;
	clamp_max_conn(sv);
	sv->drain_secs = sv->opt.drain_given ? sv->opt.drain_secs :
	    cfg->drain_s != 0 ? cfg->drain_s : DRAIN_DEFAULT_S;
}

/*
 * SIGHUP: reads the configuration file again and, if all of it is good
 * (parsed, every export opened, its secrets and ids loaded), makes it the
 * one new connections get; sessions already connected finish under the one
 * they started with.  On any error the old configuration stays, whole.
 * Exports new to the configuration are not swept for stale temps (a
 * session of the old configuration may be writing beneath them); the next
 * start does that.  An export's "max connections" counts its sessions
 * under either (session.c counts by name).  With --root there is no file:
 * nothing changes.
 */
static void
reload(struct server *sv)
{
	struct config *fresh, *old = sv->cfg;
	char *list;

	if (sv->opt.config == NULL) {
		log_info("SIGHUP: nothing to reload (--root)");
		return;
	}
	if (exports_load(NULL, sv->opt.config, &fresh) != 0) {
		log_err("reload failed; keeping the old configuration");
		return;
	}
	sv->cfg = fresh;
	apply_settings(sv);
	config_drop(old);               /* freed once its last holder lets go */
	list = exports_describe(fresh);
	log_info("reloaded %s: exports: %s", sv->opt.config, list != NULL ? list : "?");
	free(list);
}

/*
 * Reads the pending signals.  SIGHUP reloads the configuration and
 * re-registers with rpcbind (telling the service manager RELOADING, then
 * READY), unless syncd is already stopping.  Returns 1 if SIGTERM or
 * SIGINT asks syncd to stop, else 0.
 */
static int
handle_signals(struct server *sv)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sv->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP && (stop || sv->lfd < 0)) {
			log_info("SIGHUP ignored: stopping");  /* asked to, or draining */
		} else if (si.ssi_signo == SIGHUP) {
			notify_reloading();
			reload(sv);
			registration_refresh(&sv->reg);
			notify_ready();
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("received %s", si.ssi_signo == SIGTERM ?
			    "SIGTERM" : "SIGINT");
			stop = 1;
		}
	}
	return stop;
}

/*
 * The main loop: waits for connections and signals.  Returns EX_OK when
 * asked to stop, EX_OSERR if poll fails.
 */
static int
serve(struct server *sv)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sv->sfd, .events = POLLIN },
			{ .fd = sv->lfd, .events = POLLIN },
		};
		long long now = monotime_ms(), wait = -1;
		int paused = now < sv->listen_resume_ms, n;

		if (paused)
			wait = sv->listen_resume_ms - now;
		if (wait < 0 || wait > REAP_PERIOD_MS)
			wait = REAP_PERIOD_MS;  /* conn_reap_stalled's granularity */
		n = poll(pfd, paused ? 1 : 2, (int)wait);
		if (n < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return EX_OSERR;
		}
		if (n > 0 && (pfd[0].revents & POLLIN) && handle_signals(sv))
			return EX_OK;
		if (n > 0 && !paused && (pfd[1].revents & POLLIN))
			accept_ready(sv);
		conn_reap_stalled();
	}
}

/*
 * SIGTERM, once rpcbind has forgotten us: stops accepting, lets the
 * sessions finish their current batch for up to the drain timeout while
 * watching for a second signal (which cuts at once), cuts what remains,
 * waits up to CUT_WAIT_MS for the threads to end, and logs how many
 * sessions were drained and cut.
 */
static void
drain(struct server *sv)
{
	long long deadline = monotime_ms() + (long long)sv->drain_secs * 1000;
	unsigned int live, cut = 0;
	int cutting = 0;

	close(sv->lfd);
	sv->lfd = -1;
	live = conn_drain();
	if (live > 0)
		log_info("draining %u session%s for up to %lu s", live,
		    live == 1 ? "" : "s", sv->drain_secs);
	while (conn_threads() > 0) {
		struct pollfd pfd = { .fd = sv->sfd, .events = POLLIN };
		int again = poll(&pfd, 1, DRAIN_POLL_MS) > 0 && handle_signals(sv);
		long long now = monotime_ms();

		if (!cutting && (again || now >= deadline)) {
			if (again)
				log_info("second signal: cutting the sessions now");
			cut = conn_cut();
			cutting = 1;
			deadline = now + CUT_WAIT_MS;
		} else if (cutting && now >= deadline) {
			log_warn("%u session%s still ending; exiting anyway",
			    conn_threads(), conn_threads() == 1 ? "" : "s");
			break;
		}
	}
	log_info("stopped: %u session%s drained, %u cut", live - cut,
	    live - cut == 1 ? "" : "s", cut);
}

/*
 * Releases what the main thread holds.  The configuration goes with its
 * last holder: connection threads still ending and kept partials have their
 * own references.
 */
static void
server_cleanup(struct server *sv)
{
	if (sv->lfd >= 0)
		close(sv->lfd);
	if (sv->sfd >= 0)
		close(sv->sfd);
	conn_set_config(NULL);
	if (sv->cfg != NULL)
		config_drop(sv->cfg);
	free(sv->config_path);
}

/*
 * -t: loads the configuration exactly as a start or a reload does (every
 * export opened, secrets and ids loaded) and says on stdout that it is
 * good, and what it exports.  Returns EX_OK, or the status a start would
 * have exited with (the reason logged).  syncd.service runs this before
 * it sends SIGHUP, so that `systemctl reload` fails on a bad file.
 */
static int
test_config(const struct options *o)
{
	struct config *cfg;
	char *list;
	int rc;

	if ((rc = exports_load(o->root, o->config, &cfg)) != 0)
		return rc;
	list = exports_describe(cfg);
	printf("syncd: %s: configuration OK; exports: %s\n",
	    o->config != NULL ? o->config : "--root", list != NULL ? list : "?");
	free(list);
	config_drop(cfg);
	return EX_OK;
}

int
main(int argc, char **argv)
{
	/* Static: a registration thread stuck on a hung rpcbind may still use
	 * sv.reg while the process exits. */
	static struct server sv;
	int rc, registered = 0;

	memset(&sv, 0, sizeof sv);
	sv.lfd = -1;
	sv.sfd = -1;
	log_init("syncd", 0);
	rc = parse_options(argc, argv, &sv.opt);
	if (rc != RUN)
		return rc;
	if (sv.opt.verbose)
		log_set_level(LOG_DEBUG);
	if (sv.opt.test_only)
		return test_config(&sv.opt);

	if ((rc = setup_signals(&sv)) != 0)     /* a TERM or HUP now waits for serve() */
		goto out;
	if ((rc = absolute_config(&sv)) != 0)
		goto out;
	if ((rc = exports_load(sv.opt.root, sv.opt.config, &sv.cfg)) != 0)
		goto out;
	raise_nofile();                 /* before the sweep: deep trees hold an fd per level */
	apply_settings(&sv);
	exports_sweep(sv.cfg);
	if ((rc = open_listener(&sv)) != 0)
		goto out;
	if ((rc = registration_start(&sv.reg, (struct sockaddr *)&sv.addr, sv.addr_len,
	    sv.dual)) != 0)
		goto out;
	registered = 1;
	if ((rc = detach(&sv.opt)) != 0)
		goto out;
	if (registration_watch(&sv.reg, sv.opt.check_secs) != 0 || partials_start() != 0) {
		rc = EX_OSERR;
		goto out;
	}
	log_listening(&sv);
	notify_ready();
	rc = serve(&sv);
	if (rc == EX_OK)
		notify_stopping();
out:
	registration_stop(&sv.reg);     /* first: clients stop finding us at once */
	if (registered && rc == EX_OK)
		drain(&sv);
	if (registered)
		log_info("exiting");
	server_cleanup(&sv);
	return rc;
}
