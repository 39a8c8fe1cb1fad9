/*
 * log.h -- one-line messages for both programs.
 *
 * Foreground output goes to stderr as "prog: message"; when stderr is the
 * journal (it is the stream $JOURNAL_STREAM names) each line carries the
 * "<N>" syslog priority prefix that journald understands; a daemonised
 * syncd logs to syslog instead.
 */
#ifndef RPCSYNC_LOG_H
#define RPCSYNC_LOG_H

#include <syslog.h>

/* Sets the program name and the sink; call once before any other log call. */
void log_init(const char *prog, int use_syslog);

/* Raises or lowers the threshold: messages above prio are dropped. */
void log_set_level(int prio);

/* Logs one message at syslog priority prio; a trailing newline is added. */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
