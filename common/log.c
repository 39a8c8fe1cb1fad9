/*
 * log.c -- stderr, journald or syslog, chosen once at startup.
 *
 * Messages often quote file names chosen by a remote peer, so control bytes
 * are escaped here, once for every caller: a name with a newline must not
 * forge a second log line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "rpcsync";
static int log_to_syslog;
static int log_journal;
static int log_level = LOG_INFO;

/*
 * Returns 1 if stderr is the journal stream systemd connected: it sets
 * $JOURNAL_STREAM to that stream's "DEVICE:INODE", which a child inherits
 * even when its stderr has been redirected elsewhere since (where "<N>"
 * prefixes would only be noise).
 */
static int
stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;
	char end;

	if (v == NULL || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &sb) != 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino;
}

void
log_init(const char *prog, int use_syslog)
{
	log_prog = prog;
	log_to_syslog = use_syslog;
	log_journal = stderr_is_journal();
	if (use_syslog)
		openlog(prog, LOG_PID, LOG_DAEMON);
}

void
log_set_level(int prio)
{
	log_level = prio;
}

/*
 * Copies the NUL-terminated in to out (n bytes), writing each control byte
 * as \xNN; truncates to fit.
 */
static void
escape_controls(char *out, size_t n, const char *in)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f) {
			if (o + 5 >= n)
				break;
			snprintf(out + o, n - o, "\\x%02x", c);
			o += 4;
		} else {
			if (o + 2 > n)
				break;
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

void
log_msg(int prio, const char *fmt, ...)
{
	char raw[1024], line[4096];
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	escape_controls(line, sizeof line, raw);
	if (log_to_syslog)
		syslog(prio, "%s", line);
	else if (log_journal)
		fprintf(stderr, "<%d>%s: %s\n", prio, log_prog, line);
	else
		fprintf(stderr, "%s: %s\n", log_prog, line);
}
