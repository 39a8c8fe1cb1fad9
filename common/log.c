/*
 * log.c -- stderr, journald or syslog, chosen once at startup.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static const char *log_prog = "rpcsync";
static int log_to_syslog;
static int log_journal;
static int log_level = LOG_INFO;

void
log_init(const char *prog, int use_syslog)
{
	log_prog = prog;
	log_to_syslog = use_syslog;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (use_syslog)
		openlog(prog, LOG_PID, LOG_DAEMON);
}

void
log_set_level(int prio)
{
	log_level = prio;
}

void
log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (log_to_syslog)
		syslog(prio, "%s", line);
	else if (log_journal)
		fprintf(stderr, "<%d>%s: %s\n", prio, log_prog, line);
	else
		fprintf(stderr, "%s: %s\n", log_prog, line);
}
