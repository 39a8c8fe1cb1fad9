/*
 * main.c -- syncctl: the command line and the exit status.
 *
 *   syncctl [options] push HOST[:EXPORT][/PATH] DIR
 *
 * Everything that can be decided without the network (options, the target,
 * the default destination name) is decided here, so that a usage error
 * costs no connection.  push_run() does the work and returns how it went;
 * this is the only place that turns that into an exit status (sysexits.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "auth.h"
#include "log.h"
#include "push.h"
#include "quote.h"
#include "remote.h"
#include "streams.h"
#include "target.h"
#include "zstdio.h"

#define SYNCCTL_VERSION "0.1.0"
#define TIMEOUT_DEFAULT 60
#define TIMEOUT_MAX     86400
#define RETRIES_DEFAULT 3
#define RETRIES_MAX     1000
#define MAX_ENTRIES_MAX (1ul << 28)   /* 16 GiB of 64-byte entries: more is a typo */

/* Prints the usage text to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: syncctl [options] push HOST[:EXPORT][/PATH] DIR\n"
	    "\n"
	    "Makes PATH in EXPORT (default \"default\") on HOST a copy of DIR.\n"
	    "PATH defaults to the name of DIR; HOST:EXPORT/ is the export root.\n"
	    "\n"
	    "  --port N          connect to syncd on port N directly, without rpcbind\n"
	    "  --delete          delete remote entries that DIR does not have\n"
	    "  --stats           print transfer statistics at the end\n"
	    "  -c, --checksum    compare files by content hash, not size and mtime\n"
	    "  -W, --whole-file  send changed files whole, never as a delta\n"
	    "  -z, --compress    compress file data (zstd); default: unless over loopback\n"
	    "  --no-compress     never compress file data\n"
	    "  --compress-level N  zstd level 1-%d when compressing (%d)\n"
	    "  --timeout SEC     give up on an unresponsive server after SEC seconds (%d)\n"
	    "  --retries N       when the connection fails, breaks or times out, or\n"
	    "                    the export is busy, start over up to N more times,\n"
	    "                    after 1, 2, 4 ... (at most %d) seconds (%d)\n"
	    "  --max-entries N   refuse a remote listing of more than N entries\n"
	    "                    (%zu)\n"
	    "  --streams N       connections sharing the file transfers, 1-8\n"
	    "                    (default: one per CPU core)\n"
	    "  --user NAME       authenticate as NAME (default: $USER) and insist\n"
	    "                    that the server asks for it\n"
	    "  --secret-file F   the secret, first line of F (mode 600); default:\n"
	    "                    $SYNC_SECRET_FILE\n"
	    "  -v, --verbose     print one line per entry sent or deleted\n"
	    "  -h, --help        print this help\n"
	    "  -V, --version     print the version\n",
	    ZSTDIO_LEVEL_MAX, ZSTDIO_LEVEL_DEFAULT, TIMEOUT_DEFAULT,
	    PUSH_BACKOFF_MAX, RETRIES_DEFAULT, REMOTE_LIST_MAX_DEFAULT);
}

/*
 * Parses s as a decimal number in [min, max].  Returns 0 and sets *out, or
 * -1 if s is not such a number.
 */
static int
parse_number(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Maps the outcome of a push to the exit status DESIGN.md specifies. */
static int
exit_status(enum push_result r)
{
	switch (r) {
	case PUSH_OK:
		return EX_OK;
	case PUSH_UNAVAILABLE:
	case PUSH_UNREACHABLE:
		return EX_UNAVAILABLE;
	case PUSH_LOCAL_IO:
		return EX_IOERR;
	case PUSH_PROTOCOL:
	case PUSH_BUSY:
		return EX_PROTOCOL;
	case PUSH_READONLY:
	case PUSH_DENIED:
		return EX_NOPERM;
	case PUSH_FAILED:
	default:
		return 1;
	}
}

/*
 * Gives t the default destination: the base name of realpath(dir).
 * Returns 0, EX_IOERR if dir cannot be resolved, or EX_USAGE if its name is
 * not a valid path (each reported).
 */
static int
default_path(struct target *t, const char *dir)
{
	char *real = realpath(dir, NULL), err[256], q[QUOTE_BUF];
	const char *base;
	int rc = 0;

	if (real == NULL) {
		log_err("%s: %s", quote_str(dir, q), strerror(errno));
		return EX_IOERR;
	}
	base = strrchr(real, '/') + 1;   /* realpath's result is absolute */
	if (target_set_path(t, base, err, sizeof err) < 0) {
		log_err("%s; name the destination: HOST:EXPORT/PATH", err);
		rc = EX_USAGE;
	}
	free(real);
	return rc;
}

/* Reports a bad option (getopt's opterr is off) and returns EX_USAGE. */
static int
bad_option(int c, char **argv)
{
	const char *what = c == ':' ? "needs a value" : "is not known";
	const char *arg = argv[optind - 1];

	if (strncmp(arg, "--", 2) == 0)
		log_err("option '%.*s' %s", (int)strcspn(arg, "="), arg, what);
	else
		log_err("option '-%c' %s", optopt, what);
	usage(stderr);
	return EX_USAGE;
}

/*
 * Completes o's credentials: the secret from secret_file, else from the
 * file $SYNC_SECRET_FILE names (read into secret, AUTH_SECRET_MAX + 1
 * bytes), and the user from --user, else $USER.  No secret: no
 * credentials (and --user alone is an error).  Returns 0, or EX_NOPERM or
 * EX_USAGE (logged).
 */
static int
credentials(struct push_opts *o, const char *secret_file, char *secret)
{
	char err[512];
	size_t len;

	if (secret_file == NULL)
		secret_file = getenv("SYNC_SECRET_FILE");
	if (secret_file == NULL || *secret_file == '\0') {
		if (o->user != NULL) {
			log_err("--user needs a secret: --secret-file FILE or SYNC_SECRET_FILE");
			return EX_USAGE;
		}
		return 0;
	}
	if (auth_read_secret(secret_file, secret, &len, err, sizeof err) != 0) {
		log_err("secret file %s", err);
		return EX_NOPERM;
	}
	if (o->user == NULL) {
		const char *u = getenv("USER");

		if (u == NULL || !auth_user_ok(u, strlen(u))) {
			log_err("no user name to authenticate as: give --user NAME");
			return EX_USAGE;
		}
		o->user = u;
	}
	o->secret = (const unsigned char *)secret;
	o->secret_len = len;
	return 0;
}

/* Parses the command line, runs the push, returns the exit status. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port",    required_argument, NULL, 'p' },
		{ "delete",  no_argument,       NULL, 'd' },
		{ "stats",   no_argument,       NULL, 's' },
		{ "checksum", no_argument,      NULL, 'c' },
		{ "whole-file", no_argument,    NULL, 'W' },
		{ "compress", no_argument,      NULL, 'z' },
		{ "no-compress", no_argument,   NULL, 'Z' },
		{ "compress-level", required_argument, NULL, 'L' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'r' },
		{ "max-entries", required_argument, NULL, 'M' },
		{ "streams", required_argument, NULL, 'S' },
		{ "user",    required_argument, NULL, 'u' },
		{ "secret-file", required_argument, NULL, 'k' },
		{ "verbose", no_argument,       NULL, 'v' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct push_opts o = { .timeout = TIMEOUT_DEFAULT, .retries = RETRIES_DEFAULT };
	struct target t;
	char err[256], q[QUOTE_BUF], secret[AUTH_SECRET_MAX + 1];
	const char *secret_file = NULL;
	unsigned long n;
	int c, rc;

	log_init("syncctl", 0);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":chvVWz", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_number(optarg, 1, 65535, &n) < 0) {
				log_err("--port: '%s' is not a port number", optarg);
				return EX_USAGE;
			}
			o.port = optarg;
			break;
		case 't':
			if (parse_number(optarg, 1, TIMEOUT_MAX, &n) < 0) {
				log_err("--timeout: '%s' is not a number of seconds (1-%d)",
				    optarg, TIMEOUT_MAX);
				return EX_USAGE;
			}
			o.timeout = (unsigned int)n;
			break;
		case 'r':
			if (parse_number(optarg, 0, RETRIES_MAX, &n) < 0) {
				log_err("--retries: '%s' is not a number of retries (0-%d)",
				    optarg, RETRIES_MAX);
				return EX_USAGE;
			}
			o.retries = (unsigned int)n;
			break;
		case 'M':
			if (parse_number(optarg, 1, MAX_ENTRIES_MAX, &n) < 0) {
				log_err("--max-entries: '%s' is not a number of entries (1-%lu)",
				    optarg, MAX_ENTRIES_MAX);
				return EX_USAGE;
			}
			o.max_entries = (size_t)n;
			break;
		case 'S':
			if (parse_number(optarg, 1, STREAMS_MAX, &n) < 0) {
				log_err("--streams: '%s' is not a number of connections (1-%d)",
				    optarg, STREAMS_MAX);
				return EX_USAGE;
			}
			o.streams = (unsigned int)n;
			break;
		case 'd':
			o.delete = 1;
			break;
		case 's':
			o.stats = 1;
			break;
		case 'c':
			o.checksum = 1;
			break;
		case 'W':
			o.whole_file = 1;
			break;
		case 'z':
			o.compress = PUSH_COMPRESS_ON;
			break;
		case 'Z':
			o.compress = PUSH_COMPRESS_OFF;
			break;
		case 'L':
			if (parse_number(optarg, 1, ZSTDIO_LEVEL_MAX, &n) < 0) {
				log_err("--compress-level: '%s' is not a level (1-%d)",
				    optarg, ZSTDIO_LEVEL_MAX);
				return EX_USAGE;
			}
			o.compress_level = (int)n;
			break;
		case 'u':
			if (!auth_user_ok(optarg, strlen(optarg))) {
				log_err("--user: '%s' is not a user name (1-%d of A-Z a-z "
				    "0-9 . _ -)", quote_str(optarg, q), AUTH_USER_MAX);
				return EX_USAGE;
			}
			o.user = optarg;
			o.auth_insist = 1;
			break;
		case 'k':
			secret_file = optarg;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("syncctl %s\n", SYNCCTL_VERSION);
			return EX_OK;
		default:
			return bad_option(c, argv);
		}
	}
	if (argc - optind != 3 || strcmp(argv[optind], "push") != 0) {
		usage(stderr);
		return EX_USAGE;
	}
	if (target_parse(argv[optind + 1], &t, err, sizeof err) < 0) {
		log_err("invalid target '%s': %s", quote_str(argv[optind + 1], q), err);
		return EX_USAGE;
	}
	o.dir = argv[optind + 2];
	if (!t.has_path && (rc = default_path(&t, o.dir)) != 0)
		return rc;
	o.host = t.host;
	o.export = t.export;
	o.path = t.path;
	if (o.streams == 0)
		o.streams = streams_default();
	if ((rc = credentials(&o, secret_file, secret)) != 0)
		return rc;

	/* clnt_call blocks signals; a SIGPIPE delivered afterwards would kill us silently. */
	signal(SIGPIPE, SIG_IGN);
	rc = exit_status(push_run(&o));
	auth_wipe(secret, sizeof secret);
	return rc;
}
