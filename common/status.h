/*
 * status.h -- protocol status codes: their text and their errno origin.
 *
 * The server turns errno into a sync_status at exactly one place, and both
 * programs print a status with the same words, so an error reads the same in
 * the daemon's log and on the user's terminal.
 */
#ifndef RPCSYNC_STATUS_H
#define RPCSYNC_STATUS_H

#include "sync.h"

/* Returns a short lower-case description of s ("no such file or directory"). */
const char *status_str(sync_status s);

/* Returns the symbolic name of s ("SYNC_ERR_NOENT"), for tests and logs. */
const char *status_name(sync_status s);

/*
 * Returns non-zero if s is about the server's storage (full, read-only,
 * failing) rather than the request: such a failure is worth a line in the
 * daemon's log at the default level, once per file.
 */
int status_is_storage(sync_status s);

/* Maps an errno value from a failed file operation to a protocol status. */
sync_status status_from_errno(int err);

#endif
